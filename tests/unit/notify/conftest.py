import datetime as dt

import pytest

from dealercrm.adapters.notify.memory import InMemoryOutboxStore, RecordingEmailSender, RecordingSmsSender
from tests.fakes import FakeClock


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
