"""Authentication middleware, role guards, rate limits and the request-id middleware.

* ``Authorization: Bearer <jwt>`` → a user principal, re-checked against the user's row (cached a
  few seconds) so a deactivated user is locked out without waiting for token expiry.
* ``X-Device-Key: dk_…`` → a device principal (role ``kiosk``) that only kiosk routes admit.
* Public routes are an explicit list of **anchored** patterns; everything else needs a principal,
  and every route handler carries a role guard (a test walks the app to prove it).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from dealercrm.application.services.identity import IdentityService
from dealercrm.context import request_id_var
from dealercrm.domain.errors import AuthenticationFailed, RateLimited
from dealercrm.domain.identity import Principal, Role

if TYPE_CHECKING:
    from dealercrm.bootstrap import Container

log = structlog.get_logger(__name__)


class Wiring:
    """The container a built app serves and its principal cache, in one place: the middleware,
    the service providers and the hooks of ``create_app`` all reach the container through this
    object, so ``rewire`` can point the app's 1,200 built routes at another container."""

    def __init__(self, container: Container, cache: PrincipalCache) -> None:
        self.container = container
        self.cache = cache

PUBLIC_PATTERNS: tuple[str, ...] = (
    r"^/health$",
    r"^/metrics$",  # answers the operators' networks only (metrics_networks), 404 to others
    r"^/login$",  # the web UI's login page (entrypoints/web)
    r"^/register$",  # the web UI's dealer self-registration form (seed §2.1.1), rate-limited like the API's
    r"^/static(/.*)?$",  # the web UI's stylesheet, htmx and the API docs' assets
    r"^/ready$",
    r"^/schema(/.*)?$",
    r"^/api/v1/auth/login$",
    r"^/api/v1/dealers/register$",
    r"^/api/v1/workflow-links/[^/]+$",  # e-mail approval links: the signed token authenticates
    r"^/api/v1/calendar/feed/[^/]+$",  # the secret token in the URL is the credential
)
PUBLIC_RE = re.compile("|".join(PUBLIC_PATTERNS))


def is_public(path: str) -> bool:
    return bool(PUBLIC_RE.match(path))


class PrincipalCache:
    """user id → principal for a few seconds; ``invalidate`` on changes made in this process."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[int, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def peek(self, user_id: int) -> tuple[bool, Principal | None]:
        """(hit, principal) without loading — lets the async path skip a thread hop on a hit."""
        if self.ttl <= 0:
            return False, None
        hit = self._data.get(user_id)
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def get(self, user_id: int, load: Callable[[int], Principal | None]) -> Principal | None:
        now = time.monotonic()
        found, cached = self.peek(user_id)
        if found:
            return cached
        value = load(user_id)
        if self.ttl > 0:
            with self._lock:
                self._data[user_id] = (now + self.ttl, value)
        return value

    def invalidate(self, user_id: int | None = None) -> None:
        with self._lock:
            if user_id is None:
                self._data.clear()
            else:
                self._data.pop(user_id, None)


def load_principal(identity: IdentityService, user_id: int) -> Principal | None:
    """The user's principal as of now, or None when the user is gone or deactivated (the JSON
    API's bearer tokens and the web UI's sessions re-check the same way)."""
    row = identity.user_status(user_id)
    if row is None or not row["is_active"]:
        return None
    return Principal(
        user_id=row["id"], username=row["username"], role=Role(row["role"]), dealer_id=row["dealer_id"],
        station_id=row["station_id"], regions=tuple(row["regions"] or ()), department=row.get("department"),
    )


def _header(scope: Scope, name: bytes) -> str:
    """The first value of a request header, read from the ASGI scope's raw list (``name`` in lower
    case): on every authenticated request this replaces building Litestar's ``Headers`` for two
    look-ups, which cost more than the principal-cache hit it leads to (issue 20 §4)."""
    for key, value in scope["headers"]:
        if key == name or key.lower() == name:
            return value.decode("latin-1")
    return ""


class AuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, *, wiring: Wiring) -> None:
        super().__init__(app, exclude=list(PUBLIC_PATTERNS), exclude_http_methods=["OPTIONS"])
        self.wiring = wiring

    def _load_principal(self, user_id: int) -> Principal | None:
        return load_principal(self.wiring.container.identity, user_id)

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        device_key = _header(connection.scope, b"x-device-key")
        if device_key:
            from litestar.concurrency import sync_to_thread

            try:
                principal = await sync_to_thread(self.wiring.container.identity.authenticate_device, device_key)
            except AuthenticationFailed as exc:
                raise NotAuthorizedException(detail=exc.message) from None
            return AuthenticationResult(user=principal, auth=None)
        header = _header(connection.scope, b"authorization")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(detail="需要登录")
        try:
            claims = self.wiring.container.identity.verify_token(token.strip())
        except AuthenticationFailed as exc:
            raise NotAuthorizedException(detail=exc.message) from None
        from litestar.concurrency import sync_to_thread

        found, principal = self.wiring.cache.peek(int(claims["sub"]))
        if not found:
            principal = await sync_to_thread(self.wiring.cache.get, int(claims["sub"]), self._load_principal)
        if principal is None:
            raise NotAuthorizedException(detail="账号不存在或已停用")
        return AuthenticationResult(user=principal, auth=claims)


def requires(*roles: Role) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Any]:
    """A guard admitting only the given roles (a dealer token on a staff route → 403)."""
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise NotAuthorizedException(detail="需要登录")
        if user.role not in allowed:
            raise PermissionDeniedException(detail="当前角色无权访问此资源")

    guard.roles = allowed  # type: ignore[attr-defined]  # read by the route-coverage test
    return guard


async def public(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Explicit marker guard for routes on the anchored public list (admits everyone)."""


public.is_public = True  # type: ignore[attr-defined]

STAFF = tuple(r for r in Role if r.is_staff)
ANY_USER = tuple(r for r in Role if r is not Role.KIOSK)


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in ``window`` seconds, in this process: the limiter of an
    app without a database. With one, the limits are kept in it (``Container.rate_limiter``)
    and hold across server workers."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                retry = max(1, int(q[0] + self.window - now) + 1)
                raise RateLimited("请求过于频繁，请稍后再试", retry_after=retry)
            q.append(now)
            if len(self._hits) > 100_000:  # bound memory under a spray of keys
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window}


_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")


class RequestIdMiddleware:
    """Gives every request an id (or accepts a sane ``X-Request-ID``), binds it for logs and the
    audit trail, returns it in the response headers, and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        scope["dealercrm.request_id"] = request_id  # type: ignore[typeddict-unknown-key]
        token = request_id_var.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder = {"status": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "http_request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status_holder["status"],
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)
