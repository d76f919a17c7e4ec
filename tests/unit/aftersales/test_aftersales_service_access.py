"""The after-sales service's own rules, on a fake read side (no database): who may read at all,
a station seeing only its own station, 404 for what is not there, the customer context given to
staff and stations but never to a dealer, and the masking of other stations in that context."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application.access import ServiceScope
from dealercrm.application.services.aftersales import AftersalesService, hide_other_stations, warranty_check
from dealercrm.domain.aftersales import NO_WARRANTY, WarrantyState
from dealercrm.domain.errors import InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Vin

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
VIN = Vin.build("LZZ", "1CSVC", "T", "A", "000777").value
STAFF = Principal(1, "shouhou", Role.AFTER_SALES)
FINANCE = Principal(2, "caiwu", Role.FINANCE)
STATION_1 = Principal(3, "zhan1", Role.STATION, station_id=1)
DEALER_7 = Principal(4, "jxs7", Role.DEALER, dealer_id=7)
SALES = Principal(5, "xiaoshou", Role.SALES)


def clock() -> dt.datetime:
    return NOW


class FakeAftersalesQueries:
    """Rows in dicts, scoped the way the SQL read side scopes them."""

    def __init__(self) -> None:
        self.stations = {1: {"id": 1, "name": "郑州服务站"}, 2: {"id": 2, "name": "武汉服务站"}}
        self.requests = {10: {"id": 10, "vin": VIN, "customer_phone": "13912345678", "odometer_km": 1200,
                              "station_id": 1, "dealer_id": 7}}
        self.records = {20: {"id": 20, "station_id": 1}}
        self.claims = {30: {"id": 30, "station_id": 1}}
        self.reports: list[dict[str, Any]] = []

    @staticmethod
    def _admits(scope: ServiceScope, row: dict[str, Any]) -> bool:
        if scope.station_id is not None and row["station_id"] != scope.station_id:
            return False
        return scope.dealer_id is None or row.get("dealer_id") == scope.dealer_id

    def list_stations(self, scope: ServiceScope, **filters: Any) -> list[dict[str, Any]]:
        return [dict(s) for sid, s in self.stations.items() if scope.station_id in (None, sid)]

    def station(self, station_id: int) -> dict[str, Any] | None:
        row = self.stations.get(station_id)
        return dict(row) if row else None

    def station_quality(self, station_id: int) -> dict[str, Any]:
        return {"dispatched": 3}

    def policies(self) -> list[dict[str, Any]]:
        return [{"id": 1, "product_line": "tanker"}]

    def warranty(self, vin: str) -> dict[str, Any] | None:
        return None

    def customer_context(self, vin: str, phone: str | None, exclude_request_id: int | None = None
                         ) -> dict[str, Any]:
        return {"vehicle": None, "warranty": None, "other_vehicles": [],
                "previous_requests": [{"id": 8, "station_id": 1}, {"id": 9, "station_id": 2},
                                      {"id": 11, "station_id": None}]}

    def list_requests(self, scope: ServiceScope, **filters: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in self.requests.values() if self._admits(scope, r)]

    def request_detail(self, scope: ServiceScope, request_id: int) -> dict[str, Any] | None:
        row = self.requests.get(request_id)
        return dict(row) if row and self._admits(scope, row) else None

    def record_scoped(self, scope: ServiceScope, record_id: int) -> dict[str, Any] | None:
        row = self.records.get(record_id)
        return dict(row) if row and scope.dealer_id is None and self._admits(scope, row) else None

    def list_claims(self, scope: ServiceScope, **filters: Any) -> list[dict[str, Any]]:
        return [dict(c) for c in self.claims.values() if self._admits(scope, c)]

    def claim(self, scope: ServiceScope, claim_id: int) -> dict[str, Any] | None:
        row = self.claims.get(claim_id)
        return dict(row) if row and self._admits(scope, row) else None

    def settlement_statement(self, scope: ServiceScope, month: str, station_id: int | None = None
                             ) -> list[dict[str, Any]]:
        return [{"month": month, "station_id": 1}]

    def stock_report(self, scope: ServiceScope, **filters: Any) -> list[dict[str, Any]]:
        return [{"station_id": 1, "part_no": "FV-2301"}]

    def movements(self, scope: ServiceScope, station_id: int, **filters: Any) -> list[dict[str, Any]]:
        return [{"station_id": station_id, "delta": 2}]

    def parts(self) -> list[dict[str, Any]]:
        return [{"part_no": "FV-2301"}]

    def major_repairs(self, scope: ServiceScope) -> list[dict[str, Any]]:
        return [{"id": 20, "station_id": 1}]

    def repair_report(self, scope: ServiceScope, *, group_by: str, start: dt.datetime, end: dt.datetime,
                      **filters: Any) -> list[dict[str, Any]]:
        row = {"group_by": group_by, "start": start, "end": end}
        self.reports.append(row)
        return [row]


@pytest.fixture
def queries() -> FakeAftersalesQueries:
    return FakeAftersalesQueries()


@pytest.fixture
def svc(queries: FakeAftersalesQueries) -> AftersalesService:
    return AftersalesService(memory_uow_factory(clock=clock), clock, queries)


READS = {
    "list_stations": lambda s, p: s.list_stations(p),
    "station": lambda s, p: s.station(p, 1),
    "policies": lambda s, p: s.policies(p),
    "check_warranty": lambda s, p: s.check_warranty(p, VIN, None),
    "record": lambda s, p: s.record(p, 20),
    "major_repairs": lambda s, p: s.major_repairs(p),
    "repair_report": lambda s, p: s.repair_report(p, group_by="station", date_from=dt.date(2026, 3, 1),
                                                  date_to=dt.date(2026, 3, 31)),
    "list_claims": lambda s, p: s.list_claims(p),
    "claim": lambda s, p: s.claim(p, 30),
    "settlement": lambda s, p: s.settlement(p, "2026-03"),
    "parts": lambda s, p: s.parts(p),
    "stock_report": lambda s, p: s.stock_report(p),
    "movements": lambda s, p: s.movements(p, 1),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_a_dealer_may_not_read_after_sales_records(svc, read):
    with pytest.raises(PermissionDenied):
        READS[read](svc, DEALER_7)


@pytest.mark.parametrize("reader", [STAFF, FINANCE, STATION_1], ids=lambda p: p.role.value)
@pytest.mark.parametrize("read", sorted(READS))
def test_after_sales_staff_finance_and_the_station_read_after_sales_records(svc, read, reader):
    result = READS[read](svc, reader)

    assert result


def test_a_user_outside_after_sales_may_not_read_service_requests(svc):
    with pytest.raises(PermissionDenied):
        svc.list_requests(SALES)
    with pytest.raises(PermissionDenied):
        svc.request(SALES, 10)


def test_a_dealer_reads_service_requests_on_its_own_vehicles(svc):
    rows = svc.list_requests(DEALER_7)
    row = svc.request(DEALER_7, 10)

    assert [r["id"] for r in rows] == [10]
    assert row["id"] == 10


def test_finance_may_not_read_the_customer_context(svc):
    with pytest.raises(PermissionDenied):
        svc.customer_context(FINANCE, VIN, "13912345678")


def test_a_station_reads_the_customer_context(svc):
    ctx = svc.customer_context(STATION_1, VIN, "13912345678")

    assert [r["id"] for r in ctx["previous_requests"]] == [8, 9, 11]
    assert ctx["warranty_check"] == NO_WARRANTY


def test_a_station_does_not_see_another_station(svc):
    with pytest.raises(NotFound):
        svc.station(STATION_1, 2)
    with pytest.raises(NotFound):
        svc.movements(STATION_1, 2)


def test_a_station_sees_its_own_station_with_its_quality(svc):
    row = svc.station(STATION_1, 1)

    assert row["name"] == "郑州服务站"
    assert row["quality"] == {"dispatched": 3}


def test_staff_see_any_station(svc):
    row = svc.station(STAFF, 2)

    assert row["id"] == 2


def test_a_missing_station_request_record_or_claim_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.station(STAFF, 99)
    with pytest.raises(NotFound):
        svc.request(STAFF, 99)
    with pytest.raises(NotFound):
        svc.record(STAFF, 99)
    with pytest.raises(NotFound):
        svc.claim(STAFF, 99)


def test_a_request_out_of_the_callers_scope_is_not_found(svc):
    other_dealer = Principal(6, "jxs8", Role.DEALER, dealer_id=8)
    other_station = Principal(7, "zhan2", Role.STATION, station_id=2)

    with pytest.raises(NotFound):
        svc.request(other_dealer, 10)
    with pytest.raises(NotFound):
        svc.request(other_station, 10)


def test_a_dealer_reads_a_request_without_the_customer_context(svc):
    row = svc.request(DEALER_7, 10)

    assert "context" not in row


def test_staff_read_a_request_with_the_customer_context_and_its_warranty_check(svc):
    row = svc.request(STAFF, 10)

    assert [r["id"] for r in row["context"]["previous_requests"]] == [8, 9, 11]
    assert row["context"]["warranty_check"] == NO_WARRANTY


def test_a_request_read_without_context_has_none(svc):
    row = svc.request(STAFF, 10, with_context=False)

    assert "context" not in row


def test_a_station_does_not_learn_which_other_stations_served_the_customer(svc):
    row = svc.request(STATION_1, 10)
    ctx = svc.customer_context(STATION_1, VIN, None)

    assert [r["station_id"] for r in row["context"]["previous_requests"]] == [1, None, None]
    assert [r["station_id"] for r in ctx["previous_requests"]] == [1, None, None]


def test_after_sales_staff_see_every_station_that_served_the_customer(svc):
    row = svc.request(STAFF, 10)
    ctx = svc.customer_context(STAFF, VIN, None)

    assert [r["station_id"] for r in row["context"]["previous_requests"]] == [1, 2, None]
    assert [r["station_id"] for r in ctx["previous_requests"]] == [1, 2, None]


def test_the_masking_rule_hides_only_other_stations_from_a_station():
    ctx = {"previous_requests": [{"station_id": 1}, {"station_id": 2}]}

    masked = hide_other_stations(ctx, STATION_1)

    assert masked["previous_requests"] == [{"station_id": 1}, {"station_id": None}]


def test_a_repair_report_refuses_an_unknown_dimension_and_a_reversed_period(svc):
    with pytest.raises(InvalidValue) as unknown:
        svc.repair_report(STAFF, group_by="colour", date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31))
    with pytest.raises(InvalidValue) as reversed_period:
        svc.repair_report(STAFF, group_by="station", date_from=dt.date(2026, 3, 31), date_to=dt.date(2026, 3, 1))

    assert unknown.value.code == "aftersales.dimension_unknown"
    assert reversed_period.value.code == "aftersales.period_invalid"


def test_a_repair_report_covers_whole_beijing_days(svc, queries):
    svc.repair_report(STAFF, group_by="month", date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31))

    (asked,) = queries.reports
    assert asked["start"] == dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.UTC)
    assert asked["end"] == dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)


def test_a_settlement_refuses_a_malformed_month(svc):
    with pytest.raises(InvalidValue) as bad:
        svc.settlement(FINANCE, "2026-13")

    assert bad.value.code == "aftersales.month_invalid"


def test_a_stored_warranty_is_checked_on_the_beijing_day_with_the_odometer():
    row = {"vin": VIN, "product_line": "tanker", "customer_name": "张三", "customer_phone": "13912345678",
           "starts_on": dt.date(2025, 3, 10), "ends_on": dt.date(2027, 3, 9), "km_limit": 200_000}

    inside = warranty_check(row, dt.date(2026, 3, 10), 1200)
    over_km = warranty_check(row, dt.date(2026, 3, 10), 250_000)

    assert inside.state is WarrantyState.IN_WARRANTY
    assert over_km.state is not WarrantyState.IN_WARRANTY
