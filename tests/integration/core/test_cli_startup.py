"""Safe by default: ``serve`` and ``worker`` refuse to start without their secrets outside
``--demo`` and name each one; ``keys init`` writes them (0600) for ``DEALERCRM_KEY_DIR``; a
loaded demo's logins print again and a kiosk key can be reissued."""

from __future__ import annotations

import json
import os
import stat

import pytest

import dealercrm
from dealercrm.config import load_settings, secret_problems
from dealercrm.domain.errors import DomainError
from dealercrm.domain.identity import Principal
from dealercrm.application.identity import CreateUser
from dealercrm.entrypoints.cli import main
from dealercrm.entrypoints.worker import main_worker


@pytest.fixture
def clean_env(monkeypatch, sqlite_url):
    """Only the database and a log level from the environment: no secrets, no delivery settings."""
    for name in list(os.environ):
        if name.startswith("DEALERCRM_") and name != "DEALERCRM_PHOTO_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DEALERCRM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DEALERCRM_LOG_LEVEL", "WARNING")
    return monkeypatch


def test_serve_refuses_to_start_without_secrets_and_names_each(clean_env, capsys):
    code = main(["serve"])

    err = capsys.readouterr().err
    assert code == 2
    for variable in ("DEALERCRM_JWT_SECRET", "DEALERCRM_SESSION_SECRET", "DEALERCRM_GATE_SIGNING_KEY"):
        assert f"  {variable}: not set" in err
    assert "dealercrm keys init" in err


def test_serve_refuses_a_short_secret(clean_env, capsys, tmp_path):
    clean_env.setenv("DEALERCRM_JWT_SECRET", "short")
    clean_env.setenv("DEALERCRM_SESSION_SECRET", "s" * 48)
    clean_env.setenv("DEALERCRM_GATE_SIGNING_KEY", str(tmp_path / "gate.pem"))

    code = main(["serve"])

    err = capsys.readouterr().err
    assert code == 2
    assert "DEALERCRM_JWT_SECRET: shorter than 32 characters" in err
    assert "SESSION_SECRET" not in err


def test_the_worker_refuses_without_secrets_or_delivery_settings(clean_env, capsys):
    code = main_worker([])

    err = capsys.readouterr().err
    assert code == 2
    for variable in ("DEALERCRM_JWT_SECRET", "DEALERCRM_SMTP_HOST", "DEALERCRM_SMS_URL"):
        assert f"  {variable}: not set" in err


def test_keys_init_writes_private_files_that_fill_the_secrets(clean_env, tmp_path, capsys):
    folder = tmp_path / "keys"

    assert main(["keys", "init", "--dir", str(folder)]) == 0
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["keys", "init", "--dir", str(folder)]) == 0

    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first  # a second run changes nothing
    assert set(first) == {"jwt-secret", "session-secret", "gate-signing-key.pem", "gate-signing-key.pem.pub"}
    for name in ("jwt-secret", "session-secret", "gate-signing-key.pem"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    settings = load_settings({"DEALERCRM_KEY_DIR": str(folder)})
    assert secret_problems(settings) == []
    assert settings.jwt_secret == (folder / "jwt-secret").read_text().strip()
    assert settings.gate_signing_key == str(folder / "gate-signing-key.pem")
    assert f"export DEALERCRM_KEY_DIR={folder.resolve()}" in capsys.readouterr().out


def test_an_explicit_secret_wins_over_the_key_folder(tmp_path, clean_env):
    main(["keys", "init", "--dir", str(tmp_path / "keys")])

    settings = load_settings({"DEALERCRM_KEY_DIR": str(tmp_path / "keys"), "DEALERCRM_JWT_SECRET": "j" * 40})

    assert settings.jwt_secret == "j" * 40
    assert settings.session_secret == (tmp_path / "keys" / "session-secret").read_text().strip()


def test_demo_logins_prints_the_users_again(clean_env, sqlite_url, capsys):
    crm = dealercrm.bootstrap(load_settings({}, database_url=sqlite_url, log_level="WARNING"))
    crm.identity.create_user(Principal.system(), CreateUser("finance", "财务", "finance", "Demo2026pass"))
    crm.close()

    code = main(["demo", "logins"])

    out = capsys.readouterr().out
    assert code == 0
    assert "password for all: Demo2026pass" in out
    assert "finance" in out and "财务" in out


def test_kiosk_key_reissue_revokes_the_old_key_and_prints_a_working_one(clean_env, sqlite_url, capsys):
    crm = dealercrm.bootstrap(load_settings({}, database_url=sqlite_url, log_level="WARNING"))
    old = crm.identity.issue_device_key(Principal.system(), "北门自助机", "北门").api_key
    crm.close()

    code = main(["kiosk-key", "reissue", "北门自助机"])

    new = capsys.readouterr().out.strip().rsplit("X-Device-Key: ", 1)[1]
    crm = dealercrm.bootstrap(load_settings({}, database_url=sqlite_url, log_level="WARNING"))
    try:
        assert code == 0
        assert crm.identity.authenticate_device(new).device_id is not None
        with pytest.raises(DomainError) as refused:
            crm.identity.authenticate_device(old)
        assert refused.value.code == "auth.device_key_revoked"
    finally:
        crm.close()


def test_every_command_has_help_with_examples(capsys):
    commands = [["serve"], ["db"], ["demo"], ["user", "create"], ["keys"], ["kiosk-key"], ["erp-sync"],
                ["worker"], ["erp-sim"], ["video-sim"]]

    for command in commands:
        with pytest.raises(SystemExit) as done:
            main([*command, "--help"])
        out = capsys.readouterr().out

        assert done.value.code == 0
        assert "examples:" in out, command
        assert f"dealercrm {command[0]}" in out.split("examples:", 1)[1], command


def test_serve_names_a_key_folder_that_does_not_exist(clean_env, tmp_path, capsys):
    clean_env.setenv("DEALERCRM_KEY_DIR", str(tmp_path / "nowhere"))

    code = main(["serve"])

    err = capsys.readouterr().err
    assert code == 2
    assert f"DEALERCRM_KEY_DIR: {tmp_path / 'nowhere'} is not a folder" in err


def test_the_edge_agent_has_help_with_examples_on_stdout(capsys):
    from edge_agent.cli import main as edge_agent

    for command in ([], ["devices"], ["run"]):
        try:
            code = edge_agent([*command, "--help"])
        except SystemExit as done:  # argparse's exit; `devices` turns it into its return code
            code = done.code
        captured = capsys.readouterr()

        assert code == 0, command
        assert "examples:" in captured.out and captured.err == "", command


def test_worker_once_logs_its_figures_as_json_fields(clean_env, capsys):
    clean_env.setenv("DEALERCRM_LOG_LEVEL", "INFO")
    clean_env.setenv("DEALERCRM_LOG_JSON", "true")

    code = main_worker(["--once", "--demo"])

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    done = next(line for line in lines if line["event"] == "worker_pass_done")
    scheduled = next(line for line in lines if line["event"] == "scheduler_pass_done")
    assert code == 0
    assert (done["claimed"], done["sent"], done["failed"]) == (0, 0, 0)
    assert isinstance(scheduled["jobs"], int)
