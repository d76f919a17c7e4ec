"""Fixtures of the after-sales tests: a bootstrapped dealercrm on the test's database with a
hand-moved clock, a dealer and vehicles inserted directly, and ``kit`` helpers."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import insert

import dealercrm
from dealercrm.adapters.db.gate_tables import vehicles
from dealercrm.adapters.db.orm import dealers
from dealercrm.application import aftersales as af
from dealercrm.application.identity import CreateUser
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc, Vin
from tests.fakes import FakeClock

PASSWORD = "Passw0rd123"
_seq = itertools.count(1)


def vin(n: int) -> str:
    return Vin.build("LZZ", "1CSVC", "T", "A", f"{n:06d}").value


def uscc(n: int) -> str:
    body = f"91{420000 + n:06d}MA{n:07d}"
    return body + Uscc.check_char(body)


def station_in(n: int, *, region: str = "华中", province: str = "河南省", city: str = "郑州市",
               lines: tuple[str, ...] = ("tanker", "dump_truck"), rate: int = 8000, capacity: int = 5) -> af.StationIn:
    return af.StationIn(name=f"测试服务站{n}", uscc=uscc(n), region=region, province=province, city=city,
                        address=f"经开区第{n}大街", contact_name="李师傅", contact_phone="13912345678",
                        product_lines=lines, labour_rate_fen=rate, qualification="class_2", capacity=capacity)


class Kit:
    def __init__(self, crm, clock: FakeClock) -> None:
        self.crm = crm
        self.clock = clock
        self.svc = crm.aftersales
        self.staff = self.user("shouhou", Role.AFTER_SALES)
        self.finance = self.user("caiwu", Role.FINANCE)
        self._station_users: dict[int, Principal] = {}

    def user(self, username: str, role: Role, **kw) -> Principal:
        uid = self.crm.identity.create_user(Principal.system(), CreateUser(username, username, role.value, PASSWORD,
                                                                           **kw))
        return Principal(uid, username, role, dealer_id=kw.get("dealer_id"), station_id=kw.get("station_id"))

    def dealer(self, region: str = "华中") -> int:
        n = next(_seq)
        body = f"91{410000 + n:06d}MA{n:07d}"
        with self.crm.engine.begin() as conn:
            return conn.execute(insert(dealers).values(
                code=f"DL-S{n:06d}", legal_name=f"售后测试专用车销售有限公司{n}", short_name=f"售后{n}",
                uscc=body + Uscc.check_char(body), region=region, province="河南省", city="郑州市",
                address_detail=f"经开区{n}号", status="approved", territory_regions=[], territory_industries=[],
                version=1).returning(dealers.c.id)).scalar_one()

    def vehicle(self, n: int, dealer_id: int | None, product_line: str = "tanker", model_code: str = "HT5250GYY"
                ) -> str:
        v = vin(n)
        with self.crm.engine.begin() as conn:
            conn.execute(insert(vehicles).values(
                vin=v, state="sold", dealer_id=dealer_id, product_line=product_line, model_code=model_code,
                order_no=f"SO-2025-{n:06d}", contract_no=f"HT-2025-{n:06d}", version=1))
        return v

    def station(self, n: int, **kw) -> int:
        return self.svc.create_station(self.staff, station_in(n, **kw))

    def station_user(self, station_id: int) -> Principal:
        if station_id not in self._station_users:
            self._station_users[station_id] = self.user(f"station{station_id}", Role.STATION, station_id=station_id)
        return self._station_users[station_id]

    def policies(self) -> None:
        self.svc.put_policy(self.staff, af.PolicyIn("tanker", 24, 200_000))
        self.svc.put_policy(self.staff, af.PolicyIn("dump_truck", 12, None))
        self.svc.put_policy(self.staff, af.PolicyIn("semi_trailer", None, 300_000))

    def parts(self) -> None:
        self.svc.put_part(self.staff, af.PartCatalogIn("FV-2301", "罐体紧急切断阀", 45_000, 68_000))
        self.svc.put_part(self.staff, af.PartCatalogIn("SL-0105", "人孔盖密封圈", 1_250, 2_000))

    def request(self, v: str, *, who: Principal | None = None, phone: str = "13700001111", **kw) -> af.RequestCreated:
        body = dict(vin=v, customer_name="赵师傅", customer_phone=phone, fault_category="tank_body",
                    description="紧急切断阀关闭不严，卸油口滴漏", province="河南省", city="郑州市",
                    location="郑州市中牟县物流园")
        body.update(kw)
        return self.svc.create_request(who or self.staff, af.RequestIn(**body))


@pytest.fixture
def clock():
    return FakeClock(dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def crm(db_url, clock):
    c = dealercrm.bootstrap(database_url=db_url, clock=clock)
    yield c
    c.close()


@pytest.fixture
def kit(crm, clock):
    return Kit(crm, clock)
