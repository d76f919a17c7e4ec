"""Read side of the engagement context (SQLAlchemy Core → plain dicts), scoped in SQL: a query
for a principal only ever selects alerts and announcements addressed to that principal."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, false, func, or_, select, true
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement

from dealercrm.adapters.db.engine import read_bind
from dealercrm.adapters.db.engagement_tables import (
    alert_audience,
    alerts,
    announcement_reads,
    announcement_targets,
    announcements,
    calendar_feed_tokens,
    notification_owners,
)
from dealercrm.adapters.db.orm import users
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.domain.alerts import LIVE_STATES, REGION_SCOPED_ROLES
from dealercrm.domain.announcements import AnnouncementAudience, AnnouncementStatus
from dealercrm.domain.identity import Principal, Role

_aa = alert_audience
_ann = announcements
_tg = announcement_targets
_reads = announcement_reads
_ob = notification_outbox


def _plain(row: Any) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in row._mapping.items()}


def alert_scope(p: Principal) -> ColumnElement[bool]:
    """Alerts addressed to ``p``: by name, by its dealer/station, or by its staff role (narrowed
    to the alert's region for region-scoped staff with regions)."""
    if p.is_device:
        return false()
    conds: list[ColumnElement[bool]] = []
    if p.user_id is not None:
        conds.append(and_(_aa.c.kind == "user", _aa.c.value == str(p.user_id)))
    if p.role is Role.DEALER:
        if p.dealer_id is not None:
            conds.append(and_(_aa.c.kind == "dealer", _aa.c.value == str(p.dealer_id)))
    elif p.role is Role.STATION:
        if p.station_id is not None:
            conds.append(and_(_aa.c.kind == "station", _aa.c.value == str(p.station_id)))
    elif p.role.is_staff:
        by_role = and_(_aa.c.kind == "role", _aa.c.value == p.role.value)
        if p.role in REGION_SCOPED_ROLES and p.regions:
            by_role = and_(by_role, or_(alerts.c.region.is_(None), alerts.c.region.in_(p.regions)))
        conds.append(by_role)
    if not conds:
        return false()
    return exists(select(_aa.c.id).where(_aa.c.alert_id == alerts.c.id, or_(*conds)))


def announcement_scope(p: Principal) -> ColumnElement[bool]:
    if p.is_device:
        return false()
    parts: list[ColumnElement[bool]] = [
        _ann.c.audience == AnnouncementAudience.ALL.value,
        and_(_ann.c.audience == AnnouncementAudience.ROLES.value,
             exists(select(_tg.c.id).where(_tg.c.announcement_id == _ann.c.id, _tg.c.kind == "role",
                                           _tg.c.value == p.role.value))),
    ]
    if p.role is Role.DEALER and p.dealer_id is not None:
        parts.append(and_(_ann.c.audience == AnnouncementAudience.DEALERS.value,
                          exists(select(_tg.c.id).where(_tg.c.announcement_id == _ann.c.id, _tg.c.kind == "dealer",
                                                        _tg.c.value == str(p.dealer_id)))))
    return or_(*parts)


def _live_announcement(now: Any) -> ColumnElement[bool]:  # a datetime or a bind parameter
    return and_(_ann.c.status == AnnouncementStatus.PUBLISHED.value, _ann.c.publish_from <= now,
                or_(_ann.c.publish_until.is_(None), _ann.c.publish_until > now))


_LIVE = tuple(s.value for s in LIVE_STATES)
_SEVERITY_RANK = case((alerts.c.severity == "critical", 2), (alerts.c.severity == "warning", 1), else_=0)


# The workbench's statements are built once per principal and reused (their time as a bind
# parameter): building a Core statement and its cache key costs more than running it on SQLite.
@functools.lru_cache(maxsize=1024)
def _alerts_page_query(principal: Principal, states: tuple[str, ...], limit: int) -> Any:
    return (select(alerts, func.count().over().label("_total"))
            .where(alert_scope(principal), alerts.c.state.in_(states))
            .order_by((alerts.c.state == "open").desc(), _SEVERITY_RANK.desc(), alerts.c.id.desc()).limit(limit))


@functools.lru_cache(maxsize=1024)
def _announcements_page_query(principal: Principal, limit: int) -> Any:
    unread = func.coalesce(func.sum(case((_reads.c.read_at.is_(None), 1), else_=0)).over(), 0)
    reader = principal.user_id if principal.user_id is not None else -1
    return (select(_ann, _reads.c.read_at, func.count().over().label("_total"), unread.label("_unread"))
            .select_from(_ann.outerjoin(_reads, and_(_reads.c.announcement_id == _ann.c.id,
                                                     _reads.c.user_id == reader)))
            .where(announcement_scope(principal), _live_announcement(bindparam("now")))
            .order_by(_reads.c.read_at.is_(None).desc(), _ann.c.publish_from.desc(), _ann.c.id.desc())
            .limit(limit))


@functools.lru_cache(maxsize=1024)
def _alerts_dated_query(principal: Principal, states: tuple[str, ...], limit: int) -> Any:
    """The alerts page's rows and, of the same alerts, those due in [start, end): one scan ranks the
    principal's alerts as the page orders them, counts them, and keeps the first ``limit`` and the
    due ones."""
    ranked = (select(alerts, func.count().over().label("_total"),
                     func.row_number().over(order_by=((alerts.c.state == "open").desc(), _SEVERITY_RANK.desc(),
                                                      alerts.c.id.desc())).label("_rank"))
              .where(alert_scope(principal), alerts.c.state.in_(states))).subquery("ranked")
    return (select(ranked)
            .where(or_(ranked.c._rank <= limit,
                       and_(ranked.c.due_on >= bindparam("start"), ranked.c.due_on < bindparam("end"))))
            .order_by(ranked.c._rank))


@functools.lru_cache(maxsize=1024)
def _announcements_dated_query(principal: Principal, limit: int) -> Any:
    """The announcements page's rows (live ones, unread first) and those published in [start, end)
    (live or not yet): one scan of the principal's published announcements."""
    now: Any = bindparam("now")
    start: Any = bindparam("start")
    end: Any = bindparam("end")
    live = case((and_(_ann.c.publish_from <= now, or_(_ann.c.publish_until.is_(None), _ann.c.publish_until > now)),
                 1), else_=0)
    reader = principal.user_id if principal.user_id is not None else -1
    ranked = (select(_ann, _reads.c.read_at, live.label("_live"),
                     func.coalesce(func.sum(live).over(), 0).label("_total"),
                     func.coalesce(func.sum(case((_reads.c.read_at.is_(None), live), else_=0)).over(), 0)
                     .label("_unread"),
                     func.row_number().over(partition_by=live, order_by=(
                         _reads.c.read_at.is_(None).desc(), _ann.c.publish_from.desc(), _ann.c.id.desc()))
                     .label("_rank"))
              .select_from(_ann.outerjoin(_reads, and_(_reads.c.announcement_id == _ann.c.id,
                                                       _reads.c.user_id == reader)))
              .where(announcement_scope(principal), _ann.c.status == AnnouncementStatus.PUBLISHED.value,
                     or_(_live_announcement(now), and_(_ann.c.publish_from >= start, _ann.c.publish_from < end)))
              .subquery("ranked"))
    return (select(ranked)
            .where(or_(and_(ranked.c._live == 1, ranked.c._rank <= limit),
                       and_(ranked.c.publish_from >= start, ranked.c.publish_from < end)))
            .order_by(ranked.c._live.desc(), ranked.c._rank))


# every staff workbench counts these: built once, the owner as a bind parameter
_FAILED = select(func.count()).select_from(_ob).where(_ob.c.status == "failed")
_FAILED_OWNED = _FAILED.where(exists(select(notification_owners.c.notification_id).where(
    notification_owners.c.notification_id == _ob.c.id, notification_owners.c.user_id == bindparam("owner_id"))))


class SqlEngagementQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = read_bind(engine)  # one-statement reads need no transaction around them

    def _all(self, q: Any) -> list[dict[str, Any]]:
        with self.reads.connect() as conn:
            return [_plain(r) for r in conn.execute(q)]

    def _one(self, q: Any) -> Any:
        with self.reads.connect() as conn:
            return conn.execute(q).scalar_one()

    # -- alerts --------------------------------------------------------------------------------

    def alerts_for(self, principal: Principal, *, states: tuple[str, ...], limit: int,
                   after_id: int | None = None, urgent_first: bool = False,
                   rule: str | None = None) -> list[dict[str, Any]]:
        q = select(alerts).where(alert_scope(principal), alerts.c.state.in_(states)).limit(limit)
        if rule is not None:
            q = q.where(alerts.c.rule == rule)
        if after_id is not None:
            q = q.where(alerts.c.id < after_id)
        if urgent_first:
            q = q.order_by((alerts.c.state == "open").desc(), _SEVERITY_RANK.desc(), alerts.c.id.desc())
        else:
            q = q.order_by(alerts.c.id.desc())
        return self._all(q)

    def alerts_page(self, principal: Principal, *, states: tuple[str, ...],
                    limit: int) -> tuple[int, list[dict[str, Any]]]:
        if limit <= 0:
            return self.count_alerts_for(principal, states=states), []
        rows = self._all(_alerts_page_query(principal, states, limit))
        total = int(rows[0]["_total"]) if rows else 0
        for row in rows:
            del row["_total"]
        return total, rows

    def alerts_page_and_due(self, principal: Principal, *, states: tuple[str, ...], limit: int,
                            start: dt.date, end: dt.date) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        if limit <= 0:
            return self.count_alerts_for(principal, states=states), [], self._alerts_due(principal, states, start, end)
        with self.reads.connect() as conn:
            rows = [_plain(r) for r in conn.execute(_alerts_dated_query(principal, states, limit),
                                                    {"start": start, "end": end})]
        total = int(rows[0]["_total"]) if rows else 0
        page, due = [], []
        for row in rows:
            rank = row.pop("_rank")
            del row["_total"]
            if rank <= limit:
                page.append(row)
            if row["due_on"] is not None and start <= row["due_on"] < end:
                due.append(row)
        return total, page, sorted(due, key=lambda r: (r["due_on"], r["id"]))

    def count_alerts_for(self, principal: Principal, *, states: tuple[str, ...]) -> int:
        return int(self._one(select(func.count()).select_from(alerts)
                             .where(alert_scope(principal), alerts.c.state.in_(states))))

    def alert(self, alert_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
            if row is None:
                return None
            d = _plain(row)
            d["audience"] = [(r.kind, r.value) for r in
                             conn.execute(select(_aa.c.kind, _aa.c.value).where(_aa.c.alert_id == alert_id)
                                          .order_by(_aa.c.id))]
        return d

    def alerts_due_for(self, principal: Principal, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        return self._alerts_due(principal, _LIVE, start, end)

    def _alerts_due(self, principal: Principal, states: tuple[str, ...], start: dt.date,
                    end: dt.date) -> list[dict[str, Any]]:
        return self._all(
            select(alerts).where(alert_scope(principal), alerts.c.state.in_(states),
                                 alerts.c.due_on >= start, alerts.c.due_on < end)
            .order_by(alerts.c.due_on, alerts.c.id)
        )

    # -- announcements -------------------------------------------------------------------------

    def _with_read(self, principal: Principal) -> Any:
        reader = principal.user_id if principal.user_id is not None else -1
        return _ann.outerjoin(_reads, and_(_reads.c.announcement_id == _ann.c.id, _reads.c.user_id == reader))

    def announcements_for(self, principal: Principal, *, now: dt.datetime, limit: int,
                          after_id: int | None = None, unread_first: bool = True,
                          unread_only: bool = False) -> list[dict[str, Any]]:
        q = (select(_ann, _reads.c.read_at).select_from(self._with_read(principal))
             .where(announcement_scope(principal), _live_announcement(now)).limit(limit))
        if unread_only:
            q = q.where(_reads.c.read_at.is_(None))
        if after_id is not None:
            q = q.where(_ann.c.id < after_id)
        if unread_first:
            q = q.order_by(_reads.c.read_at.is_(None).desc(), _ann.c.publish_from.desc(), _ann.c.id.desc())
        else:
            q = q.order_by(_ann.c.id.desc())
        return self._all(q)

    def announcements_page(self, principal: Principal, *, now: dt.datetime,
                           limit: int) -> tuple[int, int, list[dict[str, Any]]]:
        if limit <= 0:
            return (*self.count_announcements_for(principal, now=now), [])
        with self.reads.connect() as conn:
            rows = [_plain(r) for r in conn.execute(_announcements_page_query(principal, limit), {"now": now})]
        total, unread_count = (int(rows[0]["_total"]), int(rows[0]["_unread"])) if rows else (0, 0)
        for row in rows:
            del row["_total"], row["_unread"]
        return total, unread_count, rows

    def count_announcements_for(self, principal: Principal, *, now: dt.datetime) -> tuple[int, int]:
        q = (select(func.count(), func.coalesce(func.sum(case((_reads.c.read_at.is_(None), 1), else_=0)), 0))
             .select_from(self._with_read(principal))
             .where(announcement_scope(principal), _live_announcement(now)))
        with self.reads.connect() as conn:
            total, unread = conn.execute(q).one()
        return int(total), int(unread)

    def announcements_published_between(self, principal: Principal, start: dt.datetime,
                                        end: dt.datetime) -> list[dict[str, Any]]:
        return self._all(
            select(_ann).where(announcement_scope(principal), _ann.c.status == AnnouncementStatus.PUBLISHED.value,
                               _ann.c.publish_from >= start, _ann.c.publish_from < end)
            .order_by(_ann.c.publish_from, _ann.c.id)
        )

    def announcements_page_and_published(
        self, principal: Principal, *, now: dt.datetime, limit: int, start: dt.datetime, end: dt.datetime,
    ) -> tuple[int, int, list[dict[str, Any]], list[dict[str, Any]]]:
        if limit <= 0:
            return (*self.count_announcements_for(principal, now=now), [],
                    self.announcements_published_between(principal, start, end))
        with self.reads.connect() as conn:
            rows = [_plain(r) for r in conn.execute(_announcements_dated_query(principal, limit),
                                                    {"now": now, "start": start, "end": end})]
        total, unread = (int(rows[0]["_total"]), int(rows[0]["_unread"])) if rows else (0, 0)
        page, published = [], []
        for row in rows:
            live, rank = row.pop("_live"), row.pop("_rank")
            del row["_total"], row["_unread"]
            if live and rank <= limit:
                page.append(row)
            if start <= row["publish_from"] < end:
                published.append(row)
        return total, unread, page, sorted(published, key=lambda r: (r["publish_from"], r["id"]))

    def all_announcements(self, *, limit: int, after_id: int | None = None) -> list[dict[str, Any]]:
        q = select(_ann).order_by(_ann.c.id.desc()).limit(limit)
        if after_id is not None:
            q = q.where(_ann.c.id < after_id)
        rows = self._all(q)
        self._attach_targets(rows)
        return rows

    def _attach_targets(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        ids = [r["id"] for r in rows]
        with self.engine.connect() as conn:
            found = conn.execute(select(_tg.c.announcement_id, _tg.c.kind, _tg.c.value)
                                 .where(_tg.c.announcement_id.in_(ids)).order_by(_tg.c.id)).all()
        for r in rows:
            mine = [t for t in found if t.announcement_id == r["id"]]
            r["roles"] = [t.value for t in mine if t.kind == "role"]
            r["dealer_ids"] = [int(t.value) for t in mine if t.kind == "dealer"]

    def announcement(self, announcement_id: int, reader_id: int | None = None) -> dict[str, Any] | None:
        reader = reader_id if reader_id is not None else -1
        q = (select(_ann, _reads.c.read_at)
             .select_from(_ann.outerjoin(_reads, and_(_reads.c.announcement_id == _ann.c.id,
                                                      _reads.c.user_id == reader)))
             .where(_ann.c.id == announcement_id))
        rows = self._all(q)
        if not rows:
            return None
        self._attach_targets(rows)
        return rows[0]

    def announcement_visible(self, principal: Principal, announcement_id: int, now: dt.datetime) -> bool:
        return bool(self._one(select(func.count()).select_from(_ann).where(
            _ann.c.id == announcement_id, announcement_scope(principal), _live_announcement(now))))

    def receipts(self, announcement_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        ann = self.announcement(announcement_id)
        if ann is None:
            return [], []
        user_cols = (users.c.id.label("user_id"), users.c.username, users.c.display_name, users.c.role,
                     users.c.dealer_id)
        read = self._all(select(*user_cols, _reads.c.read_at).join(_reads, _reads.c.user_id == users.c.id)
                         .where(_reads.c.announcement_id == announcement_id).order_by(_reads.c.read_at, users.c.id))
        audience: ColumnElement[bool]
        if ann["audience"] == AnnouncementAudience.ALL.value:
            audience = true()
        elif ann["audience"] == AnnouncementAudience.ROLES.value:
            audience = users.c.role.in_(ann["roles"])
        else:
            audience = and_(users.c.role == Role.DEALER.value, users.c.dealer_id.in_(ann["dealer_ids"]))
        has_read = exists(select(_reads.c.user_id).where(_reads.c.announcement_id == announcement_id,
                                                         _reads.c.user_id == users.c.id))
        unread = self._all(select(*user_cols).where(audience, users.c.is_active.is_(True), ~has_read)
                           .order_by(users.c.id))
        return read, unread

    # -- failed notifications ------------------------------------------------------------------

    def failed_notifications_owned_by(self, user_id: int, *, limit: int) -> list[dict[str, Any]]:
        return self._all(
            select(_ob).join(notification_owners, notification_owners.c.notification_id == _ob.c.id)
            .where(notification_owners.c.user_id == user_id, _ob.c.status == "failed")
            .order_by(_ob.c.created_at.desc(), _ob.c.id).limit(limit)
        )

    def count_failed_notifications(self, owner_id: int | None) -> int:
        if owner_id is None:
            return int(self._one(_FAILED))
        with self.reads.connect() as conn:
            return int(conn.execute(_FAILED_OWNED, {"owner_id": owner_id}).scalar_one())

    def notification_owner(self, notification_id: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(notification_owners.c.user_id)
                                .where(notification_owners.c.notification_id == notification_id)).scalar()

    # -- calendar feed -------------------------------------------------------------------------

    def user_by_feed_token(self, token_hash: str) -> dict[str, Any] | None:
        q = (select(users.c.id, users.c.username, users.c.role, users.c.dealer_id, users.c.station_id,
                    users.c.regions)
             .join(calendar_feed_tokens, calendar_feed_tokens.c.user_id == users.c.id)
             .where(calendar_feed_tokens.c.token_hash == token_hash, users.c.is_active.is_(True)))
        rows = self._all(q)
        return rows[0] if rows else None

    def has_feed_token(self, user_id: int) -> dt.datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(select(calendar_feed_tokens.c.created_at)
                                .where(calendar_feed_tokens.c.user_id == user_id)).scalar()
