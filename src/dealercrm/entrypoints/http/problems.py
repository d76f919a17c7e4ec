"""RFC 9457 problem+json: one table from error types to HTTP status, one response shape.

    {"type": "urn:dealercrm:problem:dealer.uscc_taken", "title": "…", "status": 409,
     "detail": "该统一社会信用代码已注册", "code": "dealer.uscc_taken", "instance": "/api/v1/…",
     "request_id": "…", "errors": [{"field": "uscc", "code": "…", "message": "…"}]}
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from dealercrm.application.ports.documents import DocumentUnavailable
from dealercrm.application.ports.erp import ErpRejected, ErpUnavailable
from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.ports.video import VideoProviderError
from dealercrm.context import request_id_var
from dealercrm.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
    RateLimited,
)

log = structlog.get_logger(__name__)
PROBLEM_JSON = "application/problem+json"

STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (ErpUnavailable, 503),
    (DocumentUnavailable, 503),
    (ReadModelUnavailable, 503),
    (ErpRejected, 502),
    (VideoProviderError, 503),
    (InvalidValue, 422),
    (NotFound, 404),
    (IllegalTransition, 409),
    (Conflict, 409),
    (PermissionDenied, 403),
    (AuthenticationFailed, 401),
    (RateLimited, 429),
)

TITLES = {
    400: "请求格式错误 Bad Request",
    401: "未认证 Unauthorized",
    403: "无权限 Forbidden",
    404: "未找到 Not Found",
    405: "方法不允许 Method Not Allowed",
    409: "状态冲突 Conflict",
    413: "请求体过大 Payload Too Large",
    422: "数据校验失败 Unprocessable Content",
    429: "请求过于频繁 Too Many Requests",
    502: "上游系统拒绝 Bad Gateway",
    500: "服务器内部错误 Internal Server Error",
    503: "服务不可用 Service Unavailable",
}


def problem(request: Request[Any, Any, Any], status: int, code: str, detail: str, **extra: Any) -> Response[Any]:
    # Errors raised by middleware are rendered outside the request-id middleware: read it from scope.
    request_id = request_id_var.get() or request.scope.get("dealercrm.request_id")  # type: ignore[call-overload]
    body = {
        "type": f"urn:dealercrm:problem:{code}",
        "title": TITLES.get(status, "错误 Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        "request_id": request_id,
        **{k: v for k, v in extra.items() if v is not None},
    }
    headers = {"X-Request-ID": request_id} if request_id else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="dealercrm"'
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = next((s for t, s in STATUS_OF if isinstance(exc, t)), 400)
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidValue):
        extra["errors"] = [{"field": exc.field, "code": exc.code, "message": exc.message}]
        extra["field"] = exc.field
    details = {k: v for k, v in exc.details.items() if k != "field" or not isinstance(exc, InvalidValue)}
    extra.update(details)
    if status >= 400 and status != 404:
        log.info("request_refused", code=exc.code, status=status)
    return problem(request, status, exc.code, exc.message, **extra)


_MSGSPEC_PATH = re.compile(r"at `\$(?P<path>[^`]*)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `(?P<name>[^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `(?P<name>[^`]+)`")


def _field_of(message: str, key: str | None) -> str:
    path = ""
    m = _MSGSPEC_PATH.search(message)
    if m:
        path = m.group("path").lstrip(".")
    for rx in (_UNKNOWN_FIELD, _MISSING_FIELD):
        m2 = rx.search(message)
        if m2:
            path = f"{path}.{m2.group('name')}" if path else m2.group("name")
    return path or (key or "body")


def _zh(message: str) -> tuple[str, str]:
    if "unknown field" in message:
        return "request.unknown_field", "不允许的字段"
    if "missing required field" in message:
        return "request.missing_field", "缺少必填字段"
    if "length" in message:
        return "request.length", "字段长度不符合要求"
    if "Expected" in message:
        return "request.wrong_type", "字段类型或取值不正确"
    return "request.invalid", "字段取值不正确"


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra or [{"message": exc.detail, "key": None}]:
        message = str(item.get("message", exc.detail)) if isinstance(item, dict) else str(item)
        key = item.get("key") if isinstance(item, dict) else None
        source = item.get("source") if isinstance(item, dict) else None
        code, zh = _zh(message)
        field = _field_of(message, key)
        if source and source != "body" and key:
            field = key
        errors.append({"field": field, "code": code, "message": f"{zh}：{message}"})
    if any("malformed" in e["message"].lower() or "JSON is malformed" in e["message"] for e in errors):
        return problem(request, 400, "request.malformed_json", "请求体不是有效的 JSON", errors=errors)
    first = errors[0]
    return problem(request, 422, first["code"], first["message"], errors=errors, field=first["field"])


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    code = {
        NotFoundException: "not_found",
        NotAuthorizedException: "auth.required",
        PermissionDeniedException: "auth.forbidden",
    }.get(type(exc), f"http.{status}")
    if status == 413:
        code = "request.too_large"
    if status == 400:
        code = "request.malformed"
    if status == 405:
        code = "http.method_not_allowed"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else TITLES.get(status, "错误")
    if status == 404:
        detail = "资源不存在"
    if status == 413:
        detail = "请求体超过允许的大小"
    if status == 403:
        detail = "当前角色无权访问此资源"
    if status == 401:
        detail = "需要登录或有效的凭证"
    return problem(request, status, code, detail)


def nesting_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """msgspec refuses absurdly deep JSON with RecursionError: that is the client's fault."""
    return problem(request, 400, "request.too_deep", "请求体 JSON 嵌套层级过深")


def _domain_cause(exc: BaseException) -> DomainError | None:
    """A domain error wrapped by a library on its way out — e.g. a value object (VIN, 身份证号)
    refusing a bound query parameter, which SQLAlchemy re-raises as ``StatementError`` with the
    original as ``orig`` / ``__cause__``. The client sent that value: answer as the domain error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, DomainError):
            return current
        seen.add(id(current))
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return None


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    cause = _domain_cause(exc)
    if cause is not None:
        return domain_error_handler(request, cause)
    log.error("unhandled_error", exc_info=exc, path=request.url.path)
    return problem(request, 500, "internal_error", "服务器内部错误，请联系管理员并提供请求编号")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_exception_handler,
    RecursionError: nesting_handler,
    Exception: internal_error_handler,
}
