"""Sales regions (大区) kept by the administrators: the rules of a region (unique names, one active
region per province, a used region keeps its name and stays active, stale versions refused) and
the dealer rule that reads the active regions from the application (in memory)."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from dealercrm.adapters.memory import SEED_REGIONS, memory_uow_factory
from dealercrm.application import channel as ch
from dealercrm.application import identity as idn
from dealercrm.application.services.regions import RegionIn, RegionsService
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, InvalidValue, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.regions import Region, RegionUse, require_known_region

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
SALES = Principal(user_id=2, username="sales", role=Role.SALES)
DEALER = Principal(user_id=3, username="d", role=Role.DEALER, dealer_id=1)


class PlainHasher:
    def hash(self, password: str) -> str:
        return "h:" + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "h:" + password


def region(**kw) -> Region:
    args = dict(code="xinjiang", name="新疆", sort_order=80, provinces=["新疆"], now=NOW)
    return Region.define(**{**args, **kw})


@pytest.fixture
def setup():
    factory = memory_uow_factory()
    return RegionsService(factory, lambda: NOW), factory


def test_the_known_regions_are_what_the_caller_passes_in():
    assert require_known_region("华中", ["华北", "华中"]) == "华中"
    with pytest.raises(InvalidValue) as err:
        require_known_region("火星", ["华北", "华中"])
    assert (err.value.field, err.value.code, err.value.message) == ("region", "region.unknown", "大区须为以下之一：华北、华中")


@pytest.mark.parametrize(("kw", "field"), [({"code": "X1"}, "code"), ({"name": " "}, "name"),
                                           ({"name": "华北，华中"}, "name"), ({"name": "一二三四五六七八九"}, "name"),
                                           ({"sort_order": -1}, "sort_order"),
                                           ({"provinces": ["新疆", "新疆"]}, "provinces")])
def test_a_bad_value_names_its_field(kw, field):
    with pytest.raises(InvalidValue) as err:
        region(**kw)
    assert err.value.field == field


def test_a_used_region_keeps_its_name_and_stays_active_but_may_be_reordered():
    r = region()
    used = RegionUse(dealers=2, users=1)

    with pytest.raises(BusinessRuleViolation) as rename:
        r.edit(name="新疆区", sort_order=80, provinces=["新疆"], use=used, now=NOW)
    with pytest.raises(BusinessRuleViolation) as off:
        r.deactivate(used, NOW)
    changed = r.edit(name="新疆", sort_order=5, provinces=["新疆", "西藏"], use=used, now=NOW)

    assert rename.value.details["field"] == "name" and "经销商2个、用户1个" in rename.value.message
    assert off.value.details["field"] == "active" and r.active
    assert changed and (r.sort_order, r.provinces, r.version) == (5, ["新疆", "西藏"], 2)


def test_a_stale_version_is_refused_with_the_current_region():
    r = region()
    r.deactivate(RegionUse(), NOW)

    with pytest.raises(Conflict) as err:
        r.check_version(1)

    assert err.value.code == "region.stale" and err.value.details["current"]["active"] is False


def test_admins_add_regions_once_per_form_and_names_stay_unique(setup):
    regions, _ = setup
    cmd = RegionIn(name="港澳", sort_order=80, provinces=("香港", "澳门"), code="hkmo")

    first = regions.create_region_once(ADMIN, cmd, form_token="t" * 20)
    again = regions.create_region_once(ADMIN, cmd, form_token="t" * 20)
    with pytest.raises(Conflict) as taken:
        regions.create_region(ADMIN, RegionIn(name="华北", sort_order=1, provinces=(), code="north2"))
    with pytest.raises(InvalidValue) as province:
        regions.create_region(ADMIN, RegionIn(name="北疆", sort_order=1, provinces=("新疆",), code="beijiang"))
    with pytest.raises(PermissionDenied):
        regions.create_region(SALES, RegionIn(name="北疆", sort_order=1, provinces=(), code="beijiang"))

    assert first["id"] == again["id"]
    assert regions.active_names() == [name for _, name, _ in SEED_REGIONS] + ["港澳"]
    assert taken.value.details["field"] == "name"
    assert (province.value.field, province.value.code) == ("provinces", "region.province_taken")
    assert province.value.message == "新疆已属于大区西北"
    with pytest.raises(PermissionDenied):
        regions.list_regions(DEALER)


def test_a_deactivated_region_is_no_longer_a_dealers_region(setup):
    regions, factory = setup
    added = regions.create_region(ADMIN, RegionIn(name="港澳", sort_order=80, provinces=(), code="hkmo"))
    regions.set_active(ADMIN, added["id"], False, version=added["version"])
    registration = ch.RegisterDealer(
        legal_name="香港天山专用车有限公司", uscc="91350100M000100Y43", region="港澳",
        address=ch.AddressIn("香港", "香港", "皇后大道1号"),
        contact=ch.ContactIn("王五", "总经理", "13800138000", kind="management"),
        applicant_username="tianshan", applicant_password="Tianshan2026ok")

    with pytest.raises(InvalidValue) as err:
        ch.register_dealer(registration, factory(ADMIN), lambda: NOW, PlainHasher())
    with pytest.raises(Conflict) as stale:
        regions.set_active(ADMIN, added["id"], True, version=added["version"])
    back = regions.set_active(ADMIN, added["id"], True, version=added["version"] + 1)

    assert (err.value.field, err.value.code) == ("region", "region.unknown") and "港澳" not in err.value.message
    assert stale.value.code == "region.stale"
    assert back["active"] and ch.register_dealer(registration, factory(ADMIN), lambda: NOW, PlainHasher()).dealer_id


def test_a_region_a_dealer_names_cannot_be_deactivated_or_renamed(setup):
    regions, factory = setup
    ch.register_dealer(ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc="91350100M000100Y43", region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经三路1号"),
        contact=ch.ContactIn("张三", "总经理", "13800138000", kind="management"),
        applicant_username="hongda", applicant_password="Hongda2026ok"), factory(ADMIN), lambda: NOW, PlainHasher())
    central = next(r for r in regions.list_regions(ADMIN) if r["name"] == "华中")

    with pytest.raises(BusinessRuleViolation) as off:
        regions.set_active(ADMIN, central["id"], False, version=central["version"])
    with pytest.raises(BusinessRuleViolation) as rename:
        regions.edit_region(ADMIN, central["id"], RegionIn(name="华中区", sort_order=40, provinces=()),
                            version=central["version"])

    assert "经销商1个" in off.value.message and rename.value.details["field"] == "name"
    assert regions.region(SALES, central["id"])["active"] is True


def test_a_staff_members_regions_are_among_the_active_ones(setup):
    _, factory = setup
    cmd = idn.CreateUser("lisi", "李四", "region_manager", "Lisi2026okay", regions=("华中", "火星"))

    with pytest.raises(InvalidValue) as err:
        idn.create_user(cmd, factory(ADMIN), lambda: NOW, PlainHasher())
    user_id = idn.create_user(attrs.evolve(cmd, regions=("华中",)), factory(ADMIN), lambda: NOW, PlainHasher())
    with pytest.raises(InvalidValue):
        idn.change_role(user_id, "region_manager", ("华南", "火星"), factory(ADMIN))

    assert (err.value.field, err.value.code) == ("regions", "region.unknown")
