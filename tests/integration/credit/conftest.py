"""Fixtures of the credit tests: a bootstrapped dealercrm with a hand-moved clock, and ``kit``:
dealers inserted directly (fast), two finance principals (four eyes), an invoicing clerk, and a
helper that grants a credit line through a change request and its approval."""

from __future__ import annotations

import datetime as dt
import itertools

import attrs
import pytest
from sqlalchemy import insert

import dealercrm
from dealercrm.adapters.db.orm import dealer_contacts, dealers
from dealercrm.application import credit
from dealercrm.domain.credit import CreditAccount
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc
from tests.fakes import FakeClock

FIN_A = Principal(user_id=9001, username="fin_a", role=Role.FINANCE)
FIN_B = Principal(user_id=9002, username="fin_b", role=Role.FINANCE)
INVOICER = Principal(user_id=9003, username="kaipiao", role=Role.INVOICING)
SALES = Principal(user_id=9004, username="sales_east", role=Role.SALES, regions=("华东",))

_seq = itertools.count(1)


def add_dealer(crm, *, region: str = "华中", email: str | None = "boss@dealer.example.cn",
               phone: str = "13800138000") -> int:
    n = next(_seq)
    body = f"91{410000 + n % 100000:06d}MA{n:07d}"
    with crm.engine.begin() as conn:
        dealer_id = conn.execute(insert(dealers).values(
            code=f"DL-T{n:06d}", legal_name=f"测试专用车销售有限公司{n}", short_name=f"测试{n}",
            uscc=body + Uscc.check_char(body), region=region, province="河南省", city="郑州市",
            address_detail=f"经开区{n}号", status="approved", territory_regions=[], territory_industries=[],
            version=1,
        ).returning(dealers.c.id)).scalar_one()
        conn.execute(insert(dealer_contacts).values(dealer_id=dealer_id, name="王建国", kind="management",
                                                    title="总经理", phone=phone, email=email, is_primary=True))
    return dealer_id


def grant(crm, dealer_id: int, limit_fen: int, **terms) -> None:
    """Finance A requests, finance B approves (four eyes)."""
    cr = credit.request_credit_change(
        credit.RequestCreditChange(dealer_id=dealer_id, reason="年度授信", limit_fen=limit_fen, **terms),
        crm.uow(FIN_A), crm.clock)
    credit.approve_credit_change(cr.id, "同意", crm.uow(FIN_B), crm.clock)


class Kit:
    fin_a = FIN_A
    fin_b = FIN_B
    invoicer = INVOICER
    sales = SALES

    def __init__(self, crm, clock: FakeClock) -> None:
        self.crm = crm
        self.clock = clock

    def add_dealer(self, **kw) -> int:
        return add_dealer(self.crm, **kw)

    def grant(self, dealer_id: int, limit_fen: int, **terms) -> None:
        grant(self.crm, dealer_id, limit_fen, **terms)

    def account(self, dealer_id: int) -> CreditAccount:
        """A detached copy of the dealer's account as committed."""
        with self.crm.uow(FIN_A) as uow:
            acc = uow.credit.lock_account(dealer_id)
            return CreditAccount(**{f.name: getattr(acc, f.name) for f in attrs.fields(CreditAccount)})

    def facts(self, dealer_id: int):
        with self.crm.uow(FIN_A) as uow:
            return uow.credit.exposure_from_facts(dealer_id)

    def reserve(self, dealer_id: int, contract_no: str, amount_fen: int, **kw):
        with self.crm.uow(FIN_A) as uow:
            r = credit.reserve_for_contract(uow, dealer_id, contract_no, amount_fen, **kw)
            uow.commit()
        return r


@pytest.fixture
def kit(crm, clock):
    return Kit(crm, clock)


@pytest.fixture
def clock():
    return FakeClock(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def crm(db_url, clock):
    c = dealercrm.bootstrap(database_url=db_url, clock=clock)
    yield c
    c.close()
