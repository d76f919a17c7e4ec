"""The web UI's main pages over HTTP vs a bare Litestar HTML page, same server, same run.

    .venv/bin/python benchmarks/web_pages.py [--seconds 5] [--connections 16]

On the demo data (``load_demo``, SQLite WAL, uvicorn[standard]), signed in through the login form
(the session cookie goes to wrk): the dealer's workbench, order list, order page, credit and stock
pages, and the reviewer's workbench and task list. The baseline is a page rendered by bare
Litestar with a compiled Jinja template — a 50-row table of fixed data, no session, no database — so the ratio is
what our session, services, queries and templates cost on top of the framework. The JSON
endpoints serving the workbench and the order list are measured beside their pages (issue 14:
page server time ≤ 2× the JSON endpoint's; p99 < 100 ms at 16 connections).
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Result, cpu_note, cpu_seconds, free_port, report, serve, wrk  # noqa: E402
from jinja2 import Environment  # noqa: E402
from litestar import MediaType, get  # noqa: E402
from litestar.response import Response  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.entrypoints.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from dealercrm.entrypoints.http.app import create_app  # noqa: E402

BASELINE_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="/static/app.css"></head><body><main><h1>{{ title }}</h1>
<table><thead><tr><th>订单号</th><th>车型</th><th>数量</th><th>金额</th><th>状态</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="/orders/{{ r.id }}">{{ r.no }}</a></td><td>{{ r.model }}</td><td>{{ r.qty }}</td>
<td>{{ r.total }}</td><td>{{ r.state }}</td></tr>{% endfor %}</tbody></table></main></body></html>"""
ROWS = [{"id": i, "no": f"SO-2026-{i:06d}", "model": "40立方米铝合金运油半挂车", "qty": i % 5 + 1,
         "total": f"¥{237650 * (i % 5 + 1):,}.00", "state": "评审中"} for i in range(1, 51)]
BASELINE_TEMPLATE = Environment(autoescape=True).from_string(BASELINE_PAGE)  # compiled once, as a page's template
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


@get("/bench/baseline-page", include_in_schema=False, exclude_from_auth=True, media_type=MediaType.HTML)
async def baseline_page() -> Response[str]:
    return Response(BASELINE_TEMPLATE.render(title="订单", rows=ROWS), media_type=MediaType.HTML)


def session_cookie(base: str, username: str) -> str:
    """Sign in through the login form as a browser would; the ``Cookie`` header for wrk."""
    import httpx

    with httpx.Client(base_url=base) as client:
        form = client.get("/login")
        token = CSRF_INPUT.search(form.text).group(1)  # type: ignore[union-attr]
        r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": token})
        if r.status_code != 303:
            raise RuntimeError(f"login as {username} failed: {r.status_code}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def bearer(base: str, username: str) -> dict[str, str]:
    import httpx

    token = httpx.post(f"{base}/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-bench-web-"))
    settings = load_settings({}, database_url=f"sqlite:///{tmp / 'bench.db'}", log_level="WARNING",
                             jwt_secret="b" * 48, session_secret="s" * 48, login_rate_per_minute=10_000,
                             principal_cache_seconds=5, sqlite_synchronous="NORMAL")
    crm = dealercrm.bootstrap(settings)
    print("loading the demo data…", flush=True)
    load_demo(crm, erp_state=str(tmp / "erp-sim.sqlite3"))
    app = create_app(settings, container=crm, extra_route_handlers=[baseline_page])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(app, port):
        import httpx

        logging.getLogger("httpx").setLevel(logging.WARNING)

        dealer, reviewer = session_cookie(base, "dealer32"), session_cookie(base, "procurement")
        dealer_api = bearer(base, "dealer32")
        first = httpx.get(f"{base}/api/v1/orders/?limit=1", headers=dealer_api).json()["items"][0]["id"]
        pages = [  # (name, url, headers)
            ("dealer: GET / (workbench)", "/", {"Cookie": dealer}),
            ("dealer: GET /orders", "/orders", {"Cookie": dealer}),
            ("dealer: GET /orders/{id}", f"/orders/{first}", {"Cookie": dealer}),
            ("dealer: GET /credit", "/credit", {"Cookie": dealer}),
            ("dealer: GET /stock", "/stock", {"Cookie": dealer}),
            ("reviewer: GET / (workbench)", "/", {"Cookie": reviewer}),
            ("reviewer: GET /tasks", "/tasks", {"Cookie": reviewer}),
            ("json: GET /api/v1/workbench", "/api/v1/workbench", dealer_api),
            ("json: GET /api/v1/orders/", "/api/v1/orders/", dealer_api),
        ]
        for name, path, headers in [("baseline", "/bench/baseline-page", {}), *pages]:
            r = httpx.get(f"{base}{path}", headers=headers, follow_redirects=False)
            if r.status_code != 200:
                raise RuntimeError(f"{name}: {path} answered {r.status_code}")
        print(f"web pages on the demo data, SQLite WAL, uvicorn[standard], wrk -t1 -c{args.connections} "
              f"-d{args.seconds}s; {cpu_note()}")
        wrk(f"{base}/bench/baseline-page", name="warm-up", seconds=1)
        cpu_ms: dict[str, float] = {}

        def measured(path: str, name: str, headers: dict[str, str]) -> Result:
            before = cpu_seconds()
            result = wrk(f"{base}{path}", name=name, connections=args.connections, seconds=args.seconds,
                         headers=headers)
            cpu_ms[name] = (cpu_seconds() - before) * 1000 / max(1.0, result.rps * args.seconds)
            return result

        baseline = measured("/bench/baseline-page", "baseline: bare Litestar page", {})
        results = [measured(path, name, headers) for name, path, headers in pages]
        report(results, baseline)
        by_name = {r.name: r for r in results}
        print("server CPU ms per request (this process, /proc): "
              + ", ".join(f"{name}: {ms:.2f}" for name, ms in cpu_ms.items()))
        base_ms = cpu_ms[baseline.name]
        print("server CPU per request vs the bare Litestar page: "
              + ", ".join(f"{name}: {ms / base_ms:.1f}×" for name, ms in cpu_ms.items() if name != baseline.name))
        for page, json_name in (("dealer: GET / (workbench)", "json: GET /api/v1/workbench"),
                                ("dealer: GET /orders", "json: GET /api/v1/orders/")):
            print(f"{page} server time vs {json_name}: {cpu_ms[page] / cpu_ms[json_name]:.2f}× "
                  f"(target ≤ 2×), p99 {by_name[page].p99_ms:.1f} ms (target < 100 ms)")
    crm.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
