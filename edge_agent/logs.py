"""structlog for the edge agent: JSON lines on stderr with card data redacted.

On top of the server's redaction (ID and mobile numbers masked anywhere in an event, secrets
such as ``id_number``/``photo``/``api_key`` dropped), the agent masks people's names given
under ``name`` / ``person_name`` and drops whole QR payloads (they are bearer tokens for an
exit) — ``pass_no`` is what the log identifies a pass by.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from dealercrm.entrypoints.logging import redact_processor

_NAME_KEYS = {"name", "person_name", "holder"}
_DROP_KEYS = {"qr_payload", "qr", "device_key", "x-device-key", "card", "photo"}


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 0)


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            k = str(key).lower()
            if k in _DROP_KEYS:
                out[key] = "***"
            elif k in _NAME_KEYS and isinstance(item, str):
                out[key] = mask_name(item)
            else:
                out[key] = _mask(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    return value


def edge_redact_processor(logger: Any, name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return redact_processor(logger, name, _mask(event_dict))


def configure_logging(level: str = "INFO", *, json: bool = True, stream: TextIO | None = None) -> None:
    renderer: Any = (structlog.processors.JSONRenderer(ensure_ascii=False) if json
                     else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            edge_redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


__all__ = ["configure_logging", "edge_redact_processor", "mask_name"]
