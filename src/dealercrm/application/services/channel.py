"""The dealer channel (context 1) with its dependencies bound: registration, review, life cycle,
contacts, territory and agreements; each write is one transaction. Reads are scoped by the
caller: a dealer user sees its own dealer, regional staff their regions, and a dealer the
caller may not see answers 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application import channel
from dealercrm.application.access import dealer_scope, not_found
from dealercrm.application.ports.persistence import (
    Clock,
    DealerQueries,
    PasswordHasher,
    UnitOfWorkFactory,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import beijing_date

#: Who registers a dealer: nobody is signed in yet.
ANONYMOUS = Principal(user_id=None, username="anonymous", role=Role.DEALER)


@attrs.define
class ChannelService:
    _uow: UnitOfWorkFactory
    _clock: Clock
    _hasher: PasswordHasher
    _queries: DealerQueries

    def register_dealer(self, cmd: channel.RegisterDealer) -> channel.Registered:
        return channel.register_dealer(cmd, self._uow(ANONYMOUS), self._clock, self._hasher)

    def submit(self, actor: Principal, dealer_id: int) -> str:
        return channel.submit_dealer_for_review(dealer_id, self._uow(actor), self._clock)

    def approve(self, actor: Principal, dealer_id: int) -> str:
        return channel.approve_dealer(dealer_id, self._uow(actor), self._clock)

    def reject(self, actor: Principal, dealer_id: int, reason: str) -> str:
        return channel.reject_dealer(dealer_id, reason, self._uow(actor), self._clock)

    def suspend(self, actor: Principal, dealer_id: int, reason: str) -> str:
        return channel.suspend_dealer(dealer_id, reason, self._uow(actor), self._clock)

    def reactivate(self, actor: Principal, dealer_id: int) -> str:
        return channel.reactivate_dealer(dealer_id, self._uow(actor), self._clock)

    def terminate(self, actor: Principal, dealer_id: int, reason: str) -> str:
        return channel.terminate_dealer(dealer_id, reason, self._uow(actor), self._clock)

    def update_profile(self, actor: Principal, cmd: channel.UpdateProfile) -> None:
        channel.update_profile(cmd, self._uow(actor))

    def add_contact(self, actor: Principal, dealer_id: int, contact: channel.ContactIn) -> int:
        return channel.add_contact(dealer_id, contact, self._uow(actor))

    def update_contact(self, actor: Principal, dealer_id: int, contact_id: int, contact: channel.ContactIn) -> None:
        channel.update_contact(dealer_id, contact_id, contact, self._uow(actor))

    def remove_contact(self, actor: Principal, dealer_id: int, contact_id: int) -> None:
        channel.remove_contact(dealer_id, contact_id, self._uow(actor))

    def set_territory(self, actor: Principal, dealer_id: int, regions: list[str], industries: list[str]) -> None:
        channel.set_territory(dealer_id, regions, industries, self._uow(actor))

    def add_agreement(self, actor: Principal, cmd: channel.AddAgreement) -> tuple[int, str]:
        return channel.add_agreement(cmd, self._uow(actor), self._clock)

    def terminate_agreement(self, actor: Principal, dealer_id: int, agreement_id: int) -> None:
        channel.terminate_agreement(dealer_id, agreement_id, self._uow(actor))

    # reads (scoped in SQL by the caller's principal)
    def list_dealers(self, actor: Principal, *, status: str | None = None, region: str | None = None,
                     product_line: str | None = None, text: str | None = None, after_id: int | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
        scope = dealer_scope(actor)
        if scope.nothing:
            return []
        return self._queries.list_dealers(
            dealer_id=scope.dealer_id, regions=scope.regions, status=status, region=region,
            product_line=product_line, text=text, after_id=after_id, limit=limit,
        )

    def today(self) -> dt.date:
        """Today in Beijing (an agreement's default validity starts today)."""
        return beijing_date(self._clock())

    def dealer_detail(self, actor: Principal, dealer_id: int) -> dict[str, Any]:
        row = self._queries.dealer_detail(dealer_id)
        if row is None:
            raise not_found("dealer", "经销商")
        channel.visible_dealer_or_404(actor, dealer_id, row["region"])
        return row

    def audit_history(self, actor: Principal, dealer_id: int) -> list[dict[str, Any]]:
        self.dealer_detail(actor, dealer_id)
        return self._queries.audit_history("dealer", dealer_id)
