"""With nothing injected, the gate asks the credit context's one rule (CreditReleasePolicy):
no reservation for the contract, a frozen account or an overdue one keep the vehicles in."""

import datetime as dt

import pytest

import dealercrm
from dealercrm.application import channel as ch
from dealercrm.application import credit as cr
from dealercrm.application import gate as g
from dealercrm.application.identity import CreateUser
from dealercrm.application.vehicles import StockIn
from dealercrm.domain.errors import DomainError
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Vin

SYSTEM = Principal.system()
PERSON = "110105199003071239"


@pytest.fixture
def crm(db_url):
    c = dealercrm.bootstrap(database_url=db_url)
    yield c
    c.close()


def staff(crm, username, role):
    uid = crm.identity.create_user(SYSTEM, CreateUser(username, username, role.value, "Passw0rd123"))
    return Principal(uid, username, role)


def test_finance_approval_of_a_pass_applies_the_credit_rule(crm):
    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc="91350100M000100Y43", region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000"),
        applicant_username="hongda", applicant_password="Passw0rd123"))
    crm.channel.submit(SYSTEM, reg.dealer_id)
    crm.channel.approve(SYSTEM, reg.dealer_id)
    dealer = Principal(reg.user_id, "hongda", Role.DEALER, dealer_id=reg.dealer_id)
    finance, finance2 = staff(crm, "finance1", Role.FINANCE), staff(crm, "finance2", Role.FINANCE)
    dispatch, production = staff(crm, "dispatch1", Role.DISPATCH), staff(crm, "prod1", Role.PRODUCTION)
    request = crm.credit.request_change(finance, cr.RequestCreditChange(
        dealer_id=reg.dealer_id, reason="年度授信", limit_fen=1_000_000_00, term_days=30,
        payment_cycle="monthly", warning_threshold_permille=800))
    crm.credit.approve_change(finance2, request.id, "同意")

    now = crm.clock()
    vins = [Vin.build("LHZ", "5GYYB", "T", "A", f"{i:06d}").value for i in (1, 2)]
    for vin in vins:
        crm.gate.stock_in(production, StockIn(vin=vin, dealer_id=reg.dealer_id, contract_no="HT-2026-0001",
                                              product_line="tanker", stocked_at=now - dt.timedelta(days=3)))
    letter = crm.gate.register_authorization(dealer, g.RegisterAuthorization(
        contract_no="HT-2026-0001", vins=tuple(vins), person_name="张伟", id_number=PERSON, phone="13912345678",
        valid_from=now - dt.timedelta(hours=1), valid_to=now + dt.timedelta(days=7)))
    gate_pass = crm.gate.create_pass(dispatch, g.CreateGatePass(letter.id, id_number=PERSON))

    with pytest.raises(DomainError) as refused:  # finance never approved the contract: no reservation
        crm.gate.approve_pass(finance, gate_pass.id)
    assert refused.value.code == "credit.contract_unknown"
    assert crm.gate.gate_pass(SYSTEM, gate_pass.id)["status"] == "pending_approval"

    crm.credit.reserve(finance, reg.dealer_id, "HT-2026-0001", 60_000_000)
    crm.gate.approve_pass(finance, gate_pass.id)
    assert crm.gate.gate_pass(SYSTEM, gate_pass.id)["status"] == "approved"
