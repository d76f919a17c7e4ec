"""What ``create_app`` mounts for the web UI: the pages' router, static files, templates, CSRF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from dealercrm.config import Settings
from dealercrm.entrypoints.http.security import Wiring, public
from dealercrm.entrypoints.web.filters import FILTERS
from dealercrm.entrypoints.web.pages.admin import AdminPages
from dealercrm.entrypoints.web.pages.admin_catalog import CatalogPages
from dealercrm.entrypoints.web.pages.admin_dealers import AdminDealerPages
from dealercrm.entrypoints.web.pages.dealer_depth import DealerDepthPages
from dealercrm.entrypoints.web.pages.marketing_plans import MarketingPlanPages
from dealercrm.entrypoints.web.pages.admin_regions import AdminRegionPages
from dealercrm.entrypoints.web.pages.aftersales import AftersalesPages
from dealercrm.entrypoints.web.pages.analytics import AnalyticsPages
from dealercrm.entrypoints.web.pages.announcements_admin import AnnouncementAdminPages
from dealercrm.entrypoints.web.pages.auth import AuthPages
from dealercrm.entrypoints.web.pages.care_templates import CareTemplatePages
from dealercrm.entrypoints.web.pages.dispatch import DispatchPages
from dealercrm.entrypoints.web.pages.dispatch_receipts import DispatchReceiptPages
from dealercrm.entrypoints.web.pages.finance import FinancePages
from dealercrm.entrypoints.web.pages.finance_credit import FinanceCreditPages
from dealercrm.entrypoints.web.pages.dealer_credit import DealerCreditPages
from dealercrm.entrypoints.web.pages.dealer_profile import DealerProfilePages
from dealercrm.entrypoints.web.pages.dealer_sales import DealerSalesPages
from dealercrm.entrypoints.web.pages.dealer_stock import DealerStockPages
from dealercrm.entrypoints.web.pages.delegations import DelegationPages
from dealercrm.entrypoints.web.pages.factory_quotes import FactoryQuotePages
from dealercrm.entrypoints.web.pages.invitations import InvitationPages
from dealercrm.entrypoints.web.pages.knowledge import KnowledgePages
from dealercrm.entrypoints.web.pages.marketing_campaigns import MarketingCampaignPages
from dealercrm.entrypoints.web.pages.marketing_leads import MarketingLeadPages
from dealercrm.entrypoints.web.pages.marketing_trainings import MarketingTrainingPages
from dealercrm.entrypoints.web.pages.messages import MessagePages
from dealercrm.entrypoints.web.pages.community import CommunityPages
from dealercrm.entrypoints.web.pages.my_dealers import MyDealerPages
from dealercrm.entrypoints.web.pages.order_flow import OrderFlowPages
from dealercrm.entrypoints.web.pages.pickups import PickupPages
from dealercrm.entrypoints.web.pages.orders import OrderPages
from dealercrm.entrypoints.web.pages.registration import RegistrationPages
from dealercrm.entrypoints.web.pages.review import ReviewPages
from dealercrm.entrypoints.web.pages.station_admin import StationAdminPages
from dealercrm.entrypoints.web.pages.workbench import WorkbenchPages
from dealercrm.entrypoints.web.live import live_socket
from dealercrm.entrypoints.web.pages.customers import CustomerPages, ServiceContractPages
from dealercrm.entrypoints.web.pages.parts_catalog import PartsCatalogPages
from dealercrm.entrypoints.web.pages.parts_supply import PartsSupplyPages
from dealercrm.application.ports.sessions import WebSessionStore
from dealercrm.entrypoints.web.sessions import WebSessionMiddleware

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
VENDOR = "/static/vendor"
FAVICON = "<link rel='icon' type='image/svg+xml' href='/static/favicon.svg'>"

PAGES: list[Any] = [
    AuthPages, WorkbenchPages, OrderPages, ReviewPages,
    OrderFlowPages,
    DealerCreditPages,
    DealerStockPages,
    PickupPages,
    RegistrationPages,
    MyDealerPages,
    DealerProfilePages,
    DealerSalesPages,
    KnowledgePages,
    InvitationPages,
    FinancePages,
    FinanceCreditPages,
    DispatchPages,
    DispatchReceiptPages,
    AnalyticsPages,
    AdminPages,
    CatalogPages,
    AdminDealerPages,
    DealerDepthPages,
    AdminRegionPages,
    AnnouncementAdminPages,
    AftersalesPages,
    StationAdminPages,
    CareTemplatePages,
    MarketingCampaignPages,
    MarketingPlanPages,
    MarketingLeadPages,
    MarketingTrainingPages,
    live_socket,
    MessagePages,
    CommunityPages,
    CustomerPages, ServiceContractPages,
    PartsCatalogPages,
    PartsSupplyPages,
    DelegationPages,
    FactoryQuotePages,
]


def _register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)
    engine.engine.autoescape = True


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_register_filters)


def csrf_config(settings: Settings) -> CSRFConfig:
    """Double-submit CSRF token on every form and htmx write of the web UI. The JSON API is
    excluded: it authenticates with bearer tokens or device keys, never with a cookie."""
    return CSRFConfig(secret=settings.session_secret, cookie_name="dealercrm_csrf", header_name="x-csrftoken",
                      cookie_samesite="lax", cookie_secure=settings.portal_url.startswith("https://"), exclude=[r"^/api/", r"^/schema", r"^/health$", r"^/ready$"])


def docs_render_plugins() -> list[Any]:
    """The /schema pages with their JavaScript and CSS served from our static folder (offline)."""
    return [
        ScalarRenderPlugin(js_url=f"{VENDOR}/scalar/standalone.js", css_url=f"{VENDOR}/scalar/style.css",
                           favicon=FAVICON, options={"withDefaultFonts": False}),
        SwaggerRenderPlugin(path="/swagger", js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
                            css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
                            standalone_preset_js_url=f"{VENDOR}/swagger-ui/swagger-ui-standalone-preset.js",
                            favicon=FAVICON),
    ]


def web_routers() -> list[Router]:
    """The pages (the bearer-token middleware skips them; ``web_ui`` turns the session middleware
    on) and the static files (public)."""
    pages = Router(path="/", route_handlers=PAGES, opt={"exclude_from_auth": True, "web_ui": True},
                   include_in_schema=False)
    static = create_static_files_router(path="/static", directories=[STATIC], guards=[public], name="web.static",
                                        opt={"exclude_from_auth": True}, include_in_schema=False)
    return [pages, static]


def web_middleware(wiring: Wiring) -> DefineMiddleware:
    return DefineMiddleware(WebSessionMiddleware, wiring=wiring)


def web_dependencies(wiring: Wiring) -> dict[str, Provide]:
    def provide() -> WebSessionStore:
        return wiring.container.web_sessions

    return {"web_sessions": Provide(provide, sync_to_thread=False)}
