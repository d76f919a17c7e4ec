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
from typing import TYPE_CHECKING

import attrs

from dealercrm.adapters.live import LiveRelay
from dealercrm.application import (
    aftersales,
    channel,
    credit,
    order_changes,
    order_review_outcome,
    workflow,
)
from dealercrm.application.approval_links import ApprovalMail
from dealercrm.application.erp_jobs import ErpSyncJob
from dealercrm.application.exports import Exporter
from dealercrm.application.gate import IdDigester
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
from dealercrm.application.services import (
    AftersalesService,
    ChannelService,
    CreditService,
    GateService,
    IdentityService,
    MediaService,
    OrdersService,
    StationsService,
    StockService,
    SuppliedPartsService,
    WorkflowService,
)
from dealercrm.application.services.analytics import AnalyticsService
from dealercrm.application.services.customers import CustomersService
from dealercrm.application.services.parts_catalog import PartsCatalogService
from dealercrm.application.services.parts_supply import PartsSupplyService
from dealercrm.application.services.regions import RegionsService
from dealercrm.composition.container import Container, erp_sync_target
from dealercrm.composition.contexts import (
    care_marketing_engagement,
    community_service,
    message_digest_jobs,
    messages_service,
)
from dealercrm.config import Settings, load_settings, with_process_secrets
from dealercrm.domain.identity import Principal
from dealercrm.domain.media import MediaLimits

if TYPE_CHECKING:
    from dealercrm.adapters.db.engine import Engine
    from dealercrm.adapters.db.orderflow_queries import SqlOrderFlowQueries

__all__ = ["Container", "bootstrap", "system_clock", "workflow_handler_table"]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def workflow_handler_table() -> workflow.WorkflowHandlers:
    """Which context owns each kind of document under review: its outcome (and step) handlers."""
    return workflow.WorkflowHandlers.of(
        channel.DEALER_REVIEW_HANDLERS,
        order_review_outcome.ORDER_REVIEW_HANDLERS,
        order_changes.ORDER_CHANGE_HANDLERS,
        aftersales.CLAIM_REVIEW_HANDLERS,
    )


def _carrying(uow_factory: UnitOfWorkFactory, **ports: object) -> UnitOfWorkFactory:
    """Every unit of work this container opens carries these ports (the workflow handler table,
    the contract renderer the review's outcome uses to issue the e-contract), unless the caller's
    unit of work brings its own."""

    def uow_for(actor: Principal) -> UnitOfWork:
        uow = uow_factory(actor)
        for name, port in ports.items():
            if getattr(uow, name, None) is None:
                setattr(uow, name, port)
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
    workflow_handlers: workflow.WorkflowHandlers | None = None,
) -> Container:
    """Build a configured dealercrm. Pass any port to replace the default adapter
    (``workflow_handlers``: the workflow handler table, default :func:`workflow_handler_table`)."""
    if settings is None:
        settings = load_settings(**({"database_url": database_url} if database_url else {}))
    elif database_url:
        settings = attrs.evolve(settings, database_url=database_url)
    settings = with_process_secrets(settings)
    clock = clock or system_clock

    from dealercrm.adapters.db.aftersales_queries import SqlAftersalesQueries
    from dealercrm.adapters.db.analytics_queries import SqlAnalyticsQueries
    from dealercrm.adapters.db.customers_queries import SqlCustomerQueries
    from dealercrm.adapters.db.parts_supply_queries import SqlPartsSupplyQueries
    from dealercrm.adapters.db.mapping import start_mappers
    from dealercrm.adapters.db.marketing_queries import SqlKnowledgeQueries
    from dealercrm.adapters.db.parts_catalog_queries import SqlPartsCatalogQueries
    from dealercrm.adapters.db.stock_queries import SqlStockQueries
    from dealercrm.adapters.db.supplied_parts_queries import SqlSuppliedPartsQueries
    from dealercrm.adapters.db.web_sessions import web_session_store
    from dealercrm.adapters.documents.contract_pdf import PdfContractRenderer
    from dealercrm.adapters.documents.print_pdf import FpdfDocumentRenderer
    from dealercrm.adapters.documents.tables import CsvTableWriter, XlsxTableWriter
    from dealercrm.adapters.files.images import PillowImageInspector
    from dealercrm.adapters.files.photo_store import LocalDirectoryPhotoStore
    from dealercrm.adapters.security import Argon2PasswordHasher, JwtTokenService
    from dealercrm.application.contracts import LazyContractRenderer

    start_mappers()
    approval_mail = ApprovalMail.signed(settings.portal_url, settings.workflow_link_secret, settings.jwt_secret,
                                        settings.workflow_link_ttl_hours)
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
    handlers = workflow_handlers if workflow_handlers is not None else workflow_handler_table()
    font = settings.pdf_font or None
    live = LiveRelay()
    uow = _carrying(uow_factory, workflow_handlers=handlers, live=live,
                    contract_renderer=LazyContractRenderer(lambda: PdfContractRenderer(font)))
    hasher = password_hasher or Argon2PasswordHasher()
    tokens = token_service or JwtTokenService(
        settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
        ttl=dt.timedelta(minutes=settings.token_ttl_minutes), clock=clock,
    )
    policy = vehicle_release_policy or credit.CreditReleasePolicy()
    erp_sync = ((ErpSyncJob(erp_gateway, lambda: erp_sync_target(uow, clock)),)
                if erp_gateway is not None and engine is not None else ())
    photo_store, aftersales_queries = LocalDirectoryPhotoStore(settings.photo_path()), SqlAftersalesQueries(engine)
    aftersales_service = AftersalesService(uow, clock, aftersales_queries)
    care, marketing, engagement = care_marketing_engagement(
        settings, clock, uow, engine, workflow_queries=workflow_queries, video=video_conferencing,
        jobs=(*erp_sync, aftersales_service.monthly_report_job(settings.portal_url),
              *message_digest_jobs(settings, clock, engine)),
        quote_queries=order_queries)
    exports = Exporter({"xlsx": XlsxTableWriter(), "csv": CsvTableWriter()}, clock)
    order_service, credit_service = OrdersService(uow, clock, order_queries), CreditService(uow, clock, credit_queries)
    stock_service = StockService(uow, clock, SqlStockQueries(engine), IdDigester(gate_keys.id_key), exports)
    media_service = MediaService(uow, clock, aftersales_queries, aftersales_service, SqlKnowledgeQueries(engine),
                                 photo_store, PillowImageInspector(), MediaLimits(**{  # DEALERCRM_MEDIA_* settings
                                     n: getattr(settings, f"media_{n}") for n in attrs.fields_dict(MediaLimits)
                                     if hasattr(settings, f"media_{n}")}))
    gate_service = GateService(uow, clock, gate_queries, gate_keys, policy, FpdfDocumentRenderer(settings.pdf_font),
                               settings.portal_url)
    return Container(
        settings=settings, clock=clock, hasher=hasher, tokens=tokens, uow=uow, dealer_queries=dealer_queries,
        approval_mail=approval_mail, gate_keys=gate_keys, vehicle_release_policy=policy, engine=engine,
        workflow_handlers=handlers, workflow_queries=workflow_queries, gate_queries=gate_queries,
        erp_gateway=erp_gateway,
        channel=ChannelService(uow, clock, hasher, dealer_queries),
        identity=IdentityService(uow, clock, hasher, tokens, dealer_queries),
        workflow=WorkflowService(uow, clock, workflow_queries, approval_mail),
        orders=order_service,
        order_flow=OrderFlowService(uow, clock, order_queries, flow_queries, workflow_queries),
        gate=gate_service,
        credit=credit_service,
        stock=stock_service,
        supplied_parts=SuppliedPartsService(uow, clock, SqlSuppliedPartsQueries(engine), photo_store),
        aftersales=aftersales_service,
        stations=StationsService(uow, clock, aftersales_queries),
        customers=CustomersService(uow, clock, SqlCustomerQueries(engine)),
        parts_catalog=PartsCatalogService(uow, SqlPartsCatalogQueries(engine)),
        parts_supply=PartsSupplyService(uow, clock, SqlPartsSupplyQueries(engine), exports),
        regions=RegionsService(uow, clock),
        media=media_service,
        care=care, marketing=marketing, engagement=engagement,
        exports=exports,
        analytics=AnalyticsService(clock, order_service, credit_service, stock_service, gate_service, marketing,
                                   SqlAnalyticsQueries(engine)),
        messages=messages_service(settings, clock, engine, live, order_service, aftersales_service, gate_service,
                           media_service),
        community=community_service(clock, engine, marketing),
        live=live,
        web_sessions=web_session_store(engine, clock, settings.session_secret,
                                       dt.timedelta(minutes=settings.session_ttl_minutes)),
    )
