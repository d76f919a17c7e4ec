"""``create_app(settings)`` — the Litestar application. Nothing is built at import time."""

from __future__ import annotations

import gc
from typing import Any

import msgspec
from litestar import Litestar, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar_htmx import HTMXPlugin
from prometheus_client import CollectorRegistry

from dealercrm.application.services.identity import IdentityService
from dealercrm.bootstrap import Container, bootstrap
from dealercrm.config import Settings, load_settings
from dealercrm.entrypoints.http.aftersales import AftersalesController
from dealercrm.entrypoints.http.care import CareController
from dealercrm.entrypoints.http.community import COMMUNITY_CONTROLLERS
from dealercrm.entrypoints.http.contracts import OrderFlowController
from dealercrm.entrypoints.http.controllers import (
    AdminController,
    AuthController,
    DealerController,
)
from dealercrm.entrypoints.http.credit import CreditController
from dealercrm.entrypoints.http.customers import CustomersController
from dealercrm.entrypoints.http.dependencies import service_dependencies
from dealercrm.entrypoints.http.engagement import ENGAGEMENT_CONTROLLERS
from dealercrm.entrypoints.http.erp import ErpRejectedEventController
from dealercrm.entrypoints.http.gate import GATE_CONTROLLERS
from dealercrm.entrypoints.http.marketing import MARKETING_CONTROLLERS
from dealercrm.entrypoints.http.media import MEDIA_CONTROLLERS
from dealercrm.entrypoints.http.messages import MESSAGES_CONTROLLERS
from dealercrm.entrypoints.http.metrics import (
    RequestMetrics,
    database_collector,
    metrics_handler,
)
from dealercrm.entrypoints.http.openapi import document_routes
from dealercrm.entrypoints.http.orders import CatalogController, OrderController
from dealercrm.entrypoints.http.parts_catalog import PartsCatalogController
from dealercrm.entrypoints.http.parts_supply import PartsSupplyController
from dealercrm.entrypoints.http.regions import RegionsController
from dealercrm.entrypoints.http.problems import EXCEPTION_HANDLERS
from dealercrm.entrypoints.http.reports import ReportController
from dealercrm.entrypoints.http.security import (
    AuthMiddleware,
    PrincipalCache,
    RequestIdMiddleware,
    SlidingWindowLimiter,
    Wiring,
    public,
)
from dealercrm.entrypoints.http.service_network import SERVICE_NETWORK_CONTROLLERS
from dealercrm.entrypoints.http.stock import STOCK_CONTROLLERS
from dealercrm.entrypoints.http.strict_input import strict_input
from dealercrm.entrypoints.http.supplied_parts import SUPPLIED_PARTS_CONTROLLERS
from dealercrm.entrypoints.http.workflow import (
    DelegationController,
    WorkflowController,
    WorkflowLinkController,
)
from dealercrm.entrypoints.logging import configure_logging, route_stdlib_logging
from dealercrm.entrypoints.web.app import (
    csrf_config,
    docs_render_plugins,
    template_config,
    web_dependencies,
    web_middleware,
    web_routers,
)
from dealercrm.entrypoints.web.errors import with_web_pages
from dealercrm.entrypoints.web.live import LiveHub, channels_plugin, relay_hooks


class Health(msgspec.Struct):
    status: str


@get("/health", guards=[public], tags=["ops"], summary="存活检查 Liveness")
async def health() -> Health:
    return Health("ok")


@get("/ready", guards=[public], tags=["ops"], sync_to_thread=True, summary="就绪检查 Readiness (database reachable)")
def ready(identity: IdentityService) -> Health:
    identity.ping()
    return Health("ready")


CONTROLLERS: tuple[Any, ...] = (
    AuthController, DealerController, AdminController, *GATE_CONTROLLERS,
    WorkflowController, DelegationController, WorkflowLinkController,
    *ENGAGEMENT_CONTROLLERS,
    CatalogController, OrderController,
    CreditController,
    *STOCK_CONTROLLERS,
    *SUPPLIED_PARTS_CONTROLLERS,
    AftersalesController,
    *SERVICE_NETWORK_CONTROLLERS,
    *MEDIA_CONTROLLERS,
    CustomersController,
    PartsCatalogController,
    PartsSupplyController,
    RegionsController,
    CareController,
    OrderFlowController,
    ErpRejectedEventController,
    *MARKETING_CONTROLLERS,
    ReportController,
    *MESSAGES_CONTROLLERS,
    *COMMUNITY_CONTROLLERS,
)


def settle_heap() -> None:
    """What a server process does once its app is built, before it serves: the app, its routes,
    the mappings and the compiled templates (about 400,000 objects) live as long as the process,
    so they leave the garbage collector's generations — otherwise each full collection walks all
    of them again (about 190 ms on this machine) for nothing; requests' own garbage is collected
    as before (Python's ``gc.freeze``)."""
    gc.collect()
    gc.freeze()


def create_worker_app() -> Litestar:
    """The app of one ``dealercrm serve --workers N`` worker process: settings from the
    environment, the database already migrated by the parent process. A principal cached in one
    worker would outlive a deactivation made in another, so workers check every request against
    the database, where sessions, rate limits and the cache counters are shared."""
    settings = load_settings(principal_cache_seconds=0)
    route_stdlib_logging(settings.log_level, settings.log_json)  # a worker process of ours: uvicorn logs as JSON
    app = create_app(settings, container=bootstrap(settings, migrate=False))
    settle_heap()
    return app


def cors_config(origins: tuple[str, ...]) -> CORSConfig | None:
    """Browsers on other origins (an embedding team's own front end) may call the JSON API with a
    bearer token — never with our cookies: credentials stay off, so the web UI's session cannot be
    used cross-site. Unset (the default): no CORS headers at all, same-origin only."""
    if not origins:
        return None
    return CORSConfig(allow_origins=list(origins), allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                      allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
                      expose_headers=["X-Request-Id", "Location"], allow_credentials=False, max_age=600)


def _per_container_state(app_state: State, container: Container, settings: Settings) -> None:
    """What the app keeps per container: its rate limiters (in the database when there is one,
    so they hold across server workers) and the hub of its live sockets."""
    app_state["live_hub"] = LiveHub()  # this worker's live sockets, fed by one subscription
    app_state["login_limiter"] = (container.rate_limiter("login", settings.login_rate_per_minute, 60)
                                  or SlidingWindowLimiter(settings.login_rate_per_minute, 60))
    app_state["register_limiter"] = (container.rate_limiter("register", settings.register_rate_per_hour, 3600)
                                     or SlidingWindowLimiter(settings.register_rate_per_hour, 3600))


def create_app(settings: Settings | None = None, *, container: Container | None = None,
               extra_route_handlers: list[Any] | None = None) -> Litestar:
    settings = settings or (container.settings if container else load_settings())
    configure_logging(settings.log_level, settings.log_json)
    container = container or bootstrap(settings)
    cache = PrincipalCache(settings.principal_cache_seconds)
    wiring = Wiring(container, cache)
    state = State({"principal_cache": cache, "wiring": wiring, "wired_for": app_shape(settings)})
    _per_container_state(state, container, settings)
    registry = CollectorRegistry()  # this app's own: nothing registers globally
    request_metrics = RequestMetrics(registry)
    metrics = metrics_handler(
        registry,
        database_collector(wiring),
        settings.metrics_networks, settings.prometheus_multiproc_dir)
    live = channels_plugin(settings, lambda: wiring.container.settings.database_url)
    hooks: list[Any] = []

    async def live_up() -> None:  # the wired container's relay and messages feed this worker's hub
        hooks[:] = relay_hooks(wiring.container.live, live, app.state["live_hub"], wiring.container.messages)
        await hooks[0]()

    async def live_down() -> None:
        if hooks:
            await hooks[1]()

    app = Litestar(
        route_handlers=[health, ready, metrics, *CONTROLLERS, *(extra_route_handlers or []),
                        *web_routers()],
        dependencies={**service_dependencies(wiring), **web_dependencies(wiring)},
        state=state,
        middleware=[
            request_metrics.middleware,
            RequestIdMiddleware,
            DefineMiddleware(AuthMiddleware, wiring=wiring),
            web_middleware(wiring),
        ],
        exception_handlers=with_web_pages(EXCEPTION_HANDLERS),
        template_config=template_config(),
        csrf_config=csrf_config(container.settings),  # the container's: a per-process secret if unset
        cors_config=cors_config(settings.cors_origins),
        plugins=[HTMXPlugin(), live],
        before_request=strict_input,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="dealercrm API",
            version="1.0.0",
            description="专用车经销商管理系统 — dealers, orders, credit, gate and after-sales. "
            "Errors are RFC 9457 problem+json with stable `code`s.",
            path="/schema",
            render_plugins=docs_render_plugins(),
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                    "DeviceKey": SecurityScheme(type="apiKey", name="X-Device-Key", security_scheme_in="header"),
                }
            ),
        ),
        on_startup=[live_up],
        on_shutdown=[live_down, lambda: wiring.container.close()],
        debug=False,
    )
    document_routes(app)  # each operation's credential and problem+json answers, from its route
    return app


def app_shape(settings: Settings) -> tuple[Any, ...]:
    """The settings ``create_app`` builds into the app itself (everything else is read from the
    container per request). Two settings with the same shape can share one built app."""
    live_backend = "notify" if settings.database_url.startswith("postgresql") else "memory"
    return (settings.log_level, settings.log_json, settings.principal_cache_seconds, settings.metrics_networks,
            settings.prometheus_multiproc_dir, settings.cors_origins, settings.max_body_bytes,
            settings.session_secret, settings.portal_url, live_backend)


def rewire(app: Litestar, container: Container, settings: Settings | None = None) -> Litestar:
    """Point an app built by ``create_app`` at another container: its services, sessions,
    limiters and live relay; the principal cache starts empty. Building the app's 1,200 routes
    takes about 1.3 s, so a test suite that opens a fresh database per test builds the app once
    per shape and rewires it. The app must be idle (no request in flight, not started).
    ``settings`` are the container's unless given, as for ``create_app``."""
    settings = settings or container.settings
    if app.state["wired_for"] != app_shape(settings):
        raise ValueError("the container's settings need an app of another shape: call create_app")
    wiring: Wiring = app.state["wiring"]
    wiring.container = container
    wiring.cache.invalidate()
    _per_container_state(app.state, container, settings)
    return app
