"""The e-contract (电子合同) and the finance review of an approved order (seed 000 §3.4–§3.5).

* **Generation** — when the four-department review passes (``application.order_review``), the
  contract is generated in the same transaction: a number (``HT-2026-000123``), the parties, the
  configuration, the price, delivery and payment terms; it is rendered through the
  :class:`ContractRenderer` port (a PDF with an embedded Chinese font), and the SHA-256 of those
  exact bytes is stored with the contract and the bytes themselves. Large modification orders
  (大委改) have no e-contract: the review sends them straight to finance.
* **Acceptance** — the dealer confirms (``accept_contract``): who, when, from which address and
  user agent are recorded; the order moves to the finance review. Accepting twice is 409.
* **Finance review** — ``finance_approve`` asks the one credit rule
  (``application.credit.reserve_for_contract``) *inside the same unit of work*: over the limit,
  a frozen account or overdue receivables (without an override reason) → 409 with the credit
  code and nothing changes. On approval the ERP release message is written to the outbox in the
  same transaction (channel ``erp``; ``application.erp_release`` delivers it). ``finance_reject``
  needs a reason and tells the dealer; ``resubmit_to_finance`` sends it back.

A 大委改 order has no contract; its order number stands in as the contract number for the credit
commitment and as the ERP idempotency key (``order:<order_no>``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import credit
from dealercrm.application.access import acting_user_id, not_found, require_role
from dealercrm.application.order_review import _notify_dealer
from dealercrm.application.form_once import once_per_form
from dealercrm.application.orders import _check_version, _ref, _visible_order
from dealercrm.application.orders import OrderRef as OrderRef
from dealercrm.application.ports.documents import ContractRenderer, DocumentUnavailable
from dealercrm.application.ports.orders import OrderFlowUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.catalog import PriceLineKind
from dealercrm.domain.contract_document import ContractDocument, ContractItem, Party
from dealercrm.domain.contracts import Contract
from dealercrm.domain.errors import InvalidValue, InvariantBroken
from dealercrm.domain.identity import Role
from dealercrm.domain.orders import SHANGHAI, Order
from dealercrm.domain.values import stored_id

FINANCE_ROLES = (Role.FINANCE, Role.ADMIN)
ERP_RECIPIENT = "erp"
SELLER = Party("甲方（卖方）", "华通专用汽车股份有限公司", uscc="91410100MA44TH2026",
               address="河南省郑州市经济技术开发区第九大街66号", representative="销售管理部", phone="0371-66886688",
               bank="中国工商银行郑州经开区支行 1702 0266 0920 0123 456")
PAYMENT_TERMS = (
    "乙方在授信额度内的货款按双方约定的账期结算；超出授信额度或无授信的部分，须在车辆出厂前付清。",
    "甲方在车辆出厂时按实际交付车辆开具增值税专用发票；乙方付款以甲方账户实际到账为准。",
)

class LazyContractRenderer:
    """The container's document port for contracts, built on first use: a machine without a
    Chinese font still runs everything else, and only contract generation answers 503. The
    container puts it on every unit of work it opens (``uow.contract_renderer``), so two
    containers in one process each render with their own settings."""

    def __init__(self, factory: Callable[[], ContractRenderer]) -> None:
        self._factory = factory
        self._renderer: ContractRenderer | None = None

    def get(self) -> ContractRenderer:
        if self._renderer is None:
            self._renderer = self._factory()
        return self._renderer


def _contract_renderer(uow: OrderFlowUnitOfWork) -> ContractRenderer:
    holder: LazyContractRenderer | None = getattr(uow, "contract_renderer", None)
    if holder is None:
        raise DocumentUnavailable("未配置合同文档生成器，无法生成电子合同", code="document.unavailable")
    return holder.get()


# ---------------------------------------------------------------------------------------------
# Generation (inside the review's unit of work)


def contract_document(order: Order, dealer: Any, contract_no: str, signed_on: dt.date) -> ContractDocument:
    """What the contract says, from the approved order and the dealer."""
    contact = next((c for c in dealer.contacts if c.is_primary), None)
    a = dealer.address
    buyer = Party("乙方（买方）", dealer.legal_name, uscc=str(getattr(dealer.uscc, "value", dealer.uscc)),
                  address=f"{a.province}{a.city}{a.detail}", representative=contact.name if contact else "",
                  phone=str(getattr(contact.phone, "value", contact.phone)) if contact else "")
    configuration = tuple(f"{line.group}：{line.label}" if line.group else line.label
                          for line in order.estimate.lines if line.kind is PriceLineKind.OPTION)
    item = ContractItem(order.template_name, order.model_code, configuration, order.quantity, order.unit_price.fen,
                        order.total.fen)
    return ContractDocument(
        contract_no=contract_no, signed_on=signed_on, seller=SELLER, buyer=buyer, items=(item,),
        delivery_date=order.agreed_delivery_date or order.requested_delivery_date,
        delivery_method=order.delivery_method.label,
        delivery_address=str(order.delivery_address) if order.delivery_address else "",
        payment_terms=PAYMENT_TERMS, end_customer=order.end_customer.name if order.end_customer else "",
        order_no=order.order_no, remarks=order.remarks or "",
    )


def _as_json(document: ContractDocument) -> dict[str, Any]:
    def plain(_inst: Any, _field: Any, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value

    return attrs.asdict(document, value_serializer=plain)


def issue_contract(uow: OrderFlowUnitOfWork, order: Order, now: dt.datetime) -> Contract:
    """Generate, render and store the contract of an order whose review just passed; the order
    moves to ``contract_signing``. Inside the caller's unit of work (no commit)."""
    if order.id is None:
        raise InvariantBroken("order has no id: not flushed")
    dealer = uow.dealers.get(order.dealer_id)
    if dealer is None:
        raise not_found("dealer", "经销商")
    contract_no = uow.numbers.formatted("HT", year=now.astimezone(SHANGHAI).year)
    document = contract_document(order, dealer, contract_no, now.astimezone(SHANGHAI).date())
    renderer = _contract_renderer(uow)
    content = renderer.render(document)
    digest = hashlib.sha256(content).hexdigest()
    contract = Contract(contract_no, order.id, order.dealer_id, order.total.fen, digest, now)
    uow.contracts.add(contract, document=_as_json(document), content=content, media_type=renderer.media_type)
    actor = uow.actor if uow.actor.user_id is not None else None
    order.contract_issued(contract_no, now, actor, agreed_delivery_date=document.delivery_date)
    order.record("contract_rendered", f"电子合同 {contract_no} 已生成（SHA-256 {digest[:16]}…）", now, actor,
                 data={"contract_no": contract_no, "sha256": digest, "bytes": len(content),
                       "media_type": renderer.media_type})
    _notify_dealer(uow, order, "order.contract_issued", f"order.contract_issued:{contract_no}",
                   contract_no=contract_no, amount=str(order.total))
    return contract


MAJOR_MODIFICATION_MARKERS = (Role.ADMIN, Role.SALES, Role.REGION_MANAGER, Role.TECHNICAL)


def mark_major_modification(order_id: int, flag: bool, uow: OrderFlowUnitOfWork, clock: Clock) -> OrderRef:
    """Factory staff mark (or unmark) a 大委改 order before its review passes; it will skip the
    e-contract and go from the review straight to finance."""
    require_role(uow.actor, *MAJOR_MODIFICATION_MARKERS)
    if not isinstance(flag, bool):
        raise InvalidValue("is_major_modification", "须为 true 或 false", code="value.invalid")
    with uow:
        order = _visible_order(uow, order_id)
        order.mark_major_modification(flag, clock(), uow.actor)
        uow.flush()
        ref = _ref(order)
        uow.commit()
    return ref


# ---------------------------------------------------------------------------------------------
# Acceptance, finance review


@attrs.frozen
class FinanceDecision:
    order: OrderRef
    contract_no: str
    credit: dict[str, Any] | None = None


def _contract_of(uow: OrderFlowUnitOfWork, order: Order) -> Contract:
    contract = uow.contracts.current_of_order(stored_id(order.id))
    if contract is None:
        raise not_found("contract", "电子合同")
    return contract


def accept_contract(order_id: int, uow: OrderFlowUnitOfWork, clock: Clock, *, ip: str | None = None,
                    user_agent: str | None = None, expected_version: int | None = None) -> OrderRef:
    """The dealer confirms its e-contract (who, when, from where). A second accept is 409, and so
    is an ``expected_version`` of the order that is no longer its version (stale)."""
    require_role(uow.actor, Role.DEALER)
    with uow:
        ref = _accept(uow, order_id, clock(), ip, user_agent, expected_version)
        uow.commit()
    return ref


def accept_contract_once(order_id: int, new_uow: Callable[[], OrderFlowUnitOfWork], clock: Clock, *,
                         form_token: str, expected_version: int | None, ip: str | None = None,
                         user_agent: str | None = None) -> OrderRef:
    """``accept_contract`` once per form token of this user: a double-clicked 确认 books one
    acceptance and the second post answers the first one (the client-event ledger)."""

    def work(uow: Any) -> dict[str, Any]:
        return attrs.asdict(_accept(uow, order_id, clock(), ip, user_agent, expected_version))

    answer = once_per_form(new_uow, clock, roles=(Role.DEALER,), form_token=form_token, kind="contract.accept",
                           request=(order_id, expected_version), work=work)
    return OrderRef(**answer)


def _accept(uow: OrderFlowUnitOfWork, order_id: int, now: dt.datetime, ip: str | None, user_agent: str | None,
            expected_version: int | None) -> OrderRef:
    """Accept inside the caller's unit of work (not committed)."""
    order = _visible_order(uow, order_id)
    _check_version(order, expected_version)
    contract = _contract_of(uow, order)
    order.ensure_can("contract_accepted")
    contract.accept(acting_user_id(uow.actor), now, ip, user_agent)
    order.contract_accepted(now, uow.actor, details={
        "contract_no": contract.contract_no, "sha256": contract.document_sha256,
        "ip": contract.accepted_from_ip, "user_agent": contract.accepted_user_agent})
    uow.flush()
    return _ref(order)


_ROUND = "-R"


def release_key(order: Order) -> tuple[str, str]:
    """(contract number for credit and ERP, ERP idempotency key) of an order past review. A 大委改
    order has no contract: its order number stands in, with its round after a 退单."""
    if order.contract_no is not None:
        return order.contract_no, f"contract:{order.contract_no}"
    number = order.order_no if order.release_round <= 1 else f"{order.order_no}{_ROUND}{order.release_round}"
    return number, f"order:{number}"


def released_contract_no(key: str) -> str:
    """The contract number (or, for 大委改, order number and round) a release key of :func:`release_key` names."""
    return key.split(":", 1)[1]


def order_no_of_release(number: str) -> str:
    """The order number inside a 大委改 release number (``SO-2026-000001-R2`` → ``SO-2026-000001``)."""
    return number.split(_ROUND, 1)[0]


def finance_approve(order_id: int, uow: OrderFlowUnitOfWork, clock: Clock, *, credit_override_reason: str | None = None,
                    expected_version: int | None = None) -> FinanceDecision:
    """Finance approves: the credit rule reserves the contract value, the order awaits release
    and the ERP release message is queued — all in one transaction, or nothing."""
    require_role(uow.actor, *FINANCE_ROLES)
    override = (credit_override_reason or "").strip() or None
    if override is not None and len(override) > 500:
        raise InvalidValue("credit_override_reason", "原因不能超过500字", code="reason.too_long")
    now = clock()
    with uow:
        order = _visible_order(uow, order_id)
        _check_version(order, expected_version)
        order.ensure_can("finance_approved")
        contract = None if order.is_major_modification and order.contract_no is None else _contract_of(uow, order)
        contract_no, erp_key = release_key(order)
        reservation = credit.reserve_for_contract(uow, order.dealer_id, contract_no, order.total.fen,
                                                  override_reason=override, now=now)
        if contract is not None:
            contract.finance_approve(acting_user_id(uow.actor), now, override)
        order.finance_approved(now, uow.actor)
        credit_data = _reservation_data(reservation)
        order.record("credit_reserved", f"信用额度占用：合同 {contract_no}，金额 {order.total}"
                     + (f"（逾期放行：{override}）" if override else ""), now, uow.actor,
                     data={"contract_no": contract_no, "amount_fen": order.total.fen, "override_reason": override,
                           **credit_data})
        uow.flush()
        uow.outbox.enqueue("erp.release_order", {
            "contract_no": contract_no,
            "payload": json.dumps({"order_id": order.id, "contract_no": contract_no, "erp_key": erp_key},
                                  sort_keys=True),
        }, ERP_RECIPIENT, f"erp.release:{erp_key}")
        ref = _ref(order)
        uow.commit()
    return FinanceDecision(ref, contract_no, credit_data)


def _reservation_data(reservation: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("exposure_fen", "limit_fen", "available_fen", "overridden"):
        value = getattr(reservation, name, None)
        if isinstance(value, (int, bool, str)):
            out[name] = value
    return out


def finance_reject(order_id: int, reason: str, uow: OrderFlowUnitOfWork, clock: Clock) -> OrderRef:
    """Finance refuses (a reason is required); the dealer is told why."""
    require_role(uow.actor, *FINANCE_ROLES)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidValue("reason", "驳回须填写原因", code="reason.required")
    now = clock()
    with uow:
        order = _visible_order(uow, order_id)
        order.ensure_can("finance_rejected")
        contract = uow.contracts.current_of_order(stored_id(order.id))
        if contract is not None:
            contract.finance_reject(acting_user_id(uow.actor), now, reason)
        order.finance_rejected(reason, now, uow.actor)
        contract_no, _ = release_key(order)
        _notify_dealer(uow, order, "order.finance_rejected", f"order.finance_rejected:{order.id}:{order.version}",
                       contract_no=contract_no, reason=reason.strip())
        uow.flush()
        ref = _ref(order)
        uow.commit()
    return ref


def resubmit_to_finance(order_id: int, uow: OrderFlowUnitOfWork, clock: Clock) -> OrderRef:
    """After a finance rejection was dealt with, the dealer or sales sends it back to finance."""
    require_role(uow.actor, Role.DEALER, Role.SALES, Role.REGION_MANAGER, Role.ADMIN)
    now = clock()
    with uow:
        order = _visible_order(uow, order_id)
        order.ensure_can("resubmit_to_finance")
        contract = uow.contracts.current_of_order(stored_id(order.id))
        if contract is not None:
            contract.resubmit_to_finance()
        order.resubmit_to_finance(now, uow.actor)
        uow.flush()
        ref = _ref(order)
        uow.commit()
    return ref
