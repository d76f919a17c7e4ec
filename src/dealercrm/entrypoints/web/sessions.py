"""The web UI's people sessions: a random token in an HttpOnly cookie, the session in the database.

Every request re-checks the user the way the JSON API re-checks a bearer token (role, dealer scope,
deactivation through the same cached ``user_status``), so a deactivated user is logged out at once.
"""

from __future__ import annotations

from typing import Any

from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.types import ASGIApp, Receive, Scope, Send

from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.security import Wiring, load_principal

COOKIE = "dealercrm_session"
SESSION_SCOPE_KEY = "dealercrm.web_session"


def session_cookie(token: str, *, secure: bool, max_age: int) -> Cookie:
    return Cookie(key=COOKIE, value=token, path="/", httponly=True, samesite="lax", secure=secure, max_age=max_age)


def expired_cookie(*, secure: bool) -> Cookie:
    return Cookie(key=COOKIE, value="", path="/", httponly=True, samesite="lax", secure=secure, max_age=0)


def over_tls(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return connection.url.scheme == "https"


def session_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of the request's live session (set by the middleware), or None."""
    return connection.scope.get(SESSION_SCOPE_KEY)  # type: ignore[call-overload,no-any-return]


class WebSessionMiddleware:
    """Puts the session's principal (or None) in ``scope["user"]`` for the web pages' guards.

    Installed app-wide; acts only on the routes of the web UI (``opt["web_ui"]``)."""

    def __init__(self, app: ASGIApp, *, wiring: Wiring) -> None:
        self.app = app
        self.wiring = wiring

    def _principal(self, token: str) -> Principal | None:
        container = self.wiring.container
        user_id = container.web_sessions.user_of(token)
        if user_id is None:
            return None
        return self.wiring.cache.get(user_id, lambda uid: load_principal(container.identity, uid))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] in ("http", "websocket") and handler is not None and handler.opt.get("web_ui"):
            token = ASGIConnection(scope).cookies.get(COOKIE)
            principal = await sync_to_thread(self._principal, token) if token and len(token) <= 128 else None
            scope["user"] = principal
            scope[SESSION_SCOPE_KEY] = token if principal is not None else None  # type: ignore[literal-required]
        await self.app(scope, receive, send)
