"""Training use cases (seed 000 §2.6, §4.6): organise, invite, confirm/decline, attendance and
feedback, cancel; the video meeting of an online training through the ``VideoConferencing``
port; reminders through the outbox; the trainings on the user's calendar.

The meeting is never created inside the training's transaction: the training (with
``meeting_status = pending``) commits first, then :func:`sync_meeting` calls the provider with
no transaction open and records the answer in a second one. If the provider is down the
training stays, ``pending``, and :class:`TrainingMeetingJob` (the scheduler) or
``POST /trainings/{id}/meeting/sync`` tries again — with the same idempotency key, so a call
that timed out after the provider made the meeting is answered with that meeting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.calendar import beijing_midnight
from dealercrm.application.form_once import once_per_form
from dealercrm.application.ports.marketing import TrainingUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.video import MeetingRequest, VideoConferencing, VideoProviderError
from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.channel import DealerStatus, ProductLine
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.training import InviteeKind, MeetingStatus, Training, TrainingAudience, TrainingStatus
from dealercrm.domain.values import SHANGHAI, stored_id

ORGANIZERS = (Role.MARKETING, Role.AFTER_SALES, Role.ADMIN)
SALES_FIELD_ROLES = (Role.SALES, Role.REGION_MANAGER)
REMINDER_AHEAD = dt.timedelta(hours=24)

NewUow = Callable[[], TrainingUnitOfWork]


@attrs.frozen
class InviteeIn:
    kind: str  # dealer | user | station
    id: int
    name: str | None = None  # stations have no master data yet: the organiser names them


@attrs.frozen
class CreateTraining:
    title: str
    topic: str
    audience: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    online: bool
    invitees: tuple[InviteeIn, ...] = ()
    location: str | None = None
    product_line: str | None = None
    description: str | None = None
    vr_url: str | None = None


@attrs.frozen
class ParticipantIn:
    invitation_id: int
    name: str
    attended: bool = True
    feedback_score: int | None = None
    quiz_score: int | None = None
    comment: str | None = None


@attrs.frozen
class TrainingCreated:
    id: int
    training_no: str
    meeting_status: str


def invitee_of(principal: Principal) -> tuple[InviteeKind, int] | None:
    """Which invitee the caller answers for: its dealer, its station, or itself."""
    if principal.is_device or principal.user_id is None:
        return None
    if principal.role is Role.DEALER:
        return (InviteeKind.DEALER, principal.dealer_id) if principal.dealer_id else None
    if principal.role is Role.STATION:
        return (InviteeKind.STATION, principal.station_id) if principal.station_id else None
    return InviteeKind.USER, principal.user_id


def window_text(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    s, e = starts_at.astimezone(SHANGHAI), ends_at.astimezone(SHANGHAI)
    end = e.strftime("%H:%M") if s.date() == e.date() else e.strftime("%Y-%m-%d %H:%M")
    return f"{s:%Y-%m-%d %H:%M}–{end}（北京时间）"


def _venue(t: Training) -> str:
    if t.online:
        return "线上视频会议（会议链接将另行发送）" + (f"；线下地点：{t.location}" if t.location else "")
    return f"地点：{t.location}"


# ---------------------------------------------------------------------------------------------
# Writes


def create_training(cmd: CreateTraining, new_uow: NewUow, clock: Clock, video: VideoConferencing | None,
                    *, portal_url: str) -> TrainingCreated:
    """Create, invite and notify (one transaction); then, for an online training, ask the
    provider for the meeting (its failure leaves the training ``pending``, never lost)."""
    uow = new_uow()
    require_role(uow.actor, *ORGANIZERS)
    with uow:
        created = _schedule(uow, cmd, clock(), portal_url)
        uow.commit()
    if cmd.online and video is not None:
        status = sync_meeting(created.id, new_uow, clock, video)
        created = attrs.evolve(created, meeting_status=status)
    return created


def create_training_once(cmd: CreateTraining, new_uow: NewUow, clock: Clock, video: VideoConferencing | None,
                         *, portal_url: str, form_token: str) -> TrainingCreated:
    """``create_training`` once per form token of this user: a double-submitted form creates,
    invites and notifies once; the repeat gets the same training (its meeting is then synced
    again, which the provider answers by the idempotency key)."""
    answer = once_per_form(new_uow, clock, roles=ORGANIZERS, form_token=form_token, kind="training.create",
                           request=(cmd,), work=lambda uow: attrs.asdict(_schedule(uow, cmd, clock(), portal_url)))
    created = TrainingCreated(**answer)
    if cmd.online and video is not None:
        created = attrs.evolve(created, meeting_status=sync_meeting(created.id, new_uow, clock, video))
    return created


def _schedule(uow: TrainingUnitOfWork, cmd: CreateTraining, now: dt.datetime, portal_url: str) -> TrainingCreated:
    """Schedule, invite and notify inside the caller's unit of work (flushed, not committed)."""
    if cmd.product_line is not None and cmd.product_line not in {p.value for p in ProductLine}:
        raise InvalidValue("product_line", "产品线须为 tanker、dump_truck 或 semi_trailer", code="product_line.unknown")
    actor = uow.actor
    training = Training.schedule(
        training_no=uow.numbers.formatted("TR", year=now.astimezone(SHANGHAI).year), title=cmd.title,
        topic=cmd.topic, audience=cmd.audience, starts_at=cmd.starts_at, ends_at=cmd.ends_at, online=cmd.online,
        location=cmd.location, product_line=cmd.product_line, description=cmd.description, vr_url=cmd.vr_url,
        organizer_id=actor.user_id, organizer_name=actor.username, organizer_role=actor.role.value, now=now,
    )
    _invite_all(uow, training, cmd.invitees)
    uow.trainings.add(training)
    uow.flush()
    _notify_invitees(uow, training, training.invitations, portal_url)
    return TrainingCreated(stored_id(training.id), training.training_no, training.meeting_status.value)


def invite(training_id: int, invitees: tuple[InviteeIn, ...], uow: TrainingUnitOfWork, *, portal_url: str) -> int:
    require_role(uow.actor, *ORGANIZERS)
    with uow:
        training = uow.trainings.get(training_id)
        if training is None:
            raise not_found("training", "培训")
        before = len(training.invitations)
        _invite_all(uow, training, invitees)
        uow.flush()
        added = training.invitations[before:]
        _notify_invitees(uow, training, added, portal_url)
        uow.commit()
    return len(added)


def _invite_all(uow: TrainingUnitOfWork, training: Training, invitees: tuple[InviteeIn, ...]) -> None:
    for n, inv in enumerate(invitees):
        field = f"invitees[{n}]"
        try:
            kind = InviteeKind(inv.kind)
        except ValueError:
            raise InvalidValue(f"{field}.kind", "邀请对象类型须为 dealer、user 或 station",
                               code="training.invitee_kind_unknown") from None
        if kind is InviteeKind.DEALER:
            dealer = uow.dealers.get(inv.id)
            if dealer is None or dealer.status is not DealerStatus.APPROVED:
                raise InvalidValue(f"{field}.id", f"经销商不存在或未审核通过：{inv.id}", code="dealer.not_found")
            training.invite(kind, inv.id, dealer.short_name or dealer.legal_name, dealer_id=inv.id)
        elif kind is InviteeKind.USER:
            user = uow.trainings.user_brief(inv.id)
            if user is None or not user["is_active"] or Role(user["role"]) not in SALES_FIELD_ROLES:
                raise InvalidValue(f"{field}.id", f"销售人员不存在：{inv.id}", code="user.not_found")
            training.invite(kind, inv.id, user["display_name"])
        else:
            if not uow.trainings.station_exists(inv.id):
                raise InvalidValue(f"{field}.id", f"服务站不存在：{inv.id}", code="station.not_found")
            training.invite(kind, inv.id, (inv.name or "").strip()[:200] or f"服务站 {inv.id}")


def _notify_invitees(uow: TrainingUnitOfWork, training: Training, invitations: list[Any], portal_url: str) -> None:
    for inv in invitations:
        for r in uow.trainings.recipients(inv.invitee_kind, inv.invitee_id):
            if not r["email"]:
                continue
            uow.outbox.enqueue("training.invitation", {
                "recipient_name": r["display_name"], "organizer_name": training.organizer_name,
                "invitee_name": inv.invitee_name, "title": training.title, "topic": training.topic,
                "time_window": window_text(training.starts_at, training.ends_at), "venue": _venue(training),
                "portal_url": f"{portal_url.rstrip('/')}/trainings/{training.id}",
            }, r["email"], f"training-invitation-{training.id}-{inv.id}-{r['id']}")


def respond(training_id: int, confirm: bool, reason: str | None, uow: TrainingUnitOfWork, clock: Clock) -> str:
    """The invitee (a dealer user for its dealer, a station user, a sales user) confirms or
    declines. A training the caller is not invited to does not exist for it (404)."""
    who = invitee_of(uow.actor)
    with uow:
        training = uow.trainings.get(training_id)
        invitation = training.invitation_for(*who) if training is not None and who else None
        if training is None or invitation is None:
            raise not_found("training", "培训")
        training.respond(invitation, confirm=confirm, reason=reason, by_name=uow.actor.username, now=clock())
        answer = invitation.response.value
        uow.commit()
    return answer


def record_participants(training_id: int, people: tuple[ParticipantIn, ...], uow: TrainingUnitOfWork, clock: Clock) -> list[int]:
    """Attendance (签到) and scores, by the organisers; all or nothing."""
    require_role(uow.actor, *ORGANIZERS)
    if not people:
        raise InvalidValue("participants", "请至少登记一名参训人员", code="training.participants_required")
    now = clock()
    with uow:
        training = uow.trainings.get(training_id)
        if training is None:
            raise not_found("training", "培训")
        added = []
        for n, p in enumerate(people):
            invitation = next((i for i in training.invitations if i.id == p.invitation_id), None)
            if invitation is None:
                raise InvalidValue(f"participants[{n}].invitation_id", "该邀请不属于本培训",
                                   code="training.invitation_not_found")
            added.append(training.record_participant(invitation, name=p.name, attended=p.attended,
                                                     feedback_score=p.feedback_score, quiz_score=p.quiz_score,
                                                     comment=p.comment, now=now))
        uow.flush()
        ids = [stored_id(p.id) for p in added]
        uow.commit()
    return ids


def give_feedback(training_id: int, participant_id: int, feedback_score: int | None, quiz_score: int | None,
                  comment: str | None, uow: TrainingUnitOfWork, clock: Clock) -> None:
    """Organisers set feedback and quiz scores; an invitee may give its own participants'
    feedback (not their quiz score)."""
    actor = uow.actor
    organizer = actor.role in ORGANIZERS
    with uow:
        training = uow.trainings.get(training_id)
        participant = next((p for p in training.participants if p.id == participant_id), None) if training else None
        if training is None or participant is None:
            raise not_found("training_participant", "参训人员")
        if not organizer:
            who = invitee_of(actor)
            invitation = training.invitation_for(*who) if who else None
            if invitation is None or invitation.id != participant.invitation_id:
                raise not_found("training_participant", "参训人员")
            if quiz_score is not None:
                raise InvalidValue("quiz_score", "测验成绩由培训组织者登记", code="training.quiz_by_organizer")
        training.score_participant(participant, feedback_score=feedback_score, quiz_score=quiz_score,
                                   comment=comment, now=clock())
        uow.commit()


def cancel_training(training_id: int, reason: str, new_uow: NewUow, clock: Clock, video: VideoConferencing | None,
                    ) -> str:
    uow = new_uow()
    require_role(uow.actor, *ORGANIZERS)
    with uow:
        training = uow.trainings.get(training_id)
        if training is None:
            raise not_found("training", "培训")
        training.cancel(reason, clock())
        for inv in training.invitations:
            for r in uow.trainings.recipients(inv.invitee_kind, inv.invitee_id):
                if r["email"]:
                    uow.outbox.enqueue("training.cancelled", {
                        "recipient_name": r["display_name"], "title": training.title,
                        "time_window": window_text(training.starts_at, training.ends_at),
                        "reason": training.cancel_reason,
                    }, r["email"], f"training-cancelled-{training.id}-{inv.id}-{r['id']}")
        needs_provider = training.meeting_status is MeetingStatus.CANCEL_PENDING
        uow.commit()
    if needs_provider and video is not None:
        return sync_meeting(training_id, new_uow, clock, video)
    return MeetingStatus.CANCELLED.value if not needs_provider else MeetingStatus.CANCEL_PENDING.value


def complete_training(training_id: int, uow: TrainingUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *ORGANIZERS)
    with uow:
        training = uow.trainings.get(training_id)
        if training is None:
            raise not_found("training", "培训")
        training.complete(clock())
        uow.commit()
    return TrainingStatus.COMPLETED.value


def request_meeting_retry(training_id: int, new_uow: NewUow, clock: Clock, video: VideoConferencing | None) -> str:
    """Organisers: try the provider now (a failed meeting becomes pending again first)."""
    uow = new_uow()
    require_role(uow.actor, *ORGANIZERS)
    with uow:
        training = uow.trainings.get(training_id)
        if training is None:
            raise not_found("training", "培训")
        if training.meeting_status is not MeetingStatus.CANCEL_PENDING:
            training.retry_meeting(clock())
        uow.commit()
    if video is None:
        return MeetingStatus.PENDING.value
    return sync_meeting(training_id, new_uow, clock, video)


# ---------------------------------------------------------------------------------------------
# The meeting, outside any transaction


def sync_meeting(training_id: int, new_uow: NewUow, clock: Clock, video: VideoConferencing) -> str:
    """Bring the provider in line with the training: cancel the meeting a reschedule left
    behind, create a pending meeting, cancel the meeting of a cancelled training. Returns the
    meeting status afterwards. No transaction is open while the provider is called."""
    _cancel_stale_meeting(training_id, new_uow, clock, video)
    with new_uow() as uow:
        training = uow.trainings.get(training_id)
        if training is None:
            raise not_found("training", "培训")
        status, generation = training.meeting_status, training.meeting_generation
        request = _request(training, training.meeting_key)
        meeting_id = training.meeting_id
    if status not in (MeetingStatus.PENDING, MeetingStatus.CANCEL_PENDING):
        return status.value
    result: Any = None
    error: VideoProviderError | None = None
    try:
        if status is MeetingStatus.PENDING:
            result = video.create_meeting(request)
        else:
            if meeting_id is None:  # an earlier attempt may have made it: ask by the key
                meeting_id = video.create_meeting(request).meeting_id
            video.cancel_meeting(meeting_id)
    except VideoProviderError as exc:
        error = exc
    with new_uow() as uow:
        training = _loaded(uow, training_id)
        now = clock()
        if training.meeting_generation != generation:
            # rescheduled meanwhile: what was just made belongs to the old window — cancel it next
            if result is not None and training.stale_meeting_key in (None, request.idempotency_key):
                training.stale_meeting_key, training.stale_meeting_id = request.idempotency_key, result.meeting_id
                uow.commit()
            return training.meeting_status.value
        if training.meeting_status is not status:  # cancelled or finished by someone else meanwhile
            if result is not None and training.meeting_id is None and training.status is TrainingStatus.CANCELLED:
                training.meeting_created(result.meeting_id, result.join_url, result.passcode, now)  # → cancel next
                uow.commit()
            return training.meeting_status.value
        if error is not None:
            training.meeting_attempt_failed(f"{error.code}: {error.message}",
                                            permanent=not error.transient, now=now)
        elif status is MeetingStatus.PENDING:
            training.meeting_created(result.meeting_id, result.join_url, result.passcode, now)
            if training.meeting_status.value == MeetingStatus.CREATED.value:  # (.value: mypy keeps the earlier narrowing)
                _send_join_links(uow, training, result.meeting_code or result.meeting_id)
        else:
            training.meeting_cancelled(now)
        final = training.meeting_status.value
        uow.commit()
    return final


def _loaded(uow: TrainingUnitOfWork, training_id: int) -> Training:
    training = uow.trainings.get(training_id)
    if training is None:
        raise not_found("training", "培训")
    return training


def _request(training: Training, key: str) -> MeetingRequest:
    return MeetingRequest(subject=f"{training.title}（{training.training_no}）", starts_at=training.starts_at,
                          ends_at=training.ends_at, host=training.organizer_name, idempotency_key=key)


def _cancel_stale_meeting(training_id: int, new_uow: NewUow, clock: Clock, video: VideoConferencing) -> None:
    with new_uow() as uow:
        training = uow.trainings.get(training_id)
        if training is None or training.stale_meeting_key is None:
            return
        key, meeting_id = training.stale_meeting_key, training.stale_meeting_id
        request = _request(training, key)
    try:
        if meeting_id is None:  # a create under the old key may have reached the provider
            meeting_id = video.create_meeting(request).meeting_id
        video.cancel_meeting(meeting_id)
    except VideoProviderError:
        return  # stays recorded; the next sync tries again
    with new_uow() as uow:
        training = _loaded(uow, training_id)
        if training.stale_meeting_key == key:
            training.stale_meeting_cancelled(clock())
            uow.commit()


def reschedule_training(training_id: int, starts_at: dt.datetime, ends_at: dt.datetime, new_uow: NewUow,
                        clock: Clock, video: VideoConferencing | None, *, portal_url: str) -> str:
    """New time window; invitees are told and asked to confirm again; an online training's
    meeting is replaced. Returns the meeting status."""
    uow = new_uow()
    require_role(uow.actor, *ORGANIZERS)
    with uow:
        training = uow.trainings.get(training_id)
        if training is None:
            raise not_found("training", "培训")
        now = clock()
        training.reschedule(starts_at, ends_at, now)
        for inv in training.invitations:
            for r in uow.trainings.recipients(inv.invitee_kind, inv.invitee_id):
                if r["email"]:
                    uow.outbox.enqueue("training.rescheduled", {
                        "recipient_name": r["display_name"], "title": training.title,
                        "time_window": window_text(training.starts_at, training.ends_at), "venue": _venue(training),
                        "portal_url": f"{portal_url.rstrip('/')}/trainings/{training.id}",
                    }, r["email"], f"training-rescheduled-{training.id}-{now.isoformat()}-{inv.id}-{r['id']}")
        online = training.online
        status = training.meeting_status.value
        uow.commit()
    if online and video is not None:
        return sync_meeting(training_id, new_uow, clock, video)
    return status


def _send_join_links(uow: TrainingUnitOfWork, training: Training, meeting_code: str) -> None:
    from dealercrm.domain.training import InvitationResponse

    for inv in training.invitations:
        if inv.response is InvitationResponse.DECLINED:
            continue
        for r in uow.trainings.recipients(inv.invitee_kind, inv.invitee_id):
            if r["email"]:
                uow.outbox.enqueue("training.meeting_ready", {
                    "recipient_name": r["display_name"], "title": training.title,
                    "time_window": window_text(training.starts_at, training.ends_at),
                    "join_url": training.meeting_join_url, "meeting_code": meeting_code,
                    "passcode": training.meeting_passcode or "无",
                }, r["email"], f"training-meeting-{training.id}-{inv.id}-{r['id']}")


def sync_pending_meetings(new_uow: NewUow, clock: Clock, video: VideoConferencing) -> int:
    with new_uow() as uow:
        ids = uow.trainings.needing_meeting_work()
    done = 0
    for training_id in ids:
        status = sync_meeting(training_id, new_uow, clock, video)
        done += status in (MeetingStatus.CREATED.value, MeetingStatus.CANCELLED.value)
    return done


def send_reminders(new_uow: NewUow, now: dt.datetime) -> int:
    """SMS, once per person, to invitees (not declined) of trainings starting in the next 24 h."""
    from dealercrm.domain.training import InvitationResponse

    sent = 0
    with new_uow() as uow:
        for training_id in uow.trainings.upcoming_for_reminder(now, now + REMINDER_AHEAD):
            training = _loaded(uow, training_id)
            for inv in training.invitations:
                if inv.response is InvitationResponse.DECLINED:
                    continue
                for r in uow.trainings.recipients(inv.invitee_kind, inv.invitee_id):
                    if not r["phone"]:
                        continue
                    uow.outbox.enqueue("training.reminder", {
                        "recipient_name": r["display_name"], "title": training.title,
                        "starts_at": f"{training.starts_at.astimezone(SHANGHAI):%m月%d日 %H:%M}",
                        "venue": "线上会议，入会链接见邮件" if training.online else f"地点：{training.location}",
                    }, str(r["phone"]), f"training-reminder-{training.id}-{inv.id}-{r['id']}")
                    sent += 1
        uow.commit()
    return sent


class TrainingMeetingJob:
    """Scheduler job: create the meetings still pending, cancel those of cancelled trainings."""

    code = "training.meetings"
    opens_own_units_of_work = True

    def __init__(self, uow_factory: Callable[[Principal], Any], clock: Clock, video: VideoConferencing) -> None:
        self.uow_factory, self.clock, self.video = uow_factory, clock, video

    def run(self, ctx: Any) -> int:
        return sync_pending_meetings(lambda: self.uow_factory(Principal.system()), self.clock, self.video)


class TrainingReminderJob:
    code = "training.reminders"
    opens_own_units_of_work = True

    def __init__(self, uow_factory: Callable[[Principal], Any]) -> None:
        self.uow_factory = uow_factory

    def run(self, ctx: Any) -> int:
        return send_reminders(lambda: self.uow_factory(Principal.system()), ctx.now)


class TrainingsSource:
    """Workbench ``tasks``: trainings waiting for the caller's confirmation (dealers must
    confirm: 培训活动发起后需由经销商进行确认); and, as the calendar source ``trainings``, the
    trainings on the calendar: organisers see all, everyone else those they are invited to (and
    did not decline). The workbench page gets both from one read (:meth:`collect_dated`)."""

    category = "tasks"
    code = "trainings"

    def __init__(self, queries: Any) -> None:
        self.queries = queries

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> Any:
        count, rows = self.queries.pending_invitations(principal, now, limit)
        return self._section(count, rows)

    def items(self, principal: Principal, start: dt.date, end: dt.date) -> list[CalendarItem]:
        begin, until = beijing_midnight(start), beijing_midnight(end)
        return [self._item(r) for r in self.queries.trainings_between(principal, begin, until)]

    def collect_dated(self, principal: Principal, now: dt.datetime, limit: int, start: dt.date,
                      end: dt.date) -> tuple[Any, list[CalendarItem]]:
        count, rows, between = self.queries.pending_invitations_and_between(
            principal, now, limit, beijing_midnight(start), beijing_midnight(end))
        return self._section(count, rows), [self._item(r) for r in between]

    def _item(self, r: dict[str, Any]) -> CalendarItem:
        where = "线上" if r["online"] else (r["location"] or "")
        return CalendarItem(
            uid=f"training-{r['id']}@dealercrm", source=self.code, title=f"培训：{r['title']}",
            start=r["starts_at"], end=r["ends_at"], description=f"{r['topic']}｜{where}",
            subject_type="training", subject_id=str(r["id"]),
            url=r["meeting_join_url"] if r.get("meeting_join_url") else None,
        )

    @staticmethod
    def _section(count: int, rows: list[dict[str, Any]]) -> Any:
        from dealercrm.application.ports.workbench import WorkbenchItem, WorkbenchSection

        return WorkbenchSection(count=count, unread=count, items=tuple(
            WorkbenchItem(id=f"training-{r['id']}", title=f"请确认是否参加培训：{r['title']}",
                          summary=f"{r['topic']}｜{r['starts_at'].astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
                                  f"｜{'线上' if r['online'] else r['location'] or ''}",
                          at=r["created_at"], due=r["starts_at"], state="pending", subject_type="training",
                          subject_id=str(r["id"]), unread=True, extra={"training_id": r["id"]})
            for r in rows))


AUDIENCE_LABELS = {a.value: a.label for a in TrainingAudience}
