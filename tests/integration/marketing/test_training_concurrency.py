"""Many dealers answering the same training at the same moment: every answer is kept (the
training row is locked on PostgreSQL, writers queue on SQLite), none is lost, none is refused."""

from __future__ import annotations

import datetime as dt

from dealercrm.application import training as tr
from dealercrm.domain.identity import Principal, Role
from tests.fakes import race

from .conftest import BEIJING, SYSTEM


def test_concurrent_answers_are_all_kept(world):
    w = world
    n = 12
    dealers = [w.dealer(username=f"dealer{i:02d}", name=f"测试{i}专用车销售有限公司") for i in range(n)]
    w.user("marketing", username="mkt")
    users = {u["dealer_id"]: u for u in w.crm.identity.list_users(SYSTEM, limit=200) if u["dealer_id"]}
    mkt = next(u for u in w.crm.identity.list_users(SYSTEM, limit=200) if u["username"] == "mkt")
    organizer = Principal(mkt["id"], "mkt", Role.MARKETING)
    start = dt.datetime(2026, 3, 10, 9, tzinfo=BEIJING)
    created = w.crm.marketing.create_training(organizer, tr.CreateTraining(
        title="并发确认", topic="产品", audience="dealers", starts_at=start, ends_at=start + dt.timedelta(hours=2),
        online=False, location="总部", invitees=tuple(tr.InviteeIn("dealer", d) for d in dealers)))
    who = [Principal(users[d]["id"], users[d]["username"], Role.DEALER, dealer_id=d) for d in dealers]

    # anything unexpected is an outcome too, reported below
    outcomes = race(n, lambda i: w.crm.marketing.respond(who[i], created.id, i % 3 != 0, "另有安排"), timeout=60)

    detail = w.crm.marketing.training(organizer, created.id)
    answers = {i["invitee_id"]: i["response"] for i in detail["invitations"]}
    assert [o for o in outcomes if not isinstance(o, str)] == []
    assert sorted(outcomes) == sorted(  # type: ignore[type-var]
        "confirmed" if i % 3 else "declined" for i in range(n))
    assert answers == {d: ("confirmed" if i % 3 else "declined") for i, d in enumerate(dealers)}
