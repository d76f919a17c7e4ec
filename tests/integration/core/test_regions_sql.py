"""The sales regions on both engines: the migration seeds the seven regions, the repository counts
who names a region, and a save over a region written since it was read is a Conflict."""

from __future__ import annotations

import pytest
from sqlalchemy import update

import dealercrm
from dealercrm.adapters.db.orm import regions
from dealercrm.application import channel as ch
from dealercrm.application.services.regions import RegionIn
from dealercrm.domain.errors import BusinessRuleViolation, Conflict
from dealercrm.domain.identity import Principal
from dealercrm.domain.regions import RegionUse

ADMIN = Principal.system()


@pytest.fixture
def crm(db_url):
    c = dealercrm.bootstrap(database_url=db_url)
    yield c
    c.close()


def test_seeded_regions_their_use_and_a_stale_save(crm):
    crm.channel.register_dealer(ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc="91350100M000100Y43", region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经三路1号"),
        contact=ch.ContactIn("张三", "总经理", "13800138000", kind="management"),
        applicant_username="hongda", applicant_password="Hongda2026ok"))
    central = next(r for r in crm.regions.list_regions(ADMIN) if r["name"] == "华中")
    added = crm.regions.create_region(ADMIN, RegionIn(name="港澳", sort_order=80, provinces=("香港",), code="hkmo"))

    with pytest.raises(BusinessRuleViolation):
        crm.regions.set_active(ADMIN, central["id"], False, version=central["version"])
    with crm.uow(ADMIN) as uow:
        use = uow.regions.usage("华中", active_only=True)
        mine = uow.regions.get(added["id"])
        uow.session.execute(update(regions).where(regions.c.id == added["id"]).values(version=2))  # someone else
        mine.edit(name="港澳", sort_order=81, provinces=["香港"], use=RegionUse(), now=added["updated_at"])
        with pytest.raises(Conflict):
            uow.regions.save(mine)
    saved = crm.regions.edit_region(ADMIN, added["id"], RegionIn(name="港澳", sort_order=81, provinces=("香港", "澳门")),
                                    version=1)

    assert crm.regions.active_names() == ["华北", "东北", "华东", "华中", "华南", "西南", "西北", "港澳"]
    assert use == RegionUse(dealers=1, users=0, stations=0)
    assert (saved["version"], saved["provinces"]) == (2, ["香港", "澳门"])
