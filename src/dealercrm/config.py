"""Settings: built once from the environment (the only module that reads ``os.environ``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import attrs


@attrs.frozen
class Settings:
    database_url: str = "sqlite:///var/dealercrm.db"
    jwt_secret: str = attrs.field(factory=lambda: secrets.token_urlsafe(48), repr=False)
    jwt_issuer: str = "dealercrm"
    jwt_audience: str = "dealercrm-api"
    token_ttl_minutes: int = 480
    # web UI: the key of session-token digests and CSRF tokens (unset → random per process, so
    # sessions end on restart and several workers need it set), and the session's idle lifetime
    session_secret: str = attrs.field(factory=lambda: secrets.token_urlsafe(48), repr=False)
    session_ttl_minutes: int = 480
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_048_576
    login_rate_per_minute: int = 10
    register_rate_per_hour: int = 20
    sqlite_synchronous: str = "FULL"
    log_level: str = "INFO"
    log_json: bool = True
    principal_cache_seconds: float = 5.0
    cors_origins: tuple[str, ...] = ()
    portal_url: str = "http://127.0.0.1:8000"
    # notification delivery (worker); unset host/url → console senders that only log
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = attrs.field(default="", repr=False)
    smtp_sender: str = "dealercrm@localhost"
    sms_url: str = ""
    sms_access_key: str = ""
    sms_secret: str = attrs.field(default="", repr=False)
    sms_sign_name: str = "dealercrm"
    # approval e-mails: HMAC key of the approve/reject links (empty → derived from jwt_secret)
    workflow_link_secret: str = attrs.field(default="", repr=False)
    workflow_link_ttl_hours: int = 72
    # alerts scheduler (worker) and dealer birthdays
    scheduler_interval_seconds: float = 300.0
    birthday_alert_days: int = 3
    birthday_greeting_hour: int = 9
    # gate passes: Ed25519 signing key (PEM path), extra trusted public keys, ID-digest secret
    gate_signing_key: str = ""
    gate_verification_keys: tuple[str, ...] = ()
    gate_id_hash_key: str = attrs.field(default="", repr=False)
    pdf_font: str = ""  # a CJK TTF/TTC for PDFs; unset → the usual Debian font paths
    # the worker: receipts overdue this many days after the expected arrival remind the dealer;
    # kiosk/desk idempotency answers are kept this many days (an offline agent's replay window)
    receipt_grace_days: int = 3
    kiosk_event_retention_days: int = 90
    # orders: delivery-date reminders N days ahead; photos of customer-supplied parts
    delivery_reminder_days: int = 7
    photo_dir: str = ""  # unset → photos/ beside the SQLite file, else var/photos
    # repair media (photos and videos in the same content-addressed store as the photos above)
    media_max_photo_bytes: int = 10 * 1024 * 1024
    media_max_video_bytes: int = 100 * 1024 * 1024
    media_max_image_side: int = 8000
    media_max_image_pixels: int = 40_000_000
    media_thumbnail_side: int = 320
    # factory ERP (docs/erp-api.md): unset URL → no ERP release delivery and no ERP sync job
    erp_url: str = ""
    erp_api_key: str = attrs.field(default="", repr=False)
    erp_timeout_seconds: float = 10.0
    # video conferencing for online trainings (docs/video-api.md); unset URL → in-memory twin
    video_url: str = ""
    video_app_id: str = ""
    video_secret: str = attrs.field(default="", repr=False)
    video_timeout_seconds: float = 10.0
    forecast_deadline_day: int = 25  # next month's sales forecast is due by this day (Beijing) of the month before

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


def _bool(v: str) -> bool:
    return v.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """``DEALERCRM_*`` variables, then explicit overrides. Unknown overrides are an error."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    converters = {
        "database_url": str, "jwt_secret": str, "jwt_issuer": str, "jwt_audience": str,
        "token_ttl_minutes": int, "session_secret": str, "session_ttl_minutes": int, "host": str, "port": int, "max_body_bytes": int,
        "login_rate_per_minute": int, "register_rate_per_hour": int, "sqlite_synchronous": str,
        "log_level": str, "log_json": _bool, "principal_cache_seconds": float,
        "cors_origins": lambda v: tuple(x.strip() for x in v.split(",") if x.strip()),
        "portal_url": str, "smtp_host": str, "smtp_port": int, "smtp_security": str, "smtp_username": str,
        "smtp_password": str, "smtp_sender": str, "sms_url": str, "sms_access_key": str, "sms_secret": str,
        "sms_sign_name": str, "workflow_link_secret": str, "workflow_link_ttl_hours": int,
        "sms_sign_name": str, "scheduler_interval_seconds": float, "birthday_alert_days": int,
        "birthday_greeting_hour": int,
        "sms_sign_name": str, "gate_signing_key": str, "gate_id_hash_key": str, "pdf_font": str,
        "erp_url": str, "erp_api_key": str, "erp_timeout_seconds": float,
        "gate_verification_keys": lambda v: tuple(x.strip() for x in v.split(",") if x.strip()),
        "delivery_reminder_days": int, "photo_dir": str, "receipt_grace_days": int,
        "media_max_photo_bytes": int, "media_max_video_bytes": int, "media_max_image_side": int,
        "media_max_image_pixels": int, "media_thumbnail_side": int,
        "kiosk_event_retention_days": int,
        "video_url": str, "video_app_id": str, "video_secret": str, "video_timeout_seconds": float,
        "forecast_deadline_day": int,
    }
    for name, conv in converters.items():
        raw = env.get(f"DEALERCRM_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = conv(raw)
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
