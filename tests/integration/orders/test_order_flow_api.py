"""Review → e-contract → finance over HTTP, on SQLite and PostgreSQL (issue 4 §3–§5)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dealercrm.adapters.db.credit_tables import credit_accounts
from dealercrm.adapters.db.orderflow_tables import contracts
from dealercrm.adapters.notify.sql_outbox import notification_outbox

from .flow_kit import Flow, grant_credit, sha256


@pytest.fixture
def flow(db_url):
    with Flow(db_url) as f:
        yield f


def outbox(flow, template: str) -> list[dict]:
    with flow.crm.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(notification_outbox).where(notification_outbox.c.template_code == template))]


def test_submission_opens_four_parallel_reviews_and_all_approvals_generate_the_contract(flow):
    ref = flow.submit_order()
    steps = flow.review_steps(ref["id"])
    assert sorted(steps) == ["procurement", "production", "sales", "technical"]
    assert {s["status"] for s in steps.values()} == {"open"}
    assert steps["sales"]["assignee_kind"] == "region" and steps["sales"]["assignee_value"] == "华中"

    flow.approve_all(ref["id"])

    detail = flow.order(ref["id"])
    assert detail["state"] == "contract_signing"
    contract = flow.client.get(f"/api/v1/orders/{ref['id']}/contract", headers=flow.h("hongda")).json()
    pdf = flow.client.get(f"/api/v1/orders/{ref['id']}/contract.pdf", headers=flow.h("hongda"))
    assert contract["contract_no"].startswith("HT-") and contract["status"] == "awaiting_acceptance"
    assert contract["amount_fen"] == detail["total_fen"]
    assert contract["document"]["buyer"]["name"] == "测试1专用车销售有限公司"
    assert contract["document"]["items"][0]["quantity"] == 2 and contract["document"]["payment_terms"]
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and sha256(pdf.content) == contract["document_sha256"]
    kinds = [e["kind"] for e in flow.timeline(ref["id"])]
    assert kinds == ["created", "price_estimated", "submit", "start_review", "review_step", "review_step",
                     "review_step", "review_step", "review_passed", "contract_issued", "contract_rendered"]
    assert len(outbox(flow, "order.contract_issued")) == 1


def test_one_rejection_returns_the_order_with_reasons_and_resubmission_starts_a_new_review(flow):
    ref = flow.submit_order()
    assert flow.decide(ref["id"], "procurement", "procurement").status_code == 200
    r = flow.decide(ref["id"], "technical", "technical", "reject", reason="底盘型号与罐体不匹配")
    assert r.status_code == 200, r.text

    detail = flow.order(ref["id"], "hongda")
    assert detail["state"] == "returned"
    assert detail["return_reasons"] == ["技术评审：底盘型号与罐体不匹配"]
    mails = outbox(flow, "order.review_returned")
    assert len(mails) == 1 and "底盘型号与罐体不匹配" in mails[0]["body"] and mails[0]["recipient"] == "boss1@dealer.example.cn"

    again = flow.client.post(f"/api/v1/orders/{ref['id']}/submit", headers=flow.h("hongda"))
    assert again.status_code == 200 and again.json()["state"] == "submitted"
    workflows = flow.client.get(f"/api/v1/orders/{ref['id']}/review", headers=flow.h("hongda")).json()["items"]
    assert [w["status"] for w in workflows] == ["running", "rejected"]
    flow.approve_all(ref["id"])
    assert flow.order(ref["id"])["state"] == "contract_signing"


def test_a_submitted_order_withdrawn_before_any_decision_withdraws_its_review(flow):
    ref = flow.submit_order()
    r = flow.client.post(f"/api/v1/orders/{ref['id']}/withdraw", headers=flow.h("hongda"))
    assert r.status_code == 200 and r.json()["state"] == "draft"
    workflows = flow.client.get(f"/api/v1/orders/{ref['id']}/review", headers=flow.h("hongda")).json()["items"]
    assert [w["status"] for w in workflows] == ["withdrawn"]

    assert flow.client.post(f"/api/v1/orders/{ref['id']}/submit", headers=flow.h("hongda")).status_code == 200
    assert flow.decide(ref["id"], "sales", "sales_huazhong").status_code == 200
    late = flow.client.post(f"/api/v1/orders/{ref['id']}/withdraw", headers=flow.h("hongda"))
    assert late.status_code == 409 and late.json()["current_state"] == "in_review"


def test_the_dealer_accepts_once_with_who_when_and_where(flow):
    ref = flow.submit_order()
    flow.approve_all(ref["id"])

    first = flow.accept(ref["id"])
    second = flow.accept(ref["id"])
    staff = flow.client.post(f"/api/v1/orders/{ref['id']}/contract/accept", headers=flow.h("admin"))
    other = flow.accept(ref["id"], dealer="shuntong")

    assert first.status_code == 200 and first.json()["state"] == "finance_review"
    assert second.status_code == 409 and second.json()["current_state"] == "finance_review"
    assert staff.status_code == 403 and other.status_code == 404
    contract = flow.client.get(f"/api/v1/orders/{ref['id']}/contract", headers=flow.h("admin")).json()
    assert contract["status"] == "awaiting_finance" and contract["accepted_by"] == "hongda"
    assert contract["accepted_from_ip"] and contract["accepted_user_agent"] == "pytest-hongda"
    assert contract["accepted_at"] is not None
    assert [e["kind"] for e in flow.timeline(ref["id"])].count("contract_accepted") == 1


def test_finance_over_the_credit_limit_is_409_and_changes_nothing(flow):
    order_id = flow.to_finance()
    grant_credit(flow.crm, flow.dealer_id, 1_000_00)  # far below the order
    before = flow.order(order_id)

    r = flow.finance_approve(order_id)

    assert r.status_code == 409 and r.json()["code"] == "credit.limit_exceeded"
    after = flow.order(order_id)
    assert (after["state"], after["version"]) == ("finance_review", before["version"])
    with flow.crm.engine.connect() as conn:
        assert conn.execute(select(contracts.c.status)).scalar_one() == "awaiting_finance"
        assert conn.execute(select(credit_accounts.c.uninvoiced_fen)
                            .where(credit_accounts.c.dealer_id == flow.dealer_id)).scalar_one() == 0
    assert outbox(flow, "erp.release_order") == []


def test_finance_approval_reserves_credit_and_queues_one_erp_release(flow):
    order_id = flow.to_finance()
    grant_credit(flow.crm, flow.dealer_id, 2_000_000_00)

    r = flow.finance_approve(order_id)
    again = flow.finance_approve(order_id)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["order"]["state"] == "awaiting_release" and body["contract_no"].startswith("HT-")
    assert again.status_code == 409 and again.json()["current_state"] == "awaiting_release"
    total = flow.order(order_id)["total_fen"]
    with flow.crm.engine.connect() as conn:
        assert conn.execute(select(credit_accounts.c.uninvoiced_fen)
                            .where(credit_accounts.c.dealer_id == flow.dealer_id)).scalar_one() == total
        assert conn.execute(select(func.count()).select_from(notification_outbox)
                            .where(notification_outbox.c.channel == "erp")).scalar_one() == 1
    release = outbox(flow, "erp.release_order")[0]
    assert release["idempotency_key"] == f"erp.release:contract:{body['contract_no']}"


def test_finance_rejects_with_a_reason_and_the_order_can_be_resubmitted(flow):
    order_id = flow.to_finance()
    missing = flow.client.post(f"/api/v1/orders/{order_id}/finance/reject", json={"reason": ""},
                               headers=flow.h("fin_a"))
    dealer = flow.client.post(f"/api/v1/orders/{order_id}/finance/reject", json={"reason": "x"},
                              headers=flow.h("hongda"))
    r = flow.client.post(f"/api/v1/orders/{order_id}/finance/reject", json={"reason": "付款方式未确认"},
                         headers=flow.h("fin_a"))

    assert missing.status_code == 422 and dealer.status_code == 403
    assert r.status_code == 200 and r.json()["state"] == "finance_rejected"
    assert "付款方式未确认" in outbox(flow, "order.finance_rejected")[0]["body"]
    back = flow.client.post(f"/api/v1/orders/{order_id}/finance/resubmit", headers=flow.h("hongda"))
    assert back.status_code == 200 and back.json()["state"] == "finance_review"
    grant_credit(flow.crm, flow.dealer_id, 2_000_000_00)
    assert flow.finance_approve(order_id).status_code == 200


def test_other_dealers_and_unknown_orders_see_no_contract(flow):
    ref = flow.submit_order()
    assert flow.client.get(f"/api/v1/orders/{ref['id']}/contract", headers=flow.h("hongda")).status_code == 404
    flow.approve_all(ref["id"])
    for path in ("/contract", "/contract.pdf", "/review"):
        assert flow.client.get(f"/api/v1/orders/{ref['id']}{path}", headers=flow.h("shuntong")).status_code == 404
    assert flow.client.get("/api/v1/orders/999999/contract", headers=flow.h("admin")).status_code == 404


def test_another_dealers_writes_on_an_order_are_404_and_change_nothing(flow):
    order_id = flow.to_finance()
    before = flow.order(order_id)
    other = flow.h("shuntong")

    answers = {path: flow.client.post(f"/api/v1/orders/{order_id}{path}", headers=other, json=body)
               for path, body in (("/finance/resubmit", None), ("/changes", {"description": "改为45方罐体"}),
                                  ("/quote/accept", None), ("/quote/decline", {"reason": "太贵"}),
                                  ("/contract/accept", None))}
    listed = flow.client.get(f"/api/v1/orders/{order_id}/changes", headers=other)

    assert {path: r.status_code for path, r in answers.items()} == dict.fromkeys(answers, 404)
    assert all(r.json()["code"] == "order.not_found" for r in answers.values())
    assert listed.status_code == 404
    after = flow.order(order_id)
    assert (after["state"], after["version"]) == (before["state"], before["version"])
    assert flow.client.get(f"/api/v1/orders/{order_id}/changes", headers=flow.h("hongda")).json()["items"] == []


def test_each_container_renders_contracts_with_its_own_settings(tmp_path, _sqlite_template):
    """Two containers in one process (an embedding team's case): one configured with a font file
    that does not exist cannot issue contracts (503, the last approval not taken), the other
    issues them normally — the renderer belongs to the container, not to the process."""
    import shutil

    from .flow_kit import REVIEWERS

    urls = []
    for name in ("broken", "fine"):
        shutil.copyfile(_sqlite_template, tmp_path / f"{name}.db")
        urls.append(f"sqlite:///{tmp_path / name}.db")
    with Flow(urls[0], pdf_font=str(tmp_path / "missing-font.ttf")) as broken, Flow(urls[1]) as fine:
        a = broken.submit_order()["id"]
        b = fine.submit_order()["id"]
        keys = ("procurement", "technical", "production", "sales")
        for key, user in zip(keys[:3], REVIEWERS[:3], strict=True):
            assert broken.decide(a, key, user).status_code == 200
        fine.approve_all(b)
        last = broken.decide(a, keys[3], REVIEWERS[3])

        assert last.status_code == 503 and last.json()["code"] == "document.font_missing"
        assert broken.order(a)["state"] == "in_review"
        assert broken.review_steps(a)["sales"]["status"] == "open"  # still waiting for its approval
        assert fine.order(b)["state"] == "contract_signing"
        assert fine.client.get(f"/api/v1/orders/{b}/contract.pdf", headers=fine.h("hongda")).content[:5] == b"%PDF-"
