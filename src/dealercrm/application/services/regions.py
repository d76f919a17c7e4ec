"""Sales regions (大区, issue 15 §5 系统管理): administrators add a region, rename it, set the
provinces it covers and its order, deactivate and reactivate it; every signed-in staff member
reads the list, and every form that offers a region reads the active ones (``active_names``, one
small query). The rules — a region anything still names keeps its name, one in use stays
active, a province belongs to one active region — are the domain's (``domain.regions``); the
names must be unique (``Conflict`` naming the field)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.form_once import once_per_form
from dealercrm.application.ports.gate import ClientEventLog
from dealercrm.application.ports.persistence import Clock, RegionRepository, Transaction
from dealercrm.domain.errors import Conflict, InvariantBroken
from dealercrm.domain.identity import HUMAN_ROLES, Principal, Role
from dealercrm.domain.regions import Region, RegionUse, check_provinces_free, clean_provinces

ADMINS = (Role.ADMIN,)
#: Who reads the list: every signed-in person of the factory and the service stations (dealers
#: choose their region when they register, on the public form).
READERS = tuple(r for r in HUMAN_ROLES if r is not Role.DEALER)


class RegionsUnitOfWork(Transaction, Protocol):
    regions: RegionRepository
    client_events: ClientEventLog  # a create form posted twice adds one region


@attrs.frozen
class RegionIn:
    """A region as a form or the API gives it (``code`` is only read when the region is added)."""

    name: str
    sort_order: int
    provinces: tuple[str, ...]
    code: str = ""


def _others(uow: RegionsUnitOfWork, region_id: int | None) -> list[Region]:
    return [r for r in uow.regions.all() if r.id != region_id]


def _check_unique(others: list[Region], *, name: str, code: str | None = None) -> None:
    for r in others:
        if code is not None and r.code == code:
            raise Conflict(f"编码{code}已被大区{r.name}使用", code="region.code_taken", field="code")
        if r.name == name.strip():
            raise Conflict(f"已有名为{r.name}的大区", code="region.name_taken", field="name")


def _add(uow: RegionsUnitOfWork, cmd: RegionIn, now: dt.datetime) -> dict[str, Any]:
    region = Region.define(code=cmd.code, name=cmd.name, sort_order=cmd.sort_order, provinces=cmd.provinces, now=now)
    others = _others(uow, None)
    _check_unique(others, name=region.name, code=region.code)
    check_provinces_free(region.provinces, others)
    uow.regions.add(region)
    if region.id is None:
        raise InvariantBroken("region has no id: not inserted")
    return region.snapshot()


@attrs.define
class RegionsService:
    """The sales regions (大区): the list for staff, the active names for forms and rules, and the
    administrators' changes, each one transaction."""

    _uow: Callable[[Principal], RegionsUnitOfWork]
    _clock: Clock

    def active_names(self) -> list[str]:
        """The active regions' names in their order (what a region field may hold); no caller
        needed: the public registration form offers them too."""
        uow = self._uow(Principal(user_id=None, username="anonymous", role=Role.DEALER))
        with uow.snapshot(per_statement=True):
            return uow.regions.active_names()

    def list_regions(self, actor: Principal, *, include_inactive: bool = True) -> list[dict[str, Any]]:
        """Every region (or the active ones), by sort order; staff only (``PermissionDenied``)."""
        require_role(actor, *READERS)
        uow = self._uow(actor)
        with uow.snapshot(per_statement=True):
            return [r.snapshot() for r in uow.regions.all() if include_inactive or r.active]

    def region(self, actor: Principal, region_id: int) -> dict[str, Any]:
        """One region; staff only (``PermissionDenied``), ``NotFound`` for an unknown id."""
        require_role(actor, *READERS)
        uow = self._uow(actor)
        with uow.snapshot(per_statement=True):
            found = uow.regions.get(region_id)
            if found is None:
                raise not_found("region", "大区")
            return found.snapshot()

    def create_region(self, actor: Principal, cmd: RegionIn) -> dict[str, Any]:
        """Add an active region; admin. ``InvalidValue`` naming the field, ``Conflict`` for a taken
        code or name (field ``code`` / ``name``), ``PermissionDenied``."""
        require_role(actor, *ADMINS)
        uow = self._uow(actor)
        with uow:
            row = _add(uow, cmd, self._clock())
            uow.commit()
        return row

    def create_region_once(self, actor: Principal, cmd: RegionIn, *, form_token: str) -> dict[str, Any]:
        """``create_region`` once per form token of this user: a double-submitted form adds one
        region and the repeat gets its answer."""
        return once_per_form(lambda: self._uow(actor), self._clock, roles=ADMINS, form_token=form_token,
                             kind="region.create", request=(cmd,), work=lambda uow: _json(_add(uow, cmd, self._clock())))

    def edit_region(self, actor: Principal, region_id: int, cmd: RegionIn, *, version: int | None) -> dict[str, Any]:
        """Rename, reorder and set the provinces of a region; admin. See :meth:`change_region`."""
        return self.change_region(actor, region_id, version=version, name=cmd.name, sort_order=cmd.sort_order,
                                  provinces=cmd.provinces)

    def set_active(self, actor: Principal, region_id: int, active: bool, *, version: int | None) -> dict[str, Any]:
        """Deactivate or reactivate a region; admin. See :meth:`change_region`."""
        return self.change_region(actor, region_id, version=version, active=active)

    def change_region(self, actor: Principal, region_id: int, *, version: int | None, name: str | None = None,
                      sort_order: int | None = None, provinces: tuple[str, ...] | None = None,
                      active: bool | None = None) -> dict[str, Any]:
        """Change what is given (``None``: unchanged) in one transaction; admin. Returns the region.

        ``version`` is the one the caller read: another change since is ``Conflict``
        (``region.stale``, with ``current``). Renaming a region that dealers, users or stations still
        name, or deactivating one that active ones use, is ``BusinessRuleViolation`` (field ``name``
        / ``active``); a province of another active region is ``InvalidValue`` on ``provinces``; a
        taken name is ``Conflict`` on ``name``."""
        require_role(actor, *ADMINS)
        uow = self._uow(actor)
        now = self._clock()
        with uow:
            region = self._get(uow, region_id)
            region.check_version(version)
            others = _others(uow, region_id)
            changed = False
            if name is not None or sort_order is not None or provinces is not None:
                new_name = region.name if name is None else name
                new_provinces = clean_provinces(region.provinces if provinces is None else provinces)
                _check_unique(others, name=new_name)
                use = uow.regions.usage(region.name, active_only=False) if new_name.strip() != region.name else None
                if region.active:
                    check_provinces_free(new_provinces, others)
                changed = region.edit(name=new_name, sort_order=region.sort_order if sort_order is None else sort_order,
                                      provinces=new_provinces, use=use or RegionUse(), now=now)
            if active is not None and active != region.active:
                if active:
                    region.reactivate(others, now)
                else:
                    region.deactivate(uow.regions.usage(region.name, active_only=True), now)
                changed = True
            if changed:
                uow.regions.save(region)
            row = region.snapshot()
            uow.commit()
        return row

    @staticmethod
    def _get(uow: RegionsUnitOfWork, region_id: int) -> Region:
        region = uow.regions.get(region_id)
        if region is None:
            raise not_found("region", "大区")
        return region


def _json(row: dict[str, Any]) -> dict[str, Any]:
    """A snapshot as the client-event ledger keeps answers (times as ISO text)."""
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in row.items()}

