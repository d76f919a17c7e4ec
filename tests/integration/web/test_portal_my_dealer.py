"""我的经销商 in the dealer portal with Litestar's test client on the demo data: the dealer's
profile (only what a dealer may change), contacts, agreements, the monthly sales forecast against
the orders placed, key accounts with their bids, campaign leads and quotes for special
configurations. Bad input stays in the form with the error beside its field; another dealer's
record is the 404 page; staff and forms without the CSRF token are refused."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from .conftest import csrf_token

pytestmark = pytest.mark.slow
DEALER = "dealer05"  # approved, with leads, key accounts and a forecast for 2027-01 (demo)
QUOTING = "dealer27"  # its order 8 has a quote waiting, order 7 awaits one (demo)
PROFILE = {"short_name": "柳州华运", "province": "广西壮族自治区", "city": "柳州市", "address_detail": "柳东新区车园大道8号",
           "bank_name": "中国工商银行柳州分行", "account_name": "柳州华运商用车销售服务有限公司", "account_no": "6222021234567890123"}
CONTACT = {"name": "韦小宝", "title": "服务经理", "phone": "13877212345", "email": "", "kind": "contact", "birthday": ""}


def _post(client, page: str, url: str, data: dict, **kw):
    return client.post(url, data={"_csrf_token": csrf_token(client.get(page).text), **data}, **kw)


def test_the_dealer_edits_its_profile_and_sees_its_agreements(browser, crm):
    client = browser(DEALER)

    profile = client.get("/dealer/")
    saved = _post(client, "/dealer/", "/dealer/profile", {**PROFILE, "city": "南宁市"}, follow_redirects=False)
    after = client.get(saved.headers["location"])
    agreements = client.get("/dealer/agreements")

    assert profile.status_code == 200 and "柳州华运商用车销售服务有限公司" in profile.text
    assert 'name="legal_name"' not in profile.text and 'name="uscc"' not in profile.text  # the sales rep's
    assert saved.status_code == 303 and "档案已保存" in after.text and 'value="南宁市"' in after.text
    with crm.engine.connect() as conn:
        assert conn.execute(sa.text("select city from dealers where id = 5")).scalar_one() == "南宁市"
    assert agreements.status_code == 200 and re.search(r"AG-\d{4}-000005-\d+", agreements.text)
    assert "结算方式" in agreements.text


def test_bad_profile_input_is_shown_beside_the_field_and_kept(browser, crm):
    client = browser(DEALER)

    blank_city = _post(client, "/dealer/", "/dealer/profile", {**PROFILE, "city": ""})
    bad_account = _post(client, "/dealer/", "/dealer/profile", {**PROFILE, "account_no": "12ab"})

    assert blank_city.status_code == 422 and 'id="city-error"' in blank_city.text
    assert 'value="柳东新区车园大道8号"' in blank_city.text
    assert bad_account.status_code == 422 and 'id="account_no-error"' in bad_account.text
    assert "银行账号须为8到30位数字" in bad_account.text and 'value="12ab"' in bad_account.text
    with crm.engine.connect() as conn:
        assert conn.execute(sa.text("select city from dealers where id = 5")).scalar_one() != ""


def test_the_dealer_adds_edits_and_removes_a_contact_and_bad_input_stays(browser, crm):
    client = browser(DEALER)

    added = _post(client, "/dealer/contacts", "/dealer/contacts", CONTACT, follow_redirects=False)
    listing = client.get("/dealer/contacts")
    contact_id = int(re.search(r'href="/dealer/contacts/(\d+)">韦小宝', listing.text).group(1))
    bad_phone = _post(client, f"/dealer/contacts/{contact_id}", f"/dealer/contacts/{contact_id}",
                      {**CONTACT, "phone": "12345", "title": "售后经理"})
    edited = _post(client, f"/dealer/contacts/{contact_id}", f"/dealer/contacts/{contact_id}",
                   {**CONTACT, "title": "售后经理"}, follow_redirects=False)
    after_edit = client.get("/dealer/contacts")
    bad_new = _post(client, "/dealer/contacts", "/dealer/contacts", {**CONTACT, "name": "", "title": "出纳"})
    removed = _post(client, "/dealer/contacts", f"/dealer/contacts/{contact_id}/remove", {}, follow_redirects=False)

    assert added.status_code == 303 and "售后经理" not in listing.text
    assert bad_phone.status_code == 422 and 'id="phone-error"' in bad_phone.text
    assert 'value="12345"' in bad_phone.text and 'value="售后经理"' in bad_phone.text
    assert edited.status_code == 303 and "售后经理" in after_edit.text
    assert bad_new.status_code == 422 and 'id="name-error"' in bad_new.text and 'value="出纳"' in bad_new.text
    assert removed.status_code == 303 and "韦小宝" not in client.get("/dealer/contacts").text


def test_another_dealers_contact_is_the_404_page(browser, crm):
    with crm.engine.connect() as conn:
        foreign = conn.execute(sa.text("select min(id) from dealer_contacts where dealer_id = 27")).scalar_one()
    client = browser(DEALER)

    page = client.get(f"/dealer/contacts/{foreign}")
    edit = _post(client, "/dealer/contacts", f"/dealer/contacts/{foreign}", CONTACT)
    remove = _post(client, "/dealer/contacts", f"/dealer/contacts/{foreign}/remove", {})

    assert page.status_code == 404 and "页面不存在" in page.text
    assert edit.status_code == 404 and remove.status_code == 404
    with crm.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from dealer_contacts where id = :i"),
                            {"i": foreign}).scalar_one() == 1


def test_the_dealer_revises_next_months_forecast_and_compares_a_month_with_its_orders(browser, crm):
    client = browser(DEALER)

    form = client.get("/forecasts")
    revised = _post(client, "/forecasts", "/forecasts", {"tanker": "4", "dump_truck": "", "semi_trailer": "2"},
                    follow_redirects=False)
    after = client.get(revised.headers["location"])
    january = client.get("/forecasts?month=2027-01")
    december = client.get("/forecasts?month=2026-12")

    assert form.status_code == 200 and "2027年01月 销售预测" in form.text and 'name="tanker" value="2"' in form.text
    assert revised.status_code == 303 and "预测已提交" in after.text and "已提交 2 次" in after.text
    assert january.status_code == 200 and re.search(r"罐式车</td><td class=\"num\">4</td>", january.text)
    assert december.status_code == 200 and "预测与实际：2026年12月" in december.text
    with crm.engine.connect() as conn:
        assert conn.execute(sa.text("select revisions from sales_forecasts where dealer_id = 5 "
                                    "and month = '2027-01-01'")).scalar_one() == 2


def test_a_bad_forecast_quantity_or_month_is_shown_beside_the_field(browser):
    client = browser(DEALER)

    bad = _post(client, "/forecasts", "/forecasts", {"tanker": "-3", "dump_truck": "2", "semi_trailer": ""})
    empty = _post(client, "/forecasts", "/forecasts", {"tanker": "", "dump_truck": "", "semi_trailer": ""})
    month = client.get("/forecasts?month=2027-13")

    assert bad.status_code == 422 and 'id="tanker-error"' in bad.text and 'value="-3"' in bad.text
    assert 'name="dump_truck" value="2"' in bad.text
    assert empty.status_code == 422 and "请至少填写一个产品线" in empty.text
    assert month.status_code == 422 and 'id="month-error"' in month.text


def test_the_dealer_files_a_key_account_and_records_a_lost_bid(browser, crm):
    client = browser(DEALER)

    filed = _post(client, "/key-accounts", "/key-accounts",
                  {"name": "广西某物流集团", "industry": "危化品运输", "region": "华南", "contact_name": "黄主任",
                   "contact_title": "采购", "contact_phone": "13977100000", "notes": ""}, follow_redirects=False)
    page_url = filed.headers["location"].split("?")[0]
    no_reason = _post(client, page_url, f"{page_url}/bids",
                      {"title": "罐车更新", "bid_on": "2026-12-01", "outcome": "lost", "amount": "1,200,000",
                       "competitors": "中集，通华", "reasons": ""})
    bad_amount = _post(client, page_url, f"{page_url}/bids",
                       {"title": "罐车更新", "bid_on": "2026-12-01", "outcome": "won", "amount": "一百万"})
    recorded = _post(client, page_url, f"{page_url}/bids",
                     {"title": "罐车更新", "bid_on": "2026-12-01", "outcome": "lost", "amount": "1,200,000",
                      "competitors": "中集，通华", "reasons": "价格高"}, follow_redirects=False)
    account = client.get(page_url)

    assert filed.status_code == 303 and "重点客户已登记" in client.get(filed.headers["location"]).text
    assert no_reason.status_code == 422 and 'id="reasons-error"' in no_reason.text
    assert 'value="1,200,000"' in no_reason.text and 'value="中集，通华"' in no_reason.text
    assert bad_amount.status_code == 422 and 'id="amount-error"' in bad_amount.text and 'value="一百万"' in bad_amount.text
    assert recorded.status_code == 303 and "¥1,200,000.00" in account.text and "中集、通华" in account.text
    assert "广西某物流集团" in client.get("/key-accounts").text


def test_another_dealers_key_account_and_lead_are_the_404_page(browser, crm):
    with crm.engine.connect() as conn:
        account = conn.execute(sa.text("select min(id) from key_accounts where dealer_id = 5")).scalar_one()
        lead = conn.execute(sa.text("select min(id) from campaign_leads where dealer_id = 5")).scalar_one()
    other = browser("dealer06")

    bid = _post(other, "/key-accounts", f"/key-accounts/{account}/bids",
                {"title": "x", "bid_on": "2026-12-01", "outcome": "won", "amount": "1"})
    lost = _post(other, "/leads", f"/leads/{lead}/lost", {"reason": "不是我的"})

    assert other.get(f"/key-accounts/{account}").status_code == 404
    assert bid.status_code == 404
    assert other.get(f"/leads/{lead}").status_code == 404 and lost.status_code == 404
    assert "推介会客户1-1" not in other.get("/leads").text
    with crm.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from bid_cases where key_account_id = :a and title = 'x'"),
                            {"a": account}).scalar_one() == 0
        assert conn.execute(sa.text("select status from campaign_leads where id = :i"), {"i": lead}).scalar_one() != "lost"


def _once(client, page: str, url: str, data: dict, **kw):
    """Post a follow-up form with the page's CSRF and once-per-form tokens."""
    html = client.get(page).text
    once = re.search(r'name="form_token" value="([0-9a-f]+)"', html).group(1)
    return client.post(url, data={"_csrf_token": csrf_token(html), "form_token": once, **data}, **kw)


def test_the_dealer_follows_up_a_lead_and_a_loss_needs_a_reason(browser, crm):
    with crm.engine.connect() as conn:
        lead = conn.execute(sa.text("select min(id) from campaign_leads where dealer_id = 5 "
                                    "and status in ('new', 'contacted')")).scalar_one()
    client = browser(DEALER)
    page = f"/leads/{lead}"

    listing = client.get("/leads?status=contacted")
    unknown = client.get("/leads?status=maybe")
    no_reason = _once(client, page, f"{page}/lost", {"reason": ""})
    no_order = _once(client, page, f"{page}/convert", {"order_id": ""})
    no_channel = _once(client, page, f"{page}/contacted", {"note": "客户在外地，下周再约"})
    visit = {"channel": "visit", "note": "上门拜访，客户比较了两家报价", "next_contact_on": "2026-12-10"}
    html = client.get(page).text
    once = re.search(r'name="form_token" value="([0-9a-f]+)"', html).group(1)
    visited = [client.post(f"{page}/contacted", data={"_csrf_token": csrf_token(html), "form_token": once, **visit},
                           follow_redirects=False) for _ in range(2)]
    lost = _once(client, page, f"{page}/lost", {"reason": "客户预算取消"}, follow_redirects=False)
    with crm.engine.connect() as conn:
        logged = conn.execute(sa.text("select outcome, channel, note from lead_follow_ups where lead_id = :l "
                                      "order by id desc limit 2"), {"l": lead}).all()

    assert listing.status_code == 200 and f'href="/leads/{lead}"' in listing.text
    assert unknown.status_code == 422 and "未知的线索状态" in unknown.text
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.text
    assert no_order.status_code == 422 and 'id="order_id-error"' in no_order.text
    assert no_channel.status_code == 422 and 'id="channel-error"' in no_channel.text and "下周再约" in no_channel.text
    assert [r.status_code for r in visited] == [303, 303]
    assert lost.status_code == 303
    after = client.get(lost.headers["location"]).text
    assert "客户预算取消" in after and "上门拜访，客户比较了两家报价" in after and "2026-12-10" in after
    assert [tuple(r) for r in logged] == [("lost", None, None), ("contacted", "visit", visit["note"])]
    with crm.engine.connect() as conn:  # the double post logged one visit
        assert conn.execute(sa.text("select count(*) from lead_follow_ups where lead_id = :l and channel = 'visit'"),
                            {"l": lead}).scalar_one() == 1


def test_the_dealer_accepts_a_quote_and_another_dealer_cannot_see_it(browser, crm):
    client = browser(QUOTING)

    listing = client.get("/quotes")
    order = client.get("/orders/8")
    waiting = client.get("/orders/7")
    quote = client.get("/quotes/8")
    foreign = browser(DEALER)
    peek = foreign.get("/quotes/8")
    foreign_accept = _post(foreign, "/quotes", "/quotes/8/accept", {})
    accepted = _post(client, "/quotes/8", "/quotes/8/accept", {}, follow_redirects=False)
    again = _post(client, "/quotes/8", "/quotes/8/accept", {})

    assert listing.status_code == 200 and "SO-2026-000008" in listing.text and "SO-2026-000007" in listing.text
    assert re.search(r'id="order-quote"><a href="/quotes/8" class="button primary">查看并确认报价</a>', order.text)
    assert re.search(r'<a href="/quotes/7" class="button">查看报价</a> <span class="muted">待核价', waiting.text)
    assert quote.status_code == 200 and "¥251,800.00" in quote.text and "接受报价" in quote.text
    assert peek.status_code == 404 and foreign_accept.status_code == 404
    assert accepted.status_code == 303 and "已接受报价" in client.get(accepted.headers["location"]).text
    assert again.status_code == 409
    with crm.engine.connect() as conn:
        assert conn.execute(sa.text("select state from orders where id = 8")).scalar_one() == "draft"


def test_a_quote_declined_with_a_reason_and_an_over_long_reason_kept_in_the_form(browser, crm):
    client = browser(QUOTING)

    too_long = _post(client, "/quotes/8", "/quotes/8/decline", {"reason": "贵" * 501})
    declined = _post(client, "/quotes/8", "/quotes/8/decline", {"reason": "价格超预算"}, follow_redirects=False)

    assert too_long.status_code == 422 and 'id="reason-error"' in too_long.text and "贵" * 501 in too_long.text
    assert declined.status_code == 303 and "价格超预算" in client.get("/quotes/8").text


def test_my_dealer_pages_refuse_staff_and_writes_without_the_csrf_token(browser):
    client = browser(DEALER)
    finance = browser("finance")

    no_token = client.post("/dealer/profile", data=PROFILE)
    no_token_forecast = client.post("/forecasts", data={"tanker": "1"})

    assert no_token.status_code == 403 and no_token_forecast.status_code == 403
    for path in ("/dealer/", "/dealer/contacts", "/dealer/agreements", "/forecasts", "/key-accounts", "/leads",
                 "/quotes"):
        assert finance.get(path).status_code == 403, path
    nav = client.get("/").text
    assert all(f'href="{href}"' in nav for href in ("/dealer/", "/forecasts", "/key-accounts", "/leads", "/quotes"))
