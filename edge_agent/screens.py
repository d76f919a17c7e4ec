"""What the kiosk screen and the guard screen show, kept in one place and fed to them live.

The kiosk and guard loops tell the :class:`ScreenHub` what happens (a card is being read, the
passes are being looked up, a slip prints, a scan was allowed or refused); the hub turns it into
one JSON document — the kiosk's current phase with its Chinese title and advice, the guard's
last scan and today's exits, who is on duty, each device's health, the server link, the journal
backlog and the last replay — and hands every change to the screens' subscribers
(``edge_agent.screen_server`` streams it as Server-Sent Events). Every text comes from
``edge_agent.messages``; the document never holds an ID number or a full name.

Kiosk phases, in the order a tap walks them: ``waiting`` (请刷身份证) → ``reading`` (读取中) →
``verifying`` (核验中) → ``found`` (找到 N 张出门证) → ``printing`` (打印中) → ``done``
(请取走出门证); or ``refused`` (没有可打印的出门证, with the reason) and ``error`` (a reader,
server or printer failure, with what to do and whom to call). ``done``, ``refused`` and ``error``
go back to ``waiting`` after ``idle_timeout`` seconds, or at the next tap. ``maintenance`` is the
kiosk in maintenance (a maintenance badge was tapped): test print and paper status.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from dealercrm.domain.printing import SHANGHAI
from dealercrm.wire.kiosk import KioskPassOut
from edge_agent.messages import FAULT_LABEL

log = structlog.get_logger(__name__)

#: phase → (large title, the line under it); a result's own message replaces the line
KIOSK_PHASES: dict[str, tuple[str, str]] = {
    "waiting": ("请刷身份证", "请将本人身份证平放在下方感应区"),
    "reading": ("读取中", "正在读取身份证，请勿移开"),
    "verifying": ("核验中", "正在查询您的出门证，请稍候"),
    "found": ("找到 {count} 张出门证", "即将打印，请稍候"),
    "printing": ("打印中", "正在打印出门证，请稍候"),
    "done": ("请取走出门证", "出厂时请将出门证交门卫扫码"),
    "refused": ("没有可打印的出门证", ""),
    "error": ("暂时无法办理", ""),
    "maintenance": ("维护模式", "自助机暂停服务，维护人员操作中"),
}
#: the steps the screen lights up as a tap goes through them
KIOSK_STEPS = ("reading", "verifying", "printing", "done")
#: phases that end a tap: shown until the idle timeout or the next tap
FINAL_PHASES = ("done", "refused", "error")
#: error codes whose screen title says more than 暂时无法办理
ERROR_TITLES = {
    "kiosk.card_read_failed": "身份证读取失败",
    "kiosk.reader_failed": FAULT_LABEL,
    "server.unreachable": "暂时无法连接服务器",
    "device.printer.paper_out": "打印机缺纸",
    "device.printer.cover_open": "打印机上盖未关好",
    "device.printer.offline": "打印机离线",
    "device.printer.failed": "打印机故障",
}
DEVICE_LABELS = {"reader": "身份证阅读器", "printer": "打印机", "scanner": "扫码枪", "badge": "工牌读卡器"}
HISTORY_LIMIT = 200


def local_time(value: str | datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """An ISO time (or datetime) as Beijing time for a screen; '' when absent or unreadable."""
    if not value:
        return ""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError:
        return str(value)
    return at.astimezone(SHANGHAI).strftime(fmt)


def pass_line(slip: KioskPassOut) -> dict[str, Any]:
    """One pass as the kiosk screen lists it: number, vehicles and validity — no person data."""
    return {"pass_no": slip.pass_no, "vehicles": len(slip.vins), "vins": list(slip.vins),
            "valid_from": local_time(slip.valid_from), "valid_to": local_time(slip.valid_to)}


class ScreenHub:
    """The screens' state; thread-safe. ``subscribe()`` gives a queue that receives the whole
    document after every change (each kiosk phase is delivered, none is coalesced away)."""

    def __init__(self, *, roles: tuple[str, ...] = ("kiosk", "guard"), help_text: str = "",
                 idle_timeout: float = 20.0, maintenance_timeout: float = 300.0,
                 journal: Any = None, link: Any = None, health: Any = None, session: Any = None,
                 replayer: Any = None, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.roles = tuple(roles)
        self.help_text = help_text
        self.idle_timeout = idle_timeout
        self.maintenance_timeout = maintenance_timeout
        self.journal = journal
        self.link = link
        self.health = health
        self.session = session
        self.replayer = replayer
        self._now = now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._subscribers: list[queue.Queue[str]] = []
        self._seq = 0
        self._kiosk: dict[str, Any] = self._phase_doc("waiting")
        self._kiosk_until: float | None = None
        self._steps: list[str] = []
        self._guard_last: dict[str, Any] | None = None
        self._guard_notice: dict[str, Any] | None = None
        self._exits: list[dict[str, Any]] = []
        self._maintenance: dict[str, Any] | None = None
        self._maintenance_until: float | None = None
        self._last_sent = ""

    # -- the kiosk ---------------------------------------------------------------------------

    def _phase_doc(self, phase: str, *, code: str | None = None, message: str | None = None,
                   passes: list[dict[str, Any]] | None = None, title: str | None = None) -> dict[str, Any]:
        default_title, default_detail = KIOSK_PHASES[phase]
        count = len(passes or [])
        return {"phase": phase, "title": title or default_title.format(count=count),
                "detail": message if message is not None else default_detail, "code": code,
                "passes": passes or [], "at": self._now().isoformat()}

    def kiosk_phase(self, phase: str, *, code: str | None = None, message: str | None = None,
                    passes: list[dict[str, Any]] | None = None, title: str | None = None) -> None:
        """The kiosk entered ``phase`` (one of :data:`KIOSK_PHASES`)."""
        with self._lock:
            if phase == "reading":
                self._steps = []
            if phase in KIOSK_STEPS and phase not in self._steps:
                self._steps.append(phase)
            if phase == "error" and title is None and code is not None:
                title = ERROR_TITLES.get(code)
            self._kiosk = self._phase_doc(phase, code=code, message=message, passes=passes, title=title)
            self._kiosk_until = self._monotonic() + self.idle_timeout if phase in FINAL_PHASES else None
        self.publish()

    def kiosk_phase_now(self) -> str:
        with self._lock:
            return str(self._kiosk["phase"])

    def kiosk_result(self, result: Any) -> None:
        """A tap ended (a ``KioskResult``): 请取走出门证, the refusal with its reason, or the error."""
        passes = [dict(p) for p in getattr(result, "passes", ())]
        if result.ok:
            self.kiosk_phase("done", code=result.code, message=result.message, passes=passes)
        elif result.code.startswith(("gate_pass.", "authorization.")):
            self.kiosk_phase("refused", code=result.code, message=result.message, passes=passes)
        else:
            self.kiosk_error(result.code, result.message, passes=passes)

    def kiosk_error(self, code: str, message: str, *, passes: list[dict[str, Any]] | None = None) -> None:
        self.kiosk_phase("error", code=code, message=message, passes=passes)

    # -- maintenance -------------------------------------------------------------------------

    def enter_maintenance(self, holder: str | None) -> str:
        """A maintenance badge opened maintenance; returns the token the screen's buttons send."""
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._maintenance = {"token": token, "holder": holder, "since": self._now().isoformat(),
                                 "last": None, "busy": None}
            self._maintenance_until = self._monotonic() + self.maintenance_timeout
            self._kiosk = self._phase_doc("maintenance")
            self._kiosk_until = None
        log.info("kiosk_maintenance_entered", holder=holder)
        self.publish()
        return token

    def leave_maintenance(self) -> None:
        with self._lock:
            if self._maintenance is None:
                return
            self._maintenance = None
            self._maintenance_until = None
            self._kiosk = self._phase_doc("waiting")
        log.info("kiosk_maintenance_left")
        self.publish()

    @property
    def in_maintenance(self) -> bool:
        with self._lock:
            return self._maintenance is not None

    def maintenance_token_ok(self, token: str | None) -> bool:
        with self._lock:
            current = self._maintenance["token"] if self._maintenance else None
        return bool(current and token and secrets.compare_digest(current, token))

    def maintenance_note(self, *, busy: str | None = None, last: dict[str, Any] | None = None) -> None:
        """What maintenance is doing (``busy``: 正在打印测试页…) or did last (ok, text)."""
        with self._lock:
            if self._maintenance is None:
                return
            self._maintenance["busy"] = busy
            if last is not None:
                self._maintenance["last"] = dict(last, at=self._now().isoformat())
            self._maintenance_until = self._monotonic() + self.maintenance_timeout
        self.publish()

    # -- the guard ---------------------------------------------------------------------------

    def guard_result(self, result: Any) -> None:
        """A scan was judged (a ``GuardResult``): the big green or red answer, and today's list."""
        badge = getattr(result, "guard_badge", None)
        on_duty = self.session.on_duty if self.session is not None else None
        guard = _masked(badge)
        if guard and on_duty is not None and on_duty.badge_uid == badge and on_duty.name:
            guard = f"{on_duty.name}（{guard}）"
        entry = {"ok": result.ok, "verdict": "可以放行" if result.ok else "禁止放行", "code": result.code,
                 "message": result.message, "pass_no": result.pass_no, "vins": list(result.vins),
                 "valid_from": local_time(getattr(result, "valid_from", None)),
                 "valid_to": local_time(getattr(result, "valid_to", None)),
                 "holder": getattr(result, "holder", None),
                 "queued": result.queued, "guard": guard,
                 "at": self._now().isoformat(), "time": local_time(self._now(), "%H:%M:%S")}
        with self._lock:
            self._guard_last = entry
            self._guard_notice = None  # a sign-in notice gives way to the scan
            if result.ok:
                self._exits.insert(0, {k: entry[k] for k in ("pass_no", "vins", "time", "queued", "guard", "at")})
                del self._exits[HISTORY_LIMIT:]
        self.publish()

    def guard_notice(self, message: str) -> None:
        """A badge was tapped at the guard station (signed in, signed out, unknown)."""
        with self._lock:
            self._guard_notice = {"message": message, "at": self._now().isoformat()}
        self.publish()

    def load_exits(self, entries: list[Any]) -> None:
        """Today's exits from the journal, so a restart keeps the list (newest first)."""
        rows = []
        for entry in entries:
            if entry.state == "refused":
                continue
            payload = entry.payload
            rows.append({"pass_no": payload.get("pass_no"), "vins": list(payload.get("vins") or ()),
                         "time": local_time(payload.get("scanned_at") or entry.created_at, "%H:%M:%S"),
                         "queued": entry.state == "pending", "guard": _masked(payload.get("guard_badge")),
                         "at": payload.get("scanned_at") or entry.created_at.isoformat()})
        with self._lock:
            self._exits = list(reversed(rows))[:HISTORY_LIMIT]
        self.publish()

    # -- the document and its subscribers ---------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        devices = self.health.snapshot() if self.health is not None else {}
        faults = [{"device": name, "label": DEVICE_LABELS.get(name, name),
                   "message": (d.get("last_error") or {}).get("message") or FAULT_LABEL}
                  for name, d in devices.items() if d["state"] != "ok"]
        link_up = bool(self.link.up) if self.link is not None else True
        counts = self.journal.counts() if self.journal is not None else {"pending": 0, "sent": 0, "refused": 0}
        replay = self.replayer.last_replay if self.replayer is not None else None
        on_duty = self.session.snapshot() if self.session is not None else None
        today = self._now().astimezone(SHANGHAI).date()
        with self._lock:
            maintenance = None
            if self._maintenance is not None:
                maintenance = {k: v for k, v in self._maintenance.items() if k != "token"}
            exits_today = [e for e in self._exits
                           if datetime.fromisoformat(e["at"]).astimezone(SHANGHAI).date() == today]
            return {
                "roles": list(self.roles),
                "help": self.help_text,
                "kiosk": dict(self._kiosk, steps=list(self._steps) if self._kiosk["phase"] != "waiting" else []),
                "maintenance": maintenance,
                "guard": {"last": self._guard_last, "notice": self._guard_notice, "on_duty": on_duty,
                          "needs_sign_in": self.session is not None, "exits_today": exits_today},
                "devices": {name: {"state": d["state"], "label": DEVICE_LABELS.get(name, name)}
                            for name, d in devices.items()},
                "faults": faults,
                "link": {"up": link_up, "label": "在线" if link_up else "离线",
                         "last_error": self.link.last_error if self.link is not None else None},
                "journal": {"pending": counts.get("pending", 0), "sent": counts.get("sent", 0),
                            "refused": counts.get("refused", 0)},
                "replay": None if replay is None else {**replay, "time": local_time(replay.get("at"), "%H:%M:%S")},
            }

    def maintenance_token(self) -> str | None:
        with self._lock:
            return self._maintenance["token"] if self._maintenance else None

    def subscribe(self) -> queue.Queue[str]:
        feed: queue.Queue[str] = queue.Queue(maxsize=256)
        feed.put(self.render())
        with self._lock:
            self._subscribers.append(feed)
        return feed

    def unsubscribe(self, feed: queue.Queue[str]) -> None:
        with self._lock:
            if feed in self._subscribers:
                self._subscribers.remove(feed)

    def render(self) -> str:
        with self._lock:
            self._seq += 1
            seq = self._seq
        return json.dumps(dict(self.snapshot(), seq=seq), ensure_ascii=False)

    def publish(self) -> None:
        document = self.render()
        with self._lock:
            self._last_sent = _without_seq(document)
            subscribers = list(self._subscribers)
        for feed in subscribers:
            try:
                feed.put_nowait(document)
            except queue.Full:  # a stalled screen: it gets the newest state on reconnect
                self.unsubscribe(feed)

    def tick(self) -> None:
        """Time-based changes: a final kiosk phase back to 请刷身份证 after ``idle_timeout``,
        maintenance closed after ``maintenance_timeout`` idle; and any change not announced
        (link, journal, devices, on duty) is published."""
        now = self._monotonic()
        with self._lock:
            back_to_start = self._kiosk_until is not None and now >= self._kiosk_until
            close_maintenance = self._maintenance_until is not None and now >= self._maintenance_until
        if close_maintenance:
            self.leave_maintenance()
        if back_to_start:
            with self._lock:
                self._kiosk = self._phase_doc("waiting")
                self._kiosk_until = None
                self._steps = []
        current = _without_seq(json.dumps(dict(self.snapshot(), seq=0), ensure_ascii=False))
        with self._lock:
            changed = current != self._last_sent
        if changed or back_to_start:
            self.publish()

    def run(self, stop: threading.Event, every: float = 0.5) -> None:
        while not stop.wait(every):
            self.tick()


def _masked(uid: str | None) -> str | None:
    return None if not uid else "****" + uid[-4:]


def _without_seq(document: str) -> str:
    data = json.loads(document)
    data.pop("seq", None)
    for key in ("at",):
        data.get("kiosk", {}).pop(key, None)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def start_of_today(now: datetime) -> datetime:
    """Midnight in Beijing of ``now``'s Beijing day, as an aware datetime."""
    local = now.astimezone(SHANGHAI)
    return (local - timedelta(hours=local.hour, minutes=local.minute, seconds=local.second,
                              microseconds=local.microsecond))


__all__ = ["KIOSK_PHASES", "ScreenHub", "local_time", "pass_line", "start_of_today"]
