from datetime import date

import attrs
import pytest

from dealercrm.adapters.devices import sam_protocol as p
from dealercrm.application.ports.devices import CardReadError


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (p.RESET_SAM, "0003 10 FF EC"),
        (p.SAM_STATUS, "0003 11 FF ED"),
        (p.READ_SAM_ID, "0003 12 FF EE"),
        (p.FIND_CARD, "0003 20 01 22"),
        (p.SELECT_CARD, "0003 20 02 21"),
        (p.READ_TEXT_PHOTO, "0003 30 01 32"),
    ],
)
def test_requests_match_the_documented_frames(command, expected):
    frame = p.build_request(*command)

    assert frame == p.PREAMBLE + bytes.fromhex(expected)


def test_responses_match_the_documented_frames():
    assert p.build_response(p.SW3_OK) == p.PREAMBLE + bytes.fromhex("0004 0000 90 94")
    assert p.build_response(p.SW3_CARD_FOUND, bytes(4)) == p.PREAMBLE + bytes.fromhex(
        "0008 0000 9F 00000000 97")
    assert p.build_response(p.SW3_OK, bytes(8)) == p.PREAMBLE + bytes.fromhex(
        "000C 0000 90 0000000000000000 9C")
    assert p.build_response(p.SW3_FIND_FAILED) == p.PREAMBLE + bytes.fromhex("0004 0000 80 84")


def test_read_response_is_1295_bytes_with_declared_lengths(card):
    frame = p.build_response(p.SW3_OK, p.build_read_payload(card))

    assert len(frame) == 1295
    assert frame[5:7] == bytes.fromhex("0508")
    assert frame[10:14] == bytes.fromhex("01000400")


def test_split_frame_skips_leading_garbage_and_waits_for_the_rest():
    frame = p.build_response(p.SW3_OK)
    buffer = b"\x00\xff" + frame

    partial, consumed_partial = p.split_frame(buffer[:-2])
    whole, consumed = p.split_frame(buffer)

    assert partial is None and consumed_partial == 2
    assert whole == frame[5:] and consumed == len(buffer)


def test_split_frame_keeps_a_partial_preamble():
    body, consumed = p.split_frame(b"\x01\x02\xaa\xaa")

    assert body is None
    assert consumed == 2


def test_response_with_bad_checksum_is_rejected():
    frame = bytearray(p.build_response(p.SW3_OK))
    frame[-1] ^= 0x01

    with pytest.raises(p.FrameChecksumError):
        p.parse_response(bytes(frame[5:]))


def test_request_with_bad_checksum_is_flagged():
    frame = bytearray(p.build_request(*p.FIND_CARD))
    frame[-1] ^= 0x01

    request = p.parse_request(bytes(frame[5:]))

    assert not request.checksum_ok
    assert (request.cmd, request.para) == p.FIND_CARD


@pytest.mark.parametrize(
    ("sw3", "code"),
    [(0x41, "device.id_card.read_failed"), (0x31, "device.id_card.card_auth_failed"),
     (0x60, "device.id_card.sam_self_test"), (0x10, "device.id_card.checksum"),
     (0xEE, "device.id_card.unknown_status")],
)
def test_status_codes_map_to_stable_error_codes(sw3, code):
    error = p.error_for_sw3(sw3, "read")

    assert isinstance(error, CardReadError)
    assert error.code == code
    assert error.sw3 == sw3


def test_text_block_round_trips_every_field(card):
    block = p.build_text_block(card)

    assert len(block) == 256
    assert p.parse_text_block(block) == card


def test_text_block_is_ucs2_little_endian_padded_with_spaces(card):
    block = p.build_text_block(card)

    assert block[0:4] == "张伟".encode("utf-16-le")
    assert block[4:30] == b"\x20\x00" * 13
    assert block[30:32] == b"1\x00"
    assert block[32:36] == "01".encode("utf-16-le")
    assert block[122:158] == "110105199003071239".encode("utf-16-le")


def test_lifelong_validity_reads_as_no_end_date(card):
    lifelong = attrs.evolve(card, valid_to=None)
    block = p.build_text_block(lifelong)

    parsed = p.parse_text_block(block)

    assert block[204:208] == "长期".encode("utf-16-le")
    assert parsed.valid_to is None


def test_gender_and_nation_codes_decode_to_labels(card):
    block = bytearray(p.build_text_block(card))
    block[30:32] = "2".encode("utf-16-le")
    block[32:36] = "46".encode("utf-16-le")

    parsed = p.parse_text_block(bytes(block))

    assert parsed.gender == "女"
    assert parsed.nation == "德昂"


def test_id_number_ending_in_x_is_accepted(card):
    block = p.build_text_block(attrs.evolve(card, id_number="11010519491231002X",
                                            birth_date=date(1949, 12, 31)))

    assert p.parse_text_block(block).id_number == "11010519491231002X"


def test_id_number_with_wrong_check_digit_is_a_read_error(card):
    block = p.build_text_block(attrs.evolve(card, id_number="110105199003071238"))

    with pytest.raises(CardReadError) as caught:
        p.parse_text_block(block)

    assert caught.value.code == "device.id_card.bad_id_number"


def test_garbled_date_is_a_read_error(card):
    block = bytearray(p.build_text_block(card))
    block[36:52] = "1990１３07".encode("utf-16-le")

    with pytest.raises(CardReadError) as caught:
        p.parse_text_block(bytes(block))

    assert caught.value.code == "device.id_card.bad_data"


def test_card_data_repr_masks_the_id_number_and_omits_the_name(card):
    text = repr(card)

    assert "110105199003071239" not in text
    assert "张伟" not in text
    assert "1101**********1239" in text


def test_a_length_field_below_4_is_a_typed_reader_error_not_a_value_error():
    frame = bytes.fromhex("AA AA AA 96 69 00 03 00 00 90")
    body, consumed = p.split_frame(frame)

    with pytest.raises(CardReadError) as caught:
        p.parse_response(body)

    assert consumed == len(frame)
    assert isinstance(caught.value, p.MalformedFrame)
    assert caught.value.code == "device.id_card.bad_length"
    assert not isinstance(caught.value, ValueError)


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x00\x00", b"\x00\x01\x90", b"\x00\x04\x00\x00\x90"])
def test_short_or_inconsistent_bodies_are_bad_length_errors(body):
    with pytest.raises(p.MalformedFrame) as caught:
        p.parse_response(body)

    assert caught.value.code == "device.id_card.bad_length"


def test_a_length_field_beyond_any_reply_is_rejected_without_waiting_for_it():
    with pytest.raises(p.MalformedFrame) as caught:
        p.split_frame(p.PREAMBLE + b"\xff\xf0\x00")

    assert caught.value.code == "device.id_card.bad_length"


def test_a_checksum_error_is_a_typed_reader_error():
    frame = bytearray(p.build_response(p.SW3_OK))
    frame[-1] ^= 0x01

    with pytest.raises(CardReadError) as caught:
        p.parse_response(bytes(frame[5:]))

    assert caught.value.code == "device.id_card.checksum"
