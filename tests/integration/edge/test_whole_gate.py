"""The whole gate on simulators against a real ``dealercrm serve``: the demo card is tapped on
the SAM reader (pty, 115200-baud wire delay) → the kiosk prints on the network ESC/POS
printer → the decoded slip names the person and carries a QR that verifies with the published
key → the guard scans it → the exit is confirmed on the server and the vehicles are released.
Then the same with the server down during the scan: journaled, replayed when it is back,
exactly one exit."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from dealercrm.adapters.devices.escpos_printer import EscposReceiptPrinter
from dealercrm.adapters.devices.sam_serial import SamSerialIdCardReader
from dealercrm.adapters.devices.sim import DEMO_CARD
from edge_agent.guard import Guard, KeyRing, Link, Replayer
from edge_agent.journal import Journal
from edge_agent.kiosk import Kiosk
from edge_agent.server import KioskServer

from .conftest import wait_for

pytestmark = pytest.mark.devices


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_card_to_printed_pass_to_exit(gate_world, make_server, sam_reader, printer_sim, tmp_path):
    [(pass_no, vins)] = gate_world.passes(1, per_pass=2)
    server = make_server(gate_world)
    api = KioskServer(server.url, gate_world.device_key)
    journal = Journal(tmp_path / "agent" / "journal.db")
    stop = threading.Event()
    with SamSerialIdCardReader(sam_reader.path) as reader:
        kiosk = Kiosk(reader, EscposReceiptPrinter.network(printer_sim.host, printer_sim.port, status_timeout=0.5),
                      api, journal)
        loop = threading.Thread(target=kiosk.run, args=(stop,), daemon=True)
        loop.start()
        sam_reader.insert_card(DEMO_CARD)
        result = wait_for(lambda: kiosk.last_result)
        [job] = printer_sim.wait_for_jobs(1)
        stop.wait(1.0)  # the card stays on the reader: it is not handled twice
        stop.set()
        loop.join(timeout=5)

    assert result.ok and result.printed == (pass_no,) and result.recorded == (pass_no,), result
    assert len(printer_sim.jobs) == 1 and job.cuts == 1
    text = job.text_lines
    assert text[0] == "出门证" and f"证号：{pass_no}" in text and f"提车人：{DEMO_CARD.name}" in text
    assert all(v in text for v in vins) and any(line.startswith("有效期至：") for line in text)
    [qr] = job.qr_payloads
    keys = KeyRing(tmp_path / "agent" / "keys.json")
    assert keys.refresh(api)
    claims = keys.verify(qr, _now())
    assert claims["pass_no"] == pass_no and claims["vins"] == vins and DEMO_CARD.id_number not in qr
    assert gate_world.query("SELECT print_count FROM gate_passes WHERE pass_no = ?", pass_no) == [(1,)]
    assert journal.counts() == {"pending": 0, "sent": 1, "refused": 0}

    guard = Guard(api, journal, keys)
    allowed = guard.handle_scan(qr)
    again = guard.handle_scan(qr)

    assert allowed.ok and allowed.code == "ok" and allowed.pass_no == pass_no and not allowed.queued
    assert gate_world.vehicle_states(vins) == ["released", "released"]
    assert gate_world.exits() == 1
    assert not again.ok and again.code == "gate_pass.already_exited"
    assert gate_world.query("SELECT client_event_id FROM gate_exits") == [(allowed.event_id,)]
    api.close()


def test_server_down_during_the_scan_exit_recorded_once_when_it_is_back(gate_world, make_server, tmp_path):
    [(pass_no, vins)] = gate_world.passes(1)
    [(qr,)] = gate_world.query("SELECT qr_payload FROM gate_passes WHERE pass_no = ?", pass_no)
    server = make_server(gate_world)
    api = KioskServer(server.url, gate_world.device_key, timeout=2.0, connect_timeout=0.5)
    journal = Journal(tmp_path / "agent" / "journal.db")
    keys = KeyRing(tmp_path / "agent" / "keys.json")
    assert keys.refresh(api)
    link, lock, stop = Link(), threading.Lock(), threading.Event()
    guard = Guard(api, journal, keys, link=link, send_lock=lock)
    replayer = Replayer(api, journal, link=link, send_lock=lock, min_backoff=0.2, max_backoff=1.0)
    server.stop()

    offline = guard.handle_scan(qr)
    rescanned = guard.handle_scan(qr)  # the guard scans again while still offline: no second event
    worker = threading.Thread(target=replayer.run, args=(stop,), daemon=True)
    worker.start()
    stop.wait(1.0)
    pending_while_down = journal.counts()["pending"]
    offline_keys = KeyRing(tmp_path / "agent" / "keys.json")  # a restarted agent verifies from the cache
    server.start()
    wait_for(lambda: journal.counts()["sent"] == 1)
    stop.set()
    worker.join(timeout=5)

    assert offline.ok and offline.queued and offline.code == "ok.offline"
    assert not rescanned.ok and rescanned.event_id == offline.event_id
    assert pending_while_down == 1 and journal.get(offline.event_id).attempts >= 2
    assert offline_keys.verify(qr, _now())["pass_no"] == pass_no
    assert gate_world.exits() == 1
    [(event_id, exited_at)] = gate_world.query("SELECT client_event_id, exited_at FROM gate_exits")
    assert event_id == offline.event_id
    assert dt.datetime.fromisoformat(str(exited_at)).replace(tzinfo=dt.UTC) == \
        dt.datetime.fromisoformat(journal.get(offline.event_id).payload["scanned_at"])
    assert gate_world.vehicle_states(vins) == ["released"]
    assert journal.counts() == {"pending": 0, "sent": 1, "refused": 0}
    api.close()
