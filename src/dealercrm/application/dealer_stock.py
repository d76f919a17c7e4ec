"""Use cases of dealer stock (经销商库存): retail sales and the customer's payments, returns and
exchanges, min/max per template, the ageing policy, a new dealer's opening-stock import, and the
two alert rules the scheduler runs (level crossings and ageing bands).

Vehicles enter a dealer's stock through the receipt (``application.shipping.submit_receipt``,
which moves them ``in_dealer_stock``); everything here moves them on from there and never sets a
stock number by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol, cast

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.aftersales import start_warranty_on_sale
from dealercrm.application.ports.aftersales import AftersalesRepository
from dealercrm.application.alerts import RuleContext
from dealercrm.application.gate import IDEMPOTENCY_KEY, Created, IdDigester, admits, run_client_event
from dealercrm.application.ports.gate import GateUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.stock import DealerStockUnitOfWork
from dealercrm.domain.alerts import Audience, Condition, Severity
from dealercrm.domain.dealer_stock import (
    AgeingBand,
    AgeingPolicy,
    CustomerKind,
    OpeningStockRow,
    RetailSale,
    SaleStatus,
    StockLimit,
    days_in_stock,
)
from dealercrm.domain.errors import Conflict, InvalidValue, InvariantBroken, NotFound
from dealercrm.domain.identity import Role
from dealercrm.domain.values import SHANGHAI, ChineseIdNumber, Phone, Uscc, Vin, beijing_date

SELLERS = (Role.DEALER, Role.ADMIN)
STOCK_PLANNERS = (Role.ADMIN, Role.REGION_MANAGER, Role.SALES)
MAX_IMPORT_ROWS = 200_000


class DealerStockRepository(Protocol):
    """``uow.stock`` (adapters/db/stock_tables.py). Loads for change lock on PostgreSQL."""

    def add_sale(self, sale: RetailSale) -> None: ...
    def sale(self, sale_id: int) -> RetailSale | None: ...
    def add_limit(self, limit: StockLimit) -> None: ...
    def limit(self, dealer_id: int, model_code: str) -> StockLimit | None: ...
    def all_limits(self) -> list[StockLimit]: ...
    def units_by_dealer_and_model(self) -> dict[tuple[int, str], int]: ...
    def dealer_stock_entries(self) -> list[tuple[int, str, str | None, dt.datetime, dt.datetime]]: ...
    def template_lines(self, model_codes: list[str]) -> dict[str, str]: ...
    def ageing_policy(self) -> AgeingPolicy: ...
    def set_ageing_policy(self, policy: AgeingPolicy, at: dt.datetime, by: str) -> None: ...
    def has_import(self, dealer_id: int) -> bool: ...
    def existing_vins(self, vins: list[str]) -> set[str]: ...
    def insert_opening_stock(self, dealer_id: int, rows: list[OpeningStockRow], *, import_no: str,
                             file_sha256: str, at: dt.datetime, actor: str) -> None: ...


class StockUnitOfWork(GateUnitOfWork, Protocol):
    stock: DealerStockRepository
    aftersales: AftersalesRepository  # a confirmed sale starts the warranty (issue 18 §6)


# ---------------------------------------------------------------------------------------------
# Retail sales


@attrs.frozen
class CustomerIn:
    kind: str
    name: str
    phone: str
    id_number: str | None = None
    uscc: str | None = None


@attrs.frozen
class RecordSale:
    vin: str
    customer: CustomerIn
    price_fen: int
    customer_receipt_no: str
    sold_at: dt.datetime | None = None
    note: str | None = None


@attrs.frozen
class RecordSalePayment:
    amount_fen: int
    paid_at: dt.datetime | None = None
    reference: str | None = None


@attrs.frozen
class ExchangeSale:
    new_vin: str
    reason: str
    customer_receipt_no: str
    price_fen: int | None = None
    at: dt.datetime | None = None


@attrs.frozen
class SaleState:
    id: int
    sale_no: str
    status: str
    status_label: str
    price_fen: int
    paid_fen: int
    open_fen: int
    vin: str
    vehicle_state: str


def _state(sale: RetailSale, vehicle_state: str) -> SaleState:
    if sale.id is None:
        raise InvariantBroken("sale has no id: not flushed")
    return SaleState(sale.id, sale.sale_no, sale.status.value, sale.status.label, sale.price_fen, sale.paid_fen,
                     sale.open_fen, sale.vin, vehicle_state)


def _customer(c: CustomerIn, digester: IdDigester) -> dict[str, Any]:
    try:
        kind = CustomerKind(c.kind)
    except ValueError:
        raise InvalidValue("customer.kind", "客户类型须为 person（个人）或 company（单位）",
                           code="customer.kind_unknown") from None
    try:
        phone = Phone(c.phone)
    except InvalidValue as err:
        raise InvalidValue("customer.phone", err.message, code=err.code) from None
    out: dict[str, Any] = {"customer_kind": kind, "customer_name": c.name, "customer_phone": phone.value,
                           "customer_id_masked": None, "customer_id_digest": None, "customer_uscc": None}
    if kind is CustomerKind.PERSON:
        if c.uscc:
            raise InvalidValue("customer.uscc", "个人客户不填统一社会信用代码", code="sale.customer_identity")
        try:
            person = ChineseIdNumber(c.id_number or "")
        except InvalidValue as err:
            raise InvalidValue("customer.id_number", err.message, code=err.code) from None
        out.update(customer_id_masked=person.masked, customer_id_digest=digester.lookup(person))
    else:
        if c.id_number:
            raise InvalidValue("customer.id_number", "单位客户不填身份证号", code="sale.customer_identity")
        try:
            out["customer_uscc"] = Uscc(c.uscc or "").value
        except InvalidValue as err:
            raise InvalidValue("customer.uscc", err.message, code=err.code) from None
    return out


def _visible_vehicle(uow: StockUnitOfWork, vin: str, field: str = "vin") -> Any:
    try:
        parsed = Vin(vin)
    except InvalidValue as err:
        raise InvalidValue(field, err.message, code=err.code) from None
    vehicle = uow.vehicles.get(parsed.value)
    if vehicle is None or vehicle.dealer_id is None or not admits(uow, vehicle.dealer_id):
        raise NotFound(f"车辆 {parsed} 不存在", code="vehicle.not_found", vin=parsed.value)
    return vehicle


def _visible_sale(uow: StockUnitOfWork, sale_id: int) -> RetailSale:
    sale = uow.stock.sale(sale_id)
    if sale is None or not admits(uow, sale.dealer_id):
        raise not_found("retail_sale", "销售单")
    return sale


def record_sale(cmd: RecordSale, uow: StockUnitOfWork, clock: Clock, digester: IdDigester) -> Created:
    """A vehicle leaves the dealer's stock to an end customer; the sale is unconfirmed until paid."""
    require_role(uow.actor, *SELLERS)
    customer = _customer(cmd.customer, digester)
    now = clock()
    with uow:
        vehicle = _visible_vehicle(uow, cmd.vin)
        sale = RetailSale.record(vehicle, sale_no=uow.numbers.formatted("RS", year=beijing_date(now).year), price_fen=cmd.price_fen,
                                 customer_receipt_no=cmd.customer_receipt_no, sold_at=cmd.sold_at or now,
                                 by=uow.actor.username, now=now, note=cmd.note, **customer)
        uow.stock.add_sale(sale)
        uow.flush()
        if sale.id is None:
            raise InvariantBroken("sale has no id: not flushed")
        result = Created(sale.id, sale.sale_no)
        uow.commit()
    return result


def _warranty_if_confirmed(uow: StockUnitOfWork, sale: RetailSale, now: dt.datetime) -> None:
    """A confirmed sale (paid in full) starts the vehicle's warranty from the sale date."""
    if sale.status is SaleStatus.CONFIRMED:
        start_warranty_on_sale(uow, vin=sale.vin, customer_name=sale.customer_name,
                               customer_phone=sale.customer_phone, sold_on=beijing_date(sale.sold_at), now=now)


def record_sale_payment(sale_id: int, cmd: RecordSalePayment, idempotency_key: str | None,
                        new_uow: Callable[[], StockUnitOfWork], clock: Clock, digester: IdDigester) -> SaleState:
    """The end customer paid (part of) the price; reaching the price confirms the sale.

    Booked once per ``idempotency_key`` (the client's ledger of the gate context): a retry with
    the same key and payment gets the first answer — or the first refusal — and books nothing;
    the same key with another payment is a 422."""
    def work(uow: StockUnitOfWork) -> dict[str, Any]:
        now = clock()
        sale = _visible_sale(uow, sale_id)
        sale.record_payment(cmd.amount_fen, cmd.paid_at or now, cmd.reference, uow.actor.username, now)
        _warranty_if_confirmed(uow, sale, now)
        vehicle = uow.vehicles.get(sale.vin)
        return attrs.asdict(_state(sale, vehicle.state.value if vehicle else ""))

    fingerprint = digester.fingerprint("retail_sale_payment", {
        "sale_id": sale_id, "amount_fen": cmd.amount_fen, "reference": cmd.reference,
        "paid_at": cmd.paid_at.isoformat() if cmd.paid_at else None})
    answer = run_client_event(new_uow, clock, roles=SELLERS, event_id=idempotency_key,
                              kind="retail_sale_payment", fingerprint=fingerprint, work=work,
                              key=IDEMPOTENCY_KEY)
    return SaleState(**answer)


def return_sale(sale_id: int, reason: str, at: dt.datetime | None, uow: StockUnitOfWork, clock: Clock) -> SaleState:
    """The customer brings the vehicle back: it is in the dealer's stock again."""
    require_role(uow.actor, *SELLERS)
    now = clock()
    when = _moment("returned_at", at, now)
    with uow:
        sale = _visible_sale(uow, sale_id)
        vehicle = uow.vehicles.get(sale.vin)
        if vehicle is None:
            raise InvariantBroken(f"vehicle {sale.vin} of sale {sale_id} is missing")
        sale.take_back(vehicle, reason, when, uow.actor.username)
        result = _state(sale, vehicle.state.value)
        uow.commit()
    return result


def exchange_sale(sale_id: int, cmd: ExchangeSale, uow: StockUnitOfWork, clock: Clock) -> Created:
    """The customer swaps the vehicle for another of the dealer's stock: the old one is back in
    stock, a new sale records the new one (same customer); payments made so far carry over."""
    require_role(uow.actor, *SELLERS)
    now = clock()
    when = _moment("at", cmd.at, now)
    with uow:
        old = _visible_sale(uow, sale_id)
        new_vehicle = _visible_vehicle(uow, cmd.new_vin, "new_vin")
        if new_vehicle.dealer_id != old.dealer_id or new_vehicle.vin.value == old.vin:
            raise NotFound(f"车辆 {new_vehicle.vin} 不存在", code="vehicle.not_found", vin=new_vehicle.vin.value)
        price = cmd.price_fen if cmd.price_fen is not None else old.price_fen
        if price < old.paid_fen:
            raise Conflict("新车价格低于已收金额，请先办理退款", code="sale.exchange_price_below_paid",
                           paid_fen=old.paid_fen)
        old_vehicle = uow.vehicles.get(old.vin)
        if old_vehicle is None:
            raise InvariantBroken(f"vehicle {old.vin} of sale {old.id} is missing")
        old.exchange(old_vehicle, cmd.reason, when, uow.actor.username)
        new = RetailSale.record(
            new_vehicle, sale_no=uow.numbers.formatted("RS", year=beijing_date(now).year), customer_kind=old.customer_kind,
            customer_name=old.customer_name, customer_phone=old.customer_phone,
            customer_id_masked=old.customer_id_masked, customer_id_digest=old.customer_id_digest,
            customer_uscc=old.customer_uscc, price_fen=price, customer_receipt_no=cmd.customer_receipt_no,
            sold_at=when, by=uow.actor.username, now=now, note=f"换车，原销售单 {old.sale_no}",
            replaces_sale_id=old.id)
        if old.paid_fen:
            new.record_payment(old.paid_fen, when, f"转自{old.sale_no}", uow.actor.username, now)
            _warranty_if_confirmed(uow, new, now)
        uow.stock.add_sale(new)
        uow.flush()
        if new.id is None:
            raise InvariantBroken("exchange sale has no id: not flushed")
        result = Created(new.id, new.sale_no)
        uow.commit()
    return result


def _moment(field: str, value: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if value is None:
        return now
    if value.utcoffset() is None or value > now + dt.timedelta(minutes=5):
        raise InvalidValue(field, "时间须带时区且不晚于当前时间", code="time.invalid")
    return value


# ---------------------------------------------------------------------------------------------
# Limits and the ageing policy


@attrs.frozen
class SetStockLimit:
    dealer_id: int
    model_code: str
    min_units: int | None = None
    max_units: int | None = None


def set_stock_limit(cmd: SetStockLimit, uow: StockUnitOfWork, clock: Clock) -> int:
    """Min and max units of one template at one dealer (created or changed)."""
    require_role(uow.actor, *STOCK_PLANNERS)
    now = clock()
    with uow:
        if uow.dealers.get(cmd.dealer_id) is None or not admits(uow, cmd.dealer_id):
            raise not_found("dealer", "经销商")
        if not uow.stock.template_lines([cmd.model_code]):
            raise InvalidValue("model_code", f"车型模板 {cmd.model_code} 不存在", code="template.not_found")
        limit = uow.stock.limit(cmd.dealer_id, cmd.model_code)
        if limit is None:
            limit = StockLimit(cmd.dealer_id, cmd.model_code, cmd.min_units, cmd.max_units, updated_at=now,
                               updated_by=uow.actor.username)
            uow.stock.add_limit(limit)
        else:
            limit.change(cmd.min_units, cmd.max_units, now, uow.actor.username)
        uow.flush()
        if limit.id is None:
            raise InvariantBroken("stock limit has no id: not flushed")
        limit_id = limit.id
        uow.commit()
    return limit_id


def set_ageing_policy(yellow_from_days: int, red_from_days: int, uow: StockUnitOfWork, clock: Clock) -> AgeingPolicy:
    require_role(uow.actor, Role.ADMIN)
    policy = AgeingPolicy(yellow_from_days, red_from_days)
    with uow:
        uow.stock.set_ageing_policy(policy, clock(), uow.actor.username)
        uow.commit()
    return policy


# ---------------------------------------------------------------------------------------------
# Opening stock of a new dealer (期初库存导入)

IMPORT_COLUMNS = ("vin", "model_code", "stocked_in_on", "contract_no", "erp_tracking_no", "agreed_delivery_date",
                  "configuration")
_HEADER_ALIASES = {"车架号": "vin", "VIN": "vin", "车型代码": "model_code", "车型模板": "model_code",
                   "入库日期": "stocked_in_on", "合同编号": "contract_no", "流转单号": "erp_tracking_no",
                   "ERP计划跟踪号": "erp_tracking_no", "约定交付日期": "agreed_delivery_date", "配置": "configuration"}
_REQUIRED = ("vin", "model_code", "stocked_in_on")
_DATE_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_OLDEST = dt.date(2000, 1, 1)


@attrs.frozen
class ImportResult:
    import_no: str
    dealer_id: int
    rows: int


class ImportRejected(InvalidValue):
    """The file has bad rows; nothing was imported. ``errors`` lists every one."""

    def __init__(self, errors: list[dict[str, Any]], message: str) -> None:
        super().__init__("file", message, code="stock_import.invalid_rows", errors=errors)
        self.errors = errors


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidValue("file", "文件须为 UTF-8 或 GB18030 编码的 CSV", code="stock_import.encoding")


def _date(raw: str) -> dt.date:
    m = _DATE_RE.match(raw)
    if not m:
        raise ValueError
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def parse_opening_stock(content: bytes, today: dt.date, model_lines: Any) -> tuple[list[OpeningStockRow], list[dict[str, Any]]]:
    """Every row of the file checked; returns the good rows and one error per bad field.

    ``model_lines(codes) -> {model_code: product_line}`` tells which templates exist. Row numbers
    are the file's line numbers as a spreadsheet shows them (the header is row 1).
    """
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidValue("file", "文件为空", code="stock_import.empty") from None
    names = [_HEADER_ALIASES.get(h.strip(), h.strip().lower()) for h in header]
    unknown = [h for h, n in zip(header, names) if n not in IMPORT_COLUMNS]
    if unknown:
        raise InvalidValue("file", f"未知的列：{'、'.join(unknown)}；可用列为 {', '.join(IMPORT_COLUMNS)}",
                           code="stock_import.unknown_column")
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        raise InvalidValue("file", f"缺少必需的列：{', '.join(missing)}", code="stock_import.missing_column")
    if len(set(names)) != len(names):
        raise InvalidValue("file", "列名重复", code="stock_import.duplicate_column")
    raw_rows = []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        raw_rows.append((reader.line_num, record))
        if len(raw_rows) > MAX_IMPORT_ROWS:
            raise InvalidValue("file", f"单次导入不超过{MAX_IMPORT_ROWS}行", code="stock_import.too_many_rows")
    if not raw_rows:
        raise InvalidValue("file", "文件没有数据行", code="stock_import.empty")
    codes = {r[names.index("model_code")].strip() for _, r in raw_rows if len(r) == len(names)}
    lines = model_lines(sorted(c for c in codes if c))
    errors: list[dict[str, Any]] = []
    good: list[OpeningStockRow] = []
    first_row_of: dict[str, int] = {}

    def bad(row: int, field: str, code: str, message: str) -> None:
        errors.append({"row": row, "field": field, "code": code, "message": message})

    width = len(names)
    for row, record in raw_rows:
        if len(record) != width:
            bad(row, "row", "stock_import.column_count", f"第{row}行有{len(record)}列，表头有{width}列")
            continue
        values = {n: record[i].strip() for i, n in enumerate(names)}
        before = len(errors)
        vin: Vin | None = None
        try:
            vin = Vin(values["vin"])
        except InvalidValue as err:
            bad(row, "vin", err.code, err.message)
        if vin is not None:
            if vin.value in first_row_of:
                bad(row, "vin", "stock_import.duplicate_in_file",
                    f"车架号 {vin} 与第{first_row_of[vin.value]}行重复")
            else:
                first_row_of[vin.value] = row
        model_code = values["model_code"]
        if model_code not in lines:
            bad(row, "model_code", "template.not_found", f"车型模板 {model_code or '（空）'} 不存在")
        stocked_on = None
        try:
            stocked_on = _date(values["stocked_in_on"])
            if not _OLDEST <= stocked_on <= today:
                bad(row, "stocked_in_on", "stock_import.date_out_of_range", "入库日期须在2000-01-01与今天之间")
        except ValueError:
            bad(row, "stocked_in_on", "stock_import.date_malformed", "入库日期须为 YYYY-MM-DD")
        delivery = None
        if values.get("agreed_delivery_date"):
            try:
                delivery = _date(values["agreed_delivery_date"])
            except ValueError:
                bad(row, "agreed_delivery_date", "stock_import.date_malformed", "约定交付日期须为 YYYY-MM-DD")
        for name, limit in (("contract_no", 40), ("erp_tracking_no", 40), ("configuration", 500)):
            if len(values.get(name) or "") > limit:
                bad(row, name, "stock_import.too_long", f"不超过{limit}字")
        if len(errors) == before and vin is not None and stocked_on is not None:  # no error: both parsed
            good.append(OpeningStockRow(
                row=row, vin=vin, model_code=model_code, product_line=lines[model_code],
                received_at=dt.datetime.combine(stocked_on, dt.time(), SHANGHAI),
                contract_no=values.get("contract_no") or None, erp_tracking_no=values.get("erp_tracking_no") or None,
                agreed_delivery_date=delivery, configuration=values.get("configuration") or None))
    return good, errors


def import_opening_stock(dealer_id: int, content: bytes, uow: StockUnitOfWork, clock: Clock) -> ImportResult:
    """A new dealer's opening stock from a CSV file: every row checked (VIN and its check digit,
    template, dates, duplicates in the file and in the database), then all rows or none."""
    require_role(uow.actor, *STOCK_PLANNERS)
    now = clock()
    with uow:
        if uow.dealers.get(dealer_id) is None or not admits(uow, dealer_id):
            raise not_found("dealer", "经销商")
        if uow.stock.has_import(dealer_id):
            raise Conflict("该经销商已导入过期初库存", code="stock_import.already_imported")
        rows, errors = parse_opening_stock(content, now.astimezone(SHANGHAI).date(), uow.stock.template_lines)
        taken = uow.stock.existing_vins([r.vin.value for r in rows])
        for r in rows:
            if r.vin.value in taken:
                errors.append({"row": r.row, "field": "vin", "code": "stock_import.vin_exists",
                               "message": f"车架号 {r.vin} 已在系统中"})
        if errors:
            errors.sort(key=lambda e: (e["row"], IMPORT_COLUMNS.index(e["field"]) if e["field"] in IMPORT_COLUMNS else -1))
            bad_rows = len({e["row"] for e in errors})
            raise ImportRejected(errors, f"{bad_rows}行数据有误，未导入任何车辆")
        import_no = uow.numbers.formatted("SI", year=beijing_date(now).year)
        uow.stock.insert_opening_stock(dealer_id, rows, import_no=import_no,
                                       file_sha256=hashlib.sha256(content).hexdigest(), at=now,
                                       actor=uow.actor.username)
        uow.commit()
    return ImportResult(import_no, dealer_id, len(rows))


# ---------------------------------------------------------------------------------------------
# Alert rules (run by the scheduler; see application/alerts.py)


def _dealer_audience(uow: DealerStockUnitOfWork, dealer_id: int, cache: dict[int, str | None]) -> Audience:
    if dealer_id not in cache:
        dealer = uow.dealers.get(dealer_id)
        cache[dealer_id] = dealer.region if dealer else None
    return Audience(dealer_ids=(dealer_id,), roles=(Role.SALES, Role.REGION_MANAGER), region=cache[dealer_id])


def _stock_uow(ctx: RuleContext) -> DealerStockUnitOfWork:
    # The scheduler hands every rule the composition's full unit of work; the rule table types it
    # by what the engagement context itself needs.
    return cast("DealerStockUnitOfWork", ctx.uow)


class StockLevelRule:
    """Below the minimum or above the maximum of a template at a dealer: one alert per crossing
    (the limit row counts the episodes; back within limits resolves the alert)."""

    code = "stock.level"

    def evaluate(self, ctx: RuleContext) -> Iterable[Condition]:
        uow = _stock_uow(ctx)
        units = uow.stock.units_by_dealer_and_model()
        regions: dict[int, str | None] = {}
        for limit in uow.stock.all_limits():
            count = units.get((limit.dealer_id, limit.model_code), 0)
            seen = limit.observe(count)
            if seen is None:
                continue
            kind, episode = seen
            bound = limit.min_units if kind.value == "below_min" else limit.max_units
            yield Condition(
                key=f"{kind.value}:{limit.dealer_id}:{limit.model_code}:{episode}",
                audience=_dealer_audience(uow, limit.dealer_id, regions),
                title=f"{limit.model_code} 库存{kind.label}（{count}台，{'下' if kind.value == 'below_min' else '上'}限{bound}台）",
                body=f"经销商库存中车型 {limit.model_code} 现有 {count} 台，{kind.label} {bound} 台。",
                severity=Severity.WARNING, subject_type="dealer", subject_id=str(limit.dealer_id))


class StockAgeingRule:
    """A vehicle entering the yellow or red ageing band at a dealer: one alert per band per stay
    in stock (a vehicle sold and returned starts a new stay)."""

    code = "stock.ageing"

    def evaluate(self, ctx: RuleContext) -> Iterable[Condition]:
        uow = _stock_uow(ctx)
        policy: AgeingPolicy = uow.stock.ageing_policy()
        regions: dict[int, str | None] = {}
        for dealer_id, vin, model_code, since, entered in uow.stock.dealer_stock_entries():
            days = days_in_stock(since, ctx.now)
            band = policy.band_of(days)
            if band is AgeingBand.GREEN:
                continue
            yield Condition(
                key=f"{band.value}:{vin}:{int(entered.timestamp())}",
                audience=_dealer_audience(uow, dealer_id, regions),
                title=f"库存车 {vin} 库龄{days}天（{band.label}）",
                body=f"车型 {model_code or '—'}，入库 {since.astimezone(SHANGHAI):%Y-%m-%d}，库龄 {days} 天，"
                     f"已进入{band.label}区间（≥{policy.yellow_from_days if band is AgeingBand.YELLOW else policy.red_from_days}天）。",
                severity=Severity.WARNING if band is AgeingBand.YELLOW else Severity.CRITICAL,
                subject_type="vehicle", subject_id=vin)


# ---------------------------------------------------------------------------------------------
# Statistics of produced, stocked and delivered units per period

PERIODS = ("day", "week", "month")
STAT_KINDS = ("produced", "stocked", "delivered", "received", "sold")
STAT_ACTIONS = {("start_production", None): "produced", ("stock_in", None): "stocked", ("restock", None): "stocked",
            ("create", "in_factory_stock"): "stocked", ("release", None): "delivered", ("ship", None): "delivered",
            ("receive", None): "received", ("initial_stock", None): "received", ("sell", None): "sold"}


def period_start(day: dt.date, period: str) -> dt.date:
    if period == "day":
        return day
    if period == "week":
        return day - dt.timedelta(days=day.weekday())  # ISO weeks start on Monday
    return day.replace(day=1)


def _next_period(start: dt.date, period: str) -> dt.date:
    if period == "day":
        return start + dt.timedelta(days=1)
    if period == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def statistics_window(period: str, date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The Beijing-time window [from 00:00, to+1 00:00) after checking the arguments."""
    if period not in PERIODS:
        raise InvalidValue("period", "统计周期须为 day、week 或 month", code="period.unknown")
    if date_to < date_from:
        raise InvalidValue("date_to", "结束日期不能早于开始日期", code="date_range.reversed")
    if (date_to - date_from).days > 366 * 3:
        raise InvalidValue("date_to", "统计区间不超过三年", code="date_range.too_long")
    return (dt.datetime.combine(date_from, dt.time(), SHANGHAI),
            dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), SHANGHAI))


def bucket_statistics(moves: Iterable[tuple[dt.datetime, str, str]], period: str, date_from: dt.date,
                      date_to: dt.date) -> list[dict[str, Any]]:
    """Units per period (every period in the range, zeros included), counted from vehicle moves."""
    buckets: dict[dt.date, dict[str, Any]] = {}
    start = period_start(date_from, period)
    while start <= date_to:
        buckets[start] = {"period_start": start, **{k: 0 for k in STAT_KINDS}}
        start = _next_period(start, period)
    for at, action, to_state in moves:
        kind = STAT_ACTIONS.get((action, None)) or STAT_ACTIONS.get((action, to_state))
        if kind is None:
            continue
        bucket = buckets.get(period_start(at.astimezone(SHANGHAI).date(), period))
        if bucket is not None:
            bucket[kind] += 1
    return list(buckets.values())
