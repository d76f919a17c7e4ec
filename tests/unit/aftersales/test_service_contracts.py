"""End customers and service contracts (seed 000 §4.2.1 1)–2)): the contract's own rules and the
check a service request gets — covered, not covering the fault or the mileage, expired, not yet
in force, none — each with its Chinese reason; cancelled contracts do not count."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.domain.customers import (
    ContractState,
    CustomerKind,
    EndCustomer,
    ServiceContract,
    check_service_contracts,
)
from dealercrm.domain.errors import IllegalTransition, InvalidValue

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 10)
VIN = "LGHTL240XRA000011"


def contract(n: int = 1, *, starts: str = "2026-01-01", ends: str = "2026-12-31", coverage=("tank_body", "brake"),
             km_limit: int | None = None) -> ServiceContract:
    return ServiceContract(number=f"WX-2026-{n:06d}", customer_id=1, vin=VIN, starts_on=dt.date.fromisoformat(starts),
                           ends_on=dt.date.fromisoformat(ends), coverage=list(coverage), terms="罐体及制动系统维修，工时费全免",
                           price_fen=1_200_000, created_at=NOW, created_by="aftersales", km_limit=km_limit, id=n)


def test_a_contract_in_force_covering_the_fault_covers_the_request():
    check = check_service_contracts([contract()], fault_category="tank_body", on=TODAY)

    assert (check.state, check.contract_no, check.warning) == (ContractState.COVERED, "WX-2026-000001", None)


def test_a_contract_in_force_without_the_fault_flags_the_request_naming_the_fault():
    check = check_service_contracts([contract()], fault_category="engine", on=TODAY)

    assert check.state is ContractState.NOT_COVERED
    assert check.warning == "维修合同WX-2026-000001不含“发动机”故障"


def test_a_reading_over_the_contracts_km_limit_flags_the_request():
    check = check_service_contracts([contract(km_limit=100_000)], fault_category="brake", on=TODAY,
                                    odometer_km=120_000)

    assert check.state is ContractState.NOT_COVERED
    assert "超过维修合同WX-2026-000001的里程上限100000公里" in check.warning


def test_the_last_day_is_still_covered_and_the_day_after_is_expired():
    c = contract(ends="2026-03-10")

    on_last_day = check_service_contracts([c], fault_category="brake", on=TODAY)
    next_day = check_service_contracts([c], fault_category="brake", on=TODAY + dt.timedelta(days=1))

    assert on_last_day.state is ContractState.COVERED
    assert next_day.state is ContractState.EXPIRED
    assert next_day.warning == "维修合同WX-2026-000001已于2026-03-10到期"


def test_the_latest_expired_contract_is_named_when_none_is_in_force():
    old = [contract(1, starts="2023-01-01", ends="2023-12-31"), contract(2, starts="2024-01-01", ends="2025-12-31")]

    check = check_service_contracts(old, fault_category="brake", on=TODAY)

    assert (check.state, check.contract_no) == (ContractState.EXPIRED, "WX-2026-000002")


def test_a_contract_not_yet_in_force_flags_the_request_with_its_start():
    check = check_service_contracts([contract(starts="2026-04-01")], fault_category="brake", on=TODAY)

    assert check.state is ContractState.NOT_STARTED
    assert check.warning == "维修合同WX-2026-000001自2026-04-01起生效"


def test_one_covering_contract_wins_over_another_that_does_not_cover():
    engine_only = contract(1, coverage=("engine",))
    brakes = contract(2, ends="2026-06-30", coverage=("brake",))

    check = check_service_contracts([engine_only, brakes], fault_category="brake", on=TODAY)

    assert (check.state, check.contract_no) == (ContractState.COVERED, "WX-2026-000002")


def test_cancelled_contracts_and_no_contract_at_all_give_no_flag():
    cancelled = contract()
    cancelled.cancel("客户退订", NOW)

    check = check_service_contracts([cancelled], fault_category="brake", on=TODAY)

    assert (check.state, check.warning) == (ContractState.NONE, None)


def test_a_cancelled_contract_cannot_be_cancelled_again():
    c = contract()
    c.cancel("客户退订", NOW)

    with pytest.raises(IllegalTransition) as err:
        c.cancel("再次作废", NOW)

    assert err.value.code == "service_contract.not_active"


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"ends": "2025-12-31"}, "ends_on", "service_contract.period_invalid"),
    ({"ends": "2040-01-01"}, "ends_on", "service_contract.period_too_long"),
    ({"coverage": ()}, "coverage", "service_contract.coverage_empty"),
    ({"coverage": ("wings",)}, "coverage", "service_contract.coverage_unknown"),
    ({"km_limit": 0}, "km_limit", "service_contract.km_invalid"),
])
def test_a_contract_with_bad_terms_is_refused_naming_the_field(changes, field, code):
    with pytest.raises(InvalidValue) as err:
        contract(**changes)

    assert (err.value.field, err.value.code) == (field, code)


def test_a_customer_needs_a_name_a_valid_phone_and_a_known_kind():
    ok = EndCustomer(number="KH-2026-000001", name=" 赵师傅 ", phone="13700001111", kind="person",  # type: ignore[arg-type]
                     created_at=NOW, created_by="dealer")

    with pytest.raises(InvalidValue) as bad_kind:
        EndCustomer(number="KH-2026-000002", name="某物流公司", phone="13700001112", kind="fleet",  # type: ignore[arg-type]
                    created_at=NOW, created_by="dealer")

    assert (ok.name, ok.kind) == ("赵师傅", CustomerKind.PERSON)
    assert bad_kind.value.field == "kind"


def test_editing_a_customer_changes_all_fields_or_none():
    customer = EndCustomer(number="KH-2026-000001", name="赵师傅", phone="13700001111", kind="person",  # type: ignore[arg-type]
                           created_at=NOW, created_by="dealer", id=7)

    with pytest.raises(InvalidValue) as bad_phone:
        customer.edit(name="河南中原石化物流有限公司", phone="12", kind="company")
    unchanged = (customer.name, customer.phone, customer.kind)
    customer.edit(name=" 河南中原石化物流有限公司 ", phone="+86 0371-66881234", kind="company", city="郑州市")

    assert bad_phone.value.field == "phone" and unchanged == ("赵师傅", "13700001111", CustomerKind.PERSON)
    assert (customer.name, customer.phone, customer.kind, customer.city, customer.id) == (
        "河南中原石化物流有限公司", "0371-66881234", CustomerKind.COMPANY, "郑州市", 7)
