from datetime import date, datetime, timedelta, timezone

import pytest

from dealercrm.application.ports.devices import IdCardData

CST = timezone(timedelta(hours=8))


@pytest.fixture
def card() -> IdCardData:
    return IdCardData(
        name="张伟",
        gender="男",
        nation="汉",
        birth_date=date(1990, 3, 7),
        address="北京市朝阳区建国路88号院3号楼1单元1201室",
        id_number="110105199003071239",
        issuing_authority="北京市公安局朝阳分局",
        valid_from=date(2020, 5, 1),
        valid_to=date(2040, 5, 1),
    )


@pytest.fixture
def at():
    def make(hour: int, minute: int = 0, day: int = 7) -> datetime:
        return datetime(2025, 3, day, hour, minute, tzinfo=CST)

    return make
