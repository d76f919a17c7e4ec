"""HTTP for the engagement context: workbench, alerts, announcements, calendar (JSON + iCalendar
feed), failed notifications. Thin: decode, call the ``EngagementService``, encode."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import announcements as an
from dealercrm.application.ports.workbench import WorkbenchItem
from dealercrm.domain.alerts import AlertState, Severity
from dealercrm.domain.announcements import AnnouncementCategory, AnnouncementStatus
from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.errors import InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.schemas import CreatedOut, Request as Body
from dealercrm.entrypoints.http.security import ANY_USER, STAFF, public, requires
from dealercrm.entrypoints.http.schemas import Page
from dealercrm.application.services.engagement import EngagementService
from dealercrm.domain.announcements import AnnouncementAudience
from dealercrm.domain.notifications import NotificationStatus

PUBLISHERS = (Role.MARKETING, Role.ADMIN)
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


# ---------------------------------------------------------------------------------------------
# Structs


class WorkbenchItemOut(msgspec.Struct):
    id: str
    title: str
    summary: str
    at: dt.datetime | None
    due: str | None  # ISO date (YYYY-MM-DD) or date-time
    state: str | None
    severity: str | None
    subject_type: str | None
    subject_id: str | None
    unread: bool
    extra: dict[str, Any]


class WorkbenchCategoryOut(msgspec.Struct):
    code: str
    label: str
    count: int
    unread: int
    items: list[WorkbenchItemOut]


class WorkbenchOut(msgspec.Struct):
    generated_at: dt.datetime
    categories: list[WorkbenchCategoryOut]


class AlertOut(msgspec.Struct):
    id: int
    rule: str
    key: str
    severity: Severity
    severity_label: str
    title: str
    body: str
    subject_type: str | None
    subject_id: str | None
    due_on: dt.date | None
    state: AlertState
    state_label: str
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by_name: str | None
    resolved_at: dt.datetime | None
    resolved_by_name: str | None


class AlertPage(msgspec.Struct):
    items: list[AlertOut]
    next_cursor: str | None


class AlertStateOut(msgspec.Struct):
    id: int
    state: AlertState
    state_label: str


class AnnouncementIn(Body):
    title: Title
    body: LongText
    category: AnnouncementCategory = AnnouncementCategory.NOTICE
    audience: AnnouncementAudience = AnnouncementAudience.ALL
    roles: Annotated[list[Code], msgspec.Meta(max_length=20)] = []
    dealer_ids: Annotated[list[int], msgspec.Meta(max_length=1000)] = []
    publish_from: dt.datetime | None = None
    publish_until: dt.datetime | None = None


class AnnouncementPatch(Body):
    title: Title | None = None
    body: LongText | None = None
    category: AnnouncementCategory | None = None
    audience: AnnouncementAudience | None = None
    roles: Annotated[list[Code], msgspec.Meta(max_length=20)] | None = None
    dealer_ids: Annotated[list[int], msgspec.Meta(max_length=1000)] | None = None
    publish_from: dt.datetime | None = None
    publish_until: dt.datetime | None = None
    clear_until: bool = False


class AnnouncementOut(msgspec.Struct):
    id: int
    title: str
    body: str
    category: AnnouncementCategory
    category_label: str
    audience: AnnouncementAudience
    publish_from: dt.datetime
    publish_until: dt.datetime | None
    status: AnnouncementStatus
    status_label: str
    created_at: dt.datetime
    created_by_name: str
    updated_at: dt.datetime | None
    read_at: dt.datetime | None = None
    roles: list[Role] | None = None  # audience details: for publishers only
    dealer_ids: list[int] | None = None


class AnnouncementPage(msgspec.Struct):
    items: list[AnnouncementOut]
    next_cursor: str | None


class ReadOut(msgspec.Struct):
    announcement_id: int
    read_at: dt.datetime


class ReaderOut(msgspec.Struct):
    user_id: int
    username: str
    display_name: str
    role: Role
    dealer_id: int | None
    read_at: dt.datetime | None = None


class ReceiptsOut(msgspec.Struct):
    announcement_id: int
    read_count: int
    unread_count: int
    read: list[ReaderOut]
    unread: list[ReaderOut]


class CalendarItemOut(msgspec.Struct):
    uid: str
    source: str
    title: str
    all_day: bool
    start: str  # ISO date when all_day, else ISO date-time (UTC)
    end: str | None
    description: str
    subject_type: str | None
    subject_id: str | None


class CalendarOut(msgspec.Struct):
    start: dt.date
    end: dt.date
    items: list[CalendarItemOut]


class FeedTokenOut(msgspec.Struct):
    token: str
    url: str
    note: str


class RequeueOut(msgspec.Struct):
    id: str
    status: NotificationStatus


# ---------------------------------------------------------------------------------------------
# Mapping


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _item(i: WorkbenchItem) -> WorkbenchItemOut:
    return WorkbenchItemOut(i.id, i.title, i.summary, i.at, _iso(i.due), i.state, i.severity, i.subject_type,
                            i.subject_id, i.unread, dict(i.extra))


def _alert(r: dict[str, Any]) -> AlertOut:
    return AlertOut(
        id=r["id"], rule=r["rule"], key=r["key"], severity=r["severity"], severity_label=Severity(r["severity"]).label,
        title=r["title"], body=r["body"], subject_type=r["subject_type"], subject_id=r["subject_id"],
        due_on=r["due_on"], state=r["state"], state_label=AlertState(r["state"]).label, raised_at=r["raised_at"],
        acknowledged_at=r["acknowledged_at"], acknowledged_by_name=r["acknowledged_by_name"],
        resolved_at=r["resolved_at"], resolved_by_name=r["resolved_by_name"],
    )


def _announcement(r: dict[str, Any], *, publisher: bool) -> AnnouncementOut:
    return AnnouncementOut(
        id=r["id"], title=r["title"], body=r["body"], category=r["category"],
        category_label=AnnouncementCategory(r["category"]).label, audience=r["audience"],
        publish_from=r["publish_from"], publish_until=r["publish_until"], status=r["status"],
        status_label=AnnouncementStatus(r["status"]).label, created_at=r["created_at"],
        created_by_name=r["created_by_name"], updated_at=r["updated_at"], read_at=r.get("read_at"),
        roles=r.get("roles") if publisher else None, dealer_ids=r.get("dealer_ids") if publisher else None,
    )


def _calendar_item(i: CalendarItem) -> CalendarItemOut:
    return CalendarItemOut(i.uid, i.source, i.title, i.all_day, _iso(i.start) or "", _iso(i.end), i.description,
                           i.subject_type, i.subject_id)


def _reader(r: dict[str, Any]) -> ReaderOut:
    return ReaderOut(r["user_id"], r["username"], r["display_name"], r["role"], r["dealer_id"], r.get("read_at"))


def _page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["id"]) if more and rows else None


_STATE_FILTERS = {
    "live": ("open", "acknowledged"),
    "open": ("open",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved",),
    "all": ("open", "acknowledged", "resolved"),
}


# ---------------------------------------------------------------------------------------------
# Controllers


class WorkbenchController(Controller):
    path = "/api/v1/workbench"
    tags = ["workbench 工作台"]
    guards = [requires(*ANY_USER)]

    @get("/", sync_to_thread=True,
         summary="工作台 Pending approvals, tasks, alerts, failed notifications and announcements, with counts")
    def workbench(self, request: Request[Principal, Any, Any], engagement: EngagementService,
                  limit: Annotated[int, Parameter(ge=1, le=20, description="items per category")] = 5
                  ) -> WorkbenchOut:
        categories = engagement.workbench(request.user, limit=limit)
        return WorkbenchOut(engagement.now(), [
            WorkbenchCategoryOut(c.code, c.label, c.count, c.unread, [_item(i) for i in c.items]) for c in categories
        ])


class AlertController(Controller):
    path = "/api/v1/alerts"
    tags = ["alerts 预警提醒"]
    guards = [requires(*ANY_USER)]

    @get("/", sync_to_thread=True, summary="我的提醒 Alerts addressed to me (keyset pagination)")
    def list_alerts(self, request: Request[Principal, Any, Any], engagement: EngagementService,
                    status: Annotated[str, Parameter(query="state", description="live|open|acknowledged|resolved|all")]
                    = "live", cursor: str | None = None, limit: Limit = 50) -> AlertPage:
        if status not in _STATE_FILTERS:
            raise InvalidValue("state", "状态须为 live、open、acknowledged、resolved 或 all", code="alert.state_unknown")
        rows = engagement.alerts(request.user, states=_STATE_FILTERS[status],
                                                 after_id=decode_cursor(cursor), limit=limit + 1)
        rows, nxt = _page(rows, limit)
        return AlertPage([_alert(r) for r in rows], nxt)

    @get("/{alert_id:int}", sync_to_thread=True, summary="提醒详情 One alert")
    def detail(self, alert_id: int, request: Request[Principal, Any, Any], engagement: EngagementService) -> AlertOut:
        return _alert(engagement.alert(request.user, alert_id))

    @post("/{alert_id:int}/acknowledge", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="知悉 Acknowledge an alert (anyone in its audience)")
    def acknowledge(self, alert_id: int, request: Request[Principal, Any, Any], engagement: EngagementService) -> AlertStateOut:
        new_state = engagement.acknowledge_alert(request.user, alert_id)
        return AlertStateOut(alert_id, AlertState(new_state), AlertState(new_state).label)


class AnnouncementController(Controller):
    path = "/api/v1/announcements"
    tags = ["announcements 公告"]

    @post("/", guards=[requires(*PUBLISHERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="发布公告 Publish an announcement (marketing, admin)")
    def publish(self, data: AnnouncementIn, request: Request[Principal, Any, Any], engagement: EngagementService) -> CreatedOut:
        ann_id = engagement.publish_announcement(request.user, an.PublishAnnouncement(
            title=data.title, body=data.body, category=data.category, audience=data.audience,
            roles=tuple(data.roles), dealer_ids=tuple(data.dealer_ids), publish_from=data.publish_from,
            publish_until=data.publish_until,
        ))
        return CreatedOut(ann_id)

    @patch("/{announcement_id:int}", guards=[requires(*PUBLISHERS)], sync_to_thread=True,
           summary="修改公告 Edit an announcement (marketing, admin)")
    def edit(self, announcement_id: int, data: AnnouncementPatch, request: Request[Principal, Any, Any],
             engagement: EngagementService) -> AnnouncementOut:
        engagement.edit_announcement(request.user, an.EditAnnouncement(
            announcement_id=announcement_id, title=data.title, body=data.body, category=data.category,
            audience=data.audience, roles=None if data.roles is None else tuple(data.roles),
            dealer_ids=None if data.dealer_ids is None else tuple(data.dealer_ids), publish_from=data.publish_from,
            publish_until=data.publish_until, clear_until=data.clear_until,
        ))
        return _announcement(engagement.announcement(request.user, announcement_id), publisher=True)

    @post("/{announcement_id:int}/withdraw", guards=[requires(*PUBLISHERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="撤回公告 Withdraw an announcement (marketing, admin)")
    def withdraw(self, announcement_id: int, request: Request[Principal, Any, Any], engagement: EngagementService) -> AnnouncementOut:
        engagement.withdraw_announcement(request.user, announcement_id)
        return _announcement(engagement.announcement(request.user, announcement_id), publisher=True)

    @get("/", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="公告列表 My live announcements; manage=true: all (marketing, admin)")
    def list_announcements(self, request: Request[Principal, Any, Any], engagement: EngagementService, manage: bool = False,
                           unread_only: bool = False, cursor: str | None = None, limit: Limit = 50
                           ) -> AnnouncementPage:
        rows = engagement.announcements(request.user, manage=manage, unread_only=unread_only,
                                                        after_id=decode_cursor(cursor), limit=limit + 1)
        rows, nxt = _page(rows, limit)
        publisher = request.user.role in PUBLISHERS and manage
        return AnnouncementPage([_announcement(r, publisher=publisher) for r in rows], nxt)

    @get("/{announcement_id:int}", guards=[requires(*ANY_USER)], sync_to_thread=True, summary="公告详情")
    def detail(self, announcement_id: int, request: Request[Principal, Any, Any], engagement: EngagementService) -> AnnouncementOut:
        row = engagement.announcement(request.user, announcement_id)
        return _announcement(row, publisher=request.user.role in PUBLISHERS)

    @post("/{announcement_id:int}/read", guards=[requires(*ANY_USER)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="标记已读 Read receipt (idempotent: the first read time is kept)")
    def read(self, announcement_id: int, request: Request[Principal, Any, Any], engagement: EngagementService) -> ReadOut:
        return ReadOut(announcement_id, engagement.mark_announcement_read(request.user,
                                                                                          announcement_id))

    @get("/{announcement_id:int}/receipts", guards=[requires(*PUBLISHERS)], sync_to_thread=True,
         summary="阅读回执 Who read it when, and who in the audience has not (marketing, admin)")
    def receipts(self, announcement_id: int, request: Request[Principal, Any, Any], engagement: EngagementService) -> ReceiptsOut:
        read, unread = engagement.receipts(request.user, announcement_id)
        return ReceiptsOut(announcement_id, len(read), len(unread), [_reader(r) for r in read],
                           [_reader(r) for r in unread])


def _feed_url(request: Request[Any, Any, Any], token: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/v1/calendar/feed/{token}.ics"


class CalendarController(Controller):
    path = "/api/v1/calendar"
    tags = ["calendar 日程"]

    @get("/", guards=[requires(*ANY_USER)], sync_to_thread=True,
         summary="我的日程 Dated items in [from, to) (Beijing dates; at most 366 days)")
    def calendar(self, request: Request[Principal, Any, Any], engagement: EngagementService,
                 start: Annotated[dt.date, Parameter(query="from")],
                 end: Annotated[dt.date, Parameter(query="to")]) -> CalendarOut:
        items = engagement.calendar(request.user, start, end)
        return CalendarOut(start, end, [_calendar_item(i) for i in items])

    @post("/feed-token", guards=[requires(*ANY_USER)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="日历订阅地址 New secret iCalendar feed URL (shown once; the previous one stops working)")
    def rotate(self, request: Request[Principal, Any, Any], engagement: EngagementService) -> FeedTokenOut:
        token = engagement.rotate_feed_token(request.user)
        return FeedTokenOut(token, _feed_url(request, token),
                            "请在日历应用中订阅此地址；地址只显示一次，重新生成后旧地址立即失效")

    @get("/feed/{filename:str}", guards=[public], sync_to_thread=True, include_in_schema=True,
         summary="iCalendar 订阅 The feed behind the secret URL (RFC 5545, text/calendar)")
    def feed(self, filename: str, engagement: EngagementService) -> Response[bytes]:
        if not filename.endswith(".ics"):
            raise NotFound("日历订阅地址无效", code="calendar.feed_not_found")
        text = engagement.feed(filename[: -len(".ics")])
        return Response(content=text.encode("utf-8"), media_type="text/calendar; charset=utf-8",
                        headers={"Cache-Control": "private, max-age=300",
                                 "Content-Disposition": 'inline; filename="dealercrm.ics"'})


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications 通知"]

    @get("/failed", guards=[requires(*STAFF)], sync_to_thread=True,
         summary="发送失败的通知 Failed notifications (admin: all; staff: those they caused)")
    def failed(self, request: Request[Principal, Any, Any], engagement: EngagementService, limit: Limit = 50) -> Page[WorkbenchItemOut]:
        return Page([_item(i) for i in engagement.failed_notifications(request.user, limit=limit)], None)

    @post("/{notification_id:str}/requeue", guards=[requires(Role.ADMIN)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="重新发送 Retry a failed notification with fresh attempts (admin)")
    def requeue(self, notification_id: str, request: Request[Principal, Any, Any], engagement: EngagementService) -> RequeueOut:
        if len(notification_id) > 36:
            raise NotFound("通知不存在", code="notification.not_found")
        status = engagement.requeue_notification(request.user, notification_id)
        return RequeueOut(notification_id, NotificationStatus(status))


ENGAGEMENT_CONTROLLERS = [WorkbenchController, AlertController, AnnouncementController, CalendarController,
                          NotificationController]
