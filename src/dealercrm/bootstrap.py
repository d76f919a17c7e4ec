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

from dealercrm.application import catalog, channel, credit, gate, identity, orders, shipping, vehicles, workflow
from dealercrm.application.ports.credit_gate import VehicleReleasePolicy
from dealercrm.application.ports.persistence import (
    Clock,
    DealerQueries,
    PasswordHasher,
    TokenService,
    UnitOfWorkFactory,
)
from dealercrm.bootstrap_engagement import EngagementService
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
        return channel.approve_dealer(dealer_id, self._c.uow(actor), self._c.clock)

    def reject(self, actor: Principal, dealer_id: int, reason: str) -> str:
        return channel.reject_dealer(dealer_id, reason, self._c.uow(actor), self._c.clock)

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

    def change_password(self, actor: Principal, current_password: str, new_password: str) -> None:
        identity.change_password(actor.user_id, current_password, new_password, self._c.uow(actor), self._c.hasher)

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

    def verify_token(self, token: str) -> dict[str, Any]:
        """The claims of a valid bearer token (``AuthenticationFailed`` otherwise)."""
        return self._c.tokens.verify(token)

    def user_status(self, user_id: int) -> dict[str, Any] | None:
        """The user's role, scope and active flag, as the authentication middleware re-checks it."""
        return self._c.dealer_queries.user_status(user_id)

    def ping(self) -> None:
        """Reach the database (readiness probe)."""
        self._c.dealer_queries.ping()

    def list_users(self, actor: Principal, after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        from dealercrm.application.access import require_role

        require_role(actor, Role.ADMIN)
        return self._c.dealer_queries.list_users(after_id=after_id, limit=limit)


@attrs.define
class WorkflowService:
    """Approval workflow: tasks, decisions, delegation, e-mail links, report. Reads are scoped in SQL."""

    _c: Container

    def now(self) -> dt.datetime:
        return self._c.clock()

    def pending_tasks(self, actor: Principal, *, limit: int = 50, after_step_id: int | None = None) -> list[dict[str, Any]]:
        return self._c.workflow_queries.pending_tasks_for(actor, now=self.now(), limit=limit, after_step_id=after_step_id)

    def count_pending_tasks(self, actor: Principal) -> int:
        return self._c.workflow_queries.count_pending_tasks_for(actor, now=self.now())

    def detail(self, actor: Principal, workflow_id: int) -> dict[str, Any]:
        row = self._c.workflow_queries.workflow_detail(workflow_id)
        if row is None or not workflow.workflow_visible(actor, row["dealer_id"], row["region"]):
            from dealercrm.application.access import not_found

            raise not_found("workflow", "审批流程")
        return row

    def of_subject(self, actor: Principal, subject_type: str, subject_id: int) -> list[dict[str, Any]]:
        return self._c.workflow_queries.workflows_of_subject(actor, subject_type, subject_id)

    def decide(self, actor: Principal, step_id: int, decision: str, *, reason: str | None = None,
               comment: str | None = None) -> workflow.StepDecided:
        return workflow.decide_step(self._c.uow(actor), step_id=step_id, decision=decision, by=actor,
                                    now=self.now(), reason=reason, comment=comment)

    def delegate(self, actor: Principal, step_id: int, to_user_id: int, until: dt.date | None = None) -> workflow.StepDecided:
        return workflow.delegate_step(self._c.uow(actor), step_id=step_id, to_user_id=to_user_id, by=actor,
                                      now=self.now(), until=until)

    def withdraw(self, actor: Principal, workflow_id: int, reason: str | None = None) -> str:
        return workflow.withdraw(self._c.uow(actor), workflow_id=workflow_id, by=actor, now=self.now(), reason=reason)

    def set_delegation(self, actor: Principal, to_user_id: int, starts_on: dt.date, ends_on: dt.date | None = None,
                       note: str | None = None, from_user_id: int | None = None) -> int:
        return workflow.set_standing_delegation(self._c.uow(actor), by=actor, to_user_id=to_user_id,
                                                starts_on=starts_on, ends_on=ends_on, note=note, now=self.now(),
                                                from_user_id=from_user_id)

    def cancel_delegation(self, actor: Principal, delegation_id: int) -> None:
        workflow.cancel_standing_delegation(self._c.uow(actor), delegation_id=delegation_id, by=actor, now=self.now())

    def delegations(self, actor: Principal) -> list[dict[str, Any]]:
        return [] if actor.user_id is None else self._c.workflow_queries.delegations_of(actor.user_id, now=self.now())

    def report(self, actor: Principal, subject_type: str | None = None) -> dict[str, Any]:
        from dealercrm.application.access import require_role

        require_role(actor, Role.ADMIN, Role.REGION_MANAGER)
        return self._c.workflow_queries.report(actor, now=self.now(), subject_type=subject_type)

    def _link(self, token: str) -> tuple[Any, Principal]:
        from dealercrm.application.approval_links import ApprovalLinkInvalid
        from dealercrm.domain.errors import AuthenticationFailed

        mail = self._c.approval_mail
        if mail is None or mail.signer is None:
            raise ApprovalLinkInvalid("未启用邮件审批", code="workflow.link_invalid")
        claims = mail.signer.verify(token, self.now())
        try:
            principal = identity.principal_from_claims({"sub": claims.user_id}, self._c.uow(Principal.system()))
        except AuthenticationFailed:
            raise ApprovalLinkInvalid("该审批链接的账号不存在或已停用", code="workflow.link_invalid") from None
        return claims, principal

    def inspect_link(self, token: str) -> workflow.LinkView:
        """What an e-mail link would do (GET: changes nothing)."""
        claims, principal = self._link(token)
        return workflow.inspect_link(self._c.uow(principal), claims=claims, now=self.now())

    def act_on_link(self, token: str, reason: str | None = None, comment: str | None = None) -> workflow.StepDecided:
        claims, principal = self._link(token)
        return workflow.act_on_link(self._c.uow(principal), claims=claims, now=self.now(), reason=reason,
                                    comment=comment)


@attrs.define
class OrdersService:
    """Catalog, discount tiers and configured orders (issue 4); each call is one transaction."""

    _c: Container
    _queries: Any = None

    @property
    def queries(self) -> Any:
        if self._queries is None:
            from dealercrm.adapters.db.orders_queries import SqlOrderQueries

            self._queries = SqlOrderQueries(self._c.engine)
        return self._queries

    # catalog and tiers
    def create_template(self, actor: Principal, cmd: catalog.CreateTemplate) -> catalog.TemplateRef:
        return catalog.create_template(cmd, self._c.uow(actor), self._c.clock)

    def revise_template(self, actor: Principal, template_id: int, content: catalog.TemplateContentIn,
                        expected_lock_version: int | None = None) -> catalog.TemplateRef:
        return catalog.revise_template(template_id, content, self._c.uow(actor), self._c.clock, expected_lock_version)

    def publish_template(self, actor: Principal, template_id: int) -> catalog.TemplateRef:
        return catalog.publish_template(template_id, self._c.uow(actor), self._c.clock)

    def retire_template(self, actor: Principal, template_id: int) -> catalog.TemplateRef:
        return catalog.retire_template(template_id, self._c.uow(actor), self._c.clock)

    def set_price_tier(self, actor: Principal, cmd: catalog.SetPriceTier) -> int:
        return catalog.set_price_tier(cmd, self._c.uow(actor), self._c.clock)

    def list_templates(self, actor: Principal, product_line: str | None = None) -> list[dict[str, Any]]:
        return catalog.list_templates(actor, self.queries, product_line)

    def template_detail(self, actor: Principal, template_id: int) -> dict[str, Any]:
        return catalog.template_detail(actor, self.queries, template_id)

    def template_version(self, actor: Principal, template_id: int, version: int) -> dict[str, Any]:
        return catalog.template_version(actor, self.queries, template_id, version)

    def list_price_tiers(self, actor: Principal, dealer_id: int | None = None) -> list[dict[str, Any]]:
        return catalog.list_price_tiers(actor, self.queries, dealer_id)

    # orders
    def estimate(self, actor: Principal, cmd: orders.EstimateIn) -> Any:
        return orders.estimate(cmd, self._c.uow(actor), self._c.clock)

    def create(self, actor: Principal, cmd: orders.OrderDraftIn, submit: bool = False) -> orders.OrderRef:
        return orders.create_order(cmd, self._c.uow(actor), self._c.clock, submit=submit)

    def check_configuration(self, actor: Principal, cmd: orders.EstimateIn) -> orders.ConfigurationCheck:
        return orders.check_configuration(cmd, self._c.uow(actor), self._c.clock)

    def create_once(self, actor: Principal, cmd: orders.OrderDraftIn, *, submit: bool,
                    form_token: str) -> orders.OrderRef:
        """``create`` once per form token (a double-clicked submit creates one order)."""
        return orders.create_order_once(cmd, lambda: self._c.uow(actor), self._c.clock, submit=submit,
                                        form_token=form_token)

    def update(self, actor: Principal, order_id: int, cmd: orders.OrderDraftIn,
               expected_version: int | None = None) -> orders.OrderRef:
        return orders.update_order(order_id, cmd, self._c.uow(actor), self._c.clock, expected_version)

    def submit(self, actor: Principal, order_id: int, expected_version: int | None = None) -> orders.OrderRef:
        return orders.submit_order(order_id, self._c.uow(actor), self._c.clock, expected_version)

    def withdraw(self, actor: Principal, order_id: int) -> orders.OrderRef:
        return orders.withdraw_order(order_id, self._c.uow(actor), self._c.clock)

    def cancel(self, actor: Principal, order_id: int, reason: str | None = None) -> orders.OrderRef:
        return orders.cancel_order(order_id, reason, self._c.uow(actor), self._c.clock)

    def request_quote(self, actor: Principal, order_id: int, note: str | None = None) -> orders.OrderRef:
        return orders.request_quote(order_id, note, self._c.uow(actor), self._c.clock)

    def issue_quote(self, actor: Principal, order_id: int, unit_price_fen: int, note: str | None,
                    valid_until: dt.date) -> orders.OrderRef:
        return orders.issue_quote(order_id, unit_price_fen, note, valid_until, self._c.uow(actor), self._c.clock)

    def accept_quote(self, actor: Principal, order_id: int) -> orders.OrderRef:
        return orders.accept_quote(order_id, self._c.uow(actor), self._c.clock)

    def decline_quote(self, actor: Principal, order_id: int, reason: str | None = None) -> orders.OrderRef:
        return orders.decline_quote(order_id, reason, self._c.uow(actor), self._c.clock)

    def start_review(self, actor: Principal, order_id: int) -> orders.OrderRef:
        return orders.start_review(order_id, self._c.uow(actor), self._c.clock)

    def record_review_outcome(self, actor: Principal, order_id: int, passed: bool,
                              reasons: tuple[str, ...] = ()) -> orders.OrderRef:
        return orders.record_review_outcome(order_id, passed, reasons, self._c.uow(actor), self._c.clock)

    def list_orders(self, actor: Principal, filters: dict[str, Any] | None = None, before_id: int | None = None,
                    limit: int = 50) -> list[dict[str, Any]]:
        return orders.list_orders(actor, self.queries, filters or {}, before_id, limit)

    def detail(self, actor: Principal, order_id: int) -> dict[str, Any]:
        return orders.order_detail(actor, self.queries, order_id)

    def timeline(self, actor: Principal, order_id: int) -> list[dict[str, Any]]:
        return orders.order_timeline(actor, self.queries, order_id)


@attrs.define
class GateService:
    """Vehicles by VIN, pickup authorizations, gate passes and the kiosk API."""

    _c: Container

    def _uow(self, actor: Principal) -> Any:
        return self._c.uow(actor)

    def _new(self, actor: Principal) -> Any:
        return lambda: self._c.uow(actor)

    @property
    def _digester(self) -> gate.IdDigester:
        return gate.IdDigester(self._c.gate_keys.id_key)

    # vehicles
    def stock_in(self, actor: Principal, cmd: vehicles.StockIn) -> vehicles.StockInResult:
        return vehicles.stock_in(cmd, self._uow(actor), self._c.clock)

    def list_vehicles(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        from dealercrm.application.access import dealer_scope

        return self._c.gate_queries.list_vehicles(dealer_scope(actor), **filters)

    def vehicle(self, actor: Principal, vin: str) -> dict[str, Any]:
        from dealercrm.application.access import dealer_scope, not_found

        row = self._c.gate_queries.vehicle_detail(dealer_scope(actor), vin.strip().upper())
        if row is None:
            raise not_found("vehicle", "车辆")
        return row

    # pickup authorizations (介绍信)
    def register_authorization(self, actor: Principal, cmd: gate.RegisterAuthorization) -> gate.Created:
        return gate.register_authorization(cmd, self._uow(actor), self._c.clock, self._digester)

    def revoke_authorization(self, actor: Principal, authorization_id: int, reason: str) -> str:
        return gate.revoke_authorization(authorization_id, reason, self._uow(actor), self._c.clock)

    def list_authorizations(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        from dealercrm.application.access import dealer_scope

        return self._c.gate_queries.list_authorizations(dealer_scope(actor), **filters)

    def authorization(self, actor: Principal, authorization_id: int) -> dict[str, Any]:
        from dealercrm.application.access import dealer_scope, not_found

        row = self._c.gate_queries.authorization_detail(dealer_scope(actor), authorization_id)
        if row is None:
            raise not_found("pickup_authorization", "介绍信")
        return row

    # gate passes (出门证)
    def create_pass(self, actor: Principal, cmd: gate.CreateGatePass) -> gate.Created:
        return gate.create_gate_pass(cmd, self._uow(actor), self._c.clock, self._digester)

    def approve_pass(self, actor: Principal, gate_pass_id: int) -> str:
        return gate.approve_gate_pass(gate_pass_id, self._uow(actor), self._c.clock, self._c.gate_keys.signer,
                                      self._digester, self._c.vehicle_release_policy)

    def reject_pass(self, actor: Principal, gate_pass_id: int, reason: str) -> str:
        return gate.reject_gate_pass(gate_pass_id, reason, self._uow(actor), self._c.clock)

    def hand_over(self, actor: Principal, gate_pass_id: int) -> str:
        return gate.hand_over_gate_pass(gate_pass_id, self._uow(actor), self._c.clock,
                                        self._c.vehicle_release_policy)

    def void_pass(self, actor: Principal, gate_pass_id: int, reason: str) -> str:
        return gate.void_gate_pass(gate_pass_id, reason, self._uow(actor), self._c.clock)

    def confirm_exit(self, actor: Principal, gate_pass_id: int, event_id: str | None = None) -> dict[str, Any]:
        if event_id is None:
            return gate.confirm_exit_at_desk(gate_pass_id, self._uow(actor), self._c.clock)
        return gate.confirm_exit_idempotent(gate_pass_id, event_id, self._new(actor), self._c.clock,
                                            self._digester)

    def verify(self, actor: Principal, qr_payload: str) -> dict[str, Any]:
        return gate.verify_at_desk(qr_payload, self._uow(actor), self._c.clock, self._c.gate_keys.verifier)

    def print_layout(self, actor: Principal, gate_pass_id: int) -> dict[str, Any]:
        return gate.pass_print_layout(gate_pass_id, self._uow(actor), self._c.clock)

    def list_passes(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        from dealercrm.application.access import dealer_scope

        return self._c.gate_queries.list_passes(dealer_scope(actor), **filters)

    def gate_pass(self, actor: Principal, gate_pass_id: int) -> dict[str, Any]:
        from dealercrm.application.access import dealer_scope, not_found

        row = self._c.gate_queries.pass_detail(dealer_scope(actor), gate_pass_id)
        if row is None:
            raise not_found("gate_pass", "出门证")
        return row

    # outbound shipping (外送) and the dealer's receipt (回执)
    def create_shipment(self, actor: Principal, cmd: shipping.CreateShipment) -> gate.Created:
        return shipping.create_shipment(cmd, self._uow(actor), self._c.clock, self._digester)

    def depart_shipment(self, actor: Principal, shipment_id: int) -> str:
        return shipping.depart_shipment(shipment_id, self._uow(actor), self._c.clock, self._c.vehicle_release_policy)

    def cancel_shipment(self, actor: Principal, shipment_id: int, reason: str) -> str:
        return shipping.cancel_shipment(shipment_id, reason, self._uow(actor), self._c.clock)

    def submit_receipt(self, actor: Principal, shipment_id: int, cmd: shipping.SubmitReceipt) -> gate.Created:
        return shipping.submit_receipt(shipment_id, cmd, self._uow(actor), self._c.clock, self._c.settings.portal_url)

    def remind_missing_receipts(self, actor: Principal, grace_days: int = 3) -> list[str]:
        return shipping.remind_missing_receipts(self._uow(actor), self._c.clock, self._c.settings.portal_url,
                                                dt.timedelta(days=grace_days))

    def receipt_layout(self, actor: Principal, shipment_id: int) -> dict[str, Any]:
        return shipping.receipt_print_layout(shipment_id, self._uow(actor))

    def receipt_pdf(self, actor: Principal, shipment_id: int) -> tuple[str, bytes]:
        from dealercrm.adapters.documents.print_pdf import FpdfDocumentRenderer
        from dealercrm.domain.printing import document_from_wire

        slip = self.receipt_layout(actor, shipment_id)
        pdf = FpdfDocumentRenderer(self._c.settings.pdf_font).render(document_from_wire(slip["layout"]),
                                                                     f"收货回执单 {slip['receipt_no']}")
        return slip["receipt_no"], pdf

    def list_shipments(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        from dealercrm.application.access import dealer_scope

        return self._c.gate_queries.list_shipments(dealer_scope(actor), **filters)

    def shipment(self, actor: Principal, shipment_id: int) -> dict[str, Any]:
        from dealercrm.application.access import dealer_scope, not_found

        row = self._c.gate_queries.shipment_detail(dealer_scope(actor), shipment_id)
        if row is None:
            raise not_found("shipment", "发运单")
        return row

    # kiosk (device credential); each call idempotent by the device's event id
    def verification_keys(self) -> list[dict[str, Any]]:
        return [dict(k) for k in self._c.gate_keys.public_keys]

    def pass_book(self) -> dict[str, Any]:
        return gate.pass_book(self._c.gate_queries, self._c.clock)

    def kiosk_find(self, actor: Principal, id_number: str, event_id: str) -> dict[str, Any]:
        return gate.kiosk_find_passes(id_number, event_id, self._new(actor), self._c.clock, self._digester)

    def kiosk_print(self, actor: Principal, pass_no: str, event_id: str) -> dict[str, Any]:
        return gate.kiosk_record_print(pass_no, event_id, self._new(actor), self._c.clock, self._digester)

    def kiosk_verify(self, actor: Principal, qr_payload: str, event_id: str,
                     scanned_at: dt.datetime | None = None) -> dict[str, Any]:
        return gate.kiosk_verify(qr_payload, event_id, scanned_at, self._new(actor), self._c.clock,
                                 self._c.gate_keys.verifier, self._digester)

    def kiosk_exit(self, actor: Principal, qr_payload: str, event_id: str,
                   scanned_at: dt.datetime | None = None) -> dict[str, Any]:
        return gate.kiosk_confirm_exit(qr_payload, event_id, scanned_at, self._new(actor), self._c.clock,
                                       self._c.gate_keys.verifier, self._digester)


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
    workflow_queries: Any = None
    approval_mail: Any = None
    channel: ChannelService = attrs.field(init=False)
    identity: IdentityService = attrs.field(init=False)
    workflow: WorkflowService = attrs.field(init=False)
    engagement: EngagementService = attrs.field(init=False)
    orders: OrdersService = attrs.field(init=False)
    gate_queries: Any = None
    gate_keys: Any = None
    vehicle_release_policy: VehicleReleasePolicy = attrs.field(factory=credit.CreditReleasePolicy)
    gate: GateService = attrs.field(init=False)
    credit: CreditService = attrs.field(init=False)
    stock: Any = attrs.field(init=False)
    supplied_parts: Any = attrs.field(init=False)
    aftersales: Any = attrs.field(init=False)
    care: Any = attrs.field(init=False)
    order_flow: Any = attrs.field(init=False)
    erp_gateway: Any = None  # the ErpGateway port; built from DEALERCRM_ERP_URL when not given
    video_conferencing: Any = None  # application.ports.video.VideoConferencing; None → from settings
    marketing: Any = attrs.field(init=False)
    web_sessions: Any = None  # the web UI's session store (SQL, or in memory without a database)

    def __attrs_post_init__(self) -> None:
        self.uow = _with_contract_renderer(self.uow, self.settings.pdf_font or None)
        self.channel = ChannelService(self)
        self.identity = IdentityService(self)
        self.workflow = WorkflowService(self)
        self.engagement = EngagementService(self)
        if self.workflow_queries is not None:
            from dealercrm.application.workflow_workbench import (
                ApprovalDeadlineCalendarSource,
                PendingApprovalsSource,
            )

            self.engagement.workbench_sources.register(PendingApprovalsSource(self.workflow_queries))
            self.engagement.calendar_sources.register(ApprovalDeadlineCalendarSource(self.workflow_queries, self.clock))
        from dealercrm.application.credit_jobs import CreditEvaluationJob, CreditRemindersJob

        self.engagement.rules.register_job(CreditRemindersJob(self.uow))
        self.engagement.rules.register_job(CreditEvaluationJob(self.uow))
        from dealercrm.application.gate_jobs import KioskEventRetentionJob, ReceiptRemindersJob

        self.engagement.rules.register_job(ReceiptRemindersJob(
            self.uow, self.settings.portal_url, dt.timedelta(days=self.settings.receipt_grace_days)))
        self.engagement.rules.register_job(KioskEventRetentionJob(self.uow, self.settings.kiosk_event_retention_days))
        self.orders = OrdersService(self)
        self._wire_order_flow()
        self.gate = GateService(self)
        self.credit = CreditService(self)
        from dealercrm.bootstrap_stock import StockService, register_stock_rules

        self.stock = StockService(self)
        register_stock_rules(self)
        from dealercrm.application.delivery_dates import DeliveryDateReminderRule
        from dealercrm.bootstrap_supplied_parts import SuppliedPartsService

        self.engagement.rules.register(DeliveryDateReminderRule(self.settings.delivery_reminder_days))
        self.supplied_parts = SuppliedPartsService(self)
        from dealercrm.bootstrap_aftersales import AftersalesService

        self.aftersales = AftersalesService(self)
        from dealercrm.bootstrap_care import CareService, register_care_rules

        self.care = CareService(self)
        register_care_rules(self)
        from dealercrm.bootstrap_marketing import MarketingService

        self.marketing = MarketingService(self, video=self.video_conferencing)

    def _wire_order_flow(self) -> None:
        """Review → e-contract → finance → ERP (issue 4 §3–§7)."""
        from dealercrm.application.order_flow import OrderFlowService

        flow_queries = None
        if self.engine is not None:
            from dealercrm.adapters.db.orderflow_queries import SqlOrderFlowQueries

            flow_queries = SqlOrderFlowQueries(self.engine)
        self.order_flow = OrderFlowService(self.uow, self.clock, self.orders.queries if self.engine else None,
                                           flow_queries, self.workflow_queries)
        if self.erp_gateway is None and self.settings.erp_url:
            from dealercrm.adapters.erp.http_gateway import HttpErpGateway

            self.erp_gateway = HttpErpGateway(self.settings.erp_url, self.settings.erp_api_key,
                                              timeout=self.settings.erp_timeout_seconds)
        if self.erp_gateway is not None and self.engine is not None:
            from dealercrm.application.erp_jobs import ErpSyncJob

            self.engagement.rules.register_job(ErpSyncJob(self.erp_gateway, self.erp_sync_target))

    def erp_sync_target(self) -> Any:
        """A fresh SQL ``ErpSyncTarget`` (one per sync run)."""
        from dealercrm.adapters.db.erp_sync_target import SqlErpSyncTarget

        return SqlErpSyncTarget(self.uow, self.clock)

    def outbox_deliverers(self) -> dict[Any, Any]:
        """Extra outbox channels this installation delivers (the ERP release when an ERP is set)."""
        if self.erp_gateway is None:
            return {}
        from dealercrm.application.erp_release import ErpReleaseDeliverer
        from dealercrm.domain.notifications import Channel

        return {Channel.ERP: ErpReleaseDeliverer(self.uow, self.erp_gateway, self.clock)}

    def close(self) -> None:
        if self.erp_gateway is not None and hasattr(self.erp_gateway, "close"):
            self.erp_gateway.close()
        if self.engine is not None:
            self.engine.dispose()


def _with_contract_renderer(uow_factory: UnitOfWorkFactory, font: str | None) -> UnitOfWorkFactory:
    """Every unit of work this container opens carries its contract renderer (the document
    port the review's outcome uses to issue the e-contract), built lazily from the settings."""
    from dealercrm.application.contracts import LazyContractRenderer

    def pdf_renderer() -> Any:
        from dealercrm.adapters.documents.contract_pdf import PdfContractRenderer

        return PdfContractRenderer(font)

    renderer = LazyContractRenderer(pdf_renderer)

    def uow_for(actor: Principal) -> Any:
        uow = uow_factory(actor)
        if getattr(uow, "contract_renderer", None) is None:
            uow.contract_renderer = renderer
        return uow

    return uow_for  # type: ignore[return-value]


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
    workflow_queries: Any = None,
    vehicle_release_policy: VehicleReleasePolicy | None = None,
    gate_keys: Any = None,
    erp_gateway: Any = None,
    video_conferencing: Any = None,
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
    approval_mail = _approval_mail(settings)
    if gate_keys is None:
        from dealercrm.adapters.gate_keys import load_gate_keys

        gate_keys = load_gate_keys(settings.gate_signing_key, settings.gate_verification_keys,
                                   settings.gate_id_hash_key)
    gate_queries = None
    engine = None
    if uow_factory is None or dealer_queries is None:
        from dealercrm.adapters.db import migrate as migrations
        from dealercrm.adapters.db.engine import make_engine
        from dealercrm.adapters.db.queries import SqlDealerQueries
        from dealercrm.adapters.db.uow import make_uow_factory
        from dealercrm.adapters.db.workflow_queries import SqlWorkflowQueries

        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        if migrate:
            migrations.upgrade(engine)
        uow_factory = uow_factory or make_uow_factory(engine, clock, approval_mail=approval_mail)
        dealer_queries = dealer_queries or SqlDealerQueries(engine)
        workflow_queries = workflow_queries or SqlWorkflowQueries(engine)
        from dealercrm.adapters.db.gate_queries import SqlGateQueries

        gate_queries = SqlGateQueries(engine)
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
        workflow_queries=workflow_queries,
        approval_mail=approval_mail,
        gate_queries=gate_queries,
        gate_keys=gate_keys,
        vehicle_release_policy=vehicle_release_policy or credit.CreditReleasePolicy(),
        erp_gateway=erp_gateway,
        video_conferencing=video_conferencing,
        web_sessions=_web_sessions(settings, engine, clock),
    )


def _web_sessions(settings: Settings, engine: Any, clock: Clock) -> Any:
    from dealercrm.adapters.db.web_sessions import InMemoryWebSessionStore, SqlAlchemyWebSessionStore

    ttl = dt.timedelta(minutes=settings.session_ttl_minutes)
    if engine is None:
        return InMemoryWebSessionStore(clock, ttl)
    return SqlAlchemyWebSessionStore(engine, clock, settings.session_secret, ttl)


def _approval_mail(settings: Settings) -> workflow.ApprovalMail:
    from dealercrm.application.approval_links import ApprovalLinkSigner, derive_link_key

    return workflow.ApprovalMail(
        portal_url=settings.portal_url,
        signer=ApprovalLinkSigner(derive_link_key(settings.workflow_link_secret, settings.jwt_secret)),
        link_ttl=dt.timedelta(hours=settings.workflow_link_ttl_hours),
    )
