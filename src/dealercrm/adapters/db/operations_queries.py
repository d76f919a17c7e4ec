"""What the operators look at: for /metrics, when the ERP sync last moved its cursor and since
when the oldest open approval step has waited; for ``dealercrm check``, whether the database
answers and its migrations are current."""

from __future__ import annotations

import datetime as dt

import attrs
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
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


@attrs.frozen
class DatabaseStatus:
    shown: str  # the URL without its password
    error: str | None  # why it does not answer; None when it does
    current: str | None = None  # the migration it is at
    head: str | None = None  # the newest migration script


def database_status(url: str) -> DatabaseStatus:
    from dealercrm.adapters.db import migrate
    from dealercrm.adapters.db.engine import make_engine

    engine = make_engine(url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return DatabaseStatus(shown, None, migrate.current(engine), migrate.head())
    except SQLAlchemyError as exc:
        return DatabaseStatus(shown, f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()
