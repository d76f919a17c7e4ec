"""The training aggregate: window rules, invitations, answers, attendance, the meeting's
states, and the effect analysis."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue
from dealercrm.domain.training import (
    InvitationResponse,
    InviteeKind,
    MeetingStatus,
    Participant,
    Training,
    effect_summary,
)

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
START = NOW + dt.timedelta(days=8)


def training(online: bool = True, **kw) -> Training:
    args = dict(training_no="TR-2026-000001", title="新款自卸车培训", topic="产品知识", audience="dealers",
                starts_at=START, ends_at=START + dt.timedelta(hours=2), online=online,
                location=None if online else "培训中心", product_line="dump_truck", description=None, vr_url=None,
                organizer_id=1, organizer_name="mkt", organizer_role="marketing", now=NOW)
    args.update(kw)
    return Training.schedule(**args)


def with_ids(t: Training) -> Training:
    for n, i in enumerate(t.invitations, 1):
        i.id = n
    return t


def test_an_online_training_starts_with_a_pending_meeting_and_an_offline_one_needs_a_place():
    assert training().meeting_status is MeetingStatus.PENDING
    assert training(online=False).meeting_status is MeetingStatus.NONE
    with pytest.raises(InvalidValue) as err:
        training(online=False, location=" ")
    assert err.value.field == "location"


@pytest.mark.parametrize("starts, ends, code", [
    (START, START, "training.window_inverted"),
    (START, START + dt.timedelta(days=8), "training.too_long"),
    (NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=1), "training.starts_in_past"),
    (START.replace(tzinfo=None), START + dt.timedelta(hours=1), "datetime.naive"),
])
def test_window_rules(starts, ends, code):
    with pytest.raises(InvalidValue) as err:
        training(starts_at=starts, ends_at=ends)
    assert err.value.code == code


def test_vr_link_must_be_a_web_address():
    assert training(vr_url="https://vr.example.com/p/1").vr_url == "https://vr.example.com/p/1"
    with pytest.raises(InvalidValue):
        training(vr_url="javascript:alert(1)")


def test_invitations_are_of_the_audiences_kind_and_once_each():
    t = training()
    t.invite(InviteeKind.DEALER, 7, "宏达", dealer_id=7)

    with pytest.raises(BusinessRuleViolation):
        t.invite(InviteeKind.DEALER, 7, "宏达", dealer_id=7)
    with pytest.raises(InvalidValue):
        t.invite(InviteeKind.STATION, 3, "服务站")


def test_decline_needs_a_reason_and_answers_stop_when_the_training_starts():
    t = training()
    inv = t.invite(InviteeKind.DEALER, 7, "宏达", dealer_id=7)

    with pytest.raises(InvalidValue):
        t.respond(inv, confirm=False, reason="", by_name="d", now=NOW)
    t.respond(inv, confirm=False, reason="没空", by_name="d", now=NOW)
    assert (inv.response, inv.reason) == (InvitationResponse.DECLINED, "没空")
    t.respond(inv, confirm=True, reason=None, by_name="d", now=NOW)
    assert (inv.response, inv.reason) == (InvitationResponse.CONFIRMED, None)
    with pytest.raises(IllegalTransition):
        t.respond(inv, confirm=False, reason="晚了", by_name="d", now=START)


def test_attendance_only_after_the_start_and_not_for_declined_invitees():
    t = training()
    inv = t.invite(InviteeKind.DEALER, 7, "宏达", dealer_id=7)
    with_ids(t)

    with pytest.raises(IllegalTransition):
        t.record_participant(inv, name="张三", attended=True, feedback_score=5, quiz_score=None, comment=None, now=NOW)
    t.respond(inv, confirm=False, reason="没空", by_name="d", now=NOW)
    with pytest.raises(BusinessRuleViolation):
        t.record_participant(inv, name="张三", attended=True, feedback_score=None, quiz_score=None, comment=None,
                             now=START)
    with pytest.raises(InvalidValue):
        t.record_participant(inv, name="张三", attended=False, feedback_score=4, quiz_score=None, comment=None,
                             now=START)


def test_cancel_moves_the_meeting_to_be_cancelled_at_the_provider():
    created, never_tried, timed_out = training(), training(), training()
    created.meeting_created("m1", "https://x/1", "123456", NOW)
    timed_out.meeting_attempt_failed("video.timeout", permanent=False, now=NOW)

    for t in (created, never_tried, timed_out):
        t.cancel("讲师出差", NOW)

    assert created.meeting_status is MeetingStatus.CANCEL_PENDING
    assert never_tried.meeting_status is MeetingStatus.CANCELLED
    assert timed_out.meeting_status is MeetingStatus.CANCEL_PENDING


def test_a_refused_meeting_fails_and_can_be_retried_a_late_one_is_cancelled():
    t = training()
    t.meeting_attempt_failed("video.rejected", permanent=True, now=NOW)
    assert t.meeting_status is MeetingStatus.FAILED
    t.retry_meeting(NOW)
    assert t.meeting_status is MeetingStatus.PENDING

    late = training()
    late.meeting_attempt_failed("video.timeout", permanent=False, now=NOW)
    late.cancel("取消", NOW)
    late.meeting_created("m9", "https://x/9", None, NOW)
    assert late.meeting_status is MeetingStatus.CANCEL_PENDING


def test_effect_summary_counts_answers_attendance_and_scores():
    t = training()
    a = t.invite(InviteeKind.DEALER, 1, "A", dealer_id=1)
    b = t.invite(InviteeKind.DEALER, 2, "B", dealer_id=2)
    t.invite(InviteeKind.DEALER, 3, "C", dealer_id=3)
    with_ids(t)
    t.respond(a, confirm=True, reason=None, by_name="a", now=NOW)
    t.respond(b, confirm=False, reason="x", by_name="b", now=NOW)
    people = [Participant(1, "张三", True, START, 5, 100), Participant(1, "李四", True, START, 2, 40),
              Participant(1, "王五", False, START)]

    s = effect_summary(t.invitations, people)

    assert (s.invited, s.confirmed, s.declined, s.pending) == (3, 1, 1, 1)
    assert (s.registered, s.attended, s.attendance_rate_pct) == (3, 2, 66.7)
    assert (s.feedback_avg, s.feedback_distribution[5], s.feedback_distribution[2]) == (3.5, 1, 1)
    assert (s.quiz_avg, s.quiz_pass_count) == (70.0, 1)
    assert effect_summary([], []).feedback_avg is None


def test_reschedule_asks_again_and_replaces_the_meeting():
    t = training()
    inv = t.invite(InviteeKind.DEALER, 7, "宏达", dealer_id=7)
    t.respond(inv, confirm=True, reason=None, by_name="d", now=NOW)
    t.meeting_created("m1", "https://x/1", "1", NOW)
    old_key = t.meeting_key

    t.reschedule(START + dt.timedelta(days=1), START + dt.timedelta(days=1, hours=2), NOW)

    assert inv.response is InvitationResponse.PENDING
    assert (t.meeting_status, t.meeting_id, t.meeting_attempts) == (MeetingStatus.PENDING, None, 0)
    assert (t.stale_meeting_key, t.stale_meeting_id) == (old_key, "m1")
    assert t.meeting_key != old_key and t.meeting_key.endswith("-r1")
    with pytest.raises(BusinessRuleViolation):
        t.reschedule(t.starts_at, t.ends_at, NOW)


def test_reschedule_before_any_attempt_leaves_nothing_to_cancel():
    t = training()
    t.reschedule(START + dt.timedelta(days=1), START + dt.timedelta(days=1, hours=2), NOW)
    assert t.stale_meeting_key is None and t.meeting_status is MeetingStatus.PENDING
