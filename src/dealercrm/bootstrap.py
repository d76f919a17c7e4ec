"""The one place that names concrete adapters, and the library facade for embedding teams.

    import dealercrm
    crm = dealercrm.bootstrap(database_url="sqlite:///crm.db")   # migrates, maps, wires
    reg = crm.channel.register_dealer(RegisterDealer(...))
    crm.channel.approve(actor, reg.dealer_id)

Every port can be replaced by passing it in: ``bootstrap(clock=..., password_hasher=...,
uow_factory=..., dealer_queries=...)``. Nothing here runs at import time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application import channel, credit, identity
from dealercrm.application.ports.persistence import (
    Clock,
    DealerQueries,
    PasswordHasher,
    TokenService,
    UnitOfWorkFactory,
)
from dealercrm.config import Settings, load_settings
from dealercrm.domain.identity import Principal, Role

ANONYMOUS = Principal(user_id=None, username="anonymous", role=Role.DEALER)


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.define
class ChannelService:
    """Dealer channel use cases with their dependencies bound; each call is one transaction."""

    _c: Container

    def register_dealer(self, cmd: channel.RegisterDealer) -> channel.Registered:
        return channel.register_dealer(cmd, self._c.uow(ANONYMOUS), self._c.clock, self._c.hasher)

    def submit(self, actor: Principal, dealer_id: int) -> str:
        return channel.submit_dealer_for_review(dealer_id, self._c.uow(actor), self._c.clock)

    def approve(self, actor: Principal, dealer_id: int) -> str:
        return channel.approve_dealer(dealer_id, self._c.uow(actor), self._c.clock, self._c.settings.portal_url)

    def reject(self, actor: Principal, dealer_id: int, reason: str) -> str:
        return channel.reject_dealer(dealer_id, reason, self._c.uow(actor), self._c.clock, self._c.settings.portal_url)

    def suspend(self, actor: Principal, dealer_id: int, reason: str) -> str:
        return channel.suspend_dealer(dealer_id, reason, self._c.uow(actor), self._c.clock)

    def reactivate(self, actor: Principal, dealer_id: int) -> str:
        return channel.reactivate_dealer(dealer_id, self._c.uow(actor), self._c.clock)

    def terminate(self, actor: Principal, dealer_id: int, reason: str) -> str:
        return channel.terminate_dealer(dealer_id, reason, self._c.uow(actor), self._c.clock)

    def update_profile(self, actor: Principal, cmd: channel.UpdateProfile) -> None:
        channel.update_profile(cmd, self._c.uow(actor))

    def add_contact(self, actor: Principal, dealer_id: int, contact: channel.ContactIn) -> int:
        return channel.add_contact(dealer_id, contact, self._c.uow(actor))

    def update_contact(self, actor: Principal, dealer_id: int, contact_id: int, contact: channel.ContactIn) -> None:
        channel.update_contact(dealer_id, contact_id, contact, self._c.uow(actor))

    def remove_contact(self, actor: Principal, dealer_id: int, contact_id: int) -> None:
        channel.remove_contact(dealer_id, contact_id, self._c.uow(actor))

    def set_territory(self, actor: Principal, dealer_id: int, regions: list[str], industries: list[str]) -> None:
        channel.set_territory(dealer_id, regions, industries, self._c.uow(actor))

    def add_agreement(self, actor: Principal, cmd: channel.AddAgreement) -> tuple[int, str]:
        return channel.add_agreement(cmd, self._c.uow(actor), self._c.clock)

    def terminate_agreement(self, actor: Principal, dealer_id: int, agreement_id: int) -> None:
        channel.terminate_agreement(dealer_id, agreement_id, self._c.uow(actor))

    # reads (scoped in SQL by the caller's principal)
    def list_dealers(self, actor: Principal, *, status: str | None = None, region: str | None = None,
                     product_line: str | None = None, text: str | None = None, after_id: int | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
        from dealercrm.application.access import dealer_scope

        scope = dealer_scope(actor)
        if scope.nothing:
            return []
        return self._c.dealer_queries.list_dealers(
            dealer_id=scope.dealer_id, regions=scope.regions, status=status, region=region,
            product_line=product_line, text=text, after_id=after_id, limit=limit,
        )

    def dealer_detail(self, actor: Principal, dealer_id: int) -> dict[str, Any]:
        row = self._c.dealer_queries.dealer_detail(dealer_id)
        channel.visible_dealer_or_404(actor, dealer_id, row["region"] if row else None)
        assert row is not None
        return row

    def audit_history(self, actor: Principal, dealer_id: int) -> list[dict[str, Any]]:
        self.dealer_detail(actor, dealer_id)
        return self._c.dealer_queries.audit_history("dealer", dealer_id)


@attrs.define
class CreditService:
    """Credit, invoices, payments and receivables (context 5). Writes go through
    ``application.credit``; reads come from ``SqlCreditQueries``, scoped by the caller.

    Inside another context's unit of work call the rule functions directly
    (``application.credit.reserve_for_contract(uow, ...)`` etc.); the methods here each run
    their own transaction, for embedding teams, the demo and the HTTP API."""

    _c: Container
    _queries: Any = attrs.field(default=None, init=False)

    @property
    def queries(self) -> Any:
        if self._queries is None:
            from dealercrm.adapters.db.credit_queries import SqlCreditQueries

            self._queries = SqlCreditQueries(self._c.engine)
        return self._queries

    def _run(self, actor: Principal, rule: Any, *args: Any, **kwargs: Any) -> Any:
        with self._c.uow(actor) as uow:
            result = rule(uow, *args, **kwargs)
            uow.commit()
        return result

    # the credit rule, each in its own transaction
    def reserve(self, actor: Principal, dealer_id: int, contract_no: str, amount_fen: int, *,
                override_reason: str | None = None) -> credit.Reservation:
        return self._run(actor, credit.reserve_for_contract, dealer_id, contract_no, amount_fen,
                         override_reason=override_reason)

    def adjust(self, actor: Principal, contract_no: str, new_amount_fen: int, *,
               override_reason: str | None = None) -> credit.Reservation:
        return self._run(actor, credit.adjust_contract, contract_no, new_amount_fen, override_reason=override_reason)

    def cancel(self, actor: Principal, contract_no: str, reason: str | None = None) -> credit.Reservation:
        return self._run(actor, credit.cancel_contract, contract_no, reason=reason)

    def reopen(self, actor: Principal, contract_no: str, *, amount_fen: int | None = None,
               override_reason: str | None = None) -> credit.Reservation:
        return self._run(actor, credit.reopen_contract, contract_no, amount_fen=amount_fen,
                         override_reason=override_reason)

    def check_release(self, actor: Principal, dealer_id: int, contract_no: str, vins: list[str], *,
                      override_reason: str | None = None) -> credit.ReleaseClearance:
        return self._run(actor, credit.check_vehicle_release, dealer_id, contract_no, vins,
                         override_reason=override_reason)

    def book_erp_payment(self, erp_payment_id: str, dealer: str | int, contract_no: str | None, amount_fen: int,
                         received_at: dt.datetime) -> credit.PaymentBooked:
        return self._run(Principal.system(), credit.book_erp_payment, erp_payment_id, dealer, contract_no,
                         amount_fen, received_at)

    # use cases
    def request_change(self, actor: Principal, cmd: credit.RequestCreditChange) -> credit.ChangeRequestOut:
        return credit.request_credit_change(cmd, self._c.uow(actor), self._c.clock)

    def approve_change(self, actor: Principal, request_id: int, note: str | None = None) -> credit.ChangeRequestOut:
        return credit.approve_credit_change(request_id, note, self._c.uow(actor), self._c.clock)

    def reject_change(self, actor: Principal, request_id: int, reason: str) -> credit.ChangeRequestOut:
        return credit.reject_credit_change(request_id, reason, self._c.uow(actor), self._c.clock)

    def issue_invoice(self, actor: Principal, cmd: credit.IssueInvoice) -> credit.InvoiceIssued:
        return credit.issue_invoice(cmd, self._c.uow(actor), self._c.clock)

    def void_invoice(self, actor: Principal, invoice_id: int, reason: str) -> credit.InvoiceIssued:
        return credit.void_invoice(invoice_id, reason, self._c.uow(actor), self._c.clock)

    def record_payment(self, actor: Principal, cmd: credit.RecordPayment, idempotency_key: str | None) -> dict[str, Any]:
        return credit.record_payment(cmd, idempotency_key, self._c.uow(actor), self._c.clock)

    def allocate_payment(self, actor: Principal, payment_id: int,
                         allocations: list[credit.AllocationIn] | None) -> credit.PaymentBooked:
        return credit.allocate_payment(payment_id, allocations, self._c.uow(actor), self._c.clock)

    def apply_prepayments(self, actor: Principal, dealer_id: int) -> int:
        return credit.apply_prepayments(dealer_id, self._c.uow(actor), self._c.clock)

    def evaluate(self, actor: Principal, dealer_id: int) -> credit.EvaluationOut:
        return credit.evaluate_dealer_credit(dealer_id, self._c.uow(actor), self._c.clock)

    def reconcile(self, actor: Principal, dealer_id: int) -> credit.Reconciliation:
        return credit.reconcile_account(dealer_id, self._c.uow(actor))

    def run_reminders(self, now: dt.datetime | None = None) -> credit.ReminderReport:
        return credit.run_credit_reminders(self._c.uow, now or self._c.clock())

    def run_evaluations(self, now: dt.datetime | None = None) -> int:
        return credit.run_credit_evaluations(self._c.uow, now or self._c.clock())

    # reads, scoped by the caller (foreign dealers are 404)
    def _visible(self, actor: Principal, dealer_id: int | None) -> dict[str, Any]:
        from dealercrm.application.access import require_role

        if actor.role is not Role.DEALER:
            require_role(actor, *credit.CREDIT_READERS)
        brief = self.queries.dealer_brief(dealer_id) if dealer_id is not None else None
        channel.visible_dealer_or_404(actor, dealer_id or 0, brief["region"] if brief else None)
        assert brief is not None
        return brief

    def _scope(self, actor: Principal) -> tuple[int | None, tuple[str, ...] | None]:
        from dealercrm.application.access import dealer_scope, require_role

        if actor.role is not Role.DEALER:
            require_role(actor, *credit.CREDIT_READERS)
        scope = dealer_scope(actor)
        return scope.dealer_id, scope.regions

    def page(self, actor: Principal, dealer_id: int) -> dict[str, Any]:
        """The credit page: terms, exposure with its parts, open receivables, contracts, payments."""
        brief = self._visible(actor, dealer_id)
        from dealercrm.domain.credit import business_day

        return {"dealer": brief, **self.queries.credit_page(dealer_id, business_day(self._c.clock()))}

    def accounts(self, actor: Principal, *, status: str | None = None, warning_only: bool = False,
                 after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        dealer_id, regions = self._scope(actor)
        return self.queries.list_accounts(regions=regions, dealer_id=dealer_id, status=status,
                                          warning_only=warning_only, after_id=after_id, limit=limit)

    def invoices(self, actor: Principal, *, dealer_id: int | None = None, contract_no: str | None = None,
                 state: str | None = None, open_only: bool = False, after_id: int | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
        own, regions = self._scope(actor)
        if dealer_id is not None:
            self._visible(actor, dealer_id)
        return self.queries.list_invoices(regions=regions, dealer_id=own or dealer_id, contract_no=contract_no,
                                          state=state, open_only=open_only, after_id=after_id, limit=limit)

    def payments(self, actor: Principal, *, dealer_id: int | None = None, after_id: int | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
        own, regions = self._scope(actor)
        if dealer_id is not None:
            self._visible(actor, dealer_id)
        return self.queries.list_payments(regions=regions, dealer_id=own or dealer_id, after_id=after_id, limit=limit)

    def contract(self, actor: Principal, contract_no: str) -> dict[str, Any]:
        dealer_id = self.queries.contract_dealer(contract_no)
        if dealer_id is None:
            from dealercrm.application.access import not_found

            raise not_found("credit_contract", "合同")
        self._visible(actor, dealer_id)
        return self.queries.contract(contract_no)

    def change_requests(self, actor: Principal, *, dealer_id: int | None = None, state: str | None = None,
                        after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        own, regions = self._scope(actor)
        if dealer_id is not None:
            self._visible(actor, dealer_id)
        return self.queries.change_requests(regions=regions, dealer_id=own or dealer_id, state=state,
                                            after_id=after_id, limit=limit)

    def evaluations(self, actor: Principal, dealer_id: int) -> list[dict[str, Any]]:
        self._visible(actor, dealer_id)
        return self.queries.evaluations(dealer_id)

    def history(self, actor: Principal, dealer_id: int) -> list[dict[str, Any]]:
        self._visible(actor, dealer_id)
        return self.queries.history(dealer_id)

    def ageing(self, actor: Principal, *, dealer_id: int | None = None, region: str | None = None) -> dict[str, Any]:
        from dealercrm.domain.credit import business_day

        own, regions = self._scope(actor)
        if dealer_id is not None:
            self._visible(actor, dealer_id)
        if region is not None:
            regions = tuple(r for r in (regions or (region,)) if r == region)
        return self.queries.ageing(regions=regions, dealer_id=own or dealer_id,
                                   today=business_day(self._c.clock()))

    def invoice_status_of(self, actor: Principal, vins: list[str],
                          contract_of: dict[str, str] | None = None) -> dict[str, Any]:
        own, regions = self._scope(actor)
        return self.queries.invoice_status_of(vins, contract_of, dealer_id=own, regions=regions)


@attrs.define
class IdentityService:
    _c: Container

    def login(self, username: str, password: str) -> identity.LoginResult:
        return identity.login(username, password, self._c.uow(ANONYMOUS), self._c.hasher, self._c.tokens)

    def create_user(self, actor: Principal, cmd: identity.CreateUser) -> int:
        return identity.create_user(cmd, self._c.uow(actor), self._c.clock, self._c.hasher)

    def deactivate_user(self, actor: Principal, user_id: int) -> None:
        identity.deactivate_user(user_id, self._c.uow(actor))

    def change_role(self, actor: Principal, user_id: int, role: str, regions: tuple[str, ...]) -> None:
        identity.change_role(user_id, role, regions, self._c.uow(actor))

    def issue_device_key(self, actor: Principal, name: str, location: str) -> identity.IssuedDeviceKey:
        return identity.issue_device_credential(name, location, self._c.uow(actor), self._c.clock)

    def revoke_device_key(self, actor: Principal, credential_id: int) -> None:
        identity.revoke_device_credential(credential_id, self._c.uow(actor), self._c.clock)

    def authenticate_device(self, api_key: str) -> Principal:
        return identity.authenticate_device(api_key, self._c.uow(Principal.system()))

    def list_users(self, actor: Principal, after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        from dealercrm.application.access import require_role

        require_role(actor, Role.ADMIN)
        return self._c.dealer_queries.list_users(after_id=after_id, limit=limit)


@attrs.define
class Container:
    """Everything wired. ``channel`` and ``identity`` are the facades embedding teams call."""

    settings: Settings
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenService
    uow: UnitOfWorkFactory
    dealer_queries: DealerQueries
    engine: Any = None
    channel: ChannelService = attrs.field(init=False)
    identity: IdentityService = attrs.field(init=False)
    credit: CreditService = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.channel = ChannelService(self)
        self.identity = IdentityService(self)
        self.credit = CreditService(self)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    migrate: bool = True,
    clock: Clock | None = None,
    password_hasher: PasswordHasher | None = None,
    token_service: TokenService | None = None,
    uow_factory: UnitOfWorkFactory | None = None,
    dealer_queries: DealerQueries | None = None,
) -> Container:
    """Build a configured dealercrm. Pass any port to replace the default adapter."""
    if settings is None:
        settings = load_settings(**({"database_url": database_url} if database_url else {}))
    elif database_url:
        settings = attrs.evolve(settings, database_url=database_url)
    clock = clock or system_clock

    from dealercrm.adapters.db.orm import start_mappers
    from dealercrm.adapters.security import Argon2PasswordHasher, JwtTokenService

    start_mappers()
    engine = None
    if uow_factory is None or dealer_queries is None:
        from dealercrm.adapters.db import migrate as migrations
        from dealercrm.adapters.db.engine import make_engine
        from dealercrm.adapters.db.queries import SqlDealerQueries
        from dealercrm.adapters.db.uow import make_uow_factory

        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        if migrate:
            migrations.upgrade(engine)
        uow_factory = uow_factory or make_uow_factory(engine, clock)
        dealer_queries = dealer_queries or SqlDealerQueries(engine)
    return Container(
        settings=settings,
        clock=clock,
        hasher=password_hasher or Argon2PasswordHasher(),
        tokens=token_service
        or JwtTokenService(
            settings.jwt_secret,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl=dt.timedelta(minutes=settings.token_ttl_minutes),
            clock=clock,
        ),
        uow=uow_factory,
        dealer_queries=dealer_queries,
        engine=engine,
    )
