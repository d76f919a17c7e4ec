"""Device simulators that speak the real wire protocols (pty serial, TCP ESC/POS, vpcd).

``start_all_simulators()`` runs the SAM reader on a pty and the ESC/POS printer on an
ephemeral TCP port, and — when asked and the machine has pcscd + vsmartcard-vpcd — pcscd with
a virtual badge, for ``edge-agent devices --simulate`` and demos.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date

import attrs

from dealercrm.adapters.devices.sim.escpos_printer import EscposPrinterSimulator
from dealercrm.adapters.devices.sim.sam_reader import SamReaderSimulator
from dealercrm.application.ports.devices import IdCardData

DEMO_CARD = IdCardData(
    name="张伟",
    gender="男",
    nation="汉",
    birth_date=date(1990, 3, 7),
    address="北京市朝阳区建国路88号",
    id_number="110105199003071239",
    issuing_authority="北京市公安局朝阳分局",
    valid_from=date(2020, 5, 1),
    valid_to=None,
)
DEMO_BADGE_UID = bytes.fromhex("04A1B2C3D4E5F6")


@attrs.define
class RunningSimulators:
    reader: SamReaderSimulator
    printer: EscposPrinterSimulator
    badge: object | None = None  # VirtualBadge when PC/SC was asked for
    pcsc_reader_name: str | None = None

    @property
    def reader_path(self) -> str:
        return self.reader.path

    @property
    def printer_address(self) -> tuple[str, int]:
        return self.printer.host, self.printer.port


@contextlib.contextmanager
def start_all_simulators(cards: Sequence[IdCardData] = (DEMO_CARD,), *, wire_delay: bool = True,
                         with_pcsc: bool = False,
                         badge_uid: bytes = DEMO_BADGE_UID) -> Iterator[RunningSimulators]:
    """Start the simulators, yield where they are, stop them all on exit."""
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(
            SamReaderSimulator(cards[0] if cards else None, wire_delay=wire_delay))
        printer = stack.enter_context(EscposPrinterSimulator())
        running = RunningSimulators(reader=reader, printer=printer)
        if with_pcsc:
            from dealercrm.adapters.devices.sim.vpcd_card import Pcscd, VirtualBadge

            stack.enter_context(Pcscd())
            running.badge = stack.enter_context(VirtualBadge(badge_uid))
            running.pcsc_reader_name = "Virtual PCD 00 00"
        yield running
