"""Demo parts catalogue (issue 18 §5): the fitment of three demo models and one substitute (an
improved emergency valve for the tankers' FV-2301). The claimed tanker model HZ5320GYYE6 keeps
no fitment, so the demo claims show the over-fitment rule as not checked."""

from __future__ import annotations

from dealercrm.application import aftersales as af
from dealercrm.composition.container import Container
from dealercrm.domain.identity import Principal

_FITMENT = {
    "HZ3310ZZXE6": [("HC-1180", 1), ("HS-0710", 6), ("BR-0420", 4)],
    "HZ9400GYY": [("BR-0420", 6), ("FV-2301", 1), ("VL-0033", 2)],
    "HZ5180GSSE6": [("FV-2301", 1), ("SL-0105", 2), ("VL-0033", 1), ("BR-0420", 4)],
}


def load_parts_catalog_demo(container: Container, staff: Principal) -> None:
    container.aftersales.put_part(staff, af.PartCatalogIn("FV-2301A", "罐体紧急切断阀（改进型）", 47_000, 71_000, "件"))
    container.parts_catalog.put_substitutes(staff, "FV-2301", [("FV-2301A", "改进型阀芯，安装尺寸相同，可直接替换")])
    for model, lines in _FITMENT.items():
        container.parts_catalog.put_fitment(staff, model, lines)
