"""The care service (``container.care``): dealer value analysis, dealer satisfaction surveys and
customer care. Each call is one transaction; the role and scope checks of the reads live here,
those of the writes in ``application.care``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application import care as ca
from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.ports.care import CareLetterRenderer, CareQueries
from dealercrm.application.ports.persistence import Clock, UnitOfWork, UnitOfWorkFactory
from dealercrm.domain import dealer_value as dv
from dealercrm.domain import satisfaction as sd
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role

LETTER_LAYOUTS = ("both", "envelope", "letter")


@attrs.define
class CareService:
    uow: UnitOfWorkFactory
    clock: Clock
    queries: CareQueries
    letters: CareLetterRenderer
    portal_url: str

    def _u(self, actor: Principal) -> UnitOfWork:
        return self.uow(actor)

    # -- value analysis ----------------------------------------------------------------------

    def model(self, actor: Principal) -> dict[str, Any]:
        return ca.get_model(self._u(actor))

    def set_model(self, actor: Principal, raw: dict[str, Any], note: str | None) -> int:
        return ca.set_model(raw, note, self._u(actor), self.clock)

    def evaluate(self, actor: Principal, dealer_id: int) -> dict[str, Any]:
        eid = ca.evaluate_dealer(dealer_id, self._u(actor), self.clock)
        return self.history(actor, dealer_id)[0] | {"id": eid}

    def run_all(self, actor: Principal, region: str | None = None) -> int:
        return ca.run_all_now(actor, self.uow, self.clock, region)

    def ranking(self, actor: Principal, *, value_class: str | None = None, region: str | None = None
                ) -> list[dict[str, Any]]:
        require_role(actor, *ca.VALUE_READERS)
        if value_class is not None and value_class not in dv.CLASSES:
            raise InvalidValue("value_class", "价值分类须为 A、B、C 或 D", code="dealer_value.filter_invalid")
        scope = dealer_scope(actor)
        return self.queries.latest_evaluations(dealer_id=scope.dealer_id, regions=scope.regions,
                                               value_class=value_class, region=region)

    def history(self, actor: Principal, dealer_id: int) -> list[dict[str, Any]]:
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
        return ca.apply_suggested_tier(evaluation_id, product_lines, self.uow, actor, self.clock)

    # -- satisfaction --------------------------------------------------------------------------

    def create_survey(self, actor: Principal, title: str, description: str, questions: list[dict[str, Any]],
                      threshold: int, deadline: dt.date | None) -> int:
        return ca.create_survey(title, description, questions, threshold, deadline, self._u(actor), self.clock)

    def send_survey(self, actor: Principal, survey_id: int, dealer_ids: list[int] | None,
                    region: str | None) -> ca.SurveySent:
        return ca.send_survey(survey_id, dealer_ids, region, self._u(actor), self.clock, self.portal_url)

    def close_survey(self, actor: Principal, survey_id: int) -> str:
        return ca.close_survey(survey_id, self._u(actor), self.clock)

    def surveys(self, actor: Principal) -> list[dict[str, Any]]:
        if actor.role is Role.DEALER:
            return self.queries.surveys(dealer_id=actor.dealer_id)
        require_role(actor, *ca.FOLLOW_UP_STAFF)
        return self.queries.surveys(dealer_id=None)

    def survey(self, actor: Principal, survey_id: int) -> dict[str, Any]:
        return ca.survey_for(actor, survey_id, self._u(actor))

    def answer(self, actor: Principal, survey_id: int, answers: dict[int, object]) -> int:
        return ca.answer_survey(survey_id, answers, self._u(actor), self.clock)

    def analysis(self, actor: Principal, survey_id: int) -> dict[str, Any]:
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
        return ca.add_follow_up(response_id, action, owner, self._u(actor), self.clock)

    def move_follow_up(self, actor: Principal, follow_up_id: int, status: str, result: str | None) -> str:
        return ca.move_follow_up(follow_up_id, status, result, self._u(actor), self.clock)

    # -- customer care -------------------------------------------------------------------------

    def create_template(self, actor: Principal, name: str, channel: str, subject: str, body: str) -> int:
        return ca.create_template(name, channel, subject, body, self._u(actor), self.clock)

    def templates(self, actor: Principal) -> list[dict[str, Any]]:
        require_role(actor, *ca.CARE_STAFF)
        return self.queries.templates()

    def create_task(self, actor: Principal, cmd: ca.TaskIn) -> int:
        return ca.create_task(cmd, self._u(actor), self.clock)

    def finish_task(self, actor: Principal, task_id: int, status: str, result: str | None) -> str:
        return ca.finish_task(task_id, status, result, self._u(actor), self.clock)

    def generate_tasks(self, actor: Principal) -> int:
        return ca.generate_tasks_now(self._u(actor), self.clock)

    def tasks(self, actor: Principal, *, status: str | None = None, kind: str | None = None,
              due_before: dt.date | None = None, after_id: int | None = None, limit: int = 50
              ) -> list[dict[str, Any]]:
        require_role(actor, *ca.CARE_STAFF)
        return self.queries.tasks(status=status, kind=kind, due_before=due_before, after_id=after_id, limit=limit)

    def send_batch(self, actor: Principal, template_id: int, recipients: list[ca.RecipientIn], task_ids: list[int],
                   common: dict[str, str]) -> ca.BatchOut:
        return ca.send_batch(template_id, recipients, task_ids, common, self._u(actor), self.clock)

    def batch(self, actor: Principal, batch_id: int) -> dict[str, Any]:
        return ca.batch_for(actor, batch_id, self._u(actor))

    def letters_pdf(self, actor: Principal, batch_id: int, layout: str = "both") -> bytes:
        if layout not in LETTER_LAYOUTS:
            raise InvalidValue("layout", "版式须为 both、envelope 或 letter", code="care.layout_invalid")
        b = self.batch(actor, batch_id)
        people = [r for r in b["recipients"] if r.get("address")] if layout != "letter" else b["recipients"]
        if not people:
            raise InvalidValue("layout", "本批次没有带地址的收件人，无法打印信封", code="care.no_addresses")
        return self.letters.render(people, sender="客户服务中心", title=f"客户关怀信函 第{batch_id}批", layout=layout)
