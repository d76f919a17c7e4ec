"""The ERP simulator: docs/erp-api.md served over HTTP on 127.0.0.1, with faults on demand.

Run it as ``dealercrm erp-sim`` or ``python -m dealercrm.adapters.erp.simulator --port 0``; the
first stdout line is ``LISTENING <port>``. State lives in a SQLite file (``--state``) so a
restart keeps orders, vehicles and the event feed.

The server is the standard library's ``ThreadingHTTPServer`` on purpose: a test double for a
neighbour must be able to misbehave at the socket level (answer after the client gave up,
hang up without answering), which a framework would politely prevent. Every request runs in
its own thread, so a hanging answer does not block the others.
"""

from __future__ import annotations

import argparse
import hmac
import json
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from dealercrm.adapters.erp.sim_engine import ErpSimEngine, SimApiError, SimFaults

DEFAULT_API_KEY = "erp-sim-key"
MAX_BODY = 1 << 20
_PREFIX = "/erp/v1/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], engine: ErpSimEngine, api_key: str, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.engine = engine
        self.api_key = api_key
        self.verbose = verbose


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "ErpSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            sys.stderr.write("erp-sim: " + (format % args) + "\n")

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        try:
            status, body, after = self._route(method)
        except SimApiError as exc:
            status, body, after = exc.status, exc.body(), None
        except Exception as exc:  # the simulator must answer, not die, on its own bugs
            status, body, after = 500, {"error": {"code": "internal_error", "message": repr(exc), "details": {}}}, None
        if after == "drop":
            self._drop()
            return
        if after == "hang":
            time.sleep(self.server.engine.faults.hang_seconds)
        self._send(status, body)

    def _route(self, method: str) -> tuple[int, Any, str | None]:
        engine = self.server.engine
        url = urlsplit(self.path)
        if not url.path.startswith(_PREFIX):
            raise SimApiError(404, "not_found", "no such endpoint", path=url.path[:100])
        parts = [unquote(p) for p in url.path[len(_PREFIX):].split("/")]
        body = self._read_body()
        self._authenticate()
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        key = self.headers.get("Idempotency-Key")

        if parts[0] == "_sim":
            return self._sim(method, parts[1:], body, query)
        if engine.take_error_500():
            raise SimApiError(500, "internal_error", "ERP 内部错误（模拟故障）")
        match (method, parts):
            case ("POST", ["sales-orders"]):
                created, ack = engine.create_sales_order(key, _json(body))
                return (201 if created else 200), ack, engine.take_timeout_after_commit()
            case ("GET", ["sales-orders", tracking_no]):
                return 200, engine.get_order(tracking_no), None
            case ("POST", ["sales-orders", tracking_no, "changes"]):
                created, ack = engine.record_change(tracking_no, key, _json(body))
                return (201 if created else 200), ack, engine.take_timeout_after_commit()
            case ("GET", ["events"]):
                return 200, engine.events(query.get("after"), query.get("limit", "100")), None
        raise SimApiError(404 if method == "GET" else 405, "not_found", "no such endpoint", path=url.path[:100])

    def _sim(self, method: str, parts: list[str], body: bytes, query: dict[str, str]) -> tuple[int, Any, None]:
        engine = self.server.engine
        match (method, parts):
            case ("GET", ["faults"]):
                return 200, engine.faults.to_dict(), None
            case ("PUT" | "POST", ["faults"]):
                return 200, engine.set_faults(_json(body)), None
            case ("POST", ["advance"]):
                args = _json(body) if body else {}
                if not isinstance(args, dict):
                    raise SimApiError(422, "validation_failed", "body must be an object", field="body")
                return 200, engine.advance(args.get("steps", 1), args.get("tracking_no"), args.get("until")), None
            case ("POST", ["payments"]):
                created, payment = engine.record_payment(_json(body))
                return (201 if created else 200), payment, None
            case ("GET", ["orders"]):
                return 200, {"orders": engine.list_orders(query.get("contract_no"))}, None
            case ("POST", ["reset"]):
                engine.reset()
                return 200, {"reset": True}, None
        raise SimApiError(404, "not_found", "no such control endpoint")

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.server.api_key.encode()):
            raise SimApiError(401, "unauthorized", "API 密钥缺失或无效")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise SimApiError(411, "length_required", "send Content-Length, not chunked bodies")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise SimApiError(400, "bad_request", "invalid Content-Length") from None
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            raise SimApiError(413, "body_too_large", f"body larger than {MAX_BODY} bytes")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client gave up (e.g. after a simulated hang)
            self.close_connection = True

    def _drop(self) -> None:
        """Hang up without an answer: what a client sees when the ERP dies after committing."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise SimApiError(400, "malformed_json", "请求体不是有效的 JSON") from None


# ---------------------------------------------------------------------------------------------
# running it


@attrs.define
class RunningErpSimulator:
    """A simulator serving in background threads (for the demo and in-process use)."""

    server: _Server
    engine: ErpSimEngine
    port: int
    _threads: list[threading.Thread] = attrs.field(factory=list)
    _stop: threading.Event = attrs.field(factory=threading.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self.engine.close()


def start_erp_simulator(host: str = "127.0.0.1", port: int = 0, state_path: str = ":memory:",
                        faults: SimFaults | dict[str, Any] | None = None, speed: float = 0.0, *,
                        api_key: str = DEFAULT_API_KEY, seed: int | None = None,
                        verbose: bool = False, engine: ErpSimEngine | None = None) -> RunningErpSimulator:
    """Start serving in background threads and return at once. ``speed`` is automatic
    production steps per second (0 = only ``POST /erp/v1/_sim/advance`` moves production).
    Pass ``engine`` to serve an existing book (``state_path``, ``faults``, ``seed`` are then
    ignored); it is closed with the simulator."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the ERP simulator binds to the loopback interface only")
    if isinstance(faults, dict):
        parsed = SimFaults()
        try:
            parsed.update(faults)
        except SimApiError as exc:
            raise ValueError(f"bad fault {exc.details.get('field')}: {exc.message}") from None
        faults = parsed
    if engine is None:
        engine = ErpSimEngine(state_path, faults=faults, seed=seed)
    server = _Server((host, port), engine, api_key, verbose)
    running = RunningErpSimulator(server, engine, server.server_address[1])
    serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                             name="erp-sim-http", daemon=True)
    serve.start()
    running._threads.append(serve)
    if speed > 0:
        interval = 1.0 / speed

        def tick() -> None:
            while not running._stop.wait(interval):
                try:
                    engine.advance(1)
                except Exception as exc:  # keep ticking; a closed engine ends the loop below
                    if running._stop.is_set():
                        return
                    sys.stderr.write(f"erp-sim: advance failed: {exc!r}\n")

        ticker = threading.Thread(target=tick, name="erp-sim-ticker", daemon=True)
        ticker.start()
        running._threads.append(ticker)
    return running


def run_erp_simulator(host: str = "127.0.0.1", port: int = 0, state_path: str = "erp-sim.sqlite3",
                      faults: SimFaults | dict[str, Any] | None = None, speed: float = 0.0, *,
                      api_key: str = DEFAULT_API_KEY, seed: int | None = None, verbose: bool = False) -> None:
    """Serve until SIGINT/SIGTERM. Prints ``LISTENING <port>`` on stdout first."""
    running = start_erp_simulator(host, port, state_path, faults, speed, api_key=api_key, seed=seed,
                                  verbose=verbose)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"LISTENING {running.port}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.close()


def _fault_arg(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("use NAME=VALUE, e.g. error_500_rate=0.2")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def build_parser(prog: str = "dealercrm erp-sim") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="ERP simulator (docs/erp-api.md) on 127.0.0.1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  dealercrm erp-sim --port 9300 --api-key erp-sim-key\n"
               "  dealercrm erp-sim --port 9300 --speed 2 --fault error_500_rate=0.1")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default 8765)")
    parser.add_argument("--state", default="erp-sim.sqlite3", help="SQLite file keeping the ERP's state")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="bearer key clients must send")
    parser.add_argument("--speed", type=float, default=0.0,
                        help="automatic production steps per second (0 = manual via _sim/advance)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for progress and faults")
    parser.add_argument("--fault", action="append", type=_fault_arg, default=[], metavar="NAME=VALUE",
                        help="arm a fault at start, e.g. --fault timeout_after_commit=1 "
                             "--fault error_500_rate=0.1 --fault reorder_events=true")
    parser.add_argument("--faults", default=None, help="all faults as one JSON object")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return parser


def main_erp_sim(argv: list[str]) -> int:
    """Entry point for ``dealercrm erp-sim``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    faults: dict[str, Any] = {}
    if args.faults:
        try:
            loaded = json.loads(args.faults)
        except json.JSONDecodeError:
            parser.error("--faults must be a JSON object")
        if not isinstance(loaded, dict):
            parser.error("--faults must be a JSON object")
        faults.update(loaded)
    faults.update(dict(args.fault))
    if args.speed < 0:
        parser.error("--speed must not be negative")
    try:
        run_erp_simulator(args.host, args.port, args.state, faults, args.speed, api_key=args.api_key,
                          seed=args.seed, verbose=args.verbose)
    except (ValueError, OSError) as exc:
        print(f"erp-sim: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main_erp_sim(sys.argv[1:]))
