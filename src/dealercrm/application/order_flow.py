"""The order flow after submission as one facade for embedding code and the HTTP layer: review
(read side), e-contract, finance review, and the ERP events the sync rejected. Each call is one
transaction; reads are scoped like the order itself (another dealer's order answers 404).

The use cases live in ``application.order_review`` (the four-department review through the
workflow), ``application.contracts`` (contract, acceptance, finance review) and
``application.erp_rejections`` (rejected ERP events and their resolution).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from dealercrm.application import contracts, erp_rejections, order_changes
from dealercrm.application.access import not_found
from dealercrm.application.order_review import ORDER_REVIEW_SUBJECT
from dealercrm.application.orders import OrderRef, _visible_row
from dealercrm.application.ports.orders import OrderFlowQueries, OrderFlowUnitOfWork, OrderQueries
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.ports.workflow import WorkflowQueries
from dealercrm.domain.identity import Principal


class OrderFlowService:
    """The order flow after submission (订单流程): review (read side), e-contract, finance review, change
    requests and the ERP events the sync rejected. Each call is one transaction; reads are scoped like the order."""
    def __init__(self, uow: Callable[[Principal], OrderFlowUnitOfWork], clock: Clock,
                 order_queries: OrderQueries | None, flow_queries: OrderFlowQueries | None,
                 workflow_queries: WorkflowQueries | None) -> None:
        self._uow = uow
        self._clock = clock
        self._orders = order_queries
        self._flow = flow_queries
        self._workflows = workflow_queries

    def _order_reads(self) -> OrderQueries:
        if self._orders is None:
            raise ReadModelUnavailable("订单")
        return self._orders

    def _flow_reads(self) -> OrderFlowQueries:
        if self._flow is None:
            raise ReadModelUnavailable("订单流程")
        return self._flow

    def _workflow_reads(self) -> WorkflowQueries:
        if self._workflows is None:
            raise ReadModelUnavailable("审批流程")
        return self._workflows

    # -- writes ------------------------------------------------------------------------------

    def mark_major_modification(self, actor: Principal, order_id: int, flag: bool) -> OrderRef:
        """Mark (or unmark) an order as 大委改 before its review passes, so it skips the e-contract and goes
        to finance; admin, sales, region manager or technical. Returns ``OrderRef``; ``InvalidValue``,
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return contracts.mark_major_modification(order_id, flag, self._uow(actor), self._clock)

    def accept_contract(self, actor: Principal, order_id: int, *, ip: str | None = None,
                        user_agent: str | None = None, expected_version: int | None = None) -> OrderRef:
        """The dealer confirms its e-contract (确认合同), recording who, when and from where; dealers only.
        Returns ``OrderRef``; ``Conflict`` (a second accept, or a stale ``expected_version``),
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return contracts.accept_contract(order_id, self._uow(actor), self._clock, ip=ip, user_agent=user_agent,
                                         expected_version=expected_version)

    def accept_contract_once(self, actor: Principal, order_id: int, *, form_token: str,
                             expected_version: int | None, ip: str | None = None,
                             user_agent: str | None = None) -> OrderRef:
        """``accept_contract`` once per form token (a double click books one acceptance)."""
        return contracts.accept_contract_once(order_id, lambda: self._uow(actor), self._clock, form_token=form_token,
                                              expected_version=expected_version, ip=ip, user_agent=user_agent)

    def finance_approve(self, actor: Principal, order_id: int, *, credit_override_reason: str | None = None,
                        expected_version: int | None = None) -> contracts.FinanceDecision:
        """Finance approves (财务审核通过): the credit rule reserves the contract value, the order awaits release
        and the ERP release is queued, all in one transaction; finance or admin (an override reason passes overdue
        receivables, never the limit). Returns ``FinanceDecision``; ``InvalidValue``, ``BusinessRuleViolation``
        (``credit.limit_exceeded``, ``credit.overdue``, frozen account), ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return contracts.finance_approve(order_id, self._uow(actor), self._clock,
                                         credit_override_reason=credit_override_reason,
                                         expected_version=expected_version)

    def finance_reject(self, actor: Principal, order_id: int, reason: str) -> OrderRef:
        """Finance refuses (财务驳回) with a required reason; the dealer is told why. Finance or admin; returns
        ``OrderRef``. ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return contracts.finance_reject(order_id, reason, self._uow(actor), self._clock)

    def resubmit_to_finance(self, actor: Principal, order_id: int) -> OrderRef:
        """Send a finance-rejected order back to finance; dealer, sales, region manager or admin. Returns
        ``OrderRef``; ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return contracts.resubmit_to_finance(order_id, self._uow(actor), self._clock)

    def request_change(self, actor: Principal, order_id: int, description: str) -> order_changes.ChangeRef:
        """File a change request (订单变更) on an approved order and start its review; dealers and order staff.
        Returns ``ChangeRef``; ``IllegalTransition`` (state), ``Conflict`` (one already open), ``PermissionDenied``, ``NotFound``."""
        return order_changes.request_change(order_id, description, self._uow(actor), self._clock)

    def request_change_once(self, actor: Principal, order_id: int, description: str, *,
                            form_token: str) -> order_changes.ChangeRef:
        """``request_change`` once per form token (a double click files one request)."""
        return order_changes.request_change_once(order_id, description, lambda: self._uow(actor), self._clock,
                                                 form_token=form_token)

    # -- reads -------------------------------------------------------------------------------

    def _check_visible(self, actor: Principal, order_id: int) -> None:
        found = self._order_reads().order_scope(order_id)
        _visible_row(actor, found[0] if found else None, found[1] if found else None)

    def contract(self, actor: Principal, order_id: int) -> dict[str, Any]:
        """The order's current contract (or, after a 退单, the last voided one) with its content."""
        self._check_visible(actor, order_id)
        rows = self._flow_reads().contracts_of_order(order_id)
        if not rows:
            raise not_found("contract", "电子合同")
        return rows[0]

    def contract_pdf(self, actor: Principal, order_id: int) -> tuple[str, str, bytes]:
        """(contract number, media type, the exact stored bytes whose SHA-256 the contract carries)."""
        row = self.contract(actor, order_id)
        found = self._flow_reads().contract_pdf(row["id"])
        if found is None:
            raise not_found("contract", "电子合同")
        return row["contract_no"], found[0], found[1]

    def review(self, actor: Principal, order_id: int) -> list[dict[str, Any]]:
        """The order's review workflows, newest first, each with its steps and history."""
        self._check_visible(actor, order_id)
        out = []
        for row in self._workflow_reads().workflows_of_subject(actor, ORDER_REVIEW_SUBJECT, order_id):
            detail = self._workflow_reads().workflow_detail(row["id"])
            if detail is not None:
                out.append(detail)
        return out

    def changes(self, actor: Principal, order_id: int) -> list[dict[str, Any]]:
        """The order's change requests, newest first."""
        self._check_visible(actor, order_id)
        return self._flow_reads().changes_of_order(order_id)

    # -- ERP events the sync rejected (application.erp_rejections) ---------------------------

    def rejected_erp_events(self, actor: Principal, *, status: str = "open", code: str | None = None,
                            tracking_no: str | None = None, date_from: dt.date | None = None,
                            date_to: dt.date | None = None, before_id: int | None = None,
                            limit: int = 50) -> dict[str, Any]:
        """``{"items": [...], "next_before_id"}``, newest first; ``status`` open (default) /
        resolved / all; ``date_from``/``date_to`` are Beijing calendar days (inclusive); the next
        page: ``before_id=next_before_id`` (None: this was the last)."""
        flt = erp_rejections.RejectionFilter(status, code, tracking_no, date_from, date_to)
        return erp_rejections.list_rejected_events(actor, self._flow_reads(), flt, before_id=before_id, limit=limit)

    def rejected_erp_event(self, actor: Principal, rejection_id: int) -> dict[str, Any]:
        """One ERP event the sync rejected (ERP拒收事件); admin, finance, production or dispatch.
        ``PermissionDenied``, ``NotFound``."""
        return erp_rejections.rejected_event(actor, self._flow_reads(), rejection_id)

    def resolve_rejected_erp_event(self, actor: Principal, rejection_id: int, note: str) -> dict[str, Any]:
        """Mark it handled with a note; the event as it now stands (409 if already resolved)."""
        erp_rejections.resolve_rejected_event(rejection_id, note, self._uow(actor), self._clock)
        return erp_rejections.rejected_event(actor, self._flow_reads(), rejection_id)
