"""``dealercrm check`` (issue 19 §1): each item ok or what to fix, against a real database and real
listening sockets; nothing is sent."""

from __future__ import annotations

import socket

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.engine import make_engine
from dealercrm.config import load_settings
from dealercrm.entrypoints.check import check
from dealercrm.entrypoints.cli import main

SECRET = "check-test-secret-that-is-long-enough-0123456789"


def _listening() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_ready_installation_is_all_ok(sqlite_url, tmp_path):
    main(["keys", "init", "--dir", str(tmp_path / "keys")])
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    engine.dispose()
    smtp, sms = _listening(), _listening()
    try:
        settings = load_settings({"DEALERCRM_KEY_DIR": str(tmp_path / "keys")}, database_url=sqlite_url,
                                 smtp_host="127.0.0.1", smtp_port=smtp.getsockname()[1],
                                 sms_url=f"http://127.0.0.1:{sms.getsockname()[1]}/send")
        lines = check(settings)
    finally:
        smtp.close()
        sms.close()

    assert [line.item for line in lines] == ["secrets", "key folder", "gate keys", "database", "migrations", "smtp",
                                             "sms"]
    assert all(line.ok for line in lines), [line.render() for line in lines]


def test_each_problem_says_what_to_fix(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    for name in ("DEALERCRM_KEY_DIR", "DEALERCRM_JWT_SECRET", "DEALERCRM_SESSION_SECRET", "DEALERCRM_GATE_SIGNING_KEY",
                 "DEALERCRM_SMTP_HOST", "DEALERCRM_SMS_URL", "DEALERCRM_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEALERCRM_DATABASE_URL", url)
    monkeypatch.setenv("DEALERCRM_JWT_SECRET", SECRET)
    monkeypatch.setenv("DEALERCRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DEALERCRM_SMTP_PORT", str(_closed_port()))

    code = main(["check"])
    out = capsys.readouterr().out

    assert code == 1
    assert "FIX  secrets      DEALERCRM_SESSION_SECRET: not set" in out
    assert "DEALERCRM_GATE_SIGNING_KEY" in out
    assert "FIX  migrations   at none" in out and "dealercrm db upgrade" in out
    assert "FIX  smtp         127.0.0.1:" in out
    assert "FIX  sms          not set" in out
    assert "ok   database" in out
