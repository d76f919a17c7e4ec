"""The supplied-parts ledger through the SQL unit of work on SQLite and PostgreSQL: it round-trips,
is audited with the change, and concurrent issues of the same goods never take more than is in
store."""

import datetime as dt

from sqlalchemy import select

from dealercrm.adapters.db.orm import audit_log
from dealercrm.application import supplied_parts as sp
from dealercrm.domain.errors import Conflict
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import SuppliedPartIn
from dealercrm.domain.supplied_parts import ItemKind, Movement
from tests.fakes import race

from .test_order_persistence import SYSTEM, crm, draft  # noqa: F401  (fixture)

STORE = Principal(user_id=None, username="store01", role=Role.PROCUREMENT)
PROD = Principal(user_id=None, username="prod01", role=Role.PRODUCTION)


def released_order(crm):
    ref = crm.orders.create(crm.dealer, draft(crm, supplied_parts=(
        SuppliedPartIn("chassis", "客户自带底盘", "LZZ5BLSD8NW123456"),
        SuppliedPartIn("chassis", "陕汽德龙底盘", quantity=2),
        SuppliedPartIn("part", "米其林轮胎", quantity=12))), True)
    with crm.uow(SYSTEM) as uow:
        order = uow.orders.get(ref.id)
        now = dt.datetime.now(dt.UTC)
        order.review_passed(now)
        order.contract_issued("HT-1", now)
        order.contract_accepted(now)
        order.finance_approved(now)
        order.erp_released("JH000001", now)
        uow.commit()
    return ref.id


def test_the_ledger_round_trips_with_expanded_chassis_and_is_audited(crm):
    order_id = released_order(crm)

    crm.supplied_parts.receive(STORE, order_id, sp.MovementIn(4, 12, location="A-3", note="外观完好"))
    crm.supplied_parts.issue(PROD, order_id, sp.MovementIn(4, 5))

    with crm.uow(SYSTEM) as uow:
        ledger = uow.supplied_parts.for_order(order_id)
        items = [(i.line_no, i.kind, i.description, i.expected_quantity, i.serial, i.order_line_no, i.unit_index)
                 for i in ledger.items]
        entries = [(e.line_no, e.movement, e.quantity, e.location, e.note, e.by_name) for e in ledger.entries]
        assert ledger.entries[0].at.tzinfo is not None and ledger.version == 2
    with crm.engine.connect() as conn:
        audited = {r.entity for r in conn.execute(select(audit_log.c.entity))}
    view = crm.supplied_parts.ledger(crm.dealer, order_id)

    assert items == [(1, ItemKind.CHASSIS, "客户自带底盘", 1, "LZZ5BLSD8NW123456", 1, 0),
                     (2, ItemKind.CHASSIS, "陕汽德龙底盘（第1台/共2台）", 1, None, 2, 0),
                     (3, ItemKind.CHASSIS, "陕汽德龙底盘（第2台/共2台）", 1, None, 2, 1),
                     (4, ItemKind.PART, "米其林轮胎", 12, None, 3, 0)]
    assert entries == [(4, Movement.RECEIVE, 12, "A-3", "外观完好", "store01"), (4, Movement.ISSUE, 5, "", "", "prod01")]
    assert {"supplied_parts_ledger", "supplied_part_item"} <= audited
    assert view["balanced"] and view["totals"]["in_production"] == 5 and view["version"] == 2


def test_concurrent_issues_never_take_more_than_is_in_store(crm):
    order_id = released_order(crm)
    crm.supplied_parts.receive(STORE, order_id, sp.MovementIn(4, 10))

    def issue(_: int) -> str:
        crm.supplied_parts.issue(PROD, order_id, sp.MovementIn(4, 4))
        return "ok"

    outcomes = [o.code if isinstance(o, Conflict) else o for o in race(4, issue, catch=(Conflict,), timeout=60)]

    view = crm.supplied_parts.ledger(SYSTEM, order_id)
    line = next(i for i in view["items"] if i["line_no"] == 4)
    assert len(outcomes) == 4 and outcomes.count("ok") == 2
    assert (line["in_store"], line["in_production"]) == (2, 8) and view["balanced"]
    assert sum(1 for m in view["movements"] if m["movement"] == "issue") == 2


def test_the_demo_receives_the_customer_chassis_once(crm):
    from dealercrm.entrypoints.demo_orders import load_order_demo
    from dealercrm.entrypoints.demo_supplied_parts import seed_supplied_parts_demo
    from dealercrm.adapters.db.orders_tables import catalog_template_versions
    from dealercrm.application import channel as ch

    year = dt.date.today().year
    crm.channel.add_agreement(SYSTEM, ch.AddAgreement(crm.dealer_id, ("dump_truck", "semi_trailer"), ("河南省",),
                                                      "credit", dt.date(year - 1, 1, 1), dt.date(year + 1, 12, 31)))
    with crm.engine.begin() as conn:  # the demo starts from an empty catalog
        conn.execute(catalog_template_versions.delete())
        conn.exec_driver_sql("DELETE FROM catalog_templates")
    load_order_demo(crm.container)

    first = seed_supplied_parts_demo(crm.container)
    again = seed_supplied_parts_demo(crm.container)

    approved = [o for o in crm.orders.list_orders(SYSTEM, {"states": ["contract_signing"]})  # reviewed: contract issued
                if crm.supplied_parts.ledger(SYSTEM, o.id)["movements"]]
    view = crm.supplied_parts.ledger(SYSTEM, approved[0].id)
    assert (first, again) == (2, 0) and len(approved) == 1
    assert view["balanced"] and view["movements"][0]["photo_sha256"] and view["totals"]["received"] == 4
