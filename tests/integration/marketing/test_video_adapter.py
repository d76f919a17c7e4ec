"""The HTTP video conferencing adapter against the simulator over 127.0.0.1: signed requests,
idempotent creates, cancel, participants, a provider 4xx, our credentials refused, a timeout."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.adapters.video.http import HttpVideoConferencing
from dealercrm.adapters.video.simulator import VideoSimulator
from dealercrm.application.ports.video import MeetingRequest, VideoProviderError

START = dt.datetime(2030, 5, 6, 2, 0, tzinfo=dt.UTC)


def request(key: str = "dealercrm-training-TR-2030-000001", subject: str = "新款罐式车产品培训") -> MeetingRequest:
    return MeetingRequest(subject=subject, starts_at=START, ends_at=START + dt.timedelta(hours=2), host="市场部",
                          idempotency_key=key)


@pytest.fixture
def sim():
    with VideoSimulator(app_id="crm", secret="s3cret-key") as s:
        yield s


@pytest.fixture
def client(sim):
    with HttpVideoConferencing(sim.base_url, "crm", "s3cret-key", timeout=0.5) as c:
        yield c


def test_create_returns_a_join_url_and_the_same_meeting_for_the_same_key(sim, client):
    first = client.create_meeting(request())
    again = client.create_meeting(request())

    assert first.meeting_id.startswith("sim-")
    assert first.join_url.startswith("https://meeting.example.test/j/")
    assert first.passcode and len(first.passcode) == 6
    assert again == first
    assert len(sim.meetings) == 1
    stored = sim.meetings[first.meeting_id]
    assert (stored["subject"], stored["start_time"]) == ("新款罐式车产品培训", int(START.timestamp()))


def test_cancel_marks_the_meeting_cancelled_and_an_unknown_meeting_counts_as_cancelled(sim, client):
    meeting = client.create_meeting(request())

    client.cancel_meeting(meeting.meeting_id)
    client.cancel_meeting("sim-does-not-exist")

    assert sim.meetings[meeting.meeting_id]["status"] == "cancelled"
    assert sim.live_meetings() == []


def test_participants_after_the_fact(sim, client):
    meeting = client.create_meeting(request())
    joined = int(START.timestamp()) + 60
    sim.add_participant(meeting.meeting_id, "王建国", joined, joined + 3600)

    people = client.participants(meeting.meeting_id)

    assert [(p.name, p.joined_at, p.left_at) for p in people] == [
        ("王建国", START + dt.timedelta(seconds=60), START + dt.timedelta(seconds=3660))]


def test_a_provider_4xx_is_permanent_with_the_providers_reason(sim, client):
    with pytest.raises(VideoProviderError) as err:
        client.create_meeting(request(subject=" "))

    assert err.value.transient is False
    assert err.value.status == 400
    assert "invalid_param" in err.value.message
    assert sim.meetings == {}


def test_a_5xx_and_a_429_are_transient(sim, client):
    sim.fail_next(503, "maintenance", "维护中")
    sim.fail_next(429, "too_many_requests", "slow down")

    errors = []
    for _ in range(2):
        with pytest.raises(VideoProviderError) as err:
            client.create_meeting(request())
        errors.append(err.value)

    assert [(e.transient, e.status) for e in errors] == [(True, 503), (True, 429)]
    assert client.create_meeting(request()).meeting_id in sim.meetings


def test_wrong_credentials_are_refused_and_reported_as_a_configuration_problem(sim):
    with HttpVideoConferencing(sim.base_url, "crm", "wrong-secret", timeout=0.5) as bad:
        with pytest.raises(VideoProviderError) as err:
            bad.create_meeting(request())

    assert (err.value.transient, err.value.code, err.value.status) == (True, "video.auth_failed", 401)
    assert "invalid_signature" in err.value.message
    assert sim.meetings == {}


def test_a_timeout_is_transient_and_the_retry_gets_the_meeting_the_provider_made(sim, client):
    sim.delay_next(1.5)

    with pytest.raises(VideoProviderError) as err:
        client.create_meeting(request())
    retried = client.create_meeting(request())

    assert (err.value.transient, err.value.code) == (True, "video.timeout")
    assert retried.meeting_id in sim.meetings


def test_an_unreachable_provider_is_transient():
    with VideoSimulator() as gone:
        url = gone.base_url
    with HttpVideoConferencing(url, "video-sim", "video-sim-secret", timeout=0.5) as c:
        with pytest.raises(VideoProviderError) as err:
            c.create_meeting(request())

    assert (err.value.transient, err.value.code) == (True, "video.unreachable")


def test_a_garbled_answer_is_a_transient_error_not_a_crash():
    import httpx

    def garbled(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"meeting_code": "1"})
        return httpx.Response(200, json={"participants": [{"name": "x", "join_time": "soon"}]})

    with HttpVideoConferencing("http://provider.test", "crm", "s", client=httpx.Client(
            transport=httpx.MockTransport(garbled))) as bad:
        with pytest.raises(VideoProviderError) as created:
            bad.create_meeting(request())
        with pytest.raises(VideoProviderError) as listed:
            bad.participants("m1")

    assert (created.value.transient, created.value.code) == (True, "video.bad_response")
    assert (listed.value.transient, listed.value.code) == (True, "video.bad_response")
