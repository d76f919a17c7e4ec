"""``dealercrm backup`` / ``restore``: one archive (tar.gz) with the database, the photo store
and the key material, so a restored installation signs in, serves its photos and verifies the
gate passes it printed before.

Inside the archive: ``manifest.json`` (engine, schema revision, when, what), ``database.sqlite3``
or ``database.pgdump``, ``photos/…`` and ``keys/…`` (the key folder, and key files configured
outside it under their absolute paths). A restore writes everything where the *current* settings
point (key files from outside the key folder go back to their recorded paths). Stop the server
and the worker before a restore.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from dealercrm.adapters.db.backup import BackupError, dump_database, restore_database
from dealercrm.config import Settings

FORMAT = 1


def _key_files(settings: Settings) -> tuple[Path | None, list[Path]]:
    """The key folder, and the key files configured outside it."""
    folder = Path(settings.key_dir).resolve() if settings.key_dir else None
    extra: list[Path] = []
    paths = list(settings.gate_verification_keys)
    if settings.gate_signing_key:
        paths += [settings.gate_signing_key, settings.gate_signing_key + ".pub"]
    for raw in paths:
        path = Path(raw).resolve()
        if path.exists() and (folder is None or folder not in path.parents):
            extra.append(path)
    return folder, extra


def backup(settings: Settings, archive: Path, now: dt.datetime, schema_revision: str | None) -> dict[str, Any]:
    """Write the archive; returns its manifest."""
    engine = "sqlite" if settings.is_sqlite else "postgresql"
    folder, extra = _key_files(settings)
    photos = settings.photo_path()
    with tempfile.TemporaryDirectory(prefix="dealercrm-backup-") as work:
        dump = Path(work) / ("database.sqlite3" if engine == "sqlite" else "database.pgdump")
        dump_database(settings.database_url, dump)
        photo_files = sorted(p for p in photos.rglob("*") if p.is_file()) if photos.is_dir() else []
        key_files = sorted(p for p in folder.iterdir() if p.is_file()) if folder and folder.is_dir() else []
        manifest: dict[str, Any] = {
            "format": FORMAT, "engine": engine, "created_at": now.isoformat(), "schema_revision": schema_revision,
            "photos": len(photo_files), "key_folder": [p.name for p in key_files],
            "key_files": [str(p) for p in extra],
        }
        tmp = archive.with_name(archive.name + ".partial")
        with tarfile.open(tmp, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, dump.name)
            for path in photo_files:
                tar.add(path, f"photos/{path.relative_to(photos).as_posix()}")
            for path in key_files:
                tar.add(path, f"keys/folder/{path.name}")
            for n, path in enumerate(extra):
                tar.add(path, f"keys/files/{n}")
        os.chmod(tmp, 0o600)  # it holds the secrets
        tmp.replace(archive)
    return manifest


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        if m.name.startswith("/") or ".." in Path(m.name).parts or not (m.isfile() or m.isdir()):
            raise BackupError(f"unexpected entry in the archive: {m.name}")
    return members


def restore(settings: Settings, archive: Path) -> dict[str, Any]:
    """Replace the database, the photo store and the key files by the archive's; returns its
    manifest. The archive's engine must be the configured one."""
    with tempfile.TemporaryDirectory(prefix="dealercrm-restore-") as work, tarfile.open(archive, "r:gz") as tar:
        tar.extractall(work, members=_safe_members(tar), filter="data")
        root = Path(work)
        manifest: dict[str, Any] = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        engine = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest.get("format") != FORMAT or manifest.get("engine") != engine:
            raise BackupError(f"the archive holds a {manifest.get('engine')} backup (format {manifest.get('format')}); "
                              f"the configured database is {engine}")
        restore_database(settings.database_url, root / ("database.sqlite3" if engine == "sqlite" else "database.pgdump"))
        photos = settings.photo_path()
        if photos.exists():
            shutil.rmtree(photos)
        if (root / "photos").is_dir():
            shutil.copytree(root / "photos", photos)
        else:
            photos.mkdir(parents=True)
        if manifest["key_folder"]:
            if not settings.key_dir:
                raise BackupError("the archive holds a key folder: set DEALERCRM_KEY_DIR to where it goes")
            folder = Path(settings.key_dir)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for name in manifest["key_folder"]:
                _write_private(root / "keys" / "folder" / name, folder / name)
        for n, original in enumerate(manifest["key_files"]):
            target = Path(original)
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_private(root / "keys" / "files" / str(n), target)
    return manifest


def _write_private(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(source.read_bytes())
    os.chmod(target, 0o600)
