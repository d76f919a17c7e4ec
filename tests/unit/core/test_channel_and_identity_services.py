"""The access checks of ``ChannelService`` and ``IdentityService`` on in-memory twins (no database):
what a caller may not see answers 404, the user list is for admins only."""

import datetime as dt

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.identity import IdentityService
from dealercrm.domain.errors import NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from tests.fakes import PlainHasher

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
SALES_HUAZHONG = Principal(user_id=2, username="sales", role=Role.SALES, regions=("华中",))
DEALER_7 = Principal(user_id=3, username="hongda", role=Role.DEALER, dealer_id=7)
STATION = Principal(user_id=4, username="station", role=Role.STATION, station_id=1)


def clock() -> dt.datetime:
    return NOW


class NoTokens:
    def issue(self, principal: Principal) -> tuple[str, dt.datetime]:
        return f"token-{principal.user_id}", NOW

    def verify(self, token: str) -> dict[str, object]:
        return {"sub": token}


class DealerRows:
    """The dealer read side as rows in memory; remembers the scope each list was asked with."""

    def __init__(self) -> None:
        self.dealers = {7: {"id": 7, "region": "华中", "legal_name": "宏达"},
                        8: {"id": 8, "region": "西南", "legal_name": "蜀通"}}
        self.users = [{"id": 1, "username": "admin"}, {"id": 3, "username": "hongda"}]
        self.list_calls: list[dict[str, object]] = []

    def list_dealers(self, **kwargs: object) -> list[dict[str, object]]:
        self.list_calls.append(kwargs)
        return list(self.dealers.values())

    def dealer_detail(self, dealer_id: int) -> dict[str, object] | None:
        return self.dealers.get(dealer_id)

    def audit_history(self, entity: str, entity_id: int, limit: int = 200) -> list[dict[str, object]]:
        return [{"entity": entity, "entity_id": entity_id, "action": "registered"}]

    def list_users(self, *, after_id: int | None, limit: int, **filters: object) -> list[dict[str, object]]:
        return self.users[:limit]

    def user_status(self, user_id: int) -> dict[str, object] | None:
        return None

    def ping(self) -> None:
        return None


@pytest.fixture
def rows() -> DealerRows:
    return DealerRows()


@pytest.fixture
def channel(rows: DealerRows) -> ChannelService:
    return ChannelService(memory_uow_factory(), clock, PlainHasher(), rows)


@pytest.fixture
def identity(rows: DealerRows) -> IdentityService:
    return IdentityService(memory_uow_factory(), clock, PlainHasher(), NoTokens(), rows)


def test_a_dealer_user_reads_its_own_dealer(channel):
    row = channel.dealer_detail(DEALER_7, 7)

    assert row["legal_name"] == "宏达"


def test_a_dealer_user_cannot_read_another_dealer_nor_its_history(channel):
    with pytest.raises(NotFound) as detail:
        channel.dealer_detail(DEALER_7, 8)
    with pytest.raises(NotFound) as history:
        channel.audit_history(DEALER_7, 8)

    assert detail.value.code == history.value.code == "dealer.not_found"


def test_regional_sales_see_only_the_dealers_of_their_regions(channel):
    assert channel.dealer_detail(SALES_HUAZHONG, 7)["region"] == "华中"
    with pytest.raises(NotFound):
        channel.dealer_detail(SALES_HUAZHONG, 8)


def test_an_unknown_dealer_answers_the_same_404_as_a_hidden_one(channel):
    with pytest.raises(NotFound) as err:
        channel.dealer_detail(ADMIN, 999)

    assert err.value.code == "dealer.not_found"


def test_the_dealer_list_is_asked_with_the_callers_scope(channel, rows):
    channel.list_dealers(DEALER_7)
    channel.list_dealers(SALES_HUAZHONG, status="active")

    assert [(c["dealer_id"], c["regions"]) for c in rows.list_calls] == [(7, None), (None, ("华中",))]
    assert rows.list_calls[1]["status"] == "active"


def test_a_station_user_lists_no_dealers_without_asking_the_database(channel, rows):
    listed = channel.list_dealers(STATION)

    assert listed == []
    assert rows.list_calls == []


def test_only_admins_list_users(identity):
    assert [u["username"] for u in identity.list_users(ADMIN)] == ["admin", "hongda"]
    for caller in (SALES_HUAZHONG, DEALER_7):
        with pytest.raises(PermissionDenied):
            identity.list_users(caller)
