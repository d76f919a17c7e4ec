"""The community's rules (domain/community.py): topics, text limits, answering, accepting, moderating."""

from __future__ import annotations

import pytest

from dealercrm.domain import community as rules
from dealercrm.domain.community import AnswerFacts, PostFacts, PostKind
from dealercrm.domain.errors import Conflict, InvalidValue, PermissionDenied


def _question(**kw) -> PostFacts:
    return PostFacts(**{"id": 1, "kind": PostKind.QUESTION, "author_id": 10, "locked": False, "hidden": False,
                        **kw})


def _answer(**kw) -> AnswerFacts:
    return AnswerFacts(**{"id": 5, "post_id": 1, "author_id": 20, "hidden": False, **kw})


def test_topics_are_the_product_lines_the_fault_categories_and_regulations():
    topics = rules.topics()

    assert {"tanker", "dump_truck", "semi_trailer", "fault_hydraulic", "regulations"} <= set(topics)
    assert topics["tanker"] == "罐式车"
    assert rules.topic_of(" regulations ") == "regulations"
    with pytest.raises(InvalidValue) as e:
        rules.topic_of("cooking")
    assert e.value.code == "community.topic_unknown"


@pytest.mark.parametrize(("fn", "text", "code"), [
    (rules.clean_title, "  ", "community.title_required"),
    (rules.clean_title, "题" * 81, "community.title_too_long"),
    (rules.clean_body, "", "community.body_required"),
    (rules.clean_body, "字" * 5001, "community.body_too_long"),
    (rules.clean_reason, None, "community.reason_required"),
])
def test_empty_or_oversize_text_is_refused_with_its_code(fn, text, code):
    with pytest.raises(InvalidValue) as e:
        fn(text)

    assert e.value.code == code


def test_text_is_stored_trimmed():
    assert (rules.clean_title(" 呼吸阀漏油 "), rules.clean_body("\n怎么办？\n")) == ("呼吸阀漏油", "怎么办？")


def test_a_locked_or_hidden_post_takes_no_answers():
    rules.check_can_answer(_question())

    with pytest.raises(Conflict) as locked:
        rules.check_can_answer(_question(locked=True))
    with pytest.raises(Conflict) as hidden:
        rules.check_can_answer(_question(hidden=True))

    assert (locked.value.code, hidden.value.code) == ("community.post_locked", "community.post_hidden")


def test_the_asker_or_staff_accept_one_answer_and_nobody_else():
    rules.check_can_accept(_question(), _answer(), 10, False)
    rules.check_can_accept(_question(), _answer(), 99, True)
    rules.check_can_accept(_question(accepted_answer_id=5), _answer(), 10, False)  # the same again is fine

    with pytest.raises(PermissionDenied):
        rules.check_can_accept(_question(), _answer(), 20, False)
    with pytest.raises(Conflict) as second:
        rules.check_can_accept(_question(accepted_answer_id=4), _answer(), 10, False)
    with pytest.raises(Conflict) as not_question:
        rules.check_can_accept(_question(kind=PostKind.POST), _answer(), 10, False)
    with pytest.raises(InvalidValue):
        rules.check_can_accept(_question(), _answer(post_id=2), 10, False)
    assert (second.value.code, not_question.value.code) == ("community.already_accepted", "community.not_a_question")


def test_only_staff_moderate_and_hidden_content_shows_to_staff_only():
    rules.check_can_moderate(True)

    with pytest.raises(PermissionDenied) as e:
        rules.check_can_moderate(False)

    assert e.value.code == "community.staff_only"
    assert (rules.visible_to(True, True), rules.visible_to(True, False), rules.visible_to(False, False)) == (
        True, False, True)
