"""消息 (issue 21): the conversation list with unread counts, a conversation's thread with its
photo upload from the phone's camera, and the thread of a record shown on that record's page.
New messages appear without reloading through the ``/live`` socket (``static/messages.js``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application.services.messages import MessagesService
from dealercrm.domain import messages as rules
from dealercrm.domain.errors import (
    Conflict,
    InvalidValue,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.messages import read_uploads
from dealercrm.entrypoints.http.security import ANY_USER, requires
from dealercrm.entrypoints.web.layout import fragment, page

User = Request[Principal, Any, Any]
UPLOAD_CEILING = 64 * 1024 * 1024
_PRIVATE = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
RECORD_PAGES = {"order": "/orders/{id}", "claim": "/aftersales/claims/{id}",
                "service_request": "/aftersales/requests/{id}", "gate_pass": "/dispatch/passes/{id}",
                "receipt": "/dispatch/shipments/{id}"}

_NAMES = re.compile(r"[\s,，、;；]+")


async def _form(request: User) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _record_href(kind: str | None, record_id: int | None) -> str | None:
    return RECORD_PAGES[kind].format(id=record_id) if kind in RECORD_PAGES and record_id is not None else None


class MessagePages(Controller):
    path = "/messages"
    guards = [requires(*ANY_USER)]

    @get("/", sync_to_thread=True)
    def index(self, request: User, messages: MessagesService,
              cursor: Annotated[str | None, Parameter(max_length=60)] = None) -> Template:
        return self._index(request, messages, cursor)

    def _index(self, request: User, messages: MessagesService, cursor: str | None = None, *,
               errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
               status_code: int = 200) -> Template:
        try:
            rows, next_cursor = messages.conversations(request.user, cursor)
        except InvalidValue:
            rows, next_cursor = messages.conversations(request.user)
        return page(request, "messages.html", title="消息", section="messages", crumbs=(("消息", None),),
                    rows=rows, next_cursor=next_cursor, unread_total=messages.unread_total(request.user),
                    errors=errors or {}, values=values or {}, status_code=status_code,
                    max_title=rules.MAX_TITLE_CHARS)

    async def _start(self, request: User, messages: MessagesService, form: str, start: Any) -> Any:
        """Start a conversation from the list page's form ``form``; a refusal shows the list again
        with the reason beside that form (422)."""
        values = await _form(request)
        try:
            cid = await sync_to_thread(lambda: start(values))
        except (InvalidValue, PermissionDenied) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field == "title" else "usernames"
            errors = {f"{form}_{field}": exc.message}
            kept = {f"{form}_{k}": v[:500] for k, v in values.items() if k in ("title", "usernames")}
            status = 422 if isinstance(exc, InvalidValue) else 403
            return await sync_to_thread(lambda: self._index(request, messages, errors=errors, values=kept,
                                                            status_code=status))
        return Redirect(path=f"/messages/{cid}#latest", status_code=303)

    @post("/direct", status_code=303)
    async def start_direct(self, request: User, messages: MessagesService) -> Any:
        """私聊: the one-to-one conversation with the person named (an existing one is reopened)."""
        def start(values: dict[str, str]) -> int:
            (other,) = messages.people(request.user, [values.get("usernames", "")])
            return messages.start_direct(request.user, other.id)

        return await self._start(request, messages, "direct", start)

    @post("/groups", status_code=303)
    async def start_group(self, request: User, messages: MessagesService) -> Any:
        """群聊: a titled group of the people named (usernames separated by spaces, commas or 、)."""
        def start(values: dict[str, str]) -> int:
            rules.clean_title(values.get("title"))
            names = _NAMES.split(values.get("usernames", ""))
            people = messages.people(request.user, names)
            return messages.start_group(request.user, values.get("title", ""), [p.id for p in people])

        return await self._start(request, messages, "group", start)

    def _thread(self, request: User, messages: MessagesService, conversation_id: int, *,
                errors: dict[str, str] | None = None, body: str = "", status_code: int = 200) -> Template:
        view = messages.conversation(request.user, conversation_id)
        rows = messages.messages(request.user, conversation_id)
        if rows:
            messages.mark_read(request.user, conversation_id, rows[-1].id)
        c = view.conversation
        return page(request, "message_thread.html", title=c.title, section="messages",
                    crumbs=(("消息", "/messages"), (c.title, None)), status_code=status_code,
                    conversation=c, members=view.members, rows=rows, errors=errors or {}, body=body,
                    last_id=rows[-1].id if rows else 0, me=request.user.user_id,
                    editable={m.id for m in rows if messages.may_change(request.user, m)},
                    record_href=_record_href(c.record_kind.value if c.record_kind else None, c.record_id),
                    max_chars=rules.MAX_BODY_CHARS)

    @get("/{conversation_id:int}", sync_to_thread=True)
    def thread(self, conversation_id: int, request: User, messages: MessagesService) -> Template:
        return self._thread(request, messages, conversation_id)

    @post("/{conversation_id:int}", status_code=303, request_max_body_size=UPLOAD_CEILING)
    async def send(self, conversation_id: int, request: User, messages: MessagesService) -> Any:
        body = ""
        try:
            text, uploads = await read_uploads(request, messages.media.limits.max_upload_bytes)
            body = (text or "")[: rules.MAX_BODY_CHARS + 100]
            await sync_to_thread(lambda: messages.post(request.user, conversation_id, text, uploads))
        except (InvalidValue, Conflict, RateLimited) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field in ("body", "file", "files") else "body"
            status = 422 if isinstance(exc, InvalidValue) else 429 if isinstance(exc, RateLimited) else 409
            errors = {field: exc.message}
            return await sync_to_thread(lambda: self._thread(request, messages, conversation_id,
                                                             errors=errors, body=body, status_code=status))
        return Redirect(path=f"/messages/{conversation_id}#latest", status_code=303)

    @get("/messages/{message_id:int}", sync_to_thread=True)
    def one(self, message_id: int, request: User, messages: MessagesService) -> Template:
        """One message as the thread shows it (``_message.html``): what the live script inserts."""
        row = messages.message(request.user, message_id)
        editable = {row.id} if messages.may_change(request.user, row) else set()
        return fragment("_message.html", m=row, me=request.user.user_id, editable=editable)

    async def _change(self, request: User, messages: MessagesService, message_id: int, change: Any) -> Any:
        """Edit or withdraw one's own message; outside the window (409) or with a bad text (422)
        the thread is shown again with the reason."""
        values = await _form(request)
        row = await sync_to_thread(lambda: messages.message(request.user, message_id))
        try:
            await sync_to_thread(lambda: change(values))
        except (InvalidValue, Conflict, PermissionDenied) as exc:
            status = 422 if isinstance(exc, InvalidValue) else 403 if isinstance(exc, PermissionDenied) else 409
            errors = {"change": exc.message}
            return await sync_to_thread(lambda: self._thread(request, messages, row.conversation_id, errors=errors,
                                                             status_code=status))
        return Redirect(path=f"/messages/{row.conversation_id}#m-{message_id}", status_code=303)

    @post("/messages/{message_id:int}/edit", status_code=303)
    async def edit(self, message_id: int, request: User, messages: MessagesService) -> Any:
        return await self._change(request, messages, message_id,
                                  lambda values: messages.edit(request.user, message_id, values.get("body")))

    @post("/messages/{message_id:int}/withdraw", status_code=303)
    async def withdraw(self, message_id: int, request: User, messages: MessagesService) -> Any:
        return await self._change(request, messages, message_id,
                                  lambda values: messages.delete(request.user, message_id))

    @get("/attachments/{attachment_id:int}", sync_to_thread=True)
    def attachment(self, attachment_id: int, request: User, messages: MessagesService) -> Response[bytes]:
        content_type, data = messages.attachment(request.user, attachment_id)
        return Response(data, media_type=content_type, headers=_PRIVATE)

    @get("/attachments/{attachment_id:int}/thumbnail", sync_to_thread=True)
    def thumbnail(self, attachment_id: int, request: User, messages: MessagesService) -> Response[bytes]:
        content_type, data = messages.attachment(request.user, attachment_id, thumbnail=True)
        return Response(data, media_type=content_type, headers=_PRIVATE)

    @get("/records/{record_kind:str}/{record_id:int}", sync_to_thread=True)
    def record(self, record_kind: str, record_id: int, request: User, messages: MessagesService) -> Any:
        """A record page's thread box (htmx fragment); opened directly, the thread page itself."""
        try:
            cid = messages.record_thread(request.user, record_kind, record_id)
        except InvalidValue:
            raise NotFound("会话不存在", code="conversation.not_found") from None
        if request.headers.get("hx-request") != "true":
            return Redirect(path=f"/messages/{cid}", status_code=303)
        rows = messages.messages(request.user, cid, limit=5)
        return fragment("_record_thread.html", cid=cid, rows=rows, me=request.user.user_id, editable=set())


__all__ = ["MessagePages"]
