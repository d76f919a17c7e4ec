"""The gatehouse: scan the QR → verify locally → confirm the exit (now or later, exactly once).

- **Local verification** (works offline): the Ed25519 signature against the server's published
  verification keys (cached in ``keys.json`` in the state directory, refreshed at start and on
  an unknown key id) and the validity window, at the moment of the scan. Forged, malformed,
  expired or not-yet-valid codes are refused at once with the reason; nothing is sent.
- **Pass book** (works offline): the server's list of passes in a state a device can rely on
  (``GET /api/v1/kiosk/pass-book``, cached in ``passbook.json``, refreshed every minute while
  online): voided, already used and rejected passes are refused at once, online or not; the old
  QR of a reissued pass is refused while the server cannot be asked (online, the server decides).
- **Journal first**: a scan that verified is written to the local journal (SQLite,
  ``synchronous=FULL``) with a fresh client event id and the scan time *before* the server is
  asked. Whatever happens next — the server answers, the link is down, the process is killed
  — the event is either answered or still pending in the journal.
- **Exactly once**: the server deduplicates by event id (a replay gets the first answer), and
  the server records at most one exit per pass. A pass already let out by this device is
  recognised from the journal without a second event.
- :class:`Replayer` sends pending events (exits and kiosk print records) with exponential
  backoff while the link is down, in journal order, with their original scan time.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import msgspec
import structlog
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from dealercrm.adapters.signing import Ed25519PassVerifier
from dealercrm.application.ports.devices import DeviceError
from dealercrm.application.ports.signing import (
    PassExpired,
    PassForged,
    PassMalformed,
    PassNotYetValid,
    PassTokenError,
)
from dealercrm.domain.errors import DomainError
from dealercrm.domain.gate import qr_digest
from dealercrm.domain.identity import badge_digest
from dealercrm.domain.printing import SHANGHAI
from dealercrm.wire.kiosk import BadgeBookOut, ExitOut, PassBookEntryOut, PassBookOut, VerificationKeyOut
from edge_agent.journal import Journal, JournalEntry
from edge_agent.messages import say
from edge_agent.server import ServerRefused, ServerUnreachable
from edge_agent.supervisor import DeviceHealth

log = structlog.get_logger(__name__)

def _local(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


@attrs.frozen
class GuardResult:
    ok: bool  # may the vehicles pass?
    code: str
    message: str
    pass_no: str | None = None
    vins: tuple[str, ...] = ()
    queued: bool = False  # confirmed locally; the server will hear of it when the link returns
    event_id: str | None = None
    guard_badge: str | None = None  # the badge UID of the guard who let the vehicles out
    valid_from: str | None = None  # the pass's validity, from its signed QR (for the guard screen)
    valid_to: str | None = None
    holder: str | None = None  # the collector's name, masked (王*国): the server's answer, else the pass book


def mask_badge(uid: str | None) -> str | None:
    """``04A1B2C3D4E5F6`` → ``****E5F6``: enough to tell badges apart on a screen or in a log."""
    return None if uid is None else "****" + uid[-4:]


@attrs.frozen
class OnDuty:
    badge_uid: str
    since: datetime
    name: str | None = None  # the holder, from the badge book
    user_id: int | None = None


class GuardSession:
    """Who is on duty at this guard station: signed in by tapping a staff badge (PC/SC).

    A tap of an enrolled guard badge signs its holder in (taking over from anyone signed in
    before); the same badge tapped again signs out. With a ``book`` (the server's badge book,
    cached on disk), a badge that is not enrolled as a guard badge is refused and changes
    nothing; without one, any badge signs in. Each exit records the badge in the journal.
    """

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 book: BadgeBook | None = None) -> None:
        self.clock = clock
        self.book = book
        self._lock = threading.Lock()
        self._on_duty: OnDuty | None = None

    @property
    def on_duty(self) -> OnDuty | None:
        with self._lock:
            return self._on_duty

    def tap(self, badge_uid: str) -> str:
        """A badge was laid on the reader: ``signed_in``, ``signed_out`` or ``badge_unknown``."""
        holder = self.book.holder(badge_uid) if self.book is not None else None
        if self.book is not None and (holder is None or holder.get("purpose") != "guard"):
            log.warning("guard_badge_unknown", badge=mask_badge(badge_uid), as_of=self.book.as_of)
            return "badge_unknown"
        with self._lock:
            if self._on_duty is not None and self._on_duty.badge_uid == badge_uid:
                self._on_duty = None
                outcome = "signed_out"
            else:
                self._on_duty = OnDuty(badge_uid, self.clock(), (holder or {}).get("name"),
                                       (holder or {}).get("user_id"))
                outcome = "signed_in"
        log.info(f"guard_{outcome}", badge=mask_badge(badge_uid), user_id=(holder or {}).get("user_id"))
        return outcome

    def snapshot(self) -> dict[str, Any] | None:
        on_duty = self.on_duty
        if on_duty is None:
            return None
        return {"badge": mask_badge(on_duty.badge_uid), "since": on_duty.since.isoformat(), "name": on_duty.name}


class BadgeDesk:
    """What a tapped staff badge does on this box: an enrolled **maintenance** badge opens or
    closes the kiosk's maintenance (``maintenance(uid, holder)`` → ``maintenance_on`` /
    ``maintenance_off``) where this box is a kiosk; any other badge goes to the guard station's
    sign-in (``GuardSession.tap``), or is ``badge_unknown`` on a box without one."""

    def __init__(self, book: BadgeBook | None, session: GuardSession | None = None,
                 maintenance: Callable[[str, dict[str, Any] | None], str] | None = None) -> None:
        self.book = book
        self.session = session
        self.maintenance = maintenance

    def tap(self, badge_uid: str) -> str:
        holder = self.book.holder(badge_uid) if self.book is not None else None
        if self.maintenance is not None and holder is not None and holder.get("purpose") == "maintenance":
            outcome = self.maintenance(badge_uid, holder)
            log.info(f"kiosk_{outcome}", badge=mask_badge(badge_uid), user_id=holder.get("user_id"))
            return outcome
        if self.session is not None:
            return self.session.tap(badge_uid)
        log.warning("badge_unknown", badge=mask_badge(badge_uid))
        return "badge_unknown"


BADGE_MESSAGES = {"signed_in": "gate.guard_signed_in", "signed_out": "gate.guard_signed_out",
                  "badge_unknown": "gate.guard_badge_unknown", "maintenance_on": "kiosk.maintenance_on",
                  "maintenance_off": "kiosk.maintenance_off"}


def run_badge_desk(reader: Any, session: GuardSession | BadgeDesk, stop: threading.Event, *,
                   show: Callable[[str], None] | None = None, health: DeviceHealth | None = None,
                   interval: float = 0.3) -> None:
    """Poll the staff badge reader; each new tap signs a guard in or out (see ``GuardSession``),
    or, through a :class:`BadgeDesk`, opens or closes the kiosk's maintenance.
    A reader error marks the ``badge`` device faulty and is raised for the supervisor."""
    show = show or (lambda message: None)
    present: str | None = None
    while not stop.is_set():
        try:
            uid = reader.read_uid()
        except DeviceError as exc:
            if health is not None:
                health.fault("badge", exc.code, say(exc.code, default=exc.message))
            raise
        if health is not None:
            health.ok("badge")
        if uid is not None and uid != present:
            outcome = session.tap(uid)
            show(say(BADGE_MESSAGES.get(outcome, f"gate.guard_{outcome}"), "guard", badge=mask_badge(uid)))
        present = uid
        stop.wait(interval)


class _ServerCopy:
    """Something the server publishes, kept on disk (``cache``) so the gate works offline:
    subclasses name what they fetch (``_fetch``) and how they take it in (``_set``)."""

    what = "server_copy"

    def __init__(self, cache: Path | None, data: Any | None) -> None:
        self.cache = cache
        self._lock = threading.Lock()
        if data is not None:
            self._set(data)
        elif cache is not None and cache.exists():
            try:
                self._set(json.loads(cache.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError):
                log.error(f"{self.what}_cache_unreadable", path=str(cache))

    def _fetch(self, server: Any) -> Any:
        raise NotImplementedError

    def _set(self, data: Any) -> None:
        raise NotImplementedError

    def refresh(self, server: Any) -> bool:
        """Fetch it; False (keeping the cached copy) when the server cannot be asked."""
        try:
            data = self._fetch(server)
        except (ServerUnreachable, ServerRefused) as exc:
            log.warning(f"{self.what}_not_refreshed", reason=str(exc))
            return False
        try:
            self._set(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a malformed answer: keep ours
            log.error(f"{self.what}_malformed", reason=type(exc).__name__)
            return False
        if self.cache is not None:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.cache)
        log.info(f"{self.what}_refreshed", **self._summary())
        return True

    def _summary(self) -> dict[str, Any]:
        return {}

    def run(self, server: Any, link: Link, stop: threading.Event, interval: float = 60.0) -> None:
        """Refresh every ``interval`` seconds while the link is up."""
        while not stop.wait(interval):
            if link.up:
                self.refresh(server)


class KeyRing(_ServerCopy):
    """The server's public verification keys, cached on disk so the gate verifies offline."""

    what = "verification_keys"

    def __init__(self, cache: Path | None = None, keys: list[dict[str, Any]] | None = None) -> None:
        self._keys: list[VerificationKeyOut] = []
        self._verifier = Ed25519PassVerifier([])
        super().__init__(cache, keys)

    def _fetch(self, server: Any) -> list[dict[str, Any]]:
        return server.verification_keys()  # type: ignore[no-any-return]

    def _set(self, keys: list[dict[str, Any]]) -> None:
        decoded = msgspec.convert(keys, list[VerificationKeyOut])
        public = [load_pem_public_key(k.public_key_pem.encode("ascii")) for k in decoded]
        with self._lock:
            self._keys = decoded
            self._verifier = Ed25519PassVerifier(public)  # type: ignore[arg-type]

    def _summary(self) -> dict[str, Any]:
        return {"kids": self.kids}

    @property
    def kids(self) -> list[str]:
        return [k.kid for k in self._keys]

    def verify(self, token: str, at: datetime) -> dict[str, Any]:
        with self._lock:
            verifier = self._verifier
        return verifier.verify(token, at)


@attrs.frozen
class BookRefusal:
    code: str
    final: bool  # the pass can never become good again (voided, used, rejected)


class PassBook(_ServerCopy):
    """What the server last said about the passes a guard may be shown (``GET /pass-book``),
    cached on disk so that a gate without its server still refuses a voided, already used or
    rejected pass, and the old QR of a reissued one. Refreshed every ``interval`` seconds while
    the link is up; a pass newer than the book is judged by its signature alone, as before."""

    what = "pass_book"

    def __init__(self, cache: Path | None = None, book: dict[str, Any] | None = None) -> None:
        self._passes: dict[str, PassBookEntryOut] = {}
        self.as_of: str | None = None
        super().__init__(cache, book)

    def _fetch(self, server: Any) -> dict[str, Any]:
        return server.pass_book()  # type: ignore[no-any-return]

    def _set(self, book: dict[str, Any]) -> None:
        decoded = msgspec.convert(book, PassBookOut)
        passes = {p.pass_no: p for p in decoded.passes}
        with self._lock:
            self._passes = passes
            self.as_of = decoded.as_of

    def _summary(self) -> dict[str, Any]:
        return {"passes": len(self._passes), "as_of": self.as_of}

    def holder_of(self, pass_no: str) -> str | None:
        """The pass's collector, masked by the server (王*国), if the book knows the pass."""
        with self._lock:
            entry = self._passes.get(pass_no)
        return entry.holder if entry is not None and entry.holder else None

    def refusal(self, pass_no: str, qr_payload: str) -> BookRefusal | None:
        with self._lock:
            entry = self._passes.get(pass_no)
        if entry is None:
            return None
        code = _BOOK_FINAL.get(entry.status)
        if code is not None:
            return BookRefusal(code, final=True)
        known = entry.qr_sha256
        if known and known != qr_digest(qr_payload):
            return BookRefusal("gate_pass.superseded", final=False)  # or reissued after the book
        return None

_BOOK_FINAL = {"voided": "gate_pass.voided", "exited": "gate_pass.already_exited", "rejected": "gate_pass.rejected"}


class BadgeBook(_ServerCopy):
    """The staff badges the server enrolled (``GET /badges``): guard badges sign in at the guard
    station, maintenance badges open a kiosk's maintenance. The server ships each badge as a
    digest keyed by this device's secret (``badge_digest``), so the cache on disk holds no UID
    and works on no other device; a tapped UID is digested the same way and looked up. Cached so
    that a guard signs in offline too; refreshed like the pass book."""

    what = "badge_book"

    def __init__(self, secret: str, cache: Path | None = None, book: dict[str, Any] | None = None) -> None:
        self.secret = secret
        self._badges: dict[str, dict[str, Any]] = {}
        self.as_of: str | None = None
        super().__init__(cache, book)

    def _fetch(self, server: Any) -> dict[str, Any]:
        return server.badge_book()  # type: ignore[no-any-return]

    def _set(self, book: dict[str, Any]) -> None:
        decoded = msgspec.convert(book, BadgeBookOut)
        badges = {b.digest.lower(): {"purpose": b.purpose, "name": b.name, "user_id": b.user_id}
                  for b in decoded.badges}
        with self._lock:
            self._badges = badges
            self.as_of = decoded.as_of

    def _summary(self) -> dict[str, Any]:
        return {"badges": len(self._badges), "as_of": self.as_of}

    def holder(self, uid: str) -> dict[str, Any] | None:
        """The enrolled badge a tapped UID is (purpose, name, user id), or None."""
        try:
            digest = badge_digest(self.secret, uid)
        except DomainError:  # a UID no enrolment could hold
            return None
        with self._lock:
            entry = self._badges.get(digest)
        return dict(entry) if entry is not None else None


class Link:
    """What the agent knows about the server link: down until a send succeeds again."""

    def __init__(self) -> None:
        self.up = True
        self.last_error: str | None = None
        self.changed = threading.Event()  # set when work is queued or the link may be back

    def failed(self, reason: str) -> None:
        if self.up:
            log.warning("server_link_down", reason=reason)
        self.up = False
        self.last_error = reason

    def succeeded(self) -> None:
        if not self.up:
            log.info("server_link_up")
        self.up = True
        self.last_error = None


class Guard:
    def __init__(self, server: Any, journal: Journal, keys: KeyRing, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 link: Link | None = None, send_lock: threading.Lock | None = None,
                 show: Callable[[str], None] | None = None,
                 on_result: Callable[[GuardResult], None] | None = None, book: PassBook | None = None,
                 health: DeviceHealth | None = None, session: GuardSession | None = None) -> None:
        self.server = server
        self.journal = journal
        self.keys = keys
        self.book = book or PassBook()
        self.clock = clock
        self.link = link or Link()
        self.send_lock = send_lock or threading.Lock()
        self.show = show or (lambda message: None)
        self.on_result = on_result
        self.last_result: GuardResult | None = None
        self.health = health or DeviceHealth(("scanner",))
        self.session = session  # None: no badge reader, exits need no signed-in guard

    def handle_scan(self, payload: str) -> GuardResult:
        result = self._handle(payload.strip())
        self.last_result = result
        log.info("guard_result", ok=result.ok, code=result.code, pass_no=result.pass_no, queued=result.queued,
                 event_id=result.event_id, guard_badge=mask_badge(result.guard_badge))
        self.show(result.message)
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _verify_locally(self, payload: str, at: datetime) -> dict[str, Any] | GuardResult:
        if not self.keys.kids and not self.keys.refresh(self.server):
            return GuardResult(False, "gate.no_verification_keys", say("gate.no_verification_keys", "guard"))
        try:
            try:
                claims = self.keys.verify(payload, at)
            except PassForged as exc:
                if "kid" in exc.details and self.keys.refresh(self.server):  # a rotated key?
                    claims = self.keys.verify(payload, at)
                else:
                    raise
        except PassForged as exc:
            return GuardResult(False, exc.code, say("gate_pass.forged", "guard"))
        except PassExpired as exc:
            return GuardResult(False, exc.code, f"出门证已过期（有效期至 {_local(exc.details.get('valid_to'))}），禁止放行")
        except PassNotYetValid as exc:
            return GuardResult(False, exc.code,
                               f"出门证尚未生效（自 {_local(exc.details.get('valid_from'))} 起有效），禁止放行")
        except (PassMalformed, PassTokenError) as exc:
            return GuardResult(False, exc.code, say(exc.code, "guard", default=say("gate_pass.invalid", "guard")))
        if claims.get("typ") != "gate_pass" or not isinstance(claims.get("pass_no"), str):
            return GuardResult(False, "gate_pass.malformed", say("gate_pass.malformed", "guard"))
        return claims

    def _handle(self, payload: str) -> GuardResult:
        on_duty = self.session.on_duty if self.session is not None else None
        if self.session is not None and on_duty is None:
            return GuardResult(False, "gate.no_guard_signed_in", say("gate.no_guard_signed_in", "guard"))
        result = self._handle_on_duty(payload, on_duty)
        if on_duty is not None and result.ok:
            return attrs.evolve(result, guard_badge=on_duty.badge_uid)
        return result

    def _handle_on_duty(self, payload: str, on_duty: OnDuty | None) -> GuardResult:
        now = self.clock()
        checked = self._verify_locally(payload, now)
        if isinstance(checked, GuardResult):
            return checked
        result = self._judge(payload, checked, on_duty, now)
        return attrs.evolve(result, valid_from=checked.get("valid_from"), valid_to=checked.get("valid_to"),
                            holder=result.holder or self.book.holder_of(checked["pass_no"]))

    def _judge(self, payload: str, checked: dict[str, Any], on_duty: OnDuty | None, now: datetime) -> GuardResult:
        pass_no: str = checked["pass_no"]
        vins = tuple(checked.get("vins") or ())

        for earlier in self.journal.for_pass("exit", pass_no):
            if earlier.state == "sent":
                answer = _exit_answer(earlier)
                at = _local(answer.exited_at if answer is not None else earlier.payload.get("scanned_at"))
                return GuardResult(False, "gate_pass.already_exited",
                                   f"出门证 {pass_no} 已于 {at} 放行，禁止重复使用", pass_no, vins)
            if earlier.state == "pending":
                return GuardResult(False, "gate_pass.already_exited",
                                   f"出门证 {pass_no} 刚刚已放行（待上传服务器），禁止重复使用", pass_no, vins,
                                   queued=True, event_id=earlier.client_event_id)

        doubt = self.book.refusal(pass_no, payload)
        if doubt is not None and (doubt.final or not self.link.up):
            return self._refused_by_book(doubt, pass_no, vins)
        scanned_at = now.isoformat()
        event = {"qr_payload": payload, "scanned_at": scanned_at, "pass_no": pass_no, "vins": list(vins)}
        if on_duty is not None:  # sent to the server as this device's digest of the badge
            event["guard_badge"] = on_duty.badge_uid
        event_id = self.journal.record("exit", event)
        allowed = f"出门证 {pass_no} 有效，共 {len(vins)} 台车辆，可以放行"
        if not self.link.up:  # known down: don't make the guard wait for a timeout
            self.link.changed.set()
            return GuardResult(True, "ok.offline", allowed + "（离线核验，已记录，联网后自动上传）", pass_no, vins,
                               queued=True, event_id=event_id)
        outcome = send_entry(self.server, self.journal, self.journal.get(event_id), self.link,  # type: ignore[arg-type]
                             self.send_lock)
        if outcome == "sent":
            answer = _exit_answer(self.journal.get(event_id))
            holder = answer.holder if answer is not None else None
            return GuardResult(True, "ok", allowed + "，出门已登记", pass_no, vins, event_id=event_id, holder=holder)
        if outcome == "pending":
            self.link.changed.set()
            if doubt is not None:  # the server could not be asked and the book doubts this QR
                self.journal.mark_refused(event_id, {"code": doubt.code, "local": True}, "离线名册拒绝")
                return self._refused_by_book(doubt, pass_no, vins)
            return GuardResult(True, "ok.offline", allowed + "（离线核验，已记录，联网后自动上传）", pass_no, vins,
                               queued=True, event_id=event_id)
        entry = self.journal.get(event_id)
        answer = (entry.answer if entry else None) or {}
        code = str(answer.get("code") or "gate.refused")
        message = say(code, "guard", default=f"{answer.get('detail') or '服务器拒绝放行'}，禁止放行", pass_no=pass_no)
        if code == "gate_pass.already_exited" and answer.get("exited_at"):
            message += f"（已于 {_local(answer['exited_at'])} 出厂）"
        return GuardResult(False, code, message, pass_no, vins, event_id=event_id)

    def _refused_by_book(self, doubt: BookRefusal, pass_no: str, vins: tuple[str, ...]) -> GuardResult:
        if doubt.final:
            message = say(doubt.code, "guard", pass_no=pass_no)
        else:
            message = (f"出门证 {pass_no} 的二维码与本机名册不符（已重新签发或作废），"
                       "服务器暂不可达无法确认，禁止放行，请联系发车处")
        log.warning("guard_refused_by_pass_book", pass_no=pass_no, code=doubt.code, as_of=self.book.as_of)
        return GuardResult(False, doubt.code, message, pass_no, vins)

    def run(self, scanner: Any, stop: threading.Event) -> None:
        """Handle scans until ``stop``; a scanner error is raised for the supervisor to reopen it."""
        while not stop.is_set():
            try:
                line = scanner.read_line(timeout=0.5)
            except DeviceError as exc:
                self.health.fault("scanner", exc.code, say(exc.code, default=exc.message))
                raise
            self.health.ok("scanner")
            if line:
                self.handle_scan(line)


def _exit_answer(entry: JournalEntry | None) -> ExitOut | None:
    """The server's answer to a sent exit (kept in the journal as received), decoded into the
    shared wire struct; None when the exit was not answered or the answer is not an exit."""
    if entry is None or entry.state != "sent" or not entry.answer:
        return None
    try:
        return msgspec.convert(entry.answer, ExitOut)
    except msgspec.ValidationError:
        log.warning("exit_answer_malformed", event_id=entry.client_event_id)
        return None


def send_entry(server: Any, journal: Journal, entry: JournalEntry, link: Link, lock: threading.Lock) -> str:
    """Send one journaled event; returns its state afterwards: sent, refused or pending."""
    with lock:
        current = journal.get(entry.client_event_id)
        if current is None or current.state != "pending":
            return current.state if current else "pending"
        try:
            if entry.kind == "exit" and entry.payload.get("guard_badge"):
                answer = server.confirm_exit(entry.payload["qr_payload"], entry.client_event_id,
                                             entry.payload.get("scanned_at"), guard_badge=entry.payload["guard_badge"])
            elif entry.kind == "exit":
                answer = server.confirm_exit(entry.payload["qr_payload"], entry.client_event_id,
                                             entry.payload.get("scanned_at"))
            elif entry.kind == "print":
                answer = server.record_print(entry.payload["pass_no"], entry.client_event_id)
            else:
                journal.mark_refused(entry.client_event_id, {"code": "journal.unknown_kind"}, f"unknown kind {entry.kind}")
                return "refused"
        except ServerUnreachable as exc:
            journal.note_failure(entry.client_event_id, exc.reason)
            link.failed(exc.reason)
            return "pending"
        except ServerRefused as exc:
            if exc.status in (401, 403):  # the device key: an operator must fix it; keep the event
                journal.note_failure(entry.client_event_id, f"{exc.status} {exc.code}")
                link.failed(f"device key refused ({exc.code})")
                log.error("device_key_refused", status=exc.status, code=exc.code)
                return "pending"
            link.succeeded()
            journal.mark_refused(entry.client_event_id, exc.body or {"code": exc.code}, exc.detail or exc.code)
            log.warning("gate_event_refused", kind=entry.kind, pass_no=entry.payload.get("pass_no"), code=exc.code,
                        event_id=entry.client_event_id)
            return "refused"
        link.succeeded()
        journal.mark_sent(entry.client_event_id, answer)
        return "sent"


class Replayer:
    """Sends pending journal events in order; backs off (0.5 s doubling to ``max_backoff``,
    with jitter) while the server is unreachable."""

    def __init__(self, server: Any, journal: Journal, *, link: Link | None = None,
                 send_lock: threading.Lock | None = None, min_backoff: float = 0.5, max_backoff: float = 30.0,
                 idle: float = 1.0, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.server = server
        self.journal = journal
        self.link = link or Link()
        self.send_lock = send_lock or threading.Lock()
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.idle = idle
        self.backoff = min_backoff
        self.clock = clock
        self.last_replay: dict[str, Any] | None = None  # the last round that got answers: when, how many

    def replay_once(self, batch: int = 100) -> tuple[int, bool]:
        """Send up to ``batch`` pending events; (how many got an answer, link still up)."""
        answered, up = 0, True
        for entry in self.journal.pending(batch):
            state = send_entry(self.server, self.journal, entry, self.link, self.send_lock)
            if state == "pending":
                up = False
                break
            answered += 1
        if answered:
            self.last_replay = {"at": self.clock().isoformat(), "answered": answered,
                                "pending": self.journal.counts()["pending"]}
        return answered, up

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                answered, up = self.replay_once()
            except Exception:  # noqa: BLE001 - the replayer must outlive any one bad event
                log.exception("replayer_failed")
                answered, up = 0, False
            if answered:
                log.info("journal_replayed", answered=answered, pending=(self.last_replay or {}).get("pending"))
            if not up:
                delay = self.backoff * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
                self.backoff = min(self.backoff * 2, self.max_backoff)
                stop.wait(delay)
                continue
            self.backoff = self.min_backoff
            if answered:
                continue  # more may be waiting
            self.link.changed.wait(self.idle)
            self.link.changed.clear()


def now_utc() -> datetime:
    return datetime.now(UTC)


__all__ = ["BadgeBook", "BadgeDesk", "Guard", "GuardResult", "GuardSession", "KeyRing", "Link", "OnDuty", "Replayer", "mask_badge",
           "run_badge_desk", "send_entry", "now_utc"]
