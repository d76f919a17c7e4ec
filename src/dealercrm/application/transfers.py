"""The one transfer rule (调拨, seed 000 §4.4): parts leave the sending station's stock when the
transfer is shipped and enter the receiving station's stock when it is received, once.

``PartsSupplyService`` runs the two steps as two transactions (the receiver confirms);
``aftersales.transfer_stock`` runs both in one transaction for staff moving stock at once. Both
call these functions inside an open unit of work; they never commit.
"""

from __future__ import annotations

import datetime as dt

from dealercrm.application.ports.parts_supply import PartsSupplyUnitOfWork
from dealercrm.application.station_work import catalog_part, move_stock, station_or_404
from dealercrm.domain.aftersales import SHANGHAI, MovementKind
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.domain.parts_supply import StockTransfer, SupplyLine
from dealercrm.domain.values import stored_id


def supply_lines(uow: PartsSupplyUnitOfWork, raw: list[tuple[str, int]]) -> list[SupplyLine]:
    """Catalogue lines at standard cost for (part number, quantity) pairs; ``InvalidValue`` on an
    unknown part."""
    out = []
    for part_no, quantity in raw:
        part = catalog_part(uow, part_no)
        out.append(SupplyLine(part.part_no, part.name, quantity, part.standard_cost_fen))
    return out


def ship(uow: PartsSupplyUnitOfWork, actor: Principal, from_station_id: int, to_station_id: int,
         lines: list[tuple[str, int]], now: dt.datetime, note: str | None = None) -> tuple[StockTransfer, dict[str, int]]:
    """Create the transfer (number ``DB-YYYY-NNNNNN``) and take its parts out of the sender's stock
    now, rows locked in part-number order; short stock refuses the whole transfer. The actor must
    see the sending station (404 otherwise). Returns the flushed transfer and part → balance left."""
    src = station_or_404(uow, actor, from_station_id)
    if uow.aftersales.station(to_station_id) is None:
        raise InvalidValue("to_station_id", "调入服务站不存在", code="parts_supply.station_unknown")
    transfer = StockTransfer.ship(uow.numbers.formatted("DB", year=now.astimezone(SHANGHAI).year),
                                  stored_id(src.id), to_station_id, supply_lines(uow, lines), now,
                                  actor.username, note)
    left = {}
    for line in sorted(transfer.lines, key=lambda x: str(x["part_no"])):
        part_no = str(line["part_no"])
        left[part_no] = move_stock(uow, transfer.from_station_id, part_no, MovementKind.TRANSFER_OUT,
                                   int(line["quantity"]), now, transfer.number, note)
    uow.parts_supply.add(transfer)
    uow.flush()
    return transfer, left


def receive(uow: PartsSupplyUnitOfWork, actor: Principal, transfer: StockTransfer, now: dt.datetime) -> dict[str, int]:
    """Book a shipped transfer into the receiver's stock, once (``IllegalTransition`` after).
    The caller has checked that the actor may receive it. Returns part → balance after."""
    balances = {}
    for line in transfer.receive(now, actor.username):
        balances[line.part_no] = move_stock(uow, transfer.to_station_id, line.part_no, MovementKind.TRANSFER_IN,
                                            line.quantity, now, transfer.number)
    return balances
