"""Ports of the care context the service reads through: the read queries (value evaluations,
surveys, templates, tasks — plain dict rows, straight from SQL) and the letter renderer that
prints a care batch's envelopes and letters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol


class CareQueries(Protocol):
    """Read side of care. Scoping is the caller's: it passes the dealer or regions to show."""

    def latest_evaluations(self, *, dealer_id: int | None, regions: tuple[str, ...] | None,
                           value_class: str | None, region: str | None) -> list[dict[str, Any]]:
        """Each dealer's latest value evaluation, best score first."""

    def evaluation_history(self, dealer_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """A dealer's evaluations, newest first."""

    def surveys(self, *, dealer_id: int | None) -> list[dict[str, Any]]:
        """Every survey, or those ``dealer_id`` was invited to (with its ``answered_at``)."""

    def responses(self, survey_id: int) -> list[dict[str, Any]]: ...

    def invited_count(self, survey_id: int) -> int: ...

    def follow_ups(self, response_ids: list[int]) -> list[dict[str, Any]]: ...

    def templates(self) -> list[dict[str, Any]]: ...

    def tasks(self, *, status: str | None, kind: str | None, due_before: dt.date | None,
              after_id: int | None, limit: int) -> list[dict[str, Any]]: ...


class CareLetterRenderer(Protocol):
    """Envelopes and letters of a care batch as one PDF (``layout``: both, envelope or letter).
    Raises ``DocumentUnavailable`` when the installation cannot render them (no Chinese font)."""

    def render(self, recipients: Sequence[dict[str, Any]], *, sender: str, title: str, layout: str) -> bytes: ...
