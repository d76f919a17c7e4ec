from __future__ import annotations

import pytest

from dealercrm.adapters.erp.simulator import main_erp_sim


def test_an_unknown_fault_stops_the_simulator_with_exit_code_2_before_binding(tmp_path, capsys):
    code = main_erp_sim(["--port", "0", "--state", str(tmp_path / "erp.sqlite3"), "--fault", "bogus=1"])

    assert code == 2
    assert "bogus" in capsys.readouterr().err
    assert not (tmp_path / "erp.sqlite3").exists()


def test_the_simulator_refuses_to_bind_anything_but_loopback(tmp_path, capsys):
    code = main_erp_sim(["--host", "0.0.0.0", "--port", "0", "--state", str(tmp_path / "erp.sqlite3")])

    assert code == 2
    assert "loopback" in capsys.readouterr().err


def test_faults_given_as_json_must_be_an_object(tmp_path):
    with pytest.raises(SystemExit) as caught:
        main_erp_sim(["--port", "0", "--state", str(tmp_path / "erp.sqlite3"), "--faults", "[1]"])

    assert caught.value.code == 2
