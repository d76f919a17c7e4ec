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

from dealercrm.application import campaigns as cp
from dealercrm.application import forecasts as fc
from dealercrm.application import key_accounts as ka
from dealercrm.application import knowledge as kb
from dealercrm.application import learning
from dealercrm.application import training as tr
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
