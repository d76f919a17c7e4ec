"""dealercrm: dealers, orders, credit, gate and after-sales for a special-vehicle maker."""

from dealercrm.bootstrap import Container, bootstrap
from dealercrm.config import Settings, load_settings

__all__ = ["Container", "Settings", "bootstrap", "load_settings"]
