"""The gate's scheduled work runs in the worker's scheduler: overdue receipts remind the dealer
once, and the kiosk idempotency ledger forgets answers older than the replay window."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from dealercrm.adapters.db.gate_tables import kiosk_events
from dealercrm.adapters.notify.sql_outbox import notification_outbox as outbox_table
from dealercrm.application.gate_jobs import purge_client_events
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import SHANGHAI, beijing_date

from .test_shipping_over_http import _shipment_body


def _count(world, table, *where) -> int:  # type: ignore[no-untyped-def]
    with world.crm.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_the_worker_reminds_overdue_receipts_once(world):
    c, dispatch = world.client, world.login("dispatch")
    sid = c.post("/api/v1/shipments/", headers=dispatch, json=_shipment_body(world, [world.vin(1)])).json()["id"]
    c.post(f"/api/v1/shipments/{sid}/depart", headers=dispatch)
    reminders = outbox_table.c.template_code == "shipment.receipt_reminder"

    world.crm.engagement.run_scheduler_once(world.clock())
    before_due = _count(world, outbox_table, reminders)
    world.clock.advance(days=6)
    world.crm.engagement.run_scheduler_once(world.clock())
    world.crm.engagement.run_scheduler_once(world.clock())

    assert before_due == 0
    assert _count(world, outbox_table, reminders) == 1
    assert c.get(f"/api/v1/shipments/{sid}", headers=dispatch).json()["receipt_reminded_at"] is not None


def test_kiosk_answers_older_than_the_window_are_forgotten_in_batches(world):
    now = world.clock()
    with world.crm.uow(Principal.system()) as uow:
        for n in range(25):
            uow.client_events.add("device:1", f"old-{n}", "lookup", "f" * 64, "ok", {"passes": []},
                                  now - dt.timedelta(days=100))
        for n in range(3):
            uow.client_events.add("device:1", f"new-{n}", "lookup", "f" * 64, "ok", {"passes": []},
                                  now - dt.timedelta(days=10))
        uow.commit()

    removed = purge_client_events(world.crm.uow, now - dt.timedelta(days=90), batch=10)

    assert removed == 25
    assert _count(world, kiosk_events) == 3
    assert _count(world, kiosk_events, kiosk_events.c.event_id.like("new-%")) == 3


def test_the_retention_job_runs_once_a_day_in_the_scheduler(world):
    # 10:00 Beijing time today: "an hour later" must stay on the same Beijing day whatever the
    # hour the suite runs at (from 23:00 Beijing, now + 1 h used to be tomorrow)
    now = dt.datetime.combine(beijing_date(world.clock()), dt.time(10), SHANGHAI)
    with world.crm.uow(Principal.system()) as uow:
        uow.client_events.add("device:1", "ancient", "verify", "f" * 64, "ok", {}, now - dt.timedelta(days=91))
        uow.commit()

    world.crm.engagement.run_scheduler_once(now)
    with world.crm.uow(Principal.system()) as uow:  # recorded after today's run: kept until tomorrow's
        uow.client_events.add("device:1", "stale", "verify", "f" * 64, "ok", {}, now - dt.timedelta(days=95))
        uow.commit()
    world.crm.engagement.run_scheduler_once(now + dt.timedelta(hours=1))
    after_same_day = _count(world, kiosk_events)
    world.crm.engagement.run_scheduler_once(now + dt.timedelta(days=1))

    assert after_same_day == 1
    assert _count(world, kiosk_events) == 0
