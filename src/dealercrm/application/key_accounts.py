"""Key account use cases (seed 000 §2.5): dealers file their large customers and the bids they
won or lost; sales staff do it for the dealers of their regions, marketing for anyone.

Who sees an account: a dealer user those of its dealer; regional sales staff those in their
regions; other staff all. Anything else does not exist for the caller (404)."""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.application.access import REGION_SCOPED_ROLES, dealer_scope, not_found
from dealercrm.application.ports.marketing import KeyAccountUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import InvalidValue, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.key_accounts import AccountContact, KeyAccount
from dealercrm.domain.values import stored_id

WRITERS = (Role.DEALER, Role.SALES, Role.REGION_MANAGER, Role.MARKETING, Role.ADMIN)
READERS = (*WRITERS, Role.FINANCE, Role.PRODUCTION)


@attrs.frozen
class FileKeyAccount:
    name: str
    industry: str
    region: str
    dealer_id: int | None = None
    sales_rep_id: int | None = None
    contacts: tuple[AccountContact, ...] = ()
    notes: str | None = None


@attrs.frozen
class UpdateKeyAccount:
    account_id: int
    name: str | None = None
    industry: str | None = None
    contacts: tuple[AccountContact, ...] | None = None
    notes: str | None = None
    sales_rep_id: int | None = None


@attrs.frozen
class RecordBid:
    account_id: int
    title: str
    bid_on: dt.date
    outcome: str
    amount_fen: int
    product_line: str | None = None
    quantity: int | None = None
    competitors: tuple[str, ...] = ()
    reasons: str | None = None


def visible(principal: Principal, dealer_id: int | None, region: str) -> bool:
    if principal.role is Role.DEALER:
        return dealer_id is not None and dealer_id == principal.dealer_id
    if principal.role not in READERS:
        return False
    if principal.role in REGION_SCOPED_ROLES and principal.regions:
        return region in principal.regions
    return True


def _require_writer(actor: Principal) -> None:
    if actor.role not in WRITERS:
        raise PermissionDenied("当前角色无权维护大客户档案", code="auth.forbidden")


def _check_rep(uow: KeyAccountUnitOfWork, sales_rep_id: int | None) -> None:
    if sales_rep_id is None:
        return
    rep = uow.key_accounts.sales_user(sales_rep_id)
    if rep is None or not rep["is_active"] or Role(rep["role"]) not in REGION_SCOPED_ROLES:
        raise InvalidValue("sales_rep_id", "销售代表不存在", code="user.not_found")


def file_key_account(cmd: FileKeyAccount, uow: KeyAccountUnitOfWork, clock: Clock) -> int:
    actor = uow.actor
    _require_writer(actor)
    dealer_id = actor.dealer_id if actor.role is Role.DEALER else cmd.dealer_id
    if actor.role is Role.DEALER and cmd.dealer_id not in (None, actor.dealer_id):
        raise not_found("dealer", "经销商")
    with uow:
        if dealer_id is not None:
            dealer = uow.dealers.get(dealer_id)
            if dealer is None or not dealer_scope(actor).admits(dealer.id, dealer.region):
                raise not_found("dealer", "经销商")
        _check_rep(uow, cmd.sales_rep_id)
        account = KeyAccount.file(name=cmd.name, industry=cmd.industry, region=cmd.region, dealer_id=dealer_id,
                                  sales_rep_id=cmd.sales_rep_id, contacts=list(cmd.contacts), notes=cmd.notes,
                                  by_name=actor.username, now=clock(), known_regions=uow.regions.active_names())
        if not visible(actor, account.dealer_id, account.region):
            raise InvalidValue("region", "只能登记本人负责大区的大客户", code="key_account.region_out_of_scope")
        uow.key_accounts.add(account)
        uow.flush()
        account_id = stored_id(account.id)
        uow.commit()
    return account_id


def _load(uow: KeyAccountUnitOfWork, account_id: int) -> KeyAccount:
    account = uow.key_accounts.get(account_id)
    if account is None or not visible(uow.actor, account.dealer_id, account.region):
        raise not_found("key_account", "大客户")
    return account


def update_key_account(cmd: UpdateKeyAccount, uow: KeyAccountUnitOfWork, clock: Clock) -> None:
    _require_writer(uow.actor)
    with uow:
        account = _load(uow, cmd.account_id)
        _check_rep(uow, cmd.sales_rep_id)
        account.update(name=cmd.name, industry=cmd.industry, contacts=None if cmd.contacts is None
                       else list(cmd.contacts), notes=cmd.notes, sales_rep_id=cmd.sales_rep_id, now=clock())
        uow.commit()


def record_bid(cmd: RecordBid, uow: KeyAccountUnitOfWork, clock: Clock) -> int:
    _require_writer(uow.actor)
    with uow:
        account = _load(uow, cmd.account_id)
        case = account.record_bid(title=cmd.title, bid_on=cmd.bid_on, outcome=cmd.outcome, amount_fen=cmd.amount_fen,
                                  product_line=cmd.product_line, quantity=cmd.quantity,
                                  competitors=list(cmd.competitors), reasons=cmd.reasons,
                                  by_name=uow.actor.username, now=clock())
        uow.flush()
        case_id = stored_id(case.id)
        uow.commit()
    return case_id
