"""Demo data for the approval workflow: staff with departments, dealers waiting for review in 华东
(so ``rm_huadong``'s task list is not empty), a region manager for 华中 (whose dealer applications
the main demo leaves under review), and a standing delegation for the coming week.

Built only through the use cases, like the rest of the demo; called once by ``load_demo``.
"""

from __future__ import annotations

import datetime as dt

from dealercrm.application import channel as ch
from dealercrm.application.identity import CreateUser
from dealercrm.bootstrap import Container
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc
from dealercrm.domain.workflow import beijing_date

_STAFF = [
    # username, name, role, regions, department
    ("rm_huazhong", "大区经理·华中", Role.REGION_MANAGER, ("华中",), "销售部"),
    ("sales_huadong", "销售代表·华东", Role.SALES, ("华东",), "销售部"),
    ("tech_lead", "技术部主管", Role.TECHNICAL, (), "技术部"),
]
_PENDING = [
    # legal name, USCC body (17 chars), city, contact, applicant login
    ("临沂顺达专用车销售有限公司", "91371300MA3C4D5E6", ("山东省", "临沂市"), "孙立军", "applicant_linyi"),
    ("宁波港联物流装备有限公司", "91330200MA2H7J8K9", ("浙江省", "宁波市"), "周海燕", "applicant_ningbo"),
]


def seed_workflow_demo(container: Container, password: str) -> list[tuple[str, str, str]]:
    """Returns the extra demo logins (username, password, label)."""
    system = Principal.system()
    logins: list[tuple[str, str, str]] = []
    ids: dict[str, int] = {}
    for username, name, role, regions, department in _STAFF:
        ids[username] = container.identity.create_user(system, CreateUser(
            username, name, role.value, password, regions=regions, department=department,
            email=f"{username}@factory.example.cn"))
        logins.append((username, password, f"{role.label}（{department}）"))
    for i, (legal, uscc_body, (province, city), contact, login) in enumerate(_PENDING):
        reg = container.channel.register_dealer(ch.RegisterDealer(
            legal_name=legal, uscc=uscc_body + Uscc.check_char(uscc_body), region="华东",
            address=ch.AddressIn(province, city, f"物流园{18 + i}号"),
            contact=ch.ContactIn(name=contact, title="总经理", phone=f"1380531{i:04d}", kind="management",
                                 email=f"gm@{login}.example.cn"),
            applicant_username=login, applicant_password=password,
            qualifications=(ch.QualificationIn("营业执照", f"3713{i}2026000{i}", None),),
        ))
        applicant = container.identity.login(login, password).principal
        container.channel.submit(applicant, reg.dealer_id)  # → a dealer_review task for rm_huadong
        logins.append((login, password, f"经销商用户（{legal}，审核中）"))
    # rm_huadong is away next week: sales_huadong covers the region's reviews (工作任务委托)
    rm = next((u for u in container.identity.list_users(system, limit=200) if u["username"] == "rm_huadong"), None)
    if rm is not None:
        week = beijing_date(container.clock()) + dt.timedelta(days=7 - beijing_date(container.clock()).weekday())
        container.workflow.set_delegation(system, ids["sales_huadong"], week, week + dt.timedelta(days=4),
                                          "休假，华东准入审核由销售代表代办", from_user_id=rm["id"])
    return logins
