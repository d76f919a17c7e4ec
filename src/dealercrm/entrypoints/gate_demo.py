"""Demo data of the vehicles & gate context: factory stock for the approved demo dealers, and a
pickup ready for the kiosk demo — a letter and an approved, handed-over gate pass for 张伟, whose
ID card is the device simulators' demo card (``adapters/devices/sim.DEMO_CARD``), so tapping
that card at a simulated kiosk finds and prints the pass, and the guard's scan lets it out.
Also one pass waiting in finance's queue, a shipment on its way to a third dealer (waiting for
its receipt), and a kiosk device key.

Everything goes through the use cases, so the demo writes real vehicle histories and audit rows.
"""

from __future__ import annotations

import datetime as dt
import random

from dealercrm.adapters.devices.sim import DEMO_CARD
from dealercrm.application import gate as g
from dealercrm.application import shipping as sh
from dealercrm.application.vehicles import StockIn
from dealercrm.bootstrap import Container
from dealercrm.domain.errors import DomainError
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import ChineseIdNumber, Vin, beijing_date

_MODELS = {
    "tanker": [("HZ5320GYYE6", "运油车 罐体30m³ 铝合金 4仓 底部装卸"), ("HZ5180GSSE6", "洒水车 罐体10m³ 前冲后洒")],
    "dump_truck": [("HZ3310ZZXE6", "自卸车 货箱7.6m U型底 高强钢"), ("HZ3250ZLJE6", "自卸式垃圾车 密封顶盖")],
    "semi_trailer": [("HZ9400GYY", "铝合金运油半挂车 45m³ 三轴"), ("HZ9401ZZX", "后翻自卸半挂车 三轴 空气悬挂")],
}
_VDS = {"tanker": "5GYYB", "dump_truck": "3ZZXA", "semi_trailer": "9GYYC"}
OTHER_PERSON_ID = "11010519491231002X"
DEMO_UNIT_PRICE_FEN = 30_000_000  # ¥300,000 a vehicle, for the demo contracts' credit reservations


def _staff(container: Container, username: str, role: Role) -> Principal:
    uow = container.uow(Principal.system())
    with uow:
        user = uow.users.by_username(username)
        return Principal(user.id if user else None, username, role)


def _dealer_user(container: Container, dealer_id: int) -> Principal:
    uow = container.uow(Principal.system())
    with uow:
        user = next(u for u in uow.users.of_dealer(dealer_id) if u.is_active)
        return Principal(user.id, user.username, Role.DEALER, dealer_id=dealer_id)


def seed_gate_demo(container: Container, *, seed: int = 2026) -> list[tuple[str, str, str]]:
    """Factory stock, the demo pickup and a kiosk key; returns lines for the demo's login list."""
    rng = random.Random(seed)
    now = container.clock()
    system = Principal.system()
    production = _staff(container, "production", Role.PRODUCTION)
    approved = container.channel.list_dealers(system, status="approved", limit=200)
    serial = 0
    year = beijing_date(now).year
    stock: dict[int, list[tuple[str, str]]] = {}
    for d in approved:
        detail = container.channel.dealer_detail(system, d["id"])
        lines = sorted({line for a in detail["agreements"] for line in a["product_lines"]}) or ["tanker"]
        for c in range(rng.randrange(1, 3)):
            contract_no = f"HT-{year}-{d['id']:03d}{c + 1:02d}"
            line = rng.choice(lines)
            model, configuration = rng.choice(_MODELS[line])
            for _ in range(rng.randrange(2, 5)):
                serial += 1
                vin = Vin.build("LHZ", _VDS[line], "T", "A", f"{serial:06d}").value
                container.gate.stock_in(production, StockIn(
                    # historical stock: order numbers from 900001 up, clear of the demo's live orders
                    vin=vin, dealer_id=d["id"], order_no=f"SO-{year}-{900_000 + serial:06d}", contract_no=contract_no,
                    erp_tracking_no=f"LZ{year}{serial:05d}", product_line=line, model_code=model,
                    configuration=configuration,
                    agreed_delivery_date=(now + dt.timedelta(days=rng.randrange(3, 30))).date(),
                    stocked_at=now - dt.timedelta(days=rng.randrange(1, 200), hours=rng.randrange(0, 24))))
                stock.setdefault(d["id"], []).append((contract_no, vin))
    if not stock:
        return []

    dispatch = _staff(container, "dispatch", Role.DISPATCH)
    finance = _staff(container, "finance", Role.FINANCE)
    digester = g.IdDigester(container.gate_keys.id_key)
    policy = container.vehicle_release_policy

    def credit_cleared(dealer_id: int) -> bool:
        """Reserve credit for the dealer's first demo contract (as finance's contract approval
        would); dealers the credit rule refuses (overdue, near the limit) get no demo pickup."""
        contract_no = stock[dealer_id][0][0]
        units = sum(1 for c, _ in stock[dealer_id] if c == contract_no)
        try:
            container.credit.reserve(finance, dealer_id, contract_no, units * DEMO_UNIT_PRICE_FEN)
        except DomainError:
            return False
        return True

    def letter_for(dealer_id: int, name: str, id_number: str, phone: str) -> tuple[g.Created, list[str]]:
        contract_no = stock[dealer_id][0][0]
        vins = [v for c, v in stock[dealer_id] if c == contract_no][:2]
        created = container.gate.register_authorization(_dealer_user(container, dealer_id), g.RegisterAuthorization(
            contract_no=contract_no, vins=tuple(vins), person_name=name, id_number=id_number, phone=phone,
            valid_from=now - dt.timedelta(hours=1), valid_to=now + dt.timedelta(days=14)))
        return created, vins

    dealers = [d for d in stock if credit_cleared(d)]
    if not dealers:
        return []
    ready, _ = letter_for(dealers[0], DEMO_CARD.name, DEMO_CARD.id_number, "13912345678")
    ready_pass = container.gate.create_pass(dispatch, g.CreateGatePass(ready.id, id_number=DEMO_CARD.id_number,
                                                                       id_source="card"))
    g.approve_gate_pass(ready_pass.id, container.uow(finance), container.clock, container.gate_keys.signer, digester,
                        policy)
    g.hand_over_gate_pass(ready_pass.id, container.uow(dispatch), container.clock, policy)
    if len(dealers) > 1:
        waiting, _ = letter_for(dealers[1], "李强", ChineseIdNumber(OTHER_PERSON_ID).value, "13687654321")
        container.gate.create_pass(dispatch, g.CreateGatePass(waiting.id, id_number=OTHER_PERSON_ID))

    if len(dealers) > 2:  # a truck on its way to a third dealer, waiting for its receipt
        vins = [v for _, v in stock[dealers[2]]][:3]
        shipment = container.gate.create_shipment(dispatch, sh.CreateShipment(
            vins=tuple(vins), carrier="郑州顺达物流有限公司", driver_name="刘建军", driver_id_number=OTHER_PERSON_ID,
            driver_phone="13700001111", truck_plate="豫A8K261挂", planned_departure=now,
            expected_arrival=now + dt.timedelta(days=2)))
        sh.depart_shipment(shipment.id, container.uow(dispatch), container.clock, policy)

    issued = container.identity.issue_device_key(_staff(container, "admin", Role.ADMIN), "北门自助机", "北门")
    return [
        ("北门自助机", "", f"自助终端设备凭证 X-Device-Key: {issued.api_key}"),
        (DEMO_CARD.name, "", f"演示提车人（身份证 {ChineseIdNumber(DEMO_CARD.id_number).masked}）：出门证 "
                             f"{ready_pass.number} 已审核、已交车，可在自助机刷卡打印"),
    ]
