"""HTTP API of messages (issue 21): conversations (one-to-one, group, a record's thread), their
messages with @mentions and photo/video files, read marks and unread counts, edit and delete
within the window. A conversation the caller may not see — another dealer's order thread — is a
404. Lists are ``{items, next_cursor}``; errors are problem+json.

Files go as ``multipart/form-data`` (parts ``body`` and ``file``, up to four files) to
``POST /api/v1/conversations/{id}/messages``; JSON ``{"body": …}`` posts text only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import Meta

from dealercrm.application.ports.messages import ConversationRow, MessageRow
from dealercrm.application.services.messages import MessagesService, Upload
from dealercrm.domain import messages as rules
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.schemas import Request as Body
from dealercrm.entrypoints.http.security import ANY_USER, requires

User = Request[Principal, Any, Any]
Id = Annotated[int, Meta(ge=1, le=2**63 - 1)]
BODY_CEILING = 64 * 1024 * 1024


class StartDirect(Body):
    user_id: Id


class StartGroup(Body):
    title: Annotated[str, Meta(max_length=200)]
    user_ids: Annotated[list[Id], Meta(max_length=200)]


class RecordThread(Body):
    record_kind: Annotated[str, Meta(max_length=40)]
    record_id: Id


class MessageBody(Body):
    body: Annotated[str, Meta(max_length=20000)]


class ReadMark(Body):
    up_to_id: Annotated[int, Meta(ge=0, le=2**63 - 1)]


class AttachmentOut(msgspec.Struct):
    id: int
    content_type: str
    size_bytes: int
    url: str
    thumbnail_url: str | None


class MessageOut(msgspec.Struct):
    id: int
    conversation_id: int
    author_id: int
    author_name: str
    body: str
    mentions: list[int]
    created_at: dt.datetime
    edited: bool
    deleted: bool
    attachments: list[AttachmentOut]


class ConversationOut(msgspec.Struct):
    id: int
    kind: str
    title: str
    record_kind: str | None
    record_id: int | None
    last_message_id: int
    last_message_at: dt.datetime | None
    last_message_preview: str
    unread: int


class ConversationPage(msgspec.Struct):
    items: list[ConversationOut]
    next_cursor: str | None
    unread_total: int


class MessagePage(msgspec.Struct):
    items: list[MessageOut]
    next_cursor: str | None


class Created(msgspec.Struct):
    id: int


class Unread(msgspec.Struct):
    unread_total: int


def message_out(m: MessageRow) -> MessageOut:
    base = "/api/v1/conversations/attachments"
    return MessageOut(m.id, m.conversation_id, m.author_id, m.author_name, m.body, list(m.mentions), m.created_at,
                      m.edited_at is not None, m.deleted_at is not None,
                      [AttachmentOut(a.id, a.content_type, a.size_bytes, f"{base}/{a.id}",
                                     f"{base}/{a.id}/thumbnail" if a.thumbnail_sha256 else None)
                       for a in m.attachments])


def conversation_out(c: ConversationRow) -> ConversationOut:
    return ConversationOut(c.id, c.kind.value, c.title, c.record_kind.value if c.record_kind else None, c.record_id,
                           c.last_message_id, c.last_message_at, c.last_message_preview, c.unread)


async def read_uploads(request: User, limit: int) -> tuple[str | None, list[Upload]]:
    """The ``body`` and ``file`` parts of a multipart post (each file read to at most ``limit`` + 1 bytes)."""
    form = await request.form()
    files = [f for f in form.getall("file", []) if isinstance(f, UploadFile)]
    if len(files) > rules.MAX_ATTACHMENTS:
        raise InvalidValue("files", f"每条消息最多{rules.MAX_ATTACHMENTS}个附件", code="message.too_many_files")
    uploads = []
    for f in files:
        data = await f.read(limit + 1)
        await f.close()
        if data:
            uploads.append(Upload(data, f.content_type))
    text = form.get("body")
    return (text if isinstance(text, str) else None), uploads


class ConversationController(Controller):
    path = "/api/v1/conversations"
    tags = ["messages 消息"]
    guards = [requires(*ANY_USER)]

    @get("/", sync_to_thread=True, summary="我的会话 My conversations, most recent first, with unread counts")
    def index(self, request: User, messages: MessagesService,
              cursor: Annotated[str | None, Parameter(max_length=60)] = None,
              limit: Annotated[int, Parameter(ge=1, le=100)] = 50) -> ConversationPage:
        rows, next_cursor = messages.conversations(request.user, cursor, limit)
        return ConversationPage([conversation_out(r) for r in rows], next_cursor,
                                messages.unread_total(request.user))

    @post("/direct", sync_to_thread=True, status_code=HTTP_200_OK, summary="私聊 The one-to-one conversation with a user")
    def direct(self, data: StartDirect, request: User, messages: MessagesService) -> Created:
        return Created(messages.start_direct(request.user, data.user_id))

    @post("/groups", sync_to_thread=True, status_code=HTTP_201_CREATED, summary="建群 Start a group conversation")
    def group(self, data: StartGroup, request: User, messages: MessagesService) -> Created:
        return Created(messages.start_group(request.user, data.title, data.user_ids))

    @post("/records", sync_to_thread=True, status_code=HTTP_200_OK,
          summary="单据讨论 The thread of an order, claim, service request, gate pass or receipt")
    def record(self, data: RecordThread, request: User, messages: MessagesService) -> Created:
        return Created(messages.record_thread(request.user, data.record_kind, data.record_id))

    @get("/unread", sync_to_thread=True, summary="未读总数 My unread total")
    def unread(self, request: User, messages: MessagesService) -> Unread:
        return Unread(messages.unread_total(request.user))

    @get("/{conversation_id:int}", sync_to_thread=True, summary="会话 One conversation")
    def detail(self, conversation_id: int, request: User, messages: MessagesService) -> ConversationOut:
        return conversation_out(messages.conversation(request.user, conversation_id).conversation)

    @get("/{conversation_id:int}/messages", sync_to_thread=True,
         summary="消息 Messages, oldest first: the latest page, or after/before an id")
    def messages_of(self, conversation_id: int, request: User, messages: MessagesService,
                    after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None,
                    cursor: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
                    limit: Annotated[int, Parameter(ge=1, le=200)] = 50) -> MessagePage:
        rows = messages.messages(request.user, conversation_id, after_id=after, before_id=cursor, limit=limit)
        more = after is None and len(rows) == limit
        return MessagePage([message_out(r) for r in rows], str(rows[0].id) if more and rows else None)

    @post("/{conversation_id:int}/messages", status_code=HTTP_201_CREATED, request_max_body_size=BODY_CEILING,
          summary="发消息 Post a message (JSON text, or multipart with files)")
    async def post_message(self, conversation_id: int, request: User, messages: MessagesService) -> MessageOut:
        if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            text, uploads = await read_uploads(request, messages.media.limits.max_upload_bytes)
        else:
            try:
                text, uploads = msgspec.json.decode(await request.body(), type=MessageBody).body, []
            except msgspec.ValidationError as e:
                raise InvalidValue("body", f"请求体无效：{e}", code="request.invalid") from None
            except msgspec.DecodeError:
                raise InvalidValue("body", "请求体不是有效的 JSON", code="request.malformed") from None
        row = await anyio.to_thread.run_sync(lambda: messages.post(request.user, conversation_id, text, uploads))
        return message_out(row)

    @post("/{conversation_id:int}/read", sync_to_thread=True, status_code=HTTP_200_OK, summary="标记已读 Mark read")
    def read(self, conversation_id: int, data: ReadMark, request: User, messages: MessagesService) -> Unread:
        return Unread(messages.mark_read(request.user, conversation_id, data.up_to_id))

    @patch("/messages/{message_id:int}", sync_to_thread=True, summary="编辑消息 Edit a message (within the window)")
    def edit(self, message_id: int, data: MessageBody, request: User, messages: MessagesService) -> MessageOut:
        return message_out(messages.edit(request.user, message_id, data.body))

    @delete("/messages/{message_id:int}", sync_to_thread=True, status_code=HTTP_200_OK,
            summary="撤回消息 Delete a message (within the window)")
    def remove(self, message_id: int, request: User, messages: MessagesService) -> MessageOut:
        return message_out(messages.delete(request.user, message_id))

    @get("/attachments/{attachment_id:int}", sync_to_thread=True, summary="附件 A message's file",
         responses={200: ResponseSpec(data_container=bytes, media_type="*/*", generate_examples=False,
                                      description="The photo or video as stored")})
    def attachment(self, attachment_id: int, request: User, messages: MessagesService) -> Response[bytes]:
        content_type, data = messages.attachment(request.user, attachment_id)
        return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=86400",
                                                                "X-Content-Type-Options": "nosniff"})

    @get("/attachments/{attachment_id:int}/thumbnail", sync_to_thread=True, summary="缩略图 A photo's thumbnail",
         responses={200: ResponseSpec(data_container=bytes, media_type="image/jpeg", generate_examples=False,
                                      description="A JPEG thumbnail")})
    def thumbnail(self, attachment_id: int, request: User, messages: MessagesService) -> Response[bytes]:
        content_type, data = messages.attachment(request.user, attachment_id, thumbnail=True)
        return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=86400",
                                                                "X-Content-Type-Options": "nosniff"})


MESSAGES_CONTROLLERS = [ConversationController]
