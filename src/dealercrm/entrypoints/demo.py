"""Realistic Chinese demo data: 36 dealers across the seven sales regions, with management teams,
contacts (birthdays included), territories and agreements, and one user per role.

Deterministic (seeded), idempotent (does nothing when dealers already exist), and built only
through the use cases, so the demo also exercises every rule and writes a real audit trail.
"""

from __future__ import annotations

import datetime as dt
import random

from dealercrm.application import channel as ch
from dealercrm.application.identity import CreateUser
from dealercrm.bootstrap import Container
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc, beijing_date
from dealercrm.entrypoints.credit_demo import load_credit_demo

DEMO_PASSWORD = "Demo2026pass"

_CITIES = {
    "华北": [("河北省", "石家庄市"), ("山西省", "太原市"), ("北京市", "北京市"), ("天津市", "天津市"), ("内蒙古自治区", "包头市")],
    "东北": [("辽宁省", "沈阳市"), ("吉林省", "长春市"), ("黑龙江省", "哈尔滨市"), ("辽宁省", "大连市")],
    "华东": [("山东省", "济南市"), ("山东省", "临沂市"), ("江苏省", "徐州市"), ("安徽省", "合肥市"), ("浙江省", "宁波市"), ("福建省", "泉州市")],
    "华中": [("河南省", "郑州市"), ("湖北省", "十堰市"), ("湖南省", "长沙市"), ("江西省", "南昌市"), ("河南省", "驻马店市")],
    "华南": [("广东省", "广州市"), ("广西壮族自治区", "柳州市"), ("广东省", "佛山市"), ("海南省", "海口市")],
    "西南": [("四川省", "成都市"), ("重庆市", "重庆市"), ("云南省", "昆明市"), ("贵州省", "贵阳市"), ("四川省", "宜宾市")],
    "西北": [("陕西省", "西安市"), ("甘肃省", "兰州市"), ("新疆维吾尔自治区", "乌鲁木齐市"), ("宁夏回族自治区", "银川市"), ("青海省", "西宁市")],
}
_TRADE = ["专用车销售", "汽车贸易", "商用车销售服务", "重型汽车销售", "物流装备", "挂车销售"]
_BRAND = ["宏达", "顺通", "鑫源", "恒泰", "华运", "金桥", "远航", "万里", "兴旺", "中联", "瑞丰", "广汇", "鼎盛", "天润",
          "安达", "长风", "聚力", "永盛", "众诚", "同心", "海川", "启航", "嘉禾", "博远", "凯达", "祥瑞", "福源", "正通",
          "德胜", "利民", "华信", "立新", "东升", "锦程", "盛世", "百川"]
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = ["建国", "伟", "芳", "秀英", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀兰", "霞", "平", "刚", "海燕", "志强", "红梅", "国庆"]
_INDUSTRIES = ["危化品运输", "成品油运输", "城建渣土", "矿山运输", "冷链物流", "港口集装箱", "粮食运输", "水泥散装"]
_BANKS = ["中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "交通银行", "招商银行"]


def _uscc(rng: random.Random, area: str) -> str:
    body = "91" + area + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + Uscc.check_char(body)


def _phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "152", "186", "187", "135", "177"]) + f"{rng.randrange(10**8):08d}"


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


STAFF_USERS = [
    ("admin", "系统管理员", Role.ADMIN, ()),
    ("sales_huazhong", "销售代表·华中", Role.SALES, ("华中",)),
    ("rm_huadong", "大区经理·华东", Role.REGION_MANAGER, ("华东",)),
    ("procurement", "采购评审", Role.PROCUREMENT, ()),
    ("technical", "技术评审", Role.TECHNICAL, ()),
    ("production", "生产评审", Role.PRODUCTION, ()),
    ("finance", "财务", Role.FINANCE, ()),
    ("dispatch", "发车调度", Role.DISPATCH, ()),
    ("guard", "门卫", Role.GUARD, ()),
    ("aftersales", "售后服务", Role.AFTER_SALES, ()),
    ("marketing", "市场部", Role.MARKETING, ()),
]


def load_demo(container: Container, *, dealers: int = 36, seed: int = 2026,
              erp_state: str | None = None) -> list[tuple[str, str, str]]:
    """Load the demo; returns (username, password, role label) for every demo login.
    ``erp_state``: where the demo's simulated ERP keeps its book (default: beside the SQLite
    file, see ``demo_order_flow``)."""
    system = Principal.system()
    if container.channel.list_dealers(system, limit=1):
        return []
    rng = random.Random(seed)
    today = beijing_date(container.clock())
    logins: list[tuple[str, str, str]] = []
    for username, name, role, regions in STAFF_USERS:
        container.identity.create_user(system, CreateUser(username, name, role.value, DEMO_PASSWORD, regions=regions))
        logins.append((username, DEMO_PASSWORD, role.label))

    region_names = list(_CITIES)
    for i in range(dealers):
        region = region_names[i % len(region_names)]
        province, city = rng.choice(_CITIES[region])
        brand = _BRAND[i % len(_BRAND)]
        legal = f"{city[:-1] if city.endswith('市') else city}{brand}{rng.choice(_TRADE)}有限公司"
        boss = _person(rng)
        reg = container.channel.register_dealer(
            ch.RegisterDealer(
                legal_name=legal,
                short_name=f"{city[:2]}{brand}",
                uscc=_uscc(rng, f"{rng.randrange(110000, 660000):06d}"),
                region=region,
                address=ch.AddressIn(province, city, f"{rng.choice(['经开区', '高新区', '物流园', '汽车城'])}{rng.randrange(1, 300)}号"),
                contact=ch.ContactIn(
                    name=boss, title="总经理", phone=_phone(rng), kind="management",
                    birthday=dt.date(rng.randrange(1965, 1990), rng.randrange(1, 13), rng.randrange(1, 29)),
                    email=f"gm{i + 1:02d}@dealer{i + 1:02d}.example.cn",
                ),
                applicant_username=f"dealer{i + 1:02d}",
                applicant_password=DEMO_PASSWORD,
                bank_account=ch.BankAccountIn(
                    f"{rng.choice(_BANKS)}{city}分行", legal, "6222" + "".join(str(rng.randrange(10)) for _ in range(15))
                ),
                qualifications=(
                    ch.QualificationIn("营业执照", f"{rng.randrange(10**11, 10**12)}", None),
                    ch.QualificationIn("危险货物运输车辆销售备案", f"WX-{rng.randrange(10000, 99999)}",
                                       today + dt.timedelta(days=rng.randrange(60, 900))),
                ),
            )
        )
        logins.append((f"dealer{i + 1:02d}", DEMO_PASSWORD, f"经销商用户（{legal}）"))
        d = reg.dealer_id
        for title, kind in (("销售经理", "contact"), ("财务主管", "contact"), ("副总经理", "management")):
            container.channel.add_contact(
                system, d,
                ch.ContactIn(name=_person(rng), title=title, phone=_phone(rng), kind=kind,
                             birthday=dt.date(rng.randrange(1970, 1998), rng.randrange(1, 13), rng.randrange(1, 29))),
            )
        container.channel.set_territory(
            system, d, sorted({province, *(p for p, _ in rng.sample(_CITIES[region], 2))}),
            rng.sample(_INDUSTRIES, 2),
        )
        fate = i % 9
        if fate == 0:
            continue  # registered, not yet submitted
        container.channel.submit(system, d)
        if fate == 1:
            continue  # under review
        if fate == 2:
            container.channel.reject(system, d, "资质材料不全：缺少危险货物运输车辆销售备案")
            continue
        container.channel.approve(system, d)
        lines = rng.sample(["tanker", "dump_truck", "semi_trailer"], rng.randrange(1, 4))
        start = dt.date(today.year, 1, 1)
        container.channel.add_agreement(
            system,
            ch.AddAgreement(d, tuple(lines), (province,), rng.choice(["credit", "prepayment", "mixed", "acceptance_bill"]),
                            start, dt.date(today.year, 12, 31)),
        )
        if fate == 3:
            container.channel.suspend(system, d, "回款逾期超过90天，暂停发货")
    from dealercrm.entrypoints.workflow_demo import seed_workflow_demo

    logins += seed_workflow_demo(container, DEMO_PASSWORD)
    from dealercrm.entrypoints.demo_engagement import seed_engagement

    seed_engagement(container)
    from dealercrm.entrypoints.demo_orders import load_order_demo

    load_order_demo(container)  # catalog, discount tiers and orders in several states
    from dealercrm.entrypoints.demo_supplied_parts import seed_supplied_parts_demo

    seed_supplied_parts_demo(container)  # the customer-chassis order reviewed (contract issued), its goods received
    logins += load_credit_demo(container, DEMO_PASSWORD)  # before the gate: its pickups ask the credit rule
    from dealercrm.entrypoints.gate_demo import seed_gate_demo

    logins += seed_gate_demo(container)
    from dealercrm.entrypoints.demo_aftersales import load_aftersales_demo

    logins += load_aftersales_demo(container, DEMO_PASSWORD)  # stations, warranty, requests, a claim in review
    from dealercrm.entrypoints.demo_marketing import seed_marketing

    seed_marketing(container)  # trainings (meetings at the local video simulator), articles, forecasts, campaign
    from dealercrm.entrypoints.demo_order_flow import walk_order_flow_demo

    # after the credit demo (finance approval asks the credit rule) and the gate and after-sales
    # demos (their factory stock and credit reservations stay as they were)
    walk_order_flow_demo(container, erp_state=erp_state, seed=seed)
    from dealercrm.entrypoints.demo_messages import seed_messages

    seed_messages(container)  # an order thread with a dozen messages, a mention and a photo
    from dealercrm.entrypoints.demo_community import seed_community

    seed_community(container)  # answered questions, an accepted answer made an article, a locked post
    return logins


def demo_logins(container: Container) -> list[tuple[str, str, str]]:
    """The logins of an already loaded demo, read back from the database (``dealercrm demo
    logins``; ``serve --demo`` on a restart): every active user with the demo password, which
    holds unless someone changed it. Kiosk keys are stored hashed and are not among them."""
    system = Principal.system()
    logins: list[tuple[str, str, str]] = []
    after: int | None = None
    while page := container.identity.list_users(system, after_id=after, limit=200):
        for user in page:
            if user["is_active"]:
                label = Role(user["role"]).label
                name = user["display_name"]
                logins.append((user["username"], DEMO_PASSWORD, label if name == user["username"] else f"{label}（{name}）"))
        after = page[-1]["id"]
    return logins
