"""HTTP for the marketing contexts: trainings (with their video meetings), knowledge base, sales
forecasts, key accounts and bid cases, campaigns and leads. Thin: decode, call
the ``MarketingService``, encode."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import campaigns as cp
from dealercrm.application import forecasts as fc
from dealercrm.domain.campaigns import CampaignStatus, FollowUpChannel, FollowUpOutcome, LeadStatus, contact_due
from dealercrm.application import key_accounts as ka
from dealercrm.application import knowledge as kb
from dealercrm.application import learning
from dealercrm.domain.key_accounts import AccountContact, BidOutcome
from dealercrm.domain.forecasts import LineIn, parse_month
from dealercrm.application import training as tr
from dealercrm.domain.knowledge import ArticleKind, ArticleStatus, AttachmentRef
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.training import InvitationResponse, MeetingStatus, TrainingAudience, TrainingStatus
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.schemas import Request as Body
from dealercrm.entrypoints.http.security import ANY_USER, requires
from dealercrm.entrypoints.http.schemas import Page
from dealercrm.application.services.marketing import MarketingService
from dealercrm.domain.knowledge import Readership
from dealercrm.domain.training import InviteeKind

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
Reason = Annotated[str, msgspec.Meta(max_length=500)]
Url = Annotated[str, msgspec.Meta(max_length=500)]
Id = Annotated[int, msgspec.Meta(ge=1)]
ORGANIZERS = tr.ORGANIZERS
User = Request[Principal, Any, Any]


def _page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["id"]) if more and rows else None


# ---------------------------------------------------------------------------------------------
# Training


class InviteeBody(Body):
    kind: InviteeKind
    id: Id
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class TrainingIn(Body):
    title: Title
    topic: Short
    audience: TrainingAudience
    starts_at: dt.datetime
    ends_at: dt.datetime
    online: bool
    invitees: Annotated[list[InviteeBody], msgspec.Meta(max_length=500)] = []
    location: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    product_line: Code | None = None
    description: Annotated[str, msgspec.Meta(max_length=5000)] | None = None
    vr_url: Url | None = None


class InviteIn(Body):
    invitees: Annotated[list[InviteeBody], msgspec.Meta(min_length=1, max_length=500)]


class RespondIn(Body):
    confirm: bool
    reason: Reason | None = None


class ParticipantBody(Body):
    invitation_id: Id
    name: Short
    attended: bool = True
    feedback_score: int | None = None
    quiz_score: int | None = None
    comment: Reason | None = None


class ParticipantsIn(Body):
    participants: Annotated[list[ParticipantBody], msgspec.Meta(min_length=1, max_length=500)]


class FeedbackIn(Body):
    feedback_score: int | None = None
    quiz_score: int | None = None
    comment: Reason | None = None


class RescheduleIn(Body):
    starts_at: dt.datetime
    ends_at: dt.datetime


class ReasonIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class TrainingCreatedOut(msgspec.Struct):
    id: int
    training_no: str
    meeting_status: MeetingStatus
    meeting_status_label: str


class TrainingRowOut(msgspec.Struct):
    id: int
    training_no: str
    title: str
    topic: str
    product_line: str | None
    audience: TrainingAudience
    audience_label: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    online: bool
    location: str | None
    status: TrainingStatus
    status_label: str
    meeting_status: MeetingStatus
    organizer_name: str
    my_response: InvitationResponse | None = None


class TrainingPage(msgspec.Struct):
    items: list[TrainingRowOut]
    next_cursor: str | None


class InvitationOut(msgspec.Struct):
    id: int
    invitee_kind: InviteeKind
    invitee_id: int
    invitee_name: str
    response: InvitationResponse
    response_label: str
    reason: str | None
    responded_at: dt.datetime | None
    responded_by_name: str | None


class ParticipantOut(msgspec.Struct):
    id: int
    invitation_id: int
    name: str
    attended: bool
    feedback_score: int | None
    quiz_score: int | None
    comment: str | None
    recorded_at: dt.datetime


class MeetingOut(msgspec.Struct):
    status: MeetingStatus
    status_label: str
    join_url: str | None
    meeting_id: str | None
    passcode: str | None
    attempts: int
    error: str | None


class TrainingOut(msgspec.Struct):
    id: int
    training_no: str
    title: str
    topic: str
    product_line: str | None
    audience: TrainingAudience
    audience_label: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    online: bool
    location: str | None
    description: str | None
    vr_url: str | None
    status: TrainingStatus
    status_label: str
    cancel_reason: str | None
    organizer_name: str
    meeting: MeetingOut
    invitations: list[InvitationOut]
    participants: list[ParticipantOut]


class EffectOut(msgspec.Struct):
    invited: int
    confirmed: int
    declined: int
    pending: int
    registered: int
    attended: int
    attendance_rate_pct: float | None
    feedback_count: int
    feedback_avg: float | None
    feedback_distribution: dict[str, int]
    quiz_count: int
    quiz_avg: float | None
    quiz_pass_count: int
    quiz_pass_mark: int


class InviteeEffectOut(msgspec.Struct):
    invitation_id: int
    invitee_kind: InviteeKind
    invitee_id: int
    invitee_name: str
    response: InvitationResponse
    summary: EffectOut


class TrainingEffectOut(msgspec.Struct):
    training_id: int
    summary: EffectOut
    per_invitee: list[InviteeEffectOut]


class StatusOut(msgspec.Struct):
    id: int
    status: str


class IdsOut(msgspec.Struct):
    ids: list[int]


class CountOut(msgspec.Struct):
    count: int


class MeetingParticipantOut(msgspec.Struct):
    name: str
    joined_at: dt.datetime
    left_at: dt.datetime | None


def _effect(s: Any) -> EffectOut:
    return EffectOut(s.invited, s.confirmed, s.declined, s.pending, s.registered, s.attended, s.attendance_rate_pct,
                     s.feedback_count, s.feedback_avg, {str(k): v for k, v in s.feedback_distribution.items()},
                     s.quiz_count, s.quiz_avg, s.quiz_pass_count, s.quiz_pass_mark)


def _training_row(r: dict[str, Any]) -> TrainingRowOut:
    return TrainingRowOut(
        id=r["id"], training_no=r["training_no"], title=r["title"], topic=r["topic"], product_line=r["product_line"],
        audience=r["audience"], audience_label=TrainingAudience(r["audience"]).label, starts_at=r["starts_at"],
        ends_at=r["ends_at"], online=r["online"], location=r["location"], status=r["status"],
        status_label=TrainingStatus(r["status"]).label, meeting_status=r["meeting_status"],
        organizer_name=r["organizer_name"], my_response=r.get("my_response"),
    )


def _training(r: dict[str, Any]) -> TrainingOut:
    return TrainingOut(
        id=r["id"], training_no=r["training_no"], title=r["title"], topic=r["topic"], product_line=r["product_line"],
        audience=r["audience"], audience_label=TrainingAudience(r["audience"]).label, starts_at=r["starts_at"],
        ends_at=r["ends_at"], online=r["online"], location=r["location"], description=r["description"],
        vr_url=r["vr_url"], status=r["status"], status_label=TrainingStatus(r["status"]).label,
        cancel_reason=r["cancel_reason"], organizer_name=r["organizer_name"],
        meeting=MeetingOut(r["meeting_status"], MeetingStatus(r["meeting_status"]).label, r["meeting_join_url"],
                           r["meeting_id"] if r["meeting_join_url"] else None, r["meeting_passcode"],
                           r["meeting_attempts"], r["meeting_error"]),
        invitations=[InvitationOut(i["id"], i["invitee_kind"], i["invitee_id"], i["invitee_name"], i["response"],
                                   InvitationResponse(i["response"]).label, i["reason"], i["responded_at"],
                                   i["responded_by_name"]) for i in r["invitations"]],
        participants=[ParticipantOut(p["id"], p["invitation_id"], p["name"], p["attended"], p["feedback_score"],
                                     p["quiz_score"], p["comment"], p["recorded_at"]) for p in r["participants"]],
    )


def _invitees(items: list[InviteeBody]) -> tuple[tr.InviteeIn, ...]:
    return tuple(tr.InviteeIn(i.kind, i.id, i.name) for i in items)


class TrainingController(Controller):
    path = "/api/v1/trainings"
    tags = ["trainings 培训管理"]

    @post("/", guards=[requires(*ORGANIZERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="发起培训 Create a training, invite, notify; online → a video meeting (marketing, after-sales)")
    def create(self, data: TrainingIn, request: User, marketing: MarketingService) -> TrainingCreatedOut:
        created = marketing.create_training(request.user, tr.CreateTraining(
            title=data.title, topic=data.topic, audience=data.audience, starts_at=data.starts_at,
            ends_at=data.ends_at, online=data.online, invitees=_invitees(data.invitees), location=data.location,
            product_line=data.product_line, description=data.description, vr_url=data.vr_url,
        ))
        return TrainingCreatedOut(created.id, created.training_no, MeetingStatus(created.meeting_status),
                                  MeetingStatus(created.meeting_status).label)

    @get("/", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="培训列表 Trainings (organisers: all; others: those they are invited to)")
    def list_trainings(self, request: User, marketing: MarketingService, status: TrainingStatus | None = None,
                       audience: TrainingAudience | None = None,
                       starts_from: dt.datetime | None = None, starts_before: dt.datetime | None = None,
                       cursor: str | None = None, limit: Limit = 50) -> TrainingPage:
        rows = marketing.trainings(request.user, status=status, audience=audience,
                                                   starts_from=starts_from, starts_before=starts_before,
                                                   before_id=decode_cursor(cursor), limit=limit + 1)
        rows, nxt = _page(rows, limit)
        return TrainingPage([_training_row(r) for r in rows], nxt)

    @get("/{training_id:int}", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="培训详情 One training (invitees see their own invitation and participants only)")
    def detail(self, training_id: int, request: User, marketing: MarketingService) -> TrainingOut:
        return _training(marketing.training(request.user, training_id))

    @post("/{training_id:int}/invitations", guards=[requires(*ORGANIZERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="追加邀请 Invite more dealers / sales staff / stations")
    def invite(self, training_id: int, data: InviteIn, request: User, marketing: MarketingService) -> CountOut:
        return CountOut(marketing.invite(request.user, training_id, _invitees(data.invitees)))

    @post("/{training_id:int}/response", guards=[requires(*ANY_USER)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="确认/谢绝 The invitee confirms, or declines with a reason")
    def respond(self, training_id: int, data: RespondIn, request: User, marketing: MarketingService) -> StatusOut:
        answer = marketing.respond(request.user, training_id, data.confirm, data.reason)
        return StatusOut(training_id, answer)

    @post("/{training_id:int}/participants", guards=[requires(*ORGANIZERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="签到与评分 Record attendance, feedback (1–5) and quiz scores (0–100)")
    def participants(self, training_id: int, data: ParticipantsIn, request: User, marketing: MarketingService) -> IdsOut:
        ids = marketing.record_participants(request.user, training_id, tuple(
            tr.ParticipantIn(p.invitation_id, p.name, p.attended, p.feedback_score, p.quiz_score, p.comment)
            for p in data.participants))
        return IdsOut(ids)

    @post("/{training_id:int}/participants/{participant_id:int}/feedback", guards=[requires(*ANY_USER)],
          status_code=HTTP_200_OK, sync_to_thread=True,
          summary="培训反馈 Feedback of a participant (organisers; the invitee for its own people, without quiz)")
    def feedback(self, training_id: int, participant_id: int, data: FeedbackIn, request: User,
                 marketing: MarketingService) -> StatusOut:
        marketing.give_feedback(request.user, training_id, participant_id,
                                                feedback_score=data.feedback_score, quiz_score=data.quiz_score,
                                                comment=data.comment)
        return StatusOut(participant_id, "recorded")

    @get("/{training_id:int}/effect", guards=[requires(*ORGANIZERS)], sync_to_thread=True,
         summary="培训效果分析 Answers, attendance, feedback and quiz per training and per invitee")
    def effect(self, training_id: int, request: User, marketing: MarketingService) -> TrainingEffectOut:
        e = marketing.training_effect(request.user, training_id)
        return TrainingEffectOut(training_id, _effect(e["summary"]), [
            InviteeEffectOut(x["invitation_id"], x["invitee_kind"], x["invitee_id"], x["invitee_name"],
                             x["response"], _effect(x["summary"])) for x in e["per_invitee"]])

    @post("/{training_id:int}/cancel", guards=[requires(*ORGANIZERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="取消培训 Cancel (invitees are told; the meeting is cancelled)")
    def cancel(self, training_id: int, data: ReasonIn, request: User, marketing: MarketingService) -> TrainingOut:
        marketing.cancel_training(request.user, training_id, data.reason)
        return _training(marketing.training(request.user, training_id))

    @post("/{training_id:int}/reschedule", guards=[requires(*ORGANIZERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="培训改期 New time window: invitees confirm again, the meeting is replaced")
    def reschedule(self, training_id: int, data: RescheduleIn, request: User, marketing: MarketingService) -> TrainingOut:
        marketing.reschedule_training(request.user, training_id, data.starts_at, data.ends_at)
        return _training(marketing.training(request.user, training_id))

    @post("/{training_id:int}/complete", guards=[requires(*ORGANIZERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="结束培训 Mark as held (after its end)")
    def complete(self, training_id: int, request: User, marketing: MarketingService) -> StatusOut:
        return StatusOut(training_id, marketing.complete_training(request.user, training_id))

    @post("/{training_id:int}/meeting/sync", guards=[requires(*ORGANIZERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="重试视频会议 Ask the video provider now (create or cancel the meeting)")
    def sync_meeting(self, training_id: int, request: User, marketing: MarketingService) -> TrainingOut:
        marketing.retry_meeting(request.user, training_id)
        return _training(marketing.training(request.user, training_id))

    @get("/{training_id:int}/meeting/participants", guards=[requires(*ORGANIZERS)], sync_to_thread=True,
         summary="会议参会记录 Who joined the online meeting, from the provider")
    def meeting_participants(self, training_id: int, request: User, marketing: MarketingService) -> Page[MeetingParticipantOut]:
        return Page([MeetingParticipantOut(p.name, p.joined_at, p.left_at)
                     for p in marketing.meeting_participants(request.user, training_id)], None)


# ---------------------------------------------------------------------------------------------
# Knowledge base

Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=30)]


class AttachmentBody(Body):
    name: Title
    url: Url


class ArticleIn(Body):
    title: Title
    topic: Short
    kind: ArticleKind
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = []
    product_lines: Annotated[list[Code], msgspec.Meta(max_length=3)] = []
    audience: Annotated[list[Code], msgspec.Meta(max_length=2)] = []
    attachments: Annotated[list[AttachmentBody], msgspec.Meta(max_length=20)] = []
    publish: bool = False


class ArticlePatch(Body):
    title: Title | None = None
    topic: Short | None = None
    kind: ArticleKind | None = None
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)] | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] | None = None
    product_lines: Annotated[list[Code], msgspec.Meta(max_length=3)] | None = None
    audience: Annotated[list[Code], msgspec.Meta(max_length=2)] | None = None
    attachments: Annotated[list[AttachmentBody], msgspec.Meta(max_length=20)] | None = None


class ArticleRefOut(msgspec.Struct):
    id: int
    article_no: str
    revision: int
    status: ArticleStatus


class AttachmentOut(msgspec.Struct):
    name: str
    url: str


class ArticleRowOut(msgspec.Struct):
    id: int
    article_no: str
    title: str
    topic: str
    kind: ArticleKind
    kind_label: str
    tags: list[str]
    product_lines: list[str]
    audience: list[str]
    status: ArticleStatus
    status_label: str
    revision: int
    published_at: dt.datetime | None
    updated_at: dt.datetime | None
    excerpt: str


class ArticlePage(msgspec.Struct):
    items: list[ArticleRowOut]
    next_cursor: str | None


class ArticleOut(msgspec.Struct):
    id: int
    article_no: str
    title: str
    topic: str
    kind: ArticleKind
    kind_label: str
    body: str
    tags: list[str]
    product_lines: list[str]
    audience: list[str]
    attachments: list[AttachmentOut]
    status: ArticleStatus
    status_label: str
    revision: int
    created_at: dt.datetime
    created_by_name: str
    published_at: dt.datetime | None
    updated_at: dt.datetime | None
    updated_by_name: str | None


class RevisionOut(msgspec.Struct):
    revision: int
    title: str
    body: str
    tags: list[str]
    edited_at: dt.datetime
    edited_by_name: str


class TopicOut(msgspec.Struct):
    topic: str
    count: int


class ReadingIn(Body):
    article_id: Id
    readership: Readership
    due_on: dt.date
    target_ids: Annotated[list[Id], msgspec.Meta(max_length=500)] = []
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class ReadingRefOut(msgspec.Struct):
    id: int
    article_id: int
    readership: Readership
    due_on: dt.date
    cancelled: bool


class ReadingOut(msgspec.Struct):
    """An assignment. Editors get ``addressed``/``read`` counts; a dealer or station reader gets
    ``read_at`` (their own) and ``overdue``."""

    id: int
    article_id: int
    article_no: str
    title: str
    readership: Readership
    target_ids: list[int]
    due_on: dt.date
    note: str
    created_at: dt.datetime
    created_by_name: str
    cancelled: bool
    addressed: int | None = None
    read: int | None = None
    read_at: dt.datetime | None = None
    overdue: bool | None = None


class ReaderOut(msgspec.Struct):
    user_id: int
    display_name: str
    org_id: int | None
    org_name: str | None
    read_at: dt.datetime | None


class ReadingProgressOut(msgspec.Struct):
    assignment: ReadingOut
    people: list[ReaderOut]


class ArticleReaderOut(msgspec.Struct):
    user_id: int
    display_name: str
    role: Role
    org_name: str
    first_read_at: dt.datetime
    last_read_at: dt.datetime
    read_count: int


def _reading(r: dict[str, Any]) -> ReadingOut:
    return ReadingOut(**{name: r[name] for name in ReadingOut.__struct_fields__ if name in r})


def _audience_of(r: dict[str, Any]) -> list[str]:
    return [name for name, on in (("dealers", r["for_dealers"]), ("stations", r["for_stations"])) if on]


def _article_row(r: dict[str, Any]) -> ArticleRowOut:
    return ArticleRowOut(r["id"], r["article_no"], r["title"], r["topic"], r["kind"], ArticleKind(r["kind"]).label,
                         r["tags"], r["product_lines"], _audience_of(r), r["status"],
                         ArticleStatus(r["status"]).label, r["revision"], r["published_at"], r["updated_at"],
                         r["excerpt"] or "")


def _article(r: dict[str, Any]) -> ArticleOut:
    return ArticleOut(r["id"], r["article_no"], r["title"], r["topic"], r["kind"], ArticleKind(r["kind"]).label,
                      r["body"], r["tags"], r["product_lines"], _audience_of(r),
                      [AttachmentOut(a["name"], a["url"]) for a in r["attachments"]], r["status"],
                      ArticleStatus(r["status"]).label, r["revision"], r["created_at"], r["created_by_name"],
                      r["published_at"], r["updated_at"], r["updated_by_name"])


def _refs(items: list[AttachmentBody] | None) -> tuple[AttachmentRef, ...] | None:
    return None if items is None else tuple(AttachmentRef(a.name, a.url) for a in items)


def _tuple(items: list[str] | None) -> tuple[str, ...] | None:
    return None if items is None else tuple(items)


class KnowledgeController(Controller):
    path = "/api/v1/knowledge"
    tags = ["knowledge 知识库"]

    @post("/articles", guards=[requires(*kb.EDITORS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="新建文章 Write an article (publish: true publishes at once)")
    def write(self, data: ArticleIn, request: User, marketing: MarketingService) -> ArticleRefOut:
        ref = marketing.write_article(request.user, kb.WriteArticle(
            title=data.title, topic=data.topic, kind=data.kind, body=data.body, tags=tuple(data.tags),
            product_lines=tuple(data.product_lines), audience=tuple(data.audience),
            attachments=_refs(data.attachments) or (), publish=data.publish))
        return ArticleRefOut(ref.id, ref.article_no, ref.revision, ArticleStatus(ref.status))

    @patch("/articles/{article_id:int}", guards=[requires(*kb.EDITORS)], sync_to_thread=True,
           summary="修改文章 Edit (a change of title, body or tags makes a new revision)")
    def edit(self, article_id: int, data: ArticlePatch, request: User, marketing: MarketingService) -> ArticleRefOut:
        ref = marketing.edit_article(request.user, kb.EditArticle(
            article_id=article_id, title=data.title, topic=data.topic, kind=data.kind, body=data.body,
            tags=_tuple(data.tags), product_lines=_tuple(data.product_lines), audience=_tuple(data.audience),
            attachments=_refs(data.attachments)))
        return ArticleRefOut(ref.id, ref.article_no, ref.revision, ArticleStatus(ref.status))

    @post("/articles/{article_id:int}/publish", guards=[requires(*kb.EDITORS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="发布 Publish")
    def publish(self, article_id: int, request: User, marketing: MarketingService) -> ArticleRefOut:
        ref = marketing.publish_article(request.user, article_id, True)
        return ArticleRefOut(ref.id, ref.article_no, ref.revision, ArticleStatus(ref.status))

    @post("/articles/{article_id:int}/unpublish", guards=[requires(*kb.EDITORS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="下架 Unpublish")
    def unpublish(self, article_id: int, request: User, marketing: MarketingService) -> ArticleRefOut:
        ref = marketing.publish_article(request.user, article_id, False)
        return ArticleRefOut(ref.id, ref.article_no, ref.revision, ArticleStatus(ref.status))

    @get("/articles", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="检索 Search: keywords segmented into Chinese words, all must match; ranked (title > tags > body)")
    def search(self, request: User, marketing: MarketingService, q: Annotated[str | None, Parameter(max_length=400)] = None,
               kind: ArticleKind | None = None, topic: str | None = None, tag: str | None = None,
               product_line: str | None = None, status: ArticleStatus | None = None, cursor: str | None = None,
               limit: Annotated[int, Parameter(ge=1, le=100)] = 20) -> ArticlePage:
        ranked = bool(q and q.split())
        offset = (decode_cursor(cursor, "at") or 0) if ranked else 0
        rows = marketing.search_articles(request.user, q, kind=kind, topic=topic, tag=tag,
                                         product_line=product_line, status=status, offset=offset,
                                         before_id=None if ranked else decode_cursor(cursor), limit=limit + 1)
        if ranked:
            rows, nxt = rows[:limit], encode_cursor(offset + limit, "at") if len(rows) > limit else None
        else:
            rows, nxt = _page(rows, limit)
        return ArticlePage([_article_row(r) for r in rows], nxt)

    @get("/articles/{article_id:int}", guards=[requires(*ANY_USER)], sync_to_thread=True, summary="文章详情")
    def detail(self, article_id: int, request: User, marketing: MarketingService) -> ArticleOut:
        return _article(marketing.article(request.user, article_id))

    @get("/articles/{article_id:int}/revisions", guards=[requires(*kb.EDITORS)], sync_to_thread=True,
         summary="历史版本 Earlier versions (editors)")
    def revisions(self, article_id: int, request: User, marketing: MarketingService) -> Page[RevisionOut]:
        return Page([RevisionOut(r["revision"], r["title"], r["body"], r["tags"], r["edited_at"], r["edited_by_name"])
                     for r in marketing.article_revisions(request.user, article_id)], None)

    @get("/topics", guards=[requires(*ANY_USER)], sync_to_thread=True, summary="主题 Topics with article counts")
    def topics(self, request: User, marketing: MarketingService) -> Page[TopicOut]:
        return Page([TopicOut(r["topic"], r["count"]) for r in marketing.article_topics(request.user)], None)

    @get("/articles/{article_id:int}/readers", guards=[requires(*kb.EDITORS)], sync_to_thread=True,
         summary="阅读记录 Who read the article, first and last visit (editors)")
    def readers(self, article_id: int, request: User, marketing: MarketingService) -> Page[ArticleReaderOut]:
        return Page([ArticleReaderOut(r["user_id"], r["display_name"], r["role"], r["org_name"], r["first_read_at"],
                                      r["last_read_at"], r["read_count"])
                     for r in marketing.article_readers(request.user, article_id)], None)

    @post("/assignments", guards=[requires(*kb.EDITORS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="指定必读 Assign required reading to dealers or stations (target_ids empty: all)")
    def assign(self, data: ReadingIn, request: User, marketing: MarketingService) -> ReadingRefOut:
        ref = marketing.assign_reading(request.user, learning.AssignReading(
            article_id=data.article_id, readership=data.readership, due_on=data.due_on,
            target_ids=tuple(data.target_ids), note=data.note))
        return ReadingRefOut(ref.id, ref.article_id, Readership(ref.readership), ref.due_on, ref.cancelled)

    @get("/assignments", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="必读 Editors: assignments with progress; dealers and stations: their required reading")
    def assignments(self, request: User, marketing: MarketingService, active_only: bool = True) -> Page[ReadingOut]:
        return Page([_reading(r) for r in marketing.reading_assignments(request.user, active_only=active_only)], None)

    @get("/assignments/{assignment_id:int}", guards=[requires(*kb.EDITORS)], sync_to_thread=True,
         summary="必读进度 Who of the addressed people has read it")
    def progress(self, assignment_id: int, request: User, marketing: MarketingService) -> ReadingProgressOut:
        row = marketing.reading_progress(request.user, assignment_id)
        return ReadingProgressOut(_reading(row), [ReaderOut(p["user_id"], p["display_name"], p["org_id"],
                                                             p["org_name"], p["read_at"]) for p in row["people"]])

    @post("/assignments/{assignment_id:int}/cancel", guards=[requires(*kb.EDITORS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="取消必读 Cancel an assignment")
    def cancel_assignment(self, assignment_id: int, request: User, marketing: MarketingService) -> ReadingRefOut:
        ref = marketing.cancel_reading(request.user, assignment_id)
        return ReadingRefOut(ref.id, ref.article_id, Readership(ref.readership), ref.due_on, ref.cancelled)


# ---------------------------------------------------------------------------------------------
# Sales forecasts

Month = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


class ForecastLineBody(Body):
    product_line: Code
    quantity: int
    template_id: Id | None = None


class ForecastIn(Body):
    month: Month
    lines: Annotated[list[ForecastLineBody], msgspec.Meta(min_length=1, max_length=100)]
    dealer_id: Id | None = None


class ForecastRefOut(msgspec.Struct):
    id: int
    dealer_id: int
    month: str
    revisions: int
    total: int
    deadline: dt.datetime


class ForecastLineOut(msgspec.Struct):
    product_line: str
    template_id: int | None
    quantity: int


class ForecastOut(msgspec.Struct):
    id: int
    dealer_id: int
    dealer_name: str
    region: str
    month: str
    submitted_at: dt.datetime
    submitted_by_name: str
    revisions: int
    updated_at: dt.datetime | None
    total: int
    lines: list[ForecastLineOut]
    deadline: dt.datetime
    locked: bool


class ForecastPage(msgspec.Struct):
    items: list[ForecastOut]
    next_cursor: str | None


class ComparisonLineOut(msgspec.Struct):
    product_line: str
    forecast: int
    actual: int  # ordered in the month
    accuracy_pct: float
    retail: int  # sold to end customers in the month (§2.2 2))
    retail_accuracy_pct: float


class DealerComparisonOut(msgspec.Struct):
    dealer_id: int
    dealer_name: str
    region: str
    submitted: bool
    forecast_total: int
    actual_total: int
    accuracy_pct: float | None
    lines: list[ComparisonLineOut]
    retail_total: int
    retail_accuracy_pct: float | None


class RegionComparisonOut(msgspec.Struct):
    region: str
    dealers: int
    forecast_total: int
    actual_total: int
    accuracy_pct: float
    retail_total: int
    retail_accuracy_pct: float


class OverallOut(msgspec.Struct):
    dealers: int
    missing_forecasts: int
    forecast_total: int
    actual_total: int
    accuracy_pct: float | None
    retail_total: int
    retail_accuracy_pct: float | None


class ForecastReportOut(msgspec.Struct):
    month: str
    deadline: dt.datetime
    dealers: list[DealerComparisonOut]
    regions: list[RegionComparisonOut]
    overall: OverallOut


class ForecastController(Controller):
    path = "/api/v1/forecasts"
    tags = ["forecasts 销售预测"]

    @post("/", guards=[requires(*fc.SUBMITTERS)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="提报/修改销售预测 Submit or revise a month's forecast before its deadline (dealer; sales on behalf)")
    def submit(self, data: ForecastIn, request: User, marketing: MarketingService) -> ForecastRefOut:
        ref = marketing.submit_forecast(request.user, fc.SubmitForecast(
            month=parse_month(data.month), dealer_id=data.dealer_id,
            lines=tuple(LineIn(x.product_line, x.quantity, x.template_id) for x in data.lines)))
        return ForecastRefOut(ref.id, ref.dealer_id, f"{ref.month:%Y-%m}", ref.revisions, ref.total, ref.deadline)

    @get("/", guards=[requires(*fc.READERS_ALL, Role.DEALER)], sync_to_thread=True,
         summary="销售预测列表 Forecasts (dealer: own; sales: their regions)")
    def list_forecasts(self, request: User, marketing: MarketingService, month: str | None = None, dealer_id: int | None = None,
                       region: str | None = None, cursor: str | None = None, limit: Limit = 50) -> ForecastPage:
        rows = marketing.forecasts(request.user, month=parse_month(month) if month else None, dealer_id=dealer_id,
                                   region=region, before_id=decode_cursor(cursor), limit=limit + 1)
        rows, nxt = _page(rows, limit)
        now = marketing.now()
        items = []
        for r in rows:
            deadline = marketing.forecast_deadline(r["month"])
            items.append(ForecastOut(r["id"], r["dealer_id"], r["dealer_name"], r["region"], f"{r['month']:%Y-%m}",
                                     r["submitted_at"], r["submitted_by_name"], r["revisions"], r["updated_at"],
                                     r["total"], [ForecastLineOut(x["product_line"], x["template_id"], x["quantity"])
                                                  for x in r["lines"]], deadline, now >= deadline))
        return ForecastPage(items, nxt)

    @get("/report", guards=[requires(*fc.READERS_ALL, Role.DEALER)], sync_to_thread=True,
         summary="预测与实际对比 Forecast vs orders submitted and vehicles sold at retail in the month, "
                 "accuracy per dealer and region")
    def report(self, request: User, marketing: MarketingService, month: str, region: str | None = None) -> ForecastReportOut:
        rep = marketing.forecast_report(request.user, parse_month(month), region)
        return ForecastReportOut(
            f"{rep['month']:%Y-%m}", rep["deadline"],
            [DealerComparisonOut(d["dealer_id"], d["dealer_name"], d["region"], d["submitted"], d["forecast_total"],
                                 d["actual_total"], d["accuracy_pct"],
                                 [ComparisonLineOut(x["product_line"], x["forecast"], x["actual"], x["accuracy_pct"],
                                                    x["retail"], x["retail_accuracy_pct"])
                                  for x in d["lines"]], d["retail_total"], d["retail_accuracy_pct"])
             for d in rep["dealers"]],
            [RegionComparisonOut(**r) for r in rep["regions"]], OverallOut(**rep["overall"]))


# ---------------------------------------------------------------------------------------------
# Key accounts and bid cases


class ContactBody(Body):
    name: Short
    title: Annotated[str, msgspec.Meta(max_length=60)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=30)] = ""


class KeyAccountIn(Body):
    name: Title
    industry: Short
    region: Annotated[str, msgspec.Meta(min_length=1, max_length=8)]
    dealer_id: Id | None = None
    sales_rep_id: Id | None = None
    contacts: Annotated[list[ContactBody], msgspec.Meta(max_length=20)] = []
    notes: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class KeyAccountPatch(Body):
    name: Title | None = None
    industry: Short | None = None
    sales_rep_id: Id | None = None
    contacts: Annotated[list[ContactBody], msgspec.Meta(max_length=20)] | None = None
    notes: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class BidIn(Body):
    title: Title
    bid_on: dt.date
    outcome: BidOutcome
    amount_fen: Annotated[int, msgspec.Meta(ge=0)]
    product_line: Code | None = None
    quantity: int | None = None
    competitors: Annotated[list[Annotated[str, msgspec.Meta(max_length=100)]], msgspec.Meta(max_length=20)] = []
    reasons: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class CreatedIdOut(msgspec.Struct):
    id: int


class KeyAccountRowOut(msgspec.Struct):
    id: int
    name: str
    industry: str
    region: str
    dealer_id: int | None
    dealer_name: str | None
    sales_rep_id: int | None
    created_at: dt.datetime
    won: int
    lost: int
    won_amount_fen: int


class KeyAccountPage(msgspec.Struct):
    items: list[KeyAccountRowOut]
    next_cursor: str | None


class BidCaseOut(msgspec.Struct):
    id: int
    title: str
    bid_on: dt.date
    outcome: BidOutcome
    outcome_label: str
    amount_fen: int
    product_line: str | None
    quantity: int | None
    competitors: list[str]
    reasons: str | None
    recorded_at: dt.datetime
    recorded_by_name: str


class ContactOut(msgspec.Struct):
    name: str
    title: str
    phone: str


class KeyAccountOut(msgspec.Struct):
    id: int
    name: str
    industry: str
    region: str
    dealer_id: int | None
    dealer_name: str | None
    sales_rep_id: int | None
    contacts: list[ContactOut]
    notes: str | None
    created_at: dt.datetime
    created_by_name: str
    updated_at: dt.datetime | None
    bid_cases: list[BidCaseOut]


class BidGroupOut(msgspec.Struct):
    cases: int
    won: int
    lost: int
    won_amount_fen: int
    lost_amount_fen: int
    win_rate_pct: float | None
    industry: str | None = None
    region: str | None = None


class CompetitorOut(msgspec.Struct):
    competitor: str
    lost_bids: int


class BidReportOut(msgspec.Struct):
    overall: BidGroupOut
    by_industry: list[BidGroupOut]
    by_region: list[BidGroupOut]
    competitors_in_lost_bids: list[CompetitorOut]


def _contacts_in(items: list[ContactBody] | None) -> tuple[AccountContact, ...] | None:
    return None if items is None else tuple(AccountContact(c.name, c.title, c.phone) for c in items)


class KeyAccountController(Controller):
    path = "/api/v1/key-accounts"
    tags = ["key accounts 大客户"]

    @post("/", guards=[requires(*ka.WRITERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="大客户建档 File a key account (dealer: own; sales: their regions)")
    def file(self, data: KeyAccountIn, request: User, marketing: MarketingService) -> CreatedIdOut:
        return CreatedIdOut(marketing.file_key_account(request.user, ka.FileKeyAccount(
            name=data.name, industry=data.industry, region=data.region, dealer_id=data.dealer_id,
            sales_rep_id=data.sales_rep_id, contacts=_contacts_in(data.contacts) or (), notes=data.notes)))

    @patch("/{account_id:int}", guards=[requires(*ka.WRITERS)], sync_to_thread=True, summary="修改大客户档案")
    def update(self, account_id: int, data: KeyAccountPatch, request: User, marketing: MarketingService) -> KeyAccountOut:
        marketing.update_key_account(request.user, ka.UpdateKeyAccount(
            account_id=account_id, name=data.name, industry=data.industry, contacts=_contacts_in(data.contacts),
            notes=data.notes, sales_rep_id=data.sales_rep_id))
        return _account(marketing.key_account(request.user, account_id))

    @post("/{account_id:int}/bids", guards=[requires(*ka.WRITERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="投标案例 Record a won or lost bid (reasons required when lost)")
    def bid(self, account_id: int, data: BidIn, request: User, marketing: MarketingService) -> CreatedIdOut:
        return CreatedIdOut(marketing.record_bid(request.user, ka.RecordBid(
            account_id=account_id, title=data.title, bid_on=data.bid_on, outcome=data.outcome,
            amount_fen=data.amount_fen, product_line=data.product_line, quantity=data.quantity,
            competitors=tuple(data.competitors), reasons=data.reasons)))

    @get("/", guards=[requires(*ka.READERS)], sync_to_thread=True, summary="大客户列表 Key accounts in scope")
    def list_accounts(self, request: User, marketing: MarketingService, q: str | None = None, industry: str | None = None,
                      region: str | None = None, dealer_id: int | None = None, cursor: str | None = None,
                      limit: Limit = 50) -> KeyAccountPage:
        rows = marketing.key_accounts(request.user, q=q, industry=industry, region=region,
                                                      dealer_id=dealer_id, before_id=decode_cursor(cursor),
                                                      limit=limit + 1)
        rows, nxt = _page(rows, limit)
        return KeyAccountPage([KeyAccountRowOut(**r) for r in rows], nxt)

    @get("/{account_id:int}", guards=[requires(*ka.READERS)], sync_to_thread=True, summary="大客户详情与投标案例")
    def detail(self, account_id: int, request: User, marketing: MarketingService) -> KeyAccountOut:
        return _account(marketing.key_account(request.user, account_id))

    @get("/bid-report", guards=[requires(*ka.READERS)], sync_to_thread=True,
         summary="投标案例统计 Won/lost, amounts and win rate overall, per industry and region; competitors")
    def report(self, request: User, marketing: MarketingService, year: Annotated[int | None, Parameter(ge=2000, le=2100)] = None
               ) -> BidReportOut:
        rep = marketing.bid_report(request.user, year)
        return BidReportOut(BidGroupOut(**rep["overall"]), [BidGroupOut(**x) for x in rep["by_industry"]],
                            [BidGroupOut(**x) for x in rep["by_region"]],
                            [CompetitorOut(**x) for x in rep["competitors_in_lost_bids"]])


def _account(r: dict[str, Any]) -> KeyAccountOut:
    return KeyAccountOut(
        id=r["id"], name=r["name"], industry=r["industry"], region=r["region"], dealer_id=r["dealer_id"],
        dealer_name=r["dealer_name"], sales_rep_id=r["sales_rep_id"],
        contacts=[ContactOut(c["name"], c.get("title", ""), c.get("phone", "")) for c in r["contacts"]],
        notes=r["notes"], created_at=r["created_at"], created_by_name=r["created_by_name"], updated_at=r["updated_at"],
        bid_cases=[BidCaseOut(b["id"], b["title"], b["bid_on"], b["outcome"], BidOutcome(b["outcome"]).label,
                              b["amount_fen"], b["product_line"], b["quantity"], b["competitors"], b["reasons"],
                              b["recorded_at"], b["recorded_by_name"]) for b in r["bid_cases"]],
    )


# ---------------------------------------------------------------------------------------------
# Campaigns and leads

Fen = Annotated[int, msgspec.Meta(ge=0, le=10**12)]


class CampaignIn(Body):
    name: Title
    target_segment: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    budget_fen: Fen
    starts_on: dt.date
    ends_on: dt.date
    product_lines: Annotated[list[Code], msgspec.Meta(max_length=3)] = []
    regions: Annotated[list[Annotated[str, msgspec.Meta(max_length=8)]], msgspec.Meta(max_length=7)] = []
    channel: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=5000)] | None = None
    activate: bool = False


class CloseIn(Body):
    actual_cost_fen: Fen | None = None


class BudgetIn(Body):
    budget_fen: Fen


class LeadIn(Body):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    dealer_id: Id | None = None
    interest: Reason | None = None
    product_line: Code | None = None


FollowUpNote = Annotated[str, msgspec.Meta(max_length=1000)]
ChannelCode = Annotated[str, msgspec.Meta(max_length=20)]


class ContactedIn(Body):
    """A logged contact: the channel (phone / visit / wechat / exhibition / other) and a note are
    required; the next contact day (Beijing) is optional, today or later."""

    channel: ChannelCode | None = None
    note: FollowUpNote | None = None
    next_contact_on: dt.date | None = None


class ConvertIn(Body):
    order_id: Id
    channel: ChannelCode | None = None
    note: FollowUpNote | None = None


class LostIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    channel: ChannelCode | None = None
    note: FollowUpNote | None = None


class CampaignRefOut(msgspec.Struct):
    id: int
    campaign_no: str
    status: CampaignStatus


class CampaignOut(msgspec.Struct):
    id: int
    campaign_no: str
    name: str
    target_segment: str
    starts_on: dt.date
    ends_on: dt.date
    product_lines: list[str]
    regions: list[str]
    channel: str | None
    description: str | None
    status: CampaignStatus
    status_label: str
    created_at: dt.datetime
    created_by_name: str
    budget_fen: int | None  # staff only
    actual_cost_fen: int | None


class CampaignPage(msgspec.Struct):
    items: list[CampaignOut]
    next_cursor: str | None


class LeadOut(msgspec.Struct):
    id: int
    campaign_id: int
    campaign_name: str
    dealer_id: int
    dealer_name: str
    name: str
    phone: str
    interest: str | None
    product_line: str | None
    status: LeadStatus
    status_label: str
    order_id: int | None
    order_no: str | None
    order_total_fen: int | None
    converted_at: dt.datetime | None
    lost_reason: str | None
    created_at: dt.datetime
    created_by_name: str
    next_contact_on: dt.date | None
    due: bool  # the next contact day has come (Beijing)
    last_follow_up_at: dt.datetime | None
    last_follow_up_by: str | None
    last_follow_up_channel: str | None
    last_follow_up_note: str | None


class FollowUpOut(msgspec.Struct):
    id: int
    at: dt.datetime
    by_name: str
    outcome: str
    outcome_label: str
    channel: str | None
    channel_label: str | None
    note: str | None
    next_contact_on: dt.date | None


class FollowUpList(msgspec.Struct):
    items: list[FollowUpOut]


class LeadPage(msgspec.Struct):
    items: list[LeadOut]
    next_cursor: str | None


class CampaignTotalsOut(msgspec.Struct):
    leads: int
    new: int
    contacted: int
    converted: int
    lost: int
    conversion_rate_pct: float | None
    revenue_fen: int
    cost_fen: int | None
    cost_per_lead_fen: int | None
    cost_per_conversion_fen: int | None
    roi_pct: float | None


class DealerLeadsOut(msgspec.Struct):
    dealer_id: int
    dealer_name: str
    region: str
    leads: int
    new: int
    contacted: int
    converted: int
    lost: int
    revenue_fen: int
    conversion_rate_pct: float | None


class CampaignReportOut(msgspec.Struct):
    campaign: CampaignOut
    totals: CampaignTotalsOut
    per_dealer: list[DealerLeadsOut]


def _campaign(r: dict[str, Any], *, staff: bool) -> CampaignOut:
    return CampaignOut(r["id"], r["campaign_no"], r["name"], r["target_segment"], r["starts_on"], r["ends_on"],
                       r["product_lines"], r["regions"], r["channel"], r["description"], r["status"],
                       CampaignStatus(r["status"]).label, r["created_at"], r["created_by_name"],
                       r["budget_fen"] if staff else None, r["actual_cost_fen"] if staff else None)


def _lead(r: dict[str, Any], today: dt.date) -> LeadOut:
    return LeadOut(r["id"], r["campaign_id"], r["campaign_name"], r["dealer_id"], r["dealer_name"], r["name"],
                   r["phone"], r["interest"], r["product_line"], r["status"], LeadStatus(r["status"]).label,
                   r["order_id"], r["order_no"], r["order_total_fen"], r["converted_at"], r["lost_reason"],
                   r["created_at"], r["created_by_name"], r["next_contact_on"], contact_due(r["next_contact_on"], today),
                   r["last_follow_up_at"], r["last_follow_up_by"], r["last_follow_up_channel"],
                   r["last_follow_up_note"])


def _follow_up(r: dict[str, Any]) -> FollowUpOut:
    channel = r["channel"]
    return FollowUpOut(r["id"], r["at"], r["by_name"], r["outcome"], FollowUpOutcome(r["outcome"]).label, channel,
                       FollowUpChannel(channel).label if channel else None, r["note"], r["next_contact_on"])


class MarketingBudgetBody(Body):
    budget_fen: Annotated[int, msgspec.Meta(ge=0, le=10**12)]
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class CampaignInviteBody(Body):
    value_classes: Annotated[list[Literal["A", "B", "C", "D"]], msgspec.Meta(max_length=4)] = []


class CampaignController(Controller):
    path = "/api/v1/campaigns"
    tags = ["campaigns 营销推广"]

    @post("/", guards=[requires(*cp.PLANNERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="创建营销活动 Plan a campaign: target segment, budget (fen), period (marketing)")
    def plan(self, data: CampaignIn, request: User, marketing: MarketingService) -> CampaignRefOut:
        ref = marketing.plan_campaign(request.user, cp.PlanCampaign(
            name=data.name, target_segment=data.target_segment, budget_fen=data.budget_fen,
            starts_on=data.starts_on, ends_on=data.ends_on, product_lines=tuple(data.product_lines),
            regions=tuple(data.regions), channel=data.channel, description=data.description,
            activate=data.activate))
        return CampaignRefOut(ref.id, ref.campaign_no, CampaignStatus(ref.status))

    @put("/plans/{year:int}", guards=[requires(*cp.PLANNERS)], sync_to_thread=True,
         summary="市场营销预算 Set the year's marketing budget the campaigns are planned within")
    def set_plan(self, year: int, data: MarketingBudgetBody, request: User, marketing: MarketingService
                 ) -> dict[str, Any]:
        marketing.set_marketing_budget(request.user, year, data.budget_fen, data.note)
        return marketing.marketing_plan(request.user, year)

    @get("/plans/{year:int}", guards=[requires(*cp.PLANNERS)], sync_to_thread=True,
         summary="市场营销计划 The year's budget, its campaigns with cost, leads, revenue and ROI, and the totals")
    def plan_of_year(self, year: int, request: User, marketing: MarketingService) -> dict[str, Any]:
        return marketing.marketing_plan(request.user, year)

    @get("/{campaign_id:int}/targets", guards=[requires(*cp.PLANNERS)], sync_to_thread=True,
         summary="目标名单 The dealers the campaign targets: its regions and product lines, optionally value classes")
    def targets(self, campaign_id: int, request: User, marketing: MarketingService,
                value_class: list[str] | None = None) -> dict[str, Any]:
        rows = marketing.campaign_targets(request.user, campaign_id, value_classes=tuple(value_class or ()))
        return {"items": rows}

    @post("/{campaign_id:int}/invitations", guards=[requires(*cp.PLANNERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="邀请目标经销商 E-mail the target list's invitations through the outbox (once each)")
    def invite(self, campaign_id: int, data: CampaignInviteBody, request: User,
               marketing: MarketingService) -> dict[str, int]:
        return marketing.invite_targets(request.user, campaign_id, value_classes=tuple(data.value_classes))

    @post("/{campaign_id:int}/activate", guards=[requires(*cp.PLANNERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="启动活动 Start")
    def activate(self, campaign_id: int, request: User, marketing: MarketingService) -> StatusOut:
        return StatusOut(campaign_id, marketing.change_campaign(request.user, campaign_id,
                                                                                "activate"))

    @post("/{campaign_id:int}/close", guards=[requires(*cp.PLANNERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="结束活动 Close, optionally with the actual cost")
    def close(self, campaign_id: int, data: CloseIn, request: User, marketing: MarketingService) -> StatusOut:
        return StatusOut(campaign_id, marketing.change_campaign(
            request.user, campaign_id, "close", actual_cost_fen=data.actual_cost_fen))

    @post("/{campaign_id:int}/cancel", guards=[requires(*cp.PLANNERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="取消活动 Cancel")
    def cancel(self, campaign_id: int, request: User, marketing: MarketingService) -> StatusOut:
        return StatusOut(campaign_id, marketing.change_campaign(request.user, campaign_id, "cancel"))

    @post("/{campaign_id:int}/budget", guards=[requires(*cp.PLANNERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="调整预算 Change the budget (fen)")
    def budget(self, campaign_id: int, data: BudgetIn, request: User, marketing: MarketingService) -> StatusOut:
        return StatusOut(campaign_id, marketing.change_campaign(
            request.user, campaign_id, "budget", budget_fen=data.budget_fen))

    @get("/", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="营销活动 Campaigns (dealers: the running or finished ones they have leads in, without budget)")
    def list_campaigns(self, request: User, marketing: MarketingService, status: CampaignStatus | None = None, cursor: str | None = None,
                       limit: Limit = 50) -> CampaignPage:
        rows = marketing.campaigns(request.user, status=status, before_id=decode_cursor(cursor),
                                                   limit=limit + 1)
        rows, nxt = _page(rows, limit)
        staff = request.user.role.is_staff
        return CampaignPage([_campaign(r, staff=staff) for r in rows], nxt)

    @get("/{campaign_id:int}", guards=[requires(*ANY_USER)], sync_to_thread=True, summary="活动详情")
    def detail(self, campaign_id: int, request: User, marketing: MarketingService) -> CampaignOut:
        return _campaign(marketing.campaign(request.user, campaign_id),
                         staff=request.user.role.is_staff)

    @get("/{campaign_id:int}/report", guards=[requires(*cp.REPORT_READERS)], sync_to_thread=True,
         summary="活动效果 Leads, conversions, revenue of linked orders, cost per lead, ROI (regional staff: their dealers, without costs)")
    def report(self, campaign_id: int, request: User, marketing: MarketingService) -> CampaignReportOut:
        rep = marketing.campaign_report(request.user, campaign_id)
        return CampaignReportOut(_campaign(rep["campaign"], staff=True), CampaignTotalsOut(**rep["totals"]),
                                 [DealerLeadsOut(**r) for r in rep["per_dealer"]])

    @post("/{campaign_id:int}/leads", guards=[requires(*cp.LEAD_WRITERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="登记线索 Capture a lead (dealer: for itself; staff: name the dealer)")
    def capture(self, campaign_id: int, data: LeadIn, request: User, marketing: MarketingService) -> CreatedIdOut:
        return CreatedIdOut(marketing.capture_lead(request.user, cp.CaptureLead(
            campaign_id=campaign_id, name=data.name, phone=data.phone, dealer_id=data.dealer_id,
            interest=data.interest, product_line=data.product_line)))


class LeadController(Controller):
    path = "/api/v1/leads"
    tags = ["campaigns 营销推广"]
    guards = [requires(*cp.LEAD_WRITERS)]

    @get("/", sync_to_thread=True, summary="线索 Leads in scope (dealer: own); due=true: next contact day has come")
    def list_leads(self, request: User, marketing: MarketingService, campaign_id: int | None = None,
                   status: LeadStatus | None = None, dealer_id: int | None = None, due: bool = False,
                   cursor: str | None = None, limit: Limit = 50) -> LeadPage:
        rows = marketing.leads(request.user, campaign_id=campaign_id, status=status, dealer_id=dealer_id, due=due,
                               before_id=decode_cursor(cursor), limit=limit + 1)
        rows, nxt = _page(rows, limit)
        today = marketing.contact_today()
        return LeadPage([_lead(r, today) for r in rows], nxt)

    @get("/{lead_id:int}", sync_to_thread=True, summary="线索详情")
    def detail(self, lead_id: int, request: User, marketing: MarketingService) -> LeadOut:
        return _lead(marketing.lead(request.user, lead_id), marketing.contact_today())

    @get("/{lead_id:int}/follow-ups", sync_to_thread=True, summary="跟进记录 The lead's follow-ups, newest first")
    def follow_ups(self, lead_id: int, request: User, marketing: MarketingService) -> FollowUpList:
        return FollowUpList([_follow_up(r) for r in marketing.lead_follow_ups(request.user, lead_id)])

    @post("/{lead_id:int}/contacted", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="已跟进 Log a contact: channel, note, optional next contact day (the lead stays or becomes contacted)")
    def contacted(self, lead_id: int, request: User, marketing: MarketingService,
                  data: ContactedIn | None = None) -> StatusOut:
        body = data or ContactedIn()
        return StatusOut(lead_id, marketing.follow_up_lead(request.user, lead_id, cp.FollowUp(
            "contacted", channel=body.channel, note=body.note, next_contact_on=body.next_contact_on)))

    @post("/{lead_id:int}/convert", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="成交 Link the order the lead became (one of the dealer's submitted orders)")
    def convert(self, lead_id: int, data: ConvertIn, request: User, marketing: MarketingService) -> StatusOut:
        return StatusOut(lead_id, marketing.follow_up_lead(request.user, lead_id, cp.FollowUp(
            "convert", order_id=data.order_id, channel=data.channel, note=data.note)))

    @post("/{lead_id:int}/lost", status_code=HTTP_200_OK, sync_to_thread=True, summary="流失 Lost, with a reason")
    def lost(self, lead_id: int, data: LostIn, request: User, marketing: MarketingService) -> StatusOut:
        return StatusOut(lead_id, marketing.follow_up_lead(request.user, lead_id, cp.FollowUp(
            "lost", reason=data.reason, channel=data.channel, note=data.note)))


MARKETING_CONTROLLERS: list[Any] = [TrainingController, KnowledgeController, ForecastController,
                                    KeyAccountController, CampaignController, LeadController]
