"""``/metrics``: Prometheus text for the operators' network only, request figures by route
template, the outbox and the edge devices from the database — and, with several server
processes sharing ``PROMETHEUS_MULTIPROC_DIR`` (what ``serve --workers N`` runs), figures that
add up across them whichever process answers the scrape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

import dealercrm
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.app import create_app

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_answer_404_outside_the_operators_networks(sqlite_url):
    settings = load_settings({}, database_url=sqlite_url, jwt_secret="m" * 48, log_level="WARNING")
    crm = dealercrm.bootstrap(settings)

    with TestClient(create_app(settings, container=crm)) as client:  # its client is "testclient", no address
        answer = client.get("/metrics")

    assert answer.status_code == 404


@pytest.fixture
def two_workers(tmp_path, sqlite_url):
    """Two ``dealercrm serve`` processes on one database and one multiprocess folder, as the
    workers of ``serve --workers 2`` would be; a kiosk key issued beforehand."""
    crm = dealercrm.bootstrap(load_settings({}, database_url=sqlite_url, log_level="WARNING"))
    key = crm.identity.issue_device_key(Principal.system(), "北门自助机", "北门").api_key
    crm.close()
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {**os.environ, "DEALERCRM_DATABASE_URL": sqlite_url, "DEALERCRM_KEY_DIR": str(tmp_path / "keys"),
           "DEALERCRM_LOG_LEVEL": "WARNING", "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cli = [sys.executable, "-m", "dealercrm.entrypoints.cli"]
    subprocess.run([*cli, "keys", "init", "--dir", str(tmp_path / "keys")], env=env, check=True, capture_output=True)
    procs, urls = [], []
    for n in range(2):
        port = _free_port()
        log = (tmp_path / f"server{n}.log").open("w")
        procs.append(subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, cwd=tmp_path))
        urls.append(f"http://127.0.0.1:{port}")
    for n, (proc, url) in enumerate(zip(procs, urls, strict=True)):
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    for p in procs:
                        p.kill()
                    pytest.fail((tmp_path / f"server{n}.log").read_text()[-3000:])
                time.sleep(0.3)
    yield urls, key
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)


def test_figures_add_up_across_server_processes(two_workers):
    (first, second), key = two_workers
    with httpx.Client() as http:
        for _ in range(3):
            http.get(f"{first}/health")
        for _ in range(4):
            http.get(f"{second}/health")
        http.post(f"{second}/api/v1/kiosk/status", headers={"X-Device-Key": key},
                  json={"report": {"state": "running", "journal": {"pending": 3, "sent": 10, "refused": 0}}})

        scrape = http.get(f"{first}/metrics")

    samples = _samples(scrape.text)
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    # 3 + 4 here and the fixture's one answered probe per process: 9 only if both processes count
    health = (("method", "GET"), ("route", "/health"), ("status", "200"))
    assert samples[("dealercrm_http_requests_total", health)] == 9
    assert samples[("dealercrm_http_request_duration_seconds_count", health[:2])] == 9
    status_route = [k for k in samples if k[0] == "dealercrm_http_requests_total" and ("route", "/api/v1/kiosk/status") in k[1]]
    assert [dict(k[1])["status"] for k in status_route] == ["200"]
    assert samples[("dealercrm_outbox_messages", (("status", "pending"),))] >= 0
    device = (("device", "北门自助机"), ("location", "北门"))
    assert samples[("dealercrm_edge_device_offline_backlog", device)] == 3
    assert samples[("dealercrm_edge_device_last_seen_timestamp_seconds", device)] > 0


def test_the_erp_lag_and_the_oldest_open_approval_are_exported_as_timestamps(sqlite_url):
    import datetime as dt

    from sqlalchemy import insert

    from dealercrm.adapters.db.orderflow_tables import erp_sync_cursors
    from dealercrm.entrypoints.http.metrics import DatabaseCollector

    crm = dealercrm.bootstrap(load_settings({}, database_url=sqlite_url, jwt_secret="m" * 48, log_level="WARNING"))
    empty = crm.operations_times()
    moved = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
    with crm.engine.begin() as conn:
        conn.execute(insert(erp_sync_cursors).values(name="events", cursor="c-42", updated_at=moved))
    after = crm.operations_times()
    crm.close()
    families = {f.name: f for f in DatabaseCollector(dict, list, lambda: after).collect()}

    assert empty == {"erp_cursor_moved_at": None, "oldest_open_step_at": None}
    assert after["erp_cursor_moved_at"] == moved
    assert [s.value for s in families["dealercrm_erp_sync_cursor_moved_timestamp_seconds"].samples] == [
        moved.timestamp()]
    assert families["dealercrm_oldest_open_approval_step_timestamp_seconds"].samples == []
