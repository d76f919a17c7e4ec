"""渠道深度 in the browser: a dealer's shareholders (share, abilities, export, booked once, removed
twice as 已被他人修改), the assessment checklist a registration must pass before approval, the credit
grade the value analysis proposes, the growth plan with its progress (and the dealer's own read-only
view), and marketing's yearly budget and a campaign's target list with invitations sent once."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from dealercrm.domain.identity import Principal

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()
FORM_TOKEN = re.compile(r'name="form_token" value="([0-9a-f]+)"')
PORTAL_DEALER = 5  # dealer05's dealer, approved in 华南
UNDER_REVIEW_HUADONG = 37  # under review in 华东, rm_huadong's region


def _post(client, page_path, action, data):
    form = client.get(page_path)
    return client.post(action, data={"_csrf_token": csrf_token(form.text), **data}, follow_redirects=False)


def test_shareholders_are_kept_once_per_form_exported_and_shown_read_only_to_their_dealer(browser, crm):
    admin = browser("admin")
    base = f"/admin/dealers/{PORTAL_DEALER}/shareholders"
    form = admin.get(base)
    token, csrf = FORM_TOKEN.search(form.text).group(1), csrf_token(form.text)
    good = {"_csrf_token": csrf, "form_token": token, "name": "周建国", "title": "董事长", "share": "60",
            "abilities": "销售管理，车辆维修", "phone": "13800138001", "email": ""}

    too_much = admin.post(base, data={**good, "share": "150"}, follow_redirects=False)
    first = admin.post(base, data=good, follow_redirects=False)
    again = admin.post(base, data=good, follow_redirects=False)  # a double click: the same form token
    over = _post(admin, base, base, {"form_token": FORM_TOKEN.search(admin.get(base).text).group(1), "name": "钱二",
                                     "title": "股东", "share": "50", "abilities": "", "phone": "13800138002"})
    holders = [c for c in crm.channel.dealer_detail(SYSTEM, PORTAL_DEALER)["contacts"]
               if str(getattr(c["kind"], "value", c["kind"])) == "shareholder"]
    changed = _post(admin, base, f"{base}/{holders[0]['id']}", {"share": "45.5", "abilities": "融资"})
    listed = admin.get(base)
    xlsx = admin.get(f"{base}/export?format=xlsx")
    csv = admin.get(f"{base}/export?format=csv")
    portal = browser("dealer05")
    profile, contacts = portal.get("/dealer/"), portal.get("/dealer/contacts")
    removed = _post(admin, base, f"{base}/{holders[0]['id']}/remove", {})
    removed_again = _post(admin, base, f"{base}/{holders[0]['id']}/remove", {})

    assert form.status_code == 200 and "登记股东" in form.text
    assert too_much.status_code == 422 and 'id="share-error"' in too_much.text and 'value="周建国"' in too_much.text
    assert first.status_code == again.status_code == 303 and len(holders) == 1
    assert over.status_code == 422 and 'id="share-error"' in over.text and "超过100%" in over.text
    assert changed.status_code == 303 and 'data-k="share">45.5%' in listed.text and "融资" in listed.text
    header, row = list(openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.values)[:2]
    assert header[:3] == ("股东", "职务", "持股比例（%）") and row[0] == "周建国" and row[2] == "45.5"
    assert csv.status_code == 200 and "周建国" in csv.content.decode("utf-8-sig")
    assert "周建国" in profile.text and 'data-k="share">45.5%' in profile.text and "周建国" not in contacts.text
    assert removed.status_code == 303
    assert removed_again.status_code == 409 and "已被他人修改" in removed_again.text
    assert browser("marketing").get(base).status_code == 403
    assert browser("dealer05").get(base).status_code == 403


def test_approval_waits_for_the_assessment_checklist_the_admin_sets(browser, crm):
    admin, rm = browser("admin"), browser("rm_huadong")
    rules = "/admin/dealers/assessment-rules"
    page = f"/admin/dealers/{UNDER_REVIEW_HUADONG}/assessment"

    bad_code = _post(admin, rules, rules, {"version": "", "code_0": "证照 齐全", "label_0": "证照齐全", "required_0": "1"})
    saved = _post(admin, rules, rules, {"version": "", "code_0": "licence", "label_0": "营业执照与资质齐全",
                                        "required_0": "1", "code_1": "site", "label_1": "经营场地实地考察",
                                        "required_1": "1", "code_2": "", "label_2": ""})
    stale = _post(admin, rules, rules, {"version": "", "code_0": "licence", "label_0": "证照"})  # loaded before saved
    refused = _post(rm, "/dealers/registrations", f"/dealers/{UNDER_REVIEW_HUADONG}/review", {"decision": "approve"})
    long_note = _post(rm, page, page, {"passed_licence": "1", "note_licence": "x" * 250})
    half = _post(rm, page, page, {"passed_licence": "1", "note_licence": "原件已核", "passed_site": "0"})
    shown = rm.get(page)
    passed = _post(rm, page, page, {"passed_site": "1", "note_site": "已复查"})
    approved = _post(rm, "/dealers/registrations", f"/dealers/{UNDER_REVIEW_HUADONG}/review", {"decision": "approve"})
    after = _post(rm, page, page, {"passed_site": "0"})

    assert bad_code.status_code == 422 and 'id="code_0-error"' in bad_code.text and 'value="证照 齐全"' in bad_code.text
    assert saved.status_code == 303 and [i["code"] for i in crm.channel.assessment_rules(SYSTEM)["items"]] == [
        "licence", "site"]
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    assert refused.status_code == 409 and "考核规则未全部通过" in refused.text and page in refused.text
    assert long_note.status_code == 422 and 'id="note_licence-error"' in long_note.text
    assert half.status_code == 303 and 'data-k="missing">经营场地实地考察' in shown.text and "原件已核" in shown.text
    assert passed.status_code == 303 and approved.status_code == 303
    assert crm.channel.assessment(SYSTEM, UNDER_REVIEW_HUADONG)["status"] == "approved"
    assert after.status_code == 409 and "已被他人修改" in after.text
    assert browser("sales_huazhong").get(rules).status_code == 200  # reads the checklist, may not change it
    assert _post(browser("sales_huazhong"), rules, rules, {"version": ""}).status_code == 403
    assert browser("marketing").get(page).status_code == 403


def test_the_credit_grade_is_proposed_and_the_growth_plan_kept_with_its_progress(browser, crm):
    dealer = next(r for r in crm.channel.list_dealers(SYSTEM, status="approved", region="华中", limit=5))
    finance, sales = browser("finance"), browser("sales_huazhong")
    grade = f"/admin/dealers/{PORTAL_DEALER}/credit-grade"
    growth = f"/admin/dealers/{dealer['id']}/growth-plans"

    proposed = _post(finance, grade, grade, {})
    landed = finance.get(proposed.headers["location"])
    filed = re.search(r'href="(/finance/credit-changes/\d+)"', landed.text)
    change = finance.get(filed.group(1)) if filed else None
    bad_grade = _post(finance, "/finance/credit-changes/new", "/finance/credit-changes", {
        "dealer_id": str(PORTAL_DEALER), "credit_grade": "Z", "reason": "复核"})
    bad = _post(sales, growth, f"{growth}/2026", {"vehicles": "很多", "amount": "3000000", "retail_vehicles": "",
                                                  "actions": "开拓武汉市场"})
    set_plan = _post(sales, growth, f"{growth}/2026", {"vehicles": "40", "amount": "3000000", "retail_vehicles": "30",
                                                       "actions": "开拓武汉市场\n增设服务网点"})
    shown = sales.get(f"{growth}?year=2026")
    empty_year = sales.get(f"{growth}?year=2027")
    _post(browser("admin"), f"/admin/dealers/{PORTAL_DEALER}/growth-plans", f"/admin/dealers/{PORTAL_DEALER}/growth-plans/2026",
          {"vehicles": "12", "amount": "900000", "retail_vehicles": "10", "actions": "参加年度展会"})
    portal = browser("dealer05").get("/dealer/")

    assert proposed.status_code == 303 and "done=filed" in proposed.headers["location"]
    assert landed.status_code == 200 and 'data-k="value">' in landed.text and "尚未评估" not in landed.text
    assert change.status_code == 200 and re.search(r'<td>信用等级</td>.*?data-k="term">[ABCD]级<', change.text,
                                                   re.DOTALL)  # what finance approves
    assert bad_grade.status_code == 422 and 'id="credit_grade-error"' in bad_grade.text
    assert bad.status_code == 422 and 'id="vehicles-error"' in bad.text and "开拓武汉市场" in bad.text
    assert set_plan.status_code == 303 and "增设服务网点" in shown.text and "¥3,000,000.00" in shown.text
    assert "尚无增长计划" in empty_year.text
    assert "2026年增长计划" in portal.text and "参加年度展会" in portal.text
    assert browser("sales_huazhong").get(grade).status_code == 403
    assert browser("dealer05").get(f"/admin/dealers/{PORTAL_DEALER}/growth-plans").status_code == 403


def test_marketing_sets_the_year_budget_and_invites_a_target_list_once(browser, crm):
    mk = browser("marketing")
    plans, targets = "/marketing/plans?year=2026", "/marketing/campaigns/1/targets"

    below = _post(mk, plans, "/marketing/plans/2026", {"budget": "1000", "note": ""})
    garbled = _post(mk, plans, "/marketing/plans/2026", {"budget": "十万", "note": "年度"})
    saved = _post(mk, plans, "/marketing/plans/2026", {"budget": "500000", "note": "年度预算"})
    plan = mk.get(plans)
    csv = mk.get("/marketing/plans/export?year=2026&format=csv")
    listed = mk.get(targets)
    bad_class = mk.get(f"{targets}?value_class=Z")
    first = _post(mk, targets, "/marketing/campaigns/1/invitations", {})
    again = _post(mk, targets, "/marketing/campaigns/1/invitations", {})
    xlsx = mk.get(f"{targets}/export?format=xlsx")
    with crm.engine.connect() as conn:
        invited = conn.execute(sa.text("select count(*), count(distinct recipient) from notification_outbox "
                                       "where template_code = 'campaign.invitation'")).one()
    form = mk.get(targets)
    crm.marketing.change_campaign(SYSTEM, 1, "cancel")
    stale = mk.post("/marketing/campaigns/1/invitations", data={"_csrf_token": csrf_token(form.text)},
                    follow_redirects=False)

    assert below.status_code == 409 and 'id="budget-error"' in below.text and 'value="1000"' in below.text
    assert garbled.status_code == 422 and 'id="budget-error"' in garbled.text
    assert saved.status_code == 303 and 'data-k="budget">¥500,000.00' in plan.text
    assert "¥380,000.00" in plan.text  # what is left after the campaign's ¥120,000
    assert csv.status_code == 200 and "活动编号" in csv.content.decode("utf-8-sig")
    assert listed.status_code == 200 and "向名单发送邀请邮件" in listed.text
    assert bad_class.status_code == 422 and 'id="value_class-error"' in bad_class.text
    assert first.status_code == again.status_code == 303 and "invited=" in first.headers["location"]
    assert invited[0] == invited[1] > 0  # one invitation per dealer, however often the button is pressed
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.values)
    assert rows[0][0] == "经销商" and len(rows) - 1 >= invited[0]
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    assert browser("sales_huazhong").get(plans).status_code == 403
    assert browser("sales_huazhong").get(targets).status_code == 403
