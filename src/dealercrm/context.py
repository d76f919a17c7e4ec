"""Request-scoped context shared by the entry points and the adapters (standard library only)."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("dealercrm_request_id", default=None)
