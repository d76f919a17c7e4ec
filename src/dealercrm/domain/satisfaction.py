"""Dealer satisfaction (经销商满意度管理, seed 000 §4.2.3): surveys, answers and their analysis.

A survey has questions on four topics (products, delivery, after-sales, sales service), each
scored 1–5 or answered in text. Marketing sends it to dealers; each invited dealer answers it
once. A dealer is *dissatisfied* when any of its scores is below the survey's threshold; its
reasons are its text answers and the low-scored questions. Staff record follow-up actions
(处理措施) on a dissatisfied answer and move them open → in_progress → done.

Satisfaction is also derived from the service records (§4.2.3 "根据…服务记录统计的经销商满意度评价"):
the end customers' satisfaction (1–5) confirmed on the repair records of the requests of each
dealer's vehicles. A dealer whose average is below the threshold is dissatisfied, with the low
scores and the customers' comments as its reasons.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue


class Topic(enum.StrEnum):
    PRODUCTS = "products"
    DELIVERY = "delivery"
    AFTER_SALES = "after_sales"
    SALES_SERVICE = "sales_service"

    @property
    def label(self) -> str:
        return {"products": "产品质量", "delivery": "交付", "after_sales": "售后服务", "sales_service": "销售服务"}[self]


class QuestionKind(enum.StrEnum):
    SCORE = "score"
    TEXT = "text"


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"draft": "草稿", "sent": "已发放", "closed": "已结束"}[self]


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"

    @property
    def label(self) -> str:
        return {"open": "待处理", "in_progress": "处理中", "done": "已完成"}[self]


FOLLOW_UP_MOVES = {FollowUpStatus.OPEN: (FollowUpStatus.IN_PROGRESS, FollowUpStatus.DONE),
                   FollowUpStatus.IN_PROGRESS: (FollowUpStatus.DONE,), FollowUpStatus.DONE: ()}
MAX_SCORE = 5


@attrs.frozen
class Question:
    no: int
    topic: Topic
    kind: QuestionKind
    text: str
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"no": self.no, "topic": self.topic.value, "kind": self.kind.value, "text": self.text,
                "required": self.required}


def _enum(field: str, cls: Any, value: object) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = "、".join(e.value for e in cls)
        raise InvalidValue(field, f"{field} 须为以下之一：{allowed}", code="survey.invalid") from None


def build_questions(raw: Sequence[Mapping[str, Any]]) -> tuple[Question, ...]:
    """Validate the questions of a new survey (numbered 1..n in the given order)."""
    if not raw:
        raise InvalidValue("questions", "问卷至少需要一个问题", code="survey.no_questions")
    if len(raw) > 50:
        raise InvalidValue("questions", "问卷最多50个问题", code="survey.too_many_questions")
    out = []
    for n, q in enumerate(raw, start=1):
        text = str(q.get("text") or "").strip()
        if not text or len(text) > 300:
            raise InvalidValue(f"questions[{n - 1}].text", "问题内容不能为空（最长300字）", code="survey.invalid")
        out.append(Question(n, _enum(f"questions[{n - 1}].topic", Topic, q.get("topic")),
                            _enum(f"questions[{n - 1}].kind", QuestionKind, q.get("kind")), text,
                            bool(q.get("required", True))))
    if not any(q.kind is QuestionKind.SCORE for q in out):
        raise InvalidValue("questions", "问卷至少需要一个评分题", code="survey.no_score_question")
    return tuple(out)


def questions_from(rows: Iterable[Mapping[str, Any]]) -> tuple[Question, ...]:
    return tuple(Question(r["no"], Topic(r["topic"]), QuestionKind(r["kind"]), r["text"], r["required"]) for r in rows)


def check_threshold(threshold: object) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 2 <= threshold <= MAX_SCORE:
        raise InvalidValue("threshold", "不满意阈值须为 2–5 的整数（低于该分即为不满意）", code="survey.invalid")
    return threshold


def validate_answers(questions: Sequence[Question], answers: Mapping[int, object]) -> dict[int, int | str]:
    """One dealer's answers, checked: every answer names a question, scores are integers 1–5,
    texts at most 1000 characters, required questions answered. Returns ``{no: value}``."""
    by_no = {q.no: q for q in questions}
    out: dict[int, int | str] = {}
    for no, value in answers.items():
        q = by_no.get(no)
        field = f"answers.{no}"
        if q is None:
            raise InvalidValue(field, f"问卷没有第{no}题", code="survey.unknown_question")
        if q.kind is QuestionKind.SCORE:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SCORE:
                raise InvalidValue(field, f"第{no}题须为 1–5 分", code="survey.score_invalid")
            out[no] = value
        else:
            if not isinstance(value, str) or len(value) > 1000:
                raise InvalidValue(field, f"第{no}题须为文字（最长1000字）", code="survey.text_invalid")
            if value.strip():
                out[no] = value.strip()
    for q in questions:
        if q.required and q.no not in out:
            raise InvalidValue(f"answers.{q.no}", f"第{q.no}题为必答题", code="survey.answer_missing")
    return out


def low_scores(questions: Sequence[Question], answers: Mapping[int, int | str], threshold: int) -> list[Question]:
    return [q for q in questions if q.kind is QuestionKind.SCORE and isinstance(answers.get(q.no), int)
            and int(answers[q.no]) < threshold]


def reasons(questions: Sequence[Question], answers: Mapping[int, int | str], threshold: int) -> list[str]:
    """Why a dealer is dissatisfied: the low-scored questions, then its written answers."""
    out = [f"{q.topic.label}：“{q.text}” {answers[q.no]}分" for q in low_scores(questions, answers, threshold)]
    out += [f"{q.topic.label}：{answers[q.no]}" for q in questions
            if q.kind is QuestionKind.TEXT and q.no in answers]
    return out


def _avg(values: list[int]) -> dict[str, Any]:
    # average to two decimals, as text-free integers: hundredths
    return {"count": len(values), "average_x100": (sum(values) * 100 + len(values) // 2) // len(values)
            if values else None}


def analyse(questions: Sequence[Question], responses: Iterable[tuple[str, Mapping[int, int | str]]]
            ) -> dict[str, Any]:
    """Averages per question, per topic and per region over ``(region, answers)`` pairs.
    Averages are in hundredths of a point (``average_x100`` 425 = 4.25) so nothing is rounded
    twice."""
    per_q: dict[int, list[int]] = {q.no: [] for q in questions if q.kind is QuestionKind.SCORE}
    per_topic: dict[str, list[int]] = {}
    per_region: dict[str, list[int]] = {}
    kinds = {q.no: q for q in questions}
    n = 0
    for region, answers in responses:
        n += 1
        for no, value in answers.items():
            q = kinds.get(int(no))
            if q is None or q.kind is not QuestionKind.SCORE or not isinstance(value, int):
                continue
            per_q[q.no].append(value)
            per_topic.setdefault(q.topic.value, []).append(value)
            per_region.setdefault(region, []).append(value)
    return {
        "responses": n,
        "questions": [{"no": q.no, "topic": q.topic.value, "text": q.text, **_avg(per_q[q.no])}
                      for q in questions if q.kind is QuestionKind.SCORE],
        "topics": [{"topic": t.value, "label": t.label, **_avg(per_topic[t.value])}
                   for t in Topic if t.value in per_topic],
        "regions": [{"region": r, **_avg(v)} for r, v in sorted(per_region.items())],
    }


def move_follow_up(current: FollowUpStatus, target: FollowUpStatus) -> FollowUpStatus:
    if target not in FOLLOW_UP_MOVES[current]:
        raise IllegalTransition("survey_follow_up", current.value, target.value,
                                f"处理措施当前为“{current.label}”，不能改为“{target.label}”")
    return target


@attrs.frozen
class ServiceFacts:
    """One dealer's confirmed repair records in a period (from the after-sales service records)."""

    dealer_id: int
    dealer_name: str
    region: str
    confirmed: int  # repair records the customer confirmed with a satisfaction score
    score_sum: int
    low_scores: int  # scores below the threshold
    low_comments: tuple[str, ...] = ()  # the customers' comments on those low scores


def check_service_threshold(threshold: int) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 2 <= threshold <= 5:
        raise InvalidValue("threshold", "满意度阈值须为2到5之间的整数", code="satisfaction.threshold_invalid")
    return threshold


def service_satisfaction(f: ServiceFacts, threshold: int) -> dict[str, Any]:
    """A dealer's satisfaction as the service records show it: the average (2 decimals, half up),
    dissatisfied when below ``threshold``, with the reasons."""
    check_service_threshold(threshold)
    average = None if f.confirmed == 0 else (f.score_sum * 200 // f.confirmed + 1) // 2 / 100
    dissatisfied = average is not None and average < threshold
    reasons: list[str] = []
    if dissatisfied:
        reasons.append(f"终端客户维修满意度均分{average}，低于{threshold}分")
    if f.low_scores:
        reasons.append(f"{f.low_scores}次维修评价低于{threshold}分")
    reasons.extend(f"客户意见：{c}" for c in f.low_comments)
    return {"dealer_id": f.dealer_id, "dealer_name": f.dealer_name, "region": f.region, "confirmed": f.confirmed,
            "average": average, "low_scores": f.low_scores, "dissatisfied": dissatisfied, "reasons": reasons}
