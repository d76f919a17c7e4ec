"""Document rendering ports: a contract (and later receipts) to bytes a person can read."""

from __future__ import annotations

from typing import Protocol

from dealercrm.domain.contract_document import ContractDocument
from dealercrm.domain.errors import DomainError
from dealercrm.domain.printing import PrintDocument


class DocumentUnavailable(DomainError):
    """The document cannot be rendered on this installation (e.g. no Chinese font installed)."""

    code = "document.unavailable"


class PrintRenderer(Protocol):
    """A laid-out ``PrintDocument`` as a PDF a person prints (the dealer's receipt slip, say);
    ``DocumentUnavailable`` when this installation cannot render it (no Chinese font)."""

    def render(self, document: PrintDocument, title: str) -> bytes: ...


class ContractRenderer(Protocol):
    media_type: str

    def render(self, document: ContractDocument) -> bytes:
        """The same document renders to the same bytes (its SHA-256 is stored with the contract)."""
        ...
