"""Live delivery (issue 21 §3): one WebSocket per signed-in browser, ``/live``.

- **Which backend when.** Litestar channels carry the events between workers: PostgreSQL
  LISTEN/NOTIFY (``PsycoPgChannelsBackend``) when ``DATABASE_URL`` is PostgreSQL, so a message
  posted through one worker reaches a browser connected to another; the in-memory backend on
  SQLite, which runs as one process.
- **What publishes, and when.** The services announce through ``Container.live`` only after
  their write has committed: ``message`` (posted, edited, deleted; with the conversation and
  message ids) and ``unread`` (the person's new unread total). A failed or rolled-back write
  announces nothing. The channel event is small (NOTIFY payloads are capped at 8 kB); the socket
  reads the message itself from the database, as that person, and sends it whole.
- **One read per event.** A message's sockets on one worker share one database read of it
  (``LiveRows``, keyed by message, change and version); each reader's access is then
  ``MessagesService.deliverable`` (no query for a one-to-one or group conversation, whose event
  reached only its members; the record's own check for a record thread).
- **Catch-up.** The browser connects with ``?after=<last message id it showed>``. The socket
  subscribes first, then sends every message after that id from the database, then the live
  ones — skipping any id it has already sent, so each message arrives exactly once.
- **No session.** The socket is accepted and closed at once with code 4401 and a reason; a
  socket opened from another site's page (its ``Origin`` is not ours) is closed with 4403.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import msgspec
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.concurrency import sync_to_thread
from litestar.exceptions import WebSocketDisconnect

from dealercrm.adapters.live import LiveRelay, user_channel
from dealercrm.application.ports.messages import MessageRow
from dealercrm.application.services.messages import MessagesService
from dealercrm.config import Settings
from dealercrm.domain.identity import Principal
from dealercrm.domain.messages import ConversationKind
from dealercrm.entrypoints.http.messages import message_out

NO_SESSION = 4401
FOREIGN_ORIGIN = 4403


class LiveRows:
    """The messages the live events of one worker announced, each read from the database once
    however many of the worker's sockets deliver it: the first socket starts the read, the others
    await the same task. Keeps the last ``size`` events."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._reads: dict[tuple[int, str, str], asyncio.Task[tuple[MessageRow, ConversationKind] | None]] = {}

    def read(self, messages: MessagesService, event: dict[str, Any]) -> Awaitable[tuple[MessageRow, ConversationKind] | None]:
        key = (int(event["message_id"]), str(event.get("change")), str(event.get("version")))
        task = self._reads.get(key)
        if task is None:
            task = asyncio.ensure_future(sync_to_thread(messages.announced, key[0]))
            self._reads[key] = task
            while len(self._reads) > self.size:
                self._reads.pop(next(iter(self._reads)))
        return asyncio.shield(task)


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


def relay_hooks(relay: LiveRelay, plugin: ChannelsPlugin) -> tuple[Any, Any]:
    """Startup and shutdown hooks that connect the services' relay to the channels. Services
    publish from worker threads; the plugin's queue belongs to the event loop, so each event is
    handed over with ``call_soon_threadsafe``."""

    async def connect() -> None:
        loop = asyncio.get_running_loop()

        def hand_over(channels: list[str], event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(plugin.publish, event, channels)

        relay.connect(hand_over)

    async def disconnect() -> None:
        relay.connect(None)

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
async def live_socket(socket: WebSocket[Any, Any, Any], channels: ChannelsPlugin, messages: MessagesService) -> None:
    rows: LiveRows = socket.app.state.live_rows
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

    async with channels.start_subscription([user_channel(user.user_id)]) as subscriber:
        # subscribed before reading the database: what commits in between arrives live, and the
        # ids already sent are skipped
        for row in await sync_to_thread(messages.catch_up, user, after):
            await socket.send_text(_message_event(row, "posted"))
            sent = max(sent, row.id)
        total = await sync_to_thread(messages.unread_total, user)
        await socket.send_text(msgspec.json.encode({"type": "unread", "total": total, "caught_up_to": sent}).decode())

        async def forward() -> None:
            nonlocal sent
            async for raw in subscriber.iter_events():
                event = msgspec.json.decode(raw)
                if event.get("type") == "message":
                    if event.get("change") == "posted" and int(event["message_id"]) <= sent:
                        continue
                    announced = await rows.read(messages, event)
                    if announced is None:
                        continue
                    row = announced[0]
                    if announced[1] is ConversationKind.RECORD:  # access to the record is asked again
                        found = await sync_to_thread(messages.deliverable, user, *announced)
                        if found is None:
                            continue
                        row = found
                    await socket.send_text(_message_event(row, str(event.get("change"))))
                    if event.get("change") == "posted":
                        sent = max(sent, row.id)
                else:
                    await socket.send_text(raw.decode())

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(forward)
            try:
                while True:
                    await socket.receive_data(mode="text")  # pings; a closed socket ends the loop
            except WebSocketDisconnect:
                pass
            tasks.cancel_scope.cancel()


__all__ = ["LiveRows", "channels_plugin", "live_socket", "relay_hooks"]
