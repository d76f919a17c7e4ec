"""What a service answers when its read side is not wired.

An installation built on in-memory units of work (``bootstrap(uow_factory=..., dealer_queries=...)``)
has no SQL read models for orders, credit, gate or workflow; their list and detail reads refuse
with this typed error instead of failing somewhere inside.
"""

from __future__ import annotations

from dealercrm.domain.errors import DomainError


class ReadModelUnavailable(DomainError):
    """The read queries of a context are not configured on this installation."""

    code = "read_model.unavailable"

    def __init__(self, context: str) -> None:
        super().__init__(f"未配置{context}查询，无法读取", code=self.code, context=context)
