"""Mapping starts here: :func:`start_mappers` maps every context's domain classes onto its tables
and installs the audit trail listener. Bootstrap calls it once; calling it again does nothing.

Each ``*_tables`` module maps its own classes; this is the only module that knows all of them,
and none of them imports it.
"""

from __future__ import annotations

from sqlalchemy import inspect

from dealercrm.adapters.db import audit, live_changes, search_indexes, shared_state
from dealercrm.adapters.db.aftersales_tables import start_aftersales_mappers
from dealercrm.adapters.db.credit_tables import start_credit_mappers
from dealercrm.adapters.db.customers_tables import start_customer_mappers
from dealercrm.adapters.db.parts_supply_tables import start_parts_supply_mappers
from dealercrm.adapters.db.engagement_tables import start_engagement_mappers
from dealercrm.adapters.db.gate_tables import start_gate_mappers
from dealercrm.adapters.db.learning_tables import start_learning_mappers
from dealercrm.adapters.db.marketing_tables import start_marketing_mappers
from dealercrm.adapters.db.orderflow_tables import start_orderflow_mappers
from dealercrm.adapters.db.orders_tables import start_order_mappers
from dealercrm.adapters.db.orm import start_channel_mappers
from dealercrm.adapters.db.stock_tables import start_stock_mappers
from dealercrm.adapters.db.supplied_parts_tables import start_supplied_parts_mappers
from dealercrm.adapters.db.workflow_tables import start_workflow_mappers
from dealercrm.domain.channel import Dealer


def start_mappers() -> None:
    """Map the domain classes (once per process) and install the audit listener."""
    if inspect(Dealer, raiseerr=False) is not None:  # mapped already: the mapper registry remembers
        return
    start_channel_mappers()
    start_engagement_mappers()
    start_order_mappers()
    start_gate_mappers()
    start_credit_mappers()
    start_stock_mappers()
    start_supplied_parts_mappers()
    start_aftersales_mappers()
    start_customer_mappers()
    start_parts_supply_mappers()
    start_orderflow_mappers()
    start_marketing_mappers()
    start_learning_mappers()
    start_workflow_mappers()
    audit.install()
    search_indexes.install()
    shared_state.install()
    live_changes.install()
