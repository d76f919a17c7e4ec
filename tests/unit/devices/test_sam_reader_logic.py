"""The serial adapter's retry and pacing logic against a scripted in-memory port."""

import pytest

from dealercrm.adapters.devices import sam_protocol as p
from dealercrm.adapters.devices.sam_serial import SamSerialIdCardReader
from dealercrm.application.ports.devices import CardReadError, DeviceTimeout


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedPort:
    """Answers each request with the next scripted response (``None`` = silence)."""

    def __init__(self, clock: FakeClock, responder) -> None:
        self.clock = clock
        self.responder = responder
        self.pending = bytearray()
        self.writes: list[tuple[float, bytes]] = []
        self.flushes = 0

    @property
    def in_waiting(self) -> int:
        return len(self.pending)

    def write(self, data: bytes) -> int:
        self.writes.append((self.clock.now, data))
        answer = self.responder(p.parse_request(data[5:]))
        if answer is not None:
            self.pending.extend(answer)
        return len(data)

    def read(self, n: int) -> bytes:
        if not self.pending:
            self.clock.now += 0.05  # a pyserial read timing out
            return b""
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out

    def reset_input_buffer(self) -> None:
        self.flushes += 1
        self.pending.clear()

    def close(self) -> None:
        pass


def make_reader(responder, retries: int = 2):
    clock = FakeClock()
    reader = SamSerialIdCardReader("/dev/fake", timeout=0.5, retries=retries, clock=clock,
                                   sleep=clock.sleep)
    port = ScriptedPort(clock, responder)
    reader._serial = port
    return reader, port, clock


def no_card(request):
    return p.build_response(p.SW3_FIND_FAILED)


def test_consecutive_reads_send_find_commands_at_least_300_ms_apart():
    reader, port, _ = make_reader(no_card)

    for _ in range(4):
        reader.read()

    times = [t for t, _ in port.writes]
    assert all(later - earlier >= 0.3 - 1e-9 for earlier, later in zip(times, times[1:]))


def test_poll_never_uses_an_interval_below_300_ms():
    reader, port, _ = make_reader(no_card)

    result = reader.poll(timeout=2.0, interval=0.01)

    times = [t for t, _ in port.writes]
    assert result is None
    assert len(times) >= 3
    assert all(later - earlier >= 0.3 - 1e-9 for earlier, later in zip(times, times[1:]))


def test_poll_returns_the_card_once_one_is_placed(card):
    calls = {"find": 0}

    def responder(request):
        command = (request.cmd, request.para)
        if command == p.FIND_CARD:
            calls["find"] += 1
            if calls["find"] < 3:
                return p.build_response(p.SW3_FIND_FAILED)
            return p.build_response(p.SW3_CARD_FOUND, bytes(4))
        if command == p.SELECT_CARD:
            return p.build_response(p.SW3_OK, bytes(8))
        return p.build_response(p.SW3_OK, p.build_read_payload(card))

    reader, _, _ = make_reader(responder)

    assert reader.poll(timeout=5.0) == card
    assert calls["find"] == 3


def test_a_corrupt_response_is_retried_after_flushing_input():
    answers = [p.build_response(p.SW3_FIND_FAILED)[:-1] + b"\x00", p.build_response(p.SW3_FIND_FAILED)]
    reader, port, _ = make_reader(lambda request: answers.pop(0))

    assert reader.read() is None
    assert port.flushes == 1
    assert len(port.writes) == 2


def test_reader_reported_checksum_error_is_retried_then_raised():
    reader, port, _ = make_reader(lambda request: p.build_response(p.SW3_CHECKSUM), retries=1)

    with pytest.raises(CardReadError) as caught:
        reader.read()

    assert caught.value.code == "device.id_card.checksum"
    assert len(port.writes) == 2


def test_silent_reader_times_out_after_retries():
    reader, port, _ = make_reader(lambda request: None, retries=2)

    with pytest.raises(DeviceTimeout):
        reader.read()

    assert len(port.writes) == 3


SHORT_LENGTH = bytes.fromhex("AA AA AA 96 69 00 03 00 00 90")


def test_a_short_length_reply_is_retried_then_raised_as_a_typed_error():
    reader, port, _ = make_reader(lambda request: SHORT_LENGTH, retries=2)

    with pytest.raises(CardReadError) as caught:
        reader.read()

    assert caught.value.code == "device.id_card.bad_length"
    assert len(port.writes) == 3 and port.flushes == 2


def test_one_short_length_reply_is_retried_transparently():
    answers = [SHORT_LENGTH, p.build_response(p.SW3_FIND_FAILED)]
    reader, port, _ = make_reader(lambda request: answers.pop(0))

    assert reader.read() is None
    assert len(port.writes) == 2


def test_noise_instead_of_a_reply_is_a_garbled_frame_error():
    reader, _, _ = make_reader(lambda request: b"\x01\x02\x03\x55\x96\x69\x00", retries=1)

    with pytest.raises(CardReadError) as caught:
        reader.read()

    assert caught.value.code == "device.id_card.garbled_frame"


def test_noise_before_a_good_reply_is_skipped():
    reader, port, _ = make_reader(lambda request: b"\x13\x37\xaa" + p.build_response(p.SW3_FIND_FAILED))

    assert reader.read() is None
    assert len(port.writes) == 1


def test_a_reply_cut_off_mid_transfer_is_a_truncated_frame_error():
    reader, _, _ = make_reader(lambda request: p.build_response(p.SW3_FIND_FAILED)[:8], retries=1)

    with pytest.raises(CardReadError) as caught:
        reader.read()

    assert caught.value.code == "device.id_card.truncated_frame"


def test_a_reply_cut_inside_the_preamble_is_a_truncated_frame_error():
    reader, _, _ = make_reader(lambda request: b"\xaa\xaa", retries=0)

    with pytest.raises(CardReadError) as caught:
        reader.read()

    assert caught.value.code == "device.id_card.truncated_frame"
