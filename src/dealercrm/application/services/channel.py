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
from dealercrm.domain.channel import ContactKind, GrowthPlan
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI, beijing_date

#: Who registers a dealer: nobody is signed in yet.
ANONYMOUS = Principal(user_id=None, username="anonymous", role=Role.DEALER)


@attrs.define
class ChannelService:
    """The dealer channel (经销商渠道, context 1): registration, review, life cycle, profile, contacts,
    territory and agreements; each write is one transaction, reads are scoped by the caller."""
    _uow: UnitOfWorkFactory
    _clock: Clock
    _hasher: PasswordHasher
    _queries: DealerQueries

    def register_dealer(self, cmd: channel.RegisterDealer) -> channel.Registered:
        """Self-registration (经销商注册) with nobody signed in: the dealer in ``registered`` and its
        applicant's dealer login. Returns ``Registered`` (dealer id, code); ``InvalidValue`` on a bad
        field, ``Conflict`` when the USCC or the username is taken."""
        return channel.register_dealer(cmd, self._uow(ANONYMOUS), self._clock, self._hasher)

    def submit(self, actor: Principal, dealer_id: int) -> str:
        """Send the dealer to review (提交审核): ``under_review`` and a review workflow. Staff who manage
        dealers (admin, sales, region manager) or the dealer itself; returns the new status.
        ``PermissionDenied``, ``NotFound`` (or not visible), ``IllegalTransition``."""
        return channel.submit_dealer_for_review(dealer_id, self._uow(actor), self._clock)

    def approve(self, actor: Principal, dealer_id: int) -> str:
        """Approve the caller's step of the dealer's review (准入审核); the workflow's outcome approves the
        dealer. Admin or region manager; returns the status. ``PermissionDenied``, ``NotFound``, ``IllegalTransition``."""
        return channel.approve_dealer(dealer_id, self._uow(actor), self._clock)

    def reject(self, actor: Principal, dealer_id: int, reason: str) -> str:
        """Reject the review (驳回) with a reason; the dealer is rejected and its contact told why. Admin or
        region manager; returns the status. ``InvalidValue`` (no reason), ``PermissionDenied``, ``NotFound``, ``IllegalTransition``."""
        return channel.reject_dealer(dealer_id, reason, self._uow(actor), self._clock)

    def suspend(self, actor: Principal, dealer_id: int, reason: str) -> str:
        """Suspend an approved dealer (暂停合作) with a reason. Admin or region manager; returns the new status.
        ``PermissionDenied``, ``NotFound``, ``IllegalTransition``."""
        return channel.suspend_dealer(dealer_id, reason, self._uow(actor), self._clock)

    def reactivate(self, actor: Principal, dealer_id: int) -> str:
        """Reactivate a suspended dealer (恢复合作). Admin or region manager; returns the new status.
        ``PermissionDenied``, ``NotFound``, ``IllegalTransition``."""
        return channel.reactivate_dealer(dealer_id, self._uow(actor), self._clock)

    def assessment_rules(self, actor: Principal) -> dict[str, Any]:
        """The registration assessment checklist in force (考核规则: ``items`` of code, label, required; empty
        when none is set). Staff who manage dealers; ``PermissionDenied``."""
        return channel.assessment_rules(self._uow(actor))

    def set_assessment_rules(self, actor: Principal, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Set a new version of the checklist (the older ones stay); admin. Returns the items;
        ``InvalidValue`` naming the item, ``PermissionDenied``."""
        return channel.set_assessment_rules(items, self._uow(actor), self._clock)

    def assess(self, actor: Principal, dealer_id: int, results: dict[str, tuple[bool, str]]) -> dict[str, Any]:
        """Record a reviewer's findings (code → (passed, note)) on a registration's checklist; a reviewer
        may approve only once every required item is passed (``dealer.assessment_incomplete``). Admin or
        region manager; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return channel.assess_dealer(dealer_id, results, self._uow(actor), self._clock)

    def assessment(self, actor: Principal, dealer_id: int) -> dict[str, Any]:
        """A dealer's checklist with each finding and the required items still missing; staff who manage
        dealers. ``PermissionDenied``, ``NotFound``."""
        return channel.dealer_assessment(dealer_id, self._uow(actor))

    def terminate(self, actor: Principal, dealer_id: int, reason: str) -> str:
        """Terminate the dealer (终止合作) with a reason and deactivate its users. Admin or region manager;
        returns the new status. ``PermissionDenied``, ``NotFound``, ``IllegalTransition``."""
        return channel.terminate_dealer(dealer_id, reason, self._uow(actor), self._clock)

    def update_profile(self, actor: Principal, cmd: channel.UpdateProfile) -> None:
        """Change the dealer's profile (资料). Staff who manage dealers, or the dealer itself for its short name,
        address, bank account and qualifications only. ``InvalidValue`` (a staff-only field), ``Conflict``
        (USCC taken), ``PermissionDenied``, ``NotFound``."""
        channel.update_profile(cmd, self._uow(actor))

    def correct_registration(self, actor: Principal, cmd: channel.CorrectRegistration) -> None:
        """The applicant's correction of a registered or rejected registration (注册资料修改): profile,
        qualifications and primary contact in one transaction. The dealer itself or staff who manage
        dealers. ``InvalidValue``, ``NotFound`` (also a contact removed meanwhile), ``IllegalTransition``."""
        channel.correct_registration(cmd, self._uow(actor))

    def add_contact(self, actor: Principal, dealer_id: int, contact: channel.ContactIn) -> int:
        """Add a contact (联系人) to the dealer; staff who manage dealers or the dealer itself. Returns the
        contact id; ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return channel.add_contact(dealer_id, contact, self._uow(actor))

    def add_contact_once(self, actor: Principal, dealer_id: int, contact: channel.ContactIn, *, form_token: str) -> int:
        """``add_contact`` once per form token of this user: a double-submitted form adds one contact and
        the repeat gets its id (the client-event ledger). ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return channel.add_contact_once(dealer_id, contact, lambda: self._uow(actor), self._clock, form_token=form_token)

    def update_contact(self, actor: Principal, dealer_id: int, contact_id: int, contact: channel.ContactIn) -> None:
        """Replace one of the dealer's contacts; staff who manage dealers or the dealer itself.
        ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        channel.update_contact(dealer_id, contact_id, contact, self._uow(actor))

    def remove_contact(self, actor: Principal, dealer_id: int, contact_id: int) -> None:
        """Remove one of the dealer's contacts; staff who manage dealers or the dealer itself.
        ``PermissionDenied``, ``NotFound`` (also for an unknown contact), ``IllegalTransition`` when terminated."""
        channel.remove_contact(dealer_id, contact_id, self._uow(actor))

    def set_territory(self, actor: Principal, dealer_id: int, regions: list[str], industries: list[str]) -> None:
        """Set the dealer's sales territory (区域) and industries (行业); admin, sales or region manager.
        ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        channel.set_territory(dealer_id, regions, industries, self._uow(actor))

    def add_agreement(self, actor: Principal, cmd: channel.AddAgreement) -> tuple[int, str]:
        """Sign an agreement (经销协议) for a period; admin, sales or region manager. Returns the agreement id
        and number; ``InvalidValue`` (dates), ``BusinessRuleViolation`` (overlapping agreement), ``PermissionDenied``, ``NotFound``."""
        return channel.add_agreement(cmd, self._uow(actor), self._clock)

    def terminate_agreement(self, actor: Principal, dealer_id: int, agreement_id: int) -> None:
        """End one of the dealer's agreements early; admin or region manager. ``PermissionDenied``,
        ``NotFound``, ``IllegalTransition``."""
        channel.terminate_agreement(dealer_id, agreement_id, self._uow(actor))

    # reads (scoped in SQL by the caller's principal)
    def list_dealers(self, actor: Principal, *, status: str | None = None, region: str | None = None,
                     product_line: str | None = None, text: str | None = None, after_id: int | None = None,
                     offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """The dealers the caller may see (a dealer its own, regional staff their regions, stations and
        kiosks none), filtered and paged by id (keyset ``after_id``) — or, with a search ``text``, ranked
        best first and paged by ``offset``; any principal, returns list rows."""
        scope = dealer_scope(actor)
        if scope.nothing:
            return []
        return self._queries.list_dealers(
            dealer_id=scope.dealer_id, regions=scope.regions, status=status, region=region,
            product_line=product_line, text=text, after_id=after_id, limit=limit, offset=offset,
        )

    def today(self) -> dt.date:
        """Today in Beijing (an agreement's default validity starts today)."""
        return beijing_date(self._clock())

    def dealer_detail(self, actor: Principal, dealer_id: int) -> dict[str, Any]:
        """One dealer's detail row; any principal who may see it. ``NotFound`` when missing or not visible
        to the caller (never a 403 that would reveal it exists)."""
        row = self._queries.dealer_detail(dealer_id)
        if row is None:
            raise not_found("dealer", "经销商")
        channel.visible_dealer_or_404(actor, dealer_id, row["region"])
        return row

    def dealer_360(self, actor: Principal, dealer_id: int, *, days: int = 365) -> dict[str, Any]:
        """The dealer 360 view (360°全面渠道管理, seed 000 §二): the profile with its contacts, management
        team and shareholders, agreements and territory, beside the figures of every context it trades
        in over the last ``days`` Beijing days (today included) — orders, stock, retail sales, credit,
        value class, forecast, service requests with their customers' satisfaction, campaign leads and
        trainings. Whoever may see the dealer (``NotFound`` otherwise, as ``dealer_detail``);
        ``InvalidValue`` when ``days`` is not 7–730."""
        if isinstance(days, bool) or not 7 <= days <= 730:
            raise InvalidValue("days", "统计天数须为7到730", code="dealer_360.days_invalid")
        detail = self.dealer_detail(actor, dealer_id)
        today = beijing_date(self._clock())
        since = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=SHANGHAI)
        until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
        contacts = detail["contacts"]

        def kind(c: dict[str, Any]) -> str:
            return str(getattr(c["kind"], "value", c["kind"]))

        team = {
            "shareholders": sorted((c for c in contacts if kind(c) == ContactKind.SHAREHOLDER.value),
                                   key=lambda c: (-(c.get("share_permille") or 0), c["name"])),
            "management": [c for c in contacts if kind(c) == ContactKind.MANAGEMENT.value],
            "contacts": [c for c in contacts if kind(c) == ContactKind.CONTACT.value],
        }
        return {"dealer": detail, "team": team, "since": since.date(), "until": today,
                **self._queries.dealer_overview(dealer_id, since, until)}

    def set_growth_plan(self, actor: Principal, dealer_id: int, plan: GrowthPlan) -> dict[str, Any]:
        """Set or replace the dealer's growth plan (经销商增长计划) of ``plan.year``: targets for vehicles
        ordered, order amount and retail sales, and the agreed actions. Admin, sales or region manager
        in scope; returns the plan with its progress. ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        channel.set_growth_plan(dealer_id, plan, self._uow(actor), self._clock)
        return self.growth_plan(actor, dealer_id, plan.year)

    def growth_plan(self, actor: Principal, dealer_id: int, year: int) -> dict[str, Any]:
        """The dealer's growth plan of ``year`` with the progress so far: orders submitted, their amount
        and retail sales within that Beijing calendar year. Whoever may see the dealer (its own dealer
        too); ``NotFound`` when the dealer is not visible or has no plan for that year."""
        self.dealer_detail(actor, dealer_id)
        plan = channel.growth_plan(dealer_id, year, self._uow(actor))
        if plan is None:
            raise not_found("growth_plan", "增长计划")
        since = dt.datetime(year, 1, 1, tzinfo=SHANGHAI)
        facts = self._queries.dealer_overview(dealer_id, since, dt.datetime(year + 1, 1, 1, tzinfo=SHANGHAI))
        return {"dealer_id": dealer_id, "year": year, "actions": list(plan.actions),
                "progress": plan.progress(facts["orders"]["submitted"], facts["orders"]["amount_fen"],
                                          facts["retail"]["sold"])}

    def audit_history(self, actor: Principal, dealer_id: int) -> list[dict[str, Any]]:
        """The dealer's audit trail (审计记录), oldest first; whoever may see the dealer. ``NotFound`` as
        ``dealer_detail``."""
        self.dealer_detail(actor, dealer_id)
        return self._queries.audit_history("dealer", dealer_id)
