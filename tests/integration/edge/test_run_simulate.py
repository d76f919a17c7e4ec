"""``edge-agent run --simulate`` against a real ``dealercrm serve``: the demo card is tapped, the
slip is printed and decoded (a person could read it), the simulated guard scans it and the
vehicles leave; the status file says so; configuration mistakes exit 2 with the reason."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from dealercrm.adapters.devices.sim import DEMO_CARD
from edge_agent.runner import main_run

from .conftest import child_env

pytestmark = pytest.mark.devices


def test_run_simulate_prints_a_readable_pass_and_lets_it_out(gate_world, make_server, tmp_path):
    [(pass_no, vins)] = gate_world.passes(1, per_pass=2)
    server = make_server(gate_world)
    state = tmp_path / "agent"

    done = subprocess.run(
        [sys.executable, "-c", "from edge_agent.cli import main; raise SystemExit(main())", "run", "--simulate",
         "--server", server.url, "--state-dir", str(state), "--duration", "6"],
        env=child_env(EDGE_AGENT_DEVICE_KEY=gate_world.device_key), capture_output=True, timeout=60)
    out, err = done.stdout.decode(), done.stderr.decode()

    assert done.returncode == 0, out + err
    assert f"[自助机] 出门证 {pass_no} 已打印" in out
    assert "  | 出门证\n" in out and f"  | 证号：{pass_no}\n" in out and f"  | 提车人：{DEMO_CARD.name}\n" in out
    assert all(f"  | {v}\n" in out for v in vins)
    assert f"[门卫] 出门证 {pass_no} 有效，共 2 台车辆，可以放行，出门已登记" in out
    assert gate_world.exits() == 1 and gate_world.vehicle_states(vins) == ["released", "released"]
    status = json.loads((state / "status.json").read_text(encoding="utf-8"))
    assert status["state"] == "stopped" and status["journal"] == {"pending": 0, "sent": 2, "refused": 0}
    assert status["kiosk"]["last"]["printed"] == [pass_no] and status["guard"]["last"]["pass_no"] == pass_no
    assert DEMO_CARD.id_number not in out + err and DEMO_CARD.id_number not in json.dumps(status)


def test_configuration_mistakes_exit_2_with_the_reason(tmp_path):
    out = io.StringIO()
    assert main_run([], out=out) == 2 and "--config is required" in out.getvalue()
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nurl = "ftp://x"\n', encoding="utf-8")
    out = io.StringIO()
    assert main_run(["--config", str(bad)], out=out) == 2 and "http://" in out.getvalue()
    keyless = tmp_path / "keyless.toml"
    keyless.write_text(f'[server]\nurl = "http://127.0.0.1:9"\n[agent]\nroles = ["guard"]\nstate_dir = "{tmp_path}"\n',
                       encoding="utf-8")
    out = io.StringIO()
    assert main_run(["--config", str(keyless)], out=out) == 2 and "device_key" in out.getvalue()
    kiosk = tmp_path / "kiosk.toml"
    kiosk.write_text(f'[server]\nurl = "http://127.0.0.1:9"\ndevice_key = "dk_x"\n[agent]\nroles = ["kiosk"]\n'
                     f'state_dir = "{tmp_path}"\n', encoding="utf-8")
    out = io.StringIO()
    assert main_run(["--config", str(kiosk)], out=out) == 2 and "[reader] and [printer]" in out.getvalue()
