"""RELIABILITY.md invariant 1, required test: a Hypothesis state machine drives one dealer through
submit / approve (reserve) / ship (gate check) / invoice / pay / cancel / reopen / change the
price / void / lower the limit / let time pass, on SQLite and PostgreSQL. After every step the
account's exposure equals the sum of its parts recomputed from the facts, never exceeds the
limit, and moved exactly as the step says it should."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from dealercrm.application import credit
from dealercrm.domain.errors import BusinessRuleViolation, Conflict
from dealercrm.domain.values import Vin

UNIT = 10_000_00  # ¥10,000.00
LIMIT = 100 * UNIT
_numbers = itertools.count(1)
REFUSALS = {"credit.limit_exceeded", "credit.overdue", "credit.account_frozen", "credit.limit_below_exposure"}


def machine_for(kit):
    crm, clock = kit.crm, kit.clock

    class CreditMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.dealer = kit.add_dealer()
            kit.grant(self.dealer, LIMIT, warning_threshold_permille=800)
            self.limit = LIMIT
            self.expected_exposure = 0
            self.drafts: list[tuple[str, int]] = []
            self.active: dict[str, int] = {}  # contract → uninvoiced value (model)
            self.cancelled: set[str] = set()
            self.invoices: dict[int, tuple[str, int]] = {}  # issued invoice id → (contract, amount)
            self.vins = itertools.count(1)

        def _uow(self, who=None):
            return crm.uow(who or kit.fin_a)

        def _refused(self, exc: Exception) -> None:
            assert isinstance(exc, BusinessRuleViolation) and exc.code in REFUSALS, repr(exc)

        # -- steps ---------------------------------------------------------------------------

        @rule(units=st.integers(1, 45))
        def submit(self, units: int) -> None:
            self.drafts.append((f"HT-M{next(_numbers):07d}", units * UNIT))

        @precondition(lambda self: self.drafts)
        @rule(data=st.data(), override=st.booleans())
        def approve(self, data, override: bool) -> None:
            contract_no, amount = self.drafts.pop(data.draw(st.integers(0, len(self.drafts) - 1)))
            try:
                with self._uow() as uow:
                    credit.reserve_for_contract(uow, self.dealer, contract_no, amount,
                                                override_reason="老客户，已承诺本周回款" if override else None)
                    uow.commit()
            except BusinessRuleViolation as exc:
                self._refused(exc)
                return
            self.active[contract_no] = amount
            self.expected_exposure += amount

        @precondition(lambda self: self.active)
        @rule(data=st.data())
        def ship(self, data) -> None:
            contract_no = data.draw(st.sampled_from(sorted(self.active)))
            vin = Vin.build("LZZ", "1CCND", "P", "W", f"{self.dealer % 100:02d}{next(self.vins):04d}").value
            try:
                with self._uow() as uow:
                    clearance = credit.check_vehicle_release(uow, self.dealer, contract_no, [vin])
                    uow.commit()
            except BusinessRuleViolation as exc:
                self._refused(exc)
                return
            # a vehicle no invoice names is 未开票 unless its contract is wholly invoiced per contract
            assert clearance.vins[0].basis in ("credit", "paid")
            assert clearance.exposure_fen == self.expected_exposure

        @precondition(lambda self: any(v > 0 for v in self.active.values()))
        @rule(data=st.data(), days_ago=st.integers(0, 80))
        def invoice(self, data, days_ago: int) -> None:
            contract_no = data.draw(st.sampled_from(sorted(c for c, v in self.active.items() if v > 0)))
            amount = data.draw(st.integers(1, self.active[contract_no]))
            issued_on = (clock() - __import__("datetime").timedelta(days=days_ago)).date()
            out = credit.issue_invoice(credit.IssueInvoice(contract_no, amount, issued_on), self._uow(kit.invoicer),
                                       clock)
            self.active[contract_no] -= amount
            self.invoices[out.invoice_id] = (contract_no, amount)

        @rule(units=st.integers(1, 30), mode=st.sampled_from(["auto", "none", "earmark"]), data=st.data())
        def pay(self, units: int, mode: str, data) -> None:
            amount = units * UNIT // 3
            contract_no = None
            if mode == "earmark" and self.active:
                contract_no = data.draw(st.sampled_from(sorted(self.active)))
            cmd = credit.RecordPayment(self.dealer, amount, clock().date(), contract_no=contract_no,
                                       allocation="none" if mode == "none" else "auto")
            credit.record_payment(cmd, f"model-{next(_numbers):010d}", self._uow(), clock)
            self.expected_exposure -= amount

        @rule()
        def apply_prepayments(self) -> None:
            credit.apply_prepayments(self.dealer, self._uow(), clock)

        @precondition(lambda self: self.active)
        @rule(data=st.data())
        def cancel(self, data) -> None:
            contract_no = data.draw(st.sampled_from(sorted(self.active)))
            with self._uow() as uow:
                credit.cancel_contract(uow, contract_no, reason="经销商撤单")
                uow.commit()
            self.expected_exposure -= self.active.pop(contract_no)
            self.cancelled.add(contract_no)

        @precondition(lambda self: self.cancelled)
        @rule(data=st.data(), override=st.booleans())
        def reopen(self, data, override: bool) -> None:
            contract_no = data.draw(st.sampled_from(sorted(self.cancelled)))
            try:
                with self._uow() as uow:
                    r = credit.reopen_contract(uow, contract_no, override_reason="财务特批" if override else None)
                    uow.commit()
            except BusinessRuleViolation as exc:
                self._refused(exc)
                return
            self.cancelled.discard(contract_no)
            self.active[contract_no] = r.uninvoiced_fen
            self.expected_exposure += r.uninvoiced_fen

        @precondition(lambda self: self.active)
        @rule(data=st.data(), units=st.integers(-20, 20))
        def change_price(self, data, units: int) -> None:
            contract_no = data.draw(st.sampled_from(sorted(self.active)))
            with self._uow() as uow:
                before = uow.credit.commitment(contract_no)
                invoiced = before.invoiced_fen
                new_amount = max(invoiced, before.amount_fen + units * UNIT // 2, 1)
            try:
                with self._uow() as uow:
                    r = credit.adjust_contract(uow, contract_no, new_amount, override_reason="技术变更")
                    uow.commit()
            except BusinessRuleViolation as exc:
                self._refused(exc)
                return
            self.expected_exposure += r.uninvoiced_fen - self.active[contract_no]
            self.active[contract_no] = r.uninvoiced_fen

        @precondition(lambda self: self.invoices)
        @rule(data=st.data())
        def void(self, data) -> None:
            invoice_id = data.draw(st.sampled_from(sorted(self.invoices)))
            contract_no, amount = self.invoices.pop(invoice_id)
            credit.void_invoice(invoice_id, "开票信息有误，红冲", self._uow(kit.invoicer), clock)
            if contract_no in self.active:
                self.active[contract_no] += amount
            else:
                self.expected_exposure -= amount

        @rule(permille=st.integers(0, 1000))
        def lower_the_limit(self, permille: int) -> None:
            new_limit = self.limit * permille // 1000
            request = credit.request_credit_change(
                credit.RequestCreditChange(self.dealer, "压降额度", limit_fen=new_limit), self._uow(kit.fin_a), clock)
            try:
                credit.approve_credit_change(request.id, None, self._uow(kit.fin_b), clock)
            except BusinessRuleViolation as exc:
                self._refused(exc)
                credit.reject_credit_change(request.id, "额度低于占用", self._uow(kit.fin_b), clock)
                return
            self.limit = new_limit

        @rule(units=st.integers(1, 50))
        def raise_the_limit(self, units: int) -> None:
            request = credit.request_credit_change(
                credit.RequestCreditChange(self.dealer, "提额", limit_fen=self.limit + units * UNIT),
                self._uow(kit.fin_a), clock)
            credit.approve_credit_change(request.id, None, self._uow(kit.fin_b), clock)
            self.limit += units * UNIT

        @rule(days=st.integers(0, 40))
        def time_passes(self, days: int) -> None:
            clock.advance(days)

        # -- after every step ---------------------------------------------------------------

        @invariant()
        def exposure_is_the_sum_of_its_facts_and_within_the_limit(self) -> None:
            with self._uow() as uow:
                account = uow.credit.lock_account(self.dealer)
                facts = uow.credit.exposure_from_facts(self.dealer)
                assert account.parts == facts
                assert account.exposure_fen == facts.exposure_fen == self.expected_exposure
                assert account.exposure_fen <= account.limit_fen == self.limit
                assert account.uninvoiced_fen == sum(self.active.values())
                assert min(facts.receivable_fen, facts.uninvoiced_fen, facts.prepayment_fen) >= 0

    return CreditMachine


def test_exposure_equals_its_parts_and_never_exceeds_the_limit_whatever_the_order_of_operations(kit):
    run_state_machine_as_test(
        machine_for(kit),
        # no shrinking against a database (minutes); a failure prints its full step list anyway
        settings=settings(max_examples=25, stateful_step_count=30, deadline=None, database=None,
                          phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )


def test_conflict_is_the_base_of_every_refusal_so_http_answers_409():
    assert issubclass(BusinessRuleViolation, Conflict)
