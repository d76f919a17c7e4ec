"""Sales regions (大区) as the sales organisation divides the country (issue 15 §5 系统管理).

Administrators keep the list: each region has a stable code, a Chinese name unique among regions,
a sort order, the provinces it covers and an active flag. Dealers, users and service stations
name their region by its Chinese name, so:

* a region's name is what they hold: a region that anything still names keeps its name (renaming
  it would orphan their records), and a region that active dealers, users or stations still use
  stays active;
* a dealer's (a station's, a campaign's, a key account's) region must be one of the active
  regions, which the application reads and passes in (:func:`require_known_region`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from dealercrm.domain.errors import BusinessRuleViolation, Conflict, InvalidValue

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,19}")
NAME_MAX = 8  # what the dealers', stations' and key accounts' region columns hold
PROVINCE_MAX = 20
MAX_PROVINCES = 40
MAX_SORT_ORDER = 9999


def require_known_region(region: str, known: Sequence[str], field: str = "region") -> str:
    """``region`` if it is one of ``known`` (the active regions, in their order); otherwise
    ``InvalidValue`` on ``field`` (``region.unknown``) listing them."""
    if region not in known:
        raise InvalidValue(field, f"大区须为以下之一：{'、'.join(known)}", code="region.unknown")
    return region


def require_known_regions(regions: Iterable[str], known: Sequence[str], field: str = "regions") -> list[str]:
    """Each of ``regions`` known (see :func:`require_known_region`); the list as given."""
    out = list(regions)
    for r in out:
        require_known_region(r, known, field)
    return out


@attrs.frozen
class RegionUse:
    """Who names a region: dealers, users and service stations (active ones, or all)."""

    dealers: int = 0
    users: int = 0
    stations: int = 0

    @property
    def any(self) -> bool:
        return bool(self.dealers or self.users or self.stations)

    def describe(self) -> str:
        parts = [f"{label}{n}个" for label, n in (("经销商", self.dealers), ("用户", self.users),
                                                 ("服务站", self.stations)) if n]
        return "、".join(parts)


def _name(raw: str) -> str:
    name = (raw or "").strip()
    if not name:
        raise InvalidValue("name", "请填写大区名称", code="region.name_required")
    if len(name) > NAME_MAX or any(c in name for c in ",，、;； "):
        raise InvalidValue("name", f"大区名称不超过{NAME_MAX}字，且不含逗号、顿号或空格", code="region.name_invalid")
    return name


def _code(raw: str) -> str:
    code = (raw or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidValue("code", "编码须为2到20位小写字母、数字或下划线，以字母开头", code="region.code_invalid")
    return code


def _sort_order(value: int) -> int:
    if not 0 <= value <= MAX_SORT_ORDER:
        raise InvalidValue("sort_order", f"排序须为0到{MAX_SORT_ORDER}的整数", code="region.sort_order_invalid")
    return value


def clean_provinces(raw: Iterable[str]) -> list[str]:
    """The provinces as given, trimmed, blanks dropped; duplicates, overlong names or too many
    are ``InvalidValue`` on ``provinces``."""
    provinces = [p.strip() for p in raw if p.strip()]
    if len(provinces) > MAX_PROVINCES:
        raise InvalidValue("provinces", f"省份最多{MAX_PROVINCES}个", code="region.provinces_too_many")
    long = [p for p in provinces if len(p) > PROVINCE_MAX]
    if long:
        raise InvalidValue("provinces", f"省份名称不超过{PROVINCE_MAX}字：{long[0]}", code="region.province_invalid")
    seen: set[str] = set()
    for p in provinces:
        if p in seen:
            raise InvalidValue("provinces", f"省份重复：{p}", code="region.province_duplicate")
        seen.add(p)
    return provinces


def check_provinces_free(provinces: Sequence[str], others: Iterable[Region]) -> None:
    """A province belongs to at most one active region: ``InvalidValue`` on ``provinces`` naming
    the first province another active region already covers."""
    taken = {p: r.name for r in others if r.active for p in r.provinces}
    for p in provinces:
        if p in taken:
            raise InvalidValue("provinces", f"{p}已属于大区{taken[p]}", code="region.province_taken",
                               province=p, region=taken[p])


@attrs.define(slots=False, eq=False)
class Region:
    code: str
    name: str
    sort_order: int
    provinces: list[str] = attrs.field(factory=list)
    active: bool = True
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def define(cls, *, code: str, name: str, sort_order: int, provinces: Iterable[str], now: dt.datetime) -> Region:
        return cls(code=_code(code), name=_name(name), sort_order=_sort_order(sort_order),
                   provinces=clean_provinces(provinces), created_at=now, updated_at=now)

    def check_version(self, expected: int | None) -> None:
        """``Conflict`` (``region.stale``, with the current state) when ``expected`` is not this version."""
        if expected is not None and expected != self.version:
            raise Conflict("大区已被他人修改，请刷新后重试", code="region.stale", current=self.snapshot())

    def edit(self, *, name: str, sort_order: int, provinces: Iterable[str], use: RegionUse,
             now: dt.datetime) -> bool:
        """Rename, reorder and set the provinces; a region something still names keeps its name
        (``BusinessRuleViolation`` on ``name``). Whether anything changed."""
        new_name = _name(name)
        if new_name != self.name and use.any:
            raise BusinessRuleViolation(f"该大区仍被{use.describe()}使用，不能改名；可新建大区并迁移后停用此大区",
                                        code="region.in_use", field="name")
        changes = {"name": new_name, "sort_order": _sort_order(sort_order), "provinces": clean_provinces(provinces)}
        changed = any(getattr(self, k) != v for k, v in changes.items())
        if changed:
            for k, v in changes.items():
                setattr(self, k, v)
            self._touch(now)
        return changed

    def deactivate(self, use: RegionUse, now: dt.datetime) -> None:
        """Stop offering the region; one that active dealers, users or stations still use stays
        (``BusinessRuleViolation`` on ``active``)."""
        if not self.active:
            return
        if use.any:
            raise BusinessRuleViolation(f"该大区仍有{use.describe()}在用，不能停用", code="region.in_use",
                                        field="active")
        self.active = False
        self._touch(now)

    def reactivate(self, others: Iterable[Region], now: dt.datetime) -> None:
        """Offer the region again; its provinces must not meanwhile belong to another active region."""
        if self.active:
            return
        check_provinces_free(self.provinces, (r for r in others if r.id != self.id))
        self.active = True
        self._touch(now)

    def _touch(self, now: dt.datetime) -> None:
        self.updated_at = now
        self.version += 1

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name, "sort_order": self.sort_order,
                "provinces": list(self.provinces), "active": self.active, "version": self.version,
                "created_at": self.created_at, "updated_at": self.updated_at}
