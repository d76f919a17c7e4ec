"""``dealercrm`` command line: serve, db upgrade, demo, user create, erp-sim.

    dealercrm serve [--host 127.0.0.1] [--port 8000] [--demo]
    dealercrm db upgrade
    dealercrm demo
    dealercrm user create USERNAME --role admin [--display-name 名字] [--dealer-id N]
    dealercrm erp-sim --port 9300
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from dealercrm.config import load_settings


def _container(settings, migrate: bool = True):  # type: ignore[no-untyped-def]
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


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    if not logins:
        print("演示数据已存在，未重复加载 (demo data already present)")
        return
    print("演示账号 Demo logins (password for all: %s)" % logins[0][1])
    for username, _password, label in logins:
        print(f"  {username:<16} {label}")


def cmd_demo(_args: argparse.Namespace) -> int:
    from dealercrm.entrypoints.demo import load_demo

    container = _container(load_settings())
    _print_logins(load_demo(container))
    container.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    overrides = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = load_settings(**overrides)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        print("refusing to bind a non-loopback address without --allow-remote", file=sys.stderr)
        return 2
    from dealercrm.entrypoints.http.app import create_app

    container = _container(settings)
    if args.demo:
        from dealercrm.entrypoints.demo import load_demo

        _print_logins(load_demo(container))
    banner = f"dealercrm: http://{settings.host}:{settings.port}/ (web UI)  API docs: http://{settings.host}:{settings.port}/schema"
    # uvicorn[standard]: httptools and uvloop when installed ("auto"), about 45 % less CPU per request
    # than the pure-Python h11 parser (PERFORMANCE.md)
    if args.workers <= 1:
        print(banner)
        app = create_app(settings, container=container)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
        return 0
    again = load_settings(**overrides)  # a secret that differs between two loads is random per process
    random_secrets = [n for n in ("jwt_secret", "session_secret") if getattr(settings, n) != getattr(again, n)]
    if random_secrets:
        print(f"--workers {args.workers} needs {' and '.join('DEALERCRM_' + n.upper() for n in random_secrets)} set: "
              "each worker would otherwise make up its own and refuse the others' tokens and sessions", file=sys.stderr)
        container.close()
        return 2
    if settings.database_url.startswith("sqlite"):
        print(f"serving {args.workers} workers on one SQLite file: they share its single writer", file=sys.stderr)
    print(banner)
    container.close()  # migrated (and demo loaded) here, once; each worker builds its own container
    uvicorn.run("dealercrm.entrypoints.http.app:create_worker_app", factory=True, workers=args.workers,
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


def cmd_erp_sync(args: argparse.Namespace) -> int:
    """Pull the ERP event feed once (DEALERCRM_ERP_URL / DEALERCRM_ERP_API_KEY) and apply it."""
    from dealercrm.application.erp_jobs import run_erp_sync
    from dealercrm.bootstrap import bootstrap

    container = bootstrap(load_settings())
    try:
        if container.erp_gateway is None:
            print("未配置ERP：请设置 DEALERCRM_ERP_URL 和 DEALERCRM_ERP_API_KEY", file=sys.stderr)
            return 2
        report = run_erp_sync(container.erp_gateway, container.erp_sync_target, page_size=args.page_size,
                              max_pages=args.max_pages)
        print(f"ERP同步 erp sync: applied={report.applied} duplicates={report.duplicates} stale={report.stale} "
              f"rejected={report.rejected} pages={report.pages} cursor={report.cursor}")
        return 0
    finally:
        container.close()


def cmd_erp_sim(argv: list[str]) -> int:
    from dealercrm.adapters.erp.simulator import main_erp_sim

    return main_erp_sim(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["erp-sim"]:
        return cmd_erp_sim(argv[1:])
    if argv[:1] == ["video-sim"]:
        from dealercrm.adapters.video.simulator import main as main_video_sim

        return main_video_sim(argv[1:])
    if argv[:1] == ["worker"]:
        from dealercrm.entrypoints.worker import main_worker

        return main_worker(argv[1:])
    parser = argparse.ArgumentParser(prog="dealercrm", description="专用车经销商管理系统 dealercrm")
    from importlib.metadata import version

    parser.add_argument("--version", action="version", version=f"dealercrm {version('dealercrm')}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the HTTP API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--demo", action="store_true", help="load the demo data first if the database is empty")
    p.add_argument("--allow-remote", action="store_true")
    p.add_argument("--workers", type=int, default=1, help="server worker processes (PostgreSQL: one or two per core)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("db", help="schema migrations")
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("demo", help="load realistic demo data")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("user", help="user administration")
    usub = p.add_subparsers(dest="action", required=True)
    c = usub.add_parser("create")
    c.add_argument("username")
    c.add_argument("--role", required=True)
    c.add_argument("--display-name")
    c.add_argument("--dealer-id", type=int)
    c.add_argument("--region", action="append")
    c.set_defaults(func=cmd_user)

    sub.add_parser("erp-sim", help="run the ERP simulator (see docs/erp-api.md)")
    p = sub.add_parser("erp-sync", help="pull and apply the ERP event feed once")
    p.add_argument("--once", action="store_true", help="one run until the feed is drained (the default)")
    p.add_argument("--page-size", type=int, default=500)
    p.add_argument("--max-pages", type=int, default=100)
    p.set_defaults(func=cmd_erp_sync)
    sub.add_parser("worker", help="deliver the notification outbox (email/SMS)")
    sub.add_parser("video-sim", help="run the video meeting API simulator (see docs/video-api.md)")

    args = parser.parse_args(argv)
    from dealercrm.adapters.gate_keys import GateKeyError
    from dealercrm.domain.errors import DomainError

    try:
        return int(args.func(args) or 0)
    except DomainError as exc:
        print(f"错误 {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except GateKeyError as exc:  # a configuration mistake: say which setting, no traceback
        print(f"配置错误 configuration: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
