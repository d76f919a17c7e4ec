"""Dealer and customer search on SQLite and PostgreSQL (issue 18 §8): a small Chinese corpus
written through the services (so the shared after_flush listener indexes it), searched through
the read side, with the ranked hits asserted per engine.

What each engine is expected to return:

* SQLite (FTS5, ``bm25``: name × 10, place × 1) and PostgreSQL (``tsvector`` weighted A name,
  B place, ``ts_rank``) agree wherever a word is in one row's name and only in another's place:
  the name hit ranks first on both.
* Two rows whose names both hold every word (中原物流公司 and 河南中原石化物流有限公司, searched
  by 中原物流) come out in the same order for different reasons: SQLite's bm25 normalises by the
  length of the text, so the shorter name ranks first; PostgreSQL's ``ts_rank`` does not
  normalise by length (normalisation 0) but, for an AND query, scores words that stand closer
  together higher — 中原 and 物流 are adjacent in the shorter name and apart (石化 between) in
  the longer — so the shorter name ranks first there too.
* A row found only by an identifier (a phone number's digits, a part of a code or USCC) has no
  score on either engine: it ranks after every full-text hit, by id.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

import dealercrm
from dealercrm.adapters.db import search_indexes
from dealercrm.adapters.db.customers_tables import end_customers
from dealercrm.application import channel as ch
from dealercrm.application.services.customers import CustomerIn
from dealercrm.domain.identity import Principal, Role

ADMIN = Principal(user_id=None, username="root", role=Role.ADMIN)
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _dealer(crm, name: str, uscc: str, username: str, province: str, city: str, region: str) -> int:
    phone = "1380013" + uscc[-4:].encode().hex()[:4]
    return crm.channel.register_dealer(ch.RegisterDealer(
        legal_name=name, uscc=uscc, region=region, address=ch.AddressIn(province, city, "一号路1号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone=phone),
        applicant_username=username, applicant_password="Passw0rd123")).dealer_id


@pytest.fixture
def crm(db_url):
    c = dealercrm.bootstrap(database_url=db_url, clock=lambda: NOW)
    yield c
    c.close()


def test_dealers_and_customers_are_found_by_their_chinese_words_ranked_and_each_dealer_only_finds_its_own(crm):
    hongda = _dealer(crm, "郑州宏达专用车销售有限公司", "91410100MA44A1B2C8", "hongda", "河南省", "郑州市", "华中")
    hydraulic = _dealer(crm, "洛阳中原液压设备有限公司", "91410300MA44A1B2DM", "zhongyuan", "河南省", "洛阳市", "华中")
    in_zhengzhou = _dealer(crm, "河南远航罐车销售有限公司", "91310000MA1FL0000N", "yuanhang", "河南省", "郑州市", "华中")
    a = Principal(user_id=2, username="hongda", role=Role.DEALER, dealer_id=hongda)
    b = Principal(user_id=3, username="zhongyuan", role=Role.DEALER, dealer_id=hydraulic)
    customers = crm.customers
    logistics = customers.create_customer(a, CustomerIn("河南中原石化物流有限公司", "0371-66881234", "company",
                                                        city="郑州市", address="中牟县物流园"))
    on_the_road = customers.create_customer(a, CustomerIn("赵师傅", "13700001111", city="郑州市",
                                                          address="中原路18号物流大厦"))
    short_name = customers.create_customer(b, CustomerIn("中原物流公司", "13900003333", "company", city="洛阳市"))
    renamed = customers.create_customer(a, CustomerIn("钱经理", "13800002222"))
    customers.update_customer(a, renamed, CustomerIn("钱经理", "13800002222", address="开封市液压件市场"))
    with crm.engine.begin() as conn:  # a bulk import bypasses the listener: the backfill indexes it
        imported = conn.execute(insert(end_customers).values(
            number="KH-2026-900001", name="许昌中原汽修厂", phone="0374-1234567", kind="company",
            dealer_id=hongda, created_at=NOW, created_by="import", version=1).returning(end_customers.c.id)).scalar()
        backfilled = search_indexes.backfill_all(conn)

    def dealers(q: str) -> list[int]:
        return [r["id"] for r in crm.channel.list_dealers(ADMIN, text=q)]

    def found(who: Principal, q: str, **kw: int) -> list[int]:
        return [r["id"] for r in customers.list_customers(who, q=q, **kw)]

    assert dealers("郑州") == [hongda, in_zhengzhou]  # in the name and the city, above the city only
    assert dealers("液压") == [hydraulic] and dealers("液压 郑州") == []
    assert dealers("MA44A1B2") == [hongda, hydraulic]  # a part of the USCC still finds it
    assert crm.channel.list_dealers(ADMIN, text="郑州", offset=1, limit=1)[0]["id"] == in_zhengzhou

    assert found(a, "中原物流") == [logistics, on_the_road]  # the name ranks above the address
    assert found(b, "中原物流") == [short_name]  # a dealer never finds another dealer's customer
    assert found(a, "中原物流", offset=1) == [on_the_road]
    assert found(a, "0371 6688 1234") == [logistics] and found(b, "0371 6688 1234") == []
    assert found(a, "液压") == [renamed]  # the edit was indexed in the same transaction
    assert backfilled == {"kb_search": 0, "dealer_search": 0, "customer_search": 1}
    assert found(a, "许昌 汽修") == [imported]
    expected = {"sqlite": [short_name, logistics, on_the_road],  # bm25: the shorter name first
                "postgresql": [short_name, logistics, on_the_road]}  # ts_rank: 中原 next to 物流 first
    assert found(ADMIN, "中原物流") == expected[crm.engine.dialect.name]
