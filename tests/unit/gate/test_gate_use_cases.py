"""The gate use cases against the in-memory twins (no database): a letter of authorization, the
pass dispatch issues, finance's approval through the one credit rule, the kiosk finding and
printing it, the gate verifying and recording the one exit, and voiding — asserting the stored
passes, vehicles, exits, the idempotency ledger and the outbox."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.adapters.gate_keys import load_gate_keys
from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import credit
from dealercrm.application import gate as uc
from dealercrm.domain.channel import Address, Dealer, DealerStatus
from dealercrm.domain.credit import AccountStatus
from dealercrm.domain.errors import BusinessRuleViolation, InvalidValue, NotFound
from dealercrm.domain.gate import GatePassStatus
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc, Vin
from dealercrm.domain.vehicles import Vehicle, VehicleState

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
ID_NUMBER = "110105199003071239"
CONTRACT = "HT-2026-000001"
VINS = [Vin.build("LZZ", "1CLVB", "T", "A", f"{n:06d}").value for n in (1, 2)]
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
DISPATCH = Principal(user_id=2, username="disp", role=Role.DISPATCH)
FINANCE = Principal(user_id=3, username="fin", role=Role.FINANCE)
KIOSK = Principal(user_id=None, username="kiosk-1", role=Role.KIOSK, device_id=1)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


class World:
    def __init__(self) -> None:
        self.clock = Clock()
        self.uow = memory_uow_factory(clock=self.clock)
        self.keys = load_gate_keys()
        self.digester = uc.IdDigester(self.keys.id_key)
        self.policy = credit.CreditReleasePolicy()
        with self.uow(ADMIN) as u:
            d = Dealer(code="DL-000001", legal_name="郑州宏达专用车销售有限公司", uscc=Uscc("91350100M000100Y43"),
                       region="华中", address=Address("河南省", "郑州市", "经开区88号"), status=DealerStatus.APPROVED)
            u.dealers.add(d)
            u.flush()
            for vin in VINS:
                u.vehicles.add(Vehicle(vin=Vin(vin), state=VehicleState.IN_FACTORY_STOCK, dealer_id=d.id,
                                       contract_no=CONTRACT))
            u.credit.lock_account(d.id).limit_fen = 1_000_000_00
            credit.reserve_for_contract(u, d.id, CONTRACT, 500_000_00, now=NOW)
            u.commit()
        self.dealer_id = d.id
        self.dealer = Principal(user_id=9, username="hongda", role=Role.DEALER, dealer_id=d.id)

    def authorization(self) -> int:
        cmd = uc.RegisterAuthorization(CONTRACT, tuple(VINS), "张伟", ID_NUMBER, "13800138000",
                                       NOW - dt.timedelta(hours=1), NOW + dt.timedelta(days=2))
        return uc.register_authorization(cmd, self.uow(self.dealer), self.clock, self.digester).id

    def gate_pass(self) -> int:
        cmd = uc.CreateGatePass(self.authorization(), id_number=ID_NUMBER, id_source="card")
        return uc.create_gate_pass(cmd, self.uow(DISPATCH), self.clock, self.digester).id

    def approve(self, pass_id: int) -> str:
        return uc.approve_gate_pass(pass_id, self.uow(FINANCE), self.clock, self.keys.signer, self.digester,
                                    self.policy)

    def kiosk(self):
        return lambda: self.uow(KIOSK)

    @property
    def gate(self):
        return self.uow.store.gate


@pytest.fixture
def world() -> World:
    return World()


def test_a_letter_puts_the_dealers_vehicles_on_hold_for_pickup(world):
    auth_id = world.authorization()

    auth = world.gate.authorizations.get(auth_id)
    assert (auth.number, auth.contract_no, auth.vins) == ("PA-2026-000001", CONTRACT, VINS)
    assert {v.state for v in world.gate.vehicles} == {VehicleState.PICKUP_AUTHORIZED}
    assert {v.pickup_authorization_id for v in world.gate.vehicles} == {auth_id}


def test_finance_approval_signs_the_pass_and_texts_the_collector(world):
    pass_id = world.gate_pass()

    status = world.approve(pass_id)

    gate_pass = world.gate.passes.get(pass_id)
    assert status == gate_pass.status.value == "approved"
    assert gate_pass.qr_payload and gate_pass.key_id == world.keys.signer.kid
    message = world.uow.store.outbox[f"gate_pass.approved:{gate_pass.pass_no}"]
    assert (message["template_code"], message["recipient"]) == ("gate_pass.approved", "13800138000")


def test_the_credit_rule_refuses_approval_for_a_frozen_account_and_nothing_changes(world):
    pass_id = world.gate_pass()
    world.uow.store.credit.accounts[world.dealer_id].status = AccountStatus.FROZEN

    with pytest.raises(BusinessRuleViolation) as refused:
        world.approve(pass_id)

    assert refused.value.code == "credit.account_frozen"
    assert world.gate.passes.get(pass_id).status is GatePassStatus.PENDING_APPROVAL
    assert world.uow.store.outbox == {}


def test_the_kiosk_finds_and_prints_an_approved_pass_once_per_event(world):
    pass_id = world.gate_pass()
    world.approve(pass_id)
    pass_no = world.gate.passes.get(pass_id).pass_no

    found = uc.kiosk_find_passes(ID_NUMBER, "evt-find-0001", world.kiosk(), world.clock, world.digester)
    printed = uc.kiosk_record_print(pass_no, "evt-print-0001", world.kiosk(), world.clock, world.digester)
    replayed = uc.kiosk_record_print(pass_no, "evt-print-0001", world.kiosk(), world.clock, world.digester)

    assert [(p["pass_no"], p["printable"]) for p in found["passes"]] == [(pass_no, True)]
    assert found["passes"][0]["qr_payload"] == world.gate.passes.get(pass_id).qr_payload
    assert printed == replayed
    assert world.gate.passes.get(pass_id).print_count == 1
    assert set(world.gate.client_events) == {("device:1", "evt-find-0001"), ("device:1", "evt-print-0001")}


def test_the_gate_verifies_the_qr_and_records_one_exit_that_releases_the_vehicles(world):
    pass_id = world.gate_pass()
    world.approve(pass_id)
    uc.hand_over_gate_pass(pass_id, world.uow(DISPATCH), world.clock, world.policy)
    token = world.gate.passes.get(pass_id).qr_payload
    verifier = world.keys.verifier

    verdict = uc.kiosk_verify(token, "evt-verify-01", None, world.kiosk(), world.clock, verifier, world.digester)
    exit_ = uc.kiosk_confirm_exit(token, "evt-exit-0001", None, world.kiosk(), world.clock, verifier, world.digester)
    again = uc.kiosk_confirm_exit(token, "evt-exit-0001", None, world.kiosk(), world.clock, verifier, world.digester)

    assert (verdict["valid"], verdict["code"]) == (True, "ok")
    assert exit_ == again
    assert (exit_["status"], exit_["released"]) == ("exited", 2)
    assert [e.gate_pass_id for e in world.gate.exits] == [pass_id]
    assert {v.state for v in world.gate.vehicles} == {VehicleState.RELEASED}


def test_a_voided_pass_is_no_longer_valid_at_the_gate(world):
    pass_id = world.gate_pass()
    world.approve(pass_id)
    token = world.gate.passes.get(pass_id).qr_payload

    status = uc.void_gate_pass(pass_id, "车辆需返修", world.uow(DISPATCH), world.clock)
    verdict = uc.kiosk_verify(token, "evt-verify-02", None, world.kiosk(), world.clock, world.keys.verifier,
                              world.digester)

    assert status == "voided"
    assert world.gate.passes.get(pass_id).void_reason.startswith("车辆需返修")
    assert verdict["valid"] is False
    assert world.gate.exits.rows == {}


def test_a_reissue_voids_the_old_pass_and_issues_a_new_one_for_the_same_vehicles(world):
    pass_id = world.gate_pass()
    world.approve(pass_id)

    new = uc.reissue_gate_pass(pass_id, "纸质出门证遗失", None, world.uow(DISPATCH), world.clock, world.digester)

    old, fresh = world.gate.passes.get(pass_id), world.gate.passes.get(new.id)
    assert old.status is GatePassStatus.VOIDED and old.void_reason.startswith("纸质出门证遗失")
    assert fresh.status is GatePassStatus.PENDING_APPROVAL and list(fresh.vins) == VINS
    assert fresh.authorization_id == old.authorization_id and new.number != old.pass_no


def test_a_reissue_without_a_reason_changes_nothing(world):
    pass_id = world.gate_pass()

    with pytest.raises(InvalidValue):
        uc.reissue_gate_pass(pass_id, " ", None, world.uow(DISPATCH), world.clock, world.digester)

    assert world.gate.passes.get(pass_id).status is GatePassStatus.PENDING_APPROVAL
    assert len(world.gate.passes.rows) == 1


def test_another_dealers_letter_does_not_exist_for_a_dealer(world):
    auth_id = world.authorization()
    stranger = Principal(user_id=10, username="other", role=Role.DEALER, dealer_id=world.dealer_id + 1000)

    with pytest.raises(NotFound):
        uc.revoke_authorization(auth_id, "不提了", world.uow(stranger), world.clock)

    assert world.gate.authorizations.get(auth_id).status.value == "active"
