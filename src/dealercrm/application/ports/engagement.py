"""Persistence ports of the engagement context: alerts, announcements, calendar feed tokens, and
the few reads of other contexts' data the built-in rules need (birthdays, staff by role).

The SQL unit of work exposes them as ``uow.alerts``, ``uow.announcements`` and
``uow.engagement``; the read side (lists for the workbench, calendar and receipts) is
:class:`EngagementQueries`, straight from SQL and scoped there by the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from dealercrm.application.ports.persistence import UnitOfWork
from dealercrm.domain.alerts import Alert, Audience
from dealercrm.domain.announcements import Announcement
from dealercrm.domain.identity import Principal, Role


@attrs.frozen
class StaffMember:
    """An active user as a recipient: who, and how to reach them."""

    user_id: int
    display_name: str
    role: Role
    regions: tuple[str, ...] = ()
    phone: str | None = None
    email: str | None = None


@attrs.frozen
class BirthdayContact:
    """A contact of an approved dealer with a birthday on record."""

    contact_id: int
    name: str
    title: str
    phone: str
    birthday: dt.date
    dealer_id: int
    dealer_name: str
    dealer_region: str
    sales_rep_id: int | None = None


class AlertRepository(Protocol):
    def get(self, alert_id: int) -> Alert | None:
        """Load for change (row locked on PostgreSQL until the transaction ends)."""

    def by_key(self, rule: str, key: str) -> Alert | None:
        """The alert for (rule, key) in any state, locked for change."""

    def live_for_rule(self, rule: str) -> list[Alert]:
        """Open and acknowledged alerts of ``rule``, locked for change, in key order."""

    def add_once(self, alert: Alert) -> bool:
        """Insert unless an alert with the same (rule, key) exists — also one being inserted by a
        concurrent transaction. True if this call inserted it (then ``alert.id`` is set)."""


class AnnouncementRepository(Protocol):
    def add(self, announcement: Announcement) -> None: ...

    def get(self, announcement_id: int) -> Announcement | None:
        """Load for change (locked on PostgreSQL)."""

    def mark_read(self, announcement_id: int, user_id: int, now: dt.datetime) -> dt.datetime:
        """Record a read receipt once; returns when it was (first) read."""


class EngagementDirectory(Protocol):
    def birthday_contacts(self) -> list[BirthdayContact]:
        """Contacts with a birthday, of dealers that are approved (active)."""

    def staff(self, roles: tuple[Role, ...]) -> list[StaffMember]:
        """Active users with one of ``roles``."""

    def audience_members(self, audience: Audience) -> list[StaffMember]:
        """Active users an audience reaches (for notifying them)."""

    def set_feed_token(self, user_id: int, token_hash: str, now: dt.datetime) -> None:
        """Replace the user's calendar feed token (only its hash is stored)."""


class EngagementUnitOfWork(UnitOfWork, Protocol):
    alerts: AlertRepository
    announcements: AnnouncementRepository
    engagement: EngagementDirectory


EngagementUnitOfWorkFactory = Callable[[Principal], EngagementUnitOfWork]


class EngagementQueries(Protocol):
    """Read side: plain dict rows, scoped in SQL to what ``principal`` may see."""

    def alerts_for(self, principal: Principal, *, states: tuple[str, ...], limit: int,
                   after_id: int | None = None, urgent_first: bool = False,
                   rule: str | None = None) -> list[dict[str, Any]]:
        """Newest first (keyset by ``after_id``), or open before acknowledged, most severe first;
        ``rule`` set: that rule's alerts only."""

    def count_alerts_for(self, principal: Principal, *, states: tuple[str, ...]) -> int: ...

    def alerts_page(self, principal: Principal, *, states: tuple[str, ...],
                    limit: int) -> tuple[int, list[dict[str, Any]]]:
        """(how many alerts in ``states`` are addressed to the principal, the first ``limit`` of them
        open before acknowledged, most severe first) in one read."""

    def alert(self, alert_id: int) -> dict[str, Any] | None:
        """One alert with its ``audience`` entries (the caller checks visibility)."""

    def alerts_due_for(self, principal: Principal, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Live alerts with a due date in [start, end)."""

    def alerts_page_and_due(self, principal: Principal, *, states: tuple[str, ...], limit: int,
                            start: dt.date, end: dt.date) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """``alerts_page`` and, of the same alerts, those due in [start, end) (by due date, then id),
        in one read: (count, first ``limit``, due in the window)."""

    def announcements_for(self, principal: Principal, *, now: dt.datetime, limit: int,
                          after_id: int | None = None, unread_first: bool = True,
                          unread_only: bool = False) -> list[dict[str, Any]]:
        """Live announcements addressed to the principal with ``read_at``: unread first, or
        newest first (keyset by ``after_id``)."""

    def announcement_visible(self, principal: Principal, announcement_id: int, now: dt.datetime) -> bool: ...

    def count_announcements_for(self, principal: Principal, *, now: dt.datetime) -> tuple[int, int]:
        """(live announcements addressed to the principal, of which unread)."""

    def announcements_page(self, principal: Principal, *, now: dt.datetime,
                           limit: int) -> tuple[int, int, list[dict[str, Any]]]:
        """(live announcements addressed to the principal, of which unread, the first ``limit`` of
        them unread first as ``announcements_for`` orders them) in one read."""

    def announcements_published_between(self, principal: Principal, start: dt.datetime,
                                        end: dt.datetime) -> list[dict[str, Any]]:
        """Published announcements addressed to the principal whose ``publish_from`` is in [start, end),
        by that time, then id (live or not yet)."""

    def announcements_page_and_published(
        self, principal: Principal, *, now: dt.datetime, limit: int, start: dt.datetime, end: dt.datetime,
    ) -> tuple[int, int, list[dict[str, Any]], list[dict[str, Any]]]:
        """``announcements_page`` and ``announcements_published_between`` in one read: (live count, of
        which unread, first ``limit`` live ones, those published in [start, end))."""

    def all_announcements(self, *, limit: int, after_id: int | None = None) -> list[dict[str, Any]]:
        """Every announcement (for marketing/admin), newest first."""

    def announcement(self, announcement_id: int, reader_id: int | None = None) -> dict[str, Any] | None:
        """One announcement with its targets (and ``read_at`` of ``reader_id``)."""

    def receipts(self, announcement_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(who read it and when, active users in the audience who have not)."""

    def failed_notifications_owned_by(self, user_id: int, *, limit: int) -> list[dict[str, Any]]: ...

    def count_failed_notifications(self, owner_id: int | None) -> int:
        """Failed notifications in all (``None``) or of one owner."""

    def user_by_feed_token(self, token_hash: str) -> dict[str, Any] | None:
        """The active user whose feed token hashes to ``token_hash``."""
