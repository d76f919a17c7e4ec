"""One typed service per context: its use cases with their dependencies bound, and its access
checks. ``bootstrap`` builds each; the HTTP and web controllers receive them by injection."""

from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.application.services.care import CareService
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.credit import CreditService
from dealercrm.application.services.engagement import EngagementService
from dealercrm.application.services.gate import GateService
from dealercrm.application.services.identity import IdentityService
from dealercrm.application.services.marketing import MarketingService
from dealercrm.application.services.media import MediaService
from dealercrm.application.services.messages import MessagesService
from dealercrm.application.services.orders import OrdersService
from dealercrm.application.services.stations import StationsService
from dealercrm.application.services.stock import StockService
from dealercrm.application.services.supplied_parts import SuppliedPartsService
from dealercrm.application.services.workflow import WorkflowService

__all__ = ["AftersalesService", "CareService", "ChannelService", "CreditService", "EngagementService", "GateService", "IdentityService", "MarketingService", "MediaService", "MessagesService", "OrdersService", "StationsService", "StockService", "SuppliedPartsService", "WorkflowService"]
