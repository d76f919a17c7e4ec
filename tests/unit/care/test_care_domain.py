"""Scoring arithmetic of dealer value analysis, survey rules and care template checks."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.domain import care as cd
from dealercrm.domain import dealer_value as dv
from dealercrm.domain import satisfaction as sd
from dealercrm.domain.errors import IllegalTransition, InvalidValue

D0, D1 = dt.date(2025, 3, 1), dt.date(2026, 3, 1)


def inputs(**kw) -> dv.ValueInputs:
    base = dict(period_start=D0, period_end=D1, orders=3, vehicles_ordered=10, order_amount_fen=250_000_000)
    return dv.ValueInputs(**(base | kw))


def test_score_with_every_component_is_the_weighted_sum():
    i = inputs(credit_evaluation_id=7, due_fen=1000, on_time_fen=900, max_days_overdue=10, retail_sold=6, in_stock=4,
               trainings_invited=4, trainings_attended=3)
    s = dv.score_dealer(i, dv.DEFAULT_MODEL)
    # volume 10/20 → 50; amount 2.5M/5M → 50; punctual 90; overdue 100-10*2 = 80; sell-through 600‰/800‰ → 75;
    # training completion 3 of 4 → 75
    assert s.points == {"sales_volume": 50, "sales_amount": 50, "punctuality": 90, "overdue": 80, "turnover": 75,
                        "training": 75}
    assert s.weights_used == {"sales_volume": 20, "sales_amount": 20, "punctuality": 20, "overdue": 15, "turnover": 15,
                              "training": 10}
    # (20*50 + 20*50 + 20*90 + 15*80 + 15*75 + 10*75) / 100 = 68.75 → 69
    assert s.score == 69 and s.value_class == "C"
    assert s.suggestion == dv.ClassSuggestion("普通", "VALUE-C", 100)


def test_components_without_data_are_left_out_and_weights_rescaled_to_100():
    s = dv.score_dealer(inputs(vehicles_ordered=20, order_amount_fen=600_000_000), dv.DEFAULT_MODEL)
    assert s.points["punctuality"] is None and s.points["turnover"] is None
    assert s.weights_used == {"sales_volume": 50, "sales_amount": 50, "punctuality": 0, "overdue": 0, "turnover": 0,
                              "training": 0}
    assert s.score == 100 and s.value_class == "A"


def test_training_completion_is_a_factor_and_a_dealer_never_invited_is_not_judged_on_it():
    full = dv.score_dealer(inputs(vehicles_ordered=20, order_amount_fen=600_000_000, trainings_invited=2,
                                  trainings_attended=0), dv.DEFAULT_MODEL)
    # volume 100 and amount 100 at 20 each, training 0 at 10: weights scaled 40/40/20 → 80
    assert full.points["training"] == 0 and full.weights_used["training"] == 20
    assert (full.score, full.value_class) == (80, "B")
    never = dv.score_dealer(inputs(vehicles_ordered=20, order_amount_fen=600_000_000), dv.DEFAULT_MODEL)
    assert never.points["training"] is None and never.score == 100


def test_rescaled_weights_sum_to_100_with_largest_remainder():
    m = dv.ValueModel(weights={"sales_volume": 33, "sales_amount": 33, "punctuality": 34, "overdue": 0, "turnover": 0},
                      bands={"A": 90, "B": 60, "C": 30}, suggestions=dv.DEFAULT_MODEL.suggestions)
    s = dv.score_dealer(inputs(), m)  # punctuality missing: 33/66 each → 50/50
    assert sum(s.weights_used.values()) == 100
    assert s.weights_used["sales_volume"] == 50 and s.weights_used["sales_amount"] == 50


def test_no_amount_due_is_full_punctuality_and_overdue_is_floored_at_zero():
    s = dv.score_dealer(inputs(credit_evaluation_id=1, due_fen=0, on_time_fen=0, max_days_overdue=400),
                        dv.DEFAULT_MODEL)
    assert s.points["punctuality"] == 100 and s.points["overdue"] == 0


@pytest.mark.parametrize(("score", "cls"), [(85, "A"), (84, "B"), (70, "B"), (69, "C"), (55, "C"), (54, "D"), (0, "D")])
def test_band_edges(score, cls):
    assert dv.DEFAULT_MODEL.classify(score) == cls


def test_model_validation():
    raw = dv.DEFAULT_MODEL.to_dict()
    assert dv.ValueModel.from_dict(raw) == dv.DEFAULT_MODEL
    with pytest.raises(InvalidValue) as e:
        dv.ValueModel.from_dict(raw | {"weights": raw["weights"] | {"turnover": 20}})
    assert e.value.code == "dealer_value.weights_sum"
    with pytest.raises(InvalidValue) as e:
        dv.ValueModel.from_dict(raw | {"bands": {"A": 70, "B": 80, "C": 50}})
    assert e.value.code == "dealer_value.bands_order"
    with pytest.raises(InvalidValue) as e:
        dv.ValueModel.from_dict(raw | {"weights": raw["weights"] | {"charm": 0}})
    assert e.value.field == "weights.charm"


QS = sd.build_questions([
    {"topic": "products", "kind": "score", "text": "产品质量"},
    {"topic": "delivery", "kind": "score", "text": "交付及时"},
    {"topic": "after_sales", "kind": "text", "text": "其他意见", "required": False},
])


def test_answers_are_checked():
    assert sd.validate_answers(QS, {1: 5, 2: 2, 3: " 交车晚了两周 "}) == {1: 5, 2: 2, 3: "交车晚了两周"}
    with pytest.raises(InvalidValue) as e:
        sd.validate_answers(QS, {1: 6, 2: 3})
    assert e.value.field == "answers.1"
    with pytest.raises(InvalidValue) as e:
        sd.validate_answers(QS, {1: 4})
    assert e.value.code == "survey.answer_missing"
    with pytest.raises(InvalidValue):
        sd.validate_answers(QS, {1: 4, 2: 4, 9: 1})
    with pytest.raises(InvalidValue):
        sd.validate_answers(QS, {1: True, 2: 4})


def test_analysis_and_reasons():
    out = sd.analyse(QS, [("华中", {1: 5, 2: 2, 3: "晚了"}), ("华东", {1: 4, 2: 4})])
    assert out["responses"] == 2
    assert [(q["no"], q["average_x100"]) for q in out["questions"]] == [(1, 450), (2, 300)]
    assert {r["region"]: r["average_x100"] for r in out["regions"]} == {"华中": 350, "华东": 400}
    assert sd.reasons(QS, {1: 5, 2: 2, 3: "晚了"}, 3) == ["交付：“交付及时” 2分", "售后服务：晚了"]
    assert sd.low_scores(QS, {1: 4, 2: 3}, 3) == []


def test_survey_needs_a_score_question_and_follow_ups_move_forward_only():
    with pytest.raises(InvalidValue):
        sd.build_questions([{"topic": "products", "kind": "text", "text": "意见"}])
    with pytest.raises(InvalidValue):
        sd.build_questions([{"topic": "price", "kind": "score", "text": "价格"}])
    assert sd.move_follow_up(sd.FollowUpStatus.OPEN, sd.FollowUpStatus.DONE) is sd.FollowUpStatus.DONE
    with pytest.raises(IllegalTransition):
        sd.move_follow_up(sd.FollowUpStatus.DONE, sd.FollowUpStatus.IN_PROGRESS)


def test_care_template_variables_are_checked_when_saved_and_rendered():
    t = cd.CareTemplate("回访", cd.CareChannel.SMS, "", "{name}您好，您的{model_code}已交车满一周，使用是否满意？")
    assert t.variables == {"name", "model_code"}
    assert t.render({"name": "赵师傅", "model_code": "HT5250"})[1].startswith("赵师傅您好")
    with pytest.raises(InvalidValue) as e:
        t.render({"name": "赵师傅"}, recipient_no=2)
    assert e.value.field == "recipients[2].variables.model_code"
    with pytest.raises(InvalidValue) as e:
        cd.CareTemplate("x", cd.CareChannel.EMAIL, "问候", "{password}")
    assert e.value.code == "care.template_variable"
    with pytest.raises(InvalidValue):
        cd.CareTemplate("x", cd.CareChannel.EMAIL, "问候", "{name")
    with pytest.raises(InvalidValue):
        cd.CareTemplate("x", cd.CareChannel.SMS, "标题", "{name}")
    assert cd.finish(cd.TaskStatus.OPEN, cd.TaskStatus.DONE) is cd.TaskStatus.DONE
    with pytest.raises(IllegalTransition):
        cd.finish(cd.TaskStatus.CANCELLED, cd.TaskStatus.DONE)
