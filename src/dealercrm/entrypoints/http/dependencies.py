"""The application services as Litestar dependencies.

A route handler names the service it calls as a parameter — ``def detail(self, orders:
OrdersService, ...)`` — and Litestar hands it the one built by ``bootstrap``. The JSON API and the
web pages use the same providers; nothing in ``entrypoints/`` reaches into the container.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.di import Provide

from dealercrm.entrypoints.http.security import Wiring

#: The service a handler may ask for, by parameter name (each is the container attribute of that name).
SERVICE_NAMES: tuple[str, ...] = (
    "channel", "identity", "workflow", "orders", "order_flow", "gate", "credit", "stock",
    "supplied_parts", "aftersales", "care", "marketing", "engagement",
    "exports",
    "analytics",
    "stations", "media",
    "messages",
    "community",
    "customers",
    "parts_catalog",
    "parts_supply",
    "regions",
)


def _current(wiring: Wiring, name: str) -> Callable[[], Any]:
    def provide() -> Any:
        return getattr(wiring.container, name)

    return provide


def service_dependencies(wiring: Wiring) -> dict[str, Provide]:
    """One provider per service, each answering the wired container's service (the same object
    for every request until the app is rewired)."""
    return {name: Provide(_current(wiring, name), sync_to_thread=False) for name in SERVICE_NAMES}
