"""Demo data for the marketing contexts, built only through the use cases: trainings (an online
one whose meeting is made at the local video simulator over HTTP, an offline one for sales
staff), knowledge base articles, next month's sales forecasts, key accounts with bid cases, and
a running campaign with leads, one of them converted into an existing order.

Without ``DEALERCRM_VIDEO_URL`` the demo starts the video simulator (docs/video-api.md) on a
free loopback port for the life of the process and points the container at it, so the demo's
meetings travel the real HTTP path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import campaigns as cp
from dealercrm.application import forecasts as fc
from dealercrm.application import key_accounts as ka
from dealercrm.application import knowledge as kb
from dealercrm.application import learning
from dealercrm.application import training as tr
from dealercrm.application.services.marketing import MarketingService
from dealercrm.bootstrap import Container
from dealercrm.domain.errors import DomainError
from dealercrm.domain.forecasts import LineIn, add_months, deadline_for, month_start
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.key_accounts import AccountContact
from dealercrm.domain.knowledge import AttachmentRef
from dealercrm.domain.values import SHANGHAI

def _start_simulator(container: Container) -> None:
    """The demo's video platform: a simulator for this container (its thread serves until exit)."""
    from dealercrm.adapters.video.http import HttpVideoConferencing
    from dealercrm.adapters.video.simulator import VideoSimulator

    if container.settings.video_url:
        return
    simulator = VideoSimulator(app_id="dealercrm-demo", secret="dealercrm-demo-video-secret").start()
    container.marketing.use_video(HttpVideoConferencing(simulator.base_url, "dealercrm-demo",
                                                        "dealercrm-demo-video-secret", timeout=5.0))


def _seed_held_trainings(container: Container, marketing: Principal, aftersales: Principal,
                         approved: list[dict[str, Any]], dealer_principal: Callable[[int], Principal],
                         users: list[dict[str, Any]], now: dt.datetime) -> None:
    """Two trainings already held (培训效果分析 has attendance to show): one for dealers two months
    ago, one for the stations' mechanics last month — each scheduled, answered and signed in with
    the service's clock set back to its time, then completed."""
    def at(moment: dt.datetime) -> MarketingService:
        return attrs.evolve(container.marketing, clock=lambda: moment)

    held = [("半挂车制动与悬挂系统维护", "维修技术", "dealers", "semi_trailer", 62,
             tuple(tr.InviteeIn("dealer", d["id"]) for d in approved[:8]))]
    station_users = {u["station_id"]: u for u in users if u.get("station_id") and u["role"] == "station"}
    stations = [s for s in container.aftersales.list_stations(Principal.system()) if s["id"] in station_users][:4]
    if stations:
        held.append(("服务站三包索赔与旧件回收规范", "三包政策", "stations", None, 33,
                     tuple(tr.InviteeIn("station", s["id"], s["name"]) for s in stations)))
    for n, (title, topic, audience, line, days_ago, invitees) in enumerate(held):
        starts = (now - dt.timedelta(days=days_ago)).replace(hour=1, minute=0, second=0, microsecond=0)
        organiser = marketing if audience == "dealers" else aftersales
        created = at(starts - dt.timedelta(days=10)).create_training(organiser, tr.CreateTraining(
            title=title, topic=topic, audience=audience, product_line=line, starts_at=starts,
            ends_at=starts + dt.timedelta(hours=3), online=False, location="总部培训中心 201 会议室",
            invitees=invitees))
        answering = at(starts - dt.timedelta(days=3))
        for k, inv in enumerate(invitees):
            who = (dealer_principal(inv.id) if inv.kind == "dealer" else
                   Principal(station_users[inv.id]["id"], station_users[inv.id]["username"], Role.STATION,
                             station_id=inv.id))
            if who is not None and k != len(invitees) - 1:  # the last one never answers
                answering.respond(who, created.id, k != 2, "当天有客户接车" if k == 2 else None)
        invitations = container.marketing.training(organiser, created.id)["invitations"]
        came = [i for i in invitations if i["response"] == "confirmed"]
        after = at(starts + dt.timedelta(hours=4))
        absent = len(came) - 1 if len(came) > 1 else None  # the last one who confirmed stays away
        after.record_participants(organiser, created.id, tuple(
            tr.ParticipantIn(i["id"], f"参训人{n + 1}-{k + 1}", attended=k != absent,
                             feedback_score=None if k == absent else 4 + (k % 2),
                             quiz_score=None if k == absent else 70 + 5 * k)
            for k, i in enumerate(came)))
        after.complete_training(organiser, created.id)


def _seed_satisfaction_survey(container: Container, marketing: Principal, approved: list[dict[str, Any]],
                              dealer_principal: Callable[[int], Principal]) -> None:
    """A satisfaction survey (满意度问卷) sent to eight dealers, six answered (two below the threshold,
    with their reasons), then closed: 满意度分析 has answers to show."""
    invited = approved[4:12]
    if not invited:
        return
    care = container.care
    survey = care.create_survey(marketing, "2026年下半年经销商满意度调查", "请就产品、交付、售后与销售服务打分（1–5分）", [
        {"topic": "products", "kind": "score", "text": "产品质量是否满意？"},
        {"topic": "delivery", "kind": "score", "text": "交付是否准时？"},
        {"topic": "after_sales", "kind": "score", "text": "售后服务是否及时？"},
        {"topic": "sales_service", "kind": "text", "text": "意见与建议", "required": False}], 3, None)
    care.send_survey(marketing, survey, [d["id"] for d in invited], None)
    answers = [(5, 4, 5, ""), (4, 4, 4, "希望增加区域配件库"), (2, 3, 4, "交付比合同晚了两周，影响客户用车"),
               (4, 5, 4, ""), (3, 4, 1, "服务站响应慢，索赔审核周期长"), (5, 5, 4, "")]
    for d, (products, delivery, service, text) in zip(invited, answers, strict=False):
        care.answer(dealer_principal(d["id"]), survey, {1: products, 2: delivery, 3: service, 4: text})
    care.close_survey(marketing, survey)


def seed_marketing(container: Container) -> None:
    system = Principal.system()
    users = container.identity.list_users(system, limit=1000)
    by_name = {u["username"]: u for u in users}

    def staff(username: str, role: Role) -> Principal:
        u = by_name.get(username)
        return Principal(u["id"] if u else None, username, role)

    marketing = staff("marketing", Role.MARKETING)
    aftersales = staff("aftersales", Role.AFTER_SALES)
    dealer_users = {u["dealer_id"]: u for u in users if u["dealer_id"]}
    approved = [d for d in container.channel.list_dealers(system, status="approved", limit=200)
                if d["id"] in dealer_users]
    if not approved:
        return
    m = container.marketing
    _start_simulator(container)
    now = container.clock()
    today = now.astimezone(SHANGHAI).date()

    def dealer_principal(dealer_id: int) -> Principal:
        u = dealer_users[dealer_id]
        return Principal(u["id"], u["username"], Role.DEALER, dealer_id=dealer_id)

    def at(days: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), SHANGHAI)

    # -- trainings ------------------------------------------------------------------------------
    invited = approved[:6]
    online = m.create_training(marketing, tr.CreateTraining(
        title="2026款40方铝合金运油半挂车产品培训", topic="新产品推广", audience="dealers", product_line="tanker",
        starts_at=at(7, 9), ends_at=at(7, 11, 30), online=True,
        description="新款罐体结构、油气回收与防溢流系统、日常保养要点；最后30分钟为在线测验。",
        vr_url="https://vr.example.com/factory/tanker-line",
        invitees=tuple(tr.InviteeIn("dealer", d["id"]) for d in invited)))
    for n, d in enumerate(invited[:4]):
        m.respond(dealer_principal(d["id"]), online.id, n != 3, None if n != 3 else "当天有客户验车，改派下期参加")
    sales_ids = [u["id"] for u in users if u["role"] in ("sales", "region_manager")][:6]
    if sales_ids:
        m.create_training(marketing, tr.CreateTraining(
            title="大客户招投标实务与竞品分析", topic="销售技能", audience="sales", starts_at=at(14, 14),
            ends_at=at(14, 17), online=False, location="总部培训中心 301 会议室",
            invitees=tuple(tr.InviteeIn("user", i) for i in sales_ids)))
    m.create_training(aftersales, tr.CreateTraining(
        title="自卸车液压举升系统故障诊断", topic="维修技术", audience="dealers", product_line="dump_truck",
        starts_at=at(21, 9), ends_at=at(21, 16), online=True,
        invitees=tuple(tr.InviteeIn("dealer", d["id"]) for d in approved[6:10])))

    _seed_held_trainings(container, marketing, aftersales, approved, dealer_principal, users, now)
    _seed_satisfaction_survey(container, marketing, approved, dealer_principal)

    # -- knowledge base -------------------------------------------------------------------------
    editor = staff("tech_lead", Role.TECHNICAL) if "tech_lead" in by_name else staff("technical", Role.TECHNICAL)
    articles = [
        ("罐体呼吸阀漏气怎么处理？", "罐式车", "faq", "呼吸阀密封圈老化或阀座有杂物时会漏气。先清理阀座，再检查O型圈；"
         "仍漏气则更换呼吸阀总成（配件号 HX-0231）。", ("呼吸阀", "漏气", "罐体"), ("tanker",), ("dealers", "stations")),
        ("自卸车举升缓慢的原因与解决方法", "自卸车", "solution", "常见原因：液压油不足或变质、取力器未完全啮合、"
         "油泵磨损、多路阀内泄。依次检查油位、取力器、泵压（额定16MPa），必要时更换油泵。",
         ("举升", "液压", "油泵"), ("dump_truck",), ("dealers", "stations")),
        ("半挂车日常保养用户指南", "半挂车", "user_guide", "每日：轮胎气压与磨损、制动气室、灯光；每周：牵引销与"
         "鞍座润滑；每5000公里：轮毂轴承润滑、制动间隙调整。", ("保养", "轮胎", "制动"), ("semi_trailer",),
         ("dealers", "stations")),
        ("2026款运油车卖点与话术", "罐式车", "sales_material", "轻量化：整备质量7.8吨，比同级钢罐轻1.5吨；"
         "安全：防溢流与油气回收标配可选；服务：全国签约服务站2小时响应。", ("卖点", "话术", "轻量化"), ("tanker",),
         ("dealers",)),
        ("客服案例：冬季气路结冰导致制动拖滞", "半挂车", "case", "客户反映早晨出车制动拖滞。原因是储气筒积水结冰；"
         "处理：放水、加装干燥器，并提醒客户每日收车后排放储气筒积水。", ("制动", "冬季", "案例"), ("semi_trailer",),
         ("stations",)),
        ("三包索赔审核要点（内部）", "售后管理", "solution", "核对VIN与保修期、里程；旧件回收；工时不得超过标准工时。",
         ("三包", "索赔"), (), ()),
    ]
    written = {}
    for title, topic, kind, body, tags, lines, audience in articles:
        written[title] = m.write_article(editor, kb.WriteArticle(
            title=title, topic=topic, kind=kind, body=body, tags=tags, product_lines=lines, audience=audience,
            attachments=(AttachmentRef("示意图.pdf", f"https://files.example.com/kb/{len(title)}.pdf"),),
            publish=True)).id

    # -- required reading (必读): every dealer, due in two weeks; the first four have read it ------
    guide = written["半挂车日常保养用户指南"]
    m.assign_reading(editor, learning.AssignReading(article_id=guide, readership="dealers",
                                                    due_on=today + dt.timedelta(days=14), note="冬季前全员学习"))
    for d in approved[:4]:
        m.article(dealer_principal(d["id"]), guide)

    # -- sales forecasts ------------------------------------------------------------------------
    day = container.settings.forecast_deadline_day
    month = add_months(month_start(today), 1)
    if now >= deadline_for(month, day):
        month = add_months(month, 1)
    for n, d in enumerate(approved[:8]):
        try:
            m.submit_forecast(dealer_principal(d["id"]), fc.SubmitForecast(month=month, lines=(
                LineIn("tanker", 2 + n % 3), LineIn("dump_truck", 1 + n % 2), LineIn("semi_trailer", n % 4))))
        except DomainError:
            continue

    # -- key accounts and bid cases ------------------------------------------------------------
    first = approved[0]
    accounts = [
        ("中石化某省石油分公司", "成品油运输", first["id"], [("2026年成品油配送车辆采购", "won", 456_000_000, ("中集", "通华"),
                                                        None)]),
        ("某能源集团物流公司", "危化品运输", first["id"], [("危化品罐车更新项目", "lost", 238_000_000, ("中集",),
                                                     "价格高于竞品约4%，交期长两周")]),
    ]
    if len(approved) > 1:
        accounts.append(("某高速物流集团", "物流", approved[1]["id"],
                         [("甩挂运输半挂车集采", "won", 98_000_000, ("梁山某厂",), None)]))
    for name, industry, dealer_id, bids in accounts:
        region = next(d["region"] for d in approved if d["id"] == dealer_id)
        account_id = m.file_key_account(marketing, ka.FileKeyAccount(
            name=name, industry=industry, region=region, dealer_id=dealer_id,
            contacts=(AccountContact("刘经理", "设备采购部经理", "13700001111"),)))
        for title, outcome, amount, rivals, reasons in bids:
            m.record_bid(marketing, ka.RecordBid(account_id=account_id, title=title, bid_on=today - dt.timedelta(days=20),
                                                 outcome=outcome, amount_fen=amount, product_line=None,
                                                 competitors=rivals, reasons=reasons))

    # -- a campaign with leads --------------------------------------------------------------------
    campaign = m.plan_campaign(marketing, cp.PlanCampaign(
        name="春季罐式车客户推介会", target_segment="成品油、化工品运输企业（车队规模20台以上）", budget_fen=12_000_000,
        starts_on=today - dt.timedelta(days=10), ends_on=today + dt.timedelta(days=20), product_lines=("tanker",),
        regions=tuple(sorted({d["region"] for d in approved[:4]})), channel="客户推介会", activate=True))
    orders = container.orders.list_orders(system, {}, None, 200)
    converted = False
    for n, d in enumerate(approved[:4]):
        for k in range(2):
            lead_id = m.capture_lead(marketing, cp.CaptureLead(
                campaign_id=campaign.id, dealer_id=d["id"], name=f"推介会客户{n + 1}-{k + 1}",
                phone=f"1390000{n:02d}{k:02d}", interest="40方运油车，年内采购", product_line="tanker"))
            if k == 0:  # a first call, then (for every other dealer) a visit booking the next contact
                m.follow_up_lead(dealer_principal(d["id"]), lead_id, cp.FollowUp(
                    "contacted", channel="phone", note="电话沟通：车队20台，计划年内更新40方运油车，约下周到店看车",
                    next_contact_on=today + dt.timedelta(days=n)))
                if n % 2 == 1:
                    m.follow_up_lead(dealer_principal(d["id"]), lead_id, cp.FollowUp(
                        "contacted", channel="visit", note="上门拜访车队负责人，介绍罐体配置与金融方案，客户要求报价",
                        next_contact_on=today))
            live = [o for o in orders if o.dealer_id == d["id"]
                    and o.state not in cp.NOT_REVENUE_STATES]
            if k == 1 and live and not converted:
                m.follow_up_lead(dealer_principal(d["id"]), lead_id, cp.FollowUp(
                    "contacted", channel="exhibition", note="推介会现场登记，意向明确"))
                m.follow_up_lead(dealer_principal(d["id"]), lead_id, cp.FollowUp(
                    "convert", order_id=live[0].id, channel="wechat", note="微信确认配置后下单"))
                converted = True
