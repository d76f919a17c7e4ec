"""structlog, wired once: JSON lines, the request id in every line, personal data redacted.

Redaction (``redact_processor``, the last step before rendering, also for the standard
library's lines): resident ID numbers and mobile numbers are masked wherever they appear
(``1101**********1239``, ``138****8000``; also written ``+86 138-0013-8000``); secrets
(passwords, tokens, keys, approval-link and calendar-feed tokens) are dropped; and the free text
people write — message and e-mail bodies, SMS texts, previews, under the keys in
``_CONTENT_KEYS`` — is replaced by its length, since no pattern can tell what personal data a
sentence holds (issue 21 §5)."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)((?:\+?86[-\s]?)?)(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
_SENSITIVE_KEYS = {"password", "token", "api_key", "authorization", "id_number", "photo", "secret"}
#: Keys whose value is text people wrote (a message, an e-mail or SMS, a preview of one): logged as its length.
_CONTENT_KEYS = {"body", "text", "message_body", "preview", "last_message_preview"}
_LINK_TOKEN_RE = re.compile(r"(/workflow-links/)[^/?\s\"']+")


_FEED_RE = re.compile(r"(/calendar/feed/)[^/\s\"']+")


def redact_text(text: str) -> str:
    text = _LINK_TOKEN_RE.sub(r"\1***", text)  # approval-link tokens are credentials
    text = _FEED_RE.sub(r"\1***", text)  # a calendar feed URL is a credential
    text = _ID_RE.sub(lambda m: m.group(1)[:4] + "*" * 10 + m.group(3)[-4:], text)
    return _PHONE_RE.sub(lambda m: m.group(1) + m.group(2) + "****" + m.group(4), text)


def _hidden(value: Any) -> Any:
    return f"[已隐去 {len(value)} 字]" if isinstance(value, str) else "[已隐去]"


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: ("***" if str(k).lower() in _SENSITIVE_KEYS
                    else _hidden(v) if str(k).lower() in _CONTENT_KEYS else _redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return value


def redact_processor(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Mask resident ID numbers and mobile numbers anywhere in a log event; drop secrets; replace
    written text (message bodies and the like) by its length."""
    return _redact(event_dict)


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,
    ]
    processors.append(structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,  # reconfigurable (tests, embedding apps)
    )
    # fpdf2's font subsetting (fontTools) logs each table it prunes at INFO: hundreds of lines per PDF
    logging.getLogger("fontTools").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


STDLIB_HANDLER = "dealercrm-json"  # the root handler route_stdlib_logging installs (replaced, not stacked)


def route_stdlib_logging(level: str = "INFO", json: bool = True) -> None:
    """Send the standard library's log records (uvicorn's server and error logs, and any library
    that logs) through the same processors — timestamp, level, redaction, JSON — as our own lines.

    Only the programs this package runs call it (``serve``, its workers): an embedding
    application keeps its own logging configuration untouched."""
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    pre_chain: list[Any] = [structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                            structlog.processors.TimeStamper(fmt="iso", utc=True), redact_processor]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain, processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name(STDLIB_HANDLER)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != STDLIB_HANDLER] + [handler]
    root.setLevel(logging.getLevelName(level.upper()))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # theirs propagate to ours
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    for chatty in ("httpx", "httpcore"):  # a line per outgoing request (ERP, video, SMS): our own lines say more
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


