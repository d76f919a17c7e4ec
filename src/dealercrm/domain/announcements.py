"""Announcements (seed 000 §1 3 公告管理): notices, company news and sales opportunities that
marketing or an administrator publishes to everyone, to some roles or to some dealers, within a
publish window, with read receipts."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TypeVar

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.identity import HUMAN_ROLES, Principal, Role


class AnnouncementAudience(enum.StrEnum):
    ALL = "all"
    ROLES = "roles"
    DEALERS = "dealers"


class AnnouncementStatus(enum.StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"published": "已发布", "withdrawn": "已撤回"}[self.value]


class AnnouncementCategory(enum.StrEnum):
    NOTICE = "notice"  # 通知
    NEWS = "news"  # 企业动态
    OPPORTUNITY = "opportunity"  # 重要销售商机 / 销售项目
    POLICY = "policy"  # 政策

    @property
    def label(self) -> str:
        return {"notice": "通知", "news": "企业动态", "opportunity": "销售商机", "policy": "政策"}[self.value]


@attrs.define(slots=False, eq=False)
class AnnouncementTarget:
    """One role or dealer an announcement is for (mapped; lets SQL select by reader)."""

    kind: str  # "role" | "dealer"
    value: str
    id: int | None = None


def _targets(audience: AnnouncementAudience, roles: tuple[str, ...], dealer_ids: tuple[int, ...]
             ) -> list[AnnouncementTarget]:
    if audience is AnnouncementAudience.ALL:
        if roles or dealer_ids:
            raise InvalidValue("audience", "面向全部用户的公告不能再指定角色或经销商", code="announcement.audience_mixed")
        return []
    if audience is AnnouncementAudience.ROLES:
        if dealer_ids:
            raise InvalidValue("dealer_ids", "按角色发布的公告不能指定经销商", code="announcement.audience_mixed")
        if not roles:
            raise InvalidValue("roles", "请至少选择一个角色", code="announcement.roles_required")
        out = []
        for r in sorted(set(roles)):
            try:
                role = Role(r)
            except ValueError:
                raise InvalidValue("roles", f"未知的角色：{r}", code="role.unknown") from None
            if role not in HUMAN_ROLES:
                raise InvalidValue("roles", "公告不能发给设备", code="announcement.role_not_human")
            out.append(AnnouncementTarget("role", role.value))
        return out
    if roles:
        raise InvalidValue("roles", "按经销商发布的公告不能指定角色", code="announcement.audience_mixed")
    if not dealer_ids:
        raise InvalidValue("dealer_ids", "请至少选择一个经销商", code="announcement.dealers_required")
    return [AnnouncementTarget("dealer", str(d)) for d in sorted(set(dealer_ids))]


def _check_text(title: str, body: str) -> None:
    if not title.strip() or len(title) > 200:
        raise InvalidValue("title", "公告标题不能为空且不超过200字", code="announcement.title_invalid")
    if not body.strip() or len(body) > 20000:
        raise InvalidValue("body", "公告内容不能为空且不超过20000字", code="announcement.body_invalid")


def _check_window(publish_from: dt.datetime, publish_until: dt.datetime | None) -> None:
    for name, value in (("publish_from", publish_from), ("publish_until", publish_until)):
        if value is not None and value.tzinfo is None:
            raise InvalidValue(name, "时间须带时区", code="datetime.naive")
    if publish_until is not None and publish_until <= publish_from:
        raise InvalidValue("publish_until", "下线时间须晚于发布时间", code="announcement.window_inverted")


@attrs.define(slots=False, eq=False)
class Announcement:
    title: str
    body: str
    category: AnnouncementCategory
    audience: AnnouncementAudience
    publish_from: dt.datetime
    created_at: dt.datetime
    created_by: int | None
    created_by_name: str
    publish_until: dt.datetime | None = None
    targets: list[AnnouncementTarget] = attrs.field(factory=list)
    status: AnnouncementStatus = AnnouncementStatus.PUBLISHED
    updated_at: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None
    withdrawn_by_name: str | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def publish(cls, *, title: str, body: str, category: str, audience: str, roles: tuple[str, ...],
                dealer_ids: tuple[int, ...], publish_from: dt.datetime, publish_until: dt.datetime | None,
                author: Principal, now: dt.datetime) -> Announcement:
        _check_text(title, body)
        _check_window(publish_from, publish_until)
        kind = _enum(AnnouncementAudience, audience, "audience")
        return cls(
            title=title.strip(), body=body, category=_enum(AnnouncementCategory, category, "category"),
            audience=kind, publish_from=publish_from, publish_until=publish_until, created_at=now,
            created_by=author.user_id, created_by_name=author.username,
            targets=_targets(kind, roles, dealer_ids),
        )

    def edit(self, *, now: dt.datetime, title: str | None = None, body: str | None = None,
             category: str | None = None, audience: str | None = None, roles: tuple[str, ...] | None = None,
             dealer_ids: tuple[int, ...] | None = None, publish_from: dt.datetime | None = None,
             publish_until: dt.datetime | None = None, clear_until: bool = False) -> None:
        if self.status is AnnouncementStatus.WITHDRAWN:
            raise IllegalTransition("announcement", self.status.value, "edit")
        new_title = self.title if title is None else title.strip()
        new_body = self.body if body is None else body
        _check_text(new_title, new_body)
        new_from = publish_from or self.publish_from
        new_until = None if clear_until else (publish_until or self.publish_until)
        _check_window(new_from, new_until)
        if audience is not None or roles is not None or dealer_ids is not None:
            kind = _enum(AnnouncementAudience, audience, "audience") if audience else self.audience
            cur_roles = tuple(t.value for t in self.targets if t.kind == "role")
            cur_dealers = tuple(int(t.value) for t in self.targets if t.kind == "dealer")
            if audience is not None and audience != self.audience.value:
                cur_roles, cur_dealers = (), ()
            new_targets = _targets(kind, cur_roles if roles is None else roles,
                                   cur_dealers if dealer_ids is None else dealer_ids)
            self.audience = kind
            if sorted((t.kind, t.value) for t in new_targets) != sorted((t.kind, t.value) for t in self.targets):
                self.targets[:] = new_targets
        if category is not None:
            self.category = _enum(AnnouncementCategory, category, "category")
        self.title, self.body = new_title, new_body
        self.publish_from, self.publish_until = new_from, new_until
        self.updated_at = now

    def withdraw(self, by: Principal, now: dt.datetime) -> None:
        if self.status is AnnouncementStatus.WITHDRAWN:
            raise IllegalTransition("announcement", self.status.value, "withdraw")
        self.status = AnnouncementStatus.WITHDRAWN
        self.withdrawn_at = now
        self.withdrawn_by_name = by.username
        self.updated_at = now

    def is_live(self, now: dt.datetime) -> bool:
        return (self.status is AnnouncementStatus.PUBLISHED and self.publish_from <= now
                and (self.publish_until is None or now < self.publish_until))

    def addressed_to(self, principal: Principal) -> bool:
        if principal.is_device:
            return False
        if self.audience is AnnouncementAudience.ALL:
            return True
        if self.audience is AnnouncementAudience.ROLES:
            return any(t.value == principal.role.value for t in self.targets)
        return principal.role is Role.DEALER and any(t.value == str(principal.dealer_id) for t in self.targets)


_E = TypeVar("_E", bound=enum.Enum)


def _enum(cls: type[_E], value: object, field: str) -> _E:
    try:
        return cls(value)
    except ValueError:
        allowed = "、".join(m.value for m in cls)
        raise InvalidValue(field, f"取值须为：{allowed}", code=f"{field}.unknown") from None
