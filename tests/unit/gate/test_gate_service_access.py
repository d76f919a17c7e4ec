"""The read checks of ``GateService`` on an in-memory read side (no database): vehicles, letters,
passes and shipments are filtered by the caller's dealer scope, and what it does not admit is 404."""

import datetime as dt

import pytest

from dealercrm.application.access import DealerScope
from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.services.gate import GateService
from dealercrm.domain.errors import NotFound
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
SALES_HUAZHONG = Principal(user_id=2, username="sales", role=Role.SALES, regions=("华中",))
DEALER_7 = Principal(user_id=3, username="hongda", role=Role.DEALER, dealer_id=7)
STATION = Principal(user_id=4, username="station", role=Role.STATION, station_id=1)
VIN_7, VIN_8 = "LJ1234567890ABCD7", "LJ1234567890ABCD8"


def clock() -> dt.datetime:
    return NOW


def no_unit_of_work(actor: Principal):
    raise AssertionError("a read opens no unit of work")


class Keys:
    signer = None
    verifier = None
    public_keys = ({"kid": "k1", "public_key": "AAAA", "current": True},)
    id_key = b"0123456789abcdef0123456789abcdef"


class NoRenderer:
    def render(self, document, title: str) -> bytes:
        raise AssertionError("nothing is printed here")


class AllowRelease:
    def check_release(self, uow, dealer_id, contract_no, vins, *, override_reason=None):
        return None


def _row(row_id: int, dealer_id: int, region: str, **extra: object) -> dict[str, object]:
    return {"id": row_id, "dealer_id": dealer_id, "region": region, **extra}


class GateRows:
    """The gate read side in memory, filtered by ``DealerScope.admits`` as the SQL is."""

    def __init__(self) -> None:
        self.vehicles = {VIN_7: _row(1, 7, "华中", vin=VIN_7), VIN_8: _row(2, 8, "西南", vin=VIN_8)}
        self.authorizations = {1: _row(1, 7, "华中"), 2: _row(2, 8, "西南")}
        self.passes = {1: _row(1, 7, "华中", pass_no="CM-1"), 2: _row(2, 8, "西南", pass_no="CM-2")}
        self.shipments = {1: _row(1, 7, "华中"), 2: _row(2, 8, "西南")}
        self.book_asked: list[dt.datetime] = []

    @staticmethod
    def _seen(scope: DealerScope, row: dict[str, object] | None) -> dict[str, object] | None:
        return row if row is not None and scope.admits(row["dealer_id"], row["region"]) else None

    def _all(self, scope: DealerScope, rows: dict) -> list[dict[str, object]]:
        return [r for r in rows.values() if self._seen(scope, r)]

    def list_vehicles(self, scope: DealerScope, **filters: object) -> list[dict[str, object]]:
        return self._all(scope, self.vehicles)

    def vehicle_detail(self, scope: DealerScope, vin: str) -> dict[str, object] | None:
        return self._seen(scope, self.vehicles.get(vin))

    def list_authorizations(self, scope: DealerScope, **filters: object) -> list[dict[str, object]]:
        return self._all(scope, self.authorizations)

    def authorization_detail(self, scope: DealerScope, authorization_id: int) -> dict[str, object] | None:
        return self._seen(scope, self.authorizations.get(authorization_id))

    def pass_book(self, valid_after: dt.datetime, limit: int = 20_000) -> list[dict[str, object]]:
        self.book_asked.append(valid_after)
        return [{"pass_no": "CM-1", "status": "voided", "qr_payload": None, "person_name": "张伟"}]

    def list_passes(self, scope: DealerScope, **filters: object) -> list[dict[str, object]]:
        return self._all(scope, self.passes)

    def pass_detail(self, scope: DealerScope, gate_pass_id: int) -> dict[str, object] | None:
        return self._seen(scope, self.passes.get(gate_pass_id))

    def list_shipments(self, scope: DealerScope, **filters: object) -> list[dict[str, object]]:
        return self._all(scope, self.shipments)

    def shipment_detail(self, scope: DealerScope, shipment_id: int) -> dict[str, object] | None:
        return self._seen(scope, self.shipments.get(shipment_id))


@pytest.fixture
def rows() -> GateRows:
    return GateRows()


@pytest.fixture
def gate(rows: GateRows) -> GateService:
    return GateService(no_unit_of_work, clock, rows, Keys(), AllowRelease(), NoRenderer(), "http://portal.test")


def test_a_dealer_user_reads_its_own_vehicle_by_a_vin_typed_loosely(gate):
    row = gate.vehicle(DEALER_7, f"  {VIN_7.lower()} ")

    assert row["vin"] == VIN_7


def test_another_dealers_records_are_404_with_their_own_codes(gate):
    reads = [(lambda: gate.vehicle(DEALER_7, VIN_8), "vehicle.not_found"),
             (lambda: gate.authorization(DEALER_7, 2), "pickup_authorization.not_found"),
             (lambda: gate.gate_pass(DEALER_7, 2), "gate_pass.not_found"),
             (lambda: gate.shipment(DEALER_7, 2), "shipment.not_found")]
    for read, code in reads:
        with pytest.raises(NotFound) as err:
            read()
        assert err.value.code == code


def test_regional_staff_see_their_regions_and_admins_see_all(gate):
    assert [r["id"] for r in gate.list_passes(SALES_HUAZHONG)] == [1]
    assert [r["id"] for r in gate.list_shipments(ADMIN)] == [1, 2]
    assert gate.authorization(ADMIN, 2)["dealer_id"] == 8


def test_a_station_user_sees_no_vehicles_and_no_passes(gate):
    assert gate.list_vehicles(STATION) == []
    assert gate.list_authorizations(STATION) == []
    with pytest.raises(NotFound):
        gate.gate_pass(STATION, 1)


def test_the_pass_book_covers_passes_that_ended_within_the_grace_hour(gate, rows):
    book = gate.pass_book()

    assert rows.book_asked == [NOW - dt.timedelta(hours=1)]
    assert book["as_of"] == NOW.isoformat()
    assert book["passes"] == [{"pass_no": "CM-1", "status": "voided", "qr_sha256": None, "holder": "张*"}]


def test_the_verification_keys_are_copies_of_the_key_ring(gate):
    keys = gate.verification_keys()
    keys[0]["kid"] = "changed"

    assert gate.verification_keys() == [{"kid": "k1", "public_key": "AAAA", "current": True}]


def test_without_a_read_side_the_reads_refuse_with_a_typed_error():
    gate = GateService(no_unit_of_work, clock, None, Keys(), AllowRelease(), NoRenderer(), "http://portal.test")

    with pytest.raises(ReadModelUnavailable):
        gate.list_vehicles(ADMIN)
