import pytest

from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.printing import (
    Cut,
    KeyValue,
    QrCode,
    Text,
    Title,
    display_width,
    layout_gate_pass,
    plain_text,
)

VINS = ["LFV2A21K8N3000001", "LFV2A21K8N3000002"]


def gate_pass(at, **overrides):
    args = dict(pass_no="GP-20250307-0001", person_name="张伟", vins=VINS, valid_from=at(8),
                valid_to=at(18), qr_payload="token.sig", issued_at=at(7, 55))
    args.update(overrides)
    return layout_gate_pass(**args)


def test_gate_pass_starts_with_a_large_bold_centred_title(at):
    document = gate_pass(at)

    title = document.lines[0]
    assert isinstance(title, Title)
    assert title.text == "出门证"
    assert title.bold and title.double_size


def test_gate_pass_lists_every_vin_on_its_own_line(at):
    lines = plain_text(gate_pass(at))

    assert "车架号（共 2 台）：" in lines
    assert all(vin in lines for vin in VINS)


def test_gate_pass_prints_validity_in_the_given_time_zone(at):
    lines = plain_text(gate_pass(at))

    assert "有效期自：2025-03-07 08:00" in lines
    assert "有效期至：2025-03-07 18:00" in lines
    assert "签发时间：2025-03-07 07:55" in lines


def test_gate_pass_carries_one_qr_code_and_ends_with_a_cut(at):
    document = gate_pass(at)

    assert document.qr_payloads == ["token.sig"]
    assert isinstance(document.lines[-1], Cut)
    assert document.cuts == 1


def test_gate_pass_shows_the_person_and_pass_number(at):
    document = gate_pass(at)

    kvs = {line.key: line.value for line in document.lines if isinstance(line, KeyValue)}
    assert kvs["证号"] == "GP-20250307-0001"
    assert kvs["提车人"] == "张伟"


def test_gate_pass_without_vehicles_is_refused(at):
    with pytest.raises(InvalidValue) as caught:
        gate_pass(at, vins=[])

    assert caught.value.code == "gate_pass.no_vehicle"


def test_gate_pass_ending_before_it_starts_is_refused(at):
    with pytest.raises(InvalidValue) as caught:
        gate_pass(at, valid_to=at(7))

    assert caught.value.code == "gate_pass.validity"


def test_gate_pass_with_naive_times_is_refused(at):
    with pytest.raises(InvalidValue) as caught:
        gate_pass(at, issued_at=at(7).replace(tzinfo=None))

    assert caught.value.code == "gate_pass.naive_time"


def test_empty_qr_code_is_refused():
    with pytest.raises(InvalidValue):
        QrCode("")


def test_separators_fill_the_paper_width(at):
    lines = plain_text(gate_pass(at))

    assert "=" * 32 in lines
    assert "-" * 32 in lines


def test_cjk_characters_take_two_printer_columns():
    assert display_width("出门证 A1") == 9
    assert display_width("：") == 2


def test_plain_text_skips_qr_codes_and_cuts():
    from dealercrm.domain.printing import PrintDocument

    document = PrintDocument([Text("a"), QrCode("x"), Cut(), Text("b")])

    assert plain_text(document) == ["a", "b"]
