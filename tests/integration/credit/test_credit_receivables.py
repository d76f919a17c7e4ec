"""Warnings once per crossing, due-soon and dunning reminders escalating through the outbox
(idempotent per contract and level), and the credit evaluation stored with its inputs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application import credit
from dealercrm.application.identity import CreateUser
from dealercrm.domain.identity import Principal

W = 10_000_00


def _outbox(crm) -> list[tuple[str, str, str]]:
    with crm.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(notification_outbox.c.template_code, notification_outbox.c.recipient,
                   notification_outbox.c.idempotency_key).order_by(notification_outbox.c.created_at,
                                                                   notification_outbox.c.idempotency_key))]


def _staff(crm) -> None:
    system = Principal.system()
    crm.identity.create_user(system, CreateUser("cwang", "财务王", "finance", "Passw0rd123", email="cw@factory.example.cn"))
    crm.identity.create_user(system, CreateUser("kli", "开票李", "invoicing", "Passw0rd123",
                                                email="kp@factory.example.cn"))


def test_crossing_the_warning_threshold_alerts_dealer_finance_and_invoicing_once_per_crossing(crm, kit):
    _staff(crm)
    d = kit.add_dealer(email="boss@hongda.example.cn")
    kit.grant(d, 100 * W, warning_threshold_permille=800)

    kit.reserve(d, "HT-W-1", 70 * W)
    assert _outbox(crm) == []
    kit.reserve(d, "HT-W-2", 15 * W)  # 85 %: crossing no. 1
    kit.reserve(d, "HT-W-3", 5 * W)  # 90 %: still above, no new warning
    first = _outbox(crm)
    credit.record_payment(credit.RecordPayment(d, 20 * W, kit.clock().date()), "warn-pay-0000001",
                          crm.uow(kit.fin_a), kit.clock)  # 70 %: re-armed
    kit.reserve(d, "HT-W-4", 15 * W)  # 85 %: crossing no. 2

    assert sorted((t, r) for t, r, _ in first) == [
        ("credit.warning_dealer", "boss@hongda.example.cn"),
        ("credit.warning_staff", "cw@factory.example.cn"),
        ("credit.warning_staff", "kp@factory.example.cn"),
    ]
    assert len(_outbox(crm)) == 6
    assert {k.split(":")[2] for _, _, k in _outbox(crm)} == {"1", "2"}
    assert kit.account(d).warning_crossings == 2


def test_reminders_escalate_per_contract_and_level_and_a_rerun_sends_nothing_new(crm, kit, clock):
    _staff(crm)
    rep_id = crm.identity.create_user(Principal.system(), CreateUser("rep", "销售张", "sales", "Passw0rd123",
                                                                     phone="13912345678"))
    d = kit.add_dealer(email="boss@shuntong.example.cn", phone="13800001111")
    with crm.engine.begin() as conn:
        from dealercrm.adapters.db.orm import dealers

        conn.execute(dealers.update().where(dealers.c.id == d).values(sales_rep_id=rep_id))
    kit.grant(d, 100 * W, term_days=30)
    kit.reserve(d, "HT-DUN-1", 40 * W)
    kit.reserve(d, "HT-DUN-2", 40 * W)
    today = clock().date()
    credit.issue_invoice(credit.IssueInvoice("HT-DUN-1", 10 * W, today - dt.timedelta(days=31)),
                         crm.uow(kit.invoicer), clock)  # due yesterday: level 1
    credit.issue_invoice(credit.IssueInvoice("HT-DUN-2", 10 * W, today - dt.timedelta(days=25)),
                         crm.uow(kit.invoicer), clock)  # due in 5 days: due soon

    first = crm.credit.run_reminders()
    rerun = crm.credit.run_reminders()
    clock.advance(14)  # HT-DUN-1 15 days overdue → level 2; HT-DUN-2 9 days overdue → level 1
    second = crm.credit.run_reminders()
    clock.advance(16)  # HT-DUN-1 31 days → level 3 (escalates to finance); HT-DUN-2 25 days → level 2
    crm.credit.run_reminders()

    assert (first.alerts, first.messages) == (2, 4)
    assert rerun.messages == 0
    assert second.messages == 4
    sent = _outbox(crm)
    templates = [t for t, _, _ in sent]
    assert templates.count("receivable.due_soon_dealer") == 1 and templates.count("receivable.due_soon_sales") == 1
    assert templates.count("receivable.dunning_level_1") == 2
    assert templates.count("receivable.dunning_level_2") == 2
    assert templates.count("receivable.dunning_level_3") == 1
    assert ("receivable.overdue_finance", "cw@factory.example.cn") in [(t, r) for t, r, _ in sent]
    keys = [k for _, _, k in sent]
    assert len(keys) == len(set(keys))
    assert any(k.startswith("receivable.dunning:") and ":L3:dealer" in k for k in keys)


def test_the_credit_evaluation_is_stored_and_shown_with_its_inputs(crm, kit, clock):
    d = kit.add_dealer()
    kit.grant(d, 100 * W, term_days=30)
    kit.reserve(d, "HT-EV-1", 60 * W)
    today = clock().date()
    credit.issue_invoice(credit.IssueInvoice("HT-EV-1", 20 * W, today - dt.timedelta(days=100)),
                         crm.uow(kit.invoicer), clock)
    credit.issue_invoice(credit.IssueInvoice("HT-EV-1", 20 * W, today - dt.timedelta(days=40)),
                         crm.uow(kit.invoicer), clock)
    # the first invoice was paid 10 days late … recorded today, received 60 days ago (due 70 days ago)
    credit.record_payment(credit.RecordPayment(d, 20 * W, today - dt.timedelta(days=60)), "eval-pay-000001",
                          crm.uow(kit.fin_a), clock)

    out = crm.credit.evaluate(kit.fin_a, d)
    listed = crm.credit.evaluations(kit.fin_a, d)

    assert out.inputs["due_fen"] == 40 * W and out.inputs["on_time_fen"] == 0
    assert out.inputs["overdue_fen"] == 20 * W and out.inputs["max_days_overdue"] == 10
    assert out.inputs["exposure_fen"] == 40 * W and out.inputs["limit_fen"] == 100 * W
    # punctuality 0/50 + overdue 30 − 10÷3 = 27 + utilisation 40 % → 20
    assert (out.score, out.grade) == (47, "D")
    assert out.breakdown["overdue_points"] == 27
    assert [e.id for e in listed] == [out.id] and listed[0].inputs == out.inputs
    assert crm.credit.run_evaluations() >= 1


def test_the_worker_scheduler_runs_the_credit_reminders(crm, kit, clock):
    """`dealercrm worker` runs the engagement scheduler; the credit jobs are registered with it."""
    _staff(crm)
    d = kit.add_dealer(email="boss@hongda.example.cn", phone="13800002222")
    kit.grant(d, 100 * W, term_days=30)
    kit.reserve(d, "HT-SCH-1", 40 * W)
    credit.issue_invoice(credit.IssueInvoice("HT-SCH-1", 10 * W, clock().date() - dt.timedelta(days=31)),
                         crm.uow(kit.invoicer), clock)

    crm.engagement.run_scheduler_once(clock())
    crm.engagement.run_scheduler_once(clock())  # a second pass adds nothing

    assert [t for t, _, _ in _outbox(crm)].count("receivable.dunning_level_1") == 1
