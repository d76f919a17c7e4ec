"""The sales regions (大区) on SQL: the ``regions`` table, written with an optimistic version
check (``UPDATE … WHERE version = <the version read>``), and who names a region (dealers, users,
service stations), counted for the rules that keep a used region's name and active flag."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from dealercrm.adapters.db.aftersales_tables import service_stations
from dealercrm.adapters.db.orm import dealers, regions, users
from dealercrm.domain.aftersales import StationStatus
from dealercrm.domain.channel import DealerStatus
from dealercrm.domain.errors import Conflict
from dealercrm.domain.regions import Region, RegionUse

_ORDER = (regions.c.sort_order, regions.c.id)
_FIELDS = ("code", "name", "active", "sort_order", "provinces", "version", "created_at", "updated_at")


def _region(row: Any) -> Region:
    return Region(code=row.code, name=row.name, sort_order=row.sort_order, provinces=list(row.provinces or []),
                  active=row.active, created_at=row.created_at, updated_at=row.updated_at, version=row.version,
                  id=row.id)


class SqlAlchemyRegionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._read: dict[int, int] = {}  # region id → the version this transaction read

    def _seen(self, region: Region) -> Region:
        if region.id is not None:
            self._read.setdefault(region.id, region.version)
        return region

    def add(self, region: Region) -> None:
        values = {k: getattr(region, k) for k in _FIELDS}
        region.id = int(self.session.execute(insert(regions).values(**values).returning(regions.c.id)).scalar_one())
        self._read[region.id] = region.version

    def get(self, region_id: int) -> Region | None:
        row = self.session.execute(select(regions).where(regions.c.id == region_id)).first()
        return None if row is None else self._seen(_region(row))

    def all(self) -> list[Region]:
        return [self._seen(_region(r)) for r in self.session.execute(select(regions).order_by(*_ORDER))]

    def active_names(self) -> list[str]:
        return list(self.session.scalars(select(regions.c.name).where(regions.c.active.is_(True)).order_by(*_ORDER)))

    def save(self, region: Region) -> None:
        if region.id is None:
            raise Conflict("大区尚未保存", code="region.not_saved")
        read = self._read.get(region.id, region.version)
        values = {k: getattr(region, k) for k in _FIELDS if k not in ("code", "created_at")}
        done = self.session.execute(update(regions).where(regions.c.id == region.id, regions.c.version == read)
                                    .values(**values))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("大区已被他人修改，请刷新后重试", code="region.stale")
        self._read[region.id] = region.version

    def usage(self, name: str, *, active_only: bool) -> RegionUse:
        d = select(func.count()).select_from(dealers).where(dealers.c.region == name)
        s = select(func.count()).select_from(service_stations).where(service_stations.c.region == name)
        u = select(users.c.regions)
        if active_only:
            d = d.where(dealers.c.status != DealerStatus.TERMINATED)
            s = s.where(service_stations.c.status != StationStatus.TERMINATED)
            u = u.where(users.c.is_active.is_(True))
        # a user's regions are a JSON list: read the (few hundred) lists rather than a dialect's JSON operators
        named = sum(1 for (held,) in self.session.execute(u) if name in (held or ()))
        return RegionUse(dealers=int(self.session.scalar(d) or 0), users=named,
                         stations=int(self.session.scalar(s) or 0))
