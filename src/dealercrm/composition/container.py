"""The container ``bootstrap()`` returns: the adapters it built and one service per context.
Embedding teams hold one and call its services (``crm.channel``, ``crm.identity`` …); the
HTTP entrypoints receive the services from it by dependency injection."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs

from dealercrm.adapters.live import LiveRelay
from dealercrm.application import workflow
from dealercrm.application.approval_links import ApprovalMail
from dealercrm.application.exports import Exporter
from dealercrm.application.order_flow import OrderFlowService
from dealercrm.application.ports.credit_gate import VehicleReleasePolicy
from dealercrm.application.ports.erp import ErpGateway
from dealercrm.application.ports.gate_queries import GateQueries
from dealercrm.application.ports.persistence import (
    Clock,
    DealerQueries,
    PasswordHasher,
    TokenService,
    UnitOfWorkFactory,
)
from dealercrm.application.ports.sessions import WebSessionStore
from dealercrm.application.ports.signing import GateKeys
from dealercrm.application.ports.workflow import WorkflowQueries
from dealercrm.application.services import (
    AftersalesService,
    CareService,
    ChannelService,
    CreditService,
    EngagementService,
    GateService,
    IdentityService,
    MarketingService,
    MediaService,
    OrdersService,
    StationsService,
    StockService,
    SuppliedPartsService,
    WorkflowService,
)
from dealercrm.application.services.analytics import AnalyticsService
from dealercrm.application.services.community import CommunityService
from dealercrm.application.services.customers import CustomersService
from dealercrm.application.services.messages import MessagesService
from dealercrm.application.services.parts_catalog import PartsCatalogService
from dealercrm.application.services.parts_supply import PartsSupplyService
from dealercrm.application.services.regions import RegionsService
from dealercrm.config import Settings

if TYPE_CHECKING:
    from dealercrm.adapters.db.engine import Engine
    from dealercrm.adapters.db.erp_sync_target import SqlErpSyncTarget
    from dealercrm.adapters.db.shared_state import SqlRateLimiter
    from dealercrm.application.erp_release import ErpReleaseDeliverer
    from dealercrm.domain.notifications import Channel


@attrs.define
class Container:
    """Everything wired: the adapters, and one service per context (``channel`` and ``identity`` are the
    ones embedding teams call). ``engine`` is ``None`` when units of work and dealer queries were passed in."""

    settings: Settings
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenService
    uow: UnitOfWorkFactory
    dealer_queries: DealerQueries
    approval_mail: ApprovalMail
    gate_keys: GateKeys
    vehicle_release_policy: VehicleReleasePolicy
    workflow_handlers: workflow.WorkflowHandlers
    channel: ChannelService
    identity: IdentityService
    workflow: WorkflowService
    orders: OrdersService
    order_flow: OrderFlowService
    gate: GateService
    credit: CreditService
    stock: StockService
    supplied_parts: SuppliedPartsService
    aftersales: AftersalesService
    stations: StationsService  # technicians, nearest stations, maintenance plans (issue 18 §3)
    media: MediaService  # repair media (issue 18 §2)
    customers: CustomersService  # end customers, the customer 360 view, service contracts (issue 18 §4)
    parts_catalog: PartsCatalogService  # fitment per model and substitutes (issue 18 §5)
    parts_supply: PartsSupplyService  # paid-repair bills, parts orders, transfers, income report (issue 18 §5)
    regions: RegionsService  # the sales regions (大区) the administrators keep (issue 15 §5)
    care: CareService
    marketing: MarketingService
    engagement: EngagementService
    web_sessions: WebSessionStore  # the web UI's people sessions
    exports: Exporter  # lists and reports as XLSX / CSV downloads
    analytics: AnalyticsService  # the 分析 dashboards' reports
    messages: MessagesService  # conversations and messages (issue 21)
    community: CommunityService  # the Q&A community (issue 21 §2)
    live: LiveRelay  # where committed changes are announced to browsers (the web app connects it)
    engine: Engine | None = None
    workflow_queries: WorkflowQueries | None = None
    gate_queries: GateQueries | None = None
    erp_gateway: ErpGateway | None = None

    def erp_sync_target(self) -> SqlErpSyncTarget:
        """A fresh SQL ``ErpSyncTarget`` (one per sync run)."""
        return erp_sync_target(self.uow, self.clock)

    def rate_limiter(self, scope: str, limit: int, window_seconds: float) -> SqlRateLimiter | None:
        """A rate limit kept in the database, so it holds across server workers (``None``
        without a database: the caller keeps one per process). ``scope`` keeps its hits apart from
        every other limit's (one table holds them all)."""
        if self.engine is None:
            return None
        from dealercrm.adapters.db.shared_state import SqlRateLimiter

        return SqlRateLimiter(self.engine, limit, window_seconds, self.clock, scope)

    def outbox_deliverers(self) -> dict[Channel, ErpReleaseDeliverer]:
        """Extra outbox channels this installation delivers (the ERP release when an ERP is set)."""
        if self.erp_gateway is None:
            return {}
        from dealercrm.application.erp_release import ErpReleaseDeliverer
        from dealercrm.domain.notifications import Channel

        return {Channel.ERP: ErpReleaseDeliverer(self.uow, self.erp_gateway, self.clock)}

    def operations_times(self) -> dict[str, dt.datetime | None]:
        """When the ERP sync last moved its cursor and since when the oldest open approval step
        waits (``{}`` without a database): for /metrics."""
        if self.engine is None:
            return {}
        from dealercrm.adapters.db.operations_queries import operations_times

        return operations_times(self.engine)

    def outbox_counts(self) -> dict[str, int]:
        """The notification outbox's messages by status (``{}`` without a database)."""
        if self.engine is None:
            return {}
        from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore

        return {status.value: n for status, n in SqlAlchemyOutboxStore(self.engine).count_by_status().items()}

    def close(self) -> None:
        """Release what the container holds: the ERP gateway's connections and the database engine's
        pool. Call it once when the embedding application stops; the services are unusable after."""
        close_gateway = getattr(self.erp_gateway, "close", None)
        if close_gateway is not None:
            close_gateway()
        if self.engine is not None:
            self.engine.dispose()


def erp_sync_target(uow: UnitOfWorkFactory, clock: Clock) -> SqlErpSyncTarget:
    from dealercrm.adapters.db.erp_sync_target import SqlErpSyncTarget

    return SqlErpSyncTarget(uow, clock)
