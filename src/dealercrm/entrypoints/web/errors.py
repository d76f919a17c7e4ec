"""Errors on web pages are Chinese pages, not problem+json.

The JSON API's one exception table stays the only place mapping errors to statuses; for a path of
the web UI each handler's answer is re-rendered as the page of that status (a foreign record is
the 404 page, exactly as the API's 404). An unauthenticated page request goes to the login page.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect, Template

from dealercrm.domain.orders import OrderState
from dealercrm.entrypoints.web.layout import nav_for

log = structlog.get_logger(__name__)

API_PREFIXES = ("/api/", "/schema", "/health", "/ready")

ERROR_TITLES = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持的操作",
    409: "当前状态不允许此操作",
    413: "提交的内容过大",
    422: "填写的内容有误",
    429: "操作过于频繁",
    500: "系统出错了",
    502: "上游系统拒绝",
    503: "服务暂不可用",
}

ERROR_HINTS = {
    403: "当前账号的角色无权进行此操作。如需权限，请联系系统管理员。",
    404: "您要找的记录不存在，或不属于您的经销商。请从左侧导航重新进入。",
    409: "请刷新页面查看最新状态后再操作。",
    422: "请返回上一页，按提示修改后重新提交。",
    429: "请稍候片刻再试。",
    500: "请稍后重试；如仍出错，请联系管理员并提供请求编号。",
}


def is_web_path(path: str) -> bool:
    return not path.startswith(API_PREFIXES)


def login_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login" if target in ("/", "/login") else f"/login?next={quote(target, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(content="", status_code=200, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=303)


def error_page(request: Request[Any, Any, Any], status: int, detail: str, request_id: str | None = None,
               current_state: str | None = None, code: str = "") -> Response[Any]:
    stale = "stale" in code  # a version that changed under the user's feet
    context = {
        "status": status,
        "title": "已被他人修改" if stale else ERROR_TITLES.get(status, "出错了"),
        "nav": nav_for(request.scope.get("user")),
        "crumbs": (("工作台", "/"), ("出错了", None)),
        "detail": detail,
        "hint": ERROR_HINTS.get(status, ""),
        "request_id": request_id,
        "current_state": current_state,
        "user": request.scope.get("user"),
    }
    name = "_error.html" if request.headers.get("hx-request") else "error.html"
    headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"} if request.headers.get("hx-request") else {}
    return Template(template_name=name, context=context, status_code=status, headers=headers,
                    media_type=MediaType.HTML)


def _state_label(state: Any) -> str | None:
    if not state:
        return None
    try:
        return OrderState(str(state)).label
    except ValueError:
        return str(state)


def _web_version(handler: Any) -> Any:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if not is_web_path(request.url.path):
            return handler(request, exc)
        if isinstance(exc, NotAuthorizedException):
            return login_redirect(request)
        if isinstance(exc, PermissionDeniedException) and "csrf" in str(exc.detail).lower():
            return error_page(request, 403, "页面已过期或表单来源不明，请刷新页面后重新提交",
                              request.scope.get("dealercrm.request_id"))  # type: ignore[call-overload]
        problem = handler(request, exc)
        try:
            body = json.loads(problem.content) if isinstance(problem.content, (bytes, str)) else problem.content
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        status = problem.status_code
        if status == 500 and isinstance(exc, HTTPException):  # others are logged by the API's handler
            log.error("web_page_failed", exc_info=exc, path=request.url.path)
        if status == 401:
            return login_redirect(request)
        detail = str(body.get("detail") or ERROR_TITLES.get(status, "出错了"))
        if status == 404:
            detail = "记录不存在"
        return error_page(request, status, detail, body.get("request_id"), _state_label(body.get("current_state")),
                          str(body.get("code") or ""))

    return handle


def with_web_pages(handlers: dict[Any, Any]) -> dict[Any, Any]:
    """The API's exception table, answering web paths with pages."""
    return {exc_type: _web_version(handler) for exc_type, handler in handlers.items()}
