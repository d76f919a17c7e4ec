"""Use cases of dealer value analysis (§2.1 6), dealer satisfaction (§4.2.3) and customer care
(§4.2.2). Each call is one transaction on ``uow.care`` (``SqlCareRepository``).

Who may do what
    * the value model: administrators and marketing change it (every change is a new row with
      who and when; the newest is in force); they and finance run evaluations and read them all;
      sales staff and region managers read the dealers of their regions; applying a suggested
      discount tier is the catalog's own ``set_price_tier`` (administrators and region managers),
      called explicitly — an evaluation never changes a price by itself;
    * a dealer sees its own current value class and suggested level only (not the score, the
      inputs or the model: those are the manufacturer's internal yardstick), and nothing of any
      other dealer (404);
    * surveys: marketing and administrators write, send, close and analyse them; a dealer sees
      and answers only surveys it was invited to (404 otherwise), once (409 the second time);
      follow-up actions are recorded by marketing, sales, region managers, after-sales, admin;
    * customer care: marketing, after-sales, sales and administrators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.form_once import once_per_form
from dealercrm.application.ports.care import CareUnitOfWork
from dealercrm.domain import care as cd
from dealercrm.domain import dealer_value as dv
from dealercrm.domain import satisfaction as sd
from dealercrm.domain.alerts import Audience, Condition, Severity, beijing_date
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import OrderState
from dealercrm.domain.values import SHANGHAI

Clock = Callable[[], dt.datetime]
UowFactory = Callable[[Principal], Any]

MODEL_EDITORS = (Role.ADMIN, Role.MARKETING)
VALUE_RUNNERS = (Role.ADMIN, Role.MARKETING, Role.FINANCE)
VALUE_READERS = (Role.ADMIN, Role.MARKETING, Role.FINANCE, Role.SALES, Role.REGION_MANAGER)
SURVEY_EDITORS = (Role.ADMIN, Role.MARKETING)
FOLLOW_UP_STAFF = (Role.ADMIN, Role.MARKETING, Role.SALES, Role.REGION_MANAGER, Role.AFTER_SALES)
CARE_STAFF = (Role.ADMIN, Role.MARKETING, Role.AFTER_SALES, Role.SALES)

S = OrderState
# an order counts as sales from the review's approval on (not drafts, quotes, returns, cancellations)
COUNTED_ORDER_STATES: tuple[str, ...] = tuple(s.value for s in (
    S.APPROVED, S.CONTRACT_SIGNING, S.FINANCE_REVIEW, S.AWAITING_RELEASE, S.RELEASED, S.IN_PRODUCTION, S.STOCKED,
    S.COMPLETED))


def _day_start(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(), tzinfo=SHANGHAI)


# =============================================================================================
# Dealer value analysis


def current_model(uow: CareUnitOfWork) -> tuple[int | None, dv.ValueModel]:
    row = uow.care.current_model()
    return (row["id"], dv.ValueModel.from_dict(row["model"])) if row else (None, dv.DEFAULT_MODEL)


def get_model(uow: CareUnitOfWork) -> dict[str, Any]:
    require_role(uow.actor, *VALUE_READERS)
    with uow:
        row = uow.care.current_model()
    if row is None:
        return {"id": None, "model": dv.DEFAULT_MODEL.to_dict(), "created_at": None, "created_by": None,
                "note": "系统默认模型"}
    return row


def set_model(raw: Mapping[str, Any], note: str | None, uow: CareUnitOfWork, clock: Clock) -> int:
    """A new version of the scoring model (validated as a whole); the old one stays in history."""
    require_role(uow.actor, *MODEL_EDITORS)
    model = dv.ValueModel.from_dict(raw)
    with uow:
        model_id = uow.care.add_model(model.to_dict(), (note or "").strip()[:500] or None, clock(),
                                      uow.actor.username)
        uow.commit()
    return model_id


def value_inputs(uow: CareUnitOfWork, dealer_id: int, model: dv.ValueModel, now: dt.datetime) -> dv.ValueInputs:
    end = beijing_date(now)
    start = end - dt.timedelta(days=model.period_days)
    t0, t1 = _day_start(start), _day_start(end + dt.timedelta(days=1))
    n, qty, amount = uow.care.order_facts(dealer_id, t0, t1, COUNTED_ORDER_STATES)
    credit = uow.care.latest_credit_evaluation(dealer_id)
    sold, in_stock = uow.care.stock_facts(dealer_id, t0, t1)
    invited, attended = uow.care.training_facts(dealer_id, t0, t1)
    if credit is not None:
        ci = credit["inputs"]
        return dv.ValueInputs(start, end, n, qty, amount, credit["id"], int(ci.get("due_fen") or 0),
                              int(ci.get("on_time_fen") or 0), int(ci.get("max_days_overdue") or 0), sold, in_stock,
                              invited, attended)
    return dv.ValueInputs(start, end, n, qty, amount, retail_sold=sold, in_stock=in_stock,
                          trainings_invited=invited, trainings_attended=attended)


def _evaluate(uow: CareUnitOfWork, dealer_id: int, now: dt.datetime, trigger: str) -> int:
    model_id, model = current_model(uow)
    inputs = value_inputs(uow, dealer_id, model, now)
    s = dv.score_dealer(inputs, model)
    breakdown = {"points": s.points, "weights_used": s.weights_used, "formula": dv.FORMULA,
                 "left_out": [n for n in dv.COMPONENTS if s.points[n] is None]}
    return uow.care.add_evaluation(
        dealer_id=dealer_id, model_id=model_id, evaluated_at=now, trigger=trigger, score=s.score,
        value_class=s.value_class, inputs=inputs.as_dict(), breakdown=breakdown, suggested_level=s.suggestion.level,
        suggested_tier_code=s.suggestion.tier_code, suggested_discount_bp=s.suggestion.discount_bp)


def evaluate_dealer(dealer_id: int, uow: CareUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *VALUE_RUNNERS)
    with uow:
        d = uow.care.dealer(dealer_id)
        if d is None or not dealer_scope(uow.actor).admits(dealer_id, d["region"]):
            raise not_found("dealer", "经销商")
        eid = _evaluate(uow, dealer_id, clock(), "manual")
        uow.commit()
    return eid


def propose_credit_grade(evaluation_id: int, uow_factory: UowFactory, clock: Clock) -> int | None:
    """After an evaluation: its value class is the credit grade (信用等级) it suggests; when the
    dealer's credit account has another grade (or none), file a credit change request for finance
    to approve or reject (four eyes, §2.1 6)). Filed by the system; returns the request id, or
    ``None`` when nothing was filed (same grade, or a request already pending)."""
    from dealercrm.application.credit import propose_credit_grade as propose

    with uow_factory(Principal.system()) as uow:
        e = uow.care.evaluation(evaluation_id)
    if e is None:
        raise not_found("dealer_value_evaluation", "价值评估")
    grade = str(e["value_class"])
    reason = (f"经销商价值评估（{e['score']}分，{dv.CLASS_LABELS[grade]}）建议信用等级调整为{grade}"
              f"（评估编号 {evaluation_id}）")
    out = propose(int(e["dealer_id"]), grade, reason, uow_factory(Principal.system()), clock)
    return out.id if out is not None else None


def run_value_evaluations(uow_factory: UowFactory, now: dt.datetime, *, trigger: str = "scheduled",
                          region: str | None = None) -> int:
    """Evaluate every approved dealer (one transaction each), each proposing its credit grade
    when it differs from the account's; returns how many."""
    with uow_factory(Principal.system()) as uow:
        if getattr(uow, "care", None) is None:  # a unit of work without this context (the in-memory one)
            return 0
        ids = uow.care.active_dealer_ids(region)
    for dealer_id in ids:
        with uow_factory(Principal.system()) as uow:
            eid = _evaluate(uow, dealer_id, now, trigger)
            uow.commit()
        propose_credit_grade(eid, uow_factory, lambda: now)
    return len(ids)


def run_all_now(actor: Principal, uow_factory: UowFactory, clock: Clock, region: str | None = None) -> int:
    require_role(actor, *VALUE_RUNNERS)
    return run_value_evaluations(uow_factory, clock(), trigger="manual", region=region)


class DealerValueJob:
    """The periodic evaluation (a ``ScheduledJob``): once per Beijing day at the first scheduler
    pass after ``hour`` — after the credit evaluation (06:00), whose figures it reuses."""

    code = "care.dealer_value"
    opens_own_units_of_work = True

    def __init__(self, uow_factory: UowFactory, hour: int = 7) -> None:
        self.uow_factory = uow_factory
        self.hour = hour
        self._done_on: dt.date | None = None

    def run(self, ctx: Any) -> int:
        local = ctx.now.astimezone(SHANGHAI)
        if local.hour < self.hour or self._done_on == ctx.today:
            return 0
        self._done_on = ctx.today
        return run_value_evaluations(self.uow_factory, ctx.now)


def check_dealer_visible(actor: Principal, uow: CareUnitOfWork, dealer_id: int) -> dict[str, Any]:
    d = uow.care.dealer(dealer_id)
    if d is None or not dealer_scope(actor).admits(dealer_id, d["region"]):
        raise not_found("dealer", "经销商")
    return d


@attrs.frozen
class AppliedTier:
    evaluation_id: int
    dealer_id: int
    tier_code: str
    discount_bp: int
    product_lines: tuple[str, ...]
    price_tier_ids: tuple[int, ...]


def apply_suggested_tier(evaluation_id: int, product_lines: Sequence[str], uow_factory: UowFactory,
                         actor: Principal, clock: Clock) -> AppliedTier:
    """Write the evaluation's suggested tier into the dealer's price tiers through the catalog's
    own rule (its roles, scope and audit apply), every chosen product line, and record on the
    evaluation who applied it and when — one transaction: a refused line leaves no tier changed.
    Only the dealer's latest evaluation may be applied."""
    from dealercrm.application.catalog import TIER_MANAGERS, SetPriceTier, set_price_tier_in

    require_role(actor, *TIER_MANAGERS)
    lines = tuple(dict.fromkeys(str(p) for p in product_lines))
    if not lines:
        raise InvalidValue("product_lines", "请选择至少一个产品线", code="dealer_value.product_lines_empty")
    now = clock()
    with uow_factory(actor) as uow:
        e = uow.care.evaluation(evaluation_id)
        if e is None:
            raise not_found("dealer_value_evaluation", "价值评估")
        check_dealer_visible(actor, uow, e["dealer_id"])
        latest = uow.care.latest_evaluation_id(e["dealer_id"])
        if latest != evaluation_id:
            raise BusinessRuleViolation("只能应用该经销商最近一次评估的建议折扣", code="dealer_value.not_latest",
                                        latest_evaluation_id=latest)
        ids = tuple(set_price_tier_in(uow, SetPriceTier(e["dealer_id"], line, e["suggested_tier_code"],
                                                        e["suggested_discount_bp"]), now) for line in lines)
        uow.care.mark_applied(evaluation_id, now, actor.username, list(lines))
        uow.commit()
    return AppliedTier(evaluation_id, e["dealer_id"], e["suggested_tier_code"], e["suggested_discount_bp"], lines, ids)


# =============================================================================================
# Dealer satisfaction


def create_survey(title: str, description: str, questions: Sequence[Mapping[str, Any]], threshold: int,
                  deadline: dt.date | None, uow: CareUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *SURVEY_EDITORS)
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidValue("title", "问卷标题不能为空（最长200字）", code="survey.invalid")
    qs = sd.build_questions(questions)
    sd.check_threshold(threshold)
    now = clock()
    if deadline is not None and deadline < beijing_date(now):
        raise InvalidValue("deadline", "截止日期不能早于今天", code="survey.deadline_past")
    with uow:
        sid = uow.care.add_survey(title=title, description=(description or "").strip()[:2000],
                                  questions=[q.as_dict() for q in qs], threshold=threshold, status="draft",
                                  deadline=deadline, created_at=now, created_by=uow.actor.username)
        uow.commit()
    return sid


@attrs.frozen
class SurveySent:
    survey_id: int
    invited: int
    notified: int
    without_email: tuple[int, ...]


def send_survey(survey_id: int, dealer_ids: Sequence[int] | None, region: str | None, uow: CareUnitOfWork, clock: Clock,
                portal_url: str) -> SurveySent:
    """Invite dealers (the given ones, or every approved dealer of ``region``, or all) and
    e-mail each a link through the outbox. Sending again invites only dealers not yet invited."""
    require_role(uow.actor, *SURVEY_EDITORS)
    now = clock()
    with uow:
        s = uow.care.survey(survey_id, lock=True)
        if s is None:
            raise not_found("survey", "问卷")
        if s["status"] == "closed":
            raise IllegalTransition("survey", "closed", "send", "问卷已结束，不能再发放")
        targets = list(dict.fromkeys(dealer_ids)) if dealer_ids else uow.care.active_dealer_ids(region)
        if not targets:
            raise InvalidValue("dealer_ids", "没有可发放的经销商", code="survey.no_recipients")
        invited = notified = 0
        missing: list[int] = []
        link = f"{portal_url.rstrip('/')}/dealer/surveys/{survey_id}"
        deadline = s["deadline"].isoformat() if s["deadline"] else "无"
        for dealer_id in targets:
            d = uow.care.dealer(dealer_id)
            if d is None or d["status"] != "approved" and str(getattr(d["status"], "value", d["status"])) != "approved":
                raise InvalidValue("dealer_ids", f"经销商 {dealer_id} 不存在或未审核通过", code="survey.dealer_invalid")
            if uow.care.invited(survey_id, dealer_id):
                continue
            email = uow.care.primary_email(dealer_id)
            uow.care.invite(survey_id, dealer_id, now, email)
            invited += 1
            if email:
                uow.outbox.enqueue("survey.invitation", {
                    "dealer_name": d["short_name"] or d["legal_name"], "survey_title": s["title"],
                    "deadline": deadline, "link": link}, email, f"survey-{survey_id}-dealer-{dealer_id}")
                notified += 1
            else:
                missing.append(dealer_id)
        if s["status"] == "draft":
            uow.care.set_survey(survey_id, status="sent", sent_at=now)
        uow.commit()
    return SurveySent(survey_id, invited, notified, tuple(missing))


def close_survey(survey_id: int, uow: CareUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *SURVEY_EDITORS)
    with uow:
        s = uow.care.survey(survey_id, lock=True)
        if s is None:
            raise not_found("survey", "问卷")
        if s["status"] != "sent":
            raise IllegalTransition("survey", s["status"], "close", "只有已发放的问卷可以结束")
        uow.care.set_survey(survey_id, status="closed", closed_at=clock())
        uow.commit()
    return "closed"


def survey_for(actor: Principal, survey_id: int, uow: CareUnitOfWork) -> dict[str, Any]:
    """The survey as its reader may see it: staff see any; a dealer only one it was invited to
    (with its own answer, if any)."""
    with uow:
        s = uow.care.survey(survey_id)
        if s is None:
            raise not_found("survey", "问卷")
        if actor.role is Role.DEALER:
            if actor.dealer_id is None or not uow.care.invited(survey_id, actor.dealer_id) or s["status"] == "draft":
                raise not_found("survey", "问卷")
            s["my_response"] = uow.care.response_of(survey_id, actor.dealer_id)
        else:
            require_role(actor, *FOLLOW_UP_STAFF)
    return s


def answer_survey(survey_id: int, answers: Mapping[int, object], uow: CareUnitOfWork, clock: Clock) -> int:
    actor = uow.actor
    require_role(actor, Role.DEALER)
    now = clock()
    with uow:
        s = uow.care.survey(survey_id)
        if s is None or actor.dealer_id is None or not uow.care.invited(survey_id, actor.dealer_id) \
                or s["status"] == "draft":
            raise not_found("survey", "问卷")
        if s["status"] == "closed":
            raise IllegalTransition("survey", "closed", "answer", "问卷已结束，不能再作答")
        if s["deadline"] is not None and beijing_date(now) > s["deadline"]:
            raise BusinessRuleViolation("问卷已过截止日期", code="survey.deadline_passed", deadline=s["deadline"].isoformat())
        existing = uow.care.response_of(survey_id, actor.dealer_id)
        if existing is not None:
            raise Conflict("贵公司已提交过本问卷，每家经销商只能作答一次", code="survey.already_answered",
                           response_id=existing["id"], answered_at=existing["answered_at"].isoformat())
        qs = sd.questions_from(s["questions"])
        clean = sd.validate_answers(qs, answers)
        scores = [v for v in clean.values() if isinstance(v, int)]
        rid = uow.care.add_response(survey_id=survey_id, dealer_id=actor.dealer_id,
                                    answers={str(k): v for k, v in clean.items()},
                                    min_score=min(scores) if scores else None, answered_at=now,
                                    answered_by=actor.username)
        uow.commit()
    return rid


def add_follow_up(response_id: int, action: str, owner: str, uow: CareUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *FOLLOW_UP_STAFF)
    action, owner = (action or "").strip(), (owner or "").strip()
    if not action or len(action) > 1000:
        raise InvalidValue("action", "处理措施不能为空（最长1000字）", code="survey.follow_up_invalid")
    if not owner or len(owner) > 60:
        raise InvalidValue("owner", "责任人不能为空（最长60字）", code="survey.follow_up_invalid")
    now = clock()
    with uow:
        r = uow.care.response(response_id)
        if r is None:
            raise not_found("survey_response", "问卷答复")
        d = uow.care.dealer(r["dealer_id"])
        if d is None or not dealer_scope(uow.actor).admits(r["dealer_id"], d["region"]):
            raise not_found("survey_response", "问卷答复")
        fid = uow.care.add_follow_up(response_id=response_id, action=action, owner=owner, status="open",
                                     created_at=now, created_by=uow.actor.username, updated_at=now,
                                     updated_by=uow.actor.username)
        uow.commit()
    return fid


def move_follow_up(follow_up_id: int, status: str, result: str | None, uow: CareUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *FOLLOW_UP_STAFF)
    try:
        target = sd.FollowUpStatus(status)
    except ValueError:
        raise InvalidValue("status", "状态须为 in_progress 或 done", code="survey.follow_up_invalid") from None
    if target is sd.FollowUpStatus.DONE and not (result or "").strip():
        raise InvalidValue("result", "完成时须填写处理结果", code="survey.follow_up_result_missing")
    with uow:
        f = uow.care.follow_up(follow_up_id, lock=True)
        if f is None:
            raise not_found("survey_follow_up", "处理措施")
        new = sd.move_follow_up(sd.FollowUpStatus(f["status"]), target)
        uow.care.set_follow_up(follow_up_id, status=new.value, result=(result or "").strip()[:1000] or f["result"],
                               updated_at=clock(), updated_by=uow.actor.username)
        uow.commit()
    return new.value


# =============================================================================================
# Customer care


def create_template(name: str, channel: str, subject: str, body: str, uow: CareUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *CARE_STAFF)
    t = _template(name, channel, subject, body)
    with uow:
        tid = uow.care.add_template(name=t.name, channel=t.channel.value, subject=t.subject, body=t.body,
                                    created_at=clock(), created_by=uow.actor.username)
        uow.commit()
    return tid


def _template(name: str, channel: str, subject: str, body: str) -> cd.CareTemplate:
    try:
        ch = cd.CareChannel(channel)
    except ValueError:
        raise InvalidValue("channel", "渠道须为 email、sms 或 letter", code="care.template_invalid") from None
    return cd.CareTemplate(name.strip(), ch, subject.strip(), body)


def create_template_once(name: str, channel: str, subject: str, body: str, new_uow: Callable[[], CareUnitOfWork],
                         clock: Clock, *, form_token: str) -> int:
    """``create_template`` once per form token of this user: a double-submitted form creates one
    template and the second post gets its id (the client-event ledger)."""
    def work(uow: CareUnitOfWork) -> dict[str, Any]:
        t = _template(name, channel, subject, body)
        return {"id": uow.care.add_template(name=t.name, channel=t.channel.value, subject=t.subject, body=t.body,
                                            created_at=clock(), created_by=uow.actor.username)}

    answer = once_per_form(new_uow, clock, roles=CARE_STAFF, form_token=form_token, kind="care_template.create",
                           request=(name, channel, subject, body), work=work)
    return int(answer["id"])


@attrs.frozen
class TaskIn:
    kind: str
    target_kind: str
    name: str
    due_on: dt.date
    title: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    dealer_id: int | None = None
    vin: str | None = None
    model_code: str | None = None
    related_on: dt.date | None = None


def _task_values(t: TaskIn) -> dict[str, Any]:
    try:
        kind, target = cd.CareKind(t.kind), cd.TargetKind(t.target_kind)
    except ValueError as exc:
        raise InvalidValue("kind", f"关怀类型或对象不正确：{exc}", code="care.task_invalid") from None
    if not t.name.strip() or len(t.name) > 100:
        raise InvalidValue("name", "姓名不能为空（最长100字）", code="care.task_invalid")
    if not t.title.strip() or len(t.title) > 200:
        raise InvalidValue("title", "任务说明不能为空（最长200字）", code="care.task_invalid")
    if not (t.phone or t.email or t.address):
        raise InvalidValue("phone", "至少需要电话、邮箱或地址之一", code="care.task_contact_missing")
    return {"kind": kind.value, "target_kind": target.value, "name": t.name.strip(), "due_on": t.due_on,
            "title": t.title.strip(), "phone": (t.phone or "").strip() or None, "email": (t.email or "").strip() or None,
            "address": (t.address or "").strip()[:300] or None, "dealer_id": t.dealer_id, "vin": t.vin,
            "model_code": t.model_code, "related_on": t.related_on}


def create_task(cmd: TaskIn, uow: CareUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *CARE_STAFF)
    values = _task_values(cmd)
    with uow:
        if cmd.dealer_id is not None:
            check_dealer_visible(uow.actor, uow, cmd.dealer_id)
        tid = uow.care.add_task(**values, status="open", created_at=clock(), created_by=uow.actor.username)
        uow.commit()
    return tid


def finish_task(task_id: int, status: str, result: str | None, uow: CareUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *CARE_STAFF)
    try:
        target = cd.TaskStatus(status)
    except ValueError:
        raise InvalidValue("status", "状态须为 done 或 cancelled", code="care.task_invalid") from None
    with uow:
        t = uow.care.task(task_id, lock=True)
        if t is None:
            raise not_found("care_task", "关怀任务")
        new = cd.finish(cd.TaskStatus(t["status"]), target)
        uow.care.set_task(task_id, status=new.value, result=(result or "").strip()[:1000] or None,
                          finished_at=clock(), finished_by=uow.actor.username)
        uow.commit()
    return new.value


FOLLOW_UP_AFTER_DAYS = 7
WARRANTY_NOTICE_DAYS = 30


def generate_tasks(uow: CareUnitOfWork, now: dt.datetime, *, follow_up_after: int = FOLLOW_UP_AFTER_DAYS,
                   warranty_notice: int = WARRANTY_NOTICE_DAYS) -> int:
    """The rules: a follow-up call ``follow_up_after`` days after each confirmed retail sale of
    the last 30 days, and a reminder for every warranty ending within ``warranty_notice`` days.
    Idempotent (one task per source key). Runs inside the caller's open unit of work."""
    today = beijing_date(now)
    made = 0
    since = _day_start(today - dt.timedelta(days=30))
    for s in uow.care.delivered_sales(since, _day_start(today + dt.timedelta(days=1))):
        key = f"sale-{s['id']}-follow-up"
        if uow.care.task_by_key(key) is not None:
            continue
        sold_on = beijing_date(s["sold_at"])
        uow.care.add_task(kind="delivery_follow_up", target_kind="customer", name=s["customer_name"],
                          phone=s["customer_phone"], dealer_id=s["dealer_id"], vin=str(s["vin"]),
                          model_code=s["model_code"], related_on=sold_on,
                          due_on=sold_on + dt.timedelta(days=follow_up_after),
                          title=f"交车回访：{s['customer_name']}（{s['vin']}）", status="open", source_key=key,
                          created_at=now, created_by="system")
        made += 1
    for w in uow.care.warranties_ending(today, today + dt.timedelta(days=warranty_notice)):
        key = f"warranty-{w['id']}-ends-{w['ends_on'].isoformat()}"
        if uow.care.task_by_key(key) is not None:
            continue
        uow.care.add_task(kind="warranty_expiring", target_kind="customer", name=w["customer_name"],
                          phone=w["customer_phone"], dealer_id=w["dealer_id"], vin=w["vin"],
                          model_code=w["model_code"], related_on=w["ends_on"],
                          due_on=max(today, w["ends_on"] - dt.timedelta(days=7)),
                          title=f"保修到期提醒：{w['customer_name']}（{w['vin']}，{w['ends_on'].isoformat()}到期）",
                          status="open", source_key=key, created_at=now, created_by="system")
        made += 1
    return made


def generate_tasks_now(uow: CareUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *CARE_STAFF)
    with uow:
        n = generate_tasks(uow, clock())
        uow.commit()
    return n


class CareTaskJob:
    """Scheduler job: the care rules, every pass (idempotent by source key)."""

    code = "care.tasks"
    opens_own_units_of_work = True

    def __init__(self, uow_factory: UowFactory) -> None:
        self.uow_factory = uow_factory

    def run(self, ctx: Any) -> int:
        with self.uow_factory(Principal.system()) as uow:
            if getattr(uow, "care", None) is None:  # the in-memory unit of work has no care tables
                return 0
            n = generate_tasks(uow, ctx.now)
            uow.commit()
        return n


class CareTaskDueRule:
    """Alert rule: an open care task due within ``days_ahead`` days (or overdue) is an alert for
    after-sales and marketing (and sales of the dealer's region); done/cancelled resolves it."""

    code = "care.task_due"

    def __init__(self, days_ahead: int = 1) -> None:
        self.days_ahead = days_ahead

    def evaluate(self, ctx: Any) -> list[Condition]:
        care = getattr(ctx.uow, "care", None)
        if care is None:
            return []
        out = []
        for t in care.tasks_due_by(ctx.today + dt.timedelta(days=self.days_ahead)):
            overdue = t["due_on"] < ctx.today
            audience = Audience(roles=(Role.AFTER_SALES, Role.MARKETING, Role.SALES), region=t["region"]) \
                if t["region"] else Audience(roles=(Role.AFTER_SALES, Role.MARKETING))
            out.append(Condition(
                key=f"care-task-{t['id']}" + ("-overdue" if overdue else ""), audience=audience,
                title=(f"关怀任务已逾期：{t['title']}" if overdue else f"关怀任务到期：{t['title']}")[:200],
                body=f"{cd.CareKind(t['kind']).label}，对象：{t['name']}，电话：{t['phone'] or '—'}，"
                     f"到期日：{t['due_on'].isoformat()}",
                severity=Severity.WARNING if overdue else Severity.INFO, subject_type="care_task",
                subject_id=str(t["id"]), due_on=t["due_on"]))
        return out


@attrs.frozen
class RecipientIn:
    name: str
    to: str | None = None  # phone (sms) or e-mail address (email); None for letters
    address: str | None = None
    variables: Mapping[str, str] = attrs.field(factory=dict)
    task_id: int | None = None


@attrs.frozen
class BatchOut:
    batch_id: int
    channel: str
    recipients: int
    notification_ids: tuple[str, ...]


def _recipients_from_tasks(uow: CareUnitOfWork, task_ids: Sequence[int], channel: cd.CareChannel,
                           extra: Mapping[str, str]) -> list[RecipientIn]:
    out = []
    for tid in task_ids:
        t = uow.care.task(tid)
        if t is None:
            raise not_found("care_task", "关怀任务")
        dealer = uow.care.dealer(t["dealer_id"]) if t["dealer_id"] else None
        to = t["phone"] if channel is cd.CareChannel.SMS else t["email"] if channel is cd.CareChannel.EMAIL else None
        variables = {"name": t["name"], "vin": t["vin"], "model_code": t["model_code"],
                     "date": t["related_on"].isoformat() if t["related_on"] else None,
                     "dealer_name": (dealer["short_name"] or dealer["legal_name"]) if dealer else None, **extra}
        out.append(RecipientIn(t["name"], to, t["address"], {k: v for k, v in variables.items() if v}, tid))
    return out


def send_batch(template_id: int, recipients: Sequence[RecipientIn], task_ids: Sequence[int],
               common: Mapping[str, str], uow: CareUnitOfWork, clock: Clock) -> BatchOut:
    """Render the template for every recipient (explicit ones, and/or the persons of care
    tasks), check all of them first, then queue e-mail/SMS in the outbox (one message each, the
    relay's per-recipient caps apply) or keep the letters for printing. All or nothing."""
    require_role(uow.actor, *CARE_STAFF)
    now = clock()
    with uow:
        row = uow.care.template(template_id)
        if row is None:
            raise not_found("care_template", "关怀模板")
        tpl = cd.CareTemplate(row["name"], cd.CareChannel(row["channel"]), row["subject"], row["body"])
        people = list(recipients) + _recipients_from_tasks(uow, task_ids, tpl.channel, common)
        if not people:
            raise InvalidValue("recipients", "请至少选择一位收件人", code="care.no_recipients")
        if len(people) > 1000:
            raise InvalidValue("recipients", "一次最多发送1000位收件人", code="care.too_many_recipients")
        rendered = []
        for n, p in enumerate(people):
            subject, body = tpl.render({**common, **p.variables}, recipient_no=n)
            if tpl.channel is not cd.CareChannel.LETTER and not (p.to or "").strip():
                raise InvalidValue(f"recipients[{n}].to", f"第{n + 1}位收件人（{p.name}）缺少"
                                   + ("手机号" if tpl.channel is cd.CareChannel.SMS else "邮箱"),
                                   code="care.recipient_missing")
            if tpl.channel is cd.CareChannel.LETTER and not (p.address or "").strip():
                raise InvalidValue(f"recipients[{n}].address", f"第{n + 1}位收件人（{p.name}）缺少地址",
                                   code="care.recipient_missing")
            rendered.append({"name": p.name, "to": (p.to or "").strip() or None, "address": p.address,
                             "subject": subject, "body": body, "task_id": p.task_id})
        batch_id = uow.care.add_batch(template_id=template_id, channel=tpl.channel.value, recipients=[],
                                      created_at=now, created_by=uow.actor.username)
        ids: list[str] = []
        for n, r in enumerate(rendered):
            if tpl.channel is cd.CareChannel.LETTER:
                continue
            code = "care.sms" if tpl.channel is cd.CareChannel.SMS else "care.email"
            variables = {"body": r["body"]} if tpl.channel is cd.CareChannel.SMS else \
                {"subject": r["subject"], "body": r["body"]}
            try:
                nid = uow.outbox.enqueue(code, dict(variables), str(r["to"]), f"care-batch-{batch_id}-{n}")
            except InvalidValue as exc:
                raise InvalidValue(f"recipients[{n}].to", f"第{n + 1}位收件人（{r['name']}）：{exc}",
                                   code=exc.code) from None
            r["notification_id"] = nid
            ids.append(nid)
        uow.care.set_batch_recipients(batch_id, rendered)
        uow.commit()
    return BatchOut(batch_id, tpl.channel.value, len(rendered), tuple(ids))


def batch_for(actor: Principal, batch_id: int, uow: CareUnitOfWork) -> dict[str, Any]:
    require_role(actor, *CARE_STAFF)
    with uow:
        b = uow.care.batch(batch_id)
    if b is None:
        raise not_found("care_batch", "关怀批次")
    return b
