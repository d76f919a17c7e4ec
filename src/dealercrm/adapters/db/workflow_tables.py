"""Tables of the approval workflow and the imperative mapping of its aggregates.

``workflows`` (one per review of a document) own ``workflow_steps`` and ``workflow_history`` (an
append-only log like an order's timeline: a flush inserts the lines a move added in one statement,
and a loaded workflow does not read its history — the queries do);
``workflow_delegations`` are standing delegations; ``workflow_link_nonces`` remembers used e-mail
links so each works once. A partial unique index keeps one *running* workflow per document.

The audit trail files workflow and step changes under the reviewed document (root entity =
the subject type, root id = the subject id), so a dealer's history shows its review steps.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, Table, event, text
from sqlalchemy.orm import Session, relationship

from dealercrm.adapters.db.base import AppendOnlyLog, IdType, mapper_registry, metadata
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.workflow import (
    AssigneeKind,
    StandingDelegation,
    StepStatus,
    Workflow,
    WorkflowHistoryEntry,
    WorkflowStatus,
    WorkflowStep,
)

workflows = Table(
    "workflows",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(24), nullable=False, unique=True),
    Column("definition_code", String(60), nullable=False),
    Column("definition_name", String(100), nullable=False),
    Column("subject_type", String(40), nullable=False),
    Column("subject_id", IdType, nullable=False),
    Column("subject_no", String(60), nullable=False),
    Column("title", String(200), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), index=True),
    Column("region", String(8)),
    Column("submitted_by_id", IdType, ForeignKey("users.id")),
    Column("submitted_by_name", String(60), nullable=False),
    Column("status", StrEnumType(WorkflowStatus, 16), nullable=False),
    Column("current_stage", Integer, nullable=False),
    Column("stage_count", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_workflows_subject", "subject_type", "subject_id"),
    Index("ix_workflows_status_id", "status", "id"),
    Index(
        "uq_workflows_running_subject", "subject_type", "subject_id", unique=True,
        sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'"),
    ),
)

workflow_steps = Table(
    "workflow_steps",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("workflow_id", IdType, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("stage_no", Integer, nullable=False),
    Column("stage_name", String(60), nullable=False),
    Column("key", String(40), nullable=False),
    Column("name", String(60), nullable=False),
    Column("assignee_kind", StrEnumType(AssigneeKind, 16), nullable=False),
    Column("assignee_value", String(60), nullable=False),
    Column("due_in_days", Integer),
    Column("status", StrEnumType(StepStatus, 16), nullable=False),
    Column("opened_at", UtcDateTime),
    Column("due_at", UtcDateTime),
    Column("decided_at", UtcDateTime),
    Column("decided_by_id", IdType),
    Column("decided_by_name", String(60)),
    Column("on_behalf_of_id", IdType),
    Column("reason", String(500)),
    Column("comment", String(500)),
    Column("delegate_user_id", IdType, ForeignKey("users.id")),
    Column("delegated_until", UtcDateTime),
    Column("delegated_by_id", IdType),
    # the task lists: open steps by addressee, and by delegate
    Index("ix_workflow_steps_open_assignee", "status", "assignee_kind", "assignee_value"),
    Index("ix_workflow_steps_delegate", "delegate_user_id", "status"),
)

workflow_history = Table(
    "workflow_history",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("workflow_id", IdType, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor_id", IdType),
    Column("actor_name", String(60), nullable=False),
    Column("step_key", String(40)),
    Column("step_name", String(60)),
    Column("reason", String(500)),
    Column("detail", JSON, nullable=False),
    Index("ix_workflow_history_workflow_id", "workflow_id", "id"),
)

workflow_delegations = Table(
    "workflow_delegations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("from_user_id", IdType, ForeignKey("users.id"), nullable=False, index=True),
    Column("to_user_id", IdType, ForeignKey("users.id"), nullable=False, index=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("note", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime),
)

workflow_link_nonces = Table(
    "workflow_link_nonces",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("step_id", IdType, ForeignKey("workflow_steps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", IdType, nullable=False),
    Column("used_at", UtcDateTime, nullable=False),
)

def _restore_events(target: Any, _context: Any) -> None:
    target.events = []
    target.history = []  # the trail is read by the queries; a loaded workflow only appends


def _history_row(workflow_id: int, h: WorkflowHistoryEntry) -> dict[str, Any]:
    return {"workflow_id": workflow_id, "at": h.at, "action": h.action, "actor_id": h.actor_id,
            "actor_name": h.actor_name[:60], "step_key": h.step_key, "step_name": h.step_name,
            "reason": h.reason, "detail": h.detail}


#: A workflow's history lines, written by every flush (and by ``new_rows.adopt`` for a new workflow).
WORKFLOW_HISTORY = AppendOnlyLog(Workflow, "history", workflow_history, _history_row)
_store_history = WORKFLOW_HISTORY.after_flush


def start_workflow_mappers() -> None:
    """Map the workflow aggregates (once per process); called from ``mapping.start_mappers``."""
    mapper_registry.map_imperatively(
        WorkflowStep, workflow_steps, properties={"workflow_id": workflow_steps.c.workflow_id},
    )
    mapper_registry.map_imperatively(
        Workflow,
        workflows,
        properties={
            "steps": relationship(WorkflowStep, order_by=workflow_steps.c.id, cascade="all, delete-orphan",
                                  lazy="selectin", backref="workflow"),
        },
        version_id_col=workflows.c.version,
    )
    mapper_registry.map_imperatively(StandingDelegation, workflow_delegations)
    event.listen(Workflow, "load", _restore_events)
    if not event.contains(Session, "after_flush", _store_history):
        event.listen(Session, "after_flush", _store_history)

