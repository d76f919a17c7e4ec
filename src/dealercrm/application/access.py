"""Row-level access: which dealers a principal may see, decided in one place.

A dealer user sees only its own dealer; regional sales staff see the dealers of their regions;
other staff see all. What a principal may not see does not exist for it: callers turn a
``False`` here into ``NotFound``, never into "forbidden", so ids of other dealers leak nothing.
"""

from __future__ import annotations

import attrs

from dealercrm.domain.errors import NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

REGION_SCOPED_ROLES = frozenset({Role.SALES, Role.REGION_MANAGER})


@attrs.frozen
class DealerScope:
    """``dealer_id`` set: exactly that dealer. ``regions`` set: dealers in those regions."""

    dealer_id: int | None = None
    regions: tuple[str, ...] | None = None
    nothing: bool = False

    def admits(self, dealer_id: int | None, region: str) -> bool:
        if self.nothing:
            return False
        if self.dealer_id is not None:
            return dealer_id == self.dealer_id
        if self.regions is not None:
            return region in self.regions
        return True


def dealer_scope(principal: Principal) -> DealerScope:
    if principal.role is Role.DEALER:
        return DealerScope(dealer_id=principal.dealer_id)
    if principal.role in (Role.STATION, Role.KIOSK):
        return DealerScope(nothing=True)
    if principal.role in REGION_SCOPED_ROLES and principal.regions:
        return DealerScope(regions=tuple(principal.regions))
    return DealerScope()


@attrs.frozen
class ServiceScope:
    """After-sales rows a principal may see. ``station_id``: that station's work only;
    ``dealer_id``: requests on that dealer's vehicles (read only); neither: everything."""

    station_id: int | None = None
    dealer_id: int | None = None


def service_scope(p: Principal) -> ServiceScope:
    if p.role is Role.STATION:
        return ServiceScope(station_id=p.station_id if p.station_id is not None else -1)
    if p.role is Role.DEALER:
        return ServiceScope(dealer_id=p.dealer_id if p.dealer_id is not None else -1)
    return ServiceScope()


def require_role(principal: Principal, *roles: Role) -> None:
    """Defence in depth behind the HTTP guards: use cases check the role again."""
    if principal.role not in roles:
        raise PermissionDenied("当前角色无权执行此操作", code="auth.forbidden", role=principal.role.value)


def acting_user_id(principal: Principal) -> int:
    """The signed-in user's id, for what only a person may do (accept, approve): the system and
    the edge devices have none, and are refused."""
    if principal.user_id is None:
        raise PermissionDenied("此操作须由登录用户执行", code="auth.forbidden", role=principal.role.value)
    return principal.user_id


def not_found(entity: str, label: str) -> NotFound:
    return NotFound(f"{label}不存在", code=f"{entity}.not_found")
