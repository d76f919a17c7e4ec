"""Live delivery (issue 21 §3): one WebSocket per signed-in browser, ``/live``.

- **Which backend when.** Litestar channels carry the events between workers: PostgreSQL
  LISTEN/NOTIFY (``PsycoPgChannelsBackend``) when ``DATABASE_URL`` is PostgreSQL, so a message
  posted through one worker reaches a browser connected to another; the in-memory backend on
  SQLite, which runs as one process.
- **What publishes, and when.** The services announce through ``Container.live`` only after
  their write has committed; a failed or rolled-back write announces nothing:
  - ``message`` — a message posted, edited or withdrawn (conversation and message ids); the
    socket sends it whole, read from the database as its reader;
  - ``unread`` — a person's new unread total: with every new or withdrawn message, to each member
    but its author, and to the person's other browsers when a read mark moves;
  - ``workbench`` — new items on someone's workbench (工作台): a workflow step opened for them
    (its assignee: a role, department, region or named user) or handed to them, a shipment of
    their dealer's on its way (a receipt to confirm). The workbench page then reloads its to-do
    list (htmx).
- **One event per change, one read per worker.** An event goes out once on one channel
  (``LIVE_CHANNEL``) naming its people; each worker's :class:`LiveHub` listens once and fans it
  out to its own sockets. A message's sockets on one worker share one read of it, together with
  their unread totals in one grouped query; each reader's access is then
  ``MessagesService.deliverable`` (no query for a one-to-one or group conversation, whose event
  named only its members; the record's own check for a record thread).
- **Catch-up.** The browser connects with ``?after=<last message id it showed>``. The socket
  joins its worker's hub first, then sends every message after that id from the database, then the live
  ones — skipping any id it has already sent, so each message arrives exactly once.
  ``?after=live`` asks for no catch-up (the workbench page, which only reloads its to-do list).
- **No session.** The socket is accepted and closed at once with code 4401 and a reason; a
  socket opened from another site's page (its ``Origin`` is not ours) is closed with 4403.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import anyio
import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.concurrency import sync_to_thread
from litestar.exceptions import WebSocketDisconnect

from dealercrm.adapters.live import LIVE_CHANNEL, LiveRelay
from dealercrm.application.ports.messages import MessageRow
from dealercrm.application.services.messages import Announced, MessagesService
from dealercrm.config import Settings
from dealercrm.domain.errors import DomainError
from dealercrm.domain.identity import Principal
from dealercrm.domain.messages import ConversationKind
from dealercrm.domain.workflow import Assignee, AssigneeKind
from dealercrm.entrypoints.http.messages import message_out

log = structlog.get_logger(__name__)

NO_SESSION = 4401
FOREIGN_ORIGIN = 4403


class Shared:
    """A message event as one worker read it for all its sockets: the message, its unread totals
    and the frame most sockets send, encoded once."""

    __slots__ = ("announced", "frame")

    def __init__(self, announced: Announced, frame: str) -> None:
        self.announced = announced
        self.frame = frame


async def _shared_read(messages: MessagesService, message_id: int, readers: list[int], change: str) -> Shared | None:
    announced = await sync_to_thread(messages.announced, message_id, readers)
    return None if announced is None else Shared(announced, _message_event(announced.row, change))


class Inbox:
    """One socket's queue of events from its worker's hub, in the order they arrived. A socket
    that falls this far behind loses its oldest events (it catches up from the database on its
    next connect)."""

    def __init__(self, principal: Principal, size: int = 1000) -> None:
        self.principal = principal
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Shared | None] | None]] = asyncio.Queue(size)

    def put(self, event: dict[str, Any], read: asyncio.Future[Shared | None] | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait((event, read))

    async def get(self) -> tuple[dict[str, Any], asyncio.Future[Shared | None] | None]:
        return await self._queue.get()

    def __len__(self) -> int:
        """Events waiting to be sent."""
        return self._queue.qsize()


_ASSIGNEE_KINDS = frozenset(k.value for k in AssigneeKind)


def _addressed(principal: Principal, audience: list[list[str]]) -> bool:
    """Is the socket's person one of a workbench event's addressees (a workflow step's
    assignee, a dealer's people)? Decided in memory: the page's own query scopes what it shows."""
    for kind, value in audience:
        if kind == "dealer":
            if principal.dealer_id is not None and str(principal.dealer_id) == value:
                return True
        elif kind in _ASSIGNEE_KINDS:
            try:
                if Assignee(AssigneeKind(kind), value).addresses(principal):
                    return True
            except DomainError:  # not an addressee this version knows
                continue
    return False


class LiveHub:
    """The worker's one subscription to the live channel, fanned out to the worker's own sockets.

    A ``message`` event names the conversation's members; the hub starts one read of the message
    — with the unread totals of those members who have a socket here, one grouped query — and
    hands every such socket the same pending read, so a thousand sockets cost one read, in the
    order the events came. A worker with none of the members' sockets reads nothing."""

    def __init__(self) -> None:
        self._inboxes: dict[int, set[Inbox]] = {}
        self._task: asyncio.Task[None] | None = None

    def join(self, principal: Principal) -> Inbox:
        inbox = Inbox(principal)
        self._inboxes.setdefault(principal.user_id or 0, set()).add(inbox)
        return inbox

    def leave(self, inbox: Inbox) -> None:
        key = inbox.principal.user_id or 0
        held = self._inboxes.get(key)
        if held is not None:
            held.discard(inbox)
            if not held:
                del self._inboxes[key]

    def dispatch(self, messages: MessagesService, event: dict[str, Any]) -> None:
        if "audience" in event:
            audience = [[str(k), str(v)] for k, v in event["audience"]]
            for inboxes in self._inboxes.values():
                for inbox in inboxes:
                    if _addressed(inbox.principal, audience):
                        inbox.put({"type": event.get("type")}, None)
            return
        here = [int(u) for u in event.pop("user_ids", ()) if int(u) in self._inboxes]
        if not here:
            return
        read: asyncio.Future[Shared | None] | None = None
        if event.get("type") == "message":
            change = str(event.get("change"))
            readers = here if change in ("posted", "deleted") else []
            read = asyncio.ensure_future(_shared_read(messages, int(event["message_id"]), readers, change))
        for uid in here:
            for inbox in self._inboxes.get(uid, ()):
                inbox.put(event, read)

    def start(self, plugin: ChannelsPlugin, messages: MessagesService) -> None:
        async def listen() -> None:
            while True:  # a broken subscription is opened again; browsers catch up on reconnect
                try:
                    async with plugin.start_subscription([LIVE_CHANNEL]) as subscriber:
                        async for raw in subscriber.iter_events():
                            try:
                                self.dispatch(messages, msgspec.json.decode(raw))
                            except (msgspec.DecodeError, KeyError, TypeError, ValueError):
                                log.warning("live_event_unreadable", size=len(raw))
                    return  # the channels plugin stopped its subscribers: the app is shutting down
                except Exception:
                    log.exception("live_subscription_failed")
                await asyncio.sleep(1)

        self._task = asyncio.ensure_future(listen())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def _notify_backend(database_url: Callable[[], str]) -> Any:
    """Litestar's PostgreSQL backend, publishing on one kept connection: the stock one opens a new
    connection for every publish — one per message and one per member's unread count, which with
    a thousand sockets was most of the delivery time (``benchmarks/live_websockets.py``)."""
    # psycopg's names as Litestar's backend module holds them: the driver stays Litestar's business
    from litestar.channels.backends.psycopg import (
        SQL,
        AsyncConnection,
        Identifier,
        PsycoPgChannelsBackend,
    )

    class KeptConnectionBackend(PsycoPgChannelsBackend):
        async def on_startup(self) -> None:
            # the database of the container the app is wired to when it starts
            scheme, _, rest = database_url().partition("://")  # postgresql+psycopg:// → postgresql://
            self._pg_dsn = f"{scheme.split('+')[0]}://{rest}"
            self._publisher: AsyncConnection[Any] | None = None
            self._publish_lock = asyncio.Lock()
            await super().on_startup()

        async def on_shutdown(self) -> None:
            if self._publisher is not None:
                await self._publisher.close()
                self._publisher = None
            await super().on_shutdown()

        async def publish(self, data: bytes, channels: Any) -> None:
            text = data.decode("utf-8")
            async with self._publish_lock:  # one statement at a time on the kept connection
                for attempt in (1, 2):
                    try:
                        if self._publisher is None or self._publisher.closed:
                            self._publisher = await AsyncConnection.connect(self._pg_dsn, autocommit=True)
                        for channel in channels:
                            await self._publisher.execute(
                                SQL("NOTIFY {channel}, {data}").format(channel=Identifier(channel), data=text))
                        return
                    except Exception:  # the connection broke (or the statement failed): once more on a new one
                        if self._publisher is not None:
                            await self._publisher.close()
                        self._publisher = None
                        if attempt == 2:
                            raise

    return KeptConnectionBackend(database_url())


def channels_plugin(settings: Settings, database_url: Callable[[], str]) -> ChannelsPlugin:
    """LISTEN/NOTIFY on PostgreSQL (across workers), in memory on SQLite (one process).
    ``database_url`` answers the database to listen on when the app starts."""
    backend: Any
    if settings.database_url.startswith("postgresql"):
        backend = _notify_backend(database_url)
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True, subscriber_max_backlog=1000,
                          subscriber_backlog_strategy="dropleft")


def relay_hooks(relay: LiveRelay, plugin: ChannelsPlugin, hub: LiveHub, messages: MessagesService) -> tuple[Any, Any]:
    """Startup and shutdown hooks that connect the services' relay to the channels and start the
    worker's hub. Services publish from worker threads; the plugin's queue belongs to the event
    loop, so each event is handed over with ``call_soon_threadsafe``."""

    async def connect() -> None:
        loop = asyncio.get_running_loop()

        def hand_over(channels: list[str], event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(plugin.publish, event, channels)

        hub.start(plugin, messages)
        relay.connect(hand_over)

    async def disconnect() -> None:
        relay.connect(None)
        await hub.stop()

    return connect, disconnect


def _same_origin(socket: WebSocket[Any, Any, Any]) -> bool:
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser page (a script, a test client): the session cookie still decides
    host = socket.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def _message_event(row: MessageRow, change: str) -> str:
    return msgspec.json.encode({"type": "message", "change": change, "message": message_out(row)}).decode()


@websocket("/live", opt={"web_ui": True})
async def live_socket(socket: WebSocket[Any, Any, Any], messages: MessagesService) -> None:
    hub: LiveHub = socket.app.state.live_hub
    await socket.accept()
    user: Principal | None = socket.scope.get("user")
    if user is None or user.user_id is None:
        await socket.close(code=NO_SESSION, reason="未登录或会话已过期 (no valid session)")
        return
    if not _same_origin(socket):
        await socket.close(code=FOREIGN_ORIGIN, reason="来源不符 (foreign origin)")
        return
    raw_after = socket.query_params.get("after", "0")
    after = int(raw_after) if raw_after.isdigit() and len(raw_after) < 19 else 0
    sent = after
    catch_up = raw_after != "live"  # a page that only wants what happens from now (the workbench)

    inbox = hub.join(user)
    try:
        # joined the hub before reading the database: what commits in between arrives live, and
        # the ids already sent are skipped
        for row in await sync_to_thread(messages.catch_up, user, after) if catch_up else ():
            await socket.send_text(_message_event(row, "posted"))
            sent = max(sent, row.id)
        total = await sync_to_thread(messages.unread_total, user)
        await socket.send_text(msgspec.json.encode({"type": "unread", "total": total, "caught_up_to": sent}).decode())

        async def forward() -> None:
            nonlocal sent
            while True:
                event, read = await inbox.get()
                if read is None:
                    await socket.send_text(msgspec.json.encode(event).decode())
                    continue
                change = str(event.get("change"))
                if change == "posted" and int(event["message_id"]) <= sent:
                    continue
                shared = await asyncio.shield(read)
                if shared is None:
                    continue
                announced, frame = shared.announced, shared.frame
                if announced.kind is ConversationKind.RECORD:  # access to the record is asked again
                    mine = await sync_to_thread(messages.deliverable, user, announced.row, announced.kind)
                    if mine is None:
                        continue
                    frame = _message_event(mine, change)
                await socket.send_text(frame)
                if change == "posted":
                    sent = max(sent, announced.row.id)
                if user.user_id in announced.unread:
                    await socket.send_text(msgspec.json.encode(
                        {"type": "unread", "total": announced.unread[user.user_id]}).decode())

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(forward)
            try:
                while True:
                    await socket.receive_data(mode="text")  # pings; a closed socket ends the loop
            except WebSocketDisconnect:
                pass
            tasks.cancel_scope.cancel()
    finally:
        hub.leave(inbox)


__all__ = ["Inbox", "LiveHub", "channels_plugin", "live_socket", "relay_hooks"]
