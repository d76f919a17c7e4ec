"""Fixtures for the engagement context on real databases: a container with a settable clock,
dealers with contacts (and birthdays), staff users."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

import dealercrm
from dealercrm.adapters.security import JwtTokenService
from dealercrm.application import channel as ch
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc
from tests.fakes import FakeClock, PlainHasher

PASSWORD = "Passw0rd123"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
SYSTEM = Principal.system()


_uscc_seq = itertools.count(100)


def new_uscc() -> str:
    body = f"91410100MA{next(_uscc_seq):07d}"
    return body + Uscc.check_char(body)


class World:
    """A dealercrm over a real database, with helpers to populate it."""

    def __init__(self, db_url: str, start: dt.datetime, **settings) -> None:
        self.clock = FakeClock(start)
        self.settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_level="WARNING",
                                      principal_cache_seconds=0, sqlite_synchronous="NORMAL",
                                      login_rate_per_minute=1000, **settings)
        # Tokens are checked by PyJWT against the real time, so they are issued on it; everything
        # else runs on the fake clock.
        tokens = JwtTokenService(SECRET, issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience,
                                 ttl=dt.timedelta(hours=1), clock=lambda: dt.datetime.now(dt.UTC))
        self.crm = dealercrm.bootstrap(self.settings, clock=self.clock, password_hasher=PlainHasher(),
                                       token_service=tokens)
        self._users = itertools.count(1)

    def user(self, role: str, *, regions: tuple[str, ...] = (), dealer_id: int | None = None,
             phone: str | None = None, email: str | None = None, username: str | None = None) -> Principal:
        name = username or f"{role}{next(self._users)}"
        uid = self.crm.identity.create_user(SYSTEM, CreateUser(name, f"{role}用户", role, PASSWORD, dealer_id=dealer_id,
                                                               regions=regions, phone=phone, email=email))
        return Principal(user_id=uid, username=name, role=Role(role),
                         dealer_id=dealer_id, regions=regions)

    def dealer(self, *, region: str = "华中", name: str = "郑州宏达专用车销售有限公司", approve: bool = True,
               birthday: dt.date | None = None, phone: str = "13800138000", username: str | None = None,
               extra_contacts: tuple[tuple[str, dt.date | None, str], ...] = ()) -> tuple[int, list[int]]:
        """(dealer id, contact ids). The registering contact is primary."""
        uname = username or f"dealer{next(self._users)}"
        reg = self.crm.channel.register_dealer(ch.RegisterDealer(
            legal_name=name, uscc=new_uscc(), region=region, address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
            contact=ch.ContactIn(name="王建国", title="总经理", phone=phone, kind="management", birthday=birthday),
            applicant_username=uname, applicant_password=PASSWORD, short_name=name[:4],
        ))
        for cname, bday, cphone in extra_contacts:
            self.crm.channel.add_contact(SYSTEM, reg.dealer_id, ch.ContactIn(name=cname, title="销售经理", phone=cphone,
                                                                              birthday=bday))
        if approve:
            self.crm.channel.submit(SYSTEM, reg.dealer_id)
            self.crm.channel.approve(SYSTEM, reg.dealer_id)
        contacts = [c["id"] for c in self.crm.channel.dealer_detail(SYSTEM, reg.dealer_id)["contacts"]]
        return reg.dealer_id, contacts

    def dealer_user(self, dealer_id: int) -> Principal:
        row = next(u for u in self.crm.identity.list_users(SYSTEM, limit=1000) if u["dealer_id"] == dealer_id)
        return Principal(user_id=row["id"], username=row["username"], role=Role.DEALER, dealer_id=dealer_id)

    def close(self) -> None:
        self.crm.close()


@pytest.fixture
def world_factory(db_url):
    made: list[World] = []

    def make(start: dt.datetime = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), **settings) -> World:
        w = World(db_url, start, **settings)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
