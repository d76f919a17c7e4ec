"""``dealercrm check``: is this installation ready? One line per item — the configuration, the
keys, the database and its migrations, the mail and SMS gateways — each ``ok`` or what to fix.
Nothing is written and no message is sent: the gateways are only connected to (TCP, with a
short timeout). The exit code is 0 when every line is ok, 1 otherwise."""

from __future__ import annotations

import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from dealercrm.config import Settings, delivery_problems, secret_problems

TIMEOUT_SECONDS = 3.0


@attrs.frozen
class Line:
    item: str
    ok: bool
    detail: str

    def render(self) -> str:
        return f"{'ok ' if self.ok else 'FIX'}  {self.item:<12} {self.detail}"


def _reachable(host: str, port: int, connect: Callable[..., socket.socket]) -> str | None:
    """None when a TCP connection opens, else why not."""
    try:
        with connect((host, port), timeout=TIMEOUT_SECONDS):
            return None
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__


def _config(settings: Settings) -> Iterator[Line]:
    problems = secret_problems(settings)
    if problems:
        for where, why in problems:
            yield Line("secrets", False, f"{where}: {why} (dealercrm keys init --dir DIR, then DEALERCRM_KEY_DIR=DIR)")
    else:
        yield Line("secrets", True, "JWT and session secrets set, gate signing key configured")
    if settings.key_dir:
        loose = [p.name for p in Path(settings.key_dir).glob("*")
                 if p.is_file() and p.suffix != ".pub" and stat.S_IMODE(p.stat().st_mode) & 0o077]
        yield (Line("key folder", False, f"{settings.key_dir}: readable by others: {', '.join(sorted(loose))} "
                                         "(chmod 600)") if loose else
               Line("key folder", True, f"{settings.key_dir}: secrets readable by their owner only"))


def _gate_keys(settings: Settings) -> Iterator[Line]:
    if not settings.gate_signing_key:
        return
    from dealercrm.adapters.gate_keys import load_gate_keys

    try:
        keys = load_gate_keys(settings.gate_signing_key, settings.gate_verification_keys, settings.gate_id_hash_key)
    except (OSError, ValueError) as exc:
        yield Line("gate keys", False, f"{settings.gate_signing_key}: {exc}")
        return
    yield Line("gate keys", True, f"signing key {keys.signer.kid}, {len(keys.public_keys)} verification key(s)")


def _database(settings: Settings) -> Iterator[Line]:
    from dealercrm.adapters.db.operations_queries import database_status

    status = database_status(settings.database_url)
    if status.error is not None:
        yield Line("database", False, f"{status.shown}: {status.error}")
        return
    yield Line("database", True, status.shown)
    if status.current == status.head:
        yield Line("migrations", True, f"at {status.head}")
    else:
        yield Line("migrations", False,
                   f"at {status.current or 'none'}, scripts at {status.head}: run `dealercrm db upgrade`")


def _gateways(settings: Settings, connect: Callable[..., socket.socket]) -> Iterator[Line]:
    unset = dict(delivery_problems(settings))
    if settings.smtp_host:
        why = _reachable(settings.smtp_host, settings.smtp_port, connect)
        where = f"{settings.smtp_host}:{settings.smtp_port}"
        yield Line("smtp", why is None, where if why is None else f"{where}: {why}")
    else:
        yield Line("smtp", False, unset.get("DEALERCRM_SMTP_HOST", "not set"))
    if settings.sms_url:
        parts = urlsplit(settings.sms_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        why = _reachable(parts.hostname or "", port, connect) if parts.hostname else "no host in the URL"
        yield Line("sms", why is None, settings.sms_url if why is None else f"{settings.sms_url}: {why}")
    else:
        yield Line("sms", False, unset.get("DEALERCRM_SMS_URL", "not set"))


def check(settings: Settings, connect: Callable[..., socket.socket] = socket.create_connection) -> list[Line]:
    return [*_config(settings), *_gate_keys(settings), *_database(settings), *_gateways(settings, connect)]


def run(settings: Settings) -> int:
    lines = check(settings)
    for line in lines:
        print(line.render(), flush=True)
    bad = sum(not line.ok for line in lines)
    print(f"{len(lines) - bad}/{len(lines)} ok" + ("" if not bad else f"; fix the {bad} line(s) marked FIX"))
    return 0 if not bad else 1
