"""Which pages one order submission writes: the SQLite WAL frames per order, by table and index.

    .venv/bin/python benchmarks/order_wal_pages.py [--history 10000] [--orders 100]

Submits ``--orders`` orders (``POST /api/v1/orders/?submit=true``, in process, with the review
staff and history of ``order_submit.py``) with automatic checkpoints off, then reads the page
number of every frame in the WAL and names the b-tree it belongs to (SQLite's ``dbstat``). A
commit in WAL mode appends every page it dirtied, and the checkpoint copies them into the
database again, so pages per order is the write cost the history's size could grow (deeper
trees, more splits) — and shows what each index costs. The seeded database with its history is
taken from (or left in) the temp directory, as ``order_submit.py --cache`` does.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import shutil
import sqlite3
import struct
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import order_submit  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from litestar.testing import TestClient  # noqa: E402
from order_history import build_order_history  # noqa: E402
from sqlalchemy import event  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.adapters.db import migrate  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.entrypoints.http.app import create_app  # noqa: E402


def seeded(history: int) -> Path:
    """The temp directory's seeded database with ``history`` orders (built once, as order_submit.py --cache)."""
    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
    cached = Path(tempfile.gettempdir()) / f"dealercrm-bench-orders-{head}-{history}.db"
    if not cached.exists():
        build = Path(tempfile.mkdtemp(prefix="dealercrm-bench-")) / "seed.db"
        crm = dealercrm.bootstrap(load_settings({}, database_url=f"sqlite:///{build}", log_level="WARNING",
                                                jwt_secret="b" * 48))
        dealer_id, template_id = order_submit.seed(crm)
        crm.close()
        if history:
            build_order_history(build, dealer_ids=[dealer_id], template_id=template_id, orders=history)
        with sqlite3.connect(build) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(build, cached)
        shutil.rmtree(build.parent, ignore_errors=True)
    return cached


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=10_000)
    ap.add_argument("--orders", type=int, default=100)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-bench-"))
    db = tmp / "bench.db"
    shutil.copyfile(seeded(args.history), db)
    settings = load_settings({}, database_url=f"sqlite:///{db}", log_level="WARNING", jwt_secret="b" * 48,
                             sqlite_synchronous="NORMAL")
    crm = dealercrm.bootstrap(settings)
    crm.engine.dispose()  # the pool's connections are opened again with automatic checkpoints off
    event.listen(crm.engine, "connect", lambda conn, _record: conn.execute("PRAGMA wal_autocheckpoint=0"))
    with sqlite3.connect(db) as c:
        template_id = c.execute("SELECT id FROM catalog_templates ORDER BY id LIMIT 1").fetchone()[0]
    body = json.dumps({"template_id": template_id, "options": order_submit.OPTIONS, "quantity": 1,
                       "requested_delivery_date": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
                       "delivery_method": "self_pickup", "remarks": "基准测试",
                       "end_customer": {"name": "中石化河南石油分公司", "industry": "成品油运输"}}, ensure_ascii=False)
    monitor = sqlite3.connect(db)
    monitor.execute("PRAGMA wal_autocheckpoint=0")
    wal = db.parent / (db.name + "-wal")
    with TestClient(create_app(settings, container=crm)) as client:
        token = client.post("/api/v1/auth/login", json={"username": "bench_dealer",
                                                         "password": order_submit.PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for _ in range(5):  # warm: caches filled, first pages of each tree touched
            client.post("/api/v1/orders/?submit=true", content=body.encode(), headers=headers)
        monitor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for _ in range(args.orders):
            r = client.post("/api/v1/orders/?submit=true", content=body.encode(), headers=headers)
            if r.status_code != 201:
                print(f"submission failed: {r.status_code} {r.text}", file=sys.stderr)
                return 1
        data = wal.read_bytes()
        page_size = struct.unpack(">I", data[8:12])[0]
        pages = [struct.unpack(">I", data[at:at + 4])[0] for at in range(32, len(data), 24 + page_size)]
        owner = dict(monitor.execute("SELECT pageno, name FROM dbstat"))
    monitor.close()
    by_tree = collections.Counter(owner.get(p, "(free list)") for p in pages)
    print(f"WAL frames per order submission, history {args.history} orders, {args.orders} orders: "
          f"{len(pages) / args.orders:.1f} pages of {page_size} B ({len(data) / args.orders / 1024:.0f} KB) per order")
    for name, count in by_tree.most_common():
        print(f"{count / args.orders:8.1f}  {name}")
    crm.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
