"""The application services as Litestar dependencies.

A route handler names the service it calls as a parameter — ``def detail(self, orders:
OrdersService, ...)`` — and Litestar hands it the one built by ``bootstrap``. The JSON API and the
web pages use the same providers; nothing in ``entrypoints/`` reaches into the container.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from litestar.di import Provide

from dealercrm.bootstrap import Container

T = TypeVar("T")

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
)


def _constant(value: T) -> Callable[[], T]:
    def provide() -> T:
        return value

    return provide


def service_dependencies(container: Container) -> dict[str, Provide]:
    """One provider per service, each answering the same object for every request."""
    return {name: Provide(_constant(getattr(container, name)), sync_to_thread=False, use_cache=True)
            for name in SERVICE_NAMES}
