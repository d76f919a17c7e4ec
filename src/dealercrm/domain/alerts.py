"""Alerts and reminders (seed 000 §1 预警提醒, seed 001 §12 消息提醒).

An :class:`Alert` tells an *audience* that something needs attention: a delivery date is near,
a credit threshold was crossed, a dealer contact has a birthday in three days. Alerts come from
rules evaluated by a scheduler (``application/alerts.py``) or are raised directly by a use case
inside its business transaction. Each alert is unique by ``(rule, key)``: the same condition
never alerts twice. Its life cycle is open → acknowledged → resolved; an open or acknowledged
alert resolves itself when its condition no longer holds.
"""

from __future__ import annotations

import datetime as dt
import enum
import re

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI as SHANGHAI  # re-exported
from dealercrm.domain.values import beijing_date as beijing_date  # re-exported


# Staff whose view of dealers is limited to their regions (see application/access.py).
REGION_SCOPED_ROLES = frozenset({Role.SALES, Role.REGION_MANAGER})
# Roles an audience may name: staff only. Dealer and station users are addressed by their
# dealer / station (never "every dealer user"), devices never.
_AUDIENCE_ROLES = frozenset(r for r in Role if r.is_staff)

_CODE_RE = re.compile(r"^[a-z][a-z0-9_.\-]{1,59}$")
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return {"info": "提示", "warning": "警告", "critical": "严重"}[self.value]

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


class AlertState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        return {"open": "待处理", "acknowledged": "已知悉", "resolved": "已解除"}[self.value]


LIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


# ---------------------------------------------------------------------------------------------
# Audience


@attrs.frozen
class Audience:
    """Who an alert is for: named users, staff roles, dealers (their users), stations (theirs).

    ``region`` narrows the *role* part to region-scoped staff (sales, region managers) whose
    regions include it; staff of those roles without regions see every region, as everywhere
    else. Named users, dealers and stations are not narrowed.
    """

    user_ids: tuple[int, ...] = ()
    roles: tuple[Role, ...] = ()
    dealer_ids: tuple[int, ...] = ()
    station_ids: tuple[int, ...] = ()
    region: str | None = None

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "user_ids", tuple(sorted(set(self.user_ids))))
        object.__setattr__(self, "dealer_ids", tuple(sorted(set(self.dealer_ids))))
        object.__setattr__(self, "station_ids", tuple(sorted(set(self.station_ids))))
        roles = []
        for r in self.roles:
            try:
                role = Role(r)
            except ValueError:
                raise InvalidValue("audience.roles", f"未知的角色：{r}", code="role.unknown") from None
            if role not in _AUDIENCE_ROLES:
                raise InvalidValue("audience.roles", "提醒对象的角色只能是公司内部岗位；经销商、服务站请按单位指定",
                                   code="audience.role_not_staff")
            roles.append(role)
        object.__setattr__(self, "roles", tuple(sorted(set(roles))))
        if self.is_empty:
            raise InvalidValue("audience", "提醒对象不能为空", code="audience.empty")

    @property
    def is_empty(self) -> bool:
        return not (self.user_ids or self.roles or self.dealer_ids or self.station_ids)

    def admits(self, principal: Principal) -> bool:
        if principal.is_device:
            return False
        if principal.user_id is not None and principal.user_id in self.user_ids:
            return True
        if principal.role is Role.DEALER:
            return principal.dealer_id is not None and principal.dealer_id in self.dealer_ids
        if principal.role is Role.STATION:
            return principal.station_id is not None and principal.station_id in self.station_ids
        if principal.role in self.roles:
            if self.region and principal.role in REGION_SCOPED_ROLES and principal.regions:
                return self.region in principal.regions
            return True
        return False

    def entries(self) -> list[tuple[str, str]]:
        """(kind, value) pairs as stored for querying by recipient."""
        return [
            *(("user", str(u)) for u in self.user_ids),
            *(("role", r.value) for r in self.roles),
            *(("dealer", str(d)) for d in self.dealer_ids),
            *(("station", str(s)) for s in self.station_ids),
        ]

    @classmethod
    def from_entries(cls, entries: list[tuple[str, str]], region: str | None) -> Audience:
        parts: dict[str, list[str]] = {"user": [], "role": [], "dealer": [], "station": []}
        for kind, value in entries:
            parts[kind].append(value)
        return cls(
            user_ids=tuple(int(v) for v in parts["user"]),
            roles=tuple(Role(v) for v in parts["role"]),
            dealer_ids=tuple(int(v) for v in parts["dealer"]),
            station_ids=tuple(int(v) for v in parts["station"]),
            region=region,
        )


# ---------------------------------------------------------------------------------------------
# What a rule yields


@attrs.frozen
class OutboundMessage:
    """A notification to send once, through the outbox, when the alert is raised."""

    template_code: str
    variables: dict[str, object] = attrs.field(hash=False)
    recipient: str


@attrs.frozen
class Condition:
    """One condition a rule finds true at ``now``. ``key`` identifies it within the rule: the
    alert for (rule, key) is raised once, ever — a condition that recurs (every year's birthday,
    each month's overdue notice) puts what distinguishes the occurrence into its key."""

    key: str
    audience: Audience
    title: str
    body: str = ""
    severity: Severity = Severity.INFO
    subject_type: str | None = None
    subject_id: str | None = None
    due_on: dt.date | None = None
    messages: tuple[OutboundMessage, ...] = ()

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY_RE.match(self.key):
            raise InvalidValue("key", "提醒键须为1–200个可打印ASCII字符", code="alert.key_invalid")
        if not self.title.strip() or len(self.title) > 200:
            raise InvalidValue("title", "提醒标题不能为空且不超过200字", code="alert.title_invalid")
        if len(self.body) > 4000:
            raise InvalidValue("body", "提醒内容过长", code="alert.body_too_long")
        object.__setattr__(self, "severity", Severity(self.severity))


def check_rule_code(code: str) -> str:
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise InvalidValue("rule", "规则代码须为小写字母开头的2–60位字母、数字、点、下划线或连字符",
                           code="alert.rule_code_invalid")
    return code


# ---------------------------------------------------------------------------------------------
# The aggregate


@attrs.define(slots=False, eq=False)
class AudienceEntry:
    """One row of an alert's audience (mapped; lets SQL find the alerts addressed to a user)."""

    kind: str
    value: str
    id: int | None = None


@attrs.define(slots=False, eq=False)
class Alert:
    rule: str
    key: str
    severity: Severity
    title: str
    body: str
    raised_at: dt.datetime
    subject_type: str | None = None
    subject_id: str | None = None
    due_on: dt.date | None = None
    region: str | None = None
    state: AlertState = AlertState.OPEN
    recipients: list[AudienceEntry] = attrs.field(factory=list)
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: int | None = None
    acknowledged_by_name: str | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: int | None = None
    resolved_by_name: str | None = None
    id: int | None = None

    @classmethod
    def raise_for(cls, rule: str, condition: Condition, now: dt.datetime) -> Alert:
        return cls(
            rule=check_rule_code(rule),
            key=condition.key,
            severity=condition.severity,
            title=condition.title,
            body=condition.body,
            raised_at=now,
            subject_type=condition.subject_type,
            subject_id=condition.subject_id,
            due_on=condition.due_on,
            region=condition.audience.region,
            recipients=[AudienceEntry(k, v) for k, v in condition.audience.entries()],
        )

    @property
    def audience(self) -> Audience:
        return Audience.from_entries([(e.kind, e.value) for e in self.recipients], self.region)

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    def visible_to(self, principal: Principal) -> bool:
        return self.audience.admits(principal)

    def acknowledge(self, principal: Principal, now: dt.datetime) -> None:
        if self.state is not AlertState.OPEN:
            raise IllegalTransition("alert", self.state.value, "acknowledge")
        self.state = AlertState.ACKNOWLEDGED
        self.acknowledged_at = now
        self.acknowledged_by = principal.user_id
        self.acknowledged_by_name = principal.username

    def resolve(self, now: dt.datetime, by: Principal | None = None) -> None:
        """The condition cleared (``by`` None: noticed by the scheduler) or was dealt with."""
        if self.state is AlertState.RESOLVED:
            raise IllegalTransition("alert", self.state.value, "resolve")
        self.state = AlertState.RESOLVED
        self.resolved_at = now
        self.resolved_by = by.user_id if by else None
        self.resolved_by_name = by.username if by else "system"

    def refresh(self, condition: Condition) -> bool:
        """A live alert follows its condition's current wording and due date. True if changed."""
        if not self.is_live:
            return False
        changed = False
        for name in ("title", "body", "severity", "due_on"):
            new = getattr(condition, name)
            if getattr(self, name) != new:
                setattr(self, name, new)
                changed = True
        return changed


# ---------------------------------------------------------------------------------------------
# Birthdays (seed 000 §2.1 2): dates only, no I/O


def birthday_in(year: int, birthday: dt.date) -> dt.date:
    """The day ``birthday`` is celebrated in ``year``: 29 February falls on 28 February in a
    non-leap year."""
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 Feb in a non-leap year
        return dt.date(year, 2, 28)


def next_birthday(birthday: dt.date, today: dt.date) -> dt.date:
    """The first celebration of ``birthday`` on or after ``today``."""
    this_year = birthday_in(today.year, birthday)
    return this_year if this_year >= today else birthday_in(today.year + 1, birthday)
