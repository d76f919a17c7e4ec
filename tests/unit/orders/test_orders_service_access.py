"""The read checks of ``OrdersService`` on an in-memory read side (no database): another dealer's
order is 404, dealers see only published templates, station users see no catalog."""

import datetime as dt

import pytest

from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain.errors import InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
SALES_XINAN = Principal(user_id=2, username="sales", role=Role.SALES, regions=("西南",))
DEALER_7 = Principal(user_id=3, username="hongda", role=Role.DEALER, dealer_id=7)
STATION = Principal(user_id=4, username="station", role=Role.STATION, station_id=1)


def clock() -> dt.datetime:
    return NOW


def no_unit_of_work(actor: Principal):
    raise AssertionError("a read opens no unit of work")


class OrderRows:
    """The catalog and order read side in memory; remembers the scope each list was asked with."""

    def __init__(self) -> None:
        self.orders = {1: {"id": 1, "dealer_id": 7, "region": "华中"}, 2: {"id": 2, "dealer_id": 8, "region": "西南"}}
        self.templates = {
            1: {"id": 1, "status": "active", "published": {"version": 1}, "draft": {"x": 1},
                "has_unpublished_changes": True},
            2: {"id": 2, "status": "draft", "published": None, "draft": {"x": 1}, "has_unpublished_changes": True},
        }
        self.asked: list[tuple[str, dict[str, object]]] = []

    def list_orders(self, **kwargs: object) -> list[dict[str, object]]:
        self.asked.append(("orders", kwargs))
        return []

    def order_detail(self, order_id: int) -> dict[str, object] | None:
        return self.orders.get(order_id)

    def order_scope(self, order_id: int) -> tuple[int, str] | None:
        row = self.orders.get(order_id)
        return (row["dealer_id"], row["region"]) if row else None

    def timeline(self, order_id: int) -> list[dict[str, object]]:
        return [{"order_id": order_id, "to_state": "submitted"}]

    def list_templates(self, *, product_line: str | None, published_only: bool) -> list[dict[str, object]]:
        self.asked.append(("templates", {"published_only": published_only}))
        return []

    def template_detail(self, template_id: int) -> dict[str, object] | None:
        return self.templates.get(template_id)

    def template_version(self, template_id: int, version: int) -> dict[str, object] | None:
        return None

    def list_price_tiers(self, **kwargs: object) -> list[dict[str, object]]:
        self.asked.append(("tiers", kwargs))
        return []


@pytest.fixture
def rows() -> OrderRows:
    return OrderRows()


@pytest.fixture
def orders(rows: OrderRows) -> OrdersService:
    return OrdersService(no_unit_of_work, clock, rows)


def test_a_dealer_user_reads_its_own_order_and_its_timeline(orders):
    assert orders.detail(DEALER_7, 1)["dealer_id"] == 7
    assert orders.timeline(DEALER_7, 1) == [{"order_id": 1, "to_state": "submitted"}]


def test_another_dealers_order_and_its_timeline_are_404(orders):
    for read in (lambda: orders.detail(DEALER_7, 2), lambda: orders.timeline(DEALER_7, 2),
                 lambda: orders.detail(SALES_XINAN, 1), lambda: orders.detail(ADMIN, 999)):
        with pytest.raises(NotFound) as err:
            read()
        assert err.value.code == "order.not_found"


def test_the_order_list_is_asked_with_the_callers_scope_and_refuses_unknown_filters(orders, rows):
    orders.list_orders(SALES_XINAN, {"states": ["submitted"]})
    with pytest.raises(InvalidValue) as err:
        orders.list_orders(ADMIN, {"colour": "red"})

    assert [(kw["dealer_id"], kw["regions"]) for _, kw in rows.asked] == [(None, ("西南",))]
    assert err.value.code == "order.filter_unknown"


def test_a_dealer_sees_only_published_templates_without_the_draft(orders, rows):
    shown = orders.template_detail(DEALER_7, 1)
    with pytest.raises(NotFound):
        orders.template_detail(DEALER_7, 2)
    orders.list_templates(DEALER_7)

    assert shown["draft"] is None and shown["has_unpublished_changes"] is None
    assert orders.template_detail(ADMIN, 2)["draft"] == {"x": 1}
    assert rows.asked == [("templates", {"published_only": True})]


def test_a_station_user_sees_no_catalog_and_no_price_tiers(orders, rows):
    assert orders.list_templates(STATION) == []
    assert orders.list_price_tiers(STATION) == []
    with pytest.raises(NotFound):
        orders.template_detail(STATION, 1)

    assert rows.asked == []


def test_price_tiers_are_asked_within_the_dealers_own_scope(orders, rows):
    orders.list_price_tiers(DEALER_7, dealer_id=8)

    assert rows.asked == [("tiers", {"dealer_id": 7, "regions": None, "filter_dealer_id": 8})]


def test_without_a_read_side_the_reads_refuse_with_a_typed_error():
    orders = OrdersService(no_unit_of_work, clock, None)

    with pytest.raises(ReadModelUnavailable):
        orders.detail(ADMIN, 1)
