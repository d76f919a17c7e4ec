"""Catalog and orders through the SQL unit of work on SQLite and PostgreSQL: round trips,
immutable versions, the timeline, atomicity and concurrent submissions."""

import datetime as dt

import pytest
from sqlalchemy import func, inspect, select

import dealercrm
from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.orders_tables import catalog_template_versions, order_events, orders
from dealercrm.application import channel as ch
from dealercrm.application.catalog import CreateTemplate
from dealercrm.application.orders import AddressIn, EndCustomerIn, OrderDraftIn
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import OrderState, SuppliedPartIn
from dealercrm.domain.values import Money, Uscc
from dealercrm.entrypoints.demo_orders import FUEL_TANKER
from tests.fakes import race

SYSTEM = Principal.system()
STD = ("AXLE-FUWA13", "TYRE-12R225", "RIM-STEEL", "SUSP-MECH", "ABS-4S2M", "TANK-5182", "COMP-4", "PUMP-GRAVITY",
       "LEG-STD")


class Env:
    """The container plus the dealer and template the tests use."""

    def __init__(self, container):
        self.container = container

    def __getattr__(self, name):
        return getattr(self.container, name)


@pytest.fixture
def crm(db_url):
    c = Env(dealercrm.bootstrap(database_url=db_url))
    body = "91410100MA0000001"
    reg = c.channel.register_dealer(ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc=body + Uscc.check_char(body), region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000"),
        applicant_username="hongda", applicant_password="Passw0rd123"))
    c.channel.submit(SYSTEM, reg.dealer_id)
    c.channel.approve(SYSTEM, reg.dealer_id)
    year = dt.date.today().year
    c.channel.add_agreement(SYSTEM, ch.AddAgreement(reg.dealer_id, ("tanker",), ("河南省",), "credit",
                                                    dt.date(year - 1, 1, 1), dt.date(year + 1, 12, 31)))
    c.dealer_id = reg.dealer_id
    c.dealer = Principal(user_id=reg.user_id, username="hongda", role=Role.DEALER, dealer_id=reg.dealer_id)
    c.template_id = c.orders.create_template(SYSTEM, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, True)).id
    yield c
    c.close()


def draft(crm, **over):
    kw = dict(template_id=crm.template_id, options=STD, quantity=2,
              requested_delivery_date=dt.date.today() + dt.timedelta(days=45), delivery_method="shipping",
              delivery_address=AddressIn("河南省", "郑州市", "物流园12号", "李国庆", "13903716688"),
              end_customer=EndCustomerIn("中石化河南石油分公司", "037165590000", "成品油运输"),
              supplied_parts=(SuppliedPartIn("chassis", "客户自带底盘", "LZZ5BLSD8NW123456"),))
    kw.update(over)
    return OrderDraftIn(**kw)


def test_migrations_build_the_order_tables(crm):
    names = set(inspect(crm.engine).get_table_names())

    assert {"catalog_templates", "catalog_template_versions", "dealer_price_tiers", "orders", "order_events",
            "order_price_quotes", "order_supplied_parts"} <= names
    assert migrate.current(crm.engine) == migrate.head()


def test_an_order_round_trips_with_its_values_children_and_estimate(crm):
    ref = crm.orders.create(crm.dealer, draft(crm))

    with crm.uow(SYSTEM) as uow:
        order = uow.orders.get(ref.id)
        assert order.delivery_address.consignee_phone.value == "13903716688"
        assert order.end_customer.industry == "成品油运输"
        assert order.supplied_parts[0].serial == "LZZ5BLSD8NW123456"
        assert order.estimate.total == order.total == Money(476_000_00)
        assert order.estimate.lines[0].label.startswith("40立方米")
        assert order.state is OrderState.DRAFT and order.events == []
        assert order.created_at.tzinfo is not None


def test_the_timeline_and_the_audit_trail_are_written_with_the_change(crm):
    ref = crm.orders.create(crm.dealer, draft(crm))
    crm.orders.submit(crm.dealer, ref.id)
    crm.orders.start_review(SYSTEM, ref.id)
    crm.orders.record_review_outcome(SYSTEM, ref.id, False, ("生产：交期无法满足",))

    timeline = crm.orders.timeline(crm.dealer, ref.id)
    history = crm.dealer_queries.audit_history("order", ref.id)

    # the override decides the order's review workflow: its first open step (采购评审) rejects
    assert [(e.kind, e.actor_name) for e in timeline] == [
        ("created", "hongda"), ("price_estimated", "hongda"), ("submit", "hongda"), ("start_review", "system"),
        ("review_step", "system"), ("review_returned", "system")]
    assert timeline[-1].data == {"reasons": ["采购评审：生产：交期无法满足"]}
    assert {h["entity"] for h in history} >= {"order", "order_supplied_part"}


def test_a_published_version_is_never_rewritten_and_orders_keep_theirs(crm):
    ref = crm.orders.create(crm.dealer, draft(crm))
    detail = crm.orders.template_detail(SYSTEM, crm.template_id)
    content = detail["draft"]
    from dealercrm.application.catalog import OptionGroupIn, OptionIn, SpecFieldIn, TemplateContentIn

    dearer = TemplateContentIn(
        name=content["name"], base_price_fen=content["base_price_fen"] + 5_000_00,
        spec_fields=tuple(SpecFieldIn(**s) for s in content["spec_fields"]),
        option_groups=tuple(OptionGroupIn(g["code"], g["name"], g["mode"], g["required"], tuple(
            OptionIn(**{**o, "requires": tuple(o["requires"]), "excludes": tuple(o["excludes"])})
            for o in g["options"])) for g in content["option_groups"]))
    crm.orders.revise_template(SYSTEM, crm.template_id, dearer)
    crm.orders.publish_template(SYSTEM, crm.template_id)

    with crm.engine.connect() as conn:
        prices = dict(conn.execute(select(catalog_template_versions.c.version, catalog_template_versions.c.base_price_fen)
                                   .where(catalog_template_versions.c.template_id == crm.template_id)).all())
    assert prices == {1: 238_000_00, 2: 243_000_00}
    crm.orders.submit(crm.dealer, ref.id)  # still on version 1, re-estimated on version 1
    assert crm.orders.detail(crm.dealer, ref.id)["estimate"]["list_unit_fen"] == 238_000_00


def test_a_failed_create_writes_nothing_and_consumes_no_number(crm):
    first = crm.orders.create(crm.dealer, draft(crm))

    with pytest.raises(InvalidValue):
        crm.orders.create(crm.dealer, draft(crm, options=(*STD, "SUSP-AIR")))
    second = crm.orders.create(crm.dealer, draft(crm))

    assert int(second.order_no[-6:]) == int(first.order_no[-6:]) + 1
    with crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(order_events)).scalar_one() == 4


def test_concurrent_submissions_of_one_order_let_exactly_one_through(crm):
    ref = crm.orders.create(crm.dealer, draft(crm))

    def submit(_: int) -> str:
        crm.orders.submit(crm.dealer, ref.id)
        return "ok"

    outcomes = [o if isinstance(o, str) else type(o).__name__
                for o in race(4, submit, catch=(IllegalTransition, Conflict), timeout=60)]

    assert outcomes.count("ok") == 1 and len(outcomes) == 4
    kinds = [e.kind for e in crm.orders.timeline(SYSTEM, ref.id)]
    assert kinds.count("submit") == 1


def test_the_demo_loads_every_state_on_both_engines(crm):
    from dealercrm.entrypoints.demo_orders import load_order_demo

    year = dt.date.today().year
    crm.channel.add_agreement(SYSTEM, ch.AddAgreement(crm.dealer_id, ("dump_truck", "semi_trailer"), ("河南省",),
                                                      "credit", dt.date(year - 1, 1, 1), dt.date(year + 1, 12, 31)))
    with crm.engine.begin() as conn:  # the demo starts from an empty catalog
        conn.execute(catalog_template_versions.delete())
        conn.exec_driver_sql("DELETE FROM catalog_templates")

    loaded = load_order_demo(crm.container)

    states = {o.state for o in crm.orders.list_orders(SYSTEM)}
    assert loaded["orders"] >= 8
    # the approved demo order got its e-contract generated by the review's outcome
    assert {"draft", "submitted", "in_review", "contract_signing", "returned", "awaiting_quote", "quoted",
            "cancelled"} <= states
    assert load_order_demo(crm.container) == {}


def test_the_audit_trail_of_an_order_records_what_changed_not_copies_of_the_row(crm):
    ref = crm.orders.create(crm.dealer, draft(crm))
    crm.orders.submit(crm.dealer, ref.id)

    history = crm.dealer_queries.audit_history("order", ref.id)

    created = next(h for h in history if h["entity"] == "order" and h["action"] == "create")
    assert created["changes"]["order_no"] and created["changes"]["state"] == "draft"
    assert created["entity_id"] == ref.id  # the new row's own id, not 0
    steps = [h for h in history if h["entity"] == "workflow_step" and h["action"] == "create"]
    assert steps and all(h["entity_id"] > 0 for h in steps) and len({h["entity_id"] for h in steps}) == len(steps)
    assert not {"estimate", "options", "return_reasons"} & set(created["changes"])
    submitted = next(h for h in history if h["entity"] == "order" and h["action"] == "update"
                     and "state" in h["changes"])
    assert submitted["changes"]["state"] == {"old": "draft", "new": "submitted"}
    assert "order_no" not in submitted["changes"]


def test_a_submitted_order_announces_its_four_reviews_on_the_addressees_workbenches(crm):
    sent = []
    crm.live.connect(lambda _channels, event: sent.append(event))

    crm.orders.create(crm.dealer, draft(crm), True)

    assert sent == [{"type": "workbench", "audience": [["region", "华中"], ["role", "procurement"],
                                                       ["role", "production"], ["role", "technical"]]}]


def test_a_new_workflow_is_the_sessions_own_object_and_a_later_change_in_the_transaction_updates_it(crm):
    from dealercrm.application.order_review import review_definition
    from dealercrm.application.workflow import WorkflowSubject
    from dealercrm.adapters.db.workflow_tables import workflows
    from dealercrm.domain.workflow import Workflow

    ref = crm.orders.create(crm.dealer, draft(crm))
    now = dt.datetime.now(dt.UTC)

    with crm.uow(crm.dealer) as uow:
        wf = Workflow.start(review_definition("华中"), WorkflowSubject("order", ref.id, ref.order_no, "评审",
                                                                     dealer_id=crm.dealer_id, region="华中"),
                            number="WF-TEST-1", submitted_by=crm.dealer, now=now)
        uow.workflows.add(wf)
        same = uow.workflows.get(wf.id)
        wf.withdraw(by=crm.dealer, now=now, reason="测试")
        uow.flush()
        uow.commit()

    with crm.engine.connect() as conn:
        row = conn.execute(select(workflows.c.status, workflows.c.version).where(workflows.c.id == wf.id)).one()
    assert same is wf and all(s.id is not None for s in wf.steps)
    assert (row.status.value if hasattr(row.status, "value") else row.status, row.version) == ("withdrawn", 2)
