"""Use cases of the service network (issue 18 §3): technicians of a station, dispatching a
request to one technician, and the periodic maintenance plans of a vehicle with their reminder
rule for the alert scheduler.

Who may do what: after-sales staff (and administrators) everywhere; a station user only at its
own station — its technicians, its requests, plans it serves. Anything of another station is
404. Dispatching to a technician checks ``domain.service_network.check_dispatch``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.aftersales import STAFF, WORKERS
from dealercrm.application.form_once import once_per_form
from dealercrm.application.ports.aftersales import AftersalesUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.saving import save_new
from dealercrm.domain.alerts import Audience, Condition, Severity
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import MaintenancePlan, Technician, check_dispatch
from dealercrm.domain.values import SHANGHAI, Vin, stored_id


def _station_of_actor(p: Principal, station_id: int) -> None:
    if p.role is Role.STATION and station_id != p.station_id:
        raise not_found("service_station", "服务站")


def _technician_or_404(uow: AftersalesUnitOfWork, technician_id: int) -> Technician:
    tech = uow.aftersales.technician(technician_id)
    if tech is None:
        raise not_found("technician", "技师")
    _station_of_actor(uow.actor, tech.station_id)
    return tech


# ---------------------------------------------------------------------------------------------
# Technicians


@attrs.frozen
class TechnicianIn:
    name: str
    phone: str
    skills: tuple[str, ...]


def add_technician(station_id: int, cmd: TechnicianIn, uow: AftersalesUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *WORKERS)
    with uow:
        technician_id = _new_technician(uow, station_id, cmd, clock())
        uow.commit()
    return technician_id


def add_technician_once(station_id: int, cmd: TechnicianIn, new_uow: Callable[[], AftersalesUnitOfWork],
                        clock: Clock, *, form_token: str) -> int:
    """``add_technician`` once per form token of this user: a double-submitted form adds one
    technician and the second post gets its id (the client-event ledger)."""
    answer = once_per_form(new_uow, clock, roles=WORKERS, form_token=form_token, kind="technician.add",
                           request=(station_id, cmd), work=lambda uow: {"id": _new_technician(uow, station_id, cmd,
                                                                                               clock())})
    return int(answer["id"])


def _new_technician(uow: AftersalesUnitOfWork, station_id: int, cmd: TechnicianIn, now: dt.datetime) -> int:
    """Add the technician inside the caller's unit of work (flushed, not committed); its id."""
    _station_of_actor(uow.actor, station_id)
    if uow.aftersales.station(station_id) is None:
        raise not_found("service_station", "服务站")
    tech = Technician(station_id, cmd.name, cmd.phone, list(cmd.skills), created_at=now)
    uow.aftersales.add(tech)
    uow.flush()
    return stored_id(tech.id)


def update_technician(technician_id: int, cmd: TechnicianIn, uow: AftersalesUnitOfWork) -> None:
    require_role(uow.actor, *WORKERS)
    with uow:
        _technician_or_404(uow, technician_id).update(name=cmd.name, phone=cmd.phone, skills=list(cmd.skills))
        uow.commit()


def set_availability(technician_id: int, status: str, uow: AftersalesUnitOfWork) -> str:
    require_role(uow.actor, *WORKERS)
    with uow:
        tech = _technician_or_404(uow, technician_id)
        tech.set_status(status)
        out = tech.status.value
        uow.commit()
    return out


def deactivate_technician(technician_id: int, uow: AftersalesUnitOfWork) -> None:
    require_role(uow.actor, *WORKERS)
    with uow:
        _technician_or_404(uow, technician_id).deactivate()
        uow.commit()


def dispatch_to_technician(request_id: int, technician_id: int, uow: AftersalesUnitOfWork, clock: Clock) -> int:
    """派工: the request goes to one technician of the station that holds it (staff, or that
    station). The technician must be of that station, have the skill, and be available."""
    require_role(uow.actor, *WORKERS)
    with uow:
        req = uow.aftersales.request(request_id)
        if req is None or (uow.actor.role is Role.STATION and req.station_id != uow.actor.station_id):
            raise not_found("service_request", "服务请求")
        tech = uow.aftersales.technician(technician_id)
        if tech is None or (uow.actor.role is Role.STATION and tech.station_id != uow.actor.station_id):
            raise InvalidValue("technician_id", "技师不存在", code="aftersales.technician_unknown")
        check_dispatch(req, tech)
        req.dispatch_to_technician(technician_id, tech.name, clock(), uow.actor.username)
        uow.commit()
    return technician_id


# ---------------------------------------------------------------------------------------------
# Periodic maintenance plans


@attrs.frozen
class PlanIn:
    vin: str
    title: str
    interval_days: int | None
    interval_km: int | None
    start_on: dt.date
    start_km: int | None = None
    station_id: int | None = None
    remind_days_ahead: int = 7


def create_plan(cmd: PlanIn, uow: AftersalesUnitOfWork, clock: Clock) -> int:
    """A maintenance plan for a vehicle (staff, or a station for plans it serves itself)."""
    require_role(uow.actor, *WORKERS)
    vin = Vin(cmd.vin.strip().upper()).value
    now = clock()
    station_id = cmd.station_id
    if uow.actor.role is Role.STATION:
        station_id = uow.actor.station_id if station_id is None else station_id
        _station_of_actor(uow.actor, station_id or 0)
    if cmd.start_on > now.astimezone(SHANGHAI).date():
        raise InvalidValue("start_on", "起始日期不能晚于今天", code="maintenance.start_on_future")
    with uow:
        vehicle = uow.aftersales.vehicle(vin)
        if vehicle is None:
            raise not_found("vehicle", "车辆")
        if station_id is not None and uow.aftersales.station(station_id) is None:
            raise InvalidValue("station_id", "服务站不存在", code="aftersales.station_unknown")
        plan = MaintenancePlan(vin=vin, title=cmd.title, interval_days=cmd.interval_days,
                               interval_km=cmd.interval_km, last_done_on=cmd.start_on, last_done_km=cmd.start_km,
                               created_at=now, created_by=uow.actor.username[:60], dealer_id=vehicle["dealer_id"],
                               station_id=station_id, remind_days_ahead=cmd.remind_days_ahead)
        return save_new(uow, uow.aftersales, plan, "maintenance plan")


def _plan_or_404(uow: AftersalesUnitOfWork, plan_id: int) -> MaintenancePlan:
    plan = uow.aftersales.plan(plan_id)
    if plan is None or (uow.actor.role is Role.STATION and plan.station_id != uow.actor.station_id):
        raise not_found("maintenance_plan", "保养计划")
    return plan


def record_plan_service(plan_id: int, done_on: dt.date, odometer_km: int | None, uow: AftersalesUnitOfWork,
                        clock: Clock) -> dt.date | None:
    """A maintenance was done: the next due date (and km) count from it; the reminder resolves
    on the scheduler's next pass. Returns the next due date."""
    require_role(uow.actor, *WORKERS)
    today = clock().astimezone(SHANGHAI).date()
    with uow:
        plan = _plan_or_404(uow, plan_id)
        plan.record_service(done_on, odometer_km, today)
        out = plan.next_due_on
        uow.commit()
    return out


def deactivate_plan(plan_id: int, uow: AftersalesUnitOfWork) -> None:
    require_role(uow.actor, *STAFF, Role.STATION)
    with uow:
        _plan_or_404(uow, plan_id).deactivate()
        uow.commit()


class MaintenanceDueRule:
    """Alert rule: a maintenance plan whose date is within its ``remind_days_ahead`` (or past),
    or whose vehicle's last known odometer is near its next km, is an alert for after-sales, the
    plan's station and the vehicle's dealer. Recording the service resolves it (the key names
    the due date and km, so the next period raises a new alert)."""

    code = "aftersales.maintenance_due"

    def __init__(self, max_days_ahead: int = 90) -> None:
        self.max_days_ahead = max_days_ahead  # the largest remind_days_ahead a plan may have

    def evaluate(self, ctx: Any) -> list[Condition]:
        repo = getattr(ctx.uow, "aftersales", None)
        if repo is None:
            return []
        out = []
        for plan, odometer in repo.plans_to_check(ctx.today + dt.timedelta(days=self.max_days_ahead)):
            reasons = plan.due_reasons(ctx.today, odometer)
            if not reasons:
                continue
            overdue = plan.next_due_on is not None and ctx.today > plan.next_due_on
            out.append(Condition(
                key=f"maintenance-{plan.id}-{plan.next_due_on or ''}-{plan.next_due_km or ''}",
                audience=Audience(roles=(Role.AFTER_SALES,),
                                  station_ids=(plan.station_id,) if plan.station_id else (),
                                  dealer_ids=(plan.dealer_id,) if plan.dealer_id else ()),
                title=f"保养提醒：{plan.vin} {plan.title}"[:200], body="；".join(reasons),
                severity=Severity.WARNING if overdue else Severity.INFO, subject_type="maintenance_plan",
                subject_id=str(plan.id), due_on=plan.next_due_on))
        return out

