"""Read side of the approval workflow: task lists, details, the workflow report (Core, no ORM).

Row-level scope is applied in SQL with the same rule as ``application.workflow.workflow_visible``:
a dealer user sees its own dealer's workflows, regional staff their regions' (and those without
a region), station users and devices none. "Who is addressed" mirrors
``domain.workflow.WorkflowStep.addressed_to`` — a running step delegation wins over the
addressing — and standing delegations (工作任务委托) in force today add the delegators' tasks.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    cast,
    extract,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from dealercrm.adapters.db.engine import read_bind
from dealercrm.adapters.db.orm import users
from dealercrm.adapters.db.workflow_tables import workflow_delegations, workflow_history, workflow_steps, workflows
from dealercrm.application.access import dealer_scope
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.workflow import (
    HISTORY_LABELS,
    REGION_STAFF,
    Assignee,
    AssigneeKind,
    StepStatus,
    WorkflowStatus,
    beijing_date,
)

W, S = workflows, workflow_steps

_TASK_COLUMNS = (
    S.c.id.label("step_id"), S.c.workflow_id, S.c.stage_no, S.c.stage_name, S.c.key.label("step_key"),
    S.c.name.label("step_name"), S.c.assignee_kind, S.c.assignee_value, S.c.opened_at, S.c.due_at,
    S.c.delegate_user_id, S.c.delegated_until, W.c.number.label("workflow_no"), W.c.definition_code,
    W.c.definition_name, W.c.subject_type, W.c.subject_id, W.c.subject_no, W.c.title, W.c.dealer_id, W.c.region,
    W.c.submitted_by_name, W.c.started_at, W.c.current_stage, W.c.stage_count,
)


def scope_clause(p: Principal) -> ColumnElement[bool]:
    scope = dealer_scope(p)
    if scope.nothing:
        return false()
    if scope.dealer_id is not None:
        return W.c.dealer_id == scope.dealer_id
    if scope.regions is not None:
        return or_(W.c.region.is_(None), W.c.region.in_(scope.regions))
    return true()


def _delegation_running(now: Any) -> ColumnElement[bool]:  # a datetime or a bind parameter
    return and_(S.c.delegate_user_id.is_not(None), or_(S.c.delegated_until.is_(None), S.c.delegated_until > now))


def addressed_clause(x: Principal, now: Any) -> ColumnElement[bool]:
    """SQL twin of ``WorkflowStep.addressed_to(x, now)`` (``now``: a datetime or a bind parameter)."""
    if x.is_device:
        return false()
    direct: list[ColumnElement[bool]] = [and_(S.c.assignee_kind == AssigneeKind.ROLE, S.c.assignee_value == x.role.value)]
    if x.department:
        direct.append(and_(S.c.assignee_kind == AssigneeKind.DEPARTMENT, S.c.assignee_value == x.department))
    if x.role in REGION_STAFF and x.regions:
        direct.append(and_(S.c.assignee_kind == AssigneeKind.REGION, S.c.assignee_value.in_(x.regions)))
    if x.user_id is not None:
        direct.append(and_(S.c.assignee_kind == AssigneeKind.USER, S.c.assignee_value == str(x.user_id)))
    running = _delegation_running(now)
    mine = S.c.delegate_user_id == x.user_id if x.user_id is not None else false()
    return or_(and_(not_(running), or_(*direct)), and_(running, mine))


def task_filter(p: Principal, delegators: tuple[Principal, ...], now: Any) -> ColumnElement[bool]:
    """Open steps of running workflows in ``p``'s scope that ``p`` or one of ``delegators`` may act on
    at ``now`` (a datetime or a bind parameter)."""
    return and_(
        S.c.status == StepStatus.OPEN, W.c.status == WorkflowStatus.RUNNING, scope_clause(p),
        or_(*(addressed_clause(x, now) for x in (p, *delegators))),
    )


# The workbench's task statements are built once per (principal, delegators) and reused, their
# times as bind parameters: building a Core statement and its cache key costs more than running it.
@functools.lru_cache(maxsize=1024)
def _tasks_page_query(p: Principal, delegators: tuple[Principal, ...], limit: int) -> Any:
    return (select(*_TASK_COLUMNS, func.count().over().label("_total")).join(W, W.c.id == S.c.workflow_id)
            .where(task_filter(p, delegators, bindparam("now"))).order_by(S.c.id).limit(limit))


@functools.lru_cache(maxsize=1024)
def _tasks_dated_query(p: Principal, delegators: tuple[Principal, ...], limit: int) -> Any:
    """The page's first ``limit`` steps (by step id, with their count) and the steps due in
    [due_from, due_until) (the caller keeps as many as it needs), from one scan."""
    ranked = (select(*_TASK_COLUMNS, func.count().over().label("_total"),
                     func.row_number().over(order_by=S.c.id).label("_rank"))
              .join(W, W.c.id == S.c.workflow_id)
              .where(task_filter(p, delegators, bindparam("now")))).subquery("ranked")
    return (select(ranked)
            .where(or_(ranked.c._rank <= limit,
                       and_(ranked.c.due_at >= bindparam("due_from"), ranked.c.due_at < bindparam("due_until"))))
            .order_by(ranked.c._rank))


_D = workflow_delegations
_DELEGATORS = (
    select(users.c.id, users.c.username, users.c.role, users.c.dealer_id, users.c.station_id,
           users.c.regions, users.c.department)
    .join(_D, _D.c.from_user_id == users.c.id)
    .where(_D.c.to_user_id == bindparam("to_user_id"), _D.c.cancelled_at.is_(None),
           _D.c.starts_on <= bindparam("today"), or_(_D.c.ends_on.is_(None), _D.c.ends_on >= bindparam("today")),
           users.c.is_active.is_(True))
    .order_by(users.c.id)
)


def _epoch(col: Any) -> Any:
    return extract("epoch", col)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


class SqlWorkflowQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = read_bind(engine)  # the task lists: their statements need no transaction around them

    # -- tasks -------------------------------------------------------------------------------

    def delegators_of(self, conn: Connection, p: Principal, now: dt.datetime) -> list[Principal]:
        """Users whose tasks ``p`` covers today through a standing delegation."""
        if p.user_id is None:
            return []
        return [
            Principal(user_id=r.id, username=r.username, role=Role(_plain(r.role)), dealer_id=r.dealer_id,
                      station_id=r.station_id, regions=tuple(r.regions or ()), department=r.department)
            for r in conn.execute(_DELEGATORS, {"to_user_id": p.user_id, "today": beijing_date(now)})
        ]

    def _task_filter(self, p: Principal, delegators: list[Principal], now: dt.datetime) -> ColumnElement[bool]:
        return task_filter(p, tuple(delegators), now)

    def pending_tasks_for(self, principal: Principal, *, now: dt.datetime, limit: int = 50,
                          after_step_id: int | None = None,
                          due_between: tuple[dt.datetime, dt.datetime] | None = None) -> list[dict[str, Any]]:
        """The open steps ``principal`` may act on (oldest first), each saying why: addressed
        directly, handed over (转签), or covering for someone (``on_behalf_of``); with
        ``due_between``, only those due in [from, until)."""
        with self.reads.connect() as conn:
            delegators = self.delegators_of(conn, principal, now)
            q = (select(*_TASK_COLUMNS).join(W, W.c.id == S.c.workflow_id)
                 .where(self._task_filter(principal, delegators, now)).order_by(S.c.id).limit(limit))
            if after_step_id is not None:
                q = q.where(S.c.id > after_step_id)
            if due_between is not None:
                q = q.where(S.c.due_at >= due_between[0], S.c.due_at < due_between[1])
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return self._explained(rows, principal, delegators, now)

    def pending_tasks_page(self, principal: Principal, *, now: dt.datetime,
                           limit: int) -> tuple[int, list[dict[str, Any]]]:
        """(how many open steps ``principal`` may act on, the first ``limit`` of them as
        ``pending_tasks_for`` gives them) from one windowed statement."""
        with self.reads.connect() as conn:
            delegators = self.delegators_of(conn, principal, now)
            if limit <= 0:
                q = (select(func.count()).select_from(S.join(W, W.c.id == S.c.workflow_id))
                     .where(self._task_filter(principal, delegators, now)))
                return int(conn.execute(q).scalar() or 0), []
            rows = [dict(r._mapping) for r in conn.execute(_tasks_page_query(principal, tuple(delegators), limit),
                                                           {"now": now})]
        total = rows[0].pop("_total") if rows else 0
        for row in rows[1:]:
            del row["_total"]
        return int(total), self._explained(rows, principal, delegators, now)

    def pending_tasks_page_and_due(
        self, principal: Principal, *, now: dt.datetime, limit: int,
        due_between: tuple[dt.datetime, dt.datetime], due_limit: int,
    ) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """``pending_tasks_page`` and the first ``due_limit`` of the same steps due in ``due_between``
        (``pending_tasks_for`` with ``due_between``): the delegations read once, then one statement that
        numbers the steps in both orders and keeps those either view needs."""
        if limit <= 0:
            return (self.pending_tasks_page(principal, now=now, limit=0)[0], [],
                    self.pending_tasks_for(principal, now=now, limit=due_limit, due_between=due_between))
        with self.reads.connect() as conn:
            delegators = self.delegators_of(conn, principal, now)
            q = _tasks_dated_query(principal, tuple(delegators), limit)
            rows = [dict(r._mapping) for r in conn.execute(
                q, {"now": now, "due_from": due_between[0], "due_until": due_between[1]})]
        total = int(rows[0]["_total"]) if rows else 0
        page: list[dict[str, Any]] = []
        due: list[dict[str, Any]] = []
        due_from, due_until = due_between
        for row in self._explained(rows, principal, delegators, now):
            rank = row.pop("_rank")
            del row["_total"]
            if rank <= limit:
                page.append(row)
            if row["due_at"] is not None and due_from <= row["due_at"] < due_until and len(due) < due_limit:
                due.append(row)
        return total, page, due

    @staticmethod
    def _explained(rows: list[dict[str, Any]], principal: Principal, delegators: list[Principal],
                   now: dt.datetime) -> list[dict[str, Any]]:
        for row in rows:
            row["assignee_kind"] = _plain(row["assignee_kind"])
            running = row["delegate_user_id"] is not None and (row["delegated_until"] is None
                                                                or now < row["delegated_until"])
            assignee = Assignee(row["assignee_kind"], row["assignee_value"])
            row["assignee_label"] = assignee.label

            def holds(x: Principal) -> bool:
                return x.user_id == row["delegate_user_id"] if running else assignee.addresses(x)  # noqa: B023

            row["via"] = "delegated" if running else "addressed"
            row["on_behalf_of"] = None
            if not holds(principal):
                cover = next((d for d in delegators if holds(d)), None)
                row["via"], row["on_behalf_of"] = "standing_delegation", cover.username if cover else None
            row["overdue"] = row["due_at"] is not None and now > row["due_at"]
            row["age_seconds"] = int((now - row["opened_at"]).total_seconds()) if row["opened_at"] else 0
        return rows

    def count_pending_tasks_for(self, principal: Principal, *, now: dt.datetime) -> int:
        return self.pending_tasks_page(principal, now=now, limit=0)[0]

    # -- documents ---------------------------------------------------------------------------

    def workflow_detail(self, workflow_id: int) -> dict[str, Any] | None:
        delegate = users.alias("delegate")
        with self.engine.connect() as conn:
            row = conn.execute(select(W).where(W.c.id == workflow_id)).first()
            if row is None:
                return None
            d = dict(row._mapping)
            d["steps"] = []
            for r in conn.execute(
                select(S, delegate.c.display_name.label("delegate_name"))
                .outerjoin(delegate, delegate.c.id == S.c.delegate_user_id)
                .where(S.c.workflow_id == workflow_id).order_by(S.c.stage_no, S.c.id)
            ):
                step = dict(r._mapping)
                step["assignee_label"] = Assignee(_plain(step["assignee_kind"]), step["assignee_value"]).label
                d["steps"].append(step)
            d["history"] = []
            for r in conn.execute(select(workflow_history).where(workflow_history.c.workflow_id == workflow_id)
                                  .order_by(workflow_history.c.id)):
                entry = dict(r._mapping)
                entry["label"] = HISTORY_LABELS.get(entry["action"], entry["action"])
                d["history"].append(entry)
        return d

    def workflows_of_subject(self, principal: Principal, subject_type: str, subject_id: int) -> list[dict[str, Any]]:
        q = (select(W).where(W.c.subject_type == subject_type, W.c.subject_id == subject_id, scope_clause(principal))
             .order_by(W.c.id.desc()).limit(100))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def delegations_of(self, user_id: int, *, now: dt.datetime) -> list[dict[str, Any]]:
        """Standing delegations the user gave or received, newest first, with their state today."""
        D = workflow_delegations  # noqa: N806
        giver, taker = users.alias("giver"), users.alias("taker")
        q = (
            select(D, giver.c.display_name.label("from_name"), taker.c.display_name.label("to_name"))
            .join(giver, giver.c.id == D.c.from_user_id).join(taker, taker.c.id == D.c.to_user_id)
            .where(or_(D.c.from_user_id == user_id, D.c.to_user_id == user_id)).order_by(D.c.id.desc()).limit(200)
        )
        today = beijing_date(now)
        out = []
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                row = dict(r._mapping)
                if row["cancelled_at"] is not None:
                    row["state"] = "cancelled"
                elif row["ends_on"] is not None and row["ends_on"] < today:
                    row["state"] = "ended"
                elif row["starts_on"] > today:
                    row["state"] = "scheduled"
                else:
                    row["state"] = "active"
                row["direction"] = "given" if row["from_user_id"] == user_id else "received"
                out.append(row)
        return out

    def delegation_candidates(self, user_id: int, *, dealer_id: int | None) -> list[dict[str, Any]]:
        """Active colleagues who may take over ``user_id``'s tasks (the rule of
        ``application.workflow._may_cover_for``): factory staff, and the dealer's own users."""
        staff = users.c.role.not_in((Role.DEALER, Role.STATION, Role.KIOSK))
        same_dealer = and_(users.c.role == Role.DEALER, users.c.dealer_id == dealer_id) if dealer_id else false()
        q = (select(users.c.id, users.c.username, users.c.display_name, users.c.role, users.c.dealer_id,
                    users.c.station_id, users.c.regions)
             .where(users.c.is_active == true(), users.c.id != user_id, or_(staff, same_dealer))
             .order_by(users.c.role, users.c.display_name, users.c.id).limit(500))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- report (工作流报表) --------------------------------------------------------------------

    def report(self, principal: Principal, *, now: dt.datetime, subject_type: str | None = None,
               oldest: int = 20) -> dict[str, Any]:
        """Open steps per addressee (role / department / region / user) and per person holding
        them (named user or delegate): count, overdue, oldest and average age; plus the oldest
        open steps, to chase lagging approvals."""
        base = and_(S.c.status == StepStatus.OPEN, W.c.status == WorkflowStatus.RUNNING, scope_clause(principal))
        if subject_type:
            base = and_(base, W.c.subject_type == subject_type)
        joined = S.join(W, W.c.id == S.c.workflow_id)
        overdue = func.sum(case((S.c.due_at < now, 1), else_=0))
        now_epoch = now.timestamp()
        by_addressee_q = (
            select(S.c.assignee_kind, S.c.assignee_value, func.count().label("open_steps"),
                   overdue.label("overdue"), func.min(S.c.opened_at).label("oldest_opened_at"),
                   func.avg(_epoch(S.c.opened_at)).label("avg_opened_epoch"))
            .select_from(joined).where(base)
            .group_by(S.c.assignee_kind, S.c.assignee_value)
            .order_by(func.count().desc(), S.c.assignee_kind, S.c.assignee_value)
        )
        running = _delegation_running(now)
        holder = case(
            (running, S.c.delegate_user_id),
            (S.c.assignee_kind == AssigneeKind.USER, cast(S.c.assignee_value, Integer)),
            else_=None,
        ).label("user_id")
        per_user = (select(holder, S.c.opened_at, S.c.due_at).select_from(joined).where(base)).subquery()
        by_user_q = (
            select(per_user.c.user_id, users.c.username, users.c.display_name, func.count().label("open_steps"),
                   func.sum(case((per_user.c.due_at < now, 1), else_=0)).label("overdue"),
                   func.min(per_user.c.opened_at).label("oldest_opened_at"),
                   func.avg(_epoch(per_user.c.opened_at)).label("avg_opened_epoch"))
            .select_from(per_user.join(users, users.c.id == per_user.c.user_id))
            .group_by(per_user.c.user_id, users.c.username, users.c.display_name)
            .order_by(func.count().desc(), per_user.c.user_id)
        )
        oldest_q = (select(*_TASK_COLUMNS).select_from(joined).where(base)
                    .order_by(S.c.opened_at, S.c.id).limit(oldest))
        totals_q = select(func.count().label("open_steps"), overdue.label("overdue"),
                          func.count(func.distinct(W.c.id)).label("running_workflows")).select_from(joined).where(base)

        def ages(row: dict[str, Any]) -> dict[str, Any]:
            avg = row.pop("avg_opened_epoch")
            row["overdue"] = int(row["overdue"] or 0)
            row["oldest_age_seconds"] = int(now_epoch - row["oldest_opened_at"].timestamp()) \
                if row["oldest_opened_at"] else 0
            row["average_age_seconds"] = int(now_epoch - float(avg)) if avg is not None else 0
            return row

        with self.engine.connect() as conn:
            by_addressee = []
            for r in conn.execute(by_addressee_q):
                row = ages(dict(r._mapping))
                row["assignee_kind"] = _plain(row["assignee_kind"])
                row["assignee_label"] = Assignee(row["assignee_kind"], row["assignee_value"]).label
                by_addressee.append(row)
            by_user = [ages(dict(r._mapping)) for r in conn.execute(by_user_q)]
            oldest_rows = []
            for r in conn.execute(oldest_q):
                row = dict(r._mapping)
                row["assignee_kind"] = _plain(row["assignee_kind"])
                row["assignee_label"] = Assignee(row["assignee_kind"], row["assignee_value"]).label
                row["age_seconds"] = int((now - row["opened_at"]).total_seconds()) if row["opened_at"] else 0
                row["overdue"] = row["due_at"] is not None and now > row["due_at"]
                oldest_rows.append(row)
            totals = dict(conn.execute(totals_q).one()._mapping)
        totals["overdue"] = int(totals["overdue"] or 0)
        return {"as_of": now, "totals": totals, "by_addressee": by_addressee, "by_user": by_user,
                "oldest": oldest_rows}
