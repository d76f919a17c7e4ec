"""Training (seed 000 §2.6 and §4.6 培训管理): marketing trains dealers and sales field staff on
products and new models; after-sales trains the service stations' mechanics. A training is
initiated and followed by its organiser; invited dealers must confirm (培训活动发起后需由经销商进行
确认) or decline with a reason; attendance and each participant's feedback (1–5) and quiz score
(0–100) give the effect analysis. An online training gets a video meeting through the
``VideoConferencing`` port; the factory's VR panorama (虚拟全景) is a plain link.

The meeting is created *after* the training is committed (a provider that is down must not
lose the training): ``meeting_status`` says where that stands — ``pending`` until the provider
answered, retried by the scheduler and on demand, with the same idempotency key every time so
a retry never makes a second meeting.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Literal, TypeVar, overload

import attrs

from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue, InvariantBroken

MAX_DURATION = dt.timedelta(days=7)
MAX_INVITEES = 500


class TrainingAudience(enum.StrEnum):
    DEALERS = "dealers"  # 经销商
    SALES = "sales"  # 销售外勤人员
    STATIONS = "stations"  # 服务站维修人员

    @property
    def label(self) -> str:
        return {"dealers": "经销商", "sales": "销售外勤人员", "stations": "服务站维修人员"}[self.value]

    @property
    def invitee_kind(self) -> InviteeKind:
        return {"dealers": InviteeKind.DEALER, "sales": InviteeKind.USER, "stations": InviteeKind.STATION}[self.value]


class InviteeKind(enum.StrEnum):
    DEALER = "dealer"
    USER = "user"
    STATION = "station"


class TrainingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"scheduled": "已发起", "completed": "已结束", "cancelled": "已取消"}[self.value]


class MeetingStatus(enum.StrEnum):
    NONE = "none"  # offline training, no meeting
    PENDING = "pending"  # to be created at the provider (retried)
    CREATED = "created"
    CANCEL_PENDING = "cancel_pending"  # training cancelled; the provider's meeting still to cancel
    CANCELLED = "cancelled"
    FAILED = "failed"  # the provider refused the request (4xx): a person must look

    @property
    def label(self) -> str:
        return {"none": "线下培训", "pending": "会议创建中", "created": "会议已创建", "cancel_pending": "会议取消中",
                "cancelled": "会议已取消", "failed": "会议创建失败"}[self.value]


class InvitationResponse(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return {"pending": "待确认", "confirmed": "已确认", "declined": "已谢绝"}[self.value]


@overload
def _text(field: str, value: str | None, max_len: int, *, required: Literal[True] = ..., label: str = ...) -> str: ...


@overload
def _text(field: str, value: str | None, max_len: int, *, required: bool, label: str = ...) -> str | None: ...


def _text(field: str, value: str | None, max_len: int, *, required: bool = True, label: str = "") -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidValue(field, f"{label or field}不能为空", code=f"training.{field}_required")
        return None
    value = value.strip()
    if len(value) > max_len:
        raise InvalidValue(field, f"{label or field}不能超过{max_len}字", code=f"training.{field}_too_long")
    return value


def check_url(field: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not (value.startswith("https://") or value.startswith("http://")) or len(value) > 500 or " " in value:
        raise InvalidValue(field, "链接须为 http(s):// 开头的网址（不超过500字）", code="url.invalid")
    return value


@attrs.define(slots=False, eq=False)
class Invitation:
    """One invitee (a dealer, a sales user or a station) and its answer."""

    invitee_kind: InviteeKind
    invitee_id: int
    invitee_name: str
    dealer_id: int | None = None  # set for dealer invitations: the row-level scope
    response: InvitationResponse = InvitationResponse.PENDING
    reason: str | None = None
    responded_at: dt.datetime | None = None
    responded_by_name: str | None = None
    training_id: int | None = None
    id: int | None = None


@attrs.define(slots=False, eq=False)
class Participant:
    """A person who attended (or was registered and missed), with feedback and quiz score."""

    invitation_id: int
    name: str
    attended: bool
    recorded_at: dt.datetime
    feedback_score: int | None = None  # 1–5
    quiz_score: int | None = None  # 0–100
    comment: str | None = None
    training_id: int | None = None
    id: int | None = None


def check_scores(feedback_score: int | None, quiz_score: int | None) -> None:
    if feedback_score is not None and not 1 <= feedback_score <= 5:
        raise InvalidValue("feedback_score", "满意度评分须为1到5", code="training.feedback_score_invalid")
    if quiz_score is not None and not 0 <= quiz_score <= 100:
        raise InvalidValue("quiz_score", "测验成绩须为0到100", code="training.quiz_score_invalid")


@attrs.define(slots=False, eq=False)
class Training:
    training_no: str
    title: str
    topic: str
    audience: TrainingAudience
    starts_at: dt.datetime
    ends_at: dt.datetime
    online: bool
    organizer_id: int | None
    organizer_name: str
    organizer_role: str
    created_at: dt.datetime
    product_line: str | None = None
    location: str | None = None
    description: str | None = None
    vr_url: str | None = None
    status: TrainingStatus = TrainingStatus.SCHEDULED
    cancel_reason: str | None = None
    meeting_status: MeetingStatus = MeetingStatus.NONE
    meeting_id: str | None = None
    meeting_join_url: str | None = None
    meeting_passcode: str | None = None
    meeting_error: str | None = None
    meeting_attempts: int = 0
    meeting_generation: int = 0
    stale_meeting_key: str | None = None  # after a reschedule: the old meeting, still to cancel
    stale_meeting_id: str | None = None
    invitations: list[Invitation] = attrs.field(factory=list)
    participants: list[Participant] = attrs.field(factory=list)
    updated_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def schedule(cls, *, training_no: str, title: str, topic: str, audience: str, starts_at: dt.datetime,
                 ends_at: dt.datetime, online: bool, location: str | None, product_line: str | None,
                 description: str | None, vr_url: str | None, organizer_id: int | None, organizer_name: str,
                 organizer_role: str, now: dt.datetime) -> Training:
        kind = _enum(TrainingAudience, audience, "audience")
        check_window(starts_at, ends_at, now)
        location = _text("location", location, 200, required=not online, label="培训地点")
        return cls(
            training_no=training_no, title=_text("title", title, 200, label="培训主题"),
            topic=_text("topic", topic, 60, label="培训类别"),
            audience=kind, starts_at=starts_at, ends_at=ends_at, online=online, location=location,
            product_line=product_line, description=_text("description", description, 5000, required=False),
            vr_url=check_url("vr_url", vr_url), organizer_id=organizer_id, organizer_name=organizer_name,
            organizer_role=organizer_role, created_at=now,
            meeting_status=MeetingStatus.PENDING if online else MeetingStatus.NONE,
        )

    # -- invitations -----------------------------------------------------------------------------

    def invite(self, kind: InviteeKind, invitee_id: int, name: str, *, dealer_id: int | None = None) -> Invitation:
        self._require_scheduled("invite")
        if kind is not self.audience.invitee_kind:
            raise InvalidValue("invitees", f"本培训面向{self.audience.label}，不能邀请其他对象",
                               code="training.invitee_kind_mismatch")
        if self.invitation_for(kind, invitee_id) is not None:
            raise BusinessRuleViolation("该对象已被邀请", code="training.already_invited")
        if len(self.invitations) >= MAX_INVITEES:
            raise BusinessRuleViolation(f"每次培训最多邀请{MAX_INVITEES}个对象", code="training.too_many_invitees")
        invitation = Invitation(kind, invitee_id, name, dealer_id=dealer_id)
        self.invitations.append(invitation)
        return invitation

    def invitation_for(self, kind: InviteeKind, invitee_id: int) -> Invitation | None:
        return next((i for i in self.invitations if i.invitee_kind is kind and i.invitee_id == invitee_id), None)

    def respond(self, invitation: Invitation, *, confirm: bool, reason: str | None, by_name: str,
                now: dt.datetime) -> None:
        """Confirm or decline (a reason is required to decline); the answer may change until the
        training starts."""
        self._require_scheduled("respond")
        if now >= self.starts_at:
            raise IllegalTransition("training", "started", "respond", "培训已开始，不能再确认或谢绝",
                                    code="training.already_started")
        if confirm:
            invitation.response, invitation.reason = InvitationResponse.CONFIRMED, None
        else:
            invitation.reason = _text("reason", reason, 500, label="谢绝原因")
            invitation.response = InvitationResponse.DECLINED
        invitation.responded_at, invitation.responded_by_name = now, by_name
        self.updated_at = now

    # -- attendance and feedback --------------------------------------------------------------------

    def record_participant(self, invitation: Invitation, *, name: str, attended: bool,
                           feedback_score: int | None, quiz_score: int | None, comment: str | None,
                           now: dt.datetime) -> Participant:
        if self.status is TrainingStatus.CANCELLED:
            raise IllegalTransition("training", self.status.value, "record_attendance")
        if now < self.starts_at:
            raise IllegalTransition("training", "not_started", "record_attendance", "培训尚未开始，不能登记签到",
                                    code="training.not_started")
        if invitation.response is InvitationResponse.DECLINED and attended:
            raise BusinessRuleViolation("该对象已谢绝本次培训", code="training.invitation_declined")
        check_scores(feedback_score, quiz_score)
        if not attended and (feedback_score is not None or quiz_score is not None):
            raise InvalidValue("attended", "未出席的人员不能有评分", code="training.scores_without_attendance")
        if invitation.id is None:
            raise InvariantBroken("invitation has no id: not flushed")
        clean = _text("name", name, 60, label="参训人员姓名")
        if any(p.invitation_id == invitation.id and p.name == clean for p in self.participants):
            raise BusinessRuleViolation("该参训人员已登记", code="training.participant_exists")
        participant = Participant(invitation.id, clean, attended, now,
                                  feedback_score, quiz_score, _text("comment", comment, 500, required=False))
        self.participants.append(participant)
        self.updated_at = now
        return participant

    def score_participant(self, participant: Participant, *, feedback_score: int | None, quiz_score: int | None,
                          comment: str | None, now: dt.datetime) -> None:
        if self.status is TrainingStatus.CANCELLED:
            raise IllegalTransition("training", self.status.value, "feedback")
        if not participant.attended:
            raise InvalidValue("attended", "未出席的人员不能有评分", code="training.scores_without_attendance")
        check_scores(feedback_score, quiz_score)
        if feedback_score is not None:
            participant.feedback_score = feedback_score
        if quiz_score is not None:
            participant.quiz_score = quiz_score
        if comment is not None:
            participant.comment = _text("comment", comment, 500, required=False)
        self.updated_at = now

    # -- life cycle ---------------------------------------------------------------------------------

    def reschedule(self, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> None:
        """Move the training; every invitee answers again (the date they confirmed is gone). An
        online training gets a new meeting for the new window (a new idempotency key); the old
        one, if it exists or may exist, is cancelled by the next meeting sync."""
        self._require_scheduled("reschedule")
        check_window(starts_at, ends_at, now)
        if (starts_at, ends_at) == (self.starts_at, self.ends_at):
            raise BusinessRuleViolation("新时间与原时间相同", code="training.same_window")
        self.starts_at, self.ends_at, self.updated_at = starts_at, ends_at, now
        for inv in self.invitations:
            if inv.response is InvitationResponse.CONFIRMED:
                inv.response, inv.responded_at, inv.responded_by_name = InvitationResponse.PENDING, None, None
        if self.online:
            if self.meeting_status is MeetingStatus.CREATED or (
                    self.meeting_status is MeetingStatus.PENDING and self.meeting_attempts):
                self.stale_meeting_key, self.stale_meeting_id = self.meeting_key, self.meeting_id
            self.meeting_generation += 1
            self.meeting_status = MeetingStatus.PENDING
            self.meeting_id = self.meeting_join_url = self.meeting_passcode = self.meeting_error = None
            self.meeting_attempts = 0

    def stale_meeting_cancelled(self, now: dt.datetime) -> None:
        self.stale_meeting_key = self.stale_meeting_id = None
        self.updated_at = now

    def complete(self, now: dt.datetime) -> None:
        self._require_scheduled("complete")
        if now < self.ends_at:
            raise IllegalTransition("training", self.status.value, "complete", "培训尚未结束",
                                    code="training.not_finished")
        self.status, self.updated_at = TrainingStatus.COMPLETED, now

    def cancel(self, reason: str, now: dt.datetime) -> None:
        self._require_scheduled("cancel")
        self.cancel_reason = _text("reason", reason, 500, label="取消原因")
        self.status, self.updated_at = TrainingStatus.CANCELLED, now
        if self.meeting_status is MeetingStatus.CREATED:
            self.meeting_status = MeetingStatus.CANCEL_PENDING
        elif self.meeting_status is MeetingStatus.PENDING and self.meeting_attempts:
            # an attempt may have reached the provider before it failed for us (a timeout): the
            # cancel step asks for the meeting by its idempotency key, then cancels it
            self.meeting_status = MeetingStatus.CANCEL_PENDING
        elif self.meeting_status in (MeetingStatus.PENDING, MeetingStatus.FAILED):
            self.meeting_status = MeetingStatus.CANCELLED

    # -- the video meeting (driven by application.training after commit) ---------------------------

    @property
    def meeting_key(self) -> str:
        """The provider idempotency key: the same for every attempt of this training's meeting
        (a reschedule starts a new generation)."""
        base = f"dealercrm-training-{self.training_no}"
        return base if not self.meeting_generation else f"{base}-r{self.meeting_generation}"

    def meeting_created(self, meeting_id: str, join_url: str, passcode: str | None, now: dt.datetime) -> None:
        self.meeting_id, self.meeting_join_url, self.meeting_passcode = meeting_id, join_url, passcode
        self.meeting_attempts += 1
        self.meeting_error = None
        if self.status is TrainingStatus.CANCELLED:
            self.meeting_status = MeetingStatus.CANCEL_PENDING  # created late: cancel it next
        else:
            self.meeting_status = MeetingStatus.CREATED
        self.updated_at = now

    def meeting_attempt_failed(self, error: str, *, permanent: bool, now: dt.datetime) -> None:
        self.meeting_attempts += 1
        self.meeting_error = error[:500]
        if permanent and self.meeting_status is MeetingStatus.PENDING:
            self.meeting_status = MeetingStatus.FAILED
        self.updated_at = now

    def meeting_cancelled(self, now: dt.datetime) -> None:
        self.meeting_status, self.meeting_error, self.updated_at = MeetingStatus.CANCELLED, None, now

    def retry_meeting(self, now: dt.datetime) -> None:
        """A person asks again after a refusal (e.g. after fixing the provider account)."""
        self._require_scheduled("retry_meeting")
        if self.meeting_status is MeetingStatus.FAILED:
            self.meeting_status, self.updated_at = MeetingStatus.PENDING, now
        elif self.meeting_status is not MeetingStatus.PENDING:
            raise IllegalTransition("training_meeting", self.meeting_status.value, "retry_meeting")

    def _require_scheduled(self, action: str) -> None:
        if self.status is not TrainingStatus.SCHEDULED:
            raise IllegalTransition("training", self.status.value, action)


def check_window(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> None:
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None:
            raise InvalidValue(name, "时间须带时区", code="datetime.naive")
    if ends_at <= starts_at:
        raise InvalidValue("ends_at", "结束时间须晚于开始时间", code="training.window_inverted")
    if ends_at - starts_at > MAX_DURATION:
        raise InvalidValue("ends_at", "一次培训不能超过7天", code="training.too_long")
    if starts_at <= now:
        raise InvalidValue("starts_at", "开始时间须在将来", code="training.starts_in_past")


@attrs.frozen
class EffectSummary:
    """效果分析 of one training (or one invitee of it)."""

    invited: int
    confirmed: int
    declined: int
    pending: int
    registered: int  # participants recorded
    attended: int
    attendance_rate_pct: float | None  # attended / registered
    feedback_count: int
    feedback_avg: float | None  # 1–5, two decimals
    feedback_distribution: dict[int, int]
    quiz_count: int
    quiz_avg: float | None
    quiz_pass_count: int  # ≥ pass mark
    quiz_pass_mark: int


def effect_summary(invitations: list[Invitation], participants: list[Participant], *,
                   pass_mark: int = 60) -> EffectSummary:
    """Pure aggregation of answers, attendance and scores."""
    responses = [i.response for i in invitations]
    attended = [p for p in participants if p.attended]
    feedback = [p.feedback_score for p in attended if p.feedback_score is not None]
    quiz = [p.quiz_score for p in attended if p.quiz_score is not None]
    return EffectSummary(
        invited=len(invitations),
        confirmed=responses.count(InvitationResponse.CONFIRMED),
        declined=responses.count(InvitationResponse.DECLINED),
        pending=responses.count(InvitationResponse.PENDING),
        registered=len(participants),
        attended=len(attended),
        attendance_rate_pct=round(100 * len(attended) / len(participants), 1) if participants else None,
        feedback_count=len(feedback),
        feedback_avg=round(sum(feedback) / len(feedback), 2) if feedback else None,
        feedback_distribution={s: feedback.count(s) for s in range(1, 6)},
        quiz_count=len(quiz),
        quiz_avg=round(sum(quiz) / len(quiz), 1) if quiz else None,
        quiz_pass_count=sum(1 for q in quiz if q >= pass_mark),
        quiz_pass_mark=pass_mark,
    )


_E = TypeVar("_E", bound=enum.Enum)


def _enum(cls: type[_E], value: object, field: str) -> _E:
    try:
        return cls(value)
    except ValueError:
        allowed = "、".join(m.value for m in cls)
        raise InvalidValue(field, f"取值须为：{allowed}", code=f"{field}.unknown") from None
