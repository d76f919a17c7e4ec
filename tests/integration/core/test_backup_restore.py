"""``dealercrm backup`` → wipe → ``dealercrm restore`` on SQLite and PostgreSQL: the same rows in
every table, the same photo files, the same key files (0600), and a gate pass signed before the
backup verifies with the restored keys."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table, text

import dealercrm
from dealercrm.application.channel import AddressIn, ContactIn, RegisterDealer
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.cli import main, write_keys

NOW = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                    for name in sorted(inspect(conn).get_table_names())}
    finally:
        engine.dispose()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _wipe_database(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).unlink()
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def test_backup_then_restore_brings_back_rows_files_and_keys(db_url, tmp_path, monkeypatch, capsys):
    keys, photos, archive = tmp_path / "keys", tmp_path / "photos", tmp_path / "backup.tar.gz"
    write_keys(keys)
    for name, value in (("DATABASE_URL", db_url), ("KEY_DIR", str(keys)), ("PHOTO_DIR", str(photos)),
                        ("LOG_LEVEL", "WARNING")):
        monkeypatch.setenv(f"DEALERCRM_{name}", value)
    crm = dealercrm.bootstrap(load_settings())
    system = Principal.system()
    crm.identity.create_user(system, CreateUser("finance", "财务", "finance", "Backup2026pass"))
    crm.channel.register_dealer(RegisterDealer(
        legal_name="成都蜀通专用汽车销售有限公司", uscc="91110000600037341L", region="西南",
        address=AddressIn("四川省", "成都市", "龙泉驿区汽车城大道18号"),
        contact=ContactIn(name="陈志强", title="总经理", phone="13980001234"),
        applicant_username="shutong", applicant_password="Shutong2026x"))
    crm.identity.issue_device_key(system, "北门自助机", "北门")
    printed_pass = crm.gate_keys.signer.sign({"pass_no": "CMZ-20261206-0001", "valid_to": (NOW + dt.timedelta(days=1))})
    crm.close()
    (photos / "ab").mkdir(parents=True)
    (photos / "ab" / "abcdef.jpg").write_bytes(b"\xff\xd8 a photo of a chassis")
    rows, photo_files, key_files = _counts(db_url), _files(photos), _files(keys)

    assert main(["backup", str(archive)]) == 0
    _wipe_database(db_url)
    for folder in (photos, keys):
        for path in sorted(folder.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        folder.rmdir()
    assert main(["restore", str(archive), "--yes"]) == 0

    assert _counts(db_url) == rows
    assert rows["users"] == 2 and rows["dealers"] == 1 and rows["device_credentials"] == 1
    assert _files(photos) == photo_files
    assert _files(keys) == key_files
    assert stat.S_IMODE((keys / "gate-signing-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    crm = dealercrm.bootstrap(load_settings())
    try:
        assert crm.gate_keys.verifier.verify(printed_pass, NOW)["pass_no"] == "CMZ-20261206-0001"
        assert crm.identity.login("finance", "Backup2026pass").principal.username == "finance"
    finally:
        crm.close()
    assert "restored" in capsys.readouterr().out


def test_restore_wants_confirmation(tmp_path, capsys):
    code = main(["restore", str(tmp_path / "missing.tar.gz")])

    assert code == 2
    assert "--yes" in capsys.readouterr().err


def test_an_archive_of_the_other_engine_is_refused(sqlite_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEALERCRM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DEALERCRM_PHOTO_DIR", str(tmp_path / "photos"))
    archive = tmp_path / "b.tar.gz"
    assert main(["backup", str(archive)]) == 0
    monkeypatch.setenv("DEALERCRM_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")

    code = main(["restore", str(archive), "--yes"])

    assert code == 1
    assert "holds a sqlite backup" in capsys.readouterr().err
