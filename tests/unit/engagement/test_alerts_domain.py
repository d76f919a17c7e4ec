"""Alerts: who an audience reaches, the life cycle, conditions."""

import datetime as dt

import pytest

from dealercrm.domain.alerts import Alert, AlertState, Audience, Condition, Severity, beijing_date
from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def p(role, user_id=1, **kw):
    return Principal(user_id=user_id, username=f"u{user_id}", role=role, **kw)


def test_an_audience_reaches_named_users_staff_roles_and_the_users_of_named_dealers():
    audience = Audience(user_ids=(7,), roles=(Role.FINANCE,), dealer_ids=(3,))

    assert audience.admits(p(Role.DISPATCH, user_id=7))
    assert audience.admits(p(Role.FINANCE, user_id=8))
    assert audience.admits(p(Role.DEALER, user_id=9, dealer_id=3))
    assert not audience.admits(p(Role.DEALER, user_id=10, dealer_id=4))
    assert not audience.admits(p(Role.ADMIN, user_id=11))


def test_a_region_narrows_region_scoped_staff_but_not_others():
    audience = Audience(roles=(Role.SALES, Role.FINANCE), region="华中")

    assert audience.admits(p(Role.SALES, regions=("华中", "华北")))
    assert not audience.admits(p(Role.SALES, regions=("华东",)))
    assert audience.admits(p(Role.SALES))  # no regions: sees every region, as everywhere else
    assert audience.admits(p(Role.FINANCE))


def test_a_dealer_role_cannot_address_every_dealer_and_an_audience_is_never_empty():
    with pytest.raises(InvalidValue) as bad_role:
        Audience(roles=(Role.DEALER,))
    with pytest.raises(InvalidValue) as empty:
        Audience()

    assert bad_role.value.code == "audience.role_not_staff"
    assert empty.value.code == "audience.empty"


def test_devices_are_never_in_an_audience():
    kiosk = Principal(user_id=None, username="kiosk", role=Role.KIOSK, device_id=1)

    assert not Audience(roles=(Role.FINANCE,), user_ids=(1,)).admits(kiosk)


def test_the_audience_survives_the_round_trip_through_its_rows():
    audience = Audience(user_ids=(2, 1), roles=(Role.FINANCE,), dealer_ids=(5,), station_ids=(9,), region="西北")

    assert Audience.from_entries(audience.entries(), "西北") == audience


def test_an_alert_moves_open_to_acknowledged_to_resolved_and_never_back():
    alert = Alert.raise_for("credit.warning", Condition("d-1", Audience(roles=(Role.FINANCE,)), "额度预警"), NOW)
    finance = p(Role.FINANCE, user_id=4)

    alert.acknowledge(finance, NOW)
    with pytest.raises(IllegalTransition):
        alert.acknowledge(finance, NOW)
    alert.resolve(NOW)

    assert alert.state is AlertState.RESOLVED and alert.resolved_by_name == "system"
    assert alert.acknowledged_by == 4
    with pytest.raises(IllegalTransition) as again:
        alert.resolve(NOW)
    assert again.value.current_state == "resolved"
    assert not alert.refresh(Condition("d-1", Audience(roles=(Role.FINANCE,)), "新标题"))


def test_a_live_alert_takes_its_conditions_new_wording():
    audience = Audience(roles=(Role.FINANCE,))
    alert = Alert.raise_for("credit.warning", Condition("d-1", audience, "额度已用90%"), NOW)

    changed = alert.refresh(Condition("d-1", audience, "额度已用95%", severity=Severity.CRITICAL))
    unchanged = alert.refresh(Condition("d-1", audience, "额度已用95%", severity=Severity.CRITICAL))

    assert (changed, unchanged) == (True, False)
    assert (alert.title, alert.severity) == ("额度已用95%", Severity.CRITICAL)


@pytest.mark.parametrize("key", ["", "有中文", "has space", "x" * 201])
def test_condition_keys_are_short_printable_ascii(key):
    with pytest.raises(InvalidValue) as err:
        Condition(key, Audience(roles=(Role.FINANCE,)), "t")
    assert err.value.field == "key"


def test_rule_codes_are_checked_when_an_alert_is_raised():
    with pytest.raises(InvalidValue):
        Alert.raise_for("Bad Code", Condition("k", Audience(roles=(Role.FINANCE,)), "t"), NOW)


def test_the_day_is_the_day_in_beijing():
    assert beijing_date(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 3, 2)
    with pytest.raises(ValueError):
        beijing_date(dt.datetime(2026, 3, 1, 16, 30))
