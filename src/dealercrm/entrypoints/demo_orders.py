"""Demo catalog, discount tiers and orders (issue 4), built only through the use cases.

Templates per product line with realistic options and prices (fen):

* 罐式车 — HTL9400GYY 40 m³ 铝合金运油半挂车; HTL9401GFW 腐蚀性物品罐式运输半挂车 (a *special*
  model: every order needs a manual quote);
* 自卸车 — HTL3250ZLJ 5.6 米 U 型自卸车 (on a purchased chassis or the customer's own 客户自带底盘);
* 半挂车 — HTL9400TPB 13 米三轴平板半挂车, published twice (v2 after a steel price rise) so the
  demo shows orders priced on different versions.

Idempotent: does nothing when templates exist.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from dealercrm.application.catalog import (
    CreateTemplate,
    OptionGroupIn,
    OptionIn,
    SetPriceTier,
    SpecFieldIn,
    TemplateContentIn,
)
from dealercrm.application.orders import AddressIn, EndCustomerIn, OrderDraftIn
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import SuppliedPartIn
from dealercrm.domain.values import beijing_date

Y = 100  # fen per yuan


def _o(code: str, name: str, yuan: int = 0, *, special: bool = False, requires: tuple[str, ...] = (),
       excludes: tuple[str, ...] = ()) -> OptionIn:
    return OptionIn(code, name, yuan * Y, special, requires, excludes)


def _g(code: str, name: str, options: list[OptionIn], *, multiple: bool = False, required: bool = True) -> OptionGroupIn:
    return OptionGroupIn(code, name, "multiple" if multiple else "single", required, tuple(options))


def _s(key: str, label: str, value: str, unit: str = "", number: bool = True) -> SpecFieldIn:
    return SpecFieldIn(key, label, value, unit, "number" if number else "text")


_BRAKES = _g("brake", "电子制动", [_o("ABS-4S2M", "WABCO ABS 4S/2M（标配）"), _o("EBS", "WABCO EBS 电子制动系统", 9_800)])
_LEGS = _g("landing_gear", "支腿", [_o("LEG-STD", "标准单动支腿"), _o("LEG-JOST", "JOST 双速支腿", 2_800)])

FUEL_TANKER = TemplateContentIn(
    name="40立方米铝合金运油半挂车",
    base_price_fen=238_000 * Y,
    description="GB 18564.1 常压罐体；适用汽油、柴油、煤油运输（危险货物第3类）",
    spec_fields=(
        _s("tank_volume", "罐体有效容积", "40", "m³"),
        _s("tank_material", "罐体材质", "铝合金 5182-O", number=False),
        _s("dimensions", "外形尺寸（长×宽×高）", "11980×2500×3680", "mm", number=False),
        _s("curb_weight", "整备质量", "7800", "kg"),
        _s("gross_weight", "总质量", "40000", "kg"),
        _s("axles", "轴数", "3", "轴"),
        _s("kingpin", "牵引销", "2.0（50号）", "英寸", number=False),
    ),
    option_groups=(
        _g("axle", "车轴", [_o("AXLE-FUWA13", "富华 13T 三轴（标配）"), _o("AXLE-YORK13", "约克 13T 三轴", 4_500),
                           _o("AXLE-BPW13", "BPW 13T 三轴", 18_000)]),
        _g("tyre", "轮胎", [_o("TYRE-12R225", "12R22.5 钢丝真空胎（标配）"),
                           _o("TYRE-385", "385/65R22.5 宽体单胎", 9_600, requires=("RIM-ALU",))]),
        _g("rim", "轮辋", [_o("RIM-STEEL", "钢制轮辋（标配）"), _o("RIM-ALU", "铝合金锻造轮辋", 14_400)]),
        _g("suspension", "悬挂", [_o("SUSP-MECH", "机械悬挂（标配）"),
                                  _o("SUSP-AIR", "空气悬挂", 22_000, requires=("EBS",))]),
        _BRAKES,
        _g("tank", "罐体板材", [_o("TANK-5182", "铝合金 5182 板 5mm（标配）"),
                               _o("TANK-5083-6", "铝合金 5083 加厚板 6mm", 6_000)]),
        _g("compartments", "分仓", [_o("COMP-4", "4 仓（标配）"), _o("COMP-5", "5 仓", 3_500),
                                   _o("COMP-6", "6 仓", 7_000, excludes=("TANK-5083-6",))]),
        _g("pump", "卸油方式", [_o("PUMP-GRAVITY", "自流卸油（标配）"), _o("PUMP-STD", "卸油泵 80 型", 8_500),
                               _o("PUMP-METER", "卸油泵 + 流量计量系统", 26_000)]),
        _LEGS,
        _g("extras", "安全与智能选装", [_o("VAPOR", "油气回收系统", 5_600), _o("OVERFILL", "防溢流保护系统", 4_200),
                                       _o("RAIL", "罐顶折叠护栏", 1_800), _o("GPS", "北斗/GPS 双模定位终端", 1_500),
                                       _o("STATIC", "静电接地报警器", 1_200)], multiple=True, required=False),
        _g("custom", "非标定制", [_o("CUSTOM-LIVERY", "企业专属涂装与标识（需核价）", special=True),
                                  _o("CUSTOM-SPLIT", "双仓独立计量 + 油气回收联动（需核价）", special=True,
                                     requires=("PUMP-METER", "VAPOR"))], multiple=True, required=False),
    ),
)

CORROSIVE_TANKER = TemplateContentIn(
    name="腐蚀性物品罐式运输半挂车",
    base_price_fen=312_000 * Y,
    special=True,
    description="非标车型：罐体内衬与介质相关，每单须经技术与销售核价",
    spec_fields=(
        _s("tank_volume", "罐体有效容积", "26", "m³"),
        _s("tank_material", "罐体材质", "Q345R + 钢衬塑（PE）", number=False),
        _s("gross_weight", "总质量", "40000", "kg"),
        _s("axles", "轴数", "3", "轴"),
    ),
    option_groups=(
        _g("medium", "运输介质", [_o("MED-HCL", "盐酸（≤31%）"), _o("MED-NAOH", "液碱（≤50%）"),
                                 _o("MED-H2SO4", "硫酸（≥98%）", 12_000)]),
        _g("lining", "内衬", [_o("LIN-PE", "滚塑 PE 内衬（标配）"), _o("LIN-PTFE", "PTFE 内衬", 46_000)]),
        _BRAKES,
        _LEGS,
    ),
)

DUMP_TRUCK = TemplateContentIn(
    name="5.6米U型自卸车",
    base_price_fen=318_000 * Y,
    description="城建渣土与砂石运输；U 型货箱，前顶式举升",
    spec_fields=(
        _s("box_length", "货箱内长", "5600", "mm"),
        _s("box_volume", "货箱容积", "16.5", "m³"),
        _s("box_floor", "底板厚度", "8", "mm"),
        _s("drive", "驱动形式", "6×4", number=False),
        _s("gross_weight", "总质量", "25000", "kg"),
    ),
    option_groups=(
        _g("chassis", "底盘", [_o("CH-HOWO", "重汽豪沃 TX 6×4 400马力（标配）"),
                               _o("CH-X3000", "陕汽德龙 X3000 6×4 430马力", 23_000),
                               _o("CH-CUSTOMER", "客户自带底盘（上装改装）", -235_000)]),
        _g("box", "货箱", [_o("BOX-Q345", "U 型厢 Q345 8mm 底板（标配）"),
                          _o("BOX-HARDOX", "U 型厢 Hardox450 耐磨钢", 28_000)]),
        _g("lift", "举升", [_o("LIFT-FRONT", "HYVA 前顶式举升（标配）"), _o("LIFT-MID", "中顶式举升", -6_000)]),
        _g("cover", "顶盖", [_o("COVER-TARP", "手动篷布（标配）"),
                            _o("COVER-HYD", "电动液压密闭顶盖", 12_500, requires=("MUCK-MON",))]),
        _g("tyre_upgrade", "轮胎升级", [_o("TYRE-315", "315/80R22.5 真空胎", 6_000, excludes=("CH-CUSTOMER",))],
           required=False),
        _g("extras", "选装", [_o("MUCK-MON", "北斗定位 + 渣土车智能监控", 3_200), _o("LIFT-ALARM", "举升限位报警", 800),
                            _o("CAMERA", "倒车影像", 1_200), _o("SIDE-GUARD", "侧防护栏加强", 1_500)],
           multiple=True, required=False),
        _g("custom", "非标定制", [_o("BOX-6200", "非标加长 6.2 米货箱（需核价）", 18_000, special=True)],
           required=False),
    ),
)


def _flatbed(base_yuan: int) -> TemplateContentIn:
    return TemplateContentIn(
        name="13米三轴平板半挂车",
        base_price_fen=base_yuan * Y,
        description="13 米平板，兼容 20/40 英尺集装箱（选装锁头）",
        spec_fields=(
            _s("length", "车长", "13000", "mm"),
            _s("width", "车宽", "2550", "mm"),
            _s("deck_height", "平台高度", "1500", "mm"),
            _s("curb_weight", "整备质量", "6900", "kg"),
            _s("axles", "轴数", "3", "轴"),
            _s("main_beam", "主梁", "Q345 工字梁 500mm", number=False),
        ),
        option_groups=(
            _g("axle", "车轴", [_o("AXLE-FUWA13", "富华 13T（标配）"), _o("AXLE-BPW13", "BPW 13T", 16_000)]),
            _g("tyre", "轮胎", [_o("TYRE-12R225", "12R22.5（标配）"), _o("TYRE-11R225", "11R22.5", -2_400)]),
            _g("suspension", "悬挂", [_o("SUSP-MECH", "机械悬挂（标配）"),
                                      _o("SUSP-AIR", "空气悬挂", 19_000, requires=("EBS",))]),
            _BRAKES,
            _g("deck", "平台", [_o("DECK-PLAIN", "花纹板平台（标配）"),
                               _o("DECK-LOCK", "集装箱锁头平台（12 个锁头）", 3_600, excludes=("SIDE-RAIL",))]),
            _LEGS,
            _g("extras", "选装", [_o("SIDE-RAIL", "可拆侧护栏", 4_800), _o("HEADBOARD", "前挡货架", 2_200),
                                _o("TOOLBOX", "工具箱", 800), _o("SPARE", "备胎架", 600)],
               multiple=True, required=False),
            _g("custom", "非标定制", [_o("DECK-3000", "超宽 3 米平台（需核价）", special=True)], required=False),
        ),
    )


# demo configurations (option codes of the templates above)
STD_FUEL = ("AXLE-FUWA13", "TYRE-12R225", "RIM-STEEL", "SUSP-MECH", "ABS-4S2M", "TANK-5182", "COMP-4",
            "PUMP-STD", "LEG-STD", "VAPOR", "OVERFILL")
AIR_FUEL = ("AXLE-BPW13", "TYRE-385", "RIM-ALU", "SUSP-AIR", "EBS", "TANK-5182", "COMP-5", "PUMP-METER",
            "LEG-JOST", "VAPOR", "GPS")
DUMP_STD = ("CH-HOWO", "BOX-Q345", "LIFT-FRONT", "COVER-HYD", "MUCK-MON", "CAMERA")
DUMP_OWN = ("CH-CUSTOMER", "BOX-HARDOX", "LIFT-FRONT", "COVER-TARP")
FLAT_STD = ("AXLE-FUWA13", "TYRE-12R225", "SUSP-MECH", "ABS-4S2M", "DECK-LOCK", "LEG-STD", "TOOLBOX")


def load_order_demo(container: Any, *, seed: int = 2026) -> dict[str, int]:
    """Templates, tiers for every approved dealer, and a handful of orders in several states."""
    system = Principal.system()
    svc = container.orders
    if svc.list_templates(system):
        return {}
    manager = Principal(user_id=None, username="rm_huadong", role=Role.ADMIN)
    fuel = svc.create_template(manager, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, publish=True))
    svc.create_template(manager, CreateTemplate("HTL9401GFW", "tanker", CORROSIVE_TANKER, publish=True))
    dump = svc.create_template(manager, CreateTemplate("HTL3250ZLJ", "dump_truck", DUMP_TRUCK, publish=True))
    flat = svc.create_template(manager, CreateTemplate("HTL9400TPB", "semi_trailer", _flatbed(98_000), publish=True))
    old_trailer = svc.create_template(manager, CreateTemplate("HTL9350TPB", "semi_trailer", TemplateContentIn(
        name="11.5米两轴平板半挂车（旧款）", base_price_fen=76_000 * Y,
        option_groups=(_g("axle", "车轴", [_o("AXLE-FUWA13", "富华 13T")]),)), publish=True))
    svc.retire_template(manager, old_trailer.id)

    rng = random.Random(seed)
    dealers = [d for d in container.channel.list_dealers(system, status="approved", limit=200)]
    lines_of: dict[int, set[str]] = {}
    for d in dealers:
        detail = container.channel.dealer_detail(system, d["id"])
        lines_of[d["id"]] = {line for a in detail["agreements"] if str(a["status"]) == "active"
                             for line in a["product_lines"]}
        for line in sorted(lines_of[d["id"]]):
            code, bp = rng.choice([("A", 500), ("B", 300), ("C", 150)])
            svc.set_price_tier(system, SetPriceTier(d["id"], line, code, bp))

    users = {u["dealer_id"]: u for u in container.identity.list_users(system, limit=200) if u["dealer_id"]}
    today = beijing_date(container.clock())
    created = 0

    def dealer_for(line: str) -> tuple[int, Principal] | None:
        for dealer_id in sorted(lines_of, key=lambda i: (i * 7919 + created) % 101):
            if line in lines_of[dealer_id] and dealer_id in users:
                u = users[dealer_id]
                return dealer_id, Principal(u["id"], u["username"], Role.DEALER, dealer_id=dealer_id)
        return None

    def order(template_id: int, line: str, options: tuple[str, ...], qty: int, **kw: Any) -> tuple[int, Principal] | None:
        nonlocal created
        found = dealer_for(line)
        if found is None:
            return None
        dealer_id, who = found
        ref = svc.create(who, OrderDraftIn(
            template_id=template_id, options=options, quantity=qty,
            requested_delivery_date=today + dt.timedelta(days=rng.randrange(30, 120)), **kw))
        created += 1
        return ref.id, who

    pickup = {"delivery_method": "self_pickup"}
    ship = {"delivery_method": "shipping",
            "delivery_address": AddressIn("河南省", "郑州市", "经开区第八大街物流园 12 号", "李国庆", "13903716688")}
    std_fuel, air_fuel, dump_std, dump_own, flat_std = STD_FUEL, AIR_FUEL, DUMP_STD, DUMP_OWN, FLAT_STD

    # a draft priced on flatbed v1, then the steel price rise publishes v2
    order(flat.id, "semi_trailer", flat_std, 10, **pickup)
    svc.revise_template(manager, flat.id, _flatbed(101_000))
    svc.publish_template(manager, flat.id)

    # submitted, in review, approved, returned
    for i, (tid, line, opts, qty, kw) in enumerate([
        (fuel.id, "tanker", std_fuel, 2, ship), (fuel.id, "tanker", air_fuel, 1, pickup),
        (dump.id, "dump_truck", dump_std, 5, ship), (flat.id, "semi_trailer", flat_std, 6, pickup),
    ]):
        made = order(tid, line, opts, qty, end_customer=EndCustomerIn("中石化河南石油分公司", "037165590000", "成品油运输")
                     if line == "tanker" else EndCustomerIn("郑州城建渣土运输有限公司", None, "城建渣土"), **kw)
        if made is None:
            continue
        order_id, who = made
        svc.submit(who, order_id)
        if i == 1:
            svc.start_review(system, order_id)
        elif i == 2:
            svc.start_review(system, order_id)
            svc.record_review_outcome(system, order_id, True)
        elif i == 3:
            svc.start_review(system, order_id)
            svc.record_review_outcome(system, order_id, False, ("技术：锁头平台与客户要求的侧护栏冲突，请确认配置",))

    # customer-supplied chassis
    made = order(dump.id, "dump_truck", dump_own, 3, supplied_parts=(
        SuppliedPartIn("chassis", "重汽豪沃 TX 6×4 底盘（客户自带）", "LZZ5BLSD8NW123456"),
        SuppliedPartIn("chassis", "重汽豪沃 TX 6×4 底盘（客户自带）", None),
        SuppliedPartIn("part", "客户自带北斗终端", None, 3)), **ship)
    # special configurations: awaiting quote, quoted, accepted and submitted
    for stage in ("awaiting", "quoted", "submitted"):
        made = order(fuel.id, "tanker", (*std_fuel, "CUSTOM-LIVERY"), 4, remarks="罐体喷涂客户企业 LOGO", **ship)
        if made is None:
            continue
        order_id, who = made
        svc.request_quote(who, order_id, "客户要求企业专属涂装")
        if stage == "awaiting":
            continue
        svc.issue_quote(manager, order_id, 251_800 * Y, "含专属涂装与标识，按 4 台批量价", today + dt.timedelta(days=15))
        if stage == "submitted":
            svc.accept_quote(who, order_id)
            svc.submit(who, order_id)
    # a cancelled draft
    made = order(dump.id, "dump_truck", dump_std, 1, **pickup)
    if made is not None:
        svc.cancel(made[1], made[0], "客户改订半挂车")
    return {"templates": 5, "orders": created}
