import datetime as dt

import pytest

from dealercrm.adapters.notify.memory import InMemoryOutboxStore, RecordingEmailSender, RecordingSmsSender


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC))


@pytest.fixture
def store() -> InMemoryOutboxStore:
    return InMemoryOutboxStore()


@pytest.fixture
def email() -> RecordingEmailSender:
    return RecordingEmailSender()


@pytest.fixture
def sms() -> RecordingSmsSender:
    return RecordingSmsSender()
