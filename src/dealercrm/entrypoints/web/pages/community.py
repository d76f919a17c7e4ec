"""互动社区 (issue 21 §2): the list of posts and questions with a topic filter and the Chinese
search of the knowledge base, a post's page with its answers (accept, like, report; staff lock,
hide and turn an accepted answer into a knowledge article), and the ask form. Every rule is the
``CommunityService``'s; a field's error sits beside the field and the form keeps what was typed."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application.services.community import CommunityService
from dealercrm.domain import community as rules
from dealercrm.domain.errors import Conflict, InvalidValue, PermissionDenied
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.security import ANY_USER, requires
from dealercrm.entrypoints.web.layout import page

User = Request[Principal, Any, Any]
KINDS = tuple((k.value, k.label) for k in rules.PostKind)


async def _form(request: User) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _status(exc: Exception) -> int:
    return 422 if isinstance(exc, InvalidValue) else 403 if isinstance(exc, PermissionDenied) else 409


class CommunityPages(Controller):
    path = "/community"
    guards = [requires(*ANY_USER)]

    @get("/", sync_to_thread=True)
    def index(self, request: User, community: CommunityService,
              topic: Annotated[str | None, Parameter(max_length=40)] = None,
              q: Annotated[str | None, Parameter(max_length=200)] = None,
              cursor: Annotated[str | None, Parameter(max_length=30)] = None,
              reported: Annotated[str | None, Parameter(max_length=5)] = None) -> Template:
        error, status = None, 200
        staff = request.user.role.is_staff
        only_reported = staff and reported == "1"  # the moderation queue
        try:
            rows, next_cursor = community.posts(request.user, topic=topic or None, q=q, cursor=cursor,
                                                reported=only_reported)
        except InvalidValue as exc:
            error, status = exc.message, 422
            rows, next_cursor = community.posts(request.user)
        return page(request, "community.html", title="互动社区", section="community", crumbs=(("互动社区", None),),
                    rows=rows, next_cursor=next_cursor, topics=community.topics(), error=error,
                    query={"q": q or "", "topic": topic or "", "reported": "1" if only_reported else ""},
                    staff=staff, status_code=status)

    def _ask_form(self, request: User, community: CommunityService, *, values: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, status_code: int = 200) -> Template:
        return page(request, "community_ask.html", title="提问", section="community",
                    crumbs=(("互动社区", "/community"), ("提问", None)), topics=community.topics(), kinds=KINDS,
                    values=values or {"kind": "question"}, errors=errors or {}, status_code=status_code,
                    max_title=rules.MAX_TITLE_CHARS, max_body=rules.MAX_BODY_CHARS)

    @get("/ask", sync_to_thread=True)
    def ask_form(self, request: User, community: CommunityService,
                 topic: Annotated[str | None, Parameter(max_length=40)] = None) -> Template:
        return self._ask_form(request, community, values={"kind": "question", "topic": topic or ""})

    @post("/ask", status_code=303)
    async def ask(self, request: User, community: CommunityService) -> Any:
        values = await _form(request)
        kept = {k: values.get(k, "")[:6000] for k in ("kind", "topic", "title", "body")}
        try:
            pid = await sync_to_thread(lambda: community.ask(
                request.user, kind=values.get("kind"), topic=values.get("topic"), title=values.get("title"),
                body=values.get("body")))
        except (InvalidValue, PermissionDenied) as exc:
            field = exc.field if isinstance(exc, InvalidValue) else "body"
            errors, status = {field: exc.message}, _status(exc)
            return await sync_to_thread(lambda: self._ask_form(request, community, values=kept, errors=errors,
                                                               status_code=status))
        return Redirect(path=f"/community/{pid}", status_code=303)

    def _post_page(self, request: User, community: CommunityService, post_id: int, *,
                   errors: dict[str, str] | None = None, answer: str = "", flash: str | None = None,
                   status_code: int = 200) -> Template:
        view = community.post(request.user, post_id)
        return page(request, "community_post.html", title=view.post.title, section="community",
                    crumbs=(("互动社区", "/community"), (view.post.title, None)), view=view, p=view.post,
                    errors=errors or {}, answer=answer, notice=flash, status_code=status_code,
                    max_body=rules.MAX_BODY_CHARS, me=request.user.user_id)

    @get("/{post_id:int}", sync_to_thread=True)
    def detail(self, post_id: int, request: User, community: CommunityService) -> Template:
        return self._post_page(request, community, post_id)

    @post("/{post_id:int}/answers", status_code=303)
    async def answer(self, post_id: int, request: User, community: CommunityService) -> Any:
        values = await _form(request)
        body = values.get("body", "")
        try:
            await sync_to_thread(lambda: community.answer(request.user, post_id, body))
        except (InvalidValue, Conflict, PermissionDenied) as exc:
            errors, status = {"body": exc.message}, _status(exc)
            return await sync_to_thread(lambda: self._post_page(
                request, community, post_id, errors=errors, answer=body[:6000], status_code=status))
        return Redirect(path=f"/community/{post_id}#answers", status_code=303)

    async def _act(self, request: User, community: CommunityService, post_id: int, action: Any) -> Any:
        """Run one action on a post's page; a refused one shows the post again with the reason."""
        try:
            await sync_to_thread(action)
        except (InvalidValue, Conflict, PermissionDenied) as exc:
            message, status = exc.message, _status(exc)
            return await sync_to_thread(lambda: self._post_page(request, community, post_id, flash=message,
                                                                status_code=status))
        return Redirect(path=f"/community/{post_id}", status_code=303)

    @post("/{post_id:int}/accept/{answer_id:int}", status_code=303)
    async def accept(self, post_id: int, answer_id: int, request: User, community: CommunityService) -> Any:
        return await self._act(request, community, post_id,
                               lambda: community.accept(request.user, post_id, answer_id))

    @post("/{post_id:int}/like", status_code=303)
    async def like(self, post_id: int, request: User, community: CommunityService) -> Any:
        return await self._act(request, community, post_id, lambda: community.like_post(request.user, post_id))

    @post("/{post_id:int}/answers/{answer_id:int}/like", status_code=303)
    async def like_answer(self, post_id: int, answer_id: int, request: User, community: CommunityService) -> Any:
        return await self._act(request, community, post_id, lambda: community.like_answer(request.user, answer_id))

    @post("/{post_id:int}/report", status_code=303)
    async def report(self, post_id: int, request: User, community: CommunityService) -> Any:
        reason = (await _form(request)).get("reason")
        return await self._act(request, community, post_id,
                               lambda: community.report_post(request.user, post_id, reason))

    @post("/{post_id:int}/moderation", status_code=303)
    async def moderate(self, post_id: int, request: User, community: CommunityService) -> Any:
        action = (await _form(request)).get("action", "")
        flags = {"lock": {"locked": True}, "unlock": {"locked": False}, "hide": {"hidden": True},
                 "unhide": {"hidden": False}}.get(action)
        if flags is None:
            return await sync_to_thread(lambda: self._post_page(request, community, post_id, flash="未知的操作",
                                                                status_code=422))
        return await self._act(request, community, post_id,
                               lambda: community.moderate_post(request.user, post_id, **flags))

    @post("/{post_id:int}/answers/{answer_id:int}/moderation", status_code=303)
    async def moderate_answer(self, post_id: int, answer_id: int, request: User, community: CommunityService) -> Any:
        hidden = (await _form(request)).get("action") != "unhide"
        return await self._act(request, community, post_id,
                               lambda: community.moderate_answer(request.user, answer_id, hidden=hidden))

    @post("/{post_id:int}/answers/{answer_id:int}/article", status_code=303)
    async def to_article(self, post_id: int, answer_id: int, request: User, community: CommunityService) -> Any:
        return await self._act(request, community, post_id, lambda: community.to_article(request.user, answer_id))


__all__ = ["CommunityPages"]
