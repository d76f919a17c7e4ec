"""Templates: content rules, configuration checks with Chinese messages naming options[i],
and versioning (publish freezes, revise never touches a published version, retire)."""

import datetime as dt

import attrs
import pytest

from dealercrm.domain.catalog import (
    Option,
    OptionGroup,
    SpecField,
    TemplateContent,
    TemplateStatus,
    VehicleTemplate,
)
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.values import Money

T0 = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)


def _problem(exc_info):
    e = exc_info.value
    return e.field, e.code, e.message


# --- content rules ------------------------------------------------------------------------------


def _group(*options, code="g", mode="single", required=False):
    return OptionGroup(code, "组", mode, required, options)


@pytest.mark.parametrize(
    ("groups", "field", "code"),
    [
        ((_group(Option("A", "甲", Money(0)), Option("A", "乙", Money(0))),), "option_groups[0].options[1].code",
         "catalog.option_code_duplicate"),
        ((_group(Option("A", "甲", Money(0)), code="g"), _group(Option("B", "乙", Money(0)), code="g")),
         "option_groups[1].code", "catalog.group_code_duplicate"),
        ((_group(Option("A", "甲", Money(0), requires=("NOPE",))),), "option_groups[0].options[0].requires",
         "catalog.rule_unknown_option"),
        ((_group(Option("A", "甲", Money(0), excludes=("A",))),), "option_groups[0].options[0].excludes",
         "catalog.rule_self"),
        ((_group(Option("A", "甲", Money(0))),
          _group(Option("B", "乙", Money(0), requires=("A",), excludes=("A",)), code="h")),
         "option_groups[1].options[0].excludes", "catalog.rule_contradiction"),
        ((_group(Option("A", "甲", Money(0), requires=("B",)), Option("B", "乙", Money(0))),),
         "option_groups[0].options[0].requires", "catalog.rule_unsatisfiable"),
    ],
)
def test_inconsistent_template_contents_are_refused_naming_the_path(groups, field, code):
    with pytest.raises(InvalidValue) as err:
        TemplateContent("测试车型", Money(100_00), option_groups=groups)

    assert err.value.field == field
    assert err.value.code == code


def test_requiring_a_sibling_is_fine_in_a_multiple_choice_group():
    content = TemplateContent("测试车型", Money(100_00), option_groups=(
        _group(Option("A", "甲", Money(0), requires=("B",)), Option("B", "乙", Money(0)), mode="multiple"),))

    assert content.configure(["A", "B"]).options == ("A", "B")


def test_spec_fields_are_typed():
    with pytest.raises(InvalidValue) as err:
        SpecField("tank_volume", "罐体容积", "四十", "m³", "number")

    assert err.value.code == "catalog.spec_not_number"
    assert SpecField("material", "材质", "铝合金").kind.value == "text"


def test_a_base_price_must_be_positive(make_content):
    with pytest.raises(InvalidValue) as err:
        make_content(base_fen=0)

    assert err.value.field == "base_price_fen"


# --- configuration --------------------------------------------------------------------------------


def test_a_valid_selection_keeps_the_order_chosen_and_is_not_special(content, standard):
    configuration = content.configure([*standard, "GPS", "VAPOR"])

    assert configuration.options == (*standard, "GPS", "VAPOR")
    assert configuration.special is False


def test_an_unknown_option_is_named_by_its_index(content, standard):
    with pytest.raises(InvalidValue) as err:
        content.configure([*standard, "NITRO"])

    assert _problem(err)[:2] == ("options[4]", "order.option_unknown")
    assert "NITRO" in err.value.message


def test_two_choices_in_a_single_choice_group_name_both_options(content, standard):
    with pytest.raises(InvalidValue) as err:
        content.configure([*standard, "AXLE-BPW"])

    field, code, message = _problem(err)
    assert (field, code) == ("options[4]", "order.option_group_single")
    assert message == "「车轴」为单选，不能同时选择「富华 13T 三轴」和「BPW 13T 三轴」"


def test_a_missing_required_group_is_named(content):
    with pytest.raises(InvalidValue) as err:
        content.configure(["AXLE-FUWA", "SUSP-MECH", "ABS"])

    assert _problem(err) == ("options", "order.option_group_required", "必选项「罐体板材」未选择")


def test_a_requires_rule_names_both_options(content):
    with pytest.raises(InvalidValue) as err:
        content.configure(["AXLE-FUWA", "SUSP-AIR", "ABS", "TANK-5182"])

    assert _problem(err) == ("options[1]", "order.option_requires", "选择「空气悬挂」须同时选择「WABCO EBS」")


def test_an_excludes_rule_is_reported_once_naming_the_later_option(content):
    with pytest.raises(InvalidValue) as err:
        content.configure(["AXLE-FUWA", "SUSP-MECH", "ABS", "TANK-6MM", "COMP-6"])

    assert _problem(err) == ("options[4]", "order.option_excludes",
                             "「5083 加厚板 6mm」与「6 仓」互斥，不能同时选择")
    assert len(err.value.details["errors"]) == 1


def test_every_problem_is_listed_not_only_the_first(content):
    with pytest.raises(InvalidValue) as err:
        content.configure(["SUSP-AIR", "SUSP-MECH", "X"])

    codes = [e["code"] for e in err.value.details["errors"]]
    assert codes[0] == "order.option_group_single"
    assert {"order.option_unknown", "order.option_requires", "order.option_group_required"} <= set(codes)


def test_a_duplicate_option_is_refused(content, standard):
    with pytest.raises(InvalidValue) as err:
        content.configure([*standard, "GPS", "GPS"])

    assert _problem(err)[:2] == ("options[5]", "order.option_duplicate")


def test_a_special_option_or_template_makes_the_configuration_special(content, standard, make_content):
    assert content.configure([*standard, "LIVERY"]).special is True
    assert make_content(special=True).configure(list(standard)).special is True


# --- versioning -------------------------------------------------------------------------------


@pytest.fixture
def template(content):
    t = VehicleTemplate(model_code="HTL9400GYY", product_line="tanker", draft=content, created_at=T0)
    t.id = 7
    return t


def test_publishing_freezes_the_draft_as_the_next_version(template, content):
    v1 = template.publish(T0, "technical")

    assert (v1.template_id, v1.version, v1.content) == (7, 1, content)
    assert template.status is TemplateStatus.ACTIVE and template.is_orderable
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        v1.content = None  # type: ignore[misc]


def test_revising_after_publishing_never_changes_the_published_version(template, content, make_content):
    v1 = template.publish(T0, "technical")
    dearer = make_content(base_fen=241_000_00)

    template.revise(dearer, T0)
    v2 = template.publish(T0, "technical")

    assert v1.content.base_price == Money(238_000_00)
    assert (v2.version, v2.content.base_price) == (2, Money(241_000_00))
    assert template.latest_version == 2


def test_publishing_without_changes_is_a_conflict(template, content):
    template.publish(T0, "technical")
    template.revise(content, T0)  # identical: no change recorded

    with pytest.raises(Conflict) as err:
        template.publish(T0, "technical")

    assert err.value.code == "catalog.nothing_to_publish"


def test_a_retired_template_can_be_neither_revised_nor_published(template, make_content):
    template.publish(T0, "technical")
    template.retire(T0)

    with pytest.raises(IllegalTransition):
        template.revise(make_content(base_fen=1_00), T0)
    with pytest.raises(IllegalTransition):
        template.publish(T0, "technical")
    with pytest.raises(IllegalTransition) as err:
        template.retire(T0)
    assert err.value.current_state == "retired"
    assert not template.is_orderable


def test_an_unpublished_template_cannot_be_retired_and_is_not_orderable(template):
    assert not template.is_orderable
    with pytest.raises(IllegalTransition):
        template.retire(T0)


def test_model_codes_are_checked(content):
    with pytest.raises(InvalidValue) as err:
        VehicleTemplate(model_code="htl 9400", product_line="tanker", draft=content)

    assert err.value.field == "model_code"
