"""``/metrics`` in the Prometheus text format, for the operators' network only.

Request counts and latency are labelled by route template (``/api/v1/orders/{order_id:int}``),
never by the raw path, so ids do not explode the series. They are recorded by an ASGI
middleware in each process; with several server workers, prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, read once by ``config``) keeps each worker's figures in that folder
and every scrape adds them up, whichever worker answers. The database's figures (outbox backlog,
kiosks' last contact and offline backlog) are read at scrape time, so every worker gives the
same answer and nothing needs summing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.security import Wiring, public

UNMATCHED = "(unmatched)"  # requests no route answered: one series, whatever the path
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """The per-process request figures, on a registry of this app (none is global)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("dealercrm_http_requests", "HTTP requests answered, by route template and status",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("dealercrm_http_request_duration_seconds",
                                 "Time to answer an HTTP request, by route template", ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=registry)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500  # an exception before the response started answers 500

            async def send_and_note(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, send_and_note)
            finally:
                route = str(scope.get("path_template") or UNMATCHED)  # set by Litestar's router once matched
                method = str(scope.get("method", ""))
                self.requests.labels(method, route, str(status)).inc()
                self.latency.labels(method, route).observe(time.perf_counter() - started)

        return measured


class DatabaseCollector(Collector):
    """Figures read from the database at scrape time: the notification outbox by status, each
    edge device's last contact (its last call or status report) and its offline journal backlog
    from the last status report."""

    def __init__(self, outbox_counts: Callable[[], dict[str, int]],
                 devices: Callable[[], list[dict[str, Any]]],
                 times: Callable[[], dict[str, dt.datetime | None]] = dict) -> None:
        self._outbox_counts = outbox_counts
        self._devices = devices
        self._times = times

    def collect(self) -> Iterator[Metric]:
        outbox = GaugeMetricFamily("dealercrm_outbox_messages", "Notification outbox messages by status",
                                   labels=["status"])
        for status, count in sorted(self._outbox_counts().items()):
            outbox.add_metric([status], count)
        yield outbox
        seen = GaugeMetricFamily("dealercrm_edge_device_last_seen_timestamp_seconds",
                                 "When an active edge device (kiosk, gatehouse) last called or reported (Unix time)",
                                 labels=["device", "location"])
        backlog = GaugeMetricFamily("dealercrm_edge_device_offline_backlog",
                                    "Events an edge device holds in its offline journal, from its last status report",
                                    labels=["device", "location"])
        for device in self._devices():
            if device["revoked_at"] is not None:
                continue
            labels = [str(device["name"]), str(device["location"])]
            times = [t for t in (device["last_used_at"], device["reported_at"]) if isinstance(t, dt.datetime)]
            if times:
                seen.add_metric(labels, max(times).timestamp())
            pending = ((device["report"] or {}).get("journal") or {}).get("pending")
            if isinstance(pending, int):
                backlog.add_metric(labels, pending)
        yield seen
        yield backlog
        moments = self._times()
        for key, name, text in (
                ("erp_cursor_moved_at", "dealercrm_erp_sync_cursor_moved_timestamp_seconds",
                 "When the ERP sync last applied a page of the ERP's event feed (Unix time): the ERP lag"),
                ("oldest_open_step_at", "dealercrm_oldest_open_approval_step_timestamp_seconds",
                 "Since when the oldest open approval step has waited (Unix time); absent when none is open")):
            family = GaugeMetricFamily(name, text)
            moment = moments.get(key)
            if moment is not None:
                family.add_metric([], moment.timestamp())
            yield family


def _allowed(networks: Iterable[str]) -> Callable[[str], bool]:
    parsed = [ipaddress.ip_network(n, strict=False) for n in networks]

    def allowed(host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in parsed)

    return allowed


def metrics_handler(registry: CollectorRegistry, database: Collector, networks: Iterable[str],
                    multiprocess_dir: str) -> Any:
    """The ``/metrics`` route: 404 to any client outside ``networks`` (as if it did not exist)."""
    allowed = _allowed(networks)

    @get("/metrics", guards=[public], include_in_schema=False, sync_to_thread=True)
    def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        if request.client is None or not allowed(request.client.host):
            raise NotFoundException()
        if multiprocess_dir:  # every worker's files, added up; this process's registry would be one worker
            scrape = CollectorRegistry()
            MultiProcessCollector(scrape, path=multiprocess_dir)
        else:
            scrape = CollectorRegistry()
            scrape.register(_Forward(registry))
        scrape.register(database)
        return Response(generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)

    return metrics


class _Forward(Collector):
    """This process's request figures, on the per-scrape registry beside the database's."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


def database_collector(wiring: Wiring) -> DatabaseCollector:
    """The figures of the container the app is wired to, read at scrape time."""
    return DatabaseCollector(lambda: wiring.container.outbox_counts(),
                             lambda: wiring.container.identity.list_devices(Principal.system()),
                             lambda: wiring.container.operations_times())

