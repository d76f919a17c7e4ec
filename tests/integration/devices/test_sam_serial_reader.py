"""The real pyserial adapter against the GA/T 467 simulator on a pseudo-terminal."""

import json
import os
import threading

import pytest

from dealercrm.adapters.devices import sam_protocol as p
from dealercrm.adapters.devices.sam_serial import SamSerialIdCardReader
from dealercrm.adapters.devices.sim.sam_reader import SamReaderSimulator, load_cards
from dealercrm.application.ports.devices import CardReadError, DeviceError, DeviceTimeout

pytestmark = pytest.mark.devices


def test_simulator_exposes_a_tty_device_path(sam_sim):
    fd = os.open(sam_sim.path, os.O_RDWR | os.O_NOCTTY)
    try:
        is_tty = os.isatty(fd)
    finally:
        os.close(fd)

    assert sam_sim.path.startswith("/dev/pts/")
    assert is_tty


def test_reader_reads_the_card_with_find_select_read(sam_sim, card):
    with SamSerialIdCardReader(sam_sim.path, timeout=0.5) as reader:
        result = reader.read()

    assert result == card
    assert [(r.cmd, r.para) for r in sam_sim.requests] == [p.FIND_CARD, p.SELECT_CARD,
                                                            p.READ_TEXT_PHOTO]
    assert all(r.checksum_ok for r in sam_sim.requests)


def test_reader_reports_no_card_as_none(sam_sim):
    sam_sim.remove_card()

    with SamSerialIdCardReader(sam_sim.path, timeout=0.5) as reader:
        assert reader.read() is None


def test_lifelong_card_reads_with_no_end_date(sam_sim, card):
    with SamSerialIdCardReader(sam_sim.path, timeout=0.5) as reader:
        assert reader.read().valid_to is None


def test_reader_reads_a_card_placed_between_polls(sam_sim, card):
    sam_sim.remove_card()
    placed = threading.Timer(0.4, sam_sim.insert_card, args=(card,))

    with SamSerialIdCardReader(sam_sim.path, timeout=0.5) as reader:
        placed.start()
        try:
            result = reader.poll(timeout=5.0)
        finally:
            placed.cancel()

    assert result == card


def test_poll_gives_up_after_its_timeout_without_a_card(sam_sim):
    sam_sim.remove_card()

    with SamSerialIdCardReader(sam_sim.path, timeout=0.5) as reader:
        assert reader.poll(timeout=0.5) is None


def test_one_corrupt_response_is_retried_transparently(sam_sim, card):
    sam_sim.corrupt_next(1)

    with SamSerialIdCardReader(sam_sim.path, timeout=0.5, retries=2) as reader:
        result = reader.read()

    assert result == card
    assert len(sam_sim.requests) == 4  # find twice, then select and read


def test_persistently_corrupt_responses_raise_a_checksum_error(sam_sim):
    sam_sim.corrupt_next(10)

    with SamSerialIdCardReader(sam_sim.path, timeout=0.5, retries=1) as reader:
        with pytest.raises(CardReadError) as caught:
            reader.read()

    assert caught.value.code == "device.id_card.checksum"


def test_a_lost_response_is_retried(sam_sim, card):
    sam_sim.silence_next(1)

    with SamSerialIdCardReader(sam_sim.path, timeout=0.3, retries=1) as reader:
        assert reader.read() == card


def test_a_silent_reader_raises_a_timeout(sam_sim):
    sam_sim.silent = True

    with SamSerialIdCardReader(sam_sim.path, timeout=0.2, retries=1) as reader:
        with pytest.raises(DeviceTimeout) as caught:
            reader.read()

    assert caught.value.code == "device.timeout"


def test_read_failure_status_becomes_a_typed_error(sam_sim):
    sam_sim.fail_read_next(1, sw3=0x41)

    with SamSerialIdCardReader(sam_sim.path, timeout=0.5) as reader:
        with pytest.raises(CardReadError) as caught:
            reader.read()

    assert caught.value.code == "device.id_card.read_failed"
    assert caught.value.sw3 == 0x41


def test_authentication_failure_status_becomes_a_typed_error(sam_sim):
    sam_sim.fail_read_next(1, sw3=0x31)

    with SamSerialIdCardReader(sam_sim.path, timeout=0.5) as reader:
        with pytest.raises(CardReadError) as caught:
            reader.read()

    assert caught.value.code == "device.id_card.card_auth_failed"


def test_simulator_answers_a_bad_request_checksum_with_status_10(sam_sim):
    import serial

    frame = bytearray(p.build_request(*p.FIND_CARD))
    frame[-1] ^= 0xFF
    with serial.Serial(sam_sim.path, 115200, timeout=0.5) as port:
        port.write(bytes(frame))
        answer = port.read(11)

    assert answer == p.build_response(p.SW3_CHECKSUM)


def test_reader_reads_at_wire_speed(card):
    with SamReaderSimulator(card, wire_delay=True) as simulator:
        with SamSerialIdCardReader(simulator.path, timeout=1.0) as reader:
            assert reader.read() == card


def test_opening_a_missing_port_is_a_device_error():
    with pytest.raises(DeviceError) as caught:
        SamSerialIdCardReader("/dev/ttyNOPE-dealercrm").open()

    assert caught.value.code == "device.id_card.unavailable"


def test_reader_reopens_after_close(sam_sim, card):
    reader = SamSerialIdCardReader(sam_sim.path, timeout=0.5)

    with reader:
        first = reader.read()
    with reader:
        second = reader.read()

    assert first == second == card


def test_cards_load_from_json_and_toml(tmp_path, card):
    raw = {"name": "李娜", "gender": "女", "nation": "回", "birth_date": "1949-12-31",
           "address": "北京市西城区", "id_number": "11010519491231002X",
           "issuing_authority": "北京市公安局西城分局", "valid_from": "2010-01-01",
           "valid_to": "长期"}
    (tmp_path / "cards.json").write_text(json.dumps({"cards": [raw]}, ensure_ascii=False),
                                         encoding="utf-8")
    toml_lines = ["[[cards]]"] + [f'{k} = "{v}"' for k, v in raw.items()]
    (tmp_path / "cards.toml").write_text("\n".join(toml_lines), encoding="utf-8")

    from_json = load_cards(tmp_path / "cards.json")
    from_toml = load_cards(tmp_path / "cards.toml")

    assert from_json == from_toml
    assert from_json[0].valid_to is None and from_json[0].gender == "女"
    with SamReaderSimulator(from_json[0]) as simulator:
        with SamSerialIdCardReader(simulator.path, timeout=0.5) as reader:
            assert reader.read() == from_json[0]


SHORT_LENGTH = bytes.fromhex("AA AA AA 96 69 00 03 00 00 90")


def test_the_simulator_sends_the_short_length_frame_byte_for_byte(sam_sim):
    import serial

    sam_sim.malform_next(1, "short_length")
    with serial.Serial(sam_sim.path, 115200, timeout=0.5) as port:
        port.write(p.build_request(*p.FIND_CARD))
        answer = port.read(len(SHORT_LENGTH))

    assert answer == SHORT_LENGTH


@pytest.mark.parametrize("command", [p.FIND_CARD, p.SELECT_CARD, p.READ_TEXT_PHOTO],
                         ids=["idle-poll", "select", "mid-read"])
@pytest.mark.parametrize(("kind", "code"), [("short_length", "device.id_card.bad_length"),
                                            ("noise", "device.id_card.garbled_frame"),
                                            ("cut", "device.id_card.truncated_frame")])
def test_persistently_malformed_replies_become_typed_reader_errors(sam_sim, card, command, kind, code):
    sam_sim.malform_next(3, kind, on=command)

    with SamSerialIdCardReader(sam_sim.path, timeout=0.2, retries=2) as reader:
        with pytest.raises(CardReadError) as caught:
            reader.read()
        again = reader.read()

    assert caught.value.code == code
    assert sam_sim.malformed_sent == 3
    assert again == card


@pytest.mark.parametrize("kind", ["short_length", "noise", "noisy", "cut"])
def test_one_malformed_reply_mid_read_is_retried_transparently(card, kind):
    with SamReaderSimulator(card, wire_delay=True) as simulator:
        simulator.malform_next(1, kind, on=p.READ_TEXT_PHOTO)
        with SamSerialIdCardReader(simulator.path, timeout=0.3, retries=2) as reader:
            assert reader.read() == card
