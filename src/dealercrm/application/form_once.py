"""Once per form: every web form that creates or decides something carries a random token; the
first post with it does the work, a repeated post (a double click, a reload, a retry after a lost
answer) gets the first post's answer or the same refusal. This is the one way the use cases do
it, through the client-event ledger (:func:`run_client_event`) under the ``form_token`` key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dealercrm.application.gate import run_client_event
from dealercrm.application.orders import FORM_TOKEN
from dealercrm.application.ports.gate import ClientEventsUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.identity import Role

_Ledgered = TypeVar("_Ledgered", bound=ClientEventsUnitOfWork)


def request_fingerprint(kind: str, *request: object) -> str:
    """What a replay must match: the kind of work and the request's values (their ``repr``)."""
    return hashlib.sha256(repr((kind, *request)).encode()).hexdigest()


def once_per_form(new_uow: Callable[[], _Ledgered], clock: Clock, *, roles: Sequence[Role], form_token: str,
                  kind: str, request: tuple[object, ...], work: Callable[[_Ledgered], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` (in its own unit of work, which it must not commit) once per form token of
    this user and answer every replay with the first answer. The same token with a different
    ``request`` is ``InvalidValue`` on ``form_token`` (该表单已提交过)."""
    return run_client_event(new_uow, clock, roles=roles, event_id=form_token, kind=kind,
                            fingerprint=request_fingerprint(kind, *request), work=work, key=FORM_TOKEN)
