"""The dealer-stock service's own rules, on a fake read side (no database): who may read stock,
a dealer id outside the caller's scope being 404, a missing sale being 404, and the export
formats."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest

from dealercrm.adapters.documents.tables import CsvTableWriter, XlsxTableWriter
from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application.access import DealerScope
from dealercrm.application.exports import Exporter
from dealercrm.application.gate import IdDigester
from dealercrm.application.services.stock import STOCK_TABLE, StockService
from dealercrm.domain.dealer_stock import AgeingPolicy
from dealercrm.domain.errors import InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
DEALER_7 = Principal(1, "jxs7", Role.DEALER, dealer_id=7)
EAST_SALES = Principal(2, "huadong", Role.SALES, regions=("华东",))
ADMIN = Principal(3, "admin", Role.ADMIN)
AFTER_SALES = Principal(4, "shouhou", Role.AFTER_SALES)
STATION = Principal(5, "zhan1", Role.STATION, station_id=1)


def clock() -> dt.datetime:
    return NOW


def _vehicle(vin: str, dealer_id: int, region: str) -> dict[str, Any]:
    row: dict[str, Any] = {c.key: None for c in STOCK_TABLE.columns}
    row.update(vin=vin, dealer_id=dealer_id, region=region, stock_in_at=dt.datetime(2026, 11, 1, 1, 30, tzinfo=dt.UTC),
               days_in_stock=21)
    return row


class FakeStockQueries:
    """Vehicles and sales in lists, scoped the way the SQL read side scopes them."""

    def __init__(self) -> None:
        self.regions = {7: "华东", 8: "华中"}
        self.vehicles = [_vehicle("VIN-OF-DEALER-7", 7, "华东"), _vehicle("VIN-OF-DEALER-8", 8, "华中")]
        self.sales = [{"id": 1, "dealer_id": 7, "region": "华东"}, {"id": 2, "dealer_id": 8, "region": "华中"}]

    def _visible(self, scope: DealerScope, rows: list[dict[str, Any]], dealer_id: int | None
                 ) -> list[dict[str, Any]]:
        return [dict(r) for r in rows if scope.admits(r["dealer_id"], r["region"])
                and dealer_id in (None, r["dealer_id"])]

    def ageing_policy(self) -> AgeingPolicy:
        return AgeingPolicy()

    def dealer_region(self, dealer_id: int) -> str | None:
        return self.regions.get(dealer_id)

    def list_stock(self, scope: DealerScope, now: dt.datetime, **filters: Any) -> list[dict[str, Any]]:
        return self._visible(scope, self.vehicles, filters.get("dealer_id"))

    def iter_stock(self, scope: DealerScope, now: dt.datetime, *, max_rows: int, **filters: Any
                   ) -> Iterator[dict[str, Any]]:
        return iter(self._visible(scope, self.vehicles, filters.get("dealer_id"))[:max_rows])

    def summary(self, scope: DealerScope, now: dt.datetime, *, dealer_id: int | None = None,
                region: str | None = None) -> list[dict[str, Any]]:
        return [{"dealer_id": r["dealer_id"], "units": 1} for r in self._visible(scope, self.vehicles, dealer_id)]

    def movements(self, scope: DealerScope, since: dt.datetime, until: dt.datetime, **filters: Any
                  ) -> Iterator[tuple[dt.datetime, str, str]]:
        return iter([])

    def list_sales(self, scope: DealerScope, **filters: Any) -> list[dict[str, Any]]:
        return self._visible(scope, self.sales, filters.get("dealer_id"))

    def sale_detail(self, scope: DealerScope, sale_id: int) -> dict[str, Any] | None:
        rows = [r for r in self._visible(scope, self.sales, None) if r["id"] == sale_id]
        return rows[0] if rows else None


@pytest.fixture
def svc() -> StockService:
    return StockService(memory_uow_factory(clock=clock), clock, FakeStockQueries(), IdDigester(b"k" * 32),
                        Exporter({"xlsx": XlsxTableWriter(), "csv": CsvTableWriter()}, clock))


READS = {
    "list_stock": lambda s, p: s.list_stock(p),
    "export_stock": lambda s, p: s.export_stock(p, "csv").read(),
    "summary": lambda s, p: s.summary(p),
    "statistics": lambda s, p: s.statistics(p, "month", dt.date(2026, 1, 1), dt.date(2026, 11, 30)),
    "list_sales": lambda s, p: s.list_sales(p),
    "sale": lambda s, p: s.sale(p, 1),
}


@pytest.mark.parametrize("caller", [AFTER_SALES, STATION], ids=lambda p: p.role.value)
@pytest.mark.parametrize("read", sorted(READS))
def test_roles_outside_the_stock_readers_may_not_read_stock(svc, read, caller):
    with pytest.raises(PermissionDenied):
        READS[read](svc, caller)


@pytest.mark.parametrize("caller", [DEALER_7, EAST_SALES, ADMIN], ids=lambda p: p.role.value)
@pytest.mark.parametrize("read", sorted(READS))
def test_stock_readers_read_stock(svc, read, caller):
    result = READS[read](svc, caller)

    assert result


def test_a_dealer_asking_for_another_dealers_stock_is_told_it_does_not_exist(svc):
    with pytest.raises(NotFound):
        svc.list_stock(DEALER_7, dealer_id=8)
    with pytest.raises(NotFound):
        svc.summary(DEALER_7, dealer_id=8)
    with pytest.raises(NotFound):
        svc.list_sales(DEALER_7, dealer_id=8)


def test_a_dealer_reads_its_own_stock_and_nothing_else(svc):
    rows = svc.list_stock(DEALER_7, dealer_id=7)
    unfiltered = svc.list_stock(DEALER_7)

    assert [r["vin"] for r in rows] == ["VIN-OF-DEALER-7"]
    assert [r["vin"] for r in unfiltered] == ["VIN-OF-DEALER-7"]


def test_regional_sales_asking_for_a_dealer_outside_their_regions_is_told_it_does_not_exist(svc):
    with pytest.raises(NotFound):
        svc.list_stock(EAST_SALES, dealer_id=8)


def test_regional_sales_read_a_dealer_in_their_region(svc):
    rows = svc.list_stock(EAST_SALES, dealer_id=7)

    assert [r["dealer_id"] for r in rows] == [7]


def test_a_dealer_id_of_no_dealer_is_not_found_even_for_an_administrator(svc):
    with pytest.raises(NotFound):
        svc.list_stock(ADMIN, dealer_id=99)


def test_a_sale_out_of_scope_or_missing_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.sale(DEALER_7, 2)
    with pytest.raises(NotFound):
        svc.sale(ADMIN, 99)


def test_a_dealer_reads_its_own_sale(svc):
    row = svc.sale(DEALER_7, 1)

    assert row["dealer_id"] == 7


def test_an_export_in_an_unknown_format_is_refused(svc):
    with pytest.raises(InvalidValue) as bad:
        svc.export_stock(ADMIN, "pdf")

    assert bad.value.code == "export.format_unknown"


def test_a_csv_export_has_a_bom_the_chinese_header_and_beijing_times(svc):
    file = svc.export_stock(DEALER_7, "csv")

    content = file.read()
    text = content.decode("utf-8-sig").splitlines()
    assert content.startswith(b"\xef\xbb\xbf")
    assert (file.filename, file.media_type) == ("stock-20261122-1000.csv", "text/csv; charset=utf-8")
    assert text[0].split(",")[0] == "车架号"
    assert len(text) == 2
    assert "2026-11-01 09:30" in text[1]


def test_an_xlsx_export_has_typed_cells_under_a_frozen_header(svc):
    file = svc.export_stock(ADMIN, "xlsx")

    book = openpyxl.load_workbook(io.BytesIO(file.read()))
    sheet = book.active
    assert file.filename == "stock-20261122-1000.xlsx"
    assert file.media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert (sheet.title, sheet["A1"].value, sheet.freeze_panes) == ("库存", "车架号", "A2")
    assert [sheet.cell(r, 1).value for r in (2, 3)] == ["VIN-OF-DEALER-7", "VIN-OF-DEALER-8"]
    assert sheet["M2"].value == dt.datetime(2026, 11, 1, 9, 30)
