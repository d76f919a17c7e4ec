"""``dealercrm worker --once`` runs the alert scheduler next to the relay."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dealercrm.adapters.db.engagement_tables import alerts
from dealercrm.domain.alerts import SHANGHAI
from dealercrm.entrypoints.worker import main_worker

from .conftest import World


def test_worker_once_runs_the_scheduler(sqlite_url, monkeypatch):
    today = dt.datetime.now(dt.UTC).astimezone(SHANGHAI).date()
    w = World(sqlite_url, dt.datetime.now(dt.UTC))
    w.user("sales", regions=("华中",))
    w.dealer(birthday=dt.date(1980, today.month, today.day))  # 1980 was a leap year
    w.close()
    monkeypatch.setenv("DEALERCRM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DEALERCRM_LOG_LEVEL", "WARNING")

    assert main_worker(["--once", "--demo"]) == 0  # console senders: no SMTP/SMS here

    w = World(sqlite_url, dt.datetime.now(dt.UTC))
    with w.crm.engine.connect() as conn:
        rules = [r.rule for r in conn.execute(select(alerts.c.rule))]
    w.close()
    assert rules == ["channel.contact_birthday"]
