"""Read side of the marketing contexts (SQLAlchemy Core → plain dicts), scoped in SQL by the
caller: a dealer user only ever selects its own invitations, forecasts, key accounts and leads,
and the articles published for dealers."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, case, exists, false, func, or_, select, true, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement

from dealercrm.adapters.db import knowledge_search
from dealercrm.adapters.db.engine import read_bind
from dealercrm.adapters.db.learning_tables import SqlLearningQueries
from dealercrm.adapters.db.marketing_tables import (
    kb_article_revisions,
    kb_articles,
    training_invitations,
    training_participants,
    trainings,
)
from dealercrm.application.knowledge import readership
from dealercrm.application.training import ORGANIZERS, invitee_of
from dealercrm.domain.identity import Principal
from dealercrm.domain.training import Invitation, InvitationResponse, Participant, effect_summary

_t = trainings
_ti = training_invitations
_tp = training_participants


def _plain(row: Any) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in row._mapping.items()}


CALENDAR_SCAN_LIMIT = 500

# The workbench's training statements are built once, the invitee and the time as bind parameters.
_INVITATIONS = _t.join(_ti, _ti.c.training_id == _t.c.id)
_WAITING = and_(_ti.c.invitee_kind == bindparam("kind"), _ti.c.invitee_id == bindparam("ref"),
                _ti.c.response == "pending", _t.c.status == "scheduled", _t.c.starts_at > bindparam("now"))


@functools.lru_cache(maxsize=64)
def _pending_invitations_query(limit: int) -> Any:
    return (select(_t.c.id, _t.c.training_no, _t.c.title, _t.c.topic, _t.c.starts_at, _t.c.online, _t.c.location,
                   _t.c.created_at, func.count().over().label("_total"))
            .select_from(_INVITATIONS).where(_WAITING).order_by(_t.c.starts_at, _t.c.id).limit(limit))


@functools.lru_cache(maxsize=1024)
def _trainings_dated_query(kind: str, ref: int, organizer: bool, limit: int) -> Any:
    """The invitee's pending invitations (first ``limit``, with their count) and the trainings on its
    calendar starting in [start, end) (organisers: all of them; the caller keeps the first 500), from
    one scan of the trainings joined to the invitee's invitation (at most one per training)."""
    now: Any = bindparam("now")
    start: Any = bindparam("start")
    end: Any = bindparam("end")
    mine = and_(_ti.c.training_id == _t.c.id, _ti.c.invitee_kind == kind, _ti.c.invitee_id == ref)
    waiting = and_(_ti.c.response == "pending", _t.c.status == "scheduled", _t.c.starts_at > now)
    on_calendar = and_(_t.c.status != "cancelled", _t.c.starts_at >= start, _t.c.starts_at < end)
    if not organizer:  # invited and not declined (the calendar's scope for everyone else)
        on_calendar = and_(on_calendar, _ti.c.response != "declined")
    pending, dated = case((waiting, 1), else_=0), case((on_calendar, 1), else_=0)
    order = (_t.c.starts_at, _t.c.id)
    ranked = (select(_t.c.id, _t.c.training_no, _t.c.title, _t.c.topic, _t.c.starts_at, _t.c.ends_at, _t.c.online,
                     _t.c.location, _t.c.created_at, _t.c.meeting_join_url, _t.c.status,
                     pending.label("_pending"), dated.label("_dated"),
                     func.coalesce(func.sum(pending).over(), 0).label("_total"),
                     func.sum(pending).over(order_by=order).label("_pending_rank"))  # a running count: one sort
              .select_from(_t.outerjoin(_ti, mine) if organizer else _t.join(_ti, mine))
              .where(or_(waiting, on_calendar))).subquery("ranked")
    return (select(ranked)
            .where(or_(and_(ranked.c._pending == 1, ranked.c._pending_rank <= limit), ranked.c._dated == 1))
            .order_by(ranked.c.starts_at, ranked.c.id))


class SqlMarketingQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = read_bind(engine)  # the workbench's and calendar's one-statement reads

    # -- training ------------------------------------------------------------------------------

    @staticmethod
    def _training_scope(p: Principal) -> ColumnElement[bool]:
        if p.role in ORGANIZERS:
            return true()
        who = invitee_of(p)
        if who is None:
            return false()
        kind, ref = who
        return exists().where(_ti.c.training_id == _t.c.id, _ti.c.invitee_kind == kind.value,
                              _ti.c.invitee_id == ref)

    def list_trainings(self, p: Principal, *, status: str | None = None, audience: str | None = None,
                       starts_from: dt.datetime | None = None, starts_before: dt.datetime | None = None,
                       before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        cols = [_t.c.id, _t.c.training_no, _t.c.title, _t.c.topic, _t.c.product_line, _t.c.audience,
                _t.c.starts_at, _t.c.ends_at, _t.c.online, _t.c.location, _t.c.status, _t.c.meeting_status,
                _t.c.organizer_name]
        q = select(*cols).where(self._training_scope(p))
        if status:
            q = q.where(_t.c.status == status)
        if audience:
            q = q.where(_t.c.audience == audience)
        if starts_from:
            q = q.where(_t.c.starts_at >= starts_from)
        if starts_before:
            q = q.where(_t.c.starts_at < starts_before)
        if before_id is not None:
            q = q.where(_t.c.id < before_id)
        q = q.order_by(_t.c.id.desc()).limit(limit)
        who = invitee_of(p)
        with self.engine.connect() as conn:
            rows = [_plain(r) for r in conn.execute(q)]
            if rows and p.role not in ORGANIZERS and who is not None:
                mine = {r.training_id: r.response.value for r in conn.execute(
                    select(_ti.c.training_id, _ti.c.response).where(
                        _ti.c.training_id.in_([r["id"] for r in rows]), _ti.c.invitee_kind == who[0].value,
                        _ti.c.invitee_id == who[1]))}
                for r in rows:
                    r["my_response"] = mine.get(r["id"])
        return rows

    def training_detail(self, p: Principal, training_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_t).where(_t.c.id == training_id, self._training_scope(p))).first()
            if row is None:
                return None
            out = _plain(row)
            inv_q = select(_ti).where(_ti.c.training_id == training_id).order_by(_ti.c.id)
            part_q = select(_tp).where(_tp.c.training_id == training_id).order_by(_tp.c.id)
            organizer = p.role in ORGANIZERS
            if not organizer:
                kind, ref = invitee_of(p)  # type: ignore[misc]
                inv_q = inv_q.where(_ti.c.invitee_kind == kind.value, _ti.c.invitee_id == ref)
                part_q = part_q.where(_tp.c.invitation_id.in_(select(_ti.c.id).where(
                    _ti.c.training_id == training_id, _ti.c.invitee_kind == kind.value, _ti.c.invitee_id == ref)))
            invitations = [_plain(r) for r in conn.execute(inv_q)]
            participants = [_plain(r) for r in conn.execute(part_q)]
        out["invitations"] = invitations
        out["participants"] = participants
        if not organizer:
            out["meeting_error"] = None
            if out["status"] == "cancelled" or not invitations or invitations[0]["response"] == "declined":
                out["meeting_join_url"] = out["meeting_passcode"] = None
        return out

    def training_effect(self, training_id: int) -> dict[str, Any]:
        """Effect analysis per training and per invitee (organisers)."""
        with self.engine.connect() as conn:
            invs = list(conn.execute(select(_ti).where(_ti.c.training_id == training_id).order_by(_ti.c.id)))
            parts = list(conn.execute(select(_tp).where(_tp.c.training_id == training_id).order_by(_tp.c.id)))

        def inv(r: Any) -> Invitation:
            return Invitation(r.invitee_kind, r.invitee_id, r.invitee_name, response=InvitationResponse(r.response),
                              id=r.id)

        def part(r: Any) -> Participant:
            return Participant(r.invitation_id, r.name, r.attended, r.recorded_at, r.feedback_score, r.quiz_score)

        invitations = [inv(r) for r in invs]
        participants = [part(r) for r in parts]
        per_invitee = []
        for i in invitations:
            s = effect_summary([i], [x for x in participants if x.invitation_id == i.id])
            per_invitee.append({"invitation_id": i.id, "invitee_kind": i.invitee_kind.value,
                                "invitee_id": i.invitee_id, "invitee_name": i.invitee_name,
                                "response": i.response.value, "summary": s})
        return {"summary": effect_summary(invitations, participants), "per_invitee": per_invitee}

    def pending_invitations(self, p: Principal, now: dt.datetime, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """The caller's unanswered invitations to scheduled trainings that have not started."""
        who = invitee_of(p)
        if who is None:
            return 0, []
        params = {"kind": who[0].value, "ref": who[1], "now": now}
        with self.reads.connect() as conn:
            if limit <= 0:
                return int(conn.execute(select(func.count()).select_from(_INVITATIONS).where(_WAITING),
                                        params).scalar_one()), []
            rows = [_plain(r) for r in conn.execute(_pending_invitations_query(limit), params)]
        total = int(rows[0]["_total"]) if rows else 0
        for row in rows:
            del row["_total"]
        return total, rows

    def trainings_between(self, p: Principal, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        q = (select(_t.c.id, _t.c.title, _t.c.topic, _t.c.starts_at, _t.c.ends_at, _t.c.online, _t.c.location,
                    _t.c.meeting_join_url, _t.c.status)
             .where(self._training_scope(p), _t.c.status != "cancelled", _t.c.starts_at >= start,
                    _t.c.starts_at < end)
             .order_by(_t.c.starts_at, _t.c.id).limit(CALENDAR_SCAN_LIMIT))
        if p.role not in ORGANIZERS:
            kind, ref = invitee_of(p)  # type: ignore[misc]
            q = q.where(~exists().where(_ti.c.training_id == _t.c.id, _ti.c.invitee_kind == kind.value,
                                        _ti.c.invitee_id == ref, _ti.c.response == "declined"))
        with self.reads.connect() as conn:
            return [_plain(r) for r in conn.execute(q)]


    def pending_invitations_and_between(
        self, p: Principal, now: dt.datetime, limit: int, start: dt.datetime, end: dt.datetime,
    ) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        who = invitee_of(p)
        if who is None or limit <= 0:
            return (*self.pending_invitations(p, now, limit), self.trainings_between(p, start, end))
        q = _trainings_dated_query(who[0].value, who[1], p.role in ORGANIZERS, limit)
        with self.reads.connect() as conn:
            rows = [_plain(r) for r in conn.execute(q, {"now": now, "start": start, "end": end})]
        total = int(rows[0]["_total"]) if rows else 0
        pending: list[dict[str, Any]] = []
        between: list[dict[str, Any]] = []
        for row in rows:  # by start, then id
            if row["_pending"] and row["_pending_rank"] <= limit:
                pending.append(row)
            if row["_dated"] and len(between) < CALENDAR_SCAN_LIMIT:
                between.append(row)
            for key in ("_pending", "_dated", "_total", "_pending_rank"):
                del row[key]
        return total, pending, between


_kb = kb_articles
_kr = kb_article_revisions


def _esc(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(term: str) -> str:
    return "%" + _esc(term) + "%"


def _article_scope(p: Principal) -> ColumnElement[bool]:
    who = readership(p)
    if who is None:
        return true()
    if who == "dealers":
        return and_(_kb.c.status == "published", _kb.c.for_dealers.is_(True))
    if who == "stations":
        return and_(_kb.c.status == "published", _kb.c.for_stations.is_(True))
    return false()


class SqlKnowledgeQueries(SqlLearningQueries):
    """Search: every keyword must match — its words, segmented by jieba, in the full-text index
    of the title, tags and body (``adapters/db/knowledge_search.py``) — ranked best first (title
    above tags above body), newest first among equals, in pages of ``offset``. Without keywords,
    newest first in keyset pages by id (``before_id``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def search(self, p: Principal, *, terms: list[str], kind: str | None = None, topic: str | None = None,
               tag: str | None = None, product_line: str | None = None, status: str | None = None,
               before_id: int | None = None, offset: int = 0, limit: int = 20) -> list[dict[str, Any]]:
        cols = [_kb.c.id, _kb.c.article_no, _kb.c.title, _kb.c.topic, _kb.c.kind, _kb.c.tags, _kb.c.product_lines,
                _kb.c.for_dealers, _kb.c.for_stations, _kb.c.status, _kb.c.revision, _kb.c.published_at,
                _kb.c.updated_at, func.substr(_kb.c.body, 1, 160).label("excerpt")]
        q = select(*cols).where(_article_scope(p))
        order: list[Any] = []
        if terms:
            found = knowledge_search.match(self.engine.dialect.name, terms)
            if found is None:
                return []
            index, condition, score = found
            q = q.select_from(_kb).join(index, condition)
            order.append(score)
        if kind:
            q = q.where(_kb.c.kind == kind)
        if topic:
            q = q.where(_kb.c.topic == topic)
        if tag:
            q = q.where(_kb.c.tags_text.like("%|" + _esc(tag.strip().lower()) + "|%", escape="\\"))
        if product_line:
            q = q.where(_kb.c.lines_text.like("%|" + _esc(product_line) + "|%", escape="\\"))
        if status and readership(p) is None:
            q = q.where(_kb.c.status == status)
        if before_id is not None and not terms:
            q = q.where(_kb.c.id < before_id)
        q = q.order_by(*order, _kb.c.id.desc()).limit(limit).offset(offset if terms else 0)
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(q)]

    def article(self, p: Principal, article_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_kb).where(_kb.c.id == article_id, _article_scope(p))).first()
        return _plain(row) if row else None

    def revisions(self, article_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(select(_kr).where(_kr.c.article_id == article_id)
                                                     .order_by(_kr.c.revision.desc()))]

    def topics(self, p: Principal) -> list[dict[str, Any]]:
        q = (select(_kb.c.topic, func.count().label("count")).where(_article_scope(p))
             .group_by(_kb.c.topic).order_by(_kb.c.topic))
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(q)]


# ---------------------------------------------------------------------------------------------
# Sales forecasts


def _dealer_scope_sql(p: Principal, dealer_col: Any, region_col: Any) -> ColumnElement[bool]:
    from dealercrm.application.access import dealer_scope

    scope = dealer_scope(p)
    if scope.nothing:
        return false()
    if scope.dealer_id is not None:
        return dealer_col == scope.dealer_id
    if scope.regions is not None:
        return region_col.in_(scope.regions)
    return true()


@functools.lru_cache(maxsize=1024)
def _due_leads_query(p: Principal, limit: int) -> Any:
    """The leads in ``p``'s dealer scope to contact by ``day`` (a bind parameter), built once per
    principal: building the statement costs more than running it (the workbench asks every request)."""
    from dealercrm.adapters.db.marketing_tables import campaign_leads as cl
    from dealercrm.adapters.db.marketing_tables import campaigns as c
    from dealercrm.adapters.db.orm import dealers as d

    cond = and_(cl.c.next_contact_on <= bindparam("day"), _dealer_scope_sql(p, d.c.id, d.c.region))
    joined = cl.join(d, d.c.id == cl.c.dealer_id).join(c, c.c.id == cl.c.campaign_id)
    return (select(cl.c.id, cl.c.name, cl.c.phone, cl.c.status, cl.c.next_contact_on, cl.c.updated_at,
                   cl.c.dealer_id, d.c.legal_name.label("dealer_name"), c.c.name.label("campaign_name"),
                   func.count().over().label("_total"))
            .select_from(joined).where(cond).order_by(cl.c.next_contact_on, cl.c.id).limit(limit))


# orders that count as "actually ordered" once submitted: not withdrawn to draft, not cancelled
NOT_ACTUAL_STATES = ("draft", "awaiting_quote", "quoted", "cancelled")


class SqlForecastQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list_forecasts(self, p: Principal, *, month: dt.date | None = None, dealer_id: int | None = None,
                       region: str | None = None, before_id: int | None = None, limit: int = 50
                       ) -> list[dict[str, Any]]:
        from dealercrm.adapters.db.marketing_tables import sales_forecast_lines as fl
        from dealercrm.adapters.db.marketing_tables import sales_forecasts as sf
        from dealercrm.adapters.db.orm import dealers as d

        q = (select(sf.c.id, sf.c.dealer_id, d.c.legal_name.label("dealer_name"), d.c.region, sf.c.month,
                    sf.c.submitted_at, sf.c.submitted_by_name, sf.c.revisions, sf.c.updated_at)
             .join(d, d.c.id == sf.c.dealer_id).where(_dealer_scope_sql(p, d.c.id, d.c.region)))
        if month is not None:
            q = q.where(sf.c.month == month)
        if dealer_id is not None:
            q = q.where(sf.c.dealer_id == dealer_id)
        if region:
            q = q.where(d.c.region == region)
        if before_id is not None:
            q = q.where(sf.c.id < before_id)
        q = q.order_by(sf.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [_plain(r) for r in conn.execute(q)]
            if rows:
                lines: dict[int, list[dict[str, Any]]] = {}
                for r in conn.execute(select(fl).where(fl.c.forecast_id.in_([x["id"] for x in rows]))
                                      .order_by(fl.c.id)):
                    lines.setdefault(r.forecast_id, []).append(
                        {"product_line": r.product_line, "template_id": r.template_id, "quantity": r.quantity})
                for x in rows:
                    x["lines"] = lines.get(x["id"], [])
                    x["total"] = sum(line["quantity"] for line in x["lines"])
        return rows

    def comparison(self, p: Principal, month: dt.date, *, region: str | None = None) -> list[dict[str, Any]]:
        """Per dealer in scope and product line: forecast, actual (ordered) and retail (sold to end
        customers, seed 000 §2.2 2)) quantity for ``month`` (dealers with any of them)."""
        from dealercrm.adapters.db.gate_tables import vehicles as v
        from dealercrm.adapters.db.marketing_tables import sales_forecast_lines as fl
        from dealercrm.adapters.db.marketing_tables import sales_forecasts as sf
        from dealercrm.adapters.db.orders_tables import orders as o
        from dealercrm.adapters.db.orm import dealers as d
        from dealercrm.adapters.db.stock_queries import LIVE_SALES
        from dealercrm.adapters.db.stock_tables import retail_sales as rs
        from dealercrm.domain.forecasts import month_window

        start, end = month_window(month)
        scope = _dealer_scope_sql(p, d.c.id, d.c.region)
        region_cond = d.c.region == region if region else true()
        fq = (select(sf.c.dealer_id, fl.c.product_line, func.sum(fl.c.quantity).label("qty"))
              .join(fl, fl.c.forecast_id == sf.c.id).join(d, d.c.id == sf.c.dealer_id)
              .where(sf.c.month == month, scope, region_cond)
              .group_by(sf.c.dealer_id, fl.c.product_line))
        aq = (select(o.c.dealer_id, o.c.product_line, func.sum(o.c.quantity).label("qty"))
              .join(d, d.c.id == o.c.dealer_id)
              .where(o.c.submitted_at >= start, o.c.submitted_at < end, o.c.state.not_in(NOT_ACTUAL_STATES),
                     scope, region_cond)
              .group_by(o.c.dealer_id, o.c.product_line))
        # a retail sale counts in the month it was sold, while it stands (not returned, not exchanged)
        rq = (select(rs.c.dealer_id, v.c.product_line, func.count().label("qty"))
              .join(v, v.c.vin == rs.c.vin).join(d, d.c.id == rs.c.dealer_id)
              .where(rs.c.sold_at >= start, rs.c.sold_at < end, rs.c.status.in_(LIVE_SALES),
                     v.c.product_line.is_not(None), scope, region_cond)
              .group_by(rs.c.dealer_id, v.c.product_line))
        submitted_q = select(sf.c.dealer_id).where(sf.c.month == month)
        with self.engine.connect() as conn:
            forecast = {(r.dealer_id, getattr(r.product_line, "value", r.product_line)): int(r.qty)
                        for r in conn.execute(fq)}
            actual = {(r.dealer_id, getattr(r.product_line, "value", r.product_line)): int(r.qty)
                      for r in conn.execute(aq)}
            retail = {(r.dealer_id, str(r.product_line)): int(r.qty) for r in conn.execute(rq)}
            dealer_ids = sorted({k[0] for k in forecast} | {k[0] for k in actual} | {k[0] for k in retail})
            submitted = {r[0] for r in conn.execute(submitted_q.where(sf.c.dealer_id.in_(dealer_ids)))} \
                if dealer_ids else set()
            names = {r.id: (r.legal_name, r.region) for r in conn.execute(
                select(d.c.id, d.c.legal_name, d.c.region).where(d.c.id.in_(dealer_ids)))} if dealer_ids else {}
        lines_of: dict[int, set[str]] = {}
        for dealer_id, line in (*forecast, *actual, *retail):  # one pass, not a scan of every key per dealer
            lines_of.setdefault(dealer_id, set()).add(line)
        out = []
        for dealer_id in dealer_ids:
            keys = sorted(lines_of[dealer_id])
            out.append({
                "dealer_id": dealer_id, "dealer_name": names[dealer_id][0], "region": names[dealer_id][1],
                "submitted": dealer_id in submitted,
                "lines": [{"product_line": pl, "forecast": forecast.get((dealer_id, pl), 0),
                           "actual": actual.get((dealer_id, pl), 0), "retail": retail.get((dealer_id, pl), 0)}
                          for pl in keys],
            })
        return out


# ---------------------------------------------------------------------------------------------
# Key accounts and bid cases


def _account_scope(p: Principal, ka: Any) -> ColumnElement[bool]:
    from dealercrm.application.access import REGION_SCOPED_ROLES
    from dealercrm.application.key_accounts import READERS
    from dealercrm.domain.identity import Role

    if p.role is Role.DEALER:
        return ka.c.dealer_id == p.dealer_id if p.dealer_id else false()
    if p.role not in READERS:
        return false()
    if p.role in REGION_SCOPED_ROLES and p.regions:
        return ka.c.region.in_(p.regions)
    return true()


class SqlKeyAccountQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list_accounts(self, p: Principal, *, q: str | None = None, industry: str | None = None,
                      region: str | None = None, dealer_id: int | None = None, before_id: int | None = None,
                      limit: int = 50) -> list[dict[str, Any]]:
        from dealercrm.adapters.db.marketing_tables import bid_cases as bc
        from dealercrm.adapters.db.marketing_tables import key_accounts as ka
        from dealercrm.adapters.db.orm import dealers as d

        won = func.sum(case((bc.c.outcome == "won", 1), else_=0))
        lost = func.sum(case((bc.c.outcome == "lost", 1), else_=0))
        won_amount = func.sum(case((bc.c.outcome == "won", bc.c.amount_fen), else_=0))
        stmt = (select(ka.c.id, ka.c.name, ka.c.industry, ka.c.region, ka.c.dealer_id,
                       d.c.legal_name.label("dealer_name"), ka.c.sales_rep_id, ka.c.created_at,
                       func.coalesce(won, 0).label("won"), func.coalesce(lost, 0).label("lost"),
                       func.coalesce(won_amount, 0).label("won_amount_fen"))
                .select_from(ka).outerjoin(d, d.c.id == ka.c.dealer_id).outerjoin(bc, bc.c.key_account_id == ka.c.id)
                .where(_account_scope(p, ka))
                .group_by(ka.c.id, ka.c.name, ka.c.industry, ka.c.region, ka.c.dealer_id, d.c.legal_name,
                          ka.c.sales_rep_id, ka.c.created_at))
        if q:
            stmt = stmt.where(func.lower(ka.c.name).like(_like(q.strip().lower()), escape="\\"))
        if industry:
            stmt = stmt.where(ka.c.industry == industry)
        if region:
            stmt = stmt.where(ka.c.region == region)
        if dealer_id is not None:
            stmt = stmt.where(ka.c.dealer_id == dealer_id)
        if before_id is not None:
            stmt = stmt.where(ka.c.id < before_id)
        stmt = stmt.order_by(ka.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [{**_plain(r), "won": int(r.won), "lost": int(r.lost), "won_amount_fen": int(r.won_amount_fen)}
                    for r in conn.execute(stmt)]

    def account(self, p: Principal, account_id: int) -> dict[str, Any] | None:
        from dealercrm.adapters.db.marketing_tables import bid_cases as bc
        from dealercrm.adapters.db.marketing_tables import key_accounts as ka
        from dealercrm.adapters.db.orm import dealers as d

        with self.engine.connect() as conn:
            row = conn.execute(select(ka, d.c.legal_name.label("dealer_name")).select_from(ka)
                               .outerjoin(d, d.c.id == ka.c.dealer_id)
                               .where(ka.c.id == account_id, _account_scope(p, ka))).first()
            if row is None:
                return None
            out = _plain(row)
            out["bid_cases"] = [_plain(r) for r in conn.execute(
                select(bc).where(bc.c.key_account_id == account_id).order_by(bc.c.bid_on.desc(), bc.c.id.desc()))]
        return out

    def bid_report(self, p: Principal, *, year: int | None = None) -> dict[str, Any]:
        """Won/lost counts, amounts and win rate overall, per industry, per region; the
        competitors met most often in lost bids."""
        from dealercrm.adapters.db.marketing_tables import bid_cases as bc
        from dealercrm.adapters.db.marketing_tables import key_accounts as ka

        cond = _account_scope(p, ka)
        if year is not None:
            cond = and_(cond, bc.c.bid_on >= dt.date(year, 1, 1), bc.c.bid_on < dt.date(year + 1, 1, 1))

        def grouped(*keys: Any) -> list[dict[str, Any]]:
            stmt = (select(*keys, bc.c.outcome, func.count().label("n"), func.sum(bc.c.amount_fen).label("amount"))
                    .select_from(bc).join(ka, ka.c.id == bc.c.key_account_id).where(cond)
                    .group_by(*keys, bc.c.outcome))
            with self.engine.connect() as conn:
                rows = list(conn.execute(stmt))
            acc: dict[Any, dict[str, Any]] = {}
            for r in rows:
                key = tuple(getattr(r, k.name) for k in keys)
                e = acc.setdefault(key, {"won": 0, "lost": 0, "won_amount_fen": 0, "lost_amount_fen": 0})
                outcome = getattr(r.outcome, "value", r.outcome)
                e[outcome] += int(r.n)
                e[f"{outcome}_amount_fen"] += int(r.amount or 0)
            out = []
            for key, e in sorted(acc.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
                total = e["won"] + e["lost"]
                out.append({**{k.name: v for k, v in zip(keys, key, strict=True)}, **e, "cases": total,
                            "win_rate_pct": round(100 * e["won"] / total, 1) if total else None})
            return out

        overall = grouped()
        with self.engine.connect() as conn:
            lost_rows = conn.execute(select(bc.c.competitors).select_from(bc).join(ka, ka.c.id == bc.c.key_account_id)
                                     .where(cond, bc.c.outcome == "lost"))
            counts: dict[str, int] = {}
            for (rivals,) in lost_rows:
                for c in rivals or []:
                    counts[c] = counts.get(c, 0) + 1
        return {
            "overall": overall[0] if overall else {"won": 0, "lost": 0, "won_amount_fen": 0, "lost_amount_fen": 0,
                                                   "cases": 0, "win_rate_pct": None},
            "by_industry": grouped(ka.c.industry),
            "by_region": grouped(ka.c.region),
            "competitors_in_lost_bids": [{"competitor": c, "lost_bids": n}
                                         for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]],
        }


# ---------------------------------------------------------------------------------------------
# Campaigns and leads


class SqlCampaignQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = read_bind(engine)  # the workbench's one-statement read

    def target_dealers(self, *, regions: tuple[str, ...], product_lines: tuple[str, ...],
                       value_classes: tuple[str, ...], day: dt.date) -> list[dict[str, Any]]:
        from dealercrm.adapters.db.care_tables import dealer_value_evaluations as ev
        from dealercrm.adapters.db.orm import dealer_agreements as ag
        from dealercrm.adapters.db.orm import dealer_contacts as dc
        from dealercrm.adapters.db.orm import dealers as d

        q = select(d.c.id, d.c.legal_name, d.c.short_name, d.c.region).where(d.c.status == "approved")
        if regions:
            q = q.where(d.c.region.in_(regions))
        with self.engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(q.order_by(d.c.id))}
            ids = list(rows)
            if not ids:
                return []
            # product lines and value classes are lists / latest rows: decided here, for the candidates only
            lines: dict[int, set[str]] = {}
            for a in conn.execute(select(ag.c.dealer_id, ag.c.product_lines).where(
                    ag.c.dealer_id.in_(ids), ag.c.status == "active", ag.c.valid_from <= day, ag.c.valid_to >= day)):
                lines.setdefault(a.dealer_id, set()).update(a.product_lines or [])
            latest = select(ev.c.dealer_id, func.max(ev.c.id).label("id")).where(ev.c.dealer_id.in_(ids)) \
                .group_by(ev.c.dealer_id).subquery()
            classes = {r.dealer_id: r.value_class for r in conn.execute(
                select(ev.c.dealer_id, ev.c.value_class).join(latest, latest.c.id == ev.c.id))}
            contacts: dict[int, Any] = {}
            for c in conn.execute(select(dc.c.dealer_id, dc.c.name, dc.c.email, dc.c.phone)
                                  .where(dc.c.dealer_id.in_(ids))
                                  .order_by(dc.c.dealer_id, dc.c.is_primary.desc(), dc.c.id)):
                contacts.setdefault(c.dealer_id, c)
        out = []
        for dealer_id, r in rows.items():
            if product_lines and not lines.get(dealer_id, set()) & set(product_lines):
                continue
            if value_classes and classes.get(dealer_id) not in value_classes:
                continue
            contact = contacts.get(dealer_id)
            out.append({"dealer_id": dealer_id, "dealer_name": r.short_name or r.legal_name, "region": r.region,
                        "product_lines": sorted(lines.get(dealer_id, set())), "value_class": classes.get(dealer_id),
                        "contact_name": contact.name if contact else None,
                        "email": contact.email if contact else None,
                        "phone": str(contact.phone) if contact else None})
        return out

    def list_campaigns(self, p: Principal, *, status: str | None = None, before_id: int | None = None,
                       limit: int = 50) -> list[dict[str, Any]]:
        from dealercrm.adapters.db.marketing_tables import campaign_leads as cl
        from dealercrm.adapters.db.marketing_tables import campaigns as c
        from dealercrm.domain.identity import Role

        q = select(c)
        if p.role is Role.DEALER:
            q = q.where(c.c.status.in_(["active", "closed"]))
        elif not p.role.is_staff:
            return []
        if status:
            q = q.where(c.c.status == status)
        if before_id is not None:
            q = q.where(c.c.id < before_id)
        with self.engine.connect() as conn:
            if p.role is not Role.DEALER:
                return [_plain(r) for r in conn.execute(q.order_by(c.c.id.desc()).limit(limit))]
            # a dealer sees the running or finished campaigns for its region, and any it has leads in;
            # target regions are a JSON list, so that part is decided here (campaigns are few)
            region = self._dealer_region(conn, p.dealer_id)
            with_leads = {r[0] for r in conn.execute(select(cl.c.campaign_id).where(cl.c.dealer_id == p.dealer_id)
                                                     .distinct())}
            out = []
            for r in conn.execute(q.order_by(c.c.id.desc()).limit(1000)):
                row = _plain(r)
                if not row["regions"] or region in row["regions"] or row["id"] in with_leads:
                    out.append(row)
                if len(out) >= limit:
                    break
            return out

    @staticmethod
    def _dealer_region(conn: Any, dealer_id: int | None) -> str | None:
        from dealercrm.adapters.db.orm import dealers as d

        row = conn.execute(select(d.c.region).where(d.c.id == dealer_id)).first() if dealer_id else None
        return row[0] if row else None

    def visible_to_dealer(self, p: Principal, campaign_id: int) -> bool:
        return any(r["id"] == campaign_id for r in self.list_campaigns(p, before_id=campaign_id + 1, limit=1))

    def campaign(self, campaign_id: int) -> dict[str, Any] | None:
        from dealercrm.adapters.db.marketing_tables import campaigns as c

        with self.engine.connect() as conn:
            row = conn.execute(select(c).where(c.c.id == campaign_id)).first()
        return _plain(row) if row else None

    def leads(self, p: Principal, *, campaign_id: int | None = None, status: str | None = None,
              dealer_id: int | None = None, due_on: dt.date | None = None, before_id: int | None = None,
              limit: int = 50) -> list[dict[str, Any]]:
        from dealercrm.adapters.db.marketing_tables import campaign_leads as cl
        from dealercrm.adapters.db.marketing_tables import campaigns as c
        from dealercrm.adapters.db.orders_tables import orders as o
        from dealercrm.adapters.db.orm import dealers as d

        q = (select(cl, c.c.name.label("campaign_name"), d.c.legal_name.label("dealer_name"),
                    o.c.order_no, type_coerce(o.c.total_fen, BigInteger).label("order_total_fen"))
             .select_from(cl).join(c, c.c.id == cl.c.campaign_id).join(d, d.c.id == cl.c.dealer_id)
             .outerjoin(o, o.c.id == cl.c.order_id)
             .where(_dealer_scope_sql(p, d.c.id, d.c.region)))
        if campaign_id is not None:
            q = q.where(cl.c.campaign_id == campaign_id)
        if status:
            q = q.where(cl.c.status == status)
        if dealer_id is not None:
            q = q.where(cl.c.dealer_id == dealer_id)
        if due_on is not None:
            q = q.where(cl.c.next_contact_on <= due_on)
        if before_id is not None:
            q = q.where(cl.c.id < before_id)
        q = q.order_by(cl.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [{**_plain(r), "order_total_fen": int(r.order_total_fen) if r.order_total_fen is not None else None}
                    for r in conn.execute(q)]
            last = self._last_follow_ups(conn, [r["id"] for r in rows])
        for row in rows:
            f = last.get(row["id"])
            row.update({"last_follow_up_at": f["at"] if f else None, "last_follow_up_by": f["by_name"] if f else None,
                        "last_follow_up_channel": f["channel"] if f else None,
                        "last_follow_up_note": f["note"] if f else None})
        return rows

    @staticmethod
    def _last_follow_ups(conn: Any, lead_ids: list[int]) -> dict[int, dict[str, Any]]:
        """The latest follow-up of each of a page's leads, in one statement."""
        from dealercrm.adapters.db.marketing_tables import lead_follow_ups as f

        if not lead_ids:
            return {}
        latest = select(func.max(f.c.id)).where(f.c.lead_id.in_(lead_ids)).group_by(f.c.lead_id)
        q = select(f.c.lead_id, f.c.at, f.c.by_name, f.c.channel, f.c.note).where(f.c.id.in_(latest))
        return {r.lead_id: _plain(r) for r in conn.execute(q)}

    def follow_ups(self, lead_id: int) -> list[dict[str, Any]]:
        from dealercrm.adapters.db.marketing_tables import lead_follow_ups as f

        q = (select(f.c.id, f.c.at, f.c.by_user_id, f.c.by_name, f.c.outcome, f.c.channel, f.c.note,
                    f.c.next_contact_on).where(f.c.lead_id == lead_id).order_by(f.c.id.desc()).limit(500))
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(q)]

    def due_leads(self, p: Principal, day: dt.date, limit: int) -> tuple[int, list[dict[str, Any]]]:
        with self.reads.connect() as conn:
            rows = [_plain(r) for r in conn.execute(_due_leads_query(p, max(limit, 1)), {"day": day})]
        total = int(rows[0]["_total"]) if rows else 0
        for row in rows:
            del row["_total"]
        return total, rows[:limit]

    def lead_figures(self, p: Principal, campaign_id: int) -> list[dict[str, Any]]:
        """Per dealer in scope: leads by status and the revenue of converted leads' orders
        (orders still alive: not draft, not cancelled)."""
        from dealercrm.adapters.db.marketing_tables import campaign_leads as cl
        from dealercrm.adapters.db.orders_tables import orders as o
        from dealercrm.adapters.db.orm import dealers as d
        from dealercrm.application.campaigns import NOT_REVENUE_STATES

        def count(status: str) -> Any:
            return func.sum(case((cl.c.status == status, 1), else_=0))

        revenue = func.sum(case((and_(cl.c.status == "converted", o.c.state.not_in(NOT_REVENUE_STATES)),
                                 type_coerce(o.c.total_fen, BigInteger)), else_=0))
        q = (select(cl.c.dealer_id, d.c.legal_name.label("dealer_name"), d.c.region, func.count().label("leads"),
                    count("new").label("new"), count("contacted").label("contacted"),
                    count("converted").label("converted"), count("lost").label("lost"),
                    func.coalesce(revenue, 0).label("revenue_fen"))
             .select_from(cl).join(d, d.c.id == cl.c.dealer_id).outerjoin(o, o.c.id == cl.c.order_id)
             .where(cl.c.campaign_id == campaign_id, _dealer_scope_sql(p, d.c.id, d.c.region))
             .group_by(cl.c.dealer_id, d.c.legal_name, d.c.region).order_by(cl.c.dealer_id))
        with self.engine.connect() as conn:
            return [{"dealer_id": r.dealer_id, "dealer_name": r.dealer_name, "region": r.region,
                     **{k: int(getattr(r, k)) for k in ("leads", "new", "contacted", "converted", "lost",
                                                        "revenue_fen")}}
                    for r in conn.execute(q)]
