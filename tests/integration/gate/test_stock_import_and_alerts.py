"""Opening-stock import (all rows or none, every bad row named), min/max and ageing alerts run
by the scheduler (once per crossing), keyset paging, CSV/XLSX export and statistics — over HTTP
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from sqlalchemy import func, select

from dealercrm.adapters.db.engagement_tables import alerts as alerts_table
from dealercrm.adapters.db.gate_tables import vehicles
from dealercrm.application.catalog import CreateTemplate
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import beijing_date
from dealercrm.entrypoints.demo_orders import FUEL_TANKER

MODEL = "HZZ5250GYY"
HEADER = "vin,model_code,stocked_in_on,contract_no,erp_tracking_no,agreed_delivery_date\n"


def _template(world) -> None:  # type: ignore[no-untyped-def]
    world.crm.orders.create_template(Principal.system(), CreateTemplate(MODEL, "tanker", FUEL_TANKER, True))


def _import(world, headers, csv_text: str, dealer_id: int | None = None):  # type: ignore[no-untyped-def]
    return world.client.post("/api/v1/stock/imports", headers={**headers, "content-type": "text/csv"},
                             params={"dealer_id": dealer_id or world.dealer_b}, content=csv_text.encode("utf-8"))


def _alerts(world, rule: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with world.crm.engine.connect() as conn:
        return [(r.key, getattr(r.state, "value", r.state)) for r in conn.execute(
            select(alerts_table.c.key, alerts_table.c.state).where(alerts_table.c.rule == rule)
            .order_by(alerts_table.c.id))]


def test_an_import_with_bad_rows_lists_every_one_and_imports_nothing(world):
    _template(world)
    admin = world.login("admin")
    day = beijing_date(world.clock()) - dt.timedelta(days=10)
    good = world.vin(201)
    bad_check = world.vin(202)[:8] + ("0" if world.vin(202)[8] != "0" else "1") + world.vin(202)[9:]
    text = HEADER + "\n".join([
        f"{good},{MODEL},{day},HT-OLD-1,ERP-1,",
        f"{bad_check},{MODEL},{day},,,",                   # row 3: check digit
        f"{world.vin(203)},NOPE,{day},,,",                  # row 4: template
        f"{world.vin(204)},{MODEL},2026-13-01,,,",          # row 5: date
        f"{good},{MODEL},{day},,,",                         # row 6: duplicate in the file
        f"{world.vin(11)},{MODEL},{day},,,",                # row 7: already in the database
        f"{world.vin(205)},{MODEL},{day},,,not-a-date",     # row 8: delivery date
    ]) + "\n"

    r = _import(world, admin, text)

    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "stock_import.invalid_rows"
    assert [(e["row"], e["field"], e["code"]) for e in body["errors"]] == [
        (3, "vin", "vin.check_digit"), (4, "model_code", "template.not_found"),
        (5, "stocked_in_on", "stock_import.date_malformed"), (6, "vin", "stock_import.duplicate_in_file"),
        (7, "vin", "stock_import.vin_exists"), (8, "agreed_delivery_date", "stock_import.date_malformed")]
    with world.crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(vehicles).where(vehicles.c.vin == good)).scalar() == 0
    assert _import(world, admin, "vin,colour\n").json()["code"] == "stock_import.unknown_column"
    assert _import(world, world.login("dealer2"), text).status_code == 403
    assert _import(world, world.login("east"), text, world.dealer_a).status_code == 404


def test_a_clean_import_fills_the_dealers_stock_once(world):
    _template(world)
    east = world.login("east")  # regional sales of 华东, dealer 2's region
    day = beijing_date(world.clock()) - dt.timedelta(days=70)
    rows = [f"{world.vin(300 + n)},{MODEL},{day},HT-OLD-{n},ERP-{n},{day + dt.timedelta(days=30)}" for n in range(3)]

    r = _import(world, east, "车架号,车型代码,入库日期,合同编号,流转单号,约定交付日期\n" + "\n".join(rows))

    assert r.status_code == 201, r.text
    assert r.json()["rows"] == 3 and r.json()["import_no"].startswith("SI-")
    dealer = world.login("dealer2")
    stock = world.client.get("/api/v1/stock/vehicles", headers=dealer, params={"where": "dealer"}).json()["items"]
    assert [v["vin"] for v in stock] == [world.vin(300 + n) for n in range(3)]
    assert stock[0]["ageing_band"] == "yellow" and stock[0]["days_in_stock"] >= 70
    assert stock[0]["erp_tracking_no"] == "ERP-0" and stock[0]["agreed_delivery_date"] == str(day + dt.timedelta(days=30))
    history = world.client.get(f"/api/v1/vehicles/{world.vin(300)}", headers=dealer).json()["history"]
    assert [(h["action"], h["action_label"]) for h in history] == [("initial_stock", "期初库存导入")]
    again = _import(world, east, HEADER + f"{world.vin(399)},{MODEL},{day},,,\n")
    assert (again.status_code, again.json()["code"]) == (409, "stock_import.already_imported")


def test_limits_and_ageing_alert_once_per_crossing(world):
    _template(world)
    c = world.client
    admin, central, dispatch, dealer = (world.login(n) for n in ("admin", "central", "dispatch", "dealer1"))
    assert c.put("/api/v1/stock/limits", headers=central, json={
        "dealer_id": world.dealer_a, "model_code": MODEL, "min_units": 3, "max_units": 1}).json()["field"] == "max_units"
    assert c.put("/api/v1/stock/limits", headers=central, json={
        "dealer_id": world.dealer_a, "model_code": "NOPE", "min_units": 1}).json()["field"] == "model_code"
    assert c.put("/api/v1/stock/limits", headers=world.login("east"), json={
        "dealer_id": world.dealer_a, "model_code": MODEL, "min_units": 1}).status_code == 404
    assert c.put("/api/v1/stock/limits", headers=central, json={
        "dealer_id": world.dealer_a, "model_code": MODEL, "min_units": 1, "max_units": 2}).status_code == 200
    assert c.put("/api/v1/stock/ageing-policy", headers=admin,
                 json={"yellow_from_days": 30, "red_from_days": 10}).json()["field"] == "red_from_days"
    policy = c.put("/api/v1/stock/ageing-policy", headers=admin, json={"yellow_from_days": 30, "red_from_days": 60})
    assert [b["band"] for b in policy.json()["bands"]] == ["green", "yellow", "red"]
    world.crm.engagement.run_scheduler_once(world.clock())
    assert _alerts(world, "stock.level") == [(f"below_min:{world.dealer_a}:{MODEL}:1", "open")]

    now = world.clock()
    sid = c.post("/api/v1/shipments/", headers=dispatch, json={
        "vins": [world.vin(n) for n in (1, 2, 3)], "carrier": "顺达物流", "driver_name": "刘师傅",
        "driver_id_number": world.OTHER_ID, "driver_phone": "13700001111", "truck_plate": "豫A12345挂",
        "planned_departure": now.isoformat(), "expected_arrival": (now + dt.timedelta(days=1)).isoformat()}).json()["id"]
    c.post(f"/api/v1/shipments/{sid}/depart", headers=dispatch)
    c.post(f"/api/v1/shipments/{sid}/receipt", headers=dealer, json={
        "receiver_name": "赵库管", "lines": [{"vin": world.vin(n), "outcome": "received"} for n in (1, 2, 3)]})
    summary = c.get("/api/v1/stock/summary", headers=central).json()["items"]
    assert [(s["model_code"], s["units"], s["level"]) for s in summary] == [(MODEL, 3, "above_max")]
    world.crm.engagement.run_scheduler_once(world.clock())
    world.crm.engagement.run_scheduler_once(world.clock())
    assert _alerts(world, "stock.level") == [(f"below_min:{world.dealer_a}:{MODEL}:1", "resolved"),
                                             (f"above_max:{world.dealer_a}:{MODEL}:1", "open")]

    for days in (31, 32, 61, 62):
        world.crm.engagement.run_scheduler_once(world.clock() + dt.timedelta(days=days))
    ageing = _alerts(world, "stock.ageing")
    assert len(ageing) == 6  # 3 vehicles × (yellow, then red): each band entered once
    assert [k.split(":")[0] for k, _ in ageing] == ["yellow"] * 3 + ["red"] * 3
    assert [s for k, s in ageing if k.startswith("yellow")] == ["resolved"] * 3
    dealer_alerts = world.crm.engagement.alerts(world.a)
    assert {a["rule"] for a in dealer_alerts} == {"stock.level", "stock.ageing"}
    assert world.crm.engagement.alerts(world.b) == []


def test_stock_pages_by_keyset_and_exports_csv_and_xlsx(world):
    c = world.client
    dispatch = world.login("dispatch")

    first = c.get("/api/v1/stock/vehicles", headers=dispatch, params={"where": "factory", "limit": 4}).json()
    second = c.get("/api/v1/stock/vehicles", headers=dispatch,
                   params={"where": "factory", "limit": 4, "cursor": first["next_cursor"]}).json()

    assert len(first["items"]) == 4 and first["next_cursor"]
    assert [v["vin"] for v in first["items"] + second["items"]] == \
        [world.vin(n) for n in (1, 2, 3, 4, 5, 11, 12)]
    assert second["next_cursor"] is None
    only = c.get("/api/v1/stock/vehicles", headers=dispatch,
                 params={"product_line": "tanker", "model_code": MODEL, "region": "华中", "state": "in_factory_stock"})
    assert len(only.json()["items"]) == 5
    assert c.get("/api/v1/stock/vehicles", headers=dispatch, params={"where": "moon"}).json()["field"] == "where"

    csv_file = c.get("/api/v1/stock/vehicles/export", headers=dispatch, params={"format": "csv", "region": "华东"})
    assert csv_file.headers["content-type"].startswith("text/csv")
    lines = csv_file.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("车架号,车辆状态,开票收款状态") and len(lines) == 3 and "已入库待提" in lines[1]
    xlsx = c.get("/api/v1/stock/vehicles/export", headers=dispatch, params={"format": "xlsx"})
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert sheet.max_row == 8 and world.vin(12) in values and "未开票" in values
    assert c.get("/api/v1/stock/vehicles/export", headers=dispatch, params={"format": "pdf"}).status_code == 422


def test_statistics_count_produced_stocked_delivered_per_period(world):
    c = world.client
    dispatch = world.login("dispatch")
    today = beijing_date(world.clock())
    sid = c.post("/api/v1/shipments/", headers=dispatch, json={
        "vins": [world.vin(1)], "carrier": "顺达物流", "driver_name": "刘师傅", "driver_id_number": world.OTHER_ID,
        "driver_phone": "13700001111", "truck_plate": "豫A12345挂", "planned_departure": world.clock().isoformat(),
        "expected_arrival": (world.clock() + dt.timedelta(days=1)).isoformat()}).json()["id"]
    c.post(f"/api/v1/shipments/{sid}/depart", headers=dispatch)

    r = c.get("/api/v1/stock/statistics", headers=dispatch, params={
        "period": "week", "date_from": (today - dt.timedelta(days=14)).isoformat(),
        "date_to": (today + dt.timedelta(days=1)).isoformat()})

    body = r.json()
    assert r.status_code == 200, r.text
    assert body["totals"]["stocked"] == 7 and body["totals"]["delivered"] == 1
    assert len(body["periods"]) >= 3 and all(p["period_start"] for p in body["periods"])
    by_region = c.get("/api/v1/stock/statistics", headers=dispatch, params={
        "period": "month", "date_from": today.isoformat(), "date_to": today.isoformat(), "region": "华东"}).json()
    assert by_region["totals"]["stocked"] == 2 and by_region["totals"]["delivered"] == 0
    assert c.get("/api/v1/stock/statistics", headers=dispatch, params={
        "period": "year", "date_from": today.isoformat(), "date_to": today.isoformat()}).json()["field"] == "period"
