"""公告 for marketing and the administrators: every announcement with its status, a form that
publishes one to everybody, to roles or to chosen dealers (from a start time, optionally until an
end), and each announcement's read receipts with a withdraw button. Readers see them on their
workbench and at ``/announcements/{id}``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application import announcements as an
from dealercrm.application.services.engagement import EngagementService
from dealercrm.domain.announcements import (
    AnnouncementAudience,
    AnnouncementCategory,
    AnnouncementStatus,
)
from dealercrm.domain.errors import Conflict, DomainError, InvalidValue, NotFound
from dealercrm.domain.identity import HUMAN_ROLES, ROLE_LABELS, Principal, Role
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import optional_beijing_moment
from dealercrm.entrypoints.web.layout import page

PUBLISHERS = an.PUBLISHERS
PAGE_SIZE = 50
FIELDS = ("title", "body", "category", "audience", "roles", "dealer_ids", "publish_from", "publish_until")
AUDIENCES = (("all", "全部用户"), ("roles", "按角色"), ("dealers", "指定经销商"))
DONE = {"published": "公告已发布。", "withdrawn": "公告已撤回，读者不再看到它。"}


def _label(enum_type: Any, value: Any) -> str:
    try:
        return str(enum_type(str(getattr(value, "value", value))).label)
    except (ValueError, AttributeError):
        return str(value)


def _dealer_ids(raw: str) -> tuple[int, ...]:
    parts = [p.strip() for p in raw.replace("，", ",").replace("、", ",").split(",") if p.strip()]
    if len(parts) > 200 or not all(p.isdigit() and 0 < int(p) < 2**63 for p in parts):
        raise InvalidValue("dealer_ids", "请填写经销商编号（数字），用逗号分隔", code="dealer_ids.invalid")
    return tuple(int(p) for p in parts)


class AnnouncementAdminPages(Controller):
    path = "/marketing/announcements"
    guards = (requires(*PUBLISHERS),)

    @get("/", sync_to_thread=True)
    def announcements(self, request: Request[Principal, Any, Any], engagement: EngagementService,
                      after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None,
                      done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        rows = engagement.announcements(request.user, manage=True, after_id=after, limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = [{**r, "status_label": _label(AnnouncementStatus, r["status"]),
                 "status_value": str(getattr(r["status"], "value", r["status"])),
                 "category_label": _label(AnnouncementCategory, r["category"]),
                 "audience_label": dict(AUDIENCES).get(str(getattr(r["audience"], "value", r["audience"])), "")}
                for r in rows[:PAGE_SIZE]]
        return page(request, "announcements_admin.html", title="公告管理", section="announcements_admin",
                    crumbs=(("公告管理", None),), rows=rows, done=DONE.get(done or ""),
                    next_after=rows[-1]["id"] if more and rows else None)

    @get("/new", sync_to_thread=True)
    def new(self, request: Request[Principal, Any, Any]) -> Template:
        return self._form(request, values={"category": "notice", "audience": "all", "roles": []}, errors={})

    def _form(self, request: Request[Principal, Any, Any], *, values: dict[str, Any], errors: dict[str, str],
              status_code: int = 200) -> Template:
        return page(request, "announcement_new.html", title="发布公告", section="announcements_admin",
                    crumbs=(("公告管理", "/marketing/announcements"), ("发布公告", None)), values=values,
                    errors=errors, categories=[(c.value, c.label) for c in AnnouncementCategory],
                    audiences=AUDIENCES, roles=[(r.value, ROLE_LABELS[r]) for r in HUMAN_ROLES],
                    status_code=status_code)

    @post("/", status_code=303)
    async def publish(self, request: Request[Principal, Any, Any], engagement: EngagementService) -> Any:
        form = await request.form()
        values: dict[str, Any] = {k: str(form.get(k) or "")[:20000 if k == "body" else 500] for k in FIELDS}
        values["roles"] = [str(r)[:30] for r in form.getall("roles", [])][:20]
        try:
            audience = values["audience"]
            cmd = an.PublishAnnouncement(
                title=values["title"], body=values["body"], category=values["category"], audience=audience,
                roles=tuple(values["roles"]) if audience == AnnouncementAudience.ROLES.value else (),
                dealer_ids=_dealer_ids(values["dealer_ids"]) if audience == AnnouncementAudience.DEALERS.value else (),
                publish_from=optional_beijing_moment(values["publish_from"], "publish_from"),
                publish_until=optional_beijing_moment(values["publish_until"], "publish_until"))
            announcement_id = await sync_to_thread(engagement.publish_announcement, request.user, cmd)
        except DomainError as exc:
            field = getattr(exc, "field", None) or exc.details.get("field")
            errors = {str(field) if field in FIELDS else "form": exc.message}
            code = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._form(request, values=values, errors=errors, status_code=code))
        return Redirect(path=f"/marketing/announcements/{announcement_id}?done=published", status_code=303)

    @get("/{announcement_id:int}", sync_to_thread=True)
    def detail(self, announcement_id: int, request: Request[Principal, Any, Any], engagement: EngagementService,
               done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._detail(request, engagement, announcement_id, done=DONE.get(done or ""))

    def _detail(self, request: Request[Principal, Any, Any], engagement: EngagementService, announcement_id: int, *,
                done: str | None = None, notice: str | None = None, status_code: int = 200) -> Template:
        row = engagement.announcement(request.user, announcement_id)
        read, unread = engagement.receipts(request.user, announcement_id)
        for r in (*read, *unread):
            r["role_label"] = ROLE_LABELS[Role(str(getattr(r["role"], "value", r["role"])))]
        status = str(getattr(row["status"], "value", row["status"]))
        return page(request, "announcement_admin.html", title=f"公告：{row['title']}", section="announcements_admin",
                    crumbs=(("公告管理", "/marketing/announcements"), (row["title"], None)), a=row,
                    status_label=_label(AnnouncementStatus, status), live=status == AnnouncementStatus.PUBLISHED.value,
                    category_label=_label(AnnouncementCategory, row["category"]), read=read, unread=unread,
                    done=done, notice=notice, status_code=status_code)

    @post("/{announcement_id:int}/withdraw", status_code=303)
    async def withdraw(self, announcement_id: int, request: Request[Principal, Any, Any],
                       engagement: EngagementService) -> Any:
        try:
            await sync_to_thread(engagement.withdraw_announcement, request.user, announcement_id)
        except NotFound:
            raise
        except DomainError as exc:
            stale = isinstance(exc, Conflict) and exc.code == "state.illegal_transition"
            notice = "已被他人修改，以下是当前状态" if stale else exc.message
            return await sync_to_thread(lambda: self._detail(request, engagement, announcement_id, notice=notice,
                                                             status_code=409))
        return Redirect(path=f"/marketing/announcements/{announcement_id}?done=withdrawn", status_code=303)
