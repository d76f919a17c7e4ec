"""Dealer value analysis (经销商价值分析, seed 000 §2.1 6)): a configurable scoring model.

A :class:`ValueModel` says how much each component weighs (integer percentages summing to
100), how the raw figures of a period become 0–100 points, where the A/B/C/D bands start, and
what level and discount tier each class suggests. :func:`score_dealer` turns one dealer's
:class:`ValueInputs` into a :class:`ValueScore` with every component shown.

Components (points 0–100 each):

* ``sales_volume`` — vehicles ordered in the period / ``volume_target`` (capped at 100);
* ``sales_amount`` — order amount in the period / ``amount_target_fen`` (capped at 100);
* ``punctuality`` — on-time share of the amounts that fell due, taken from the dealer's latest
  credit evaluation (the credit context's own figure, not recomputed here);
* ``overdue`` — 100 minus ``overdue_penalty_per_day`` per day of the longest overdue
  receivable, again from the latest credit evaluation;
* ``turnover`` — vehicles sold at retail in the period / (sold + still in stock), against
  ``turnover_target_permille``;
* ``training`` — training completion: the completed trainings of the period the dealer was
  invited to that it attended / those it was invited to (a declined invitation counts as not
  completed).

The value class is also the credit grade the analysis suggests (信用等级, A–D): when it differs
from the dealer's current credit grade, the analysis files a credit change request for finance to
decide (see ``application.care``).

A component without data (no credit evaluation yet, no stock at all) is left out and the
remaining weights are scaled up to 100, so a dealer is neither punished nor rewarded for a
figure that does not exist; the breakdown says which were left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from dealercrm.domain.errors import InvalidValue

COMPONENTS = ("sales_volume", "sales_amount", "punctuality", "overdue", "turnover", "training")
COMPONENT_LABELS = {"sales_volume": "销量", "sales_amount": "销售额", "punctuality": "回款及时率",
                    "overdue": "逾期天数", "turnover": "库存周转", "training": "培训完成率"}
CLASSES = ("A", "B", "C", "D")
CLASS_LABELS = {"A": "A类（核心经销商）", "B": "B类（重点经销商）", "C": "C类（普通经销商）", "D": "D类（观察经销商）"}


@attrs.frozen
class ClassSuggestion:
    level: str  # 建议等级, e.g. 核心/重点/普通/观察
    tier_code: str  # the dealer_price_tiers.tier_code to suggest
    discount_bp: int  # the discount in basis points (100 = 1%)


def _check_int(field: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidValue(field, f"{field} 须为 {lo}–{hi} 之间的整数", code="dealer_value.model_invalid")
    return value


@attrs.frozen
class ValueModel:
    weights: Mapping[str, int]
    bands: Mapping[str, int]  # lowest score of A, B and C; below C is D
    suggestions: Mapping[str, ClassSuggestion]
    period_days: int = 365
    volume_target: int = 20
    amount_target_fen: int = 500_000_000  # ¥5,000,000
    turnover_target_permille: int = 800
    overdue_penalty_per_day: int = 2

    def __attrs_post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(COMPONENTS))
        if unknown:
            raise InvalidValue(f"weights.{unknown[0]}", f"未知的评分项：{unknown[0]}", code="dealer_value.model_invalid")
        for name in COMPONENTS:
            _check_int(f"weights.{name}", self.weights.get(name, 0), 0, 100)
        if sum(self.weights.get(n, 0) for n in COMPONENTS) != 100:
            raise InvalidValue("weights", "各评分项权重之和须为100", code="dealer_value.weights_sum")
        for c in ("A", "B", "C"):
            _check_int(f"bands.{c}", self.bands.get(c), 1, 100)
        if not self.bands["A"] > self.bands["B"] > self.bands["C"]:
            raise InvalidValue("bands", "分档阈值须满足 A > B > C", code="dealer_value.bands_order")
        for c in CLASSES:
            s = self.suggestions.get(c)
            if s is None:
                raise InvalidValue(f"suggestions.{c}", f"缺少 {c} 类的建议等级与折扣", code="dealer_value.model_invalid")
            if not s.level.strip() or not s.tier_code.strip() or len(s.tier_code) > 20:
                raise InvalidValue(f"suggestions.{c}", "建议等级和价格等级代码不能为空（代码最长20字符）",
                                   code="dealer_value.model_invalid")
            _check_int(f"suggestions.{c}.discount_bp", s.discount_bp, 0, 5000)
        _check_int("period_days", self.period_days, 30, 730)
        _check_int("volume_target", self.volume_target, 1, 100_000)
        _check_int("amount_target_fen", self.amount_target_fen, 1, 10**15)
        _check_int("turnover_target_permille", self.turnover_target_permille, 1, 1000)
        _check_int("overdue_penalty_per_day", self.overdue_penalty_per_day, 0, 100)

    def classify(self, score: int) -> str:
        if score >= self.bands["A"]:
            return "A"
        if score >= self.bands["B"]:
            return "B"
        if score >= self.bands["C"]:
            return "C"
        return "D"

    def to_dict(self) -> dict[str, Any]:
        return {"weights": {n: self.weights.get(n, 0) for n in COMPONENTS}, "bands": dict(self.bands),
                "suggestions": {c: attrs.asdict(self.suggestions[c]) for c in CLASSES},
                "period_days": self.period_days, "volume_target": self.volume_target,
                "amount_target_fen": self.amount_target_fen,
                "turnover_target_permille": self.turnover_target_permille,
                "overdue_penalty_per_day": self.overdue_penalty_per_day}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ValueModel:
        try:
            suggestions = {c: ClassSuggestion(str(v["level"]), str(v["tier_code"]), v["discount_bp"])
                           for c, v in dict(d["suggestions"]).items()}
            return cls(weights=dict(d["weights"]), bands=dict(d["bands"]), suggestions=suggestions,
                       **{k: d[k] for k in ("period_days", "volume_target", "amount_target_fen",
                                            "turnover_target_permille", "overdue_penalty_per_day") if k in d})
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidValue("model", f"评分模型格式不正确：{exc}", code="dealer_value.model_invalid") from None


DEFAULT_MODEL = ValueModel(
    weights={"sales_volume": 20, "sales_amount": 20, "punctuality": 20, "overdue": 15, "turnover": 15,
             "training": 10},
    bands={"A": 85, "B": 70, "C": 55},
    suggestions={"A": ClassSuggestion("核心", "VALUE-A", 300), "B": ClassSuggestion("重点", "VALUE-B", 200),
                 "C": ClassSuggestion("普通", "VALUE-C", 100), "D": ClassSuggestion("观察", "VALUE-D", 0)},
)


@attrs.frozen
class ValueInputs:
    """The facts of one dealer in one period, as read from the database."""

    period_start: dt.date
    period_end: dt.date
    orders: int
    vehicles_ordered: int
    order_amount_fen: int
    credit_evaluation_id: int | None = None  # the credit evaluation the payment figures come from
    due_fen: int | None = None
    on_time_fen: int | None = None
    max_days_overdue: int | None = None
    retail_sold: int = 0
    in_stock: int = 0
    trainings_invited: int = 0  # invitations to trainings completed in the period
    trainings_attended: int = 0  # of those, the ones the dealer attended

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in attrs.asdict(self).items()}


@attrs.frozen
class ValueScore:
    score: int
    value_class: str
    points: dict[str, int | None]  # per component, None = no data
    weights_used: dict[str, int]  # per component, after leaving out components without data (sum 100)
    suggestion: ClassSuggestion


def _ratio_points(value: int, target: int) -> int:
    return min(100, value * 100 // target) if target > 0 else 0


def component_points(i: ValueInputs, m: ValueModel) -> dict[str, int | None]:
    points: dict[str, int | None] = {
        "sales_volume": _ratio_points(i.vehicles_ordered, m.volume_target),
        "sales_amount": _ratio_points(i.order_amount_fen, m.amount_target_fen),
        "punctuality": None, "overdue": None, "turnover": None, "training": None,
    }
    if i.credit_evaluation_id is not None:
        # no amount fell due in the period: nothing was late — full marks for punctuality
        points["punctuality"] = (i.on_time_fen or 0) * 100 // i.due_fen if i.due_fen else 100
        points["overdue"] = max(0, 100 - (i.max_days_overdue or 0) * m.overdue_penalty_per_day)
    if i.retail_sold + i.in_stock > 0:
        sell_through = i.retail_sold * 1000 // (i.retail_sold + i.in_stock)
        points["turnover"] = _ratio_points(sell_through, m.turnover_target_permille)
    if i.trainings_invited > 0:
        points["training"] = min(100, i.trainings_attended * 100 // i.trainings_invited)
    return points


def _scaled_weights(points: Mapping[str, int | None], m: ValueModel) -> dict[str, int]:
    """Weights of the components with data, scaled to sum exactly 100 (largest remainder)."""
    present = [n for n in COMPONENTS if points.get(n) is not None and m.weights.get(n, 0) > 0]
    total = sum(m.weights[n] for n in present)
    if total == 0:
        return {n: 0 for n in COMPONENTS}
    raw = {n: m.weights[n] * 100 for n in present}
    scaled = {n: raw[n] // total for n in present}
    rest = 100 - sum(scaled.values())
    for n in sorted(present, key=lambda n: (-(raw[n] % total), COMPONENTS.index(n)))[:rest]:
        scaled[n] += 1
    return {n: scaled.get(n, 0) for n in COMPONENTS}


def score_dealer(i: ValueInputs, m: ValueModel) -> ValueScore:
    points = component_points(i, m)
    weights = _scaled_weights(points, m)
    weighted = sum(weights[n] * (points[n] or 0) for n in COMPONENTS)
    score = (weighted + 50) // 100  # round half up, 0–100
    value_class = m.classify(score)
    return ValueScore(score, value_class, points, weights, m.suggestions[value_class])


FORMULA = ("得分 = Σ(各项得分 × 权重)/100，四舍五入；无数据的评分项不参与，其余权重按比例放大至100。"
           "销量/销售额 = 实际÷目标×100（封顶100）；回款及时率 = 按期回款金额÷到期金额×100（取自最近一次信用评估）；"
           "逾期天数 = 100 − 最长逾期天数×每日扣分（取自最近一次信用评估）；库存周转 = 售出÷(售出+在库)÷目标×100（封顶100）；"
           "培训完成率 = 参加的已结束培训÷受邀的已结束培训×100。")
