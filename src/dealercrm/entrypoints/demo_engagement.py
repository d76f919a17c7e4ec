"""Demo data for the engagement context: announcements for everyone, for dealers and for some
roles, and dealer contacts whose birthdays fall in the coming days — then one scheduler pass, so
the workbench and calendar of the demo logins have something on them at once."""

from __future__ import annotations

import datetime as dt

from dealercrm.application import announcements as an
from dealercrm.application import channel as ch
from dealercrm.bootstrap import Container
from dealercrm.domain.alerts import SHANGHAI
from dealercrm.domain.identity import Principal, Role

_BIRTHDAY_PEOPLE = [("周海燕", "副总经理", "13607310021"), ("孙志强", "销售经理", "13807550032"),
                    ("马红梅", "财务主管", "15012340043"), ("林国庆", "总经理", "18612340054")]


def seed_engagement(container: Container) -> None:
    system = Principal.system()
    marketing = Principal(user_id=None, username="marketing", role=Role.MARKETING)
    now = container.clock()
    today = now.astimezone(SHANGHAI).date()
    approved = container.channel.list_dealers(system, status="approved", limit=200)

    publish = container.engagement.publish_announcement
    publish(marketing, an.PublishAnnouncement(
        title="2026年度经销商大会通知",
        body="各经销商：公司定于下月中旬在总部召开年度经销商大会，届时发布新款罐式车、自卸车和半挂车产品及年度商务政策。"
             "请各经销商总经理拨冗参加，并于本月底前在系统中确认参会人员。",
        category="notice"))
    publish(marketing, an.PublishAnnouncement(
        title="半挂车冬季促销政策", category="policy", audience="roles", roles=("dealer", "sales", "region_manager"),
        body="即日起至年底，半挂车全系订单享受提车返利；信用额度内可先提车后付款，详情请咨询区域销售。",
        publish_until=now + dt.timedelta(days=40)))
    publish(marketing, an.PublishAnnouncement(
        title="财务结算系统升级", category="news", audience="roles", roles=("finance", "dispatch", "admin"),
        body="本周六晚上线新的结算流程，出门证审批将同步校验回款与授信。"))
    if approved:
        chosen = [d["id"] for d in approved[:3]]
        publish(marketing, an.PublishAnnouncement(
            title="重点客户投标项目：城市渣土车更新", category="opportunity", audience="dealers",
            dealer_ids=tuple(chosen), body="市城管局渣土车更新项目预计采购自卸车120台，请相关经销商尽快与大区经理对接。"))
    publish(marketing, an.PublishAnnouncement(
        title="春节放假安排", category="notice", body="春节假期安排将于节前一周公布。",
        publish_from=now + dt.timedelta(days=30)))

    # Contacts with birthdays in the coming days (and one today): call reminders to the demo's
    # regional sales (华中) and region manager (华东), and a greeting SMS today.
    covered = [d for d in approved if d["region"] in ("华中", "华东")] or approved
    for offset, (name, title, phone), dealer in zip((0, 1, 2, 5), _BIRTHDAY_PEOPLE, covered * 4, strict=False):
        day = today + dt.timedelta(days=offset)
        birthday = dt.date(1980, day.month, day.day)  # 1980 was a leap year: 29 Feb is fine too
        container.channel.add_contact(system, dealer["id"], ch.ContactIn(
            name=name, title=title, phone=phone, kind="management", birthday=birthday))
    container.engagement.run_scheduler_once()
