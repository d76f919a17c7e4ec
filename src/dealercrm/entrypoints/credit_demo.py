"""Demo data of the credit context, built only through its use cases (so the demo also writes a
real audit trail): credit lines granted by finance and approved by the admin (four eyes),
approved contracts with reservations, invoices per vehicle and per contract, payments from
finance and from the ERP, one dealer just over its warning threshold, one with a receivable
45 days overdue, and a credit evaluation of every dealer.

Contracts here are numbered ``HTD-<year>-<n>`` ("demo contracts") until the orders context
writes real ones through the same credit rule.
"""

from __future__ import annotations

import datetime as dt
import random

from dealercrm.application import credit as cr
from dealercrm.application.identity import CreateUser
from dealercrm.bootstrap import Container
from dealercrm.domain.credit import business_day
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Vin

WAN = 10_000_00  # ¥10,000 (一万元) in fen
ADMIN = Principal(user_id=None, username="admin", role=Role.ADMIN)


def load_credit_demo(container: Container, password: str, *, seed: int = 2026) -> list[tuple[str, str, str]]:
    """Load the credit demo once (nothing if any credit account exists); returns extra logins."""
    system = Principal.system()
    if container.credit.accounts(system, limit=1):
        return []
    rng = random.Random(seed)
    finance = next((u for u in container.identity.list_users(system, limit=200) if u["username"] == "finance"), None)
    fin = Principal(user_id=finance["id"] if finance else None, username="finance", role=Role.FINANCE)
    container.identity.create_user(system, CreateUser("invoicing", "开票员", Role.INVOICING.value, password))
    clerk = Principal(user_id=None, username="invoicing", role=Role.INVOICING)
    today = business_day(container.clock())
    year = today.year
    dealers = [d for d in container.channel.list_dealers(system, status="approved", limit=200)]
    serial = 0
    vin_serial = 0
    payments = 0

    def contract(dealer_id: int, wan: int, *, override: str | None = None) -> str:
        nonlocal serial
        serial += 1
        number = f"HTD-{year}-{serial:04d}"
        container.credit.reserve(fin, dealer_id, number, wan * WAN, override_reason=override)
        return number

    def vins(n: int) -> tuple[str, ...]:
        nonlocal vin_serial
        out = []
        for _ in range(n):
            vin_serial += 1
            out.append(Vin.build("LJ8", "TG5C3", "T", "Z", f"{600000 + vin_serial:06d}").value)
        return tuple(out)

    def invoice(number: str, wan: int, days_ago: int = 0, cars: int = 0) -> None:
        container.credit.issue_invoice(clerk, cr.IssueInvoice(number, wan * WAN, today - dt.timedelta(days=days_ago),
                                                              vins(cars)))

    def pay(dealer_id: int, wan: int, days_ago: int = 0, contract_no: str | None = None) -> None:
        nonlocal payments
        payments += 1
        container.credit.record_payment(fin, cr.RecordPayment(
            dealer_id=dealer_id, amount_fen=wan * WAN, received_on=today - dt.timedelta(days=days_ago),
            contract_no=contract_no, reference=f"工行回单{rng.randrange(10**9, 10**10)}"),
            f"demo-payment-{payments:06d}")

    for i, d in enumerate(dealers):
        dealer_id = d["id"]
        limit = rng.choice((300, 500, 800, 1200))
        term = rng.choice((30, 45, 60))
        request = container.credit.request_change(fin, cr.RequestCreditChange(
            dealer_id=dealer_id, reason=f"{year}年度授信（经销协议约定）", limit_fen=limit * WAN, term_days=term,
            payment_cycle=rng.choice(("monthly", "semi_monthly", "per_contract")), warning_threshold_permille=800))
        container.credit.approve_change(ADMIN, request.id, "同意，按年度授信方案执行")
        if i == 0:
            # near its warning threshold: 85 % used, the warning went out once
            a = contract(dealer_id, limit * 45 // 100)
            contract(dealer_id, limit * 40 // 100)
            invoice(a, limit * 45 // 100, days_ago=10, cars=3)
            continue
        if i == 1:
            # overdue: an invoice 75 days old on its term, part paid; new approvals need an override
            a = contract(dealer_id, 120)
            invoice(a, 80, days_ago=term + 45, cars=2)
            pay(dealer_id, 30, days_ago=term + 20)
            invoice(a, 40, days_ago=5)
            continue
        for _ in range(rng.randrange(1, 4)):
            wan = rng.choice((36, 48, 52, 68, 75, 96))
            number = contract(dealer_id, wan)
            fate = rng.randrange(4)
            if fate >= 1:
                invoice(number, wan, days_ago=rng.randrange(0, term), cars=rng.choice((0, 1, 2)))
            if fate >= 2:
                pay(dealer_id, wan if fate == 3 else wan // 2, days_ago=rng.randrange(0, 5))
        if i % 5 == 2:
            pay(dealer_id, 20, contract_no=None)  # a prepayment not yet applied
    if len(dealers) > 1:
        container.credit.book_erp_payment(f"ERP-PAY-{year}-0001", dealers[1]["code"], None, 10 * WAN,
                                          container.clock() - dt.timedelta(days=1))
    for months_back in (3, 2, 1):  # the monthly evaluations of the last quarter (信用评价分析 shows the trend)
        container.credit.run_evaluations(container.clock() - dt.timedelta(days=30 * months_back))
    container.credit.run_evaluations()
    return [("invoicing", password, Role.INVOICING.label)]
