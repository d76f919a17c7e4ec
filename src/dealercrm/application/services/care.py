"""The care service (``container.care``): dealer value analysis, dealer satisfaction surveys and
customer care. Each call is one transaction; the role and scope checks of the reads live here,
those of the writes in ``application.care``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application import care as ca
from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.ports.care import CareLetterRenderer, CareQueries, CareUnitOfWork, CareUnitOfWorkFactory
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain import dealer_value as dv
from dealercrm.domain import satisfaction as sd
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI, beijing_date

LETTER_LAYOUTS = ("both", "envelope", "letter")


@attrs.define
class CareService:
    """Dealer value analysis (经销商价值分析), dealer satisfaction surveys (满意度调查) and customer care
    (客户关怀). Each call is one transaction; roles are checked by each method as documented."""
    uow: CareUnitOfWorkFactory
    clock: Clock
    queries: CareQueries
    letters: CareLetterRenderer
    portal_url: str

    def _u(self, actor: Principal) -> CareUnitOfWork:
        return self.uow(actor)

    # -- value analysis ----------------------------------------------------------------------

    def model(self, actor: Principal) -> dict[str, Any]:
        """The current dealer-value scoring model with its version; admin, marketing, finance, sales or region
        manager (``PermissionDenied`` otherwise)."""
        return ca.get_model(self._u(actor))

    def set_model(self, actor: Principal, raw: dict[str, Any], note: str | None) -> int:
        """Save a new version of the scoring model, validated as a whole (the old one stays in history);
        admin or marketing. Returns the version id; ``InvalidValue``, ``PermissionDenied``."""
        return ca.set_model(raw, note, self._u(actor), self.clock)

    def evaluate(self, actor: Principal, dealer_id: int) -> dict[str, Any]:
        """Evaluate one dealer's value now and return the new evaluation row, with the credit change
        request it filed when its class differs from the dealer's credit grade
        (``credit_change_request_id``, ``None`` when none); admin, marketing or finance.
        ``PermissionDenied``, ``NotFound`` (dealer missing or out of scope)."""
        eid = ca.evaluate_dealer(dealer_id, self._u(actor), self.clock)
        request_id = ca.propose_credit_grade(eid, self.uow, self.clock)
        return self.history(actor, dealer_id)[0] | {"id": eid, "credit_change_request_id": request_id}

    def run_all(self, actor: Principal, region: str | None = None) -> int:
        """Evaluate every approved dealer now (optionally of one region), one transaction each; admin,
        marketing or finance. Returns how many; ``PermissionDenied``."""
        return ca.run_all_now(actor, self.uow, self.clock, region)

    def ranking(self, actor: Principal, *, value_class: str | None = None, region: str | None = None
                ) -> list[dict[str, Any]]:
        """The latest evaluation of each dealer in the caller's scope, by value class (A–D) and region;
        admin, marketing, finance, sales or region manager. ``InvalidValue`` (class), ``PermissionDenied``."""
        require_role(actor, *ca.VALUE_READERS)
        if value_class is not None and value_class not in dv.CLASSES:
            raise InvalidValue("value_class", "价值分类须为 A、B、C 或 D", code="dealer_value.filter_invalid")
        scope = dealer_scope(actor)
        return self.queries.latest_evaluations(dealer_id=scope.dealer_id, regions=scope.regions,
                                               value_class=value_class, region=region)

    def history(self, actor: Principal, dealer_id: int) -> list[dict[str, Any]]:
        """One dealer's evaluations, newest first; value readers whose scope admits the dealer.
        ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *ca.VALUE_READERS)
        with self._u(actor) as uow:
            ca.check_dealer_visible(actor, uow, dealer_id)
        return self.queries.evaluation_history(dealer_id)

    def my_class(self, actor: Principal) -> dict[str, Any]:
        """A dealer's own current class and suggested level (nothing more: see application.care)."""
        require_role(actor, Role.DEALER)
        rows = self.queries.latest_evaluations(dealer_id=actor.dealer_id, regions=None, value_class=None, region=None)
        if not rows:
            raise not_found("dealer_value_evaluation", "价值评估")
        r = rows[0]
        return {"dealer_id": r["dealer_id"], "value_class": r["value_class"],
                "value_class_label": dv.CLASS_LABELS[r["value_class"]], "suggested_level": r["suggested_level"],
                "evaluated_at": r["evaluated_at"]}

    def apply_tier(self, actor: Principal, evaluation_id: int, product_lines: list[str]) -> ca.AppliedTier:
        """Write an evaluation's suggested tier into the dealer's price tiers for the chosen product lines,
        one transaction (only the latest evaluation); admin or region manager. Returns ``AppliedTier``;
        ``InvalidValue``, ``BusinessRuleViolation`` (not the latest), ``PermissionDenied``, ``NotFound``."""
        return ca.apply_suggested_tier(evaluation_id, product_lines, self.uow, actor, self.clock)

    # -- satisfaction --------------------------------------------------------------------------

    def create_survey(self, actor: Principal, title: str, description: str, questions: list[dict[str, Any]],
                      threshold: int, deadline: dt.date | None) -> int:
        """Create a satisfaction survey (满意度问卷) in draft with its questions and the low-score threshold;
        admin or marketing. Returns its id; ``InvalidValue``, ``PermissionDenied``."""
        return ca.create_survey(title, description, questions, threshold, deadline, self._u(actor), self.clock)

    def send_survey(self, actor: Principal, survey_id: int, dealer_ids: list[int] | None,
                    region: str | None) -> ca.SurveySent:
        """Invite dealers (the given ones, every approved dealer of ``region``, or all) and tell them through
        the outbox; admin or marketing. Returns ``SurveySent``; ``InvalidValue``, ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return ca.send_survey(survey_id, dealer_ids, region, self._u(actor), self.clock, self.portal_url)

    def close_survey(self, actor: Principal, survey_id: int) -> str:
        """Close a survey to answers; admin or marketing. Returns its status; ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return ca.close_survey(survey_id, self._u(actor), self.clock)

    def surveys(self, actor: Principal) -> list[dict[str, Any]]:
        """Surveys: a dealer those it was invited to, follow-up staff (admin, marketing, sales, region
        manager, after-sales) all; ``PermissionDenied`` for other roles."""
        if actor.role is Role.DEALER:
            return self.queries.surveys(dealer_id=actor.dealer_id)
        require_role(actor, *ca.FOLLOW_UP_STAFF)
        return self.queries.surveys(dealer_id=None)

    def survey(self, actor: Principal, survey_id: int) -> dict[str, Any]:
        """One survey as its reader may see it: staff any, a dealer one it was invited to (with its own
        answer). ``NotFound``, ``PermissionDenied``."""
        return ca.survey_for(actor, survey_id, self._u(actor))

    def answer(self, actor: Principal, survey_id: int, answers: dict[int, object]) -> int:
        """A dealer answers a survey it was invited to, once; dealers only. Returns the response id;
        ``InvalidValue`` (answers), ``Conflict`` (answered), ``IllegalTransition`` (closed), ``BusinessRuleViolation``
        (past the deadline), ``PermissionDenied``, ``NotFound``."""
        return ca.answer_survey(survey_id, answers, self._u(actor), self.clock)

    def service_satisfaction(self, actor: Principal, *, days: int = 90, threshold: int = 3,
                             region: str | None = None) -> dict[str, Any]:
        """Dealer satisfaction derived from the service records (§4.2.3): per dealer, the end customers'
        scores confirmed on the repair records of its vehicles over the last ``days`` (Beijing days,
        today included), dissatisfied dealers first with their reasons; admin, marketing, sales or
        region manager (their regions). ``InvalidValue`` (days, threshold), ``PermissionDenied``."""
        require_role(actor, *ca.VALUE_READERS)
        if isinstance(days, bool) or not 7 <= days <= 730:
            raise InvalidValue("days", "统计天数须为7到730", code="satisfaction.days_invalid")
        today = beijing_date(self.clock())
        since = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=SHANGHAI)
        until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
        sd.check_service_threshold(threshold)
        scope = dealer_scope(actor)
        facts = self.queries.service_facts(since=since, until=until, threshold=threshold, regions=scope.regions,
                                           region=region)
        dealers = sorted((sd.service_satisfaction(f, threshold) for f in facts),
                         key=lambda d: (not d["dissatisfied"], d["average"], d["dealer_id"]))
        return {"since": since.date(), "until": today, "threshold": threshold, "dealers": dealers,
                "dissatisfied": sum(1 for d in dealers if d["dissatisfied"])}

    def analysis(self, actor: Principal, survey_id: int) -> dict[str, Any]:
        """A survey's analysis: scores per question and region, invited count, and the dissatisfied responses
        with their follow-ups; admin or marketing. ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *ca.SURVEY_EDITORS)
        s = ca.survey_for(actor, survey_id, self._u(actor))
        qs = sd.questions_from(s["questions"])
        rows = self.queries.responses(survey_id)
        parsed = [(r, {int(k): v for k, v in r["answers"].items()}) for r in rows]
        out = sd.analyse(qs, [(r["region"], a) for r, a in parsed])
        out["invited"] = self.queries.invited_count(survey_id)
        out["threshold"] = s["threshold"]
        unhappy = [(r, a) for r, a in parsed if sd.low_scores(qs, a, s["threshold"])]
        follow = self.queries.follow_ups([r["id"] for r, _ in unhappy])
        out["dissatisfied"] = [
            {"response_id": r["id"], "dealer_id": r["dealer_id"], "dealer_name": r["short_name"] or r["legal_name"],
             "region": r["region"], "min_score": r["min_score"], "answered_at": r["answered_at"],
             "reasons": sd.reasons(qs, a, s["threshold"]),
             "follow_ups": [f for f in follow if f["response_id"] == r["id"]]}
            for r, a in unhappy]
        return out

    def add_follow_up(self, actor: Principal, response_id: int, action: str, owner: str) -> int:
        """Add a follow-up action (整改跟进) with an owner to a dissatisfied response; follow-up staff. Returns
        its id; ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return ca.add_follow_up(response_id, action, owner, self._u(actor), self.clock)

    def move_follow_up(self, actor: Principal, follow_up_id: int, status: str, result: str | None) -> str:
        """Move a follow-up to another status, with a result; follow-up staff. Returns the new status;
        ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return ca.move_follow_up(follow_up_id, status, result, self._u(actor), self.clock)

    # -- customer care -------------------------------------------------------------------------

    def create_template(self, actor: Principal, name: str, channel: str, subject: str, body: str) -> int:
        """A care message template (关怀模板) for e-mail, SMS or letter; admin, marketing, after-sales or sales.
        Returns its id; ``InvalidValue``, ``PermissionDenied``."""
        return ca.create_template(name, channel, subject, body, self._u(actor), self.clock)

    def create_template_once(self, actor: Principal, name: str, channel: str, subject: str, body: str, *,
                             form_token: str) -> int:
        """``create_template`` once per form token of this user (a double-submitted form creates one
        template; the repeat gets its id). ``InvalidValue``, ``PermissionDenied``."""
        return ca.create_template_once(name, channel, subject, body, lambda: self._u(actor), self.clock,
                                       form_token=form_token)

    def templates(self, actor: Principal) -> list[dict[str, Any]]:
        """The care message templates; admin, marketing, after-sales or sales (``PermissionDenied`` otherwise)."""
        require_role(actor, *ca.CARE_STAFF)
        return self.queries.templates()

    def create_task(self, actor: Principal, cmd: ca.TaskIn) -> int:
        """A care task (关怀任务: a call, a reminder) for a person; care staff. Returns its id;
        ``InvalidValue``, ``PermissionDenied``."""
        return ca.create_task(cmd, self._u(actor), self.clock)

    def finish_task(self, actor: Principal, task_id: int, status: str, result: str | None) -> str:
        """Close a care task as done or cancelled, with a result; care staff. Returns the new status;
        ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return ca.finish_task(task_id, status, result, self._u(actor), self.clock)

    def generate_tasks(self, actor: Principal) -> int:
        """Run the care rules now (a follow-up call after each recent retail sale, a warranty-ending
        reminder), idempotent; care staff. Returns how many tasks were made; ``PermissionDenied``."""
        return ca.generate_tasks_now(self._u(actor), self.clock)

    def tasks(self, actor: Principal, *, status: str | None = None, kind: str | None = None,
              due_before: dt.date | None = None, after_id: int | None = None, limit: int = 50
              ) -> list[dict[str, Any]]:
        """Care tasks by status, kind and due date, keyset-paged by id; care staff (``PermissionDenied`` otherwise)."""
        require_role(actor, *ca.CARE_STAFF)
        return self.queries.tasks(status=status, kind=kind, due_before=due_before, after_id=after_id, limit=limit)

    def send_batch(self, actor: Principal, template_id: int, recipients: list[ca.RecipientIn], task_ids: list[int],
                   common: dict[str, str]) -> ca.BatchOut:
        """Render a template for every recipient (explicit ones and/or care tasks' persons), check all first,
        then queue e-mail/SMS in the outbox or keep letters for printing; all or nothing. Care staff;
        returns ``BatchOut``. ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return ca.send_batch(template_id, recipients, task_ids, common, self._u(actor), self.clock)

    def batch(self, actor: Principal, batch_id: int) -> dict[str, Any]:
        """One send batch with its recipients; care staff. ``PermissionDenied``, ``NotFound``."""
        return ca.batch_for(actor, batch_id, self._u(actor))

    def letters_pdf(self, actor: Principal, batch_id: int, layout: str = "both") -> bytes:
        """A letter batch printed as PDF (``both``, ``envelope`` or ``letter``); care staff. ``InvalidValue``
        (layout, no addresses for envelopes), ``PermissionDenied``, ``NotFound``."""
        if layout not in LETTER_LAYOUTS:
            raise InvalidValue("layout", "版式须为 both、envelope 或 letter", code="care.layout_invalid")
        b = self.batch(actor, batch_id)
        people = [r for r in b["recipients"] if r.get("address")] if layout != "letter" else b["recipients"]
        if not people:
            raise InvalidValue("layout", "本批次没有带地址的收件人，无法打印信封", code="care.no_addresses")
        return self.letters.render(people, sender="客户服务中心", title=f"客户关怀信函 第{batch_id}批", layout=layout)
