"""``dealercrm worker`` — delivers the notification outbox (email, SMS) and runs the alert
scheduler (rules, birthday greetings) every ``DEALERCRM_SCHEDULER_INTERVAL_SECONDS`` until
SIGTERM/SIGINT.

Several workers may run at once (leased claims; SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
SQLite). Without SMTP/SMS settings it uses console senders that only log (the demo).

    dealercrm worker [--once] [--poll 1.0] [--no-scheduler] [--demo]

Outside ``--demo`` it refuses to start without the secrets (``config.secret_problems``) and the
delivery settings (``DEALERCRM_SMTP_HOST``, ``DEALERCRM_SMS_URL``): a worker that only logs would
silently lose every message.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

import attrs
import structlog

from dealercrm.application.ports.notify import EmailSender, SmsSender
from dealercrm.config import Settings, delivery_problems, load_settings, secret_problems
from dealercrm.entrypoints.logging import configure_logging
from dealercrm.entrypoints.startup import KEYS_HINT, refuse

log = structlog.get_logger(__name__)


def build_relay(settings: Settings, engine, clock, deliverers=None):  # type: ignore[no-untyped-def]
    from dealercrm.adapters.notify.console import ConsoleEmailSender, ConsoleSmsSender
    from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
    from dealercrm.application.outbox import OutboxRelay

    email: EmailSender
    sms: SmsSender
    if settings.smtp_host:
        from dealercrm.adapters.notify.smtp import SmtpEmailSender

        email = SmtpEmailSender(settings.smtp_host, settings.smtp_port, settings.smtp_security, settings.smtp_username,
                                settings.smtp_password, settings.smtp_sender)
    else:
        email = ConsoleEmailSender()
    if settings.sms_url:
        from dealercrm.adapters.notify.http_sms import HttpSmsSender

        sms = HttpSmsSender(settings.sms_url, settings.sms_access_key, settings.sms_secret, settings.sms_sign_name)
    else:
        sms = ConsoleSmsSender()
    return OutboxRelay(SqlAlchemyOutboxStore(engine), email, sms, clock,
                       log=lambda event, **kw: log.info(event, **kw), deliverers=deliverers)


def main_worker(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dealercrm worker", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Deliver queued notifications (e-mail over SMTP, SMS over the HTTP gateway) and run the alert "
                    "scheduler. Several workers may run at once.",
        epilog="examples:\n  dealercrm worker\n  dealercrm worker --once          # everything due, then exit (cron)\n"
               "  dealercrm worker --demo --once   # console senders: messages are only logged")
    parser.add_argument("--once", action="store_true", help="deliver everything due, then exit")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between passes when idle")
    parser.add_argument("--no-scheduler", action="store_true", help="deliver notifications only")
    parser.add_argument("--demo", action="store_true",
                        help="run without secrets and delivery settings (unset senders only log)")
    args = parser.parse_args(list(argv or []))
    settings = load_settings()
    problems = secret_problems(settings) + delivery_problems(settings)
    if problems and not args.demo:
        return refuse(problems, KEYS_HINT + " Set DEALERCRM_SMTP_* and DEALERCRM_SMS_* for delivery.")
    configure_logging(settings.log_level, settings.log_json)
    from dealercrm.bootstrap import bootstrap

    container = bootstrap(settings)
    relay = build_relay(settings, container.engine, container.clock, container.outbox_deliverers())
    if args.once:
        from dealercrm.application.outbox import default_worker_id

        if not args.no_scheduler:
            log.info("scheduler_pass_done", **attrs.asdict(container.engagement.run_scheduler_once()))
        stats = relay.drain(default_worker_id())
        log.info("worker_pass_done", **attrs.asdict(stats))  # JSON fields, not a repr string
        container.close()
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("worker_started")
    scheduler_thread = None
    if not args.no_scheduler:
        scheduler = container.engagement.scheduler(log=lambda event, **kw: log.info(event, **kw))
        scheduler_thread = threading.Thread(
            target=scheduler.run, args=(stop, container.clock, settings.scheduler_interval_seconds),
            name="alert-scheduler", daemon=True)
        scheduler_thread.start()
    relay.run(stop, poll_interval=args.poll)
    if scheduler_thread is not None:
        scheduler_thread.join(timeout=30)
    log.info("worker_stopped")
    container.close()
    return 0
