"""Release to ERP (下达ERP) through the outbox: never lost, never duplicated.

Finance approval writes an ``erp.release_order`` message (outbox channel ``erp``) in the same
transaction as the credit reservation (``application.contracts.finance_approve``). The outbox
relay hands it to :class:`ErpReleaseDeliverer`, registered as the relay's deliverer of that
channel, with the same leases, retries with exponential backoff and give-up as e-mail and SMS:

1. read the order (and its contract) in a short unit of work and build the ERP sales order;
2. call ``ErpGateway.create_sales_order`` **outside** any transaction, with the idempotency
   key of the contract (``contract:<contract_no>``, ``Contract.erp_key``);
3. record the tracking number (内部流转单号) on the order (``erp_released``) and the contract in
   a second unit of work.

Failure modes: ERP down / 5xx / timeout → ``TransientDeliveryError`` → retried later with the
same key. A timeout *after* the ERP committed is therefore harmless: the retry gets the same
tracking number back (``replayed``) and no second ERP order exists. A crash between 2 and 3
is the same case. The ERP refusing the order (4xx) → ``PermanentDeliveryError``: the message
fails with the ERP's reason and shows on the finance user's workbench; nothing is retried.
An order already released (the ERP sync linked it first) is a no-op.

退单 racing the release (the order returned, its contract voided, while step 2 was under way):
step 3 finds the order no longer awaiting this contract's release. The ERP order is then named on
the order's timeline and the change that returned the order goes to the ERP too, naming that ERP
order, so the ERP cancels it (``OrderChangeRequest.revoke_in_erp``). Had the ERP's answer been
lost instead, the sync meets the ERP order later and refuses to link it to the voided contract's
order (``erp.contract_voided``, in the rejected events).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dealercrm.application.contracts import release_key, released_contract_no
from dealercrm.application.order_changes import send_change_to_erp
from dealercrm.application.ports.erp import (
    ErpChangeRequest,
    ErpGateway,
    ErpOrderLine,
    ErpRejected,
    ErpSalesOrder,
    ErpUnavailable,
)
from dealercrm.application.ports.notify import PermanentDeliveryError, TransientDeliveryError
from dealercrm.application.ports.orders import OrderFlowUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import DomainError, InvariantBroken
from dealercrm.domain.identity import Principal
from dealercrm.domain.notifications import Notification
from dealercrm.domain.orders import Order, OrderState
from dealercrm.domain.values import Money
from dealercrm.domain.values import stored_id

RELEASABLE = (OrderState.AWAITING_RELEASE,)


@contextmanager
def _erp_errors(refused: str) -> Iterator[None]:
    """ERP down → retry later (same key); ERP refusing → the message fails with its reason."""
    try:
        yield
    except ErpUnavailable as exc:
        raise TransientDeliveryError(f"ERP暂不可用：{exc.message}", code="erp.unavailable") from None
    except ErpRejected as exc:
        raise PermanentDeliveryError(f"{refused}：{exc.reason}", code="erp.rejected",
                                     provider_code=exc.erp_code or None) from None


def sales_order_of(order: Order, dealer_code: str, contract_no: str) -> ErpSalesOrder:
    """The ERP's view of an approved order: one configured line."""
    line = ErpOrderLine(1, order.product_line.value, order.model_code, order.quantity, Money(order.unit_price.fen),
                        description=order.template_name, options=tuple(order.options))
    return ErpSalesOrder(contract_no, order.order_no, dealer_code, (line,),
                         end_customer=order.end_customer.name if order.end_customer else None,
                         agreed_delivery_date=order.agreed_delivery_date or order.requested_delivery_date,
                         remarks=order.remarks or "")


class ErpReleaseDeliverer:
    """The outbox relay's deliverer of channel ``erp`` (see module docstring)."""

    def __init__(self, uow_factory: Callable[[Principal], Any], gateway: ErpGateway, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.gateway = gateway
        self.clock = clock

    def __call__(self, n: Notification) -> None:
        try:
            payload = json.loads(n.body)
            key = str(payload["erp_key"])
            if n.template_code == "erp.forward_change":
                self._forward_change(int(payload["change_request_id"]), key)
                return
            order_id = int(payload["order_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentDeliveryError(f"ERP消息无法解析：{exc}", code="erp.message_malformed") from None
        prepared = self._prepare(order_id, key)
        if prepared is None:
            return  # already released (or 退单 took it back before delivery): nothing to send
        with _erp_errors("ERP拒绝订单"):
            ack = self.gateway.create_sales_order(prepared, key)
        self._record(order_id, ack.tracking_no, key)

    # -- change requests (issue 4 §7) ---------------------------------------------------------

    def _forward_change(self, change_id: int, key: str) -> None:
        with self.uow_factory(Principal.system()) as uow:
            change = uow.order_changes.get(change_id)
            if change is None:
                raise PermanentDeliveryError(f"变更申请 {change_id} 不存在", code="erp.change_missing")
            if change.erp_change_id is not None:
                return
            if change.erp_tracking_no is None:
                raise PermanentDeliveryError(f"变更 {change.change_no} 没有内部流转单号", code="erp.change_no_tracking")
            tracking_no = change.erp_tracking_no
            revokes = change.revokes_erp_order
            description = (f"退单：{change.description}（合同 {change.contract_no} 已作废，请撤销本销售订单）"
                           if revokes else change.description)
            request = ErpChangeRequest(change.change_no, description)
        with _erp_errors("ERP拒绝变更"):
            ack = self.gateway.forward_change(tracking_no, request, key)
        now = self.clock()
        with self.uow_factory(Principal.system()) as uow:
            change = uow.order_changes.get(change_id)
            if change.forwarded(ack.change_id, now):
                order = uow.orders.get(change.order_id)
                if revokes:
                    order.record("erp_cancel_requested", f"已通知ERP撤销订单 {tracking_no}（变更 {change.change_no}，"
                                 f"ERP变更号 {ack.change_id}）", now,
                                 data={"change_no": change.change_no, "erp_change_id": ack.change_id,
                                       "tracking_no": tracking_no})
                else:
                    order.record("change_forwarded", f"变更 {change.change_no} 已转ERP（ERP变更号 {ack.change_id}）",
                                 now, data={"change_no": change.change_no, "erp_change_id": ack.change_id,
                                            "tracking_no": tracking_no})
            uow.commit()

    def _prepare(self, order_id: int, key: str) -> ErpSalesOrder | None:
        with self.uow_factory(Principal.system()) as uow:
            order = uow.orders.get(order_id)
            if order is None:
                raise PermanentDeliveryError(f"订单 {order_id} 不存在", code="erp.release_order_missing")
            if order.erp_tracking_no is not None:
                return None
            if order.state in (OrderState.RETURNED, OrderState.CANCELLED, OrderState.DRAFT):
                return None  # 退单 before the release went out: the contract is void, nothing to release
            if order.state not in RELEASABLE:
                raise PermanentDeliveryError(f"订单 {order.order_no} 当前状态为「{order.state.label}」，不能下达ERP",
                                             code="erp.release_not_releasable")
            contract_no, expected_key = release_key(order)
            if expected_key != key:
                return None  # a release of a contract voided by 退单; the new contract has its own message
            terms = uow.orders.dealer_terms(order.dealer_id, order.requested_delivery_date)
            if terms is None:
                raise PermanentDeliveryError("经销商不存在", code="erp.release_dealer_missing")
            return sales_order_of(order, terms.code, contract_no)

    def _record(self, order_id: int, tracking_no: str, key: str) -> None:
        now = self.clock()
        try:
            with self.uow_factory(Principal.system()) as uow:
                order = uow.orders.get(order_id)
                if order is None:
                    raise InvariantBroken(f"released order {order_id} is missing")
                if order.erp_tracking_no is None and (order.state not in RELEASABLE or release_key(order)[1] != key):
                    orphaned = self._revoke(uow, order, tracking_no, key, now)
                    uow.commit()
                    if orphaned is not None:
                        raise orphaned
                    return
                order.erp_released(tracking_no, now)
                contract = uow.contracts.current_of_order(order_id) if order.contract_no else None
                if contract is not None:
                    contract.mark_released(tracking_no, now)
                uow.commit()
        except PermanentDeliveryError:
            raise
        except DomainError as exc:
            if exc.code in ("db.busy", "db.stale_version", "db.integrity_conflict"):
                raise TransientDeliveryError(f"ERP已受理（{tracking_no}），记录时数据库繁忙：{exc.message}",
                                             code=exc.code) from None
            # e.g. the order already carries another tracking number: a person must look
            raise PermanentDeliveryError(f"ERP已受理（{tracking_no}），但记录失败：{exc.message}",
                                         code=exc.code) from None

    @staticmethod
    def _revoke(uow: OrderFlowUnitOfWork, order: Order, tracking_no: str, key: str, now: Any) -> PermanentDeliveryError | None:
        """The ERP accepted a release the order no longer wants: 退单 returned it (and voided the
        contract) while the release was on its way. The ERP order is named on the order's
        timeline and, through the change that returned the order, the ERP is asked to cancel it
        (outbox, same transaction). Without such a change a person must act: the error says so."""
        contract_no = released_contract_no(key)
        what = f"ERP已受理合同 {contract_no} 的下达（内部流转单号 {tracking_no}），但订单已退单、该合同已作废"
        data = {"tracking_no": tracking_no, "contract_no": contract_no}
        change = uow.order_changes.returned_on_contract(stored_id(order.id), contract_no)
        if change is not None:
            if change.revoke_in_erp(tracking_no):
                order.record("erp_release_revoked", f"{what}：随变更 {change.change_no} 通知ERP撤销", now,
                             data=data | {"change_no": change.change_no})
                send_change_to_erp(uow, change)
            return None
        order.record("erp_release_revoked", f"{what}：请在ERP撤销该订单", now, data=data)
        return PermanentDeliveryError(f"{what}，请在ERP撤销该订单", code="erp.release_revoked")
