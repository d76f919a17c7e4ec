"""What after-sales and parts supply share about a station's work: the scope checks (a station
user sees only its own station, requests and records; anything else is 404), the parts catalogue
lookup, and the one function that moves a station's stock.

Both ``application.aftersales`` and ``application.services.parts_supply`` call these inside an
open unit of work; they never commit.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from dealercrm.application.access import not_found
from dealercrm.application.ports.aftersales import AftersalesUnitOfWork
from dealercrm.domain.aftersales import (
    MovementKind,
    RepairRecord,
    ServicePart,
    ServiceRequest,
    ServiceStation,
    StockMovement,
    part_no_of,
)
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role

T = TypeVar("T")


def own_station(p: Principal, station_id: int | None, label: str, entity: str) -> None:
    """``NotFound`` (labelled) when a station user reaches for another station's ``entity``."""
    if p.role is Role.STATION and (station_id is None or station_id != p.station_id):
        raise not_found(entity, label)


def _visible(p: Principal, row: T | None, station_id: int | None, entity: str, label: str) -> T:
    if row is None:
        raise not_found(entity, label)
    own_station(p, station_id, label, entity)
    return row


def station_or_404(uow: AftersalesUnitOfWork, p: Principal, station_id: int) -> ServiceStation:
    station = uow.aftersales.station(station_id)
    return _visible(p, station, station.id if station else None, "service_station", "服务站")


def request_or_404(uow: AftersalesUnitOfWork, p: Principal, request_id: int) -> ServiceRequest:
    req = uow.aftersales.request(request_id)
    return _visible(p, req, req.station_id if req else None, "service_request", "服务请求")


def record_or_404(uow: AftersalesUnitOfWork, p: Principal, record_id: int) -> RepairRecord:
    rec = uow.aftersales.record(record_id)
    return _visible(p, rec, rec.station_id if rec else None, "repair_record", "维修记录")


def catalog_part(uow: AftersalesUnitOfWork, part_no: str) -> ServicePart:
    """The catalogue part (part number normalised); ``InvalidValue`` on ``part_no`` when unknown."""
    part = uow.aftersales.part(part_no_of(part_no))
    if part is None:
        raise InvalidValue("part_no", f"配件{part_no}不在配件目录中", code="aftersales.part_unknown", part_no=part_no)
    return part


def move_stock(uow: AftersalesUnitOfWork, station_id: int, part_no: str, kind: MovementKind, qty: int,
               now: dt.datetime, reference: str | None, note: str | None = None) -> int:
    """Book one movement of a station's stock (the row locked first) and its journal line;
    receipts and transfers in add, a stocktake sets the counted quantity, every issue takes away
    (never below zero: ``InsufficientStock``). Returns the balance after."""
    line = uow.aftersales.lock_stock(station_id, part_no, now)
    if kind in (MovementKind.RECEIPT, MovementKind.TRANSFER_IN):
        delta = line.receive(qty, now)
    elif kind is MovementKind.STOCKTAKE:
        delta = line.count(qty, now)
    else:
        delta = line.issue(qty, now)
    uow.aftersales.add_movement(StockMovement(station_id, part_no, kind, delta, line.quantity, now,
                                              uow.actor.username, reference, note))
    return line.quantity
