"""Repositories, migrations, audit trail and atomicity on SQLite and PostgreSQL."""

import datetime as dt
import threading

import pytest
from sqlalchemy import func, inspect, select

import dealercrm
from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.orm import audit_log, dealers, document_sequences, users
from dealercrm.application import channel as ch
from dealercrm.domain.errors import Conflict
from dealercrm.domain.identity import Principal, Role
from tests.fakes import race

ADMIN = Principal(user_id=None, username="root", role=Role.ADMIN)


def registration(uscc="91350100M000100Y43", username="hongda", phone="13800138000") -> ch.RegisterDealer:
    return ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc=uscc, region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone=phone, birthday=dt.date(1975, 3, 8),
                             id_number="110105199003071239"),
        applicant_username=username, applicant_password="Passw0rd123",
        bank_account=ch.BankAccountIn("工商银行郑州分行", "郑州宏达", "6222020200112233445"),
    )


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


@pytest.fixture
def crm(db_url):
    c = dealercrm.bootstrap(database_url=db_url)
    yield c
    c.close()


def test_migrations_build_the_schema_from_empty(crm):
    names = set(inspect(crm.engine).get_table_names())

    assert {"dealers", "dealer_contacts", "dealer_agreements", "users", "device_credentials", "audit_log", "notification_outbox"} <= names
    from alembic.script import ScriptDirectory

    assert migrate.current(crm.engine) == ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


def test_a_dealer_round_trips_with_its_value_objects_and_children(crm):
    reg = crm.channel.register_dealer(registration())
    crm.channel.add_agreement(ADMIN, ch.AddAgreement(reg.dealer_id, ("tanker", "dump_truck"), ("河南省",), "credit",
                                                     dt.date(2026, 1, 1), dt.date(2026, 12, 31)))

    with crm.uow(ADMIN) as uow:
        d = uow.dealers.get(reg.dealer_id)
        assert d.uscc.value == "91350100M000100Y43"
        assert d.address.city == "郑州市"
        assert d.bank_account.account_no == "6222020200112233445"
        assert d.contacts[0].phone.value == "13800138000"
        assert d.contacts[0].id_number.masked == "1101**********1239"
        assert d.agreements[0].product_lines == ["dump_truck", "tanker"]
        assert d.registered_at.tzinfo is not None
        assert d.events == []


def test_every_change_leaves_an_audit_row_in_the_same_transaction(crm):
    reg = crm.channel.register_dealer(registration())

    crm.channel.submit(ADMIN, reg.dealer_id)

    history = crm.channel.audit_history(ADMIN, reg.dealer_id)
    submit = next(h for h in history if h["entity"] == "dealer")  # the review workflow's rows sit beside it
    assert submit["action"] == "update"
    assert submit["changes"]["status"] == {"old": "registered", "new": "under_review"}
    assert submit["actor_name"] == "root"
    with crm.engine.connect() as conn:
        secrets = conn.execute(select(audit_log.c.changes).where(audit_log.c.entity == "user")).scalars().all()
    assert all(c.get("password_hash") == "***" for c in secrets)


def test_a_failure_mid_use_case_leaves_the_database_unchanged(db_url):
    class ExplodingHasher:
        def hash(self, password):
            raise RuntimeError("injected failure after the dealer was flushed")

        def verify(self, h, p):
            return False

        def needs_rehash(self, h):
            return False

    crm = dealercrm.bootstrap(database_url=db_url, password_hasher=ExplodingHasher())
    try:
        with pytest.raises(RuntimeError):
            crm.channel.register_dealer(registration())

        with crm.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(dealers)).scalar() == 0
            assert conn.execute(select(func.count()).select_from(users)).scalar() == 0
            assert conn.execute(select(func.count()).select_from(audit_log)).scalar() == 0
            assert conn.execute(select(func.count()).select_from(document_sequences)).scalar() == 0
    finally:
        crm.close()


def test_concurrent_registrations_of_one_uscc_admit_exactly_one(crm):

    def attempt(i: int) -> str:
        crm.channel.register_dealer(registration(username=f"user{i}"))
        return "ok"

    outcomes = ["conflict" if isinstance(o, Conflict) else o for o in race(8, attempt, catch=(Conflict,), timeout=60)]

    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]
    with crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dealers)).scalar() == 1


def test_dealer_codes_are_sequential_and_unique(crm):
    codes = [crm.channel.register_dealer(registration(u, f"user{i}", "13800138000")).dealer_code
             for i, u in enumerate(["91350100M000100Y43", "91110000600037341L"])]

    assert codes == ["DL-000001", "DL-000002"]


def test_list_filters_and_keyset_pagination(crm):
    a = crm.channel.register_dealer(registration())
    b = crm.channel.register_dealer(registration("91110000600037341L", "second", "13900139000"))
    crm.channel.add_agreement(ADMIN, ch.AddAgreement(b.dealer_id, ("semi_trailer",), (), "prepayment",
                                                     dt.date(2026, 1, 1), dt.date(2026, 12, 31)))

    first = crm.channel.list_dealers(ADMIN, limit=1)
    second = crm.channel.list_dealers(ADMIN, limit=1, after_id=first[0]["id"])
    trailers = crm.channel.list_dealers(ADMIN, product_line="semi_trailer")
    text = crm.channel.list_dealers(ADMIN, text="宏达")
    mine = crm.channel.list_dealers(Principal(user_id=a.user_id, username="x", role=Role.DEALER, dealer_id=a.dealer_id))

    assert [first[0]["id"], second[0]["id"]] == [a.dealer_id, b.dealer_id]
    assert [r["id"] for r in trailers] == [b.dealer_id]
    assert len(text) == 2
    assert [r["id"] for r in mine] == [a.dealer_id]


def _run_example(url):
    import runpy
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "examples" / "embed_dealercrm.py"
    sys.argv = [str(example), url]
    return runpy.run_path(str(example), run_name="__main__")["RESULT"]


def test_the_embedding_example_runs_twice_on_one_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'embed.db'}"
    for _ in range(2):  # the second run finds the first one's data and still ends the same way
        result = _run_example(url)
        assert result["status"] == "approved"
        assert result["dealers_visible_to_dealer"] == 1


def test_the_embedding_example_runs_on_an_in_memory_database():
    """``sqlite:///:memory:`` is one database shared by every thread of the container (the
    engine keeps its one connection), migrated like a file."""
    result = _run_example("sqlite:///:memory:")
    assert result["status"] == "approved"
    assert result["dealers_visible_to_dealer"] == 1


def test_detail_in_one_statement_matches_the_tables(crm):
    """The one-statement detail (JSON-aggregated children, run past Connection.execute) gives the
    same values and Python types as reading each table on its own."""
    from dealercrm.adapters.db.orm import dealer_agreements, dealer_contacts, dealer_qualifications

    reg = crm.channel.register_dealer(registration())
    crm.channel.add_contact(ADMIN, reg.dealer_id, ch.ContactIn(name="李四", title="财务", phone="13900139000",
                                                               kind="contact", email="li@example.com"))
    crm.channel.add_agreement(ADMIN, ch.AddAgreement(reg.dealer_id, ("tanker", "dump_truck"), ("河南省",), "credit",
                                                     dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
    crm.channel.update_profile(ADMIN, ch.UpdateProfile(reg.dealer_id, qualifications=(
        ch.QualificationIn("营业执照", "4101002000123", dt.date(2030, 5, 1)),)))

    detail = crm.dealer_queries.dealer_detail(reg.dealer_id)
    with crm.engine.connect() as conn:
        for label, table in (("contacts", dealer_contacts), ("qualifications", dealer_qualifications),
                             ("agreements", dealer_agreements)):
            expected = [dict(r._mapping) for r in
                        conn.execute(select(table).where(table.c.dealer_id == reg.dealer_id).order_by(table.c.id))]
            assert detail[label] == expected, label
            assert [type(v) for row in detail[label] for v in row.values()] == \
                   [type(v) for row in expected for v in row.values()], label
        dealer = dict(conn.execute(select(dealers).where(dealers.c.id == reg.dealer_id)).one()._mapping)
    assert {k: detail[k] for k in dealer} == dealer
    assert {k: type(detail[k]) for k in dealer} == {k: type(v) for k, v in dealer.items()}
    assert len(detail["contacts"]) == 2 and detail["contacts"][0]["id_number"].masked == "1101**********1239"
    assert crm.dealer_queries.dealer_detail(999_999) is None
    # a dealer without children gets empty lists, not None
    from dealercrm.domain.values import Uscc

    body = "91350100M000200Y4"
    other = crm.channel.register_dealer(registration(uscc=body + Uscc.check_char(body), username="other"))
    assert crm.dealer_queries.dealer_detail(other.dealer_id)["qualifications"] == []


def test_list_page_as_one_json_row_keeps_order_and_types(crm):
    from dealercrm.adapters.db.queries import _LIST_COLUMNS
    from dealercrm.domain.values import Uscc

    ids = []
    for i in range(5):
        body = f"91350100M00{i}300Y4"
        ids.append(crm.channel.register_dealer(registration(uscc=body + Uscc.check_char(body), username=f"user{i}")).dealer_id)
    page = crm.dealer_queries.list_dealers(dealer_id=None, regions=None, status=None, region="华中", product_line=None,
                                           text=None, after_id=ids[0], limit=3)
    with crm.engine.connect() as conn:
        expected = [dict(r._mapping) for r in conn.execute(
            select(*_LIST_COLUMNS).where(dealers.c.id > ids[0]).order_by(dealers.c.id).limit(3))]
    assert page == expected and [r["id"] for r in page] == ids[1:4]
    assert [type(v) for r in page for v in r.values()] == [type(v) for r in expected for v in r.values()]
    assert page[0]["registered_at"].tzinfo is not None
    assert crm.dealer_queries.list_dealers(dealer_id=None, regions=("西北",), status=None, region=None,
                                           product_line=None, text=None, after_id=None, limit=3) == []


def test_a_direct_read_binds_and_loads_values_as_connection_execute_does():
    """DirectRead hands the driver what Connection.execute would (an aware datetime as UTC, an
    enum as its value) and gives back the same values and types; an IN list, which Connection
    renders per call, is refused up front."""
    from sqlalchemy import Column, Integer, MetaData, Table, bindparam, create_engine, insert

    from dealercrm.adapters.db.direct_read import DirectRead
    from dealercrm.adapters.db.types import StrEnumType, UtcDateTime, ValueObjectType
    from dealercrm.domain.channel import DealerStatus
    from dealercrm.domain.values import Uscc

    rows = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime()),
                 Column("status", StrEnumType(DealerStatus)), Column("uscc", ValueObjectType(Uscc, 18)))
    engine = create_engine("sqlite://")
    rows.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(rows), {"at": dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC), "status": DealerStatus.APPROVED,
                                    "uscc": Uscc("91350100M000100Y43")})
    statement = select(rows).where(rows.c.at > bindparam("since"), rows.c.status == bindparam("status"))
    params = {"since": dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=8))), "status": "approved"}
    with engine.connect() as conn:
        expected = dict(conn.execute(statement, params).one()._mapping)

    found = DirectRead(lambda _dialect: statement).first(engine, params)

    assert found == expected and {k: type(v) for k, v in found.items()} == {k: type(v) for k, v in expected.items()}
    with pytest.raises(TypeError, match="ids"):
        DirectRead(lambda _dialect: select(rows).where(rows.c.id.in_(bindparam("ids", expanding=True)))).first(
            engine, {"ids": [1]})


@pytest.mark.postgres
def test_a_postgres_deadlock_becomes_a_retryable_conflict_and_writes_nothing(pg_url):
    """Two transactions lock two dealers in opposite orders; PostgreSQL kills one of them.

    The victim's use case must see a 409-class ``Conflict`` (code ``db.retry``), not a 500, and
    nothing it wrote may remain; the survivor commits normally.
    """
    crm = dealercrm.bootstrap(database_url=pg_url)
    try:
        a = crm.channel.register_dealer(registration()).dealer_id
        b = crm.channel.register_dealer(registration(uscc="91110000600037341L", username="dongfang",
                                                     phone="13800138001")).dealer_id
        both_hold_first = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def lock_in_order(name: str, first: int, second: int) -> None:
            try:
                with crm.uow(ADMIN) as uow:
                    s = uow.session
                    s.execute(select(dealers.c.id).where(dealers.c.id == first).with_for_update())
                    s.execute(dealers.update().where(dealers.c.id == first).values(short_name=f"by {name}"))
                    both_hold_first.wait(timeout=10)
                    s.execute(select(dealers.c.id).where(dealers.c.id == second).with_for_update())
                    uow.commit()
                outcomes[name] = "committed"
            except Conflict as exc:
                outcomes[name] = exc

        threads = [threading.Thread(target=lock_in_order, args=("x", a, b)),
                   threading.Thread(target=lock_in_order, args=("y", b, a))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)

        conflicts = [o for o in outcomes.values() if isinstance(o, Conflict)]
        assert sorted(outcomes) == ["x", "y"]
        assert len(conflicts) == 1 and conflicts[0].code == "db.retry"
        winner = next(name for name, o in outcomes.items() if o == "committed")
        loser = "y" if winner == "x" else "x"
        first_locked = {"x": a, "y": b}
        with crm.engine.connect() as conn:
            names = dict(conn.execute(select(dealers.c.id, dealers.c.short_name).where(dealers.c.id.in_([a, b]))).all())
        assert names[first_locked[winner]] == f"by {winner}"
        assert names[first_locked[loser]] != f"by {loser}"  # the victim's update was rolled back
    finally:
        crm.close()


def test_numbers_issued_in_the_first_hours_of_new_year_in_beijing_carry_the_new_year(db_url):
    # 2026-12-31 16:30 UTC is 2027-01-01 00:30 in Beijing, where the factory keeps its books
    c = dealercrm.bootstrap(database_url=db_url, clock=lambda: dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC))
    try:
        reg = c.channel.register_dealer(registration())
        _id, number = c.channel.add_agreement(ADMIN, ch.AddAgreement(
            reg.dealer_id, ("tanker",), ("河南省",), "credit", dt.date(2027, 1, 1), dt.date(2027, 12, 31)))
        assert number.startswith("AG-2027-")
    finally:
        c.close()
