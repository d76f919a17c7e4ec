"""``dealercrm`` command line. ``dealercrm --help`` lists the commands, ``dealercrm COMMAND
--help`` shows each one's options and examples."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dealercrm.config import KEY_FILES, Settings, SettingsError, load_settings, secret_problems
from dealercrm.entrypoints.startup import EXIT_CONFIG, KEYS_HINT, refuse

if TYPE_CHECKING:
    from dealercrm.bootstrap import Container

DEMO_KIOSK = "北门自助机"


def _container(settings: Settings, migrate: bool = True) -> Container:
    from dealercrm.bootstrap import bootstrap

    return bootstrap(settings, migrate=migrate)


def cmd_db(args: argparse.Namespace) -> int:
    from dealercrm.adapters.db import migrate
    from dealercrm.adapters.db.engine import make_engine

    settings = load_settings()
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if args.action == "upgrade":
        migrate.upgrade(engine)
        print(f"数据库已升级到最新版本 schema at {migrate.current(engine)}")
    else:
        print(migrate.current(engine) or "(empty)")
    return 0


def print_logins(logins: list[tuple[str, str, str]]) -> None:
    print("演示账号 Demo logins (password for all: %s)" % logins[0][1])
    for username, _password, label in logins:
        print(f"  {username:<16} {label}", flush=True)


def show_demo(container: Container) -> None:
    """Load the demo if the database is empty and print its logins, or print the logins of the
    demo already there (the kiosk key is stored hashed: say how to reissue it)."""
    from dealercrm.entrypoints.demo import demo_logins, load_demo

    print("加载演示数据 loading the demo data (first start only)…", flush=True)
    started = time.monotonic()
    logins = load_demo(container)
    if logins:
        print(f"演示数据已加载 demo data loaded in {time.monotonic() - started:.0f} s", flush=True)
        print_logins(logins)
        return
    print("演示数据已存在 demo data already present", flush=True)
    print_logins(demo_logins(container))
    print(f"自助终端凭证只保存哈希 kiosk keys are stored hashed; a new one: dealercrm kiosk-key reissue {DEMO_KIOSK}",
          flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from dealercrm.entrypoints.demo import demo_logins

    container = _container(load_settings())
    try:
        if args.action == "logins":
            logins = demo_logins(container)
            if not logins:
                print("没有演示数据 no demo loaded: run `dealercrm demo`", file=sys.stderr)
                return 1
            print_logins(logins)
        else:
            show_demo(container)
    finally:
        container.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = load_settings(**overrides)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        print("refusing to bind a non-loopback address without --allow-remote", file=sys.stderr)
        return EXIT_CONFIG
    problems = secret_problems(settings)
    if problems and not args.demo:
        return refuse(problems, KEYS_HINT)
    from dealercrm.entrypoints.http.app import create_app, settle_heap
    from dealercrm.entrypoints.logging import route_stdlib_logging

    print("准备数据库 migrating the database…", flush=True)
    container = _container(settings)
    banner = f"dealercrm: http://{settings.host}:{settings.port}/ (web UI)  API docs: http://{settings.host}:{settings.port}/schema"
    # uvicorn[standard]: httptools and uvloop when installed ("auto"), about 45 % less CPU per request
    # than the pure-Python h11 parser (PERFORMANCE.md)
    if args.workers <= 1:
        app = create_app(settings, container=container)
        print(banner, flush=True)
        if args.demo:  # the server answers at once; the demo loads beside it and prints its logins when done
            threading.Thread(target=show_demo, args=(container,), name="demo-loader", daemon=True).start()
        route_stdlib_logging(settings.log_level, settings.log_json)
        settle_heap()
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                    log_config=None)  # uvicorn's records go through structlog (route_stdlib_logging)
        return 0
    random_secrets: list[str] = [n for n in ("jwt_secret", "session_secret") if n in settings.generated_secrets]
    random_secrets += [] if settings.gate_signing_key else ["gate_signing_key"]  # else a key per worker
    if random_secrets:
        print(f"--workers {args.workers} needs {' and '.join('DEALERCRM_' + n.upper() for n in random_secrets)} set: "
              "each worker would otherwise make up its own and refuse the others' tokens and sessions", file=sys.stderr)
        container.close()
        return EXIT_CONFIG
    if args.demo:  # before the workers start: each builds its own container on the loaded database
        show_demo(container)
    if settings.database_url.startswith("sqlite"):
        print(f"serving {args.workers} workers on one SQLite file: they share its single writer", file=sys.stderr)
    print(banner, flush=True)
    container.close()  # migrated (and demo loaded) here, once; each worker builds its own container
    route_stdlib_logging(settings.log_level, settings.log_json)
    uvicorn.run("dealercrm.entrypoints.http.app:create_worker_app", factory=True, workers=args.workers,
                log_config=None,
                host=settings.host, port=settings.port, log_level="warning", access_log=False)
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from dealercrm.application.identity import CreateUser
    from dealercrm.domain.identity import Principal

    password = os.environ.get("DEALERCRM_NEW_USER_PASSWORD") or getpass.getpass("密码 Password: ")
    container = _container(load_settings())
    user_id = container.identity.create_user(
        Principal.system(),
        CreateUser(args.username, args.display_name or args.username, args.role, password,
                   dealer_id=args.dealer_id, regions=tuple(args.region or ())),
    )
    print(f"用户已创建 user created: id={user_id} username={args.username} role={args.role}")
    container.close()
    return 0


def write_keys(folder: Path) -> list[Path]:
    """Create the key folder's missing files (0600, folder 0700); existing ones are kept, so a
    second run changes nothing. Returns the files written."""
    from dealercrm.adapters.gate_keys import ensure_signing_key

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    written: list[Path] = []
    for _name, file_name, holds_value in KEY_FILES:
        path = folder / file_name
        if path.exists():
            continue
        if holds_value:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
        else:
            ensure_signing_key(path)
        written.append(path)
    return written


def cmd_keys(args: argparse.Namespace) -> int:
    folder = Path(args.dir or load_settings().key_dir or "var/keys")
    written = write_keys(folder)
    for path in written:
        print(f"已生成 written {path}")
    if not written:
        print(f"密钥已存在，未改动 keys already present in {folder}, left unchanged")
    print(f"export DEALERCRM_KEY_DIR={folder.resolve()}")
    return 0


def cmd_kiosk_key(args: argparse.Namespace) -> int:
    """Revoke the kiosk's active keys by name and issue a new one (the key is shown only now)."""
    from dealercrm.domain.identity import Principal

    container = _container(load_settings())
    try:
        system = Principal.system()
        devices = [d for d in container.identity.list_devices(system) if d["name"] == args.name]
        location = args.location or next((d["location"] for d in reversed(devices)), "")
        if not location:
            print(f"没有名为 {args.name} 的设备 no device named {args.name}: give --location to issue a first key",
                  file=sys.stderr)
            return 1
        for device in devices:
            if device["revoked_at"] is None:
                container.identity.revoke_device_key(system, device["id"])
                print(f"已吊销 revoked key {device['key_prefix']}… (id {device['id']})")
        issued = container.identity.issue_device_key(system, args.name, location)
        print(f"{args.name} 自助终端设备凭证 X-Device-Key: {issued.api_key}")
        return 0
    finally:
        container.close()


def cmd_check(args: argparse.Namespace) -> int:
    from dealercrm.entrypoints.check import run

    return run(load_settings())


def cmd_backup(args: argparse.Namespace) -> int:
    import datetime as dt

    from dealercrm.adapters.db import migrate
    from dealercrm.adapters.db.engine import make_engine
    from dealercrm.entrypoints.backup import backup

    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        revision = migrate.current(engine)
    finally:
        engine.dispose()
    manifest = backup(settings, Path(args.archive), dt.datetime.now(dt.UTC), revision)
    print(f"备份完成 backup written: {args.archive} ({manifest['engine']}, schema {revision}, "
          f"{manifest['photos']} photos, {len(manifest['key_folder']) + len(manifest['key_files'])} key files)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from dealercrm.entrypoints.backup import restore

    if not args.yes:
        print("restore replaces the database, the photo store and the key files: add --yes (stop the server and "
              "the worker first)", file=sys.stderr)
        return EXIT_CONFIG
    manifest = restore(load_settings(), Path(args.archive))
    print(f"恢复完成 restored {args.archive} (backup of {manifest['created_at']}, schema {manifest['schema_revision']}); "
          "run `dealercrm db upgrade` if this release is newer")
    return 0


def cmd_erp_sync(args: argparse.Namespace) -> int:
    """Pull the ERP event feed once (DEALERCRM_ERP_URL / DEALERCRM_ERP_API_KEY) and apply it."""
    from dealercrm.application.erp_jobs import run_erp_sync

    container = _container(load_settings())
    try:
        if container.erp_gateway is None:
            print("未配置ERP：请设置 DEALERCRM_ERP_URL 和 DEALERCRM_ERP_API_KEY", file=sys.stderr)
            return EXIT_CONFIG
        report = run_erp_sync(container.erp_gateway, container.erp_sync_target, page_size=args.page_size,
                              max_pages=args.max_pages)
        print(f"ERP同步 erp sync: applied={report.applied} duplicates={report.duplicates} stale={report.stale} "
              f"rejected={report.rejected} pages={report.pages} cursor={report.cursor}")
        return 0
    finally:
        container.close()


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; each subcommand carries its examples (``--help``)."""
    from importlib.metadata import version

    from dealercrm.domain.identity import Role

    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="dealercrm", formatter_class=fmt,
        description="专用车经销商管理系统 dealercrm. Settings: DEALERCRM_* variables or the TOML file named "
                    "by DEALERCRM_CONFIG_FILE (README, 'Command line').",
        epilog=_examples("dealercrm serve --demo", "dealercrm keys init --dir /etc/dealercrm/keys",
                         "dealercrm COMMAND --help"))
    parser.add_argument("--version", action="version", version=f"dealercrm {version('dealercrm')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the web UI and the HTTP API", formatter_class=fmt,
                       description="Serve the web UI at / and the JSON API at /api/v1. Outside --demo it "
                                   "refuses to start without DEALERCRM_JWT_SECRET, DEALERCRM_SESSION_SECRET and "
                                   "DEALERCRM_GATE_SIGNING_KEY (or DEALERCRM_KEY_DIR).",
                       epilog=_examples("dealercrm serve --demo",
                                        "DEALERCRM_KEY_DIR=/etc/dealercrm/keys dealercrm serve --port 8000",
                                        "dealercrm serve --host 0.0.0.0 --allow-remote   # behind a reverse proxy"))
    p.add_argument("--host", help="address to bind (default DEALERCRM_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default DEALERCRM_PORT, 8000)")
    p.add_argument("--demo", action="store_true",
                   help="load the demo data in the background if the database is empty (the server answers at "
                        "once), then print the logins; missing secrets are replaced by per-process ones")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    p.add_argument("--workers", type=int, default=1,
                   help="server worker processes (PostgreSQL: one or two per core; needs the secrets set)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("db", help="schema migrations", formatter_class=fmt,
                       description="Alembic migrations on SQLite or PostgreSQL (DEALERCRM_DATABASE_URL).",
                       epilog=_examples("dealercrm db upgrade", "dealercrm db current"))
    p.add_argument("action", choices=["upgrade", "current"], help="upgrade to the newest schema, or show the current one")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("demo", help="load the demo data, or print its logins", formatter_class=fmt,
                       description="Load realistic demo data into an empty database (idempotent) and print the "
                                   "logins; `logins` prints them again for a demo already loaded.",
                       epilog=_examples("dealercrm demo", "dealercrm demo logins"))
    p.add_argument("action", nargs="?", choices=["load", "logins"], default="load",
                   help="load (default) or logins")
    p.set_defaults(func=cmd_demo)

    roles = [r for r in Role if r is not Role.KIOSK]
    p = sub.add_parser("user", help="user administration", formatter_class=fmt,
                       description="Create users. The password comes from DEALERCRM_NEW_USER_PASSWORD or a prompt.",
                       epilog=_examples("dealercrm user create zhangsan --role finance --display-name 张三",
                                        "dealercrm user create dealer07 --role dealer --dealer-id 7"))
    usub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = usub.add_parser("create", help="create a user", formatter_class=fmt,
                        epilog="roles:\n" + "\n".join(f"  {r.value:<15} {r.label}" for r in roles) + "\n\n"
                        + _examples("DEALERCRM_NEW_USER_PASSWORD=… dealercrm user create admin2 --role admin",
                                    "dealercrm user create li --role region_manager --region 华中 --region 华东"))
    c.add_argument("username")
    c.add_argument("--role", required=True, choices=[r.value for r in roles], metavar="ROLE",
                   help="one of: " + ", ".join(r.value for r in roles))
    c.add_argument("--display-name", help="the name people see (default: the username)")
    c.add_argument("--dealer-id", type=int, help="the dealer a dealer user belongs to")
    c.add_argument("--region", action="append", help="a sales region of a region manager (repeatable)")
    c.set_defaults(func=cmd_user)

    p = sub.add_parser("keys", help="create the secrets and the gate signing key", formatter_class=fmt,
                       description="`keys init` writes the JWT secret, the session secret and the Ed25519 gate "
                                   "signing key (with its .pub) to a folder, mode 0600; existing files are kept. "
                                   "Point DEALERCRM_KEY_DIR at the folder.",
                       epilog=_examples("dealercrm keys init --dir /etc/dealercrm/keys",
                                        "export DEALERCRM_KEY_DIR=/etc/dealercrm/keys"))
    ksub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = ksub.add_parser("init", help="write the missing key files")
    c.add_argument("--dir", help="the key folder (default DEALERCRM_KEY_DIR, else var/keys)")
    c.set_defaults(func=cmd_keys)

    p = sub.add_parser("kiosk-key", help="reissue a kiosk's device key", formatter_class=fmt,
                       description="Device keys are stored hashed and shown once. `reissue NAME` revokes the "
                                   "device's active keys and prints a new one.",
                       epilog=_examples(f"dealercrm kiosk-key reissue {DEMO_KIOSK}",
                                        "dealercrm kiosk-key reissue 南门自助机 --location 南门"))
    ksub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = ksub.add_parser("reissue", help="revoke the device's keys and issue a new one")
    c.add_argument("name", help="the device's name")
    c.add_argument("--location", help="its location (default: the location it was issued for)")
    c.set_defaults(func=cmd_kiosk_key)

    p = sub.add_parser("check", help="is this installation ready? settings, keys, database, mail and SMS",
                       formatter_class=fmt,
                       description="One line per item, each ok or what to fix: the secrets and the key folder, "
                                   "the gate keys, the database and its migrations, and whether the SMTP and SMS "
                                   "gateways accept a connection (nothing is sent). Exit code 0 when all are ok.",
                       epilog=_examples("DEALERCRM_KEY_DIR=/etc/dealercrm/keys dealercrm check"))
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("backup", help="back up the database, photos and keys to one archive", formatter_class=fmt,
                       description="Write a tar.gz (mode 0600) with the database (SQLite: online backup API, safe "
                                   "while serving; PostgreSQL: pg_dump), the photo store and the key files.",
                       epilog=_examples("dealercrm backup /srv/backup/dealercrm-$(date +%F).tar.gz"))
    p.add_argument("archive", help="the archive to write")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="restore a backup archive", formatter_class=fmt,
                       description="Replace the database, the photo store and the key files by an archive's, where "
                                   "the current settings point. Stop the server and the worker first.",
                       epilog=_examples("dealercrm restore /srv/backup/dealercrm-2026-12-06.tar.gz --yes",
                                        "dealercrm db upgrade   # after restoring an older backup"))
    p.add_argument("archive", help="the archive `dealercrm backup` wrote")
    p.add_argument("--yes", action="store_true", help="confirm: the current data is replaced")
    p.set_defaults(func=cmd_restore)

    sub.add_parser("erp-sim", help="run the ERP simulator (dealercrm erp-sim --help)", add_help=False)
    p = sub.add_parser("erp-sync", help="pull and apply the ERP event feed once", formatter_class=fmt,
                       description="Pull the ERP event feed (DEALERCRM_ERP_URL, DEALERCRM_ERP_API_KEY) until it is "
                                   "drained, and apply it.",
                       epilog=_examples("DEALERCRM_ERP_URL=http://127.0.0.1:9300 DEALERCRM_ERP_API_KEY=erp-sim-key "
                                        "dealercrm erp-sync"))
    p.add_argument("--once", action="store_true", help="one run until the feed is drained (the default)")
    p.add_argument("--page-size", type=int, default=500, help="events per page (default 500)")
    p.add_argument("--max-pages", type=int, default=100, help="stop after this many pages (default 100)")
    p.set_defaults(func=cmd_erp_sync)
    sub.add_parser("worker", help="deliver the outbox (email/SMS) and run the scheduler (dealercrm worker --help)",
                   add_help=False)
    sub.add_parser("video-sim", help="run the video meeting API simulator (dealercrm video-sim --help)",
                   add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except SettingsError as exc:  # a configuration mistake: name each setting, no traceback
        print("配置错误 configuration:", file=sys.stderr)
        for where, why in exc.problems:
            print(f"  {where}: {why}", file=sys.stderr)
        return EXIT_CONFIG


def _main(argv: list[str]) -> int:
    if argv[:1] == ["erp-sim"]:
        from dealercrm.adapters.erp.simulator import main_erp_sim

        return main_erp_sim(argv[1:])
    if argv[:1] == ["video-sim"]:
        from dealercrm.adapters.video.simulator import main as main_video_sim

        return main_video_sim(argv[1:])
    if argv[:1] == ["worker"]:
        from dealercrm.entrypoints.worker import main_worker

        return main_worker(argv[1:])
    args = build_parser().parse_args(argv)
    from dealercrm.adapters.db.backup import BackupError
    from dealercrm.adapters.gate_keys import GateKeyError
    from dealercrm.domain.errors import DomainError

    try:
        return int(args.func(args) or 0)
    except DomainError as exc:
        print(f"错误 {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except GateKeyError as exc:  # a configuration mistake: say which setting, no traceback
        print(f"配置错误 configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except BackupError as exc:
        print(f"备份/恢复失败 backup/restore: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
