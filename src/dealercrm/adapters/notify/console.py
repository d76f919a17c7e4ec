"""Console senders for the demo: they log the message instead of delivering it."""

from __future__ import annotations

import structlog

from dealercrm.domain.notifications import mask_recipient

log = structlog.get_logger(__name__)


class ConsoleEmailSender:
    """An :class:`~dealercrm.application.ports.notify.EmailSender` that logs each e-mail."""

    def send(self, to: str, subject: str, body: str, *, idempotency_key: str) -> None:
        log.info("email_sent_to_console", to=mask_recipient(to), subject=subject, body=body,
                 idempotency_key=idempotency_key)


class ConsoleSmsSender:
    """An :class:`~dealercrm.application.ports.notify.SmsSender` that logs each SMS.

    The phone number is masked (138****5678); the text is logged as is.
    """

    def send(self, phone: str, text: str, *, idempotency_key: str) -> None:
        log.info("sms_sent_to_console", phone=mask_recipient(phone), text=text,
                 idempotency_key=idempotency_key)
