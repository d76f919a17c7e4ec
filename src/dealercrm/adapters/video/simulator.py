"""A local simulator of the video meeting API (docs/video-api.md) on 127.0.0.1.

Used by the integration tests (over real HTTP) and the demo. Checks the HMAC signature, the
timestamp window and nonce reuse like a real provider; idempotent creates by
``Idempotency-Key``; faults on demand: ``fail_next(status, error_code, message)`` answers the
next request with that error, ``delay_next(seconds)`` answers it late (a client timeout).

    with VideoSimulator(app_id="demo", secret="s3cret") as sim:
        client = HttpVideoConferencing(sim.base_url, "demo", "s3cret")

Run standalone: ``python -m dealercrm.adapters.video.simulator --port 9400`` (prints
``LISTENING <port>``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from dealercrm.adapters.video.wire import MAX_SKEW_SECONDS, verify

MAX_BODY = 64 * 1024


class VideoSimulator:
    def __init__(self, *, app_id: str = "video-sim", secret: str = "video-sim-secret", host: str = "127.0.0.1",
                 port: int = 0, join_base: str = "https://meeting.example.test/j") -> None:
        self.app_id, self.secret, self.join_base = app_id, secret, join_base
        self.meetings: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self._nonces: set[str] = set()
        self._faults: list[tuple[str, Any]] = []
        self._ids = itertools.count(700_000_001)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.sim = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VideoSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="video-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> VideoSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults and after-the-fact data ---------------------------------------------------------

    def fail_next(self, status: int, error_code: str = "internal_error", message: str = "simulated") -> None:
        with self._lock:
            self._faults.append(("fail", (status, error_code, message)))

    def delay_next(self, seconds: float) -> None:
        with self._lock:
            self._faults.append(("delay", seconds))

    def add_participant(self, meeting_id: str, name: str, join_time: int, leave_time: int | None = None) -> None:
        with self._lock:
            self.meetings[meeting_id]["participants"].append(
                {"name": name, "join_time": join_time, "leave_time": leave_time})

    def live_meetings(self) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.meetings.values() if m["status"] == "scheduled"]

    # -- request handling (called from the handler threads) -------------------------------------

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any] | None]:
        with self._lock:
            self.requests.append((method, path))
            fault = self._faults.pop(0) if self._faults else None
        if fault and fault[0] == "delay":
            time.sleep(fault[1])
        elif fault:
            status, code, message = fault[1]
            return status, {"error_code": code, "message": message}
        problem = self._authenticate(method, path, headers, body)
        if problem:
            return problem
        parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")]
        if parts[:2] != ["v1", "meetings"]:
            return 404, {"error_code": "not_found", "message": "no such endpoint"}
        with self._lock:
            if method == "POST" and len(parts) == 2:
                return self._create(headers, body)
            if len(parts) >= 3 and parts[2] not in self.meetings:
                return 404, {"error_code": "meeting_not_found", "message": "meeting does not exist"}
            if method == "DELETE" and len(parts) == 3:
                self.meetings[parts[2]]["status"] = "cancelled"
                return 204, None
            if method == "GET" and len(parts) == 3:
                return 200, _public(self.meetings[parts[2]])
            if method == "GET" and len(parts) == 4 and parts[3] == "participants":
                return 200, {"meeting_id": parts[2], "participants": list(self.meetings[parts[2]]["participants"])}
        return 405, {"error_code": "method_not_allowed", "message": method}

    def _authenticate(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]] | None:
        if headers.get("X-App-Id") != self.app_id:
            return 401, {"error_code": "invalid_app_id", "message": "unknown app id"}
        timestamp, nonce = headers.get("X-Timestamp", ""), headers.get("X-Nonce", "")
        if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > MAX_SKEW_SECONDS:
            return 401, {"error_code": "timestamp_expired", "message": "timestamp outside the window"}
        if not verify(self.secret, method, path, timestamp, nonce, body, headers.get("X-Signature", "")):
            return 401, {"error_code": "invalid_signature", "message": "signature mismatch"}
        with self._lock:
            if len(nonce) < 16 or nonce in self._nonces:
                return 401, {"error_code": "nonce_reused", "message": "nonce missing or reused"}
            self._nonces.add(nonce)
        return None

    def _create(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        key = headers.get("Idempotency-Key") or ""
        if not 8 <= len(key) <= 128:
            return 400, {"error_code": "idempotency_key_required", "message": "Idempotency-Key header required"}
        if key in self.by_key:
            return 200, _public(self.meetings[self.by_key[key]])
        try:
            data = json.loads(body or b"{}")
            subject, start, end = str(data["subject"]).strip(), int(data["start_time"]), int(data["end_time"])
        except (ValueError, KeyError, TypeError):
            return 400, {"error_code": "invalid_param", "message": "subject, start_time and end_time are required"}
        if not subject or len(subject) > 255:
            return 400, {"error_code": "invalid_param", "message": "subject must be 1..255 characters"}
        if end <= start:
            return 400, {"error_code": "invalid_time", "message": "end_time must be after start_time"}
        if end - start > 24 * 3600 * 7:
            return 400, {"error_code": "invalid_time", "message": "a meeting lasts at most 7 days"}
        number = next(self._ids)
        meeting = {
            "meeting_id": f"sim-{number}", "meeting_code": str(number), "subject": subject,
            "start_time": start, "end_time": end, "host": data.get("host"),
            "join_url": f"{self.join_base}/{number}", "password": f"{secrets.randbelow(10**6):06d}",
            "status": "scheduled", "participants": [],
        }
        self.meetings[meeting["meeting_id"]] = meeting
        self.by_key[key] = meeting["meeting_id"]
        return 201, _public(meeting)


def _public(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m[k] for k in ("meeting_id", "meeting_code", "subject", "start_time", "end_time", "join_url",
                              "password", "status")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VideoSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return None

    def _run(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"error_code": "too_large", "message": "body too large"})
            return
        body = self.rfile.read(length) if length else b""
        status, payload = self.server.sim.handle(method, self.path, self.headers, body)  # type: ignore[attr-defined]
        try:
            self._send(status, payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def _send(self, status: int, payload: dict[str, Any] | None) -> None:
        raw = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._run("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._run("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._run("DELETE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dealercrm video-sim", description="video meeting API simulator (docs/video-api.md) on 127.0.0.1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  dealercrm video-sim --port 9400\n"
               "  DEALERCRM_VIDEO_URL=http://127.0.0.1:9400 DEALERCRM_VIDEO_APP_ID=video-sim "
               "DEALERCRM_VIDEO_SECRET=video-sim-secret dealercrm serve --demo")
    parser.add_argument("--port", type=int, default=9400, help="port (default 9400)")
    parser.add_argument("--app-id", default="video-sim", help="the application id clients send (X-App-Id)")
    parser.add_argument("--secret", default="video-sim-secret", help="the HMAC secret requests are signed with")
    args = parser.parse_args(argv)
    sim = VideoSimulator(app_id=args.app_id, secret=args.secret, port=args.port)
    print(f"LISTENING {sim.port}", flush=True)
    try:
        sim._server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
