"""Demo data of after-sales: seven contracted service stations across the sales regions (a login
for two of them), warranty policies per product line (one per template), a parts catalogue with
station stock, vehicles delivered to end customers before today with their warranty records,
and service requests in several states — one open and waiting for dispatch, one sent to a
station, one out of warranty (the warning shows), one repaired, confirmed and claimed (its claim
waits in the after-sales reviewer's task list) and one major repair in the case library.
Stations carry their coordinates (the nearest-station query), Zhengzhou and Jinan their
technicians; the claimed repair was dispatched to a technician and has a photo (with its
thumbnail), and a delivered tanker has a maintenance plan due within the week.

Everything goes through the use cases. The delivered vehicles are stocked in with their past
dates (the retail sale itself belongs to the stock context); the warranty runs from the
delivery date kept on the warranty record.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib

from dealercrm.application import aftersales as af
from dealercrm.application import service_network as sn
from dealercrm.application.identity import CreateUser
from dealercrm.application.vehicles import StockIn
from dealercrm.bootstrap import Container
from dealercrm.domain.aftersales import SHANGHAI
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc, Vin

_STATIONS = [
    # name, region, province, city, lines, rate fen/h, class, capacity, login
    ("郑州宏运专用车服务站", "华中", "河南省", "郑州市", ("tanker", "dump_truck", "semi_trailer"), 8500, "class_1", 8,
     "station_zz"),
    ("洛阳顺达汽车维修服务站", "华中", "河南省", "洛阳市", ("tanker", "dump_truck"), 7200, "class_2", 5, None),
    ("济南鲁通专用车服务站", "华东", "山东省", "济南市", ("tanker", "semi_trailer"), 9000, "class_1", 6, "station_jn"),
    ("石家庄冀运汽修服务站", "华北", "河北省", "石家庄市", ("dump_truck", "semi_trailer"), 7000, "class_2", 4, None),
    ("成都蜀通专用车服务站", "西南", "四川省", "成都市", ("tanker", "dump_truck"), 8000, "class_2", 5, None),
    ("广州粤捷汽车服务站", "华南", "广东省", "广州市", ("tanker", "semi_trailer"), 9500, "class_1", 6, None),
    ("西安秦川专用车服务站", "西北", "陕西省", "西安市", ("dump_truck",), 6500, "class_3", 3, None),
]
# WGS-84 coordinates of the stations above, in order
_COORDINATES = [(34.7466, 113.6254), (34.6197, 112.4540), (36.6512, 117.1201), (38.0428, 114.5149),
                (30.5728, 104.0668), (23.1291, 113.2644), (34.3416, 108.9398)]
_TECHNICIANS = [  # station index, name, phone, skills
    (0, "王建国", "13903710101", ("tank_body", "hydraulic", "brake")),
    (0, "李卫东", "13903710102", ("engine", "electrical", "chassis")),
    (2, "孙立强", "13905310101", ("brake", "tyre_axle", "tank_body")),
]
_PARTS = [
    ("FV-2301", "罐体紧急切断阀", 45_000, 68_000, "件"), ("SL-0105", "人孔盖密封圈", 1_250, 2_000, "件"),
    ("HC-1180", "举升油缸总成", 320_000, 450_000, "件"), ("BR-0420", "制动气室", 18_500, 26_000, "件"),
    ("VL-0033", "呼吸阀", 6_800, 9_800, "件"), ("HS-0710", "液压软管 1m", 900, 1_500, "根"),
]
_DELIVERED = [
    # product line, VDS, model, customer, phone, delivered so many days before today
    ("tanker", "5GYYB", "HZ5320GYYE6", "河南中原石化物流有限公司", "13903711001", 230),
    ("tanker", "5GYYB", "HZ5320GYYE6", "郑州通达危险品运输有限公司", "13903711002", 1190),  # out of warranty
    ("dump_truck", "3ZZXA", "HZ3310ZZXE6", "洛阳城建渣土运输有限公司", "13803791003", 28),
    ("semi_trailer", "9GYYC", "HZ9400GYY", "山东鲁油物流有限公司", "13905311004", 500),
    ("tanker", "5GYYB", "HZ5180GSSE6", "济南市政环卫服务中心", "13905311005", 95),
]


def _user_principal(container: Container, username: str, role: Role) -> Principal:
    with container.uow(Principal.system()) as uow:
        user = uow.users.by_username(username)
        return Principal(user.id if user else None, username, role, station_id=user.station_id if user else None)


def _uscc(n: int) -> str:
    body = f"91{410100 + n:06d}MA{9000000 + n:07d}"
    return body + Uscc.check_char(body)


# Repair operations with standard hours (标准工时): the claim risk score compares labour against them.
_OPERATIONS = (
    ("TK-VALVE", "更换罐体紧急切断阀", 300),
    ("TK-SEAL", "更换人孔盖密封圈", 100),
    ("TK-WELD", "罐体焊缝补焊及探伤", 1200),
    ("HY-CYL", "举升油缸检修", 400),
    ("BR-CHAMBER", "更换制动气室", 150),
)


def load_aftersales_demo(container: Container, password: str) -> list[tuple[str, str, str]]:
    """Load the after-sales demo; returns (username, password, role label) of its logins."""
    from dealercrm.entrypoints.demo_customers import load_customers_demo
    from dealercrm.entrypoints.demo_parts_catalog import load_parts_catalog_demo
    from dealercrm.entrypoints.demo_parts_supply import load_parts_supply_demo

    system = Principal.system()
    svc = container.aftersales
    staff = _user_principal(container, "aftersales", Role.AFTER_SALES)
    if staff.user_id is None:
        return []
    now = container.clock()
    logins: list[tuple[str, str, str]] = []
    stations: list[int] = []
    for n, (name, region, province, city, lines, rate, cls, cap, login) in enumerate(_STATIONS, start=1):
        sid = svc.create_station(staff, af.StationIn(
            name, _uscc(n), region, province, city, f"{city}经开区汽配城{n * 7}号", "王站长", f"1390000{n:04d}",
            lines, rate, cls, cap, *_COORDINATES[n - 1]))
        stations.append(sid)
        if login:
            container.identity.create_user(system, CreateUser(login, f"{name}·接待", "station", password,
                                                              station_id=sid))
            logins.append((login, password, f"服务站用户（{name}）"))
    zz, ly, jn = stations[0], stations[1], stations[2]
    technicians = [container.stations.add_technician(staff, stations[k], sn.TechnicianIn(name, phone, skills))
                   for k, name, phone, skills in _TECHNICIANS]

    svc.put_policy(staff, af.PolicyIn("tanker", 24, 200_000, description="罐式车整车三包24个月或20万公里，以先到者为准"))
    svc.put_policy(staff, af.PolicyIn("dump_truck", 12, None, description="自卸车整车三包12个月"))
    svc.put_policy(staff, af.PolicyIn("semi_trailer", 36, 300_000, description="半挂车36个月或30万公里"))
    svc.put_policy(staff, af.PolicyIn("tanker", 36, 300_000, model_code="HZ5320GYYE6",
                                      description="铝合金运油车罐体延保：36个月或30万公里"))
    for part_no, pname, cost, price, unit in _PARTS:
        svc.put_part(staff, af.PartCatalogIn(part_no, pname, cost, price, unit))
    load_parts_catalog_demo(container, staff)
    for code, oname, centihours in _OPERATIONS:
        svc.put_operation(staff, af.OperationIn(code, oname, centihours))
    for sid, qty in ((zz, 10), (ly, 4), (jn, 6)):
        for part_no, *_ in _PARTS:
            svc.book_stock(staff, af.StockIn(sid, part_no, "receipt", qty, f"RK-{now.year}-{sid:03d}"))
    svc.transfer(staff, zz, ly, "HC-1180", 2, "洛阳站举升油缸缺货调拨")

    dealers = container.channel.list_dealers(system, status="approved", limit=5)
    production = _user_principal(container, "production", Role.PRODUCTION)
    vins = []
    owners: list[tuple[str, str, str, int | None, dt.date]] = []
    today = now.astimezone(SHANGHAI).date()
    for i, (line, vds, model, customer, phone, days_ago) in enumerate(_DELIVERED):
        delivered = today - dt.timedelta(days=days_ago)
        vin = Vin.build("LHZ", vds, "S", "B", f"{900001 + i:06d}").value
        dealer_id = dealers[i % len(dealers)]["id"] if dealers else None
        container.gate.stock_in(production, StockIn(
            vin=vin, dealer_id=dealer_id, order_no=f"SO-{delivered.year}-{900001 + i:06d}",
            contract_no=f"HT-{delivered.year}-9{i + 1:04d}", erp_tracking_no=f"LZ{delivered.year}9{i + 1:04d}",
            product_line=line, model_code=model,
            stocked_at=dt.datetime.combine(delivered - dt.timedelta(days=20), dt.time(9), dt.UTC)))
        svc.record_warranty(staff, af.WarrantyIn(vin, customer, phone, delivered))
        vins.append((vin, customer, phone))
        owners.append((vin, customer, phone, dealer_id, delivered))
    load_customers_demo(container, staff, owners)  # before the requests: they are checked against the contracts

    def request(k: int, fault: str, text: str, province: str, city: str, place: str, km: int | None = None) -> int:
        vin, customer, phone = vins[k]
        return svc.create_request(staff, af.RequestIn(vin, customer, phone, fault, text, province, city, place,
                                                      odometer_km=km)).request_id

    # 1. repaired, confirmed and claimed: the claim waits for the after-sales review
    r1 = request(0, "tank_body", "卸油时紧急切断阀关闭不严，底阀处渗漏", "河南省", "郑州市", "郑州市中牟县物流园", 86_000)
    svc.assign(staff, r1, None)
    zz_user = _user_principal(container, "station_zz", Role.STATION)
    svc.accept(zz_user, r1)
    container.stations.dispatch(zz_user, r1, technicians[0])
    rec1, _ = svc.record_repair(zz_user, r1, af.RepairIn(
        "紧急切断阀阀芯磨损，密封面有划痕", "更换紧急切断阀及人孔盖密封圈，气密性试验合格", "郑州市中牟县物流园（上门）",
        now - dt.timedelta(hours=6), now - dt.timedelta(hours=3), 350, "渗漏消除，客户现场验收",
        (af.PartIn("FV-2301", 1, "warranty"), af.PartIn("SL-0105", 2, "warranty")), "TK-VALVE"))
    svc.confirm_repair(zz_user, rec1, af.ConfirmIn("河南中原石化物流有限公司 李经理", 5, "响应及时，维修质量好"))
    svc.submit_claim(zz_user, rec1)
    container.media.upload(zz_user, "repair_record", rec1, _demo_png((200, 60, 40)), "image/png", "更换后的紧急切断阀")
    # 1b. the same valve on the same tanker again, 6 hours for a 3-hour job, with the first repair's
    # photo: the claim is flagged (risk score 100) and its review starts with 风险复核
    r1b = request(0, "tank_body", "紧急切断阀再次渗漏", "河南省", "郑州市", "郑州市中牟县物流园", 86_400)
    svc.assign(staff, r1b, zz)
    svc.accept(zz_user, r1b)
    rec1b, _ = svc.record_repair(zz_user, r1b, af.RepairIn(
        "紧急切断阀渗漏", "更换紧急切断阀", "郑州宏运专用车服务站", now - dt.timedelta(hours=8),
        now - dt.timedelta(hours=1), 600, "渗漏消除", (af.PartIn("FV-2301", 1, "warranty"),), "TK-VALVE"))
    container.media.upload(zz_user, "repair_record", rec1b, _demo_png((200, 60, 40)), "image/png", "更换后的紧急切断阀")
    svc.confirm_repair(zz_user, rec1b, af.ConfirmIn("河南中原石化物流有限公司 李经理", 4, None))
    svc.submit_claim(zz_user, rec1b)
    # 2. a major repair (out of warranty: paid repair) kept in the case library
    r2 = request(1, "tank_body", "罐体后封头焊缝开裂，运输途中发现渗漏，已紧急停运", "河南省", "郑州市", "郑州市荥阳市高速服务区")
    svc.assign(staff, r2, zz)
    svc.accept(zz_user, r2)
    rec2, _ = svc.record_repair(zz_user, r2, af.RepairIn(
        "罐体后封头环焊缝开裂约120mm", "倒罐清洗置换后补焊并探伤，水压试验合格", "郑州宏运专用车服务站",
        now - dt.timedelta(days=3), now - dt.timedelta(days=1), 1600, "修复，复检合格",
        (af.PartIn("VL-0033", 1, "repair"),)))
    svc.flag_major(staff, rec2, "双方协商：焊缝返修费用由厂家承担60%，客户承担40%；停运损失补偿一次性1.2万元",
                   1_200_000, "焊缝开裂系封头与筒体环缝未焊透，已反馈生产部加强环缝射线探伤抽检比例")
    container.media.upload(staff, "major_repair", rec2, _demo_png((90, 90, 90)), "image/png", "后封头焊缝开裂处")
    # a tanker's periodic maintenance, due within the week (a reminder on the next scheduler pass)
    container.stations.create_plan(staff, sn.PlanIn(vins[0][0], "罐体密封件与紧急切断阀定期检查", 90, None,
                                                    today - dt.timedelta(days=85), station_id=zz))
    # 3. sent to Jinan, waiting for the station to accept
    r3 = request(3, "brake", "半挂车第二轴制动气室漏气，制动拖滞", "山东省", "济南市", "济南市历城区港沟物流园", 152_000)
    svc.assign(staff, r3, None)
    # 4. open: waiting for dispatch
    request(2, "hydraulic", "举升时油缸抖动，满载举升无力", "河南省", "洛阳市", "洛阳市伊滨区渣土消纳场")
    load_parts_supply_demo(container, staff, zz_user, ly, rec2)
    return logins


def _demo_png(rgb: tuple[int, int, int], size: tuple[int, int] = (480, 360)) -> bytes:
    """A plain-colour PNG built with the standard library (the demo's stand-in for a repair photo)."""
    width, height = size
    row = b"\x00" + bytes(rgb) * width

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))
