"""The parts catalogue service (``crm.parts_catalog``, issue 18 §5, seed §4.3.2 产品配件展示):
the parts master (number, name, unit, standard cost and retail price in fen — kept by
after-sales through ``AftersalesService.put_part``) shown with each part's substitutes and, per
vehicle template (model code), the quantity of each part the vehicle carries.

After-sales staff, technical staff and administrators edit the fitment and the substitutes;
every internal role, dealers and stations read the catalogue (it holds no one's own data).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.parts_catalog import PartsCatalogQueries, PartsCatalogUnitOfWork
from dealercrm.domain.aftersales import part_no_of
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.parts_catalog import check_fitment, check_substitutes, model_code_of

PartsCatalogUnitOfWorkFactory = Callable[[Principal], PartsCatalogUnitOfWork]

EDITORS = (Role.AFTER_SALES, Role.TECHNICAL, Role.ADMIN)
READERS = tuple(r for r in Role if r not in (Role.KIOSK, Role.GUARD))


class PartsCatalogService:
    """The parts catalogue (配件目录): each vehicle template's fitment and each part's substitutes over the
    parts master. After-sales, technical and admin edit; every role but kiosks and guards reads."""
    def __init__(self, uow: PartsCatalogUnitOfWorkFactory, queries: PartsCatalogQueries) -> None:
        self._u: PartsCatalogUnitOfWorkFactory = uow
        self.queries: PartsCatalogQueries = queries

    def put_fitment(self, actor: Principal, model_code: str, lines: list[tuple[str, int]]) -> str:
        """Replace the model's fitment; every part must be in the parts master (422 naming it)."""
        require_role(actor, *EDITORS)
        model = model_code_of(model_code)
        checked = check_fitment(lines)
        uow = self._u(actor)
        with uow:
            self._require_known(uow, [x.part_no for x in checked], "parts")
            uow.parts_catalog.replace_fitment(model, checked)
            uow.commit()
        return model

    def put_substitutes(self, actor: Principal, part_no: str, substitutes: list[tuple[str, str | None]]) -> str:
        """Replace a part's substitutes (替代件), each with an optional note; after-sales, technical or admin.
        Returns the part number; ``InvalidValue`` (unknown substitute, self-substitution), ``NotFound`` (part), ``PermissionDenied``."""
        require_role(actor, *EDITORS)
        checked = check_substitutes(part_no, substitutes)
        no = part_no_of(part_no)
        uow = self._u(actor)
        with uow:
            if not uow.parts_catalog.known_parts([no]):
                raise not_found("part", "配件")
            self._require_known(uow, [s.substitute_no for s in checked], "substitutes")
            uow.parts_catalog.replace_substitutes(no, checked)
            uow.commit()
        return no

    @staticmethod
    def _require_known(uow: PartsCatalogUnitOfWork, part_nos: list[str], field: str) -> None:
        unknown = sorted(set(part_nos) - uow.parts_catalog.known_parts(part_nos))
        if unknown:
            raise InvalidValue(field, f"配件编号不在配件主数据中：{'、'.join(unknown)}", code="parts.unknown_part")

    def models(self, actor: Principal) -> list[dict[str, Any]]:
        """The vehicle models that have a fitment, with their part counts; every role but kiosks and guards."""
        require_role(actor, *READERS)
        return self.queries.models()

    def parts(self, actor: Principal, *, model_code: str | None = None, q: str | None = None,
              after: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Parts of the master, optionally fitted to one model or matching a text, keyset-paged by part number
        (``after``); every role but kiosks and guards. ``InvalidValue`` (model code), ``PermissionDenied``."""
        require_role(actor, *READERS)
        return self.queries.parts(model_code=model_code_of(model_code) if model_code else None,
                                  q=(q or "").strip() or None, after=after, limit=limit)

    def part(self, actor: Principal, part_no: str) -> dict[str, Any]:
        """One part with its substitutes and the models it fits; every role but kiosks and guards.
        ``NotFound``, ``PermissionDenied``."""
        require_role(actor, *READERS)
        row = self.queries.part(part_no_of(part_no))
        if row is None:
            raise not_found("part", "配件")
        return row
