"""Announcement use cases: marketing or an administrator publishes, edits and withdraws; every
reader in the audience reads (with an idempotent read receipt)."""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.engagement import EngagementUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.announcements import Announcement
from dealercrm.domain.errors import InvalidValue, InvariantBroken, PermissionDenied
from dealercrm.domain.identity import Role

PUBLISHERS = (Role.MARKETING, Role.ADMIN)


@attrs.frozen
class PublishAnnouncement:
    title: str
    body: str
    category: str = "notice"
    audience: str = "all"
    roles: tuple[str, ...] = ()
    dealer_ids: tuple[int, ...] = ()
    publish_from: dt.datetime | None = None  # None: now
    publish_until: dt.datetime | None = None


@attrs.frozen
class EditAnnouncement:
    announcement_id: int
    title: str | None = None
    body: str | None = None
    category: str | None = None
    audience: str | None = None
    roles: tuple[str, ...] | None = None
    dealer_ids: tuple[int, ...] | None = None
    publish_from: dt.datetime | None = None
    publish_until: dt.datetime | None = None
    clear_until: bool = False


def publish_announcement(cmd: PublishAnnouncement, uow: EngagementUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *PUBLISHERS)
    now = clock()
    announcement = Announcement.publish(
        title=cmd.title, body=cmd.body, category=cmd.category, audience=cmd.audience, roles=cmd.roles,
        dealer_ids=cmd.dealer_ids, publish_from=cmd.publish_from or now, publish_until=cmd.publish_until,
        author=uow.actor, now=now,
    )
    with uow:
        for dealer_id in cmd.dealer_ids:
            if uow.dealers.get(dealer_id) is None:
                raise InvalidValue("dealer_ids", f"经销商不存在：{dealer_id}", code="dealer.not_found")
        uow.announcements.add(announcement)
        uow.flush()
        if announcement.id is None:
            raise InvariantBroken("announcement has no id: not flushed")
        announcement_id = announcement.id
        uow.commit()
    return announcement_id


def edit_announcement(cmd: EditAnnouncement, uow: EngagementUnitOfWork, clock: Clock) -> None:
    require_role(uow.actor, *PUBLISHERS)
    with uow:
        announcement = uow.announcements.get(cmd.announcement_id)
        if announcement is None:
            raise not_found("announcement", "公告")
        for dealer_id in cmd.dealer_ids or ():
            if uow.dealers.get(dealer_id) is None:
                raise InvalidValue("dealer_ids", f"经销商不存在：{dealer_id}", code="dealer.not_found")
        announcement.edit(
            now=clock(), title=cmd.title, body=cmd.body, category=cmd.category, audience=cmd.audience,
            roles=cmd.roles, dealer_ids=cmd.dealer_ids, publish_from=cmd.publish_from,
            publish_until=cmd.publish_until, clear_until=cmd.clear_until,
        )
        uow.commit()


def withdraw_announcement(announcement_id: int, uow: EngagementUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *PUBLISHERS)
    with uow:
        announcement = uow.announcements.get(announcement_id)
        if announcement is None:
            raise not_found("announcement", "公告")
        announcement.withdraw(uow.actor, clock())
        status = announcement.status.value
        uow.commit()
    return status


def mark_announcement_read(announcement_id: int, uow: EngagementUnitOfWork, clock: Clock) -> dt.datetime:
    """Record that the caller read it (idempotent: the first read time is kept). An announcement
    the caller is not in the audience of, or that is not live, does not exist for it (404)."""
    actor = uow.actor
    if actor.user_id is None or actor.is_device:
        raise PermissionDenied("设备凭证不能阅读公告", code="auth.forbidden")
    now = clock()
    with uow:
        announcement = uow.announcements.get(announcement_id)
        if announcement is None or not announcement.addressed_to(actor) or not announcement.is_live(now):
            raise not_found("announcement", "公告")
        read_at = uow.announcements.mark_read(announcement_id, actor.user_id, now)
        uow.commit()
    return read_at
