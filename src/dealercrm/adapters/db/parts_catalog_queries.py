"""Repository and read queries of the parts catalogue (``domain.parts_catalog``): both lists are
replaced as a whole, in Core; reads join the parts master."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dealercrm.adapters.db.aftersales_tables import service_parts
from dealercrm.adapters.db.parts_catalog_tables import part_substitutes, template_parts
from dealercrm.domain.parts_catalog import FitmentLine, Substitute


class SqlAlchemyPartsCatalogRepository:
    """Replaces a model's fitment or a part's substitutes; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def known_parts(self, part_nos: list[str]) -> set[str]:
        if not part_nos:
            return set()
        c = service_parts.c
        return set(self.session.scalars(select(c.part_no).where(c.part_no.in_(sorted(set(part_nos))))))

    def replace_fitment(self, model_code: str, lines: list[FitmentLine]) -> None:
        conn = self.session.connection()
        conn.execute(delete(template_parts).where(template_parts.c.model_code == model_code))
        if lines:
            conn.execute(insert(template_parts), [{"model_code": model_code, "part_no": x.part_no,
                                                   "quantity": x.quantity} for x in lines])

    def replace_substitutes(self, part_no: str, substitutes: list[Substitute]) -> None:
        conn = self.session.connection()
        conn.execute(delete(part_substitutes).where(part_substitutes.c.part_no == part_no))
        if substitutes:
            conn.execute(insert(part_substitutes), [{"part_no": s.part_no, "substitute_no": s.substitute_no,
                                                     "note": s.note} for s in substitutes])


class SqlPartsCatalogQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _all(self, q: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(q)]

    def models(self) -> list[dict[str, Any]]:
        t = template_parts.c
        return self._all(select(t.model_code, func.count().label("parts"), func.sum(t.quantity).label("pieces"))
                         .group_by(t.model_code).order_by(t.model_code))

    def parts(self, *, model_code: str | None = None, q: str | None = None, after: str | None = None,
              limit: int = 50) -> list[dict[str, Any]]:
        """Parts by number after ``after``, each with its substitutes; with ``model_code`` only the
        model's parts, with the quantity it carries."""
        p, t = service_parts.c, template_parts.c
        cols = [p.part_no, p.name, p.unit, p.standard_cost_fen, p.retail_price_fen]
        if model_code is not None:
            query = (select(*cols, t.quantity).select_from(service_parts.join(template_parts, t.part_no == p.part_no))
                     .where(t.model_code == model_code))
        else:
            query = select(*cols)
        if q:
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(p.part_no.like(like, escape="\\") | p.name.like(like, escape="\\"))
        if after is not None:
            query = query.where(p.part_no > after)
        rows = self._all(query.order_by(p.part_no).limit(limit))
        subs = self.substitutes([r["part_no"] for r in rows])
        for r in rows:
            r.setdefault("quantity", None)
            r["substitutes"] = subs.get(r["part_no"], [])
        return rows

    def substitutes(self, part_nos: list[str]) -> dict[str, list[dict[str, Any]]]:
        if not part_nos:
            return {}
        s, p = part_substitutes.c, service_parts.c
        out: dict[str, list[dict[str, Any]]] = {}
        for r in self._all(select(s.part_no, s.substitute_no, s.note, p.name)
                           .join(service_parts, p.part_no == s.substitute_no)
                           .where(s.part_no.in_(part_nos)).order_by(s.part_no, s.substitute_no)):
            out.setdefault(r["part_no"], []).append({"part_no": r["substitute_no"], "name": r["name"],
                                                     "note": r["note"]})
        return out

    def part(self, part_no: str) -> dict[str, Any] | None:
        p, t = service_parts.c, template_parts.c
        found = self._all(select(p.id, p.part_no, p.name, p.unit, p.standard_cost_fen, p.retail_price_fen)
                          .where(p.part_no == part_no))
        if not found:
            return None
        row = found[0]
        row["substitutes"] = self.substitutes([part_no]).get(part_no, [])
        row["fitted_on"] = self._all(select(t.model_code, t.quantity).where(t.part_no == part_no)
                                     .order_by(t.model_code))
        return row
