"""Embedding dealercrm as a library — no HTTP involved.

    python examples/embed_dealercrm.py [DATABASE_URL]

Shows the facade: bootstrap (migrates the database), register a dealer, take it through review,
sign an agreement, and read it back as the dealer user would see it. Any port can be replaced,
e.g. ``bootstrap(clock=my_clock, password_hasher=my_hasher)``. It runs on ``sqlite:///:memory:``
too, and a second run on the same database finds the dealer of the first (a typed ``Conflict``
names the taken USCC) and reads it back instead.
"""

import datetime as dt
import sys

import dealercrm
from dealercrm.application.channel import AddAgreement, AddressIn, ContactIn, RegisterDealer
from dealercrm.domain.errors import Conflict
from dealercrm.domain.identity import Principal, Role

url = sys.argv[1] if len(sys.argv) > 1 else "sqlite:///var/embed-example.db"
crm = dealercrm.bootstrap(database_url=url)
staff = Principal(user_id=None, username="integration", role=Role.ADMIN)

USCC = "91110000600037341L"
try:
    reg = crm.channel.register_dealer(
        RegisterDealer(
            legal_name="成都蜀通专用汽车销售有限公司",
            uscc=USCC,
            region="西南",
            address=AddressIn("四川省", "成都市", "龙泉驿区汽车城大道18号"),
            contact=ContactIn(name="陈志强", title="总经理", phone="13980001234"),
            applicant_username="shutong",
            applicant_password="Shutong2026x",
        )
    )
except Conflict as taken:  # a second run: the dealer is there already
    if taken.code != "dealer.uscc_taken":
        raise
    (existing,) = crm.channel.list_dealers(staff, text=USCC)
    dealer_code, status = existing["code"], existing["status"]
else:
    crm.channel.submit(staff, reg.dealer_id)
    status = crm.channel.approve(staff, reg.dealer_id)
    crm.channel.add_agreement(
        staff, AddAgreement(reg.dealer_id, ("tanker", "semi_trailer"), ("四川省", "重庆市"), "credit",
                            dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    )
    dealer_code = reg.dealer_code
login = crm.identity.login("shutong", "Shutong2026x")
visible = crm.channel.list_dealers(login.principal)
RESULT = {"dealer_code": dealer_code, "status": str(status), "dealers_visible_to_dealer": len(visible)}
print(RESULT)
crm.close()
