"""Announcements: audience, publish window, edit and withdraw."""

import datetime as dt

import pytest

from dealercrm.domain.announcements import Announcement, AnnouncementStatus
from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
MKT = Principal(user_id=3, username="mkt", role=Role.MARKETING)


def publish(**kw):
    base = dict(title="订货会通知", body="内容", category="notice", audience="all", roles=(), dealer_ids=(),
                publish_from=NOW, publish_until=None, author=MKT, now=NOW)
    return Announcement.publish(**{**base, **kw})


def reader(role, dealer_id=None):
    return Principal(user_id=9, username="r", role=role, dealer_id=dealer_id)


def test_the_audience_decides_who_it_is_addressed_to():
    everyone = publish()
    finance_only = publish(audience="roles", roles=("finance",))
    dealer_5 = publish(audience="dealers", dealer_ids=(5,))

    assert everyone.addressed_to(reader(Role.DEALER, 1)) and everyone.addressed_to(reader(Role.STATION))
    assert finance_only.addressed_to(reader(Role.FINANCE)) and not finance_only.addressed_to(reader(Role.SALES))
    assert dealer_5.addressed_to(reader(Role.DEALER, 5))
    assert not dealer_5.addressed_to(reader(Role.DEALER, 6)) and not dealer_5.addressed_to(reader(Role.ADMIN))


@pytest.mark.parametrize(("kw", "field"), [
    (dict(audience="roles"), "roles"),
    (dict(audience="dealers"), "dealer_ids"),
    (dict(audience="all", roles=("finance",)), "audience"),
    (dict(audience="roles", roles=("kiosk",)), "roles"),
    (dict(audience="roles", roles=("ceo",)), "roles"),
    (dict(category="gossip"), "category"),
    (dict(publish_until=NOW), "publish_until"),
    (dict(title="  "), "title"),
])
def test_bad_announcements_are_refused_naming_the_field(kw, field):
    with pytest.raises(InvalidValue) as err:
        publish(**kw)
    assert err.value.field == field


def test_the_publish_window_bounds_when_it_is_live():
    a = publish(publish_from=NOW + dt.timedelta(days=1), publish_until=NOW + dt.timedelta(days=3))

    assert not a.is_live(NOW)
    assert a.is_live(NOW + dt.timedelta(days=2))
    assert not a.is_live(NOW + dt.timedelta(days=3))


def test_editing_changes_the_audience_and_a_withdrawn_announcement_is_final():
    a = publish(audience="roles", roles=("finance",))

    a.edit(now=NOW, audience="dealers", dealer_ids=(5, 6), title="新标题")
    a.withdraw(MKT, NOW)

    assert [(t.kind, t.value) for t in a.targets] == [("dealer", "5"), ("dealer", "6")]
    assert a.status is AnnouncementStatus.WITHDRAWN and not a.is_live(NOW)
    with pytest.raises(IllegalTransition):
        a.edit(now=NOW, title="再改")
    with pytest.raises(IllegalTransition):
        a.withdraw(MKT, NOW)
