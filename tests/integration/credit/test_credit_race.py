"""RELIABILITY.md invariant 1, required test: 200 barrier-synchronised contract approvals for one
dealer whose available credit covers exactly 10, through the very function the orders' finance
review calls, on SQLite and PostgreSQL."""

from __future__ import annotations


from dealercrm.application.credit import reserve_for_contract
from dealercrm.domain.errors import BusinessRuleViolation, Conflict
from dealercrm.entrypoints.http.problems import STATUS_OF
from tests.fakes import race

APPROVALS = 200
CONTRACT_FEN = 35_000_000  # ¥350,000.00 per contract


def _http_status(exc: Exception) -> int:
    return next(s for t, s in STATUS_OF if isinstance(exc, t))


def test_200_concurrent_approvals_reserve_exactly_the_10_that_fit(crm, kit):
    dealer_id = kit.add_dealer()
    kit.grant(dealer_id, 10 * CONTRACT_FEN, warning_threshold_permille=1000)

    def approve(i: int) -> str:
        with crm.uow(kit.fin_a) as uow:
            reserve_for_contract(uow, dealer_id, f"HT-2026-{i:06d}", CONTRACT_FEN)
            uow.commit()
        return "reserved"

    outcomes: list[object] = list(race(APPROVALS, approve))  # every outcome, refusals too, is checked below

    refused = [o for o in outcomes if o != "reserved"]
    assert outcomes.count("reserved") == 10
    assert len(refused) == 190
    assert all(isinstance(e, BusinessRuleViolation) and e.code == "credit.limit_exceeded" for e in refused), \
        {repr(e) for e in refused if not isinstance(e, BusinessRuleViolation)}
    assert {_http_status(e) for e in refused} == {409}
    assert all(isinstance(e, Conflict) for e in refused)
    with crm.uow(kit.fin_a) as uow:
        account = uow.credit.lock_account(dealer_id)
        assert account.exposure_fen == account.limit_fen == 10 * CONTRACT_FEN
        assert uow.credit.exposure_from_facts(dealer_id) == account.parts
