from datetime import date, datetime, timedelta, timezone

import pytest

from dealercrm.adapters.devices.sim.escpos_printer import EscposPrinterSimulator
from dealercrm.adapters.devices.sim.sam_reader import SamReaderSimulator
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
        valid_to=None,
    )


@pytest.fixture
def at():
    def make(hour: int, minute: int = 0) -> datetime:
        return datetime(2025, 3, 7, hour, minute, tzinfo=CST)

    return make


@pytest.fixture
def sam_sim(card):
    with SamReaderSimulator(card) as simulator:
        yield simulator


@pytest.fixture
def printer_sim():
    with EscposPrinterSimulator() as simulator:
        yield simulator
