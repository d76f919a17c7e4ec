"""The composition root: the one place that names concrete adapters, and the library facade
for embedding teams.

    import dealercrm
    crm = dealercrm.bootstrap(database_url="sqlite:///crm.db")   # migrates, maps, wires
    reg = crm.channel.register_dealer(RegisterDealer(...))
    crm.channel.approve(actor, reg.dealer_id)

``bootstrap()`` builds the adapters and hands each context's service its dependencies (the
services live in ``application/services/``). Every port can be replaced by passing it in:
``bootstrap(clock=..., password_hasher=..., uow_factory=..., dealer_queries=...)``. Nothing here
runs at import time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from dealercrm.application import credit
from dealercrm.application.approval_links import ApprovalMail
from dealercrm.application.credit_jobs import CreditEvaluationJob, CreditRemindersJob
from dealercrm.application.delivery_dates import DeliveryDateReminderRule
from dealercrm.application.erp_jobs import ErpSyncJob
from dealercrm.application.gate_jobs import KioskEventRetentionJob, ReceiptRemindersJob
from dealercrm.application.order_flow import OrderFlowService
from dealercrm.application.ports.credit_gate import VehicleReleasePolicy
from dealercrm.application.ports.credit_queries import CreditQueries
from dealercrm.application.ports.erp import ErpGateway
from dealercrm.application.ports.gate_queries import GateQueries
from dealercrm.application.ports.orders import OrderQueries
from dealercrm.application.ports.persistence import (
    Clock,
    DealerQueries,
    PasswordHasher,
    TokenService,
    UnitOfWork,
    UnitOfWorkFactory,
)
from dealercrm.application.ports.signing import GateKeys
from dealercrm.application.ports.video import VideoConferencing
from dealercrm.application.ports.workflow import WorkflowQueries
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.credit import CreditService
from dealercrm.application.services.gate import GateService
from dealercrm.application.services.identity import IdentityService
from dealercrm.application.services.orders import OrdersService
from dealercrm.application.services.workflow import WorkflowService
from dealercrm.application.workflow_workbench import (
    ApprovalDeadlineCalendarSource,
    PendingApprovalsSource,
)
from dealercrm.bootstrap_aftersales import AftersalesService
from dealercrm.bootstrap_care import CareService, register_care_rules
from dealercrm.bootstrap_engagement import EngagementService
from dealercrm.bootstrap_marketing import MarketingService
from dealercrm.bootstrap_stock import StockService, register_stock_rules
from dealercrm.bootstrap_supplied_parts import SuppliedPartsService
from dealercrm.config import Settings, load_settings
from dealercrm.domain.identity import Principal

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dealercrm.adapters.db.erp_sync_target import SqlErpSyncTarget
    from dealercrm.adapters.db.orderflow_queries import SqlOrderFlowQueries
    from dealercrm.application.erp_release import ErpReleaseDeliverer
    from dealercrm.domain.notifications import Channel

__all__ = ["Container", "bootstrap", "system_clock"]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.define
class Container:
    """Everything wired: the adapters, and one service per context (``channel`` and
    ``identity`` are the ones embedding teams call). ``engine`` is ``None`` when the units of
    work and the dealer queries were passed in (then no SQL read side is wired)."""

    settings: Settings
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenService
    uow: UnitOfWorkFactory
    dealer_queries: DealerQueries
    approval_mail: ApprovalMail
    gate_keys: GateKeys
    vehicle_release_policy: VehicleReleasePolicy
    channel: ChannelService
    identity: IdentityService
    workflow: WorkflowService
    orders: OrdersService
    order_flow: OrderFlowService
    gate: GateService
    credit: CreditService
    engine: Engine | None = None
    workflow_queries: WorkflowQueries | None = None
    gate_queries: GateQueries | None = None
    erp_gateway: ErpGateway | None = None
    video_conferencing: VideoConferencing | None = None  # None: built from the settings
    engagement: EngagementService = attrs.field(init=False)
    stock: StockService = attrs.field(init=False)
    supplied_parts: SuppliedPartsService = attrs.field(init=False)
    aftersales: AftersalesService = attrs.field(init=False)
    care: CareService = attrs.field(init=False)
    marketing: MarketingService = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        """The facades that still take the whole container, and the scheduler's rules and jobs."""
        self.engagement = EngagementService(self)
        if self.workflow_queries is not None:
            self.engagement.workbench_sources.register(PendingApprovalsSource(self.workflow_queries))
            self.engagement.calendar_sources.register(ApprovalDeadlineCalendarSource(self.workflow_queries, self.clock))
        rules = self.engagement.rules
        rules.register_job(CreditRemindersJob(self.uow))
        rules.register_job(CreditEvaluationJob(self.uow))
        rules.register_job(ReceiptRemindersJob(self.uow, self.settings.portal_url,
                                               dt.timedelta(days=self.settings.receipt_grace_days)))
        rules.register_job(KioskEventRetentionJob(self.uow, self.settings.kiosk_event_retention_days))
        if self.erp_gateway is not None and self.engine is not None:
            rules.register_job(ErpSyncJob(self.erp_gateway, self.erp_sync_target))
        self.stock = StockService(self)
        register_stock_rules(self)
        rules.register(DeliveryDateReminderRule(self.settings.delivery_reminder_days))
        self.supplied_parts = SuppliedPartsService(self)
        self.aftersales = AftersalesService(self)
        self.care = CareService(self)
        register_care_rules(self)
        self.marketing = MarketingService(self, video=self.video_conferencing)

    def erp_sync_target(self) -> SqlErpSyncTarget:
        """A fresh SQL ``ErpSyncTarget`` (one per sync run)."""
        from dealercrm.adapters.db.erp_sync_target import SqlErpSyncTarget

        return SqlErpSyncTarget(self.uow, self.clock)

    def outbox_deliverers(self) -> dict[Channel, ErpReleaseDeliverer]:
        """Extra outbox channels this installation delivers (the ERP release when an ERP is set)."""
        if self.erp_gateway is None:
            return {}
        from dealercrm.application.erp_release import ErpReleaseDeliverer
        from dealercrm.domain.notifications import Channel

        return {Channel.ERP: ErpReleaseDeliverer(self.uow, self.erp_gateway, self.clock)}

    def close(self) -> None:
        close_gateway: Callable[[], None] | None = getattr(self.erp_gateway, "close", None)
        if close_gateway is not None:
            close_gateway()
        if self.engine is not None:
            self.engine.dispose()


def _with_contract_renderer(uow_factory: UnitOfWorkFactory, font: str | None) -> UnitOfWorkFactory:
    """Every unit of work this container opens carries its contract renderer (the document
    port the review's outcome uses to issue the e-contract), built lazily from the settings."""
    from dealercrm.adapters.documents.contract_pdf import PdfContractRenderer
    from dealercrm.application.contracts import LazyContractRenderer

    renderer = LazyContractRenderer(lambda: PdfContractRenderer(font))

    def uow_for(actor: Principal) -> UnitOfWork:
        uow = uow_factory(actor)
        if getattr(uow, "contract_renderer", None) is None:
            uow.contract_renderer = renderer  # type: ignore[attr-defined]
        return uow

    return uow_for


def bootstrap(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    migrate: bool = True,
    clock: Clock | None = None,
    password_hasher: PasswordHasher | None = None,
    token_service: TokenService | None = None,
    uow_factory: UnitOfWorkFactory | None = None,
    dealer_queries: DealerQueries | None = None,
    workflow_queries: WorkflowQueries | None = None,
    vehicle_release_policy: VehicleReleasePolicy | None = None,
    gate_keys: GateKeys | None = None,
    erp_gateway: ErpGateway | None = None,
    video_conferencing: VideoConferencing | None = None,
) -> Container:
    """Build a configured dealercrm. Pass any port to replace the default adapter."""
    if settings is None:
        settings = load_settings(**({"database_url": database_url} if database_url else {}))
    elif database_url:
        settings = attrs.evolve(settings, database_url=database_url)
    clock = clock or system_clock

    from dealercrm.adapters.db.orm import start_mappers
    from dealercrm.adapters.documents.print_pdf import FpdfDocumentRenderer
    from dealercrm.adapters.security import Argon2PasswordHasher, JwtTokenService

    start_mappers()
    approval_mail = _approval_mail(settings)
    if gate_keys is None:
        from dealercrm.adapters.gate_keys import load_gate_keys

        gate_keys = load_gate_keys(settings.gate_signing_key, settings.gate_verification_keys,
                                   settings.gate_id_hash_key)
    engine: Engine | None = None
    order_queries: OrderQueries | None = None
    credit_queries: CreditQueries | None = None
    gate_queries: GateQueries | None = None
    flow_queries: SqlOrderFlowQueries | None = None
    if uow_factory is None or dealer_queries is None:
        from dealercrm.adapters.db import migrate as migrations
        from dealercrm.adapters.db.credit_queries import SqlCreditQueries
        from dealercrm.adapters.db.engine import make_engine
        from dealercrm.adapters.db.gate_queries import SqlGateQueries
        from dealercrm.adapters.db.orderflow_queries import SqlOrderFlowQueries
        from dealercrm.adapters.db.orders_queries import SqlOrderQueries
        from dealercrm.adapters.db.queries import SqlDealerQueries
        from dealercrm.adapters.db.uow import make_uow_factory
        from dealercrm.adapters.db.workflow_queries import SqlWorkflowQueries

        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        if migrate:
            migrations.upgrade(engine)
        uow_factory = uow_factory or make_uow_factory(engine, clock, approval_mail=approval_mail)
        dealer_queries = dealer_queries or SqlDealerQueries(engine)
        workflow_queries = workflow_queries or SqlWorkflowQueries(engine)
        order_queries, credit_queries = SqlOrderQueries(engine), SqlCreditQueries(engine)
        gate_queries, flow_queries = SqlGateQueries(engine), SqlOrderFlowQueries(engine)
    if erp_gateway is None and settings.erp_url:
        from dealercrm.adapters.erp.http_gateway import HttpErpGateway

        erp_gateway = HttpErpGateway(settings.erp_url, settings.erp_api_key, timeout=settings.erp_timeout_seconds)
    uow = _with_contract_renderer(uow_factory, settings.pdf_font or None)
    hasher = password_hasher or Argon2PasswordHasher()
    tokens = token_service or JwtTokenService(
        settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
        ttl=dt.timedelta(minutes=settings.token_ttl_minutes), clock=clock,
    )
    policy = vehicle_release_policy or credit.CreditReleasePolicy()
    return Container(
        settings=settings, clock=clock, hasher=hasher, tokens=tokens, uow=uow, dealer_queries=dealer_queries,
        approval_mail=approval_mail, gate_keys=gate_keys, vehicle_release_policy=policy, engine=engine,
        workflow_queries=workflow_queries, gate_queries=gate_queries, erp_gateway=erp_gateway,
        video_conferencing=video_conferencing,
        channel=ChannelService(uow, clock, hasher, dealer_queries),
        identity=IdentityService(uow, clock, hasher, tokens, dealer_queries),
        workflow=WorkflowService(uow, clock, workflow_queries, approval_mail),
        orders=OrdersService(uow, clock, order_queries),
        order_flow=OrderFlowService(uow, clock, order_queries, flow_queries, workflow_queries),
        gate=GateService(uow, clock, gate_queries, gate_keys, policy, FpdfDocumentRenderer(settings.pdf_font),
                         settings.portal_url),
        credit=CreditService(uow, clock, credit_queries),
    )


def _approval_mail(settings: Settings) -> ApprovalMail:
    from dealercrm.application.approval_links import ApprovalLinkSigner, derive_link_key

    return ApprovalMail(
        portal_url=settings.portal_url,
        signer=ApprovalLinkSigner(derive_link_key(settings.workflow_link_secret, settings.jwt_secret)),
        link_ttl=dt.timedelta(hours=settings.workflow_link_ttl_hours),
    )
