"""A relay worker process for the crash test: ``python relay_worker.py --db-url … --smtp-port …``.

Relays e-mail from the outbox to the test SMTP server (STARTTLS + AUTH), and SMS to the test
gateway when ``--sms-url`` is given (recorded in memory otherwise), until SIGTERM.
Not a test module; started by ``test_outbox_crash_recovery.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import ssl
import threading

from sqlalchemy import create_engine, event

from dealercrm.adapters.notify.http_sms import HttpSmsSender
from dealercrm.adapters.notify.memory import RecordingSmsSender
from dealercrm.adapters.notify.smtp import SmtpEmailSender
from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
from dealercrm.application.outbox import Backoff, OutboxRelay


def make_engine(url: str):  # type: ignore[no-untyped-def]
    if not url.startswith("sqlite"):
        return create_engine(url)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")

    return engine


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db-url", required=True)
    p.add_argument("--smtp-port", type=int, required=True)
    p.add_argument("--ca-file", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--worker-id", required=True)
    p.add_argument("--lease-seconds", type=float, default=4.0)
    p.add_argument("--sms-url")
    p.add_argument("--sms-access-key", default="")
    p.add_argument("--sms-secret", default="")
    args = p.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = make_engine(args.db_url)
    email = SmtpEmailSender("127.0.0.1", args.smtp_port, "starttls", args.username, args.password,
                            sender="crm@dealercrm.test", timeout=2.0,
                            ssl_context=ssl.create_default_context(cafile=args.ca_file),
                            local_hostname=args.worker_id + ".dealercrm.test")
    sms = (HttpSmsSender(args.sms_url, args.sms_access_key, args.sms_secret, "华东专用车", 2.0)
           if args.sms_url else RecordingSmsSender())
    relay = OutboxRelay(
        SqlAlchemyOutboxStore(engine), email, sms,
        lambda: dt.datetime.now(dt.UTC),
        max_attempts=1000,
        backoff=Backoff(base=dt.timedelta(seconds=0.2), max_delay=dt.timedelta(seconds=1)),
        per_recipient_caps=(),
        batch_size=5,
        lease=dt.timedelta(seconds=args.lease_seconds),
        send_budget=dt.timedelta(seconds=args.lease_seconds / 2),
    )
    print("worker ready", args.worker_id, flush=True)
    relay.run(stop, poll_interval=0.05, worker_id=args.worker_id)
    engine.dispose()


if __name__ == "__main__":
    main()
