"""The factory's side of the web UI with Litestar's test client on the demo data (one demo load for
both, to keep the test time small):

* 特殊配置报价: the quote requests waiting for the factory are on the issuer's workbench and list; a
  price typed in yuan is issued in exact fen and the dealer sees it; a double submit issues one
  quote; bad input stays beside its field with nothing stored; a stale form says 已被他人修改;
  what the user may not see is the 404 page.
* 转签 on the task page: one step handed to a colleague who may see its document leaves my
  workbench for theirs; a target who may not see it, or none, is refused beside the field."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from .conftest import csrf_token

pytestmark = pytest.mark.slow
ORDER = 7  # dealer27's order awaiting a quote (demo)
ORDER_NO = "SO-2026-000007"
DEALER = "dealer27"
OTHER_DEALER = "dealer05"
BAD_INPUT = (  # (price, valid until, field, message)
    ("", "2026-12-31", "unit_price", "请输入金额（元）"),
    ("-5", "2026-12-31", "unit_price", "金额须大于0"),
    ("二十万", "2026-12-31", "unit_price", "请输入金额（元）"),
    ("1000.001", "2026-12-31", "unit_price", "最多两位小数"),
    ("200000", "", "valid_until", "请选择报价有效期"),
    ("200000", "2026-12-06", "valid_until", "报价有效期不能早于今天"),  # checked by the domain, inside the ledger
)


def _form(page_html: str) -> dict[str, str]:
    return {"_csrf_token": csrf_token(page_html),
            "form_token": re.search(r'name="form_token" value="([^"]+)"', page_html).group(1),
            "version": re.search(r'name="version" value="(\d+)"', page_html).group(1)}


def _quotes(crm) -> list[tuple[str, int | None]]:
    with crm.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select status, unit_price_fen from order_price_quotes where order_id = :o order by seq"), {"o": ORDER})]


def _scalar(crm, sql: str, **params):
    with crm.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def test_the_factory_issues_a_quote_from_its_workbench_once_and_the_dealer_sees_it(browser, crm):
    admin = browser("admin")
    workbench = admin.get("/")
    listing = admin.get("/factory/quotes")
    form = admin.get(f"/factory/quotes/{ORDER}")
    data = {**_form(form.text), "unit_price": "251,800.55", "valid_until": "2026-12-31", "note": "含专属涂装"}

    issued = admin.post(f"/factory/quotes/{ORDER}", data=data, follow_redirects=False)
    clicked_twice = admin.post(f"/factory/quotes/{ORDER}", data=data, follow_redirects=False)
    shown = admin.get(issued.headers["location"])
    dealer_view = browser(DEALER).get(f"/quotes/{ORDER}")
    after = admin.get("/factory/quotes")

    assert f'href="/factory/quotes/{ORDER}"' in workbench.text and "特殊配置核价" in workbench.text
    assert 'href="/factory/quotes"' in workbench.text  # the nav entry
    assert listing.status_code == 200 and re.search(rf'id="quote-request-{ORDER}">.*?{ORDER_NO}', listing.text, re.DOTALL)
    assert "已等待" in listing.text and "客户要求企业专属涂装" in listing.text
    assert form.status_code == 200 and "发出报价" in form.text and '<a href="/factory/quotes">' in form.text
    assert issued.status_code == clicked_twice.status_code == 303
    assert clicked_twice.headers["location"] == issued.headers["location"]
    assert "报价已发出" in shown.text and "¥251,800.55" in shown.text
    assert [q for q in _quotes(crm) if q[0] == "issued"] == [("issued", 25_180_055)]
    assert _scalar(crm, "select count(*) from order_events where order_id = :o and kind = 'issue_quote'", o=ORDER) == 1
    assert dealer_view.status_code == 200 and "¥251,800.55" in dealer_view.text and "接受报价" in dealer_view.text
    assert ORDER_NO not in after.text


def test_bad_input_foreign_orders_and_writes_without_csrf_store_nothing_and_a_stale_form_says_so(browser, crm):
    region = _scalar(crm, "select d.region from dealers d join users u on u.dealer_id = d.id where u.username = :u",
                     u=DEALER)
    foreign_order = _scalar(crm, "select o.id from orders o join dealers d on d.id = o.dealer_id "
                                 "where d.region <> '华东' order by o.id limit 1")
    admin, manager, dealer, other_dealer = browser("admin"), browser("rm_huadong"), browser(DEALER), browser(OTHER_DEALER)
    first_page = admin.get(f"/factory/quotes/{ORDER}")

    out_of_region = manager.get(f"/factory/quotes/{foreign_order}")
    out_of_region_post = manager.post(f"/factory/quotes/{foreign_order}", data={
        "_csrf_token": csrf_token(manager.get("/factory/quotes").text), "unit_price": "1", "valid_until": "2026-12-31",
        "form_token": "a" * 32, "version": "1"})
    missing = admin.get("/factory/quotes/999999")
    dealer_page = dealer.get(f"/factory/quotes/{ORDER}")
    other_dealers_quote = other_dealer.get(f"/quotes/{ORDER}")
    no_token = admin.post(f"/factory/quotes/{ORDER}", data={"unit_price": "1", "valid_until": "2026-12-31"})
    manager_list = manager.get("/factory/quotes")
    refusals = []
    page = first_page
    for price, valid_until, field, message in BAD_INPUT:
        page = admin.post(f"/factory/quotes/{ORDER}", data={**_form(page.text), "unit_price": price,
                                                             "valid_until": valid_until, "note": "试报"})
        refusals.append((page, price, field, message))
    stored_before_issue = _quotes(crm)[-1]
    issued = admin.post(f"/factory/quotes/{ORDER}", data={**_form(page.text), "unit_price": "250000",
                                                           "valid_until": "2026-12-20", "note": ""})
    stale = admin.post(f"/factory/quotes/{ORDER}", data={**_form(first_page.text), "unit_price": "240000",
                                                          "valid_until": "2026-12-20", "note": ""})

    assert out_of_region.status_code == 404 and out_of_region_post.status_code == 404 and missing.status_code == 404
    assert dealer_page.status_code == 403 and 'href="/factory/quotes"' not in dealer.get("/").text
    assert other_dealers_quote.status_code == 404 and no_token.status_code == 403
    assert manager_list.status_code == 200 and (ORDER_NO in manager_list.text) == (region == "华东")
    for refused, price, field, message in refusals:
        assert refused.status_code == 422, (price, refused.text[-2000:])
        assert re.search(rf'id="{field}-error">[^<]*{message}', refused.text), (price, field)
        assert f'value="{price}"' in refused.text and "试报" in refused.text
    assert stored_before_issue == ("requested", None)
    assert issued.status_code == 200 and "报价已发出" in issued.text
    assert stale.status_code == 409 and "已被他人修改" in stale.text and "已报价" in stale.text
    assert "¥250,000.00" in stale.text and _quotes(crm)[-1] == ("issued", 25_000_000)


def test_a_step_handed_to_a_colleague_moves_to_their_workbench_and_an_outsider_is_refused(browser, crm):
    reviewer, colleague = browser("procurement"), browser("technical")
    step = re.search(r'href="/tasks/(\d+)"', reviewer.get("/").text).group(1)
    task = reviewer.get(f"/tasks/{step}")
    token = csrf_token(task.text)
    technical = re.search(r'<option value="(\d+)">技术评审（', task.text).group(1)
    outsider = _scalar(crm, "select u.id from users u join workflows w on w.dealer_id <> u.dealer_id "
                            "join workflow_steps s on s.workflow_id = w.id where s.id = :s and u.role = 'dealer' "
                            "order by u.id limit 1", s=int(step))

    foreign = reviewer.post(f"/tasks/{step}/delegate", data={"_csrf_token": token, "to_user_id": str(outsider),
                                                             "delegate_reason": "试试"})
    nobody = reviewer.post(f"/tasks/{step}/delegate", data={"_csrf_token": token, "to_user_id": "",
                                                            "delegate_reason": ""})
    too_long = reviewer.post(f"/tasks/{step}/delegate", data={"_csrf_token": token, "to_user_id": technical,
                                                              "delegate_reason": "长" * 501})
    still_mine = f'href="/tasks/{step}"' in reviewer.get("/").text
    moved = reviewer.post(f"/tasks/{step}/delegate", data={"_csrf_token": token, "to_user_id": technical,
                                                           "delegate_reason": "需技术部先评估"}, follow_redirects=False)
    done = reviewer.get(moved.headers["location"])

    assert task.status_code == 200 and 'id="delegate-step"' in task.text
    assert not re.search(r">采购评审（[^<]*</option>", task.text)  # not to myself
    assert foreign.status_code == 422 and re.search(r'id="to_user_id-error">受托人无权查看该单据', foreign.text)
    assert "试试" in foreign.text
    assert nobody.status_code == 422 and re.search(r'id="to_user_id-error">请选择转签给谁', nobody.text)
    assert too_long.status_code == 422 and 'id="delegate_reason-error"' in too_long.text
    assert still_mine
    assert moved.status_code == 303 and "已转签" in done.text
    assert f'href="/tasks/{step}"' not in reviewer.get("/").text and f'href="/tasks/{step}"' not in done.text
    assert reviewer.get(f"/tasks/{step}").status_code == 404
    assert f'href="/tasks/{step}"' in colleague.get("/tasks").text
    handed = colleague.get(f"/tasks/{step}")
    assert handed.status_code == 200 and "需技术部先评估" in handed.text
