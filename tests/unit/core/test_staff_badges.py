"""Staff badges and the agents' status reports as use cases on the in-memory twins: one badge per
user, one user per badge, guard badges for guards only, the badge book keyed per device."""

import datetime as dt
import hashlib

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import identity
from dealercrm.domain.errors import (
    Conflict,
    IllegalTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
)
from dealercrm.domain.identity import (
    BadgePurpose,
    DeviceCredential,
    Principal,
    Role,
    User,
    badge_digest,
)

NOW = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
KEY = "dk_abc_secret"
SECRET = hashlib.sha256(KEY.encode()).hexdigest()


def clock() -> dt.datetime:
    return NOW


@pytest.fixture
def uows():  # type: ignore[no-untyped-def]
    factory = memory_uow_factory(clock=clock)
    store = factory.store  # type: ignore[attr-defined]
    for n, (name, role) in enumerate((("guard1", Role.GUARD), ("guard2", Role.GUARD), ("tech", Role.TECHNICAL),
                                      ("dealer", Role.DEALER)), start=10):
        store.users[n] = User(name, name.upper(), role, "x", dealer_id=7 if role is Role.DEALER else None, id=n)
    store.devices[99] = DeviceCredential("北门", "abc", SECRET, "北门", NOW, id=99)
    return factory


DEVICE = Principal(None, "device:北门", Role.KIOSK, device_id=99)


def test_a_guard_badge_is_enrolled_normalised_and_shipped_as_the_devices_keyed_digest(uows):
    answer = identity.enrol_badge(10, "04 a1 b2 c3", "guard", uows(ADMIN), clock)
    book = identity.badge_book(uows(DEVICE), clock)

    assert answer["badge"] == "****B2C3" and answer["purpose"] == "guard"
    assert uows.store.users[10].badge_uid == "04A1B2C3"
    assert book["badges"] == [{"digest": badge_digest(SECRET, "04A1B2C3"), "purpose": "guard", "user_id": 10,
                               "name": "GUARD1"}]
    assert badge_digest(SECRET, "04A1B2C3") != badge_digest("another-device", "04A1B2C3")


def test_a_badge_belongs_to_one_user_and_the_conflict_names_the_holder(uows):
    identity.enrol_badge(10, "04A1B2C3", "guard", uows(ADMIN), clock)

    with pytest.raises(Conflict) as taken:
        identity.enrol_badge(11, "04a1b2c3", "guard", uows(ADMIN), clock)

    assert taken.value.code == "badge.taken"
    assert taken.value.details["holder"]["username"] == "guard1"
    assert uows.store.users[11].badge_uid is None


def test_a_user_has_one_badge_until_it_is_revoked(uows):
    identity.enrol_badge(10, "04A1B2C3", "guard", uows(ADMIN), clock)

    with pytest.raises(IllegalTransition) as second:
        identity.enrol_badge(10, "0A0B0C0D", "guard", uows(ADMIN), clock)
    revoked = identity.revoke_badge(10, uows(ADMIN))
    again = identity.enrol_badge(10, "0A0B0C0D", "guard", uows(ADMIN), clock)

    assert second.value.code == "badge.user_has_badge"
    assert revoked == {"user_id": 10, "badge": "****B2C3", "revoked": True}
    assert again["badge"] == "****0C0D"


def test_guard_badges_are_for_guards_and_badges_for_staff_only(uows):
    with pytest.raises(InvalidValue) as not_guard:
        identity.enrol_badge(12, "04A1B2C3", "guard", uows(ADMIN), clock)
    with pytest.raises(InvalidValue) as dealer:
        identity.enrol_badge(13, "04A1B2C3", "maintenance", uows(ADMIN), clock)
    maintenance = identity.enrol_badge(12, "04A1B2C3", "maintenance", uows(ADMIN), clock)

    assert not_guard.value.code == "badge.guard_role_required"
    assert dealer.value.code == "badge.staff_only"
    assert maintenance["purpose"] == BadgePurpose.MAINTENANCE.value


def test_malformed_uids_unknown_purposes_and_unknown_users_are_refused(uows):
    with pytest.raises(InvalidValue) as uid:
        identity.enrol_badge(10, "04A1", "guard", uows(ADMIN), clock)
    with pytest.raises(InvalidValue) as purpose:
        identity.enrol_badge(10, "04A1B2C3", "boss", uows(ADMIN), clock)
    with pytest.raises(NotFound):
        identity.enrol_badge(404, "04A1B2C3", "guard", uows(ADMIN), clock)
    with pytest.raises(NotFound):
        identity.revoke_badge(404, uows(ADMIN))

    assert uid.value.field == "badge_uid"
    assert purpose.value.field == "purpose"


def test_only_admins_enrol_and_only_devices_read_the_book_or_report(uows):
    guard = Principal(10, "guard1", Role.GUARD)

    with pytest.raises(PermissionDenied):
        identity.enrol_badge(10, "04A1B2C3", "guard", uows(guard), clock)
    with pytest.raises(PermissionDenied):
        identity.badge_book(uows(ADMIN), clock)
    with pytest.raises(PermissionDenied):
        identity.record_device_status({}, uows(ADMIN), clock)


def test_a_deactivated_holders_badge_leaves_the_book_and_no_longer_names_a_guard(uows):
    identity.enrol_badge(10, "04A1B2C3", "guard", uows(ADMIN), clock)
    identity.deactivate_user(10, uows(ADMIN))

    book = identity.badge_book(uows(DEVICE), clock)
    uow = uows(DEVICE)
    with uow:
        guard = identity.guard_of_badge(badge_digest(SECRET, "04A1B2C3"), uow)

    assert book["badges"] == []
    assert guard is None


def test_the_guard_of_a_digest_is_the_enrolled_guard_and_maintenance_badges_name_nobody(uows):
    identity.enrol_badge(10, "04A1B2C3", "guard", uows(ADMIN), clock)
    identity.enrol_badge(12, "0A0B0C0D", "maintenance", uows(ADMIN), clock)

    uow = uows(DEVICE)
    with uow:
        guard = identity.guard_of_badge(badge_digest(SECRET, "04A1B2C3").upper(), uow)
        tech = identity.guard_of_badge(badge_digest(SECRET, "0A0B0C0D"), uow)

    assert guard is not None and guard.id == 10
    assert tech is None


def test_a_device_status_report_replaces_the_last_one(uows):
    identity.record_device_status({"state": "starting"}, uows(DEVICE), clock)

    answer = identity.record_device_status({"state": "running", "journal": {"pending": 2}}, uows(DEVICE), clock)

    assert answer == {"device_id": 99, "reported_at": NOW.isoformat()}
    assert uows.store.device_reports == {99: {"reported_at": NOW, "report": {"state": "running",
                                                                             "journal": {"pending": 2}}}}


def test_an_oversized_status_report_is_refused_on_its_field(uows):
    with pytest.raises(InvalidValue) as too_big:
        identity.record_device_status({"x": "y" * 40_000}, uows(DEVICE), clock)

    assert too_big.value.field == "report"
    assert uows.store.device_reports == {}


def test_a_guard_badge_stops_signing_in_when_its_holder_is_no_longer_a_guard(uows):
    identity.enrol_badge(10, "04A1B2C3", "guard", uows(ADMIN), clock)

    identity.change_role(10, Role.DISPATCH.value, (), uows(ADMIN))
    book = identity.badge_book(uows(DEVICE), clock)
    uow = uows(DEVICE)
    with uow:
        guard = identity.guard_of_badge(badge_digest(SECRET, "04A1B2C3"), uow)

    assert book["badges"] == []
    assert guard is None
    assert uows.store.users[10].badge_uid == "04A1B2C3"  # still held: the UID stays taken until revoked


def test_a_reactivated_user_is_active_again_and_reactivating_an_active_user_is_refused(uows):
    identity.deactivate_user(12, uows(ADMIN))

    identity.reactivate_user(12, uows(ADMIN))

    assert uows.store.users[12].is_active  # type: ignore[attr-defined]
    with pytest.raises(IllegalTransition):
        identity.reactivate_user(12, uows(ADMIN))
    with pytest.raises(PermissionDenied):
        identity.reactivate_user(12, uows(Principal(user_id=12, username="tech", role=Role.TECHNICAL)))
    with pytest.raises(NotFound):
        identity.reactivate_user(404, uows(ADMIN))
