"""登录、退出、修改密码: sessions for people, with the API's rate limit and rules."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application.ports.sessions import WebSessionStore
from dealercrm.application.services.identity import IdentityService
from dealercrm.domain.errors import AuthenticationFailed, InvalidValue, RateLimited
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import public, requires
from dealercrm.entrypoints.web.errors import is_web_path
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.sessions import (
    expired_cookie,
    over_tls,
    session_cookie,
    session_token,
)

PEOPLE = tuple(r for r in Role if r is not Role.KIOSK)


def safe_next(value: str | None) -> str:
    """Only a path of this site's web UI (no other host, no API) — an open redirect otherwise."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or not is_web_path(value):
        return "/"
    return value if len(value) <= 500 else "/"


class AuthPages(Controller):
    path = "/"

    @get("/login", guards=[public], name="web.login")
    async def login_form(self, request: Request[Any, Any, Any], next_: Annotated[str | None, Parameter(query="next", max_length=2000)] = None) -> Any:
        if isinstance(request.scope.get("user"), Principal):  # already logged in
            return Redirect(path=safe_next(next_), status_code=303)
        return page(request, "login.html", title="登录", section="login", crumbs=(), next=safe_next(next_),
                    error=None, username="")

    @post("/login", guards=[public], status_code=303)
    async def login(self, request: Request[Any, Any, Any], state: State, identity: IdentityService,
                    web_sessions: WebSessionStore,
                    next_: Annotated[str | None, Parameter(query="next", max_length=2000)] = None) -> Any:
        form = await request.form()
        username = str(form.get("username") or "").strip()[:40]
        password = str(form.get("password") or "")[:256]
        target = safe_next(next_)
        client = request.client.host if request.client else "?"
        try:
            if not username or not password:
                raise InvalidValue("username", "请输入用户名和密码", code="auth.credentials_missing")
            await sync_to_thread(state.login_limiter.hit, f"ip:{client}")  # the limits are in the database
            await sync_to_thread(state.login_limiter.hit, f"user:{username.lower()}")
            result = await sync_to_thread(identity.login, username, password)
        except (AuthenticationFailed, InvalidValue, RateLimited) as exc:
            status = 429 if isinstance(exc, RateLimited) else 401 if isinstance(exc, AuthenticationFailed) else 422
            request.scope["user"] = None
            return page(request, "login.html", title="登录", section="login", status_code=status,
                        next=target, error=exc.message, username=username)
        token = await sync_to_thread(web_sessions.open, result.principal.user_id)
        max_age = int(web_sessions.ttl.total_seconds())
        return Redirect(path=target, status_code=303,
                        cookies=[session_cookie(token, secure=over_tls(request), max_age=max_age)])

    @post("/logout", guards=[requires(*PEOPLE)], status_code=303)
    async def logout(self, request: Request[Principal, Any, Any], web_sessions: WebSessionStore) -> Redirect:
        token = session_token(request)
        if token:
            await sync_to_thread(web_sessions.close, token)
        return Redirect(path="/login", status_code=303, cookies=[expired_cookie(secure=over_tls(request))])

    @get("/account/password", guards=[requires(*PEOPLE)])
    async def password_form(self, request: Request[Principal, Any, Any]) -> Template:
        return page(request, "password.html", title="修改密码", section="account", crumbs=(("修改密码", None),),
                    errors={})

    @post("/account/password", guards=[requires(*PEOPLE)], status_code=200)
    async def change_password(self, request: Request[Principal, Any, Any], identity: IdentityService,
                              web_sessions: WebSessionStore) -> Template:
        form = await request.form()
        current = str(form.get("current_password") or "")[:300]
        new = str(form.get("new_password") or "")[:300]
        errors: dict[str, str] = {}
        if new != str(form.get("confirm_password") or ""):
            errors["confirm_password"] = "两次输入的新密码不一致"
        else:
            try:
                await sync_to_thread(identity.change_password, request.user, current, new)
            except InvalidValue as exc:
                errors["new_password" if exc.field == "password" else exc.field] = exc.message
        if errors:
            return page(request, "password.html", title="修改密码", section="account", status_code=422,
                        crumbs=(("修改密码", None),), errors=errors)
        await sync_to_thread(web_sessions.close_all, request.user.user_id,
                             keep=session_token(request))
        return page(request, "password.html", title="修改密码", section="account", crumbs=(("修改密码", None),),
                    errors={}, flash="密码已修改，其他设备上的登录已退出")
