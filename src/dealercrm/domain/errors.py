"""Typed domain errors.

Every failure the domain can report is a subclass of :class:`DomainError` with a stable,
dotted English ``code`` (for API clients and logs) and a Chinese ``message`` (for people).
The HTTP layer maps error *types* to status codes in one table; nothing else decides that.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code: str = "domain.error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidValue(DomainError):
    """A single value breaks its rule (bad check digit, malformed phone...). → 422"""

    code = "value.invalid"

    def __init__(self, field: str, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message, code=code, field=field, **details)
        self.field = field


class NotFound(DomainError):
    """The thing does not exist *for this caller* (foreign rows are indistinguishable). → 404"""

    code = "not_found"


class Conflict(DomainError):
    """The request is well-formed but the current state forbids it. → 409"""

    code = "conflict"


class IllegalTransition(Conflict):
    """A life-cycle move that the current state does not allow. Carries the current state."""

    code = "state.illegal_transition"

    def __init__(self, entity: str, current_state: str, action: str, message: str | None = None,
                 *, code: str | None = None) -> None:
        super().__init__(
            message or f"当前状态（{current_state}）不允许执行此操作：{action}",
            code=code,
            entity=entity,
            current_state=current_state,
            action=action,
        )
        self.current_state = current_state


class BusinessRuleViolation(Conflict):
    """A rule across several values is broken (overlapping agreements, limit exceeded). → 409"""

    code = "rule.violated"


class PermissionDenied(DomainError):
    """The caller is known but may not do this. → 403"""

    code = "auth.forbidden"


class AuthenticationFailed(DomainError):
    """Credentials are missing, wrong, expired or revoked. → 401"""

    code = "auth.failed"


class RateLimited(DomainError):
    """Too many attempts; try again later. → 429"""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class InvariantBroken(Exception):
    """A condition the code itself guarantees did not hold: a defect, never the caller's doing.

    Deliberately not a :class:`DomainError`, so the HTTP layer answers 500 and logs it. Raised where
    a type checker cannot see a guarantee (an id after ``flush``, a row read again under its lock)."""
