"""The parts master beyond the price list (产品配件展示, seed 000 §4.3.2, issue 18 §5): which parts
a vehicle template carries and how many of each (its fitment), and which parts may replace a
part (substitutes). The parts themselves — number, name, standard cost and retail price in fen —
are ``domain.aftersales.ServicePart``.

Both lists are replaced as a whole by their editors; these functions check a new list before it
is stored. The fitment also feeds the claim risk rule ``parts_over_fitment``: a claim replacing
more of a part than the model carries is flagged.
"""

from __future__ import annotations

import attrs

from dealercrm.domain.aftersales import part_no_of
from dealercrm.domain.errors import InvalidValue

MAX_LINES = 500
MAX_PER_VEHICLE = 10_000


@attrs.frozen
class FitmentLine:
    """``quantity`` of ``part_no`` on every vehicle of the template ``model_code``."""

    part_no: str
    quantity: int


@attrs.frozen
class Substitute:
    """``substitute_no`` may be fitted instead of ``part_no`` (one direction)."""

    part_no: str
    substitute_no: str
    note: str | None = None


def model_code_of(value: str) -> str:
    v = (value or "").strip().upper()
    if not 2 <= len(v) <= 40 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in v):
        raise InvalidValue("model_code", "车型编码须为2到40位字母、数字或 - _ .", code="parts.model_code_invalid")
    return v


def check_fitment(lines: list[tuple[str, int]]) -> list[FitmentLine]:
    """A template's fitment: known-looking part numbers, each once, 1 to 10 000 per vehicle."""
    if len(lines) > MAX_LINES:
        raise InvalidValue("parts", f"一个车型最多维护{MAX_LINES}种配件", code="parts.too_many")
    out: list[FitmentLine] = []
    seen: set[str] = set()
    for raw_no, quantity in lines:
        no = part_no_of(raw_no)
        if no in seen:
            raise InvalidValue("parts", f"配件{no}重复", code="parts.duplicate")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_PER_VEHICLE:
            raise InvalidValue("parts.quantity", f"配件{no}的装配数量须为1到{MAX_PER_VEHICLE}",
                               code="parts.quantity_invalid")
        seen.add(no)
        out.append(FitmentLine(no, quantity))
    return sorted(out, key=lambda line: line.part_no)


def check_substitutes(part_no: str, substitutes: list[tuple[str, str | None]]) -> list[Substitute]:
    """A part's substitutes: valid numbers, never the part itself, each once."""
    no = part_no_of(part_no)
    if len(substitutes) > 50:
        raise InvalidValue("substitutes", "替代件最多50个", code="parts.too_many")
    out: list[Substitute] = []
    seen: set[str] = set()
    for raw, note in substitutes:
        sub = part_no_of(raw)
        if sub == no:
            raise InvalidValue("substitutes", "配件不能替代自身", code="parts.substitute_self")
        if sub in seen:
            raise InvalidValue("substitutes", f"替代件{sub}重复", code="parts.duplicate")
        text = (note or "").strip() or None
        if text is not None and len(text) > 200:
            raise InvalidValue("substitutes.note", "替代说明不能超过200字", code="parts.note_too_long")
        seen.add(sub)
        out.append(Substitute(no, sub, text))
    return sorted(out, key=lambda s: s.substitute_no)
