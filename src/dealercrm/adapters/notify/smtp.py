"""E-mail over SMTP (smtplib) with STARTTLS or implicit TLS and authentication."""

from __future__ import annotations

import base64
import hashlib
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

import structlog

from dealercrm.application.ports.notify import PermanentDeliveryError, TransientDeliveryError
from dealercrm.domain.notifications import mask_recipient

log = structlog.get_logger(__name__)

Security = Literal["starttls", "ssl", "none"]


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The ``Message-ID`` for a message key: the same key always gives the same id, so a
    receiving system (or a test) can recognise a resend after a worker crash."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


class SmtpEmailSender:
    """An :class:`~dealercrm.application.ports.notify.EmailSender` speaking SMTP.

    One connection per message (the relay sends sequentially; providers drop idle sessions).
    ``security``: ``"starttls"`` (port 587, upgrade required — a server that does not offer
    STARTTLS is an error, never a silent plaintext send), ``"ssl"`` (implicit TLS, port 465) or
    ``"none"`` (local relays only). Headers are UTF-8 (RFC 2047), the body is UTF-8 text.

    Failure classification: connection problems, timeouts, TLS errors, 4xx replies and
    authentication failures (a configuration problem, not the message's) are transient;
    5xx replies to the sender, recipient or data are permanent and carry the server's reason.
    Once the server has accepted the data, errors while saying goodbye are ignored, so an
    accepted message is never reported as failed (and then sent twice).

    ``timeout`` applies to each socket operation; a whole send takes up to about eight of them,
    so give the relay a ``send_budget`` of several timeouts (default 10 s vs. 60 s budget).
    """

    def __init__(
        self,
        host: str,
        port: int,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        sender: str = "noreply@localhost",
        timeout: float = 10.0,
        *,
        sender_name: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        message_id_domain: str | None = None,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"unknown SMTP security {security!r}")
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._sender = sender
        self._sender_name = sender_name
        self._timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._local_hostname = local_hostname or socket.gethostname()
        self._domain = message_id_domain or sender.rpartition("@")[2] or "localhost"

    def build_message(self, to: str, subject: str, body: str, *, idempotency_key: str) -> EmailMessage:
        msg = EmailMessage()
        local, _, domain = self._sender.rpartition("@")
        msg["From"] = Address(self._sender_name or "", local, domain)
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = message_id_for(idempotency_key, self._domain)
        msg["X-Idempotency-Key"] = idempotency_key
        msg.set_content(body, charset="utf-8", cte="base64")  # 7-bit safe for any relay
        return msg

    def send(self, to: str, subject: str, body: str, *, idempotency_key: str) -> None:
        msg = self.build_message(to, subject, body, idempotency_key=idempotency_key)
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientDeliveryError(f"无法连接邮件服务器：{_describe(exc)}",
                                         code="notify.smtp_unavailable") from exc
        try:
            try:
                client.ehlo()
                if self._security == "starttls":
                    client.starttls(context=self._ssl_context)
                    client.ehlo()
                if self._username:
                    _login(client, self._username, self._password or "")
                client.send_message(msg, from_addr=self._sender, to_addrs=[to])
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                raise _classify(code, reply) from exc
            except smtplib.SMTPAuthenticationError as exc:
                raise TransientDeliveryError(f"邮件服务器认证失败：{exc.smtp_code} {_text(exc.smtp_error)}",
                                             code="notify.smtp_auth_failed") from exc
            except smtplib.SMTPResponseException as exc:
                raise _classify(exc.smtp_code, exc.smtp_error) from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise TransientDeliveryError(f"邮件发送中断：{_describe(exc)}",
                                             code="notify.smtp_unavailable") from exc
        finally:
            _close_quietly(client)
        log.debug("smtp_message_accepted", to=mask_recipient(to), message_id=msg["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        if self._security == "ssl":
            return smtplib.SMTP_SSL(self._host, self._port, local_hostname=self._local_hostname,
                                    timeout=self._timeout, context=self._ssl_context)
        return smtplib.SMTP(self._host, self._port, local_hostname=self._local_hostname,
                            timeout=self._timeout)


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    if username.isascii() and password.isascii():
        client.login(username, password)
        return
    # smtplib encodes credentials as ASCII; SASL PLAIN (RFC 4616) carries UTF-8.
    if "plain" not in client.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPNotSupportedError("server offers no AUTH PLAIN for non-ASCII credentials")
    token = base64.b64encode(b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8"))
    code, reply = client.docmd("AUTH", "PLAIN " + token.decode("ascii"))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _classify(code: int, reply: bytes | str) -> Exception:
    reason = f"{code} {_text(reply)}".strip()
    if 500 <= code < 600:
        return PermanentDeliveryError(reason, provider_code=str(code))
    return TransientDeliveryError(f"邮件服务器暂时拒绝：{reason}", code="notify.smtp_deferred")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _close_quietly(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        client.close()
