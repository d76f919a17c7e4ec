"""Fixtures for the notification integration tests: databases, a real SMTP server (aiosmtpd)
with a self-signed certificate, and a recording SMS gateway (stdlib http.server).

Databases: every outbox test runs on a SQLite file (WAL) and on a fresh PostgreSQL database
(``pg_url`` from the root conftest: ``DEALERCRM_TEST_PG_URL`` or a throwaway cluster).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, create_engine, event

from dealercrm.adapters.db.metadata import metadata
from dealercrm.adapters.notify.sql_outbox import notification_outbox

SMTP_USER = "crm-relay"
SMTP_PASSWORD = "正确的密码-s3cret"  # non-ASCII: SASL PLAIN with UTF-8
SMTP_ASCII_USER = "ascii-relay"
SMTP_ASCII_PASSWORD = "s3cret-ascii"
SMS_ACCESS_KEY = "AK-test"
SMS_SECRET = "sms-secret-密钥"

# ---------------------------------------------------------------------------------------------
# Databases


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_size=10)


@attrs.frozen
class OutboxDb:
    kind: str
    url: str
    engine: Engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def outbox_db(request, tmp_path) -> Iterator[OutboxDb]:
    """The outbox table on an empty database; dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
    else:
        url = request.getfixturevalue("empty_pg_url")
    engine = make_engine(url)
    metadata.drop_all(engine, tables=[notification_outbox])
    metadata.create_all(engine, tables=[notification_outbox])
    try:
        yield OutboxDb(request.param, url, engine)
    finally:
        metadata.drop_all(engine, tables=[notification_outbox])
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# TLS


@attrs.frozen
class Tls:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_file))


@pytest.fixture(scope="session")
def tls(tmp_path_factory) -> Tls:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dealercrm test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    cert_file, key_file = d / "cert.pem", d / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Tls(cert_file, key_file)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on."""
    return free_port()


@attrs.frozen
class SmtpCredentials:
    username: str = SMTP_USER
    password: str = SMTP_PASSWORD
    ascii_username: str = SMTP_ASCII_USER
    ascii_password: str = SMTP_ASCII_PASSWORD


@pytest.fixture
def smtp_credentials() -> SmtpCredentials:
    return SmtpCredentials()


# ---------------------------------------------------------------------------------------------
# SMTP


@attrs.frozen
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message_id: str
    idempotency_key: str | None
    subject: str
    body: str
    login: str | None
    tls: bool


class RecordingSmtpHandler:
    """Records every accepted message; can refuse recipients with a given reply."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[ReceivedMail] = []
        self.refuse: dict[str, str] = {}
        self.delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        record = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            message_id=str(msg["Message-ID"]),
            idempotency_key=str(msg["X-Idempotency-Key"]) if msg["X-Idempotency-Key"] else None,
            subject=str(msg["Subject"]),
            body=msg.get_content().replace("\r\n", "\n"),
            login=login,
            tls=server.transport.get_extra_info("ssl_object") is not None,
        )
        with self.lock:
            self.received.append(record)
        return "250 Message accepted for delivery"

    def delivered_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(m.message_id for m in self.received)


def authenticator(server, session, envelope, mechanism, auth_data):
    accounts = {SMTP_USER.encode(): SMTP_PASSWORD.encode(),
                SMTP_ASCII_USER.encode(): SMTP_ASCII_PASSWORD.encode()}
    ok = isinstance(auth_data, LoginPassword) and accounts.get(auth_data.login) == auth_data.password
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _QuietController(Controller):
    def factory(self):  # type: ignore[no-untyped-def]
        with warnings.catch_warnings():
            # "Requiring AUTH while not requiring TLS": with implicit TLS it is encrypted anyway.
            warnings.filterwarnings("ignore", message="Requiring AUTH", category=UserWarning)
            return super().factory()


@attrs.define
class SmtpServer:
    """A restartable aiosmtpd server on 127.0.0.1 with a fixed port."""

    handler: RecordingSmtpHandler
    port: int
    mode: str  # "starttls" | "ssl" | "plain"
    tls: Tls
    controller: Controller | None = None

    def start(self) -> None:
        kwargs: dict = {"authenticator": authenticator, "auth_required": self.mode != "plain"}
        if self.mode == "starttls":
            kwargs |= {"tls_context": self.tls.server_context(), "require_starttls": True}
        elif self.mode == "ssl":
            # aiosmtpd only counts STARTTLS as TLS for AUTH; with implicit TLS the whole
            # session is encrypted, so allow AUTH without STARTTLS.
            kwargs |= {"ssl_context": self.tls.server_context(), "auth_require_tls": False}
        self.controller = _QuietController(self.handler, hostname="127.0.0.1", port=self.port,
                                           ready_timeout=10, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def _smtp_server(mode: str, tls: Tls) -> Iterator[SmtpServer]:
    server = SmtpServer(RecordingSmtpHandler(), free_port(), mode, tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_starttls(tls) -> Iterator[SmtpServer]:
    yield from _smtp_server("starttls", tls)


@pytest.fixture
def smtp_ssl(tls) -> Iterator[SmtpServer]:
    yield from _smtp_server("ssl", tls)


@pytest.fixture
def smtp_plain(tls) -> Iterator[SmtpServer]:
    yield from _smtp_server("plain", tls)


# ---------------------------------------------------------------------------------------------
# SMS gateway


@attrs.frozen
class SmsRequest:
    headers: dict[str, str]
    payload: dict
    signature_ok: bool


class SmsGateway:
    """What the gateway received, and how it should answer.

    Verifies ``X-Signature`` (HMAC-SHA256 of the body with the shared secret) → 401 if wrong;
    ``bad_numbers`` → 400 with a provider reason; ``script`` → canned statuses for the next
    requests; ``stall`` seconds before answering. Delivers each idempotency key at most once.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[SmsRequest] = []
        self.delivered: Counter[str] = Counter()
        self.bad_numbers: set[str] = set()
        self.script: list[int] = []
        self.stall = 0.0
        self.url = ""
        self.access_key = SMS_ACCESS_KEY
        self.secret = SMS_SECRET

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        expected = hmac.new(SMS_SECRET.encode(), body, hashlib.sha256).hexdigest()
        signature_ok = hmac.compare_digest(expected, headers.get("x-signature", ""))
        payload = json.loads(body.decode("utf-8"))
        with self.lock:
            self.requests.append(SmsRequest(headers, payload, signature_ok))
            scripted = self.script.pop(0) if self.script else None
        if self.stall:
            time.sleep(self.stall)
        if not signature_ok:
            return 401, {"code": "SignatureDoesNotMatch", "message": "签名校验失败"}
        if scripted is not None:
            return scripted, {"code": "Busy", "message": f"scripted {scripted}"}
        if payload["phone"] in self.bad_numbers:
            return 400, {"code": "isv.MOBILE_NUMBER_ILLEGAL", "message": "手机号码格式错误"}
        with self.lock:
            duplicate = self.delivered[payload["idempotency_key"]] > 0
            if not duplicate:
                self.delivered[payload["idempotency_key"]] += 1
        return 200, {"code": "OK", "duplicate": duplicate}


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, answer = gateway.handle({k.lower(): v for k, v in self.headers.items()}, body)
            data = json.dumps(answer, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout tests)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
