"""``edge-agent run``: the kiosk and/or guard loops, the journal replayer and the status file.

    edge-agent run --config kiosk.toml
    edge-agent run --simulate [--config agent.toml] [--server URL --device-key dk_…]
                   [--cards cards.toml] [--state-dir DIR] [--duration SECONDS]

Threads: the kiosk loop (polls the ID card reader), the guard loop (reads the QR scanner), the
replayer (sends journaled events while the link is up, backs off while it is down) and the
status writer (``status.json``, rewritten atomically every second and whenever a device changes
state: link state, journal counts, each device's state — ok or 设备故障 — with its last error,
last kiosk and guard results — no names, no ID numbers). Every thread runs under a
:class:`~edge_agent.supervisor.Supervisor`: a thread that dies is logged, its devices are shown
faulty, their ports are closed and it is started again with backoff. SIGTERM / SIGINT stop them
cleanly; SIGKILL loses nothing that the journal acknowledged.

``--simulate`` starts every device simulator and points the real adapters at them: the GA/T 467
SAM reader on a pseudo-terminal (115200-baud wire delay) presenting the cards of ``--cards``
one after the other (each is "tapped", handled, then taken away), the network ESC/POS printer
on 127.0.0.1, and a simulated scanner that scans every pass the printer prints — so one command
shows the whole gate. The decoded slips are echoed to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import attrs
import msgspec
import structlog

from dealercrm.domain.errors import DomainError
from dealercrm.domain.printing import layout_gate_pass
from dealercrm.wire.kiosk import KioskPassOut, PrintLayout
from edge_agent.config import (
    AgentConfig,
    ConfigError,
    DeviceConfig,
    PrinterConfig,
    ReaderConfig,
    ScreenConfig,
    ServerConfig,
    load_config,
)
from edge_agent.guard import (
    BadgeBook,
    BadgeDesk,
    Guard,
    GuardResult,
    GuardSession,
    KeyRing,
    Link,
    PassBook,
    Replayer,
    mask_badge,
    run_badge_desk,
)
from edge_agent.journal import Journal
from edge_agent.kiosk import Kiosk, KioskResult, document_for
from edge_agent.logs import configure_logging
from edge_agent.screen_server import ScreenServer
from edge_agent.screens import ScreenHub, start_of_today
from edge_agent.server import KioskServer, ServerRefused, ServerUnreachable
from edge_agent.supervisor import DeviceHealth, Supervisor

log = structlog.get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-agent run", description="Run the kiosk / guard program.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  edge-agent run --config /etc/edge-agent/kiosk.toml\n"
               "  EDGE_AGENT_DEVICE_KEY=dk_… edge-agent run --simulate --server http://127.0.0.1:8000 "
               "--cards examples/sim-cards.toml --duration 15")
    parser.add_argument("--config", default=None, help="agent configuration (TOML)")
    parser.add_argument("--simulate", action="store_true", help="start every device simulator")
    parser.add_argument("--server", default=None, help="server URL (overrides [server] url)")
    parser.add_argument("--device-key", default=None, help="device key (prefer EDGE_AGENT_DEVICE_KEY)")
    parser.add_argument("--cards", default=None, help="--simulate: ID cards to present (TOML or JSON)")
    parser.add_argument("--state-dir", default=None, help="journal, key cache and status file directory")
    parser.add_argument("--role", action="append", choices=("kiosk", "guard"), help="override [agent] roles")
    parser.add_argument("--screen-port", type=int, default=None,
                        help="serve the kiosk / guard screens on 127.0.0.1:PORT (0: a free port)")
    parser.add_argument("--no-screen", action="store_true", help="do not serve the screens")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--log-level", default=None)
    return parser


# ---------------------------------------------------------------------------------------------
# Status file


class StatusBoard:
    """``status.json`` for monitoring (and the tests): rewritten atomically, never holds card data."""

    def __init__(self, path: Path, journal: Journal, link: Link, roles: Sequence[str],
                 health: DeviceHealth | None = None) -> None:
        self.path = path
        self.journal = journal
        self.link = link
        self.roles = list(roles)
        self.health = health or DeviceHealth()
        self.supervisors: list[Supervisor] = []
        self.session: GuardSession | None = None
        self.replayer: Replayer | None = None
        self.screens_url: str | None = None
        self.started_at = datetime.now(UTC).isoformat()
        self.kiosk: dict[str, Any] | None = None
        self.guard: dict[str, Any] | None = None
        self.kiosk_count = 0
        self.guard_count = 0
        self.state = "starting"
        self._lock = threading.Lock()

    def on_kiosk(self, result: KioskResult) -> None:
        with self._lock:
            self.kiosk_count += 1
            self.kiosk = {"ok": result.ok, "code": result.code, "message": result.message,
                          "printed": list(result.printed), "at": datetime.now(UTC).isoformat()}
        self.write()

    def on_guard(self, result: GuardResult) -> None:
        with self._lock:
            self.guard_count += 1
            self.guard = {"ok": result.ok, "code": result.code, "message": result.message,
                          "pass_no": result.pass_no, "queued": result.queued,
                          "guard_badge": mask_badge(result.guard_badge), "at": datetime.now(UTC).isoformat()}
        self.write()

    def snapshot(self) -> dict[str, Any]:
        devices = self.health.snapshot()
        with self._lock:
            return {
                "pid": os.getpid(), "state": self.state, "roles": self.roles, "started_at": self.started_at,
                "updated_at": datetime.now(UTC).isoformat(),
                "devices": devices,
                "faulty_devices": sorted(name for name, d in devices.items() if d["state"] != "ok"),
                "threads": {s.name: s.snapshot() for s in self.supervisors},
                "server": {"link": "up" if self.link.up else "down", "last_error": self.link.last_error},
                "journal": self.journal.counts(),
                "replay": self.replayer.last_replay if self.replayer is not None else None,
                "screens": self.screens_url,
                "kiosk": {"taps": self.kiosk_count, "last": self.kiosk},
                "guard": {"scans": self.guard_count, "last": self.guard,
                          "on_duty": self.session.snapshot() if self.session is not None else None},
            }

    def write(self) -> None:
        data = json.dumps(self.snapshot(), ensure_ascii=False, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{threading.get_ident()}.tmp")
        tmp.write_text(data, encoding="utf-8")
        tmp.replace(self.path)

    def write_quietly(self) -> None:
        """``write`` for callbacks from device threads: a full disk must not kill the kiosk."""
        try:
            self.write()
        except OSError as exc:
            log.error("status_file_failed", reason=str(exc))

    def run(self, stop: threading.Event, every: float = 1.0) -> None:
        while not stop.wait(every):
            try:
                self.write()
            except OSError as exc:
                log.error("status_file_failed", reason=str(exc))


def report_status(server: Any, board: StatusBoard, stop: threading.Event, every: float = 30.0) -> None:
    """Post the ``status.json`` content to the server (``POST /api/v1/kiosk/status``) at once and
    then every ``every`` seconds, so the admins see each kiosk's devices, last errors, journal
    backlog and last replay. A failed report is logged and waits for the next round."""
    while True:
        try:
            server.report_status(board.snapshot())
        except (ServerUnreachable, ServerRefused) as exc:
            log.warning("status_report_failed", reason=str(exc))
        if stop.wait(every):
            return


# ---------------------------------------------------------------------------------------------
# Simulation


class PrintedPassScanner:
    """The simulated guard's scanner: it scans the QR of every slip the simulated printer printed
    (the driver hands the paper over), after ``delay`` seconds."""

    def __init__(self, printer_sim: Any, delay: float = 1.0) -> None:
        self.printer_sim = printer_sim
        self.delay = delay
        self._seen = 0
        self._due: list[tuple[float, str]] = []

    def read_line(self, timeout: float | None) -> str | None:
        deadline = time.monotonic() + (timeout or 0)
        while True:
            jobs = list(self.printer_sim.jobs)
            for job in jobs[self._seen:]:
                for payload in job.qr_payloads:
                    self._due.append((time.monotonic() + self.delay, payload))
            self._seen = len(jobs)
            if self._due and self._due[0][0] <= time.monotonic():
                return self._due.pop(0)[1]
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


def _card_tapper(reader_sim: Any, cards: Sequence[Any], handled: threading.Event, stop: threading.Event,
                 out: TextIO) -> None:
    """Lay each card on the simulated reader, wait until the kiosk handled it, take it away."""
    for card in cards:
        if stop.wait(1.0):
            return
        handled.clear()
        reader_sim.insert_card(card)
        out.write(f"[模拟] 刷身份证 {card.name[:1]}** ({card.masked_id})\n")
        out.flush()
        handled.wait(15.0)
        stop.wait(0.5)
        reader_sim.remove_card()


@contextlib.contextmanager
def _simulated(config: DeviceConfig, cards_path: str | None, out: TextIO) -> Iterator[tuple[DeviceConfig, Any]]:
    from dealercrm.adapters.devices.sim import DEMO_CARD
    from dealercrm.adapters.devices.sim.escpos_printer import EscposPrinterSimulator
    from dealercrm.adapters.devices.sim.sam_reader import SamReaderSimulator, load_cards

    cards = load_cards(cards_path) if cards_path else [DEMO_CARD]
    with SamReaderSimulator(None, wire_delay=True) as reader_sim, EscposPrinterSimulator() as printer_sim:
        out.write(f"[模拟] 身份证阅读器 {reader_sim.path}，打印机 tcp://{printer_sim.host}:{printer_sim.port}，"
                  f"{len(cards)} 张身份证\n")
        sim_config = DeviceConfig(
            reader=ReaderConfig(port=reader_sim.path),
            printer=PrinterConfig(kind="network", host=printer_sim.host, port=printer_sim.port,
                                  qr_mode=config.printer.qr_mode if config.printer else "auto",
                                  profile=config.printer.profile if config.printer else "",
                                  raster_models=config.printer.raster_models if config.printer else (),
                                  status_timeout=0.5),
            scanner=None, badge=None, server=config.server, agent=config.agent, screen=config.screen,
        )
        yield sim_config, (reader_sim, printer_sim, cards)


# ---------------------------------------------------------------------------------------------
# Running


def _echo(prefix: str, out: TextIO) -> Callable[[str], None]:
    lock = threading.Lock()

    def show(message: str) -> None:
        with lock:
            out.write(f"[{prefix}] {message}\n")
            out.flush()

    return show


def _build_scanner(config: DeviceConfig, stack: contextlib.ExitStack) -> Any:
    from dealercrm.adapters.devices.scanner import (
        KeyboardWedgeQrScanner,
        SerialQrScanner,
    )

    scanner = config.scanner
    if scanner is None or scanner.kind == "keyboard":
        return KeyboardWedgeQrScanner(sys.stdin)
    return stack.enter_context(SerialQrScanner(scanner.port, scanner.baudrate))


def run_agent(config: DeviceConfig, *, out: TextIO, stop: threading.Event, sims: Any = None,
              reader: Any = None, min_backoff: float = 0.5, max_backoff: float = 30.0,
              warm_up: bool = True, ready: Callable[[], None] | None = None, badge: Any = None) -> int:
    """Run the configured roles until ``stop`` is set. ``reader`` replaces the reader built from
    ``[reader]`` (tests hand in one that fails on purpose); ``badge`` the PC/SC badge reader
    built from ``[badge]``. ``warm_up=False`` skips the start-up
    warm-up (the benchmark compares); ``ready`` is called once every thread runs."""
    from dealercrm.adapters.devices.scanner import SerialQrScanner
    from edge_agent.devices_cli import build_printer, build_reader

    agent: AgentConfig = config.agent
    if config.server is None:
        raise ConfigError("[server] url is required to run (or pass --server)")
    roles = set(agent.roles)
    if "kiosk" in roles and (config.reader is None or config.printer is None):
        raise ConfigError("the kiosk role needs [reader] and [printer]")
    state_dir = Path(agent.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(state_dir / "journal.db")
    link = Link()
    send_lock = threading.Lock()
    devices = ((["reader", "printer"] if "kiosk" in roles else []) + (["scanner"] if "guard" in roles else [])
               + (["badge"] if config.badge is not None else []))
    health = DeviceHealth(devices)
    board = StatusBoard(agent.status_path, journal, link, sorted(roles), health)
    screen_config = config.screen
    hub = ScreenHub(roles=tuple(sorted(roles)), help_text=screen_config.help if screen_config else "",
                    idle_timeout=screen_config.idle_timeout if screen_config else 20.0,
                    maintenance_timeout=screen_config.maintenance_timeout if screen_config else 300.0,
                    journal=journal, link=link, health=health)

    def device_changed() -> None:
        board.write_quietly()
        hub.publish()

    health.on_change = device_changed
    server = KioskServer(config.server.url, config.server.resolve_key(), timeout=config.server.timeout)
    threads: list[threading.Thread] = []

    def spawn(name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        threads.append(thread)

    def supervise(name: str, body: Callable[[threading.Event], None], *, on: Sequence[str] = (),
                  reset: Callable[[], None] | None = None) -> None:
        supervisor = Supervisor(name, body, health=health, devices=on, reset=reset,
                                min_backoff=min_backoff, max_backoff=max_backoff)
        board.supervisors.append(supervisor)
        spawn(name, supervisor.run, stop)

    with contextlib.ExitStack() as stack:
        stack.callback(journal.close)
        stack.callback(server.close)
        try:
            me = server.whoami()
            log.info("edge_agent_connected", device=me.get("username"), server=config.server.url)
        except ServerRefused as exc:
            out.write(f"服务器拒绝了设备凭证 device key refused: {exc.code} {exc.detail}\n")
            return 2
        except ServerUnreachable as exc:
            link.failed(exc.reason)
            log.warning("edge_agent_starting_offline", reason=exc.reason)
        keys = KeyRing(state_dir / "keys.json")
        if "guard" in roles and not keys.refresh(server) and not keys.kids:
            log.error("no_verification_keys", hint="start once with the server reachable")
            out.write("[门卫] 尚无验签公钥：请在联网状态下启动一次 (no verification keys cached yet)\n")
        book = PassBook(state_dir / "passbook.json")
        if "guard" in roles:
            book.refresh(server)
            supervise("pass-book", lambda halt: book.run(server, link, halt))
        hub.load_exits(journal.since("exit", start_of_today(datetime.now(UTC))))

        session: GuardSession | None = None
        badges: BadgeBook | None = None
        if config.badge is not None:  # a staff badge reader: guards sign in, maintenance badges open maintenance
            badges = BadgeBook(server.device_secret, state_dir / "badges.json")
            if not badges.refresh(server) and badges.as_of is None:
                out.write("[工牌] 尚无工牌名册：请在联网状态下启动一次 (no badge book cached yet)\n")
            supervise("badge-book", lambda halt: badges.run(server, link, halt))  # type: ignore[union-attr]
            if "guard" in roles:  # exits need a signed-in guard
                session = GuardSession(book=badges)
                board.session = session
                hub.session = session

        handled = threading.Event()
        kiosk: Kiosk | None = None
        if "kiosk" in roles:
            card_reader = stack.enter_context(reader or build_reader(config.reader))  # type: ignore[arg-type]
            printer = build_printer(config.printer)  # type: ignore[arg-type]

            def kiosk_done(result: KioskResult) -> None:
                board.on_kiosk(result)
                hub.kiosk_result(result)
                handled.set()

            kiosk = Kiosk(card_reader, printer, server, journal, show=_echo("自助机", out), on_result=kiosk_done,
                          send_lock=send_lock, health=health, on_phase=hub.kiosk_phase,
                          in_maintenance=lambda: hub.in_maintenance)
            if hasattr(card_reader, "on_card_found"):  # the SAM reader says when a card starts to be read
                card_reader.on_card_found = kiosk.card_found

            def kiosk_body(halt: threading.Event) -> None:
                card_reader.open()  # reopens the port after a restart; a no-op while it is open
                kiosk.run(halt)

            if warm_up:
                warm_up_kiosk(kiosk, printer)
            supervise("kiosk", kiosk_body, on=("reader",), reset=card_reader.close)
        if "guard" in roles:
            if sims is not None:
                scanner: Any = PrintedPassScanner(sims[1])
            else:
                scanner = _build_scanner(config, stack)

            def guard_done(result: GuardResult) -> None:
                board.on_guard(result)
                hub.guard_result(result)

            guard = Guard(server, journal, keys, link=link, send_lock=send_lock, show=_echo("门卫", out),
                          on_result=guard_done, book=book, health=health, session=session)
            serial_scanner = scanner if isinstance(scanner, SerialQrScanner) else None

            def guard_body(halt: threading.Event) -> None:
                if serial_scanner is not None:
                    serial_scanner.open()
                guard.run(scanner, halt)

            supervise("guard", guard_body, on=("scanner",),
                      reset=serial_scanner.close if serial_scanner is not None else None)
        if config.badge is not None:
            from dealercrm.adapters.devices.pcsc_badge import PcscBadgeReader

            desk = BadgeDesk(badges, session, maintenance=_maintenance_toggle(hub) if kiosk is not None else None)
            badge_reader = badge or PcscBadgeReader(config.badge.reader)
            health.ok("badge")
            echo_badge = _echo("工牌", out)

            def badge_shown(message: str) -> None:
                echo_badge(message)
                hub.guard_notice(message)

            supervise("badge", lambda halt: run_badge_desk(badge_reader, desk, halt, show=badge_shown, health=health),
                      on=("badge",))
        replayer = Replayer(server, journal, link=link, send_lock=send_lock)
        hub.replayer = replayer
        board.replayer = replayer
        supervise("replayer", replayer.run)
        supervise("screens", hub.run)
        if screen_config is not None and screen_config.enabled:
            screens = _serve_screens(hub, screen_config.port, kiosk, out)
            if screens is not None:
                stack.callback(screens.close)
                board.screens_url = screens.url
        if sims is not None:
            reader_sim, printer_sim, cards = sims
            spawn("card-tapper", _card_tapper, reader_sim, cards, handled, stop, out)
            spawn("slip-echo", _echo_slips, printer_sim, stop, out)
        board.state = "running"
        board.write()
        supervise("status", board.run)
        supervise("status-report", lambda halt: report_status(server, board, halt, agent.report_every))
        log.info("edge_agent_running", roles=sorted(roles), state_dir=str(state_dir))
        if ready is not None:
            ready()
        stop.wait()
        board.state = "stopping"
        for thread in threads:
            thread.join(timeout=3)
        board.state = "stopped"
        board.write()
    return 0


def _maintenance_toggle(hub: ScreenHub) -> Callable[[str, dict[str, Any] | None], str]:
    """A maintenance badge tapped at a kiosk: open maintenance, or close it if it is open."""
    def toggle(badge_uid: str, holder: dict[str, Any] | None) -> str:
        if hub.in_maintenance:
            hub.leave_maintenance()
            return "maintenance_off"
        name = str((holder or {}).get("name") or "")
        hub.enter_maintenance((name[:1] + "*" * max(len(name) - 1, 0)) if name else mask_badge(badge_uid))
        return "maintenance_on"

    return toggle


def maintenance_actions(hub: ScreenHub, kiosk: Kiosk | None,
                        wait: float = 30.0) -> Callable[[str], dict[str, Any]]:
    """The maintenance buttons of the kiosk screen: ``exit`` closes maintenance; ``print_test`` and
    ``paper`` run on the kiosk's own thread (the only one that talks to the printer)."""
    busy = {"print_test": "正在打印测试页…", "paper": "正在检查打印机…"}

    def act(action: str) -> dict[str, Any]:
        if action == "exit":
            hub.leave_maintenance()
            return {"ok": True, "code": "ok", "message": "已退出维护模式"}
        if kiosk is None or action not in busy:
            return {"ok": False, "code": "maintenance.unavailable", "message": "本机不能执行此维护操作"}
        hub.maintenance_note(busy=busy[action])
        done = threading.Event()
        answer: list[dict[str, Any]] = []

        def finished(outcome: dict[str, Any]) -> None:
            answer.append(outcome)
            done.set()

        kiosk.submit(action, finished)
        outcome = answer[0] if done.wait(wait) else {
            "ok": False, "code": "maintenance.timeout", "message": "自助机未响应，请稍后重试"}
        hub.maintenance_note(busy=None, last=outcome)
        return outcome

    return act


def _serve_screens(hub: ScreenHub, port: int, kiosk: Kiosk | None, out: TextIO) -> ScreenServer | None:
    """Start the screens' server; a port in use is logged and shown, and the agent runs on without
    screens (the console, status.json and the server's device list still tell its state)."""
    try:
        screens = ScreenServer(hub, port, maintenance=maintenance_actions(hub, kiosk)).start()
    except OSError as exc:
        log.error("screens_failed", port=port, reason=str(exc))
        out.write(f"[屏幕] 无法在 127.0.0.1:{port} 提供屏幕：{exc.strerror or exc}\n")
        return None
    out.write(f"[屏幕] 自助机屏幕 {screens.url}/  门卫屏幕 {screens.url}/guard\n")
    out.flush()
    return screens


def warm_up_kiosk(kiosk: Kiosk, printer: Any) -> float:
    """Pay at start what the first tap would otherwise pay (issue 16: first tap ≤ 1 s): the
    printing libraries and a sample slip in the printer's QR mode (``printer.warm_up()``), the
    layout code (a sample slip through the wire format) and the printer connection and status
    (which also sets the printer's health). The server connection was opened by ``whoami``.
    Returns the seconds it took."""
    from dealercrm.domain.printing import document_to_wire

    started = time.perf_counter()
    try:
        bytes_ = printer.warm_up()
        now = datetime.now(UTC)
        sample = layout_gate_pass("GP-0000-000000", "预热", ["LZZ1CLVBXTA000001"], now, now + timedelta(hours=1),
                                  "warm-up", now)
        slip = KioskPassOut("GP-0000-000000", "handed_over", "", True, "ok", "", "预热", ["LZZ1CLVBXTA000001"],
                            now.isoformat(), (now + timedelta(hours=1)).isoformat(), None, 0, "warm-up",
                            msgspec.convert(document_to_wire(sample), PrintLayout))
        document_for(msgspec.json.decode(msgspec.json.encode(slip), type=KioskPassOut))
        status = kiosk.check_printer()
    except Exception as exc:  # noqa: BLE001 - a failed warm-up costs the first tap time, never the kiosk
        log.warning("kiosk_warm_up_failed", reason=f"{type(exc).__name__}: {exc}")
        return time.perf_counter() - started
    took = time.perf_counter() - started
    log.info("kiosk_warmed_up", seconds=round(took, 3), sample_bytes=bytes_, printer=status.value)
    return took


def _echo_slips(printer_sim: Any, stop: threading.Event, out: TextIO) -> None:
    seen = 0
    while not stop.wait(0.2):
        jobs = list(printer_sim.jobs)
        for job in jobs[seen:]:
            out.write("[模拟打印机] 打印内容：\n" + "".join(f"  | {line}\n" for line in job.text_lines)
                      + f"  | [二维码 {len(job.qr_payloads)} 个，切纸 {job.cuts} 次]\n")
            out.flush()
        seen = len(jobs)


def main_run(argv: Sequence[str] | None = None, out: TextIO | None = None,
             stop: threading.Event | None = None) -> int:
    out = out or sys.stdout
    try:
        args = _parser().parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    stop = stop or threading.Event()
    previous: dict[int, Any] = {}
    try:
        path = args.config or os.environ.get("EDGE_AGENT_CONFIG")
        config = load_config(path) if path else DeviceConfig()
        if not path and not args.simulate:
            raise ConfigError("--config is required (or --simulate)")
        server = config.server
        if args.server or args.device_key:
            url = args.server or (server.url if server else "")
            server = ServerConfig(url=url, device_key=args.device_key or (server.device_key if server else ""),
                                  device_key_file=server.device_key_file if server else "",
                                  timeout=server.timeout if server else 5.0)
        agent = config.agent
        if args.state_dir or args.role or args.log_level or (args.simulate and not path):
            agent = AgentConfig(roles=tuple(args.role or agent.roles),
                                state_dir=args.state_dir or (agent.state_dir if path else "var/edge-agent"),
                                status_file=agent.status_file, log_level=args.log_level or agent.log_level,
                                log_json=agent.log_json, report_every=agent.report_every)
        screen = config.screen
        if args.screen_port is not None or (args.simulate and screen is None):
            screen = attrs.evolve(screen or ScreenConfig(),
                                  port=args.screen_port if args.screen_port is not None else (screen or ScreenConfig()).port)
        if args.no_screen:
            screen = None
        config = DeviceConfig(config.reader, config.printer, config.scanner, config.badge, server, agent, screen)
        configure_logging(agent.log_level, json=agent.log_json)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread (tests)
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
        if args.duration is not None:
            timer = threading.Timer(args.duration, stop.set)
            timer.daemon = True
            timer.start()
        if args.simulate:
            with _simulated(config, args.cards, out) as (sim_config, sims):
                return run_agent(sim_config, out=out, stop=stop, sims=sims)
        return run_agent(config, out=out, stop=stop)
    except ConfigError as exc:
        out.write(f"configuration error: {exc}\n")
        return 2
    except DomainError as exc:  # a device could not be opened
        log.error("edge_agent_device_failed", code=exc.code)
        out.write(f"{exc.code}: {exc.message}\n")
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["main_run", "run_agent", "StatusBoard", "PrintedPassScanner"]
