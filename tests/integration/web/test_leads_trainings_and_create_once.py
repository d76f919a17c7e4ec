"""市场与客服 in the browser (in-process): marketing follows the campaign leads up and exports
them; the organisers run a training — create it with a video meeting, invite dealers, see who
confirmed, move it, record attendance, end it — with the API's roles and scope."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl

from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.demo import DEMO_PASSWORD

from .conftest import csrf_token

SYSTEM = Principal.system()


def _principal(crm, username):
    return crm.identity.login(username, DEMO_PASSWORD).principal


# -- 线索跟进 --------------------------------------------------------------------------------------

FORM_TOKEN = re.compile(r'name="form_token" value="([0-9a-f]+)"')


def _form(client, url):
    """The page's CSRF token and its follow-up form's once-per-form token."""
    html = client.get(url).text
    return csrf_token(html), FORM_TOKEN.search(html).group(1)


def test_marketing_filters_leads_follows_one_up_and_a_stale_form_is_shown_as_changed(browser, crm):
    marketing = _principal(crm, "marketing")
    new_lead = crm.marketing.leads(marketing, status="new", limit=1)[0]
    client = browser("marketing")
    listing = client.get(f"/marketing/leads?status=new&campaign_id={new_lead['campaign_id']}")
    url = f"/marketing/leads/{new_lead['id']}"
    call = {"action": "contacted", "status": "new", "channel": "phone", "note": "电话沟通，约周五到店",
            "next_contact_on": "2026-12-09"}

    bad_filter = client.get("/marketing/leads?status=bogus")
    lead_page = client.get(url)
    token, once = _form(client, url)
    no_reason = client.post(f"{url}/follow-up", data={"_csrf_token": token, "form_token": once, "action": "lost",
                                                      "status": "new", "reason": ""})
    token, once = _form(client, url)
    no_note = client.post(f"{url}/follow-up", data={"_csrf_token": token, "form_token": once, **call, "note": " "})
    token, once = _form(client, url)
    past = client.post(f"{url}/follow-up", data={"_csrf_token": token, "form_token": once, **call,
                                                 "next_contact_on": "2026-12-06"})
    no_token = client.post(f"{url}/follow-up", data={"_csrf_token": token, **call})
    token, once = _form(client, url)
    contacted = [client.post(f"{url}/follow-up", data={"_csrf_token": token, "form_token": once, **call},
                             follow_redirects=False) for _ in range(2)]
    _, other_form = _form(client, url)
    stale = client.post(f"{url}/follow-up", data={"_csrf_token": token, "form_token": "a" * 32, **call})
    lost = client.post(f"{url}/follow-up", data={"_csrf_token": token, "form_token": other_form, "action": "lost",
                                                 "status": "contacted", "reason": "客户改买二手车"},
                       follow_redirects=False)
    after = client.get(url)
    log = crm.marketing.lead_follow_ups(marketing, new_lead["id"])

    assert listing.status_code == 200 and new_lead["name"] in listing.text and "导出" in listing.text
    assert bad_filter.status_code == 422 and "未知的线索状态" in bad_filter.text
    assert lead_page.status_code == 200 and "跟进记录" in lead_page.text and "登记线索" in lead_page.text
    assert 'name="channel"' in lead_page.text and 'name="next_contact_on"' in lead_page.text
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.text
    assert no_note.status_code == 422 and 'id="note-error"' in no_note.text and 'value="phone" selected' in no_note.text
    assert past.status_code == 422 and 'id="next_contact_on-error"' in past.text
    assert "约周五到店" in past.text and 'value="2026-12-06"' in past.text
    assert no_token.status_code == 422 and "表单已失效" in no_token.text
    assert [r.status_code for r in contacted] == [303, 303]
    assert stale.status_code == 409 and "已被他人修改" in stale.text and "已跟进" in stale.text
    assert lost.status_code == 303
    assert "客户改买二手车" in after.text and "已流失" in after.text and "电话沟通，约周五到店" in after.text
    assert after.text.index("流失") < after.text.index("电话沟通，约周五到店")  # newest first
    assert crm.marketing.lead(marketing, new_lead["id"])["status"] == "lost"
    assert [(f["outcome"], f["channel"], f["next_contact_on"]) for f in log] == [
        ("lost", None, None), ("contacted", "phone", dt.date(2026, 12, 9))]


def test_the_lead_lists_show_the_last_follow_up_and_filter_the_leads_due_for_contact(browser, crm):
    marketing = _principal(crm, "marketing")
    today = dt.date(2026, 12, 7)  # the web tests' clock, in Beijing
    everything = crm.marketing.leads(marketing, limit=500)
    due = [r for r in everything if r["next_contact_on"] and r["next_contact_on"] <= today]
    dealer_lead = next(r for r in due)
    dealer = f"dealer{dealer_lead['dealer_id']:02d}"
    client = browser("marketing")

    listing = client.get("/marketing/leads")
    due_listing = client.get("/marketing/leads?due=true")
    dealer_due = browser(dealer).get("/leads?due=true")
    dealer_page = browser(dealer).get(f"/leads/{dealer_lead['id']}")
    bench = browser(dealer).get("/")

    assert due and len(due) < len(everything)
    assert listing.status_code == 200 and "下次联系" in listing.text and "电话" in listing.text
    assert {int(i) for i in re.findall(r'href="/marketing/leads/(\d+)"', due_listing.text)} == {r["id"] for r in due}
    assert 'name="due" value="true" style="width:auto" checked' in due_listing.text
    assert dealer_due.status_code == 200 and f'href="/leads/{dealer_lead["id"]}"' in dealer_due.text
    assert 'name="due" value="true" style="width:auto" checked' in dealer_due.text  # the filter as asked
    assert dealer_page.status_code == 200 and "跟进记录" in dealer_page.text and "电话沟通" in dealer_page.text
    assert f'href="/leads/{dealer_lead["id"]}"' in bench.text and "待联系线索" in bench.text


def test_lead_exports_open_as_typed_xlsx_and_csv_with_the_lists_filter(browser, crm):
    marketing = _principal(crm, "marketing")
    campaign_id = crm.marketing.leads(marketing, limit=1)[0]["campaign_id"]
    expected = crm.marketing.leads(marketing, campaign_id=campaign_id, limit=500)
    client = browser("marketing")

    xlsx = client.get(f"/marketing/leads/export?format=xlsx&campaign_id={campaign_id}")
    as_csv = client.get(f"/marketing/leads/export?format=csv&campaign_id={campaign_id}&status=converted")
    bad = client.get("/marketing/leads/export?format=pdf")

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert xlsx.status_code == 200 and sheet.cell(1, 1).value == "线索编号" and sheet.freeze_panes == "A2"
    assert sheet.max_row == len(expected) + 1
    assert {sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1)} == {r["id"] for r in expected}
    assert isinstance(sheet.cell(2, 9).value, dt.datetime)
    headers = [sheet.cell(1, c).value for c in range(1, sheet.max_column + 1)]
    assert headers[-5:] == ["最近跟进时间", "跟进人", "跟进方式", "跟进内容", "下次联系"]
    followed = [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, sheet.max_column).value is not None]
    assert followed and all(isinstance(sheet.cell(r, sheet.max_column).value, dt.datetime) for r in followed)
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    converted = [r for r in expected if r["status"] == "converted"]
    assert as_csv.status_code == 200 and rows[0][0] == "线索编号" and len(rows) == len(converted) + 1
    assert bad.status_code == 422



# -- 培训管理 --------------------------------------------------------------------------------------

def test_marketing_runs_an_online_training_from_invitation_to_attendance(browser, crm, clock):
    dealers = crm.channel.list_dealers(SYSTEM, status="approved", limit=3)
    client = browser("marketing")
    form = client.get("/marketing/trainings/new")
    token = csrf_token(form.text)
    data = {"_csrf_token": token, "title": "冬季制动系统保养培训", "topic": "维修技术", "audience": "dealers",
            "starts_at": "2026-12-07T11:00", "ends_at": "2026-12-07T12:00", "online": "1",
            "dealer_ids": [str(dealers[0]["id"]), str(dealers[1]["id"])]}

    inverted = client.post("/marketing/trainings/new", data={**data, "ends_at": "2026-12-07T10:30",
                                                             "form_token": FORM_TOKEN.search(form.text).group(1)})
    data["form_token"] = FORM_TOKEN.search(inverted.text).group(1)  # the refused form's page has a fresh token
    created = client.post("/marketing/trainings/new", data=data, follow_redirects=False)
    again = client.post("/marketing/trainings/new", data=data, follow_redirects=False)
    url = created.headers["location"].split("?")[0]
    training_id = int(url.rsplit("/", 1)[1])
    dealer = crm.identity.list_users(_principal(crm, "admin"), role="dealer", limit=500)
    dealer_user = next(u for u in dealer if u["dealer_id"] == dealers[0]["id"])
    crm.marketing.respond(Principal(dealer_user["id"], dealer_user["username"], Role.DEALER,
                                    dealer_id=dealers[0]["id"]), training_id, True)
    confirmed = client.get(url)
    invited = client.post(f"{url}/invite", data={"_csrf_token": token, "shown_status": "scheduled",
                                                 "dealer_ids": [str(dealers[2]["id"])]}, follow_redirects=False)
    bad_move = client.post(f"{url}/reschedule", data={"_csrf_token": token, "shown_status": "scheduled",
                                                      "starts_at": "2026-12-01T09:00", "ends_at": "2026-12-01T10:00"})
    moved = client.post(f"{url}/reschedule", data={"_csrf_token": token, "shown_status": "scheduled",
                                                   "starts_at": "2026-12-07T12:00", "ends_at": "2026-12-07T13:00"},
                        follow_redirects=False)
    after_move = client.get(url)
    clock.now = dt.datetime(2026, 12, 7, 5, 30, tzinfo=dt.UTC)  # 13:30 in Beijing, after the end
    invitation_id = crm.marketing.training(SYSTEM, training_id)["invitations"][0]["id"]
    bad_score = client.post(f"{url}/participants", data={"_csrf_token": token, "invitation_id": str(invitation_id),
                                                         "name": "王师傅", "attended": "1", "feedback_score": "9"})
    recorded = client.post(f"{url}/participants", follow_redirects=False, data={
        "_csrf_token": token, "invitation_id": str(invitation_id), "name": "王师傅", "attended": "1",
        "feedback_score": "5", "quiz_score": "88"})
    completed = client.post(f"{url}/complete", data={"_csrf_token": token, "shown_status": "scheduled"},
                            follow_redirects=False)
    stale = client.post(f"{url}/cancel", data={"_csrf_token": token, "shown_status": "scheduled", "reason": "天气"})
    listed = client.get("/marketing/trainings?status=completed")

    assert form.status_code == 200 and 'type="datetime-local"' in form.text
    assert inverted.status_code == 422 and 'id="ends_at-error"' in inverted.text
    assert 'value="冬季制动系统保养培训"' in inverted.text
    assert created.status_code == 303 and again.headers["location"] == created.headers["location"]
    assert sum(t["title"] == "冬季制动系统保养培训" for t in crm.marketing.trainings(SYSTEM, limit=50)) == 1
    assert "会议已创建" in confirmed.text and "已确认 1 / 2" in confirmed.text and "已确认" in confirmed.text
    assert invited.status_code == 303
    assert bad_move.status_code == 422 and 'id="starts_at-error"' in bad_move.text
    assert moved.status_code == 303 and "2026-12-07 12:00" in after_move.text and "已确认 0 / 3" in after_move.text
    assert bad_score.status_code == 422 and 'id="feedback_score-error"' in bad_score.text and 'value="王师傅"' in bad_score.text
    assert recorded.status_code == 303 and completed.status_code == 303
    assert stale.status_code == 409 and "已被他人修改" in stale.text and "已结束" in stale.text
    assert listed.status_code == 200 and "冬季制动系统保养培训" in listed.text
    detail = crm.marketing.training(SYSTEM, training_id)
    assert detail["status"] == "completed" and detail["meeting_join_url"]
    assert [(p["name"], p["quiz_score"]) for p in detail["participants"]] == [("王师傅", 88)]



# -- 表单防重复提交 ----------------------------------------------------------------------------------

FORM_TOKEN = re.compile(r'name="form_token" value="([0-9a-f]+)"')


def _twice(client, url, data):
    """The form at ``url`` posted twice with its one form token (a double click)."""
    form = client.get(url)
    data = {"_csrf_token": csrf_token(form.text), "form_token": FORM_TOKEN.search(form.text).group(1), **data}
    return client.post(url, data=data, follow_redirects=False), client.post(url, data=data, follow_redirects=False)


def test_a_double_submitted_create_form_creates_one_record(browser, crm):
    marketing = _principal(crm, "marketing")
    campaigns_before = len(crm.marketing.campaigns(marketing, limit=500))
    station = crm.aftersales.station(SYSTEM, 1)
    stations_before = len(crm.aftersales.list_stations(SYSTEM, limit=500))
    technicians_before = len(crm.stations.technicians(SYSTEM, 1))
    fen = int(station["labour_rate_fen"])
    client = browser("marketing")
    aftersales = browser("aftersales")

    campaign = _twice(client, "/marketing/campaigns/new", {
        "name": "华东罐车巡展", "target_segment": "化工品运输企业", "budget": "50000", "starts_on": "2026-12-10",
        "ends_on": "2026-12-31"})
    template = _twice(client, "/care/templates/new", {"name": "年检提醒", "channel": "sms", "subject": "",
                                                      "body": "{name}您好，车辆年检将到期。"})
    expired = client.post("/care/templates/new", data={"_csrf_token": csrf_token(client.get("/care/templates/new").text),
                                                       "name": "年检提醒二", "channel": "sms", "body": "您好"})
    created = _twice(aftersales, "/aftersales/stations/new", {
        **{k: str(station[k]) for k in ("region", "province", "address", "contact_name", "contact_phone",
                                        "qualification", "capacity")},
        "name": "洛阳新建服务站", "uscc": "91136824GFAM9EAX3N", "city": "洛阳", "labour_rate": f"{fen / 100:.2f}",
        "product_lines": list(station["product_lines"])})
    added = _twice(aftersales, "/aftersales/stations/1/technicians/new", {"name": "钱师傅", "phone": "13900003333",
                                                                         "skills": ["brake"]})

    assert [r.status_code for r in campaign] == [303, 303]
    assert campaign[0].headers["location"] == campaign[1].headers["location"]
    assert len(crm.marketing.campaigns(marketing, limit=500)) == campaigns_before + 1
    assert [r.status_code for r in template] == [303, 303]
    assert template[0].headers["location"] == template[1].headers["location"]
    assert [t["name"] for t in crm.care.templates(SYSTEM)] == ["年检提醒"]
    assert expired.status_code == 422 and "表单已失效" in expired.text and 'value="年检提醒二"' in expired.text
    assert [r.status_code for r in created] == [303, 303]
    assert created[0].headers["location"] == created[1].headers["location"]
    assert len(crm.aftersales.list_stations(SYSTEM, limit=500)) == stations_before + 1
    assert [r.status_code for r in added] == [303, 303]
    assert len(crm.stations.technicians(SYSTEM, 1)) == technicians_before + 1


def test_lead_and_training_pages_follow_the_apis_roles_and_answer_malformed_input_without_a_500(browser, crm):
    everything = crm.marketing.leads(_principal(crm, "marketing"), limit=500)
    regional = {r["id"] for r in crm.marketing.leads(_principal(crm, "sales_huazhong"), limit=500)}
    foreign = next(r["id"] for r in everything if r["id"] not in regional)
    lead_id = everything[0]["id"]
    training_id = crm.marketing.trainings(SYSTEM, limit=1)[0]["id"]
    sales, aftersales, dealer = browser("sales_huazhong"), browser("aftersales"), browser("dealer01")
    client = browser("admin")
    token = csrf_token(client.get("/marketing/trainings/new").text)
    huge = "9223372036854775808"
    gets = ["/marketing/leads?campaign_id=x", f"/marketing/leads?dealer_id={huge}", "/marketing/leads?before=0",
            f"/marketing/leads/{huge}", "/marketing/leads/export?format=xlsx&status=bogus",
            "/marketing/trainings?status=x", f"/marketing/trainings/{huge}", "/marketing/trainings?before=-1"]
    posts = [(f"/marketing/leads/{lead_id}/follow-up", {"action": "convert", "order_id": "abc"}),
             (f"/marketing/leads/{lead_id}/follow-up", {"action": "convert", "order_id": "99999999"}),
             (f"/marketing/leads/{lead_id}/follow-up", {"action": "bogus"}),
             (f"/marketing/leads/{huge}/follow-up", {"action": "contacted"}),
             ("/marketing/trainings/new", {}),
             ("/marketing/trainings/new", {"audience": "x", "starts_at": "garbage", "dealer_ids": ["x", huge]}),
             (f"/marketing/trainings/{training_id}/bogus", {}),
             (f"/marketing/trainings/{training_id}/participants", {"invitation_id": "99999999", "feedback_score": "abc"}),
             (f"/marketing/trainings/{training_id}/reschedule", {"starts_at": "2026-13-40T99:99", "ends_at": ""}),
             (f"/marketing/trainings/{training_id}/invite", {"dealer_ids": ["x", "99999999"]}),
             (f"/marketing/trainings/{huge}/complete", {})]

    every_page = [client.get(f"/marketing/leads/{r['id']}").status_code for r in everything]
    every_page += [client.get(f"/marketing/trainings/{t['id']}").status_code
                   for t in crm.marketing.trainings(SYSTEM, limit=50)]
    answers = [(url, client.get(url).status_code) for url in gets]
    answers += [(url, client.post(url, data={"_csrf_token": token, **data}).status_code) for url, data in posts]

    assert sales.get("/marketing/leads").status_code == 200
    assert sales.get(f"/marketing/leads/{foreign}").status_code == 404
    assert sales.get(f"/marketing/trainings/{training_id}").status_code == 403
    assert dealer.get("/marketing/leads").status_code == 403 and dealer.get("/marketing/trainings").status_code == 403
    assert aftersales.get("/marketing/leads").status_code == 403
    assert aftersales.get(f"/marketing/trainings/{training_id}").status_code == 200
    assert aftersales.get("/marketing/trainings/999999").status_code == 404
    assert 'href="/marketing/trainings"' in aftersales.get("/").text
    assert 'href="/marketing/leads"' in client.get("/").text
    assert set(every_page) == {200}
    assert [a for a in answers if a[1] >= 500] == []
    assert all(400 <= status < 500 for _, status in answers), answers
