"""Figures for the operators' /metrics, read at scrape time: when the ERP sync last moved its
cursor, and since when the oldest open approval step has waited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from dealercrm.adapters.db.orderflow_tables import erp_sync_cursors
from dealercrm.adapters.db.workflow_tables import workflow_steps
from dealercrm.domain.workflow import StepStatus


def operations_times(engine: Engine) -> dict[str, dt.datetime | None]:
    with engine.connect() as conn:
        erp = conn.execute(select(func.max(erp_sync_cursors.c.updated_at))).scalar()
        oldest = conn.execute(select(func.min(workflow_steps.c.opened_at))
                              .where(workflow_steps.c.status == StepStatus.OPEN)).scalar()
    return {"erp_cursor_moved_at": _aware(erp), "oldest_open_step_at": _aware(oldest)}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC through func.max
