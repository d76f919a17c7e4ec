"""Settings: one typed structure built once from a TOML file and the environment (the only
module that reads ``os.environ``).

Sources, later ones winning: the TOML file named by ``DEALERCRM_CONFIG_FILE`` (or passed as
``config_file=``; keys are the setting names, e.g. ``database_url = "…"``), then the
``DEALERCRM_<NAME>`` environment variables, then keyword overrides from code. cattrs structures
the merged values into :class:`Settings`; every bad or unknown value is reported at once, each
naming its setting and where it came from (``DEALERCRM_PORT``, ``crm.toml: port``).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import ClassValidationError

SmtpSecurity = Literal["starttls", "ssl", "none"]
SqliteSynchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
ENV_PREFIX = "DEALERCRM_"
CONFIG_FILE_VARIABLE = "DEALERCRM_CONFIG_FILE"
PROMETHEUS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name}: must be greater than 0, got {value!r}")


def _not_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name}: must not be negative, got {value!r}")


def _port(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if not 0 < value < 65536:
        raise ValueError(f"{attribute.name}: a TCP port is 1–65535, got {value!r}")


def _networks(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for network in value:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{attribute.name}: {network!r} is not an IP network (e.g. 10.0.0.0/8)") from None


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _origins(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for origin in value:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ValueError(f"{attribute.name}: {origin!r} is not an origin (scheme://host[:port], no path)")


def _between(low: int, high: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
        if not low <= value <= high:
            raise ValueError(f"{attribute.name}: must be {low}–{high}, got {value!r}")

    return check


@attrs.frozen
class Settings:
    database_url: str = "sqlite:///var/dealercrm.db"
    # secrets: unset → `serve`/`worker` refuse to start outside --demo (see secret_problems); a
    # library caller or the demo gets random per-process values (with_process_secrets)
    key_dir: str = ""  # `dealercrm keys init` writes it; its files fill the secrets left unset
    jwt_secret: str = attrs.field(default="", repr=False)
    jwt_issuer: str = "dealercrm"
    jwt_audience: str = "dealercrm-api"
    token_ttl_minutes: int = attrs.field(default=480, validator=_positive)
    # web UI: the key of session-token digests and CSRF tokens, and the session's idle lifetime
    session_secret: str = attrs.field(default="", repr=False)
    session_ttl_minutes: int = attrs.field(default=480, validator=_positive)
    host: str = "127.0.0.1"
    port: int = attrs.field(default=8000, validator=_port)
    max_body_bytes: int = attrs.field(default=1_048_576, validator=_positive)
    login_rate_per_minute: int = attrs.field(default=10, validator=_positive)
    register_rate_per_hour: int = attrs.field(default=20, validator=_positive)
    sqlite_synchronous: SqliteSynchronous = "FULL"
    log_level: LogLevel = "INFO"
    log_json: bool = True
    principal_cache_seconds: float = attrs.field(default=5.0, validator=_not_negative)
    # other origins whose browsers may call the JSON API with a bearer token (never cookies):
    # "https://portal.example.com", comma-separated; unset: same-origin only
    cors_origins: tuple[str, ...] = attrs.field(default=(), validator=_origins)
    # /metrics answers only clients in these networks (the operators'); others get 404
    metrics_networks: tuple[str, ...] = attrs.field(default=("127.0.0.1/32", "::1/128"), validator=_networks)
    # prometheus-client's multiprocess folder: only from the standard PROMETHEUS_MULTIPROC_DIR
    # variable, the one prometheus-client itself reads (a file key could not reach the library);
    # set it when several server workers run, so /metrics adds up every worker's figures
    prometheus_multiproc_dir: str = attrs.field(default="", metadata={"internal": True})
    portal_url: str = "http://127.0.0.1:8000"
    # notification delivery (worker); unset host/url → console senders that only log
    smtp_host: str = ""
    smtp_port: int = attrs.field(default=587, validator=_port)
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str = ""
    smtp_password: str = attrs.field(default="", repr=False)
    smtp_sender: str = "dealercrm@localhost"
    sms_url: str = ""
    sms_access_key: str = ""
    sms_secret: str = attrs.field(default="", repr=False)
    sms_sign_name: str = "dealercrm"
    # approval e-mails: HMAC key of the approve/reject links (empty → derived from jwt_secret)
    workflow_link_secret: str = attrs.field(default="", repr=False)
    workflow_link_ttl_hours: int = attrs.field(default=72, validator=_positive)
    # alerts scheduler (worker) and dealer birthdays
    scheduler_interval_seconds: float = attrs.field(default=300.0, validator=_positive)
    birthday_alert_days: int = attrs.field(default=3, validator=_not_negative)
    birthday_greeting_hour: int = attrs.field(default=9, validator=_between(0, 23))
    # gate passes: Ed25519 signing key (PEM path), extra trusted public keys, ID-digest secret
    gate_signing_key: str = ""
    gate_verification_keys: tuple[str, ...] = ()
    gate_id_hash_key: str = attrs.field(default="", repr=False)
    pdf_font: str = ""  # a CJK TTF/TTC for PDFs; unset → the usual Debian font paths
    # the worker: receipts overdue this many days after the expected arrival remind the dealer;
    # kiosk/desk idempotency answers are kept this many days (an offline agent's replay window)
    receipt_grace_days: int = attrs.field(default=3, validator=_not_negative)
    kiosk_event_retention_days: int = attrs.field(default=90, validator=_positive)
    # orders: delivery-date reminders N days ahead; photos of customer-supplied parts
    delivery_reminder_days: int = attrs.field(default=7, validator=_not_negative)
    photo_dir: str = ""  # unset → photos/ beside the SQLite file, else var/photos
    # repair media (photos and videos in the same content-addressed store as the photos above)
    media_max_photo_bytes: int = attrs.field(default=10 * 1024 * 1024, validator=_positive)
    media_max_video_bytes: int = attrs.field(default=100 * 1024 * 1024, validator=_positive)
    media_max_image_side: int = attrs.field(default=8000, validator=_positive)
    media_max_image_pixels: int = attrs.field(default=40_000_000, validator=_positive)
    media_thumbnail_side: int = attrs.field(default=320, validator=_positive)
    # messages (issue 21): at most this many messages per user per minute, across workers
    message_rate_per_minute: int = attrs.field(default=30, validator=_positive)
    # away digest (issue 21 §4): a message unread this long goes out by e-mail;
    # a mention or a record-thread message after the urgent time, also by SMS
    message_digest_minutes: int = attrs.field(default=30, validator=_positive)
    message_urgent_minutes: int = attrs.field(default=10, validator=_positive)
    # message retention (issue 21 §5): messages older than this are deleted by the scheduler
    message_retention_days: int = attrs.field(default=365, validator=_positive)
    # factory ERP (docs/erp-api.md): unset URL → no ERP release delivery and no ERP sync job
    erp_url: str = ""
    erp_api_key: str = attrs.field(default="", repr=False)
    erp_timeout_seconds: float = attrs.field(default=10.0, validator=_positive)
    # video conferencing for online trainings (docs/video-api.md); unset URL → in-memory twin
    video_url: str = ""
    video_app_id: str = ""
    video_secret: str = attrs.field(default="", repr=False)
    video_timeout_seconds: float = attrs.field(default=10.0, validator=_positive)
    # next month's sales forecast is due by this day (Beijing) of the month before
    forecast_deadline_day: int = attrs.field(default=25, validator=_between(1, 28))
    # not a setting: which secrets load_settings filled with per-process values because none was
    # given (secret_problems reports them; every container built from these settings shares them)
    generated_secrets: tuple[str, ...] = attrs.field(default=(), metadata={"internal": True})

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        raw = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(raw) if raw and raw != ":memory:" else None

    def photo_path(self) -> Path:
        """``DEALERCRM_PHOTO_DIR``; else ``photos/`` beside the SQLite file; else ``var/photos``."""
        if self.photo_dir:
            return Path(self.photo_dir)
        db = self.sqlite_path()
        return db.parent / "photos" if db is not None else Path("var/photos")


SETTING_NAMES: tuple[str, ...] = tuple(a.name for a in attrs.fields(Settings) if not a.metadata.get("internal"))


class SettingsError(ValueError):
    """One or more settings are malformed or unknown; ``problems`` pairs each setting's source
    (``DEALERCRM_PORT``, ``crm.toml: port``, ``port=``) with what is wrong."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {why}" for where, why in problems))


def _structure_bool(value: object, _type: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true/false (1/0, yes/no, on/off), got {value!r}")


def _structure_str_tuple(value: object, _type: type) -> tuple[str, ...]:
    """A comma-separated string (environment) or a list of strings (TOML, code)."""
    if isinstance(value, str):
        return tuple(x.strip() for x in value.split(",") if x.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
        return tuple(value)
    raise ValueError(f"expected a comma-separated string or a list of strings, got {value!r}")


def _structure_number(kind: type[int] | type[float]) -> Any:
    def structure(value: object, _type: type) -> int | float:
        if isinstance(value, bool):
            raise ValueError(f"expected {kind.__name__}, got {value!r}")
        if kind is int and isinstance(value, float):
            raise ValueError(f"expected a whole number, got {value!r}")
        try:
            return kind(value.strip() if isinstance(value, str) else cast(Any, value))
        except (TypeError, ValueError):
            raise ValueError(f"expected {'a whole number' if kind is int else 'a number'}, got {value!r}") from None

    return structure


def _is_literal(type_: Any) -> bool:
    origin: object = get_origin(type_)
    return origin is Literal


def _structure_literal(value: object, type_: Any) -> object:
    """One of the Literal's values; text matches regardless of case (``normal`` → ``NORMAL``)."""
    for allowed in get_args(type_):
        if value == allowed or (isinstance(value, str) and value.strip().lower() == str(allowed).lower()):
            return allowed
    raise ValueError(f"expected one of {', '.join(map(str, get_args(type_)))}, got {value!r}")


def _structure_str(value: object, _type: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


@functools.lru_cache(maxsize=1)
def _converter() -> cattrs.Converter:
    """The settings converter: strict (unknown keys refused), every field's error collected, and
    hooks that read environment strings as well as TOML/code values."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(int, _structure_number(int))
    converter.register_structure_hook(float, _structure_number(float))
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook_func(_is_literal, _structure_literal)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_str_tuple)
    return converter


def _read_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise SettingsError([(CONFIG_FILE_VARIABLE, f"cannot read {path}: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([(str(path), f"not valid TOML: {exc}")]) from None
    return dict(data.get("dealercrm", data)) if isinstance(data.get("dealercrm"), dict) else data


def load_settings(env: Mapping[str, str] | None = None, /, *, config_file: str | os.PathLike[str] | None = None,
                  **overrides: object) -> Settings:
    """The settings from the TOML file, then ``DEALERCRM_*`` variables, then ``overrides``.

    Raises :class:`SettingsError` naming every bad or unknown setting. An empty variable counts
    as unset. In the file, settings sit at the top level or under a ``[dealercrm]`` table.
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    origin: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    file = config_file if config_file is not None else env.get(CONFIG_FILE_VARIABLE) or None
    if file is not None:
        path = Path(file)
        for key, value in _read_file(path).items():
            values[key], origin[key] = value, f"{path.name}: {key}"
            if key not in SETTING_NAMES:
                problems.append((origin[key], "unknown setting"))
    for name in SETTING_NAMES:
        raw = env.get(f"{ENV_PREFIX}{name.upper()}")
        if raw is not None and raw != "":
            values[name], origin[name] = raw, f"{ENV_PREFIX}{name.upper()}"
    if env.get(PROMETHEUS_VARIABLE):  # the standard name prometheus-client itself reads
        values["prometheus_multiproc_dir"] = env[PROMETHEUS_VARIABLE]
        origin["prometheus_multiproc_dir"] = PROMETHEUS_VARIABLE
    for key, value in overrides.items():
        values[key], origin[key] = value, f"{key}="
        if key not in SETTING_NAMES:
            problems.append((origin[key], "unknown setting"))
    if problems:
        raise SettingsError(problems)
    try:
        settings = _converter().structure(values, Settings)
    except ClassValidationError as exc:
        raise SettingsError(_problems(exc, origin)) from None
    return with_process_secrets(_with_key_dir(settings) if settings.key_dir else settings)


# the key folder's files: the setting each fills when unset, and whether the file holds the
# value itself (a secret) or is the value's path (the signing key PEM)
KEY_FILES: tuple[tuple[str, str, bool], ...] = (
    ("jwt_secret", "jwt-secret", True),
    ("session_secret", "session-secret", True),
    ("gate_signing_key", "gate-signing-key.pem", False),
)
MIN_SECRET_LENGTH = 32


def _with_key_dir(settings: Settings) -> Settings:
    folder = Path(settings.key_dir)
    if not folder.is_dir():  # not yet created (keys init, restore): secret_problems says so
        return settings
    filled: dict[str, Any] = {}
    for name, file_name, holds_value in KEY_FILES:
        path = folder / file_name
        if getattr(settings, name) or not path.exists():
            continue
        try:
            filled[name] = path.read_text(encoding="utf-8").strip() if holds_value else str(path)
        except OSError as exc:
            raise SettingsError([(f"{ENV_PREFIX}KEY_DIR", f"cannot read {path}: {exc.strerror}")]) from None
    return attrs.evolve(settings, **filled)


def secret_problems(settings: Settings) -> list[tuple[str, str]]:
    """What keeps these settings from running a real installation: each missing or weak secret,
    named by its variable, with why it matters. ``serve`` and ``worker`` refuse to start on any
    of these outside ``--demo``."""
    problems: list[tuple[str, str]] = []
    if settings.key_dir and not Path(settings.key_dir).is_dir():
        problems.append((f"{ENV_PREFIX}KEY_DIR", f"{settings.key_dir} is not a folder; create it with "
                                                f"`dealercrm keys init --dir {settings.key_dir}`"))
    for name, consequence in (("jwt_secret", "every sign-in and approval link would end with the process"),
                              ("session_secret", "web sessions and CSRF tokens would end with the process")):
        value = getattr(settings, name)
        if not value or name in settings.generated_secrets:
            problems.append((f"{ENV_PREFIX}{name.upper()}", f"not set: {consequence}"))
        elif len(value) < MIN_SECRET_LENGTH:
            problems.append((f"{ENV_PREFIX}{name.upper()}", f"shorter than {MIN_SECRET_LENGTH} characters"))
    if not settings.gate_signing_key:
        problems.append((f"{ENV_PREFIX}GATE_SIGNING_KEY", "not set: gate passes printed now would fail at the gate "
                                                          "after a restart"))
    return problems


def delivery_problems(settings: Settings) -> list[tuple[str, str]]:
    """The worker's delivery settings that are missing (without them it only logs messages)."""
    problems: list[tuple[str, str]] = []
    if not settings.smtp_host:
        problems.append((f"{ENV_PREFIX}SMTP_HOST", "not set: e-mails would only be logged, never sent"))
    if not settings.sms_url:
        problems.append((f"{ENV_PREFIX}SMS_URL", "not set: SMS would only be logged, never sent"))
    return problems


def with_process_secrets(settings: Settings) -> Settings:
    """Fill an unset JWT or session secret with a random per-process value, noting it in
    ``generated_secrets``: what an embedding caller, a test or the demo gets. Tokens and web
    sessions then end with the process."""
    missing = tuple(name for name in ("jwt_secret", "session_secret") if not getattr(settings, name))
    if not missing:
        return settings
    generated: dict[str, Any] = {name: _process_secret(name) for name in missing}
    return attrs.evolve(settings, generated_secrets=(*settings.generated_secrets, *missing), **generated)


@functools.lru_cache(maxsize=None)
def _process_secret(name: str) -> str:
    """One random value per secret and process: settings loaded twice in one process sign alike."""
    return secrets.token_urlsafe(48)


def _problems(exc: ClassValidationError, origin: Mapping[str, str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    with_notes, without = exc.group_exceptions()
    for error, note in with_notes:
        name = str(note.name)
        problems.append((origin.get(name, name), str(error)))
    for error in without:  # an attrs validator in Settings: its message starts with the setting's name
        name, _, why = str(error).partition(": ")
        problems.append((origin.get(name, name), why) if name in SETTING_NAMES else ("settings", str(error)))
    return problems
