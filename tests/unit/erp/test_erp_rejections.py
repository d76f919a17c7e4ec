"""Resolving a rejected ERP event (domain and use case, with a fake unit of work) and the list
filter's checks and Beijing-day arithmetic."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.application.erp_rejections import RejectionFilter, resolve_rejected_event
from dealercrm.domain.erp_rejections import AlreadyResolved, ErpRejection, RejectionStatus
from dealercrm.domain.errors import InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 5, 2, 3, 0, tzinfo=dt.UTC)


def rejection(**kw) -> ErpRejection:
    base = dict(event_id="ev-1", seq=1, type="status_changed", code="erp.unknown_tracking_no",
                reason="未知的内部流转单号：ZZ-1", at=NOW - dt.timedelta(hours=1), tracking_no="ZZ-1", id=7)
    return ErpRejection(**{**base, **kw})


class FakeRejections:
    def __init__(self, *items: ErpRejection) -> None:
        self.items = {r.id: r for r in items}

    def get(self, rejection_id: int) -> ErpRejection | None:
        return self.items.get(rejection_id)


class FakeUnitOfWork:
    def __init__(self, actor: Principal, *items: ErpRejection) -> None:
        self.actor = actor
        self.erp_rejections = FakeRejections(*items)
        self.committed = False

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def commit(self) -> None:
        self.committed = True


def staff(role: Role = Role.PRODUCTION, name: str = "wang") -> Principal:
    return Principal(user_id=3, username=name, role=role)


def test_resolving_an_open_event_records_who_when_and_the_trimmed_note():
    r = rejection()

    r.resolve("wang", "  已在ERP补录  ", NOW)

    assert (r.status, r.resolved_by, r.resolved_at, r.resolution_note) == (
        RejectionStatus.RESOLVED, "wang", NOW, "已在ERP补录")


def test_resolving_twice_is_refused_with_the_standing_resolution():
    r = rejection()
    r.resolve("wang", "已处理", NOW)

    with pytest.raises(AlreadyResolved) as refused:
        r.resolve("li", "再处理一次", NOW + dt.timedelta(minutes=5))

    assert refused.value.code == "erp_rejected.already_resolved"
    assert refused.value.current_state == "resolved"
    assert refused.value.details["resolved_by"] == "wang"
    assert refused.value.details["resolution_note"] == "已处理"
    assert refused.value.details["resolved_at"] == NOW.isoformat()
    assert (r.resolved_by, r.resolution_note) == ("wang", "已处理")


@pytest.mark.parametrize("note", ["", "   ", None, "长" * 501])
def test_a_blank_or_overlong_note_is_refused_naming_the_note(note):
    r = rejection()

    with pytest.raises(InvalidValue) as refused:
        r.resolve("wang", note, NOW)

    assert refused.value.field == "note"
    assert r.status is RejectionStatus.OPEN


def test_the_use_case_commits_the_resolution_of_the_actor():
    r = rejection()
    uow = FakeUnitOfWork(staff(Role.DISPATCH, "zhao"), r)

    done = resolve_rejected_event(7, "已核对", uow, lambda: NOW)

    assert uow.committed
    assert (done.id, done.status, done.resolved_by, done.resolved_at, done.resolution_note) == (
        7, "resolved", "zhao", NOW, "已核对")
    assert r.resolved_by == "zhao"


@pytest.mark.parametrize(("actor", "rejection_id", "error"), [
    (staff(Role.SALES), 7, PermissionDenied),
    (Principal(user_id=9, username="hongda", role=Role.DEALER, dealer_id=1), 7, PermissionDenied),
    (staff(Role.FINANCE), 8, NotFound),
    (staff(Role.FINANCE), 2**70, NotFound),
])
def test_the_use_case_refuses_other_roles_and_unknown_ids_without_committing(actor, rejection_id, error):
    uow = FakeUnitOfWork(actor, rejection())

    with pytest.raises(error):
        resolve_rejected_event(rejection_id, "看过了", uow, lambda: NOW)

    assert not uow.committed


def test_beijing_days_become_a_half_open_utc_range():
    flt = RejectionFilter(status="all", code="erp.status_regression", date_from=dt.date(2026, 5, 2),
                          date_to=dt.date(2026, 5, 2))

    args = flt.query_args()

    assert args == {"status": None, "code": "erp.status_regression", "tracking_no": None,
                    "at_from": dt.datetime(2026, 5, 1, 16, 0, tzinfo=dt.UTC),
                    "at_before": dt.datetime(2026, 5, 2, 16, 0, tzinfo=dt.UTC)}


@pytest.mark.parametrize(("flt", "field"), [
    (RejectionFilter(status="closed"), "status"),
    (RejectionFilter(date_from=dt.date(2026, 5, 3), date_to=dt.date(2026, 5, 1)), "to"),
])
def test_a_bad_filter_is_refused_naming_the_field(flt, field):
    with pytest.raises(InvalidValue) as refused:
        flt.query_args()

    assert refused.value.field == field
