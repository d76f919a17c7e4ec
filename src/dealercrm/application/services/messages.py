"""The messages service (``crm.messages``, issue 21): one-to-one, group and record conversations,
their messages (text, @mentions, photo/video attachments in the media store), read marks and
unread counts, edit and delete within a short window, and a per-user flood limit.

Access, in one place (:meth:`MessagesService._open`):
- a one-to-one or group conversation exists only for its members;
- a record thread exists for whoever may see the record, decided by that record's own service
  (orders, after-sales, gate: another dealer's order answers 404 there, so here too). Who may
  see the record *is* the participant list; a person joins the thread (for unread counts and
  live delivery) the first time they open it or write in it.
- A dealer or station user may write only to factory staff and to people of their own dealer or
  station; anyone else is an unknown recipient.

Live delivery: every write commits in the store first, then announces a small event through the
``LivePublisher``; a write that fails publishes nothing. The events: ``message`` (new, edited or
deleted, with the conversation's id; one event for all members, from which each socket also
sends its reader's new unread total) and ``unread`` (after a read mark moves, to that person).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from dealercrm.application import media as md
from dealercrm.application.access import not_found
from dealercrm.application.ports.messages import (
    AttachmentRow,
    ConversationRow,
    FloodLimit,
    LivePublisher,
    MessageRow,
    MessageStore,
    NewAttachment,
    UserCard,
)
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.application.services.gate import GateService
from dealercrm.application.services.media import MediaService
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain import messages as rules
from dealercrm.domain.errors import Conflict, InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.messages import ConversationKind, RecordKind

PAGE = 50


@attrs.frozen
class Upload:
    """One file attached to a message, as the client sent it."""

    data: bytes = attrs.field(repr=False)
    declared_type: str | None = None


@attrs.frozen
class Announced:
    """What a live ``message`` event announced, as one worker read it for all its sockets."""

    row: MessageRow
    kind: ConversationKind
    unread: dict[int, int] = attrs.field(factory=dict)  # reader → unread total after the change


@attrs.frozen
class ConversationView:
    conversation: ConversationRow
    members: tuple[UserCard, ...]
    record_label: str | None = None  # "订单 SO-…" for a record thread


class MessagesService:
    """Conversations and messages, their access rule and their live events."""

    def __init__(self, clock: Clock, store: MessageStore, publisher: LivePublisher, flood: FloodLimit,
                 orders: OrdersService, aftersales: AftersalesService, gate: GateService,
                 media: MediaService) -> None:
        self._clock: Clock = clock
        self.store: MessageStore = store
        self.publisher: LivePublisher = publisher
        self.flood: FloodLimit = flood
        self.orders: OrdersService = orders
        self.aftersales: AftersalesService = aftersales
        self.gate: GateService = gate
        self.media: MediaService = media

    # access
    @staticmethod
    def _person(actor: Principal) -> int:
        if actor.user_id is None or actor.is_device or actor.role is Role.KIOSK:
            raise PermissionDenied("仅限登录用户使用消息", code="message.people_only")
        return actor.user_id

    def record_label(self, actor: Principal, kind: RecordKind, record_id: int) -> str:
        """The record's name for the thread title; raises 404 unless ``actor`` may see the record
        (the record's own service decides, with its own scope rules)."""
        try:
            if kind is RecordKind.ORDER:
                row = self.orders.detail(actor, record_id)
                no = row.get("order_no")
            elif kind is RecordKind.CLAIM:
                row = self.aftersales.claim(actor, record_id)
                no = row.get("claim_no")
            elif kind is RecordKind.SERVICE_REQUEST:
                row = self.aftersales.request(actor, record_id, with_context=False)
                no = row.get("request_no")
            elif kind is RecordKind.GATE_PASS:
                row = self.gate.gate_pass(actor, record_id)
                no = row.get("pass_no")
            else:
                row = self.gate.shipment(actor, record_id)
                no = row.get("receipt_no") or row.get("shipment_no")
        except (PermissionDenied, NotFound):
            raise not_found(kind.value, kind.label) from None
        return f"{kind.label} {no or record_id}"

    def _open(self, actor: Principal, conversation_id: int) -> ConversationRow:
        """The conversation if ``actor`` may see it (joining a record thread they may see), else 404."""
        me = self._person(actor)
        row = self.store.conversation(conversation_id)
        if row is None:
            raise not_found("conversation", "会话")
        if self.store.is_member(conversation_id, me):
            if row.kind is ConversationKind.RECORD and row.record_kind is not None and row.record_id is not None:
                self.record_label(actor, row.record_kind, row.record_id)  # access to a record can be lost
            return row
        if row.kind is not ConversationKind.RECORD or row.record_kind is None or row.record_id is None:
            raise not_found("conversation", "会话")
        try:
            self.record_label(actor, row.record_kind, row.record_id)
        except NotFound:
            raise not_found("conversation", "会话") from None
        self.store.join(conversation_id, me, self._clock())
        return row

    @staticmethod
    def may_write_to(actor: Principal, other: UserCard) -> bool:
        """A dealer or station user writes only to staff and to their own dealer's or station's people."""
        if not other.active or other.role is Role.KIOSK:
            return False
        if actor.role is Role.DEALER:
            return other.role.is_staff or (other.role is Role.DEALER and other.dealer_id == actor.dealer_id)
        if actor.role is Role.STATION:
            return other.role.is_staff or (other.role is Role.STATION and other.station_id == actor.station_id)
        return actor.role.is_staff

    def _recipients(self, actor: Principal, user_ids: Sequence[int]) -> list[UserCard]:
        found = self.store.users(list(user_ids))
        out = []
        for uid in user_ids:
            card = found.get(uid)
            if card is None or not self.may_write_to(actor, card):
                raise InvalidValue("user_ids", "收件人不存在", code="message.unknown_recipient", user_id=uid)
            out.append(card)
        return out

    def people(self, actor: Principal, usernames: Sequence[str]) -> list[UserCard]:
        """The people named by username (each once, in order), every one someone the caller may
        write to. Raises ``InvalidValue`` on ``usernames`` (``message.unknown_recipient``, naming
        the first unknown name) otherwise, or when no name is given."""
        self._person(actor)
        names = list(dict.fromkeys(n.strip().lstrip("@") for n in usernames if n.strip().lstrip("@")))
        if not names:
            raise InvalidValue("usernames", "请填写对方的用户名", code="message.members_required")
        found = self.store.users_by_username(names)
        out = []
        for name in names:
            card = found.get(name)
            if card is None or not self.may_write_to(actor, card):
                raise InvalidValue("usernames", f"用户“{name}”不存在或不能联系", code="message.unknown_recipient",
                                   username=name)
            out.append(card)
        return out

    # conversations
    def start_direct(self, actor: Principal, user_id: int) -> int:
        """The one-to-one conversation (私聊) of the caller and ``user_id`` — one per pair, made on
        first use; returns its id. Raises ``InvalidValue`` (``message.unknown_recipient``) for a user
        the caller may not write to (see ``may_write_to``)."""
        me = self._person(actor)
        key = rules.direct_key(me, user_id)
        (other,) = self._recipients(actor, [user_id])
        return self.store.create_conversation(ConversationKind.DIRECT, "", me, self._clock(), [me, other.id],
                                              direct_key=key)

    def start_group(self, actor: Principal, title: str, user_ids: Sequence[int]) -> int:
        """A group conversation (群聊) with a title and members the caller may write to; returns its
        id. Raises ``InvalidValue`` for an empty title, too many members or an unknown recipient."""
        me = self._person(actor)
        name = rules.clean_title(title)
        others = rules.check_members(tuple(u for u in user_ids if u != me))
        self._recipients(actor, others)
        return self.store.create_conversation(ConversationKind.GROUP, name, me, self._clock(), [me, *others])

    def record_thread(self, actor: Principal, kind: str, record_id: int) -> int:
        """The record's thread (made on first use), with ``actor`` in it; 404 if they may not see the record."""
        me = self._person(actor)
        record_kind = rules.record_kind_of(kind)
        label = self.record_label(actor, record_kind, record_id)
        existing = self.store.record_thread(record_kind, record_id)
        if existing is not None:
            self.store.join(existing, me, self._clock())
            return existing
        return self.store.create_conversation(ConversationKind.RECORD, label, me, self._clock(), [me],
                                              record=(record_kind, record_id))

    def conversation(self, actor: Principal, conversation_id: int) -> ConversationView:
        """A conversation with its members and title, for a member (or anyone who may see its
        record, who joins it). Raises ``NotFound`` otherwise."""
        row = self._open(actor, conversation_id)
        members = self.store.users(self.store.member_ids(conversation_id))
        label = row.title if row.kind is ConversationKind.RECORD else None
        title = row.title or self._direct_title(actor, list(members.values()))
        return ConversationView(attrs.evolve(row, title=title), tuple(members.values()), label)

    @staticmethod
    def _direct_title(actor: Principal, members: list[UserCard]) -> str:
        others = [m.display_name for m in members if m.id != actor.user_id]
        return "、".join(others) or "私聊"

    def conversations(self, actor: Principal, cursor: str | None = None,
                      limit: int = PAGE) -> tuple[list[ConversationRow], str | None]:
        """The caller's conversations, most recent first, with unread counts; and the next page's cursor."""
        me = self._person(actor)
        before = _parse_cursor(cursor)
        rows = self.store.conversations_of(me, before, limit + 1)
        page, more = rows[:limit], len(rows) > limit
        titled = []
        for row in page:
            if not row.title:
                members = self.store.users(self.store.member_ids(row.id))
                row = attrs.evolve(row, title=self._direct_title(actor, list(members.values())))
            titled.append(row)
        next_cursor = f"{page[-1].last_message_id}.{page[-1].id}" if more and page else None
        return titled, next_cursor

    def unread_total(self, actor: Principal) -> int:
        """How many messages the caller has not read, over all their conversations."""
        return self.store.unread_total(self._person(actor))

    # messages
    def messages(self, actor: Principal, conversation_id: int, *, after_id: int | None = None,
                 before_id: int | None = None, limit: int = PAGE) -> list[MessageRow]:
        """A page of a conversation's messages (after or before an id, at most 200); for those who
        may see the conversation, ``NotFound`` for others."""
        self._open(actor, conversation_id)
        return self.store.messages(conversation_id, after_id=after_id, before_id=before_id,
                                   limit=max(1, min(limit, 200)))

    def catch_up(self, actor: Principal, after_id: int, limit: int = 200) -> list[MessageRow]:
        """What a browser missed since ``after_id``, in every conversation the caller is in
        (record threads whose record they can no longer see are left out)."""
        me = self._person(actor)
        rows = self.store.messages_for(me, max(0, after_id), limit)
        visible: dict[int, bool] = {}
        out = []
        for row in rows:
            if row.conversation_id not in visible:
                try:
                    self._open(actor, row.conversation_id)
                    visible[row.conversation_id] = True
                except NotFound:
                    visible[row.conversation_id] = False
            if visible[row.conversation_id]:
                out.append(row)
        return out

    def message(self, actor: Principal, message_id: int) -> MessageRow:
        """One message, for those who may see its conversation; ``NotFound`` for others."""
        row = self.store.message(message_id)
        if row is None:
            raise not_found("message", "消息")
        try:
            self._open(actor, row.conversation_id)
        except NotFound:
            raise not_found("message", "消息") from None
        return row

    def announced(self, message_id: int, readers: Sequence[int] = ()) -> Announced | None:
        """A message a live event announced, with its conversation's kind and the unread totals of
        ``readers`` (for a new or withdrawn message: its members with a socket on this worker,
        the author left out), all read once per event and worker however many sockets deliver it: one grouped
        query for the totals. For the live socket only, which then calls :meth:`deliverable` for
        each reader (the event named a reader because they were a member when the change committed)."""
        row = self.store.message(message_id)
        if row is None:
            return None
        conversation = self.store.conversation(row.conversation_id)
        if conversation is None:
            return None
        others = [u for u in readers if u != row.author_id]
        unread = self.store.unread_totals(others) if others else {}
        return Announced(row, conversation.kind, unread)

    def deliverable(self, actor: Principal, row: MessageRow, kind: ConversationKind) -> MessageRow | None:
        """``row`` as ``actor`` — one of the people its event was announced to — may see it now,
        or ``None``. A one-to-one or group conversation keeps its members (there is no leaving
        one), so the announcement itself is the access check; a record thread asks the record's
        service again, since access to a record can be lost."""
        if kind is not ConversationKind.RECORD:
            return row
        try:
            return self.message(actor, row.id)
        except NotFound:
            return None

    def _mentions(self, body: str) -> list[int]:
        names = rules.mentioned_usernames(body)
        found = self.store.users_by_username(list(names)) if names else {}
        return [found[n].id for n in names if n in found and found[n].active]

    def post(self, actor: Principal, conversation_id: int, body: str | None,
             uploads: Sequence[Upload] = ()) -> MessageRow:
        """Check everything, then store the files and the message, then announce it. Bad input,
        a thread the caller may not see, or flooding: an error, and nothing stored or sent."""
        me = self._person(actor)
        text = rules.clean_body(body, has_attachments=bool(uploads))
        if len(uploads) > rules.MAX_ATTACHMENTS:
            raise InvalidValue("files", f"每条消息最多{rules.MAX_ATTACHMENTS}个附件", code="message.too_many_files")
        checked = [md.check_media(u.data, u.declared_type, self.media.limits, self.media.images) for u in uploads]
        self._open(actor, conversation_id)
        self.flood.hit(f"message:{me}")
        files = [NewAttachment(c.content_type, len(u.data), self.media.store.put(u.data),
                               self.media.store.put(c.thumbnail) if c.thumbnail is not None else None)
                 for u, c in zip(uploads, checked, strict=True)]
        row = self.store.add_message(conversation_id, me, actor.username, text, self._mentions(text), files,
                                     self._clock())
        self._announce(row, "posted")
        return row

    def edit(self, actor: Principal, message_id: int, body: str | None) -> MessageRow:
        """Change a message's text: its author, within the edit window (shown as 已编辑 after).
        Raises ``PermissionDenied``/``Conflict`` outside that, ``InvalidValue`` for a bad body."""
        current = self.message(actor, message_id)
        rules.check_can_change(_facts(current), actor.user_id, self._clock(), "编辑")
        text = rules.clean_body(body, has_attachments=bool(current.attachments))
        row = self.store.edit_message(message_id, text, self._mentions(text), self._clock())
        self._announce(row, "edited")
        return row

    def delete(self, actor: Principal, message_id: int) -> MessageRow:
        """Withdraw a message (撤回): its author, within the window; it stays in the thread as
        withdrawn. Raises ``PermissionDenied``/``Conflict`` outside that."""
        current = self.message(actor, message_id)
        rules.check_can_change(_facts(current), actor.user_id, self._clock(), "撤回")
        row = self.store.delete_message(message_id, self._clock())
        self._announce(row, "deleted")
        return row

    def may_change(self, actor: Principal, row: MessageRow) -> bool:
        """Whether ``actor`` may still edit or withdraw ``row`` now (its author, within the window)."""
        try:
            rules.check_can_change(_facts(row), actor.user_id, self._clock(), "编辑")
        except (PermissionDenied, Conflict):
            return False
        return True

    def mark_read(self, actor: Principal, conversation_id: int, up_to_id: int) -> int:
        """Move the caller's read mark; returns their unread total (also sent to their other browsers)."""
        me = self._person(actor)
        self._open(actor, conversation_id)
        self.store.mark_read(conversation_id, me, up_to_id)
        total = self.store.unread_total(me)
        self.publisher.publish([me], {"type": "unread", "total": total})
        return total

    def attachment(self, actor: Principal, attachment_id: int, *, thumbnail: bool = False) -> tuple[str, bytes]:
        """(content type, bytes) of a message's file, to those who may see its conversation."""
        row: AttachmentRow | None = self.store.attachment(attachment_id)
        if row is None:
            raise not_found("attachment", "附件")
        self.message(actor, row.message_id)
        key = row.thumbnail_sha256 if thumbnail and row.thumbnail_sha256 else row.sha256
        data = self.media.store.get(key)
        if data is None:
            raise not_found("attachment", "附件")
        content_type = "image/jpeg" if thumbnail and row.thumbnail_sha256 else row.content_type
        return content_type, data

    def _announce(self, row: MessageRow, change: str) -> None:
        """One event for all the conversation's members; each worker's sockets work out the
        rest (the message, read once; the unread totals, one grouped query) — nothing per member
        here, inside the writer's request."""
        version = row.deleted_at or row.edited_at or row.created_at
        self.publisher.publish(self.store.member_ids(row.conversation_id),
                               {"type": "message", "change": change, "conversation_id": row.conversation_id,
                                "message_id": row.id, "version": version.isoformat()})


def _facts(row: MessageRow) -> rules.MessageFacts:
    return rules.MessageFacts(row.id, row.author_id, row.created_at, row.deleted_at)


def _parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    if not cursor:
        return None
    try:
        last, cid = (int(x) for x in cursor.split("."))
    except ValueError:
        raise InvalidValue("cursor", "分页游标无效", code="pagination.cursor_invalid") from None
    if last < 0 or cid < 0:
        raise InvalidValue("cursor", "分页游标无效", code="pagination.cursor_invalid")
    return last, cid


__all__ = ["Announced", "ConversationView", "MessagesService", "Upload"]
