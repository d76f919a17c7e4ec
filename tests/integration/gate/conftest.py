"""A dealercrm with two approved dealers, factory stock for each, gate staff and a kiosk key,
on SQLite and PostgreSQL, with a clock the tests move and a release-policy double."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.application import channel as ch
from dealercrm.application.identity import CreateUser
from dealercrm.application.vehicles import StockIn
from dealercrm.config import load_settings
from dealercrm.domain.errors import BusinessRuleViolation
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Vin
from tests.apps import app_for
from tests.fakes import FakeClock

SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "Passw0rd123"
PERSON_ID = "110105199003071239"  # the simulator's demo card (adapters/devices/sim DEMO_CARD)
OTHER_ID = "11010519491231002X"
# Bearer tokens are checked against real time, so the test clock starts at "now" and tests log
# in before they move it forward.
START = dt.datetime.now(dt.UTC).replace(microsecond=0)


class ReleasePolicyDouble:
    """Allows, or refuses with a credit code, and remembers what it was asked."""

    def __init__(self) -> None:
        self.refusal: str | None = None
        self.asked: list[tuple[int, str | None, list[str]]] = []

    def check_release(self, uow, dealer_id, contract_no, vins) -> None:  # type: ignore[no-untyped-def]
        self.asked.append((dealer_id, contract_no, list(vins)))
        if self.refusal:
            raise BusinessRuleViolation("经销商信用额度不足，不能放行", code=self.refusal)


def vin(n: int) -> str:
    return Vin.build("LZZ", "1CLVB", "T", "A", f"{n:06d}").value


def _dealer(crm, n: int, region: str) -> tuple[int, Principal]:  # type: ignore[no-untyped-def]
    uscc_body = f"9135010{n}M000100Y4"
    from dealercrm.domain.values import Uscc

    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name=f"经销商{n}专用车销售有限公司", uscc=uscc_body[:17] + Uscc.check_char(uscc_body[:17]), region=region,
        address=ch.AddressIn("河南省", "郑州市", f"经开区{n}号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000", email=f"gm{n}@dealer{n}.example.cn"),
        applicant_username=f"dealer{n}", applicant_password=PASSWORD))
    system = Principal.system()
    crm.channel.submit(system, reg.dealer_id)
    crm.channel.approve(system, reg.dealer_id)
    return reg.dealer_id, Principal(reg.user_id, f"dealer{n}", Role.DEALER, dealer_id=reg.dealer_id)


@pytest.fixture
def world(db_url):  # type: ignore[no-untyped-def]
    clock = FakeClock(START)
    policy = ReleasePolicyDouble()
    settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_json=True, log_level="WARNING",
                             principal_cache_seconds=0, login_rate_per_minute=1000, register_rate_per_hour=1000,
                             token_ttl_minutes=60 * 24 * 60)  # tokens live on the fake clock, which tests move by days
    crm = dealercrm.bootstrap(settings, clock=clock, vehicle_release_policy=policy)
    client = TestClient(app_for(crm, settings))
    with client:
        system = Principal.system()
        staff = {}
        for name, role, regions in (("admin", Role.ADMIN, ()), ("dispatch", Role.DISPATCH, ()),
                                    ("finance", Role.FINANCE, ()), ("guard", Role.GUARD, ()),
                                    ("production", Role.PRODUCTION, ()), ("east", Role.SALES, ("华东",)),
                                    ("central", Role.SALES, ("华中",))):
            uid = crm.identity.create_user(system, CreateUser(name, name, role.value, PASSWORD, regions=regions,
                                                              email=f"{name}@factory.example.cn"))
            staff[name] = Principal(uid, name, role, regions=regions)
        dealer_a, principal_a = _dealer(crm, 1, "华中")
        dealer_b, principal_b = _dealer(crm, 2, "华东")
        for n in range(1, 6):
            crm.gate.stock_in(staff["production"], StockIn(vin=vin(n), dealer_id=dealer_a, contract_no="HT-2026-000101",
                                                           product_line="tanker", model_code="HZZ5250GYY"))
        for n in range(11, 13):
            crm.gate.stock_in(staff["production"], StockIn(vin=vin(n), dealer_id=dealer_b,
                                                           contract_no="HT-2026-000202"))
        issued = crm.identity.issue_device_key(staff["admin"], "北门自助机", "北门")
        device = Principal(None, "device:北门自助机", Role.KIOSK, device_id=issued.credential_id)
        yield types.SimpleNamespace(
            client=client, crm=crm, clock=clock, policy=policy, staff=staff, dealer_a=dealer_a, dealer_b=dealer_b,
            a=principal_a, b=principal_b, device=device, device_headers={"X-Device-Key": issued.api_key},
            vin=vin, letter=letter, login=lambda username: login(client, username), PERSON_ID=PERSON_ID,
            OTHER_ID=OTHER_ID,
        )


def login(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def letter(vins: list[str], *, id_number: str = PERSON_ID, hours: int = 48, contract_no: str = "HT-2026-000101",
           start: dt.datetime = START) -> dict[str, object]:
    return {
        "contract_no": contract_no, "vins": vins, "person_name": "张伟", "id_number": id_number,
        "phone": "13912345678", "valid_from": (start - dt.timedelta(hours=1)).isoformat(),
        "valid_to": (start + dt.timedelta(hours=hours)).isoformat(),
    }
