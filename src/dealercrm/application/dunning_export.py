"""催款 as a sheet: one row per overdue invoice, with its dealer, its contract's dunning level
(due and reached) and the number of reminders queued for that contract, so finance can hand the
list to the people who phone the dealers. The web page and the API export the same table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from dealercrm.application.exports import Column, ColumnKind, Table

LEVEL_LABELS = {0: "未催款", 1: "一级（友好提醒）", 2: "二级（正式催款）", 3: "三级（最后通知）"}
_T, _M, _D, _I = ColumnKind.TEXT, ColumnKind.MONEY, ColumnKind.DATE, ColumnKind.INTEGER
DUNNING_TABLE = Table("催款", (
    Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 28), Column("region", "区域", _T, 8),
    Column("contract_no", "合同编号", _T, 18), Column("invoice_no", "发票号", _T, 18),
    Column("open_fen", "逾期未收", _M, 16), Column("due_on", "到期日", _D, 12), Column("days_overdue", "逾期天数", _I, 8),
    Column("level_due", "应达催款级别", _T, 16), Column("level_reached", "已发送级别", _T, 16),
    Column("reminders", "已生成提醒数", _I, 10),
))


def dunning_rows(dealers: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``CreditService.dunning``'s dealers → contracts → invoices, flattened to the sheet's rows."""
    for d in dealers:
        for c in d["contracts"]:
            for i in c["invoices"]:
                yield {"dealer_code": d["dealer_code"], "dealer_name": d["dealer_name"], "region": d["region"],
                       "contract_no": c["contract_no"], "invoice_no": i["invoice_no"], "open_fen": i["open_fen"],
                       "due_on": i["due_on"], "days_overdue": i["days_overdue"],
                       "level_due": LEVEL_LABELS[c["level_due"]], "level_reached": LEVEL_LABELS[c["level_reached"]],
                       "reminders": len(c["reminders"])}
