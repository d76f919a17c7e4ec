"""The kiosk and guard screens, served by the agent itself on 127.0.0.1 (stdlib ``http.server``).

Chromium in kiosk mode shows ``http://127.0.0.1:PORT/`` (the kiosk screen, for the driver) or
``/guard`` (the guard station). The pages are static files in ``edge_agent/screens/`` plus the
web UI's own stylesheet (``dealercrm/entrypoints/web/static/app.css``); nothing comes from a
CDN. They subscribe to ``/events`` (Server-Sent Events): every change of the
:class:`~edge_agent.screens.ScreenHub` document is pushed as one ``data:`` line of JSON.

Maintenance (a maintenance badge is in) adds three actions — ``POST /maintenance/print-test``,
``/maintenance/paper`` and ``/maintenance/exit`` — which need the token the hub made when the
badge was tapped (it is pushed to the kiosk page only) and a request addressed to this loopback
server (``Host``/``Origin`` checks), so no other web page can reach them.
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
import queue
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import structlog

from edge_agent.screens import ScreenHub

log = structlog.get_logger(__name__)

PAGES = Path(__file__).with_name("screens")

def _web_static() -> Path:
    """The web UI's static folder (its stylesheet and icon), found without importing the web UI."""
    spec = importlib.util.find_spec("dealercrm")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(roots[0] if roots else ".") / "entrypoints" / "web" / "static"


WEB_STATIC = _web_static()
STATIC = {
    "/static/screen.css": PAGES / "screen.css",
    "/static/screen.js": PAGES / "screen.js",
    "/static/app.css": WEB_STATIC / "app.css",
    "/favicon.svg": WEB_STATIC / "favicon.svg",
}
ROUTES = {"/": PAGES / "kiosk.html", "/kiosk": PAGES / "kiosk.html", "/guard": PAGES / "guard.html"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
KEEPALIVE = 15.0


class ScreenServer:
    """The screens' HTTP server on ``127.0.0.1:port`` (``port=0`` picks a free one).

    ``maintenance`` runs a maintenance action (``print_test``, ``paper``, ``exit``) and returns
    its outcome: the runner hands it to the kiosk's thread and waits for the answer."""

    def __init__(self, hub: ScreenHub, port: int, *,
                 maintenance: Callable[[str], dict[str, Any]] | None = None, host: str = "127.0.0.1") -> None:
        self.hub = hub
        self.maintenance = maintenance
        self.closing = threading.Event()
        handler = type("Handler", (_Handler,), {"screens": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="screens", daemon=True)
        self._thread.start()
        log.info("screens_serving", url=self.url)
        return self

    def close(self) -> None:
        self.closing.set()
        self.hub.publish()  # wakes the event streams, which see ``closing`` and end
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=3)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    screens: ScreenServer
    server_version = "edge-agent-screens/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("screens_request", line=format % args)

    # -- helpers -----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _not_found(self) -> None:
        self._send(HTTPStatus.NOT_FOUND, "未找到此页面".encode(), "text/plain; charset=utf-8")

    def _local_request(self) -> bool:
        """Addressed to this loopback server (no DNS rebinding), from its own pages (no other origin)."""
        expected = {f"127.0.0.1:{self.screens.port}", f"localhost:{self.screens.port}"}
        if self.headers.get("Host") not in expected:
            return False
        origin = self.headers.get("Origin")
        return origin is None or origin.removeprefix("http://") in expected

    # -- GET ---------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if not self._local_request():
            self._send(HTTPStatus.FORBIDDEN, b"forbidden", "text/plain; charset=utf-8")
            return
        if path == "/events":
            self._events()
            return
        if path == "/state":
            self._json(HTTPStatus.OK, self.screens.hub.snapshot())
            return
        file = ROUTES.get(path) or STATIC.get(path)
        if file is None or not file.is_file():
            self._not_found()
            return
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith(("javascript", "svg+xml")):
            content_type += "; charset=utf-8"
        self._send(HTTPStatus.OK, file.read_bytes(), content_type)

    do_HEAD = do_GET

    def _events(self) -> None:
        hub = self.screens.hub
        feed = hub.subscribe()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        token_sent: str | None = None
        try:
            self.wfile.write(b"retry: 1000\n\n")
            while not self.screens.closing.is_set():
                try:
                    document = feed.get(timeout=KEEPALIVE)
                except queue.Empty:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    continue
                token = hub.maintenance_token()
                if token != token_sent:  # only the screens' own pages ever see the token
                    self.wfile.write(f"event: token\ndata: {json.dumps(token)}\n\n".encode())
                    token_sent = token
                self.wfile.write(f"data: {document}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the screen went away; it reconnects and gets the current state
        finally:
            hub.unsubscribe(feed)

    # -- POST (maintenance) ------------------------------------------------------------------

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 4096))
        actions = {"/maintenance/print-test": "print_test", "/maintenance/paper": "paper",
                   "/maintenance/exit": "exit"}
        action = actions.get(path)
        if action is None:
            self._not_found()
            return
        if not self._local_request():
            self._json(HTTPStatus.FORBIDDEN, {"code": "screens.forbidden", "detail": "只接受本机屏幕的请求"})
            return
        hub = self.screens.hub
        if not hub.in_maintenance:
            self._json(HTTPStatus.CONFLICT, {"code": "maintenance.closed", "detail": "未处于维护模式：请先刷维护工牌"})
            return
        if not hub.maintenance_token_ok(self.headers.get("X-Maintenance-Token")):
            self._json(HTTPStatus.FORBIDDEN, {"code": "maintenance.token", "detail": "维护凭证无效：请重新刷维护工牌"})
            return
        if self.screens.maintenance is None:
            self._json(HTTPStatus.CONFLICT, {"code": "maintenance.unavailable", "detail": "本机不是自助机"})
            return
        outcome = self.screens.maintenance(action)
        self._json(HTTPStatus.OK, outcome)


__all__ = ["ScreenServer"]
