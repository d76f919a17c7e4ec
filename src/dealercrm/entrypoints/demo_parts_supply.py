"""Demo parts supply (issue 18 §5): the Zhengzhou station's paid repair billed to the customer,
its parts order received into stock, Luoyang's order waiting for the parts staff, a transfer from
Zhengzhou to Luoyang in transit, and min/max levels that make replenishment suggestions."""

from __future__ import annotations

from dealercrm.composition.container import Container
from dealercrm.domain.identity import Principal


def load_parts_supply_demo(container: Container, staff: Principal, zz_user: Principal, ly: int,
                           paid_repair_record: int) -> None:
    ps = container.parts_supply
    zz = zz_user.station_id
    if zz is None:
        return
    ps.issue_bill(zz_user, paid_repair_record, "河南中原石化物流有限公司")
    order, _ = ps.submit_order(zz_user, zz, [("FV-2301", 2), ("SL-0105", 10)], "月度补货")
    ps.confirm_order(staff, order)
    ps.ship_order(staff, order, "SF1400268831")
    ps.receive_order(zz_user, order)
    ps.submit_order(staff, ly, [("HC-1180", 2)], "举升油缸备件")
    ps.set_levels(zz_user, zz, "FV-2301", 3, 8)
    ps.set_levels(zz_user, zz, "SL-0105", 10, 30)
    ps.ship_transfer(zz_user, zz, ly, [("SL-0105", 4)], "洛阳站密封圈告急")
