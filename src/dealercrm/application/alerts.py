"""Alerts: pluggable rules, the scheduler that runs them, and event-driven raise/resolve.

Rules
    An :class:`AlertRule` has a ``code`` and ``evaluate(ctx)`` yielding the :class:`Condition`s
    true at ``ctx.now`` (read through ``ctx.uow``). Each context lists its rules in the table
    the composition root builds (``bootstrap._engagement_tables``)::

        RuleRegistry(rules=(DeliveryDateRule(days_ahead=7), ...), jobs=(...))

    A rule may set ``notify = (Channel.EMAIL, Channel.SMS)`` to have each newly raised alert
    sent to the users of its audience through the outbox, and a condition may carry
    ``messages`` (any template, any recipient) sent once when its alert is raised.

Scheduler
    :meth:`Scheduler.run_once` runs every rule in its own transaction: a condition without an
    alert raises one (unique by rule + key in the database — two schedulers at once still raise
    it once, and its messages are enqueued in that same transaction, so once too); a live alert
    whose condition is no longer yielded resolves itself; a live alert whose condition changed
    wording or due date follows it. Then every :class:`ScheduledJob` runs (birthday greetings).
    ``dealercrm worker`` calls it every ``scheduler_interval_seconds``; tests call it with any
    ``now``.

Event-driven
    :func:`raise_alert` / :func:`resolve_alert` inside a use case's own transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterable
from typing import Any, Protocol

import attrs

from dealercrm.application.access import not_found
from dealercrm.application.ports.engagement import EngagementUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.alerts import SHANGHAI, Alert, Condition, beijing_date, check_rule_code
from dealercrm.domain.errors import InvalidValue, InvariantBroken, PermissionDenied
from dealercrm.domain.identity import Principal
from dealercrm.domain.notifications import Channel
from dealercrm.domain.values import Phone
from dealercrm.domain.values import as_tuple

EngagementUowFactory = Callable[[Principal], EngagementUnitOfWork]


class EventLog(Protocol):
    def __call__(self, event: str, **fields: Any) -> Any: ...


def _no_log(event: str, **fields: Any) -> None:
    return None


@attrs.frozen
class RuleContext:
    """What a rule or job sees: the moment, and an open unit of work (system actor)."""

    now: dt.datetime
    _uow: EngagementUnitOfWork | None = attrs.field(alias="uow")

    @property
    def uow(self) -> EngagementUnitOfWork:
        """The open unit of work; a job that opens its own units of work gets none."""
        if self._uow is None:
            raise InvariantBroken("this job opens its own units of work: its context holds none")
        return self._uow

    @property
    def today(self) -> dt.date:
        """The date in Beijing — the day users live in."""
        return beijing_date(self.now)


class AlertRule(Protocol):
    """Yields the conditions true at ``ctx.now``. Optional attribute ``notify``: channels to
    send each newly raised alert on to its audience (default: none)."""

    code: str

    def evaluate(self, ctx: RuleContext) -> Iterable[Condition]: ...


class ScheduledJob(Protocol):
    """Something the scheduler does every pass that is not an alert (greetings, digests). Must be
    idempotent: it runs every interval and possibly in two workers at once (use outbox
    idempotency keys). Returns how many things it handled.

    A job that runs its own transactions (one per dealer, say) sets ``opens_own_units_of_work =
    True`` and gets a context without a unit of work: holding one open around it would block its
    own writes (SQLite writers queue on one lock per process)."""

    code: str

    def run(self, ctx: RuleContext) -> int: ...


@attrs.frozen(eq=False)
class RuleRegistry:
    """The alert rules and scheduled jobs the scheduler runs, fixed when the composition root
    builds it (each context's entries in one table); codes are unique among rules and among jobs."""

    rules: tuple[AlertRule, ...] = attrs.field(default=(), converter=as_tuple)
    jobs: tuple[ScheduledJob, ...] = attrs.field(default=(), converter=as_tuple)

    def __attrs_post_init__(self) -> None:
        _check_codes("alert rule", [r.code for r in self.rules])
        _check_codes("scheduled job", [j.code for j in self.jobs])

    def extended(self, *, rules: Iterable[AlertRule] = (), jobs: Iterable[ScheduledJob] = ()) -> RuleRegistry:
        """A new registry with these rules and jobs after the present ones (duplicates refused)."""
        return RuleRegistry(self.rules + tuple(rules), self.jobs + tuple(jobs))

    def __contains__(self, code: object) -> bool:
        return any(r.code == code for r in self.rules)

    def get(self, code: str) -> AlertRule:
        for rule in self.rules:
            if rule.code == code:
                return rule
        raise KeyError(code)


def _check_codes(kind: str, codes: list[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        check_rule_code(code)
        if code in seen:
            raise ValueError(f"{kind} {code!r} is already registered")
        seen.add(code)


# ---------------------------------------------------------------------------------------------
# Raising and resolving (inside an open unit of work; never commits)


def _deliver(uow: EngagementUnitOfWork, alert: Alert, condition: Condition, notify: Collection[Channel],
             now: dt.datetime, portal_url: str, log: EventLog) -> int:
    """Enqueue the alert's messages; a bad recipient skips that message, not the alert."""
    if alert.id is None:
        raise InvariantBroken("alert has no id: not flushed")
    queued = 0
    outgoing: list[tuple[str, dict[str, object], str, str]] = [
        (m.template_code, dict(m.variables), m.recipient, f"alert-{alert.id}-m{i}")
        for i, m in enumerate(condition.messages)
    ]
    if notify:
        details = condition.body or condition.title
        raised = now.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")
        for member in uow.engagement.audience_members(condition.audience):
            if Channel.EMAIL in notify and member.email:
                outgoing.append(("alert.raised", {
                    "recipient_name": member.display_name, "severity": condition.severity.label,
                    "title": condition.title, "details": details, "raised_at": raised, "portal_url": portal_url,
                }, member.email, f"alert-{alert.id}-email-u{member.user_id}"))
            if Channel.SMS in notify and member.phone and _is_mobile(member.phone):
                outgoing.append(("alert.raised_sms", {"recipient_name": member.display_name,
                                                      "title": condition.title},
                                 member.phone, f"alert-{alert.id}-sms-u{member.user_id}"))
    for template, variables, recipient, key in outgoing:
        try:
            uow.outbox.enqueue(template, variables, recipient, key)
            queued += 1
        except InvalidValue as exc:  # checked before anything is written
            log("alert_message_skipped", alert_id=alert.id, template=template, code=exc.code, error=exc.message)
    return queued


def _is_mobile(phone: str) -> bool:
    try:
        return Phone(phone).is_mobile
    except InvalidValue:
        return False


def raise_alert(uow: EngagementUnitOfWork, rule: str, condition: Condition, *, now: dt.datetime,
                notify: Collection[Channel] = (), portal_url: str = "http://127.0.0.1:8000",
                log: EventLog = _no_log) -> int | None:
    """Raise the alert for (``rule``, ``condition.key``) within the caller's open transaction.

    Returns the new alert's id, or ``None`` if that alert already exists (in any state: the same
    condition never alerts twice; a live one takes the condition's current wording). Messages
    (``condition.messages`` and, per ``notify``, the audience) are enqueued in the same
    transaction. Does not commit.
    """
    check_rule_code(rule)
    existing = uow.alerts.by_key(rule, condition.key)
    if existing is not None:
        existing.refresh(condition)
        return None
    alert = Alert.raise_for(rule, condition, now)
    if not uow.alerts.add_once(alert):
        return None
    _deliver(uow, alert, condition, notify, now, portal_url, log)
    return alert.id


def resolve_alert(uow: EngagementUnitOfWork, rule: str, key: str, *, now: dt.datetime,
                  by: Principal | None = None) -> bool:
    """Resolve the live alert for (``rule``, ``key``) within the caller's open transaction.
    True if it was live; False if there is none or it was already resolved. Does not commit."""
    alert = uow.alerts.by_key(rule, key)
    if alert is None or not alert.is_live:
        return False
    alert.resolve(now, by)
    return True


# ---------------------------------------------------------------------------------------------
# People acting on alerts


def acknowledge_alert(alert_id: int, uow: EngagementUnitOfWork, clock: Clock) -> str:
    """Anyone in the alert's audience may acknowledge it; others get 404 (it does not exist for
    them). Acknowledging twice is 409 with the current state."""
    if uow.actor.is_device or uow.actor.user_id is None:
        raise PermissionDenied("设备凭证不能处理提醒", code="auth.forbidden")
    with uow:
        alert = uow.alerts.get(alert_id)
        if alert is None or not alert.visible_to(uow.actor):
            raise not_found("alert", "提醒")
        alert.acknowledge(uow.actor, clock())
        state = alert.state.value
        uow.commit()
    return state


def resolve_alert_by(alert_id: int, uow: EngagementUnitOfWork, clock: Clock) -> str:
    """Someone in the alert's audience dealt with it (解除): open or acknowledged → resolved.
    Others get 404; resolving a resolved alert is 409 with the current state."""
    if uow.actor.is_device or uow.actor.user_id is None:
        raise PermissionDenied("设备凭证不能处理提醒", code="auth.forbidden")
    with uow:
        alert = uow.alerts.get(alert_id)
        if alert is None or not alert.visible_to(uow.actor):
            raise not_found("alert", "提醒")
        alert.resolve(clock(), uow.actor)
        state = alert.state.value
        uow.commit()
    return state


# ---------------------------------------------------------------------------------------------
# The scheduler


@attrs.define
class SchedulerStats:
    raised: int = 0
    resolved: int = 0
    refreshed: int = 0
    messages: int = 0
    jobs: int = 0
    errors: int = 0


class Scheduler:
    """Runs the registered rules and jobs. Safe in several workers at once (see module doc)."""

    def __init__(self, uow_factory: EngagementUowFactory, registry: RuleRegistry, *,
                 portal_url: str = "http://127.0.0.1:8000", log: EventLog = _no_log) -> None:
        self._uow = uow_factory
        self._registry = registry
        self._portal_url = portal_url
        self._log = log

    def run_once(self, now: dt.datetime) -> SchedulerStats:
        """One pass at ``now`` (aware). A failing rule or job is logged and skipped; the others
        still run, and it is tried again next pass."""
        if now.tzinfo is None:
            raise ValueError("naive datetime refused; use an aware datetime")
        stats = SchedulerStats()
        for rule in self._registry.rules:
            try:
                self._run_rule(rule, now, stats)
            except Exception as exc:  # one broken rule must not stop the others
                stats.errors += 1
                self._log("alert_rule_failed", rule=rule.code, error=f"{type(exc).__name__}: {exc}")
        for job in self._registry.jobs:
            try:
                if getattr(job, "opens_own_units_of_work", False):
                    stats.jobs += job.run(RuleContext(now, None))
                else:
                    with self._uow(Principal.system()) as uow:
                        stats.jobs += job.run(RuleContext(now, uow))
                        uow.commit()
            except Exception as exc:
                stats.errors += 1
                self._log("scheduled_job_failed", job=job.code, error=f"{type(exc).__name__}: {exc}")
        return stats

    def _run_rule(self, rule: AlertRule, now: dt.datetime, stats: SchedulerStats) -> None:
        notify = tuple(getattr(rule, "notify", ()) or ())
        with self._uow(Principal.system()) as uow:
            # Lock the live alerts first: a second scheduler waits here instead of resolving
            # or refreshing the same rows from a stale reading.
            live = {a.key: a for a in uow.alerts.live_for_rule(rule.code)}
            conditions: dict[str, Condition] = {}
            for c in rule.evaluate(RuleContext(now, uow)):
                conditions.setdefault(c.key, c)
            raised = resolved = refreshed = messages = 0
            for key in sorted(conditions):  # one order everywhere: concurrent inserts never deadlock
                c = conditions[key]
                if key in live:
                    refreshed += live[key].refresh(c)
                    continue
                if uow.alerts.by_key(rule.code, key) is not None:
                    continue  # raised before and resolved since: never twice
                alert = Alert.raise_for(rule.code, c, now)
                if uow.alerts.add_once(alert):
                    raised += 1
                    messages += _deliver(uow, alert, c, notify, now, self._portal_url, self._log)
            for key, alert in live.items():
                if key not in conditions:
                    alert.resolve(now)
                    resolved += 1
            uow.commit()
        stats.raised += raised
        stats.resolved += resolved
        stats.refreshed += refreshed
        stats.messages += messages
        if raised or resolved:
            self._log("alert_rule_ran", rule=rule.code, raised=raised, resolved=resolved, messages=messages)

    def run(self, stop_event: threading.Event, clock: Clock, interval: float = 300.0, *,
            max_error_wait: float = 300.0) -> None:
        """Pass every ``interval`` seconds until ``stop_event`` is set."""
        self._log("scheduler_started", interval=interval)
        while not stop_event.is_set():
            try:
                stats = self.run_once(clock())
                if stats.errors:
                    self._log("scheduler_pass_with_errors", errors=stats.errors)
            except Exception as exc:  # the database may be down: wait and try again
                self._log("scheduler_error", error=f"{type(exc).__name__}: {exc}")
                stop_event.wait(min(max_error_wait, interval))
                continue
            stop_event.wait(interval)
        self._log("scheduler_stopped")
