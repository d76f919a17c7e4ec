"""Use cases of the dealer channel: registration, review, life cycle, profile, contacts,
territory and agreements.

Each use case takes a command (a frozen attrs class of plain values), the unit of work and the
clock; it builds value objects (so bad input raises ``InvalidValue`` naming the field), checks
the caller may see the dealer, changes the aggregate, and commits once. Nothing is written on
any error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import workflow as wf
from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.form_once import once_per_form
from dealercrm.application.ports.persistence import Clock, PasswordHasher, UnitOfWork
from dealercrm.domain.channel import (
    Address,
    Agreement,
    AssessmentItem,
    BankAccount,
    Contact,
    ContactKind,
    Dealer,
    DealerStatus,
    GrowthPlan,
    Qualification,
    SettlementMethod,
    build_checklist,
)
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidValue, InvariantBroken, NotFound
from dealercrm.domain.identity import Principal, Role, User, validate_password
from dealercrm.domain.values import SHANGHAI, ChineseIdNumber, Phone, Uscc, beijing_date, stored_id
from dealercrm.domain.workflow import Workflow

STAFF_WHO_MANAGE_DEALERS = (Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
STAFF_WHO_DECIDE = (Role.ADMIN, Role.REGION_MANAGER)


# ---------------------------------------------------------------------------------------------
# Commands


@attrs.frozen
class AddressIn:
    province: str
    city: str
    detail: str


@attrs.frozen
class BankAccountIn:
    bank_name: str
    account_name: str
    account_no: str


@attrs.frozen
class ContactIn:
    name: str
    title: str
    phone: str
    kind: str = "contact"
    email: str | None = None
    birthday: dt.date | None = None
    is_primary: bool = False
    id_number: str | None = None
    share_permille: int | None = None  # 持股比例 ‰, shareholders only
    abilities: tuple[str, ...] = ()  # 能力, shareholders and management only


@attrs.frozen
class QualificationIn:
    kind: str
    number: str
    valid_until: dt.date | None = None


@attrs.frozen
class RegisterDealer:
    legal_name: str
    uscc: str
    region: str
    address: AddressIn
    contact: ContactIn
    applicant_username: str
    applicant_password: str
    short_name: str | None = None
    bank_account: BankAccountIn | None = None
    qualifications: tuple[QualificationIn, ...] = ()


@attrs.frozen
class Registered:
    dealer_id: int
    dealer_code: str
    user_id: int


@attrs.frozen
class UpdateProfile:
    dealer_id: int
    legal_name: str | None = None
    short_name: str | None = None
    uscc: str | None = None
    address: AddressIn | None = None
    bank_account: BankAccountIn | None = None
    qualifications: tuple[QualificationIn, ...] | None = None


@attrs.frozen
class CorrectRegistration:
    """The applicant's correction of a registration not yet under review (registered or rejected):
    what a dealer may change itself and its primary contact. ``contact_id`` is the primary contact
    the applicant saw (``None``: the registration has none yet, so one is added)."""
    dealer_id: int
    short_name: str
    address: AddressIn
    qualifications: tuple[QualificationIn, ...]
    contact: ContactIn
    contact_id: int | None = None


@attrs.frozen
class AddAgreement:
    dealer_id: int
    product_lines: tuple[str, ...]
    territory: tuple[str, ...]
    settlement_method: str
    valid_from: dt.date
    valid_to: dt.date


# ---------------------------------------------------------------------------------------------
# Builders: request values → value objects, naming the request field on failure


def _rename(prefix: str, err: InvalidValue) -> InvalidValue:
    field = err.field if err.field.startswith(prefix) else f"{prefix}.{err.field}" if prefix else err.field
    return InvalidValue(field, err.message, code=err.code)


def build_address(a: AddressIn) -> Address:
    try:
        return Address(a.province.strip(), a.city.strip(), a.detail.strip())
    except InvalidValue as e:
        raise _rename("", e) from None


def build_bank_account(b: BankAccountIn) -> BankAccount:
    try:
        return BankAccount(b.bank_name.strip(), b.account_name.strip(), b.account_no.replace(" ", ""))
    except InvalidValue as e:
        raise _rename("bank_account", e) from None


def build_contact(c: ContactIn, prefix: str = "") -> Contact:
    try:
        kind = ContactKind(c.kind)
    except ValueError:
        raise InvalidValue(f"{prefix}kind", "联系人类型须为 management、contact 或 shareholder", code="contact.kind_unknown") from None
    try:
        return Contact(
            name=c.name.strip(),
            kind=kind,
            title=c.title.strip(),
            phone=Phone(c.phone),
            email=c.email,
            birthday=c.birthday,
            is_primary=c.is_primary,
            id_number=ChineseIdNumber(c.id_number) if c.id_number else None,
            share_permille=c.share_permille,
            abilities=[a.strip() for a in c.abilities],
        )
    except InvalidValue as e:
        raise InvalidValue(f"{prefix}{e.field}", e.message, code=e.code) from None


def build_uscc(raw: str) -> Uscc:
    return Uscc(raw)


def _get_visible_dealer(uow: UnitOfWork, dealer_id: int) -> Dealer:
    dealer = uow.dealers.get(dealer_id)
    if dealer is None or not dealer_scope(uow.actor).admits(dealer.id, dealer.region):
        raise not_found("dealer", "经销商")
    return dealer


# ---------------------------------------------------------------------------------------------
# Registration and life cycle


def register_dealer(cmd: RegisterDealer, uow: UnitOfWork, clock: Clock, hasher: PasswordHasher) -> Registered:
    """Public self-registration: the dealer in ``registered`` and its applicant's login."""
    uscc = build_uscc(cmd.uscc)
    address = build_address(cmd.address)
    bank = build_bank_account(cmd.bank_account) if cmd.bank_account else None
    contact = build_contact(cmd.contact, "contact.")
    validate_password(cmd.applicant_password)
    now = clock()
    with uow:
        if uow.dealers.by_uscc(uscc.value) is not None:
            raise Conflict("该统一社会信用代码已注册", code="dealer.uscc_taken", field="uscc")
        if uow.users.by_username(cmd.applicant_username) is not None:
            raise Conflict("用户名已被占用", code="user.username_taken", field="applicant_username")
        dealer = Dealer.register(
            known_regions=uow.regions.active_names(),
            code=uow.dealers.next_code(),
            legal_name=cmd.legal_name.strip(),
            short_name=(cmd.short_name or "").strip() or None,
            uscc=uscc,
            region=cmd.region,
            address=address,
            bank_account=bank,
            registered_at=now,
        )
        dealer.add_contact(attrs.evolve(contact, is_primary=True))
        dealer.replace_qualifications([Qualification(q.kind, q.number, q.valid_until) for q in cmd.qualifications])
        uow.dealers.add(dealer)
        uow.flush()
        if dealer.id is None:
            raise InvariantBroken("dealer has no id: not flushed")
        user = User(
            username=cmd.applicant_username,
            display_name=contact.name,
            role=Role.DEALER,
            password_hash=hasher.hash(cmd.applicant_password),
            dealer_id=dealer.id,
            phone=contact.phone.value,
            email=contact.email,
            created_at=now,
        )
        uow.users.add(user)
        uow.flush()
        if user.id is None:
            raise InvariantBroken("user has no id: not flushed")
        result = Registered(dealer.id, dealer.code, user.id)
        uow.commit()
    return result


def _life_cycle(uow: UnitOfWork, dealer_id: int, roles: tuple[Role, ...], act: Callable[[Dealer], object]) -> str:
    require_role(uow.actor, *roles)
    with uow:
        dealer = _get_visible_dealer(uow, dealer_id)
        act(dealer)
        status = dealer.status.value
        uow.commit()
    return status


# The dealer review runs through the generic approval workflow: one stage, one step for the region
# managers of the dealer's region (region-scoped staff see only their regions; administrators
# may always act). Its outcome reaches the Dealer aggregate through the handler below.
DEALER_REVIEW_SUBJECT = "dealer"
DEALER_REVIEW = wf.WorkflowDefinition(
    "dealer_review", "经销商准入审核",
    (wf.StageDef("准入审核", (wf.StepDef("region_review", "大区经理审核", "role", Role.REGION_MANAGER.value,
                                         due_in_days=3),)),),
)


def _start_review(uow: UnitOfWork, dealer: Dealer, now: dt.datetime) -> None:
    if dealer.id is None:
        raise InvariantBroken("dealer has no id: not flushed")
    wf.start_workflow(
        uow, definition=DEALER_REVIEW,
        subject=wf.WorkflowSubject(DEALER_REVIEW_SUBJECT, dealer.id, dealer.code, f"经销商准入：{dealer.legal_name}",
                                   dealer_id=dealer.id, region=dealer.region),
        submitted_by=uow.actor, now=now,
    )


def submit_dealer_for_review(dealer_id: int, uow: UnitOfWork, clock: Clock) -> str:
    """Send the dealer to review: under_review, and a ``dealer_review`` workflow, one transaction."""
    def act(d: Dealer) -> None:
        d.submit_for_review(clock())
        _start_review(uow, d, clock())

    return _life_cycle(uow, dealer_id, (*STAFF_WHO_MANAGE_DEALERS, Role.DEALER), act)


def _decide_review(uow: UnitOfWork, dealer_id: int, decision: str, clock: Clock, reason: str | None = None) -> str:
    """Decide the caller's step of the dealer's review workflow; the outcome handler moves the
    dealer. A dealer under review without a workflow (data from before workflows) gets one."""
    require_role(uow.actor, *STAFF_WHO_DECIDE)
    if decision == "reject" and (not reason or not reason.strip()):
        raise InvalidValue("reason", "驳回须填写原因", code="reason.required")
    now = clock()
    with uow:
        # lock order: workflow first, then the dealer (as every workflow decision does)
        try:
            decided = wf.decide_subject_step(uow, subject_type=DEALER_REVIEW_SUBJECT, subject_id=dealer_id,
                                             decision=decision, by=uow.actor, now=now, reason=reason)
        except NotFound:
            raise not_found("dealer", "经销商") from None
        if decided is None:
            dealer = _get_visible_dealer(uow, dealer_id)
            if dealer.status is not DealerStatus.UNDER_REVIEW:
                raise IllegalTransition("dealer", dealer.status.value, decision)
            _start_review(uow, dealer, now)
            wf.decide_subject_step(uow, subject_type=DEALER_REVIEW_SUBJECT, subject_id=dealer_id,
                                   decision=decision, by=uow.actor, now=now, reason=reason)
        dealer = _get_visible_dealer(uow, dealer_id)
        if decision == "approve":
            missing = dealer.assessment_missing(_checklist(uow))
            if missing:  # raised before the commit: the step stays undecided
                raise BusinessRuleViolation(
                    "考核规则未全部通过，不能批准：" + "、".join(i.label for i in missing),
                    code="dealer.assessment_incomplete", missing=[i.code for i in missing])
        status = dealer.status.value
        uow.commit()
    return status


# ---------------------------------------------------------------------------------------------
# The registration assessment checklist (考核规则, §2.1 4))


def _checklist(uow: UnitOfWork) -> tuple[AssessmentItem, ...]:
    rules = uow.dealers.assessment_rules()
    return build_checklist(rules["items"]) if rules else ()


def assessment_rules(uow: UnitOfWork) -> dict[str, Any]:
    """The checklist in force (``items`` empty when the company has set none: nothing to pass)."""
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS)
    with uow:
        rules = uow.dealers.assessment_rules()
    return rules or {"items": [], "created_at": None, "created_by": None}


def set_assessment_rules(raw: list[dict[str, Any]], uow: UnitOfWork, clock: Clock) -> list[dict[str, Any]]:
    """A new version of the checklist, validated as a whole; admin only."""
    require_role(uow.actor, Role.ADMIN)
    items = [attrs.asdict(i) for i in build_checklist(raw)]
    with uow:
        uow.dealers.save_assessment_rules(items, clock(), uow.actor.username)
        uow.commit()
    return items


def assess_dealer(dealer_id: int, results: dict[str, tuple[bool, str]], uow: UnitOfWork,
                  clock: Clock) -> dict[str, Any]:
    """Record a reviewer's findings on checklist items for a registration (考核); reviewers
    (admin, region manager). Returns the dealer's checklist with each finding and what is missing."""
    require_role(uow.actor, *STAFF_WHO_DECIDE)
    if not results:
        raise InvalidValue("results", "请至少填写一项考核结果", code="assessment.results_empty")
    with uow:
        checklist = _checklist(uow)
        dealer = _get_visible_dealer(uow, dealer_id)
        dealer.record_assessment(checklist, results, uow.actor.username, clock())
        out = _assessment_view(dealer, checklist)
        uow.commit()
    return out


def dealer_assessment(dealer_id: int, uow: UnitOfWork) -> dict[str, Any]:
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS)
    with uow:
        return _assessment_view(_get_visible_dealer(uow, dealer_id), _checklist(uow))


def _assessment_view(dealer: Dealer, checklist: tuple[AssessmentItem, ...]) -> dict[str, Any]:
    found = dealer.assessment
    return {"dealer_id": dealer.id, "status": dealer.status.value,
            "items": [{"code": i.code, "label": i.label, "required": i.required, **(found.get(i.code) or {})}
                      for i in checklist],
            "missing": [i.code for i in dealer.assessment_missing(checklist)]}


def _on_review_outcome(uow: UnitOfWork, workflow: Workflow, outcome: wf.WorkflowOutcome) -> None:
    """The review workflow finished: move the dealer and tell its primary contact (same transaction)."""
    dealer = uow.dealers.get(outcome.subject_id)
    if dealer is None:
        raise NotFound("经销商不存在", code="dealer.not_found")
    portal_url = wf.portal_url_of(uow)
    if outcome.status is wf.WorkflowStatus.APPROVED:
        dealer.approve(outcome.at)
        login = next((u.username for u in uow.users.of_dealer(stored_id(dealer.id)) if u.is_active), "")
        _notify_review(uow, dealer, "dealer.review_approved", portal_url, login_name=login,
                       approved_on=outcome.at.astimezone(SHANGHAI).strftime("%Y年%m月%d日"))
    elif outcome.status is wf.WorkflowStatus.REJECTED:
        reason = "；".join(outcome.reasons) or "未说明原因"
        dealer.reject(reason, outcome.at)
        _notify_review(uow, dealer, "dealer.review_rejected", f"{portal_url.rstrip('/')}/registration",
                       reason=reason)
    else:
        dealer.withdraw_review(outcome.at, "；".join(outcome.reasons) or None)


# The dealer's entry in the workflow handler table (the composition root builds the table).
DEALER_REVIEW_HANDLERS = wf.SubjectHandlers(DEALER_REVIEW_SUBJECT, _on_review_outcome)


def _notify_review(uow: UnitOfWork, dealer: Dealer, template: str, portal_url: str, **variables: object) -> None:
    """Tell the dealer's primary contact the review outcome, in the same transaction."""
    contact = next((c for c in dealer.contacts if c.is_primary and c.email), None)
    if contact is None or not contact.email:
        return
    uow.outbox.enqueue(
        template,
        {"dealer_name": dealer.legal_name, "application_no": dealer.code, "portal_url": portal_url, **variables},
        contact.email,
        f"{template}:{dealer.id}:{dealer.version}",
    )


def approve_dealer(dealer_id: int, uow: UnitOfWork, clock: Clock) -> str:
    """Approve the caller's step of the dealer's review; the workflow's outcome approves the dealer."""
    return _decide_review(uow, dealer_id, "approve", clock)


def reject_dealer(dealer_id: int, reason: str, uow: UnitOfWork, clock: Clock) -> str:
    """Reject the review with a reason; the dealer is rejected and its contact told why."""
    return _decide_review(uow, dealer_id, "reject", clock, reason)


def suspend_dealer(dealer_id: int, reason: str, uow: UnitOfWork, clock: Clock) -> str:
    return _life_cycle(uow, dealer_id, STAFF_WHO_DECIDE, lambda d: d.suspend(reason, clock()))


def reactivate_dealer(dealer_id: int, uow: UnitOfWork, clock: Clock) -> str:
    return _life_cycle(uow, dealer_id, STAFF_WHO_DECIDE, lambda d: d.reactivate(clock()))


def terminate_dealer(dealer_id: int, reason: str, uow: UnitOfWork, clock: Clock) -> str:
    def act(d: Dealer) -> None:
        d.terminate(reason, clock())
        for user in uow.users.of_dealer(stored_id(d.id)):
            if user.is_active:
                user.deactivate()

    return _life_cycle(uow, dealer_id, STAFF_WHO_DECIDE, act)


# ---------------------------------------------------------------------------------------------
# Profile, contacts, territory, agreements


_DEALER_EDITABLE_BY_DEALER = {"short_name", "address", "bank_account", "qualifications"}


def update_profile(cmd: UpdateProfile, uow: UnitOfWork) -> None:
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS, Role.DEALER)
    changes: dict[str, object] = {}
    if cmd.legal_name is not None:
        changes["legal_name"] = cmd.legal_name.strip()
    if cmd.short_name is not None:
        changes["short_name"] = cmd.short_name.strip() or None
    new_uscc = build_uscc(cmd.uscc) if cmd.uscc is not None else None
    if new_uscc is not None:
        changes["uscc"] = new_uscc
    if cmd.address is not None:
        changes["address"] = build_address(cmd.address)
    if cmd.bank_account is not None:
        changes["bank_account"] = build_bank_account(cmd.bank_account)
    if uow.actor.role is Role.DEALER:
        for name in changes:
            if name not in _DEALER_EDITABLE_BY_DEALER:
                raise InvalidValue(name, "经销商不能自行修改此项，请联系销售代表", code="dealer.field_staff_only")
    with uow:
        dealer = _get_visible_dealer(uow, cmd.dealer_id)
        if new_uscc is not None:
            other = uow.dealers.by_uscc(new_uscc.value)
            if other is not None and other.id != dealer.id:
                raise Conflict("该统一社会信用代码已注册", code="dealer.uscc_taken", field="uscc")
        if changes:
            dealer.update_profile(**changes)
        if cmd.qualifications is not None:
            dealer.replace_qualifications(
                [Qualification(q.kind.strip(), q.number.strip(), q.valid_until) for q in cmd.qualifications]
            )
        uow.commit()


CORRECTABLE = (DealerStatus.REGISTERED, DealerStatus.REJECTED)


def correct_registration(cmd: CorrectRegistration, uow: UnitOfWork) -> None:
    """The applicant corrects its registration before submitting it (again): short name, address,
    qualifications and the primary contact change in one transaction, so a failure in any part
    (a contact removed meanwhile, a bad field) writes nothing. ``IllegalTransition`` once the
    registration is under review or decided."""
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS, Role.DEALER)
    address = build_address(cmd.address)
    contact = build_contact(attrs.evolve(cmd.contact, is_primary=True))
    with uow:
        dealer = _get_visible_dealer(uow, cmd.dealer_id)
        if dealer.status not in CORRECTABLE:
            raise IllegalTransition("dealer", dealer.status.value, "correct_registration",
                                    "注册资料审核中或已准入，不能在这里修改。")
        dealer.update_profile(short_name=cmd.short_name.strip() or None, address=address)
        dealer.replace_qualifications(
            [Qualification(q.kind.strip(), q.number.strip(), q.valid_until) for q in cmd.qualifications])
        if cmd.contact_id is None:
            dealer.add_contact(contact)
        else:
            dealer.update_contact(
                cmd.contact_id, name=contact.name, kind=contact.kind, title=contact.title, phone=contact.phone,
                email=contact.email, birthday=contact.birthday, is_primary=True, id_number=contact.id_number)
        uow.commit()


def add_contact(dealer_id: int, contact_in: ContactIn, uow: UnitOfWork) -> int:
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS, Role.DEALER)
    contact = build_contact(contact_in)
    with uow:
        contact_id = _new_contact(uow, dealer_id, contact)
        uow.commit()
    return contact_id


def add_contact_once(dealer_id: int, contact_in: ContactIn, new_uow: Callable[[], Any], clock: Clock, *,
                     form_token: str) -> int:
    """``add_contact`` once per form token of this user (the client-event ledger): a double-submitted
    form (a shareholder added from the back office) adds one contact, the repeat gets its id."""
    contact = build_contact(contact_in)  # bad input is refused before the ledger: the form can be corrected
    answer = once_per_form(new_uow, clock, roles=(*STAFF_WHO_MANAGE_DEALERS, Role.DEALER), form_token=form_token,
                           kind="contact.add", request=(dealer_id, contact_in),
                           work=lambda uow: {"id": _new_contact(uow, dealer_id, contact)})
    return int(answer["id"])


def _new_contact(uow: UnitOfWork, dealer_id: int, contact: Contact) -> int:
    """Add the contact inside the caller's unit of work (flushed, not committed); its id."""
    dealer = _get_visible_dealer(uow, dealer_id)
    dealer.add_contact(contact)
    uow.flush()
    if contact.id is None:
        raise InvariantBroken("contact has no id: not flushed")
    return contact.id


def update_contact(dealer_id: int, contact_id: int, contact_in: ContactIn, uow: UnitOfWork) -> None:
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS, Role.DEALER)
    c = build_contact(contact_in)
    with uow:
        dealer = _get_visible_dealer(uow, dealer_id)
        dealer.update_contact(
            contact_id, name=c.name, kind=c.kind, title=c.title, phone=c.phone, email=c.email,
            birthday=c.birthday, is_primary=c.is_primary, id_number=c.id_number,
            share_permille=c.share_permille, abilities=list(c.abilities),
        )
        uow.commit()


def remove_contact(dealer_id: int, contact_id: int, uow: UnitOfWork) -> None:
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS, Role.DEALER)
    with uow:
        dealer = _get_visible_dealer(uow, dealer_id)
        dealer.remove_contact(contact_id)
        uow.commit()


def set_territory(dealer_id: int, regions: list[str], industries: list[str], uow: UnitOfWork) -> None:
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS)
    with uow:
        dealer = _get_visible_dealer(uow, dealer_id)
        dealer.set_territory(regions, industries)
        uow.commit()


def add_agreement(cmd: AddAgreement, uow: UnitOfWork, clock: Clock) -> tuple[int, str]:
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS)
    try:
        method = SettlementMethod(cmd.settlement_method)
    except ValueError:
        raise InvalidValue(
            "settlement_method", "结算方式须为 prepayment、credit、acceptance_bill 或 mixed",
            code="settlement_method.unknown",
        ) from None
    with uow:
        dealer = _get_visible_dealer(uow, cmd.dealer_id)
        number = f"AG-{beijing_date(clock()).year}-{dealer.code[3:]}-{len(dealer.agreements) + 1:02d}"
        agreement = Agreement(
            number=number,
            product_lines=sorted(set(cmd.product_lines)),
            territory=sorted(set(cmd.territory)),
            settlement_method=method,
            valid_from=cmd.valid_from,
            valid_to=cmd.valid_to,
        )
        dealer.add_agreement(agreement)
        uow.flush()
        if agreement.id is None:
            raise InvariantBroken("agreement has no id: not flushed")
        result = (agreement.id, agreement.number)
        uow.commit()
    return result


def terminate_agreement(dealer_id: int, agreement_id: int, uow: UnitOfWork) -> None:
    require_role(uow.actor, *STAFF_WHO_DECIDE)
    with uow:
        dealer = _get_visible_dealer(uow, dealer_id)
        dealer.terminate_agreement(agreement_id)
        uow.commit()


def visible_dealer_or_404(principal: Principal, dealer_id: int, region: str | None) -> None:
    """For read paths that fetched a row: hide what the principal may not see."""
    if region is None or not dealer_scope(principal).admits(dealer_id, region):
        raise not_found("dealer", "经销商")


# ---------------------------------------------------------------------------------------------
# Growth plans (经销商增长计划)


def set_growth_plan(dealer_id: int, plan: GrowthPlan, uow: UnitOfWork, clock: Clock) -> None:
    """Set (or replace) the dealer's growth plan of a year; staff who manage dealers, in scope."""
    require_role(uow.actor, *STAFF_WHO_MANAGE_DEALERS)
    with uow:
        _get_visible_dealer(uow, dealer_id)  # locks the dealer: one writer of its plans at a time
        values = {"year": plan.year, "vehicles": plan.vehicles, "amount_fen": plan.amount_fen,
                  "retail_vehicles": plan.retail_vehicles, "actions": [a.strip() for a in plan.actions]}
        uow.dealers.save_growth_plan(dealer_id, values, clock(), uow.actor.username)
        uow.commit()


def growth_plan(dealer_id: int, year: int, uow: UnitOfWork) -> GrowthPlan | None:
    """The stored plan (``None`` when there is none); the caller has checked the dealer is visible."""
    with uow:
        row = uow.dealers.growth_plan(dealer_id, year)
    if row is None:
        return None
    return GrowthPlan(row["year"], row["vehicles"], row["amount_fen"], row["retail_vehicles"], tuple(row["actions"]))
