"""Built apps per shape of settings, rewired to each test's fresh container.

Building the app's 1,200 routes takes about 1.3 s; most API and page tests open a fresh database
and container of their own, so they share built apps (``rewire`` points one at their container and
empties its principal cache) instead of paying for a new one each. Within one test every call gets
an app of its own (a test may run two containers side by side); after the test they are all free
again (``release_all``, called by the autouse fixture in tests/conftest.py). Tests that count what
an app accumulated across requests (metrics) still call ``create_app``.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from dealercrm.bootstrap import Container
from dealercrm.config import Settings
from dealercrm.entrypoints.http.app import app_shape, create_app, rewire

_BUILT: dict[tuple[Any, ...], list[Litestar]] = {}
_TAKEN: set[int] = set()


def app_for(container: Container, settings: Settings | None = None) -> Litestar:
    """An app for ``container`` (and ``settings``, the container's unless given), not handed out
    before in this test."""
    settings = settings or container.settings
    apps = _BUILT.setdefault(app_shape(settings), [])
    for app in apps:
        if id(app) not in _TAKEN:
            _TAKEN.add(id(app))
            return rewire(app, container, settings)
    app = create_app(settings, container=container)
    apps.append(app)
    _TAKEN.add(id(app))
    return app


def release_all() -> None:
    _TAKEN.clear()
