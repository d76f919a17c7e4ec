import datetime as dt

import pytest

from dealercrm.domain.errors import InvalidValue, NotFound
from dealercrm.domain.notifications import (
    TEMPLATES,
    Channel,
    MessageTemplate,
    Notification,
    NotificationStatus,
    TemplateRegistry,
    mask_recipient,
    render,
)

NOW = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)


def sample_values(template: MessageTemplate) -> dict[str, str]:
    return {name: f"值{name}" for name in template.variables}


def test_the_registry_has_every_template_the_system_needs():
    required = {
        "dealer.review_approved", "dealer.review_rejected", "approval.requested",
        "customer.birthday_greeting", "sales.birthday_call_reminder",
        "order.delivery_date_reminder", "receivable.dunning_level_1",
        "receivable.dunning_level_2", "receivable.dunning_level_3", "gate_pass.approved",
    }

    codes = {t.code for t in TEMPLATES}

    assert required <= codes


@pytest.mark.parametrize("template", list(TEMPLATES), ids=lambda t: t.code)
def test_every_template_renders_with_all_its_variables_and_leaves_no_placeholder(template):
    values = sample_values(template)

    message = render(template.code, values)

    assert message.channel is template.channel
    assert "{" not in message.body + message.subject
    for value in values.values():
        assert value in message.subject + message.body


@pytest.mark.parametrize("template", list(TEMPLATES), ids=lambda t: t.code)
def test_email_templates_have_a_subject_and_sms_templates_have_none(template):
    # ERP machine messages (channel erp) carry a subject too: it names the contract on the workbench
    assert bool(template.subject) is (template.channel is not Channel.SMS)


def test_approval_request_carries_the_approve_and_reject_links():
    template = TEMPLATES.get("approval.requested")
    values = sample_values(template) | {"approve_url": "https://crm.example/a/ok",
                                        "reject_url": "https://crm.example/a/no"}

    message = render("approval.requested", values)

    assert "同意：https://crm.example/a/ok" in message.body
    assert "驳回：https://crm.example/a/no" in message.body
    assert message.subject.startswith("审批待办")


def test_rendering_without_a_variable_names_the_missing_variable():
    values = sample_values(TEMPLATES.get("gate_pass.approved"))
    del values["vin"]

    with pytest.raises(InvalidValue) as err:
        render("gate_pass.approved", values)

    assert err.value.field == "variables.vin"
    assert err.value.code == "notify.template_variable_missing"
    assert "vin" in err.value.message


def test_rendering_with_an_unknown_variable_names_it():
    values = sample_values(TEMPLATES.get("gate_pass.approved")) | {"driver": "张三"}

    with pytest.raises(InvalidValue) as err:
        render("gate_pass.approved", values)

    assert err.value.field == "variables.driver"
    assert err.value.code == "notify.template_variable_unknown"


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_an_empty_value_counts_as_missing(empty):
    values = sample_values(TEMPLATES.get("customer.birthday_greeting")) | {"customer_name": empty}

    with pytest.raises(InvalidValue) as err:
        render("customer.birthday_greeting", values)

    assert err.value.code == "notify.template_variable_missing"
    assert err.value.field == "variables.customer_name"


def test_a_line_break_in_a_subject_variable_is_refused_as_header_injection():
    values = sample_values(TEMPLATES.get("dealer.review_rejected"))
    values["dealer_name"] = "某公司\r\nBcc: victim@example.com"

    with pytest.raises(InvalidValue) as err:
        render("dealer.review_rejected", values)

    assert err.value.code == "notify.template_variable_invalid"


def test_a_line_break_in_a_body_only_variable_is_kept():
    values = sample_values(TEMPLATES.get("dealer.review_rejected")) | {"reason": "资质过期\n营业执照不清晰"}

    message = render("dealer.review_rejected", values)

    assert "资质过期\n营业执照不清晰" in message.body


def test_values_are_not_interpreted_as_placeholders():
    values = sample_values(TEMPLATES.get("customer.birthday_greeting")) | {"customer_name": "{dealer_name}"}

    message = render("customer.birthday_greeting", values)

    assert "尊敬的{dealer_name}" in message.body


def test_an_unknown_template_code_is_not_found():
    with pytest.raises(NotFound) as err:
        render("nope", {})

    assert err.value.code == "notify.template_not_found"


def test_a_template_with_attribute_access_or_format_spec_is_refused_at_definition():
    with pytest.raises(ValueError):
        MessageTemplate("x", Channel.SMS, "", "{amount:.2f}")
    with pytest.raises(ValueError):
        MessageTemplate("y", Channel.SMS, "", "{user.__class__}")


def test_literal_braces_survive_rendering():
    registry = TemplateRegistry([MessageTemplate("t", Channel.SMS, "", "{{代码}} {code}")])

    assert registry.render("t", {"code": "123"}).body == "{代码} 123"


def test_sms_longer_than_the_limit_is_refused_at_render_time():
    values = sample_values(TEMPLATES.get("customer.birthday_greeting")) | {"customer_name": "长" * 600}

    with pytest.raises(InvalidValue) as err:
        render("customer.birthday_greeting", values)

    assert err.value.code == "notify.sms_too_long"


def test_a_new_notification_is_pending_and_due_now_with_a_normalised_phone():
    message = render("gate_pass.approved", sample_values(TEMPLATES.get("gate_pass.approved")))

    n = Notification.new(id="n1", idempotency_key="gp:1", message=message,
                         recipient="+86 138 0013 8000", now=NOW)

    assert n.status is NotificationStatus.PENDING
    assert n.recipient == "13800138000"
    assert n.attempts == 0
    assert n.next_attempt_at == NOW
    assert n.template_code == "gate_pass.approved"


def test_sms_to_a_landline_is_refused():
    message = render("gate_pass.approved", sample_values(TEMPLATES.get("gate_pass.approved")))

    with pytest.raises(InvalidValue) as err:
        Notification.new(id="n1", idempotency_key="k", message=message, recipient="010-12345678", now=NOW)

    assert err.value.code == "notify.recipient_not_mobile"


def test_email_to_a_malformed_address_is_refused():
    message = render("dealer.review_approved", sample_values(TEMPLATES.get("dealer.review_approved")))

    with pytest.raises(InvalidValue) as err:
        Notification.new(id="n1", idempotency_key="k", message=message, recipient="a@b, c@d.com", now=NOW)

    assert err.value.field == "recipient"


@pytest.mark.parametrize("key", ["", " ", "a\r\nb", "a b", "<id>", "催款:1", "x" * 201])
def test_an_idempotency_key_must_be_short_printable_ascii(key):
    message = render("gate_pass.approved", sample_values(TEMPLATES.get("gate_pass.approved")))

    with pytest.raises(InvalidValue) as err:
        Notification.new(id="n1", idempotency_key=key, message=message, recipient="13800138000", now=NOW)

    assert err.value.field == "idempotency_key"


@pytest.mark.parametrize("key", ["dunning:INV-0001:1", "gate-pass/GP-9?x=1&y=2", "k" * 200])
def test_typical_idempotency_keys_are_accepted(key):
    message = render("gate_pass.approved", sample_values(TEMPLATES.get("gate_pass.approved")))

    n = Notification.new(id="n1", idempotency_key=key, message=message, recipient="13800138000", now=NOW)

    assert n.idempotency_key == key


def test_recipients_are_masked_for_logs():
    assert mask_recipient("13812345678") == "138****5678"
    assert mask_recipient("zhang.san@example.com") == "z***@example.com"
