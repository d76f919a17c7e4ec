"""Ports of the parts catalogue (产品配件展示): fitment per model and substitutes per part."""

from __future__ import annotations

from typing import Any, Protocol

from dealercrm.application.ports.persistence import UnitOfWork
from dealercrm.domain.parts_catalog import FitmentLine, Substitute


class PartsCatalogRepository(Protocol):
    def known_parts(self, part_nos: list[str]) -> set[str]:
        """Those of ``part_nos`` that are in the parts master."""

    def replace_fitment(self, model_code: str, lines: list[FitmentLine]) -> None: ...
    def replace_substitutes(self, part_no: str, substitutes: list[Substitute]) -> None: ...


class PartsCatalogUnitOfWork(UnitOfWork, Protocol):
    parts_catalog: PartsCatalogRepository


class PartsCatalogQueries(Protocol):
    def models(self) -> list[dict[str, Any]]:
        """Models with a fitment: ``model_code``, ``parts`` (kinds), ``pieces`` (total quantity)."""

    def parts(self, *, model_code: str | None = None, q: str | None = None, after: str | None = None,
              limit: int = 50) -> list[dict[str, Any]]: ...

    def part(self, part_no: str) -> dict[str, Any] | None:
        """One part with its substitutes and the models it is fitted on (``fitted_on``)."""
