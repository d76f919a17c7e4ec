"""Pickup authorizations and gate passes: who, which vehicles, when, and in which state."""

import datetime as dt

import pytest

from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue
from dealercrm.domain.gate import (
    AlreadyExited,
    AuthorizationStatus,
    GatePass,
    GatePassRefused,
    GatePassStatus,
    PickupAuthorization,
)
from dealercrm.domain.printing import plain_text
from dealercrm.domain.values import Phone, Vin

T0 = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC)
VINS = [Vin.build("LZZ", "1CLVB", "T", "A", f"{n:06d}").value for n in (1, 2, 3)]


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def letter(**over) -> PickupAuthorization:  # type: ignore[no-untyped-def]
    kw = dict(number="PA-2026-000001", dealer_id=7, contract_no="HT-1", person_name=" 张伟 ", id_digest="d" * 64,
              id_masked="1101**********1239", phone=Phone("13912345678"), vins=VINS[:2], valid_from=at(0),
              valid_to=at(48), now=at(0), by="dealer07")
    kw.update(over)
    auth = PickupAuthorization.register(**kw)
    auth.id = 11
    return auth


def gate_pass(auth: PickupAuthorization | None = None, **over) -> GatePass:  # type: ignore[no-untyped-def]
    kw = dict(pass_no="GP-2026-000001", vins=(), id_digest="d" * 64, id_via="desk", id_checked_at=at(1),
              valid_to=None, now=at(1), by="dispatch")
    kw.update(over)
    return GatePass.for_authorization(auth or letter(), **kw)


def approved(**over) -> GatePass:  # type: ignore[no-untyped-def]
    p = gate_pass(**over)
    p.approve(at(2), "finance", "token.sig", "kid")
    return p


def test_a_letter_is_checked_when_registered():
    assert letter().person_name == "张伟"
    cases = [
        ({"valid_to": at(-1)}, "valid_to"),
        ({"valid_to": at(24 * 40)}, "valid_to"),
        ({"valid_from": at(5), "valid_to": at(4)}, "valid_to"),
        ({"vins": []}, "vins"),
        ({"vins": [VINS[0], VINS[0].lower()]}, "vins"),
        ({"vins": ["LZZ1CLVB0TA000001"]}, "vin"),
        ({"person_name": "  "}, "person_name"),
        ({"contract_no": ""}, "contract_no"),
    ]
    for over, field in cases:
        with pytest.raises(InvalidValue) as err:
            letter(**over)
        assert err.value.field == field, over


def test_a_letter_expires_at_the_end_of_its_window():
    auth = letter()

    assert auth.effective_status(at(47)) is AuthorizationStatus.ACTIVE
    assert auth.effective_status(at(48)) is AuthorizationStatus.EXPIRED
    with pytest.raises(IllegalTransition) as err:
        auth.require_usable(at(49), "create_gate_pass")
    assert err.value.code == "pickup_authorization.expired"


def test_a_letter_not_yet_valid_cannot_be_used():
    auth = letter(valid_from=at(10), valid_to=at(20))

    with pytest.raises(BusinessRuleViolation) as err:
        auth.require_usable(at(1), "create_gate_pass")

    assert err.value.code == "pickup_authorization.not_yet_valid"


def test_a_revoked_letter_cannot_be_revoked_again():
    auth = letter()
    auth.revoke("提车人离职", at(1))

    with pytest.raises(IllegalTransition) as err:
        auth.revoke("again", at(2))

    assert err.value.current_state == "revoked"


def test_a_pass_needs_the_person_of_the_letter_and_its_vehicles():
    with pytest.raises(InvalidValue) as mismatch:
        gate_pass(id_digest="e" * 64)
    with pytest.raises(InvalidValue) as foreign:
        gate_pass(vins=(VINS[2],))

    assert (mismatch.value.field, mismatch.value.code) == ("id_number", "gate_pass.id_mismatch")
    assert foreign.value.code == "gate_pass.vin_not_authorized"


def test_a_pass_is_valid_from_its_creation_until_the_letter_ends_at_most():
    p = gate_pass(valid_to=at(100))

    assert (p.valid_from, p.valid_to) == (at(1), at(48))
    assert gate_pass(vins=(VINS[1],), valid_to=at(6)).valid_to == at(6)


def test_the_life_of_a_pass_approve_hand_over_exit_once():
    p = approved()
    p.hand_over(at(3), "dispatch")

    p.exit(at(4), "guard")

    assert p.status is GatePassStatus.EXITED
    with pytest.raises(AlreadyExited) as again:
        p.exit(at(5), "guard")
    assert again.value.details["exited_at"] == at(4).isoformat()
    assert again.value.current_state == "exited"


@pytest.mark.parametrize(
    ("prepare", "code"),
    [
        (lambda p: None, "gate_pass.not_approved"),
        (lambda p: p.approve(at(2), "f", "t", "k"), "gate_pass.not_handed_over"),
        (lambda p: p.reject("未回款", at(2), "f"), "gate_pass.rejected"),
        (lambda p: p.void("车辆返修", at(2), "d"), "gate_pass.voided"),
    ],
)
def test_a_pass_that_is_not_handed_over_cannot_exit(prepare, code):
    p = gate_pass()
    prepare(p)

    refusal = p.exit_refusal(at(3))

    assert isinstance(refusal, GatePassRefused) and refusal.code == code
    with pytest.raises(GatePassRefused):
        p.exit(at(3), "guard")


def test_an_expired_or_early_pass_cannot_exit():
    p = approved()
    p.hand_over(at(3), "dispatch")

    assert p.exit_refusal(at(48)).code == "gate_pass.expired"  # type: ignore[union-attr]
    assert p.exit_refusal(at(2.5)).code == "gate_pass.not_handed_over"  # scanned before the handover
    assert p.exit_refusal(at(47.9)) is None


def test_approval_and_hand_over_follow_the_order():
    p = gate_pass()

    with pytest.raises(IllegalTransition) as early:
        p.hand_over(at(2), "dispatch")
    p.approve(at(2), "finance", "t", "k")
    with pytest.raises(IllegalTransition):
        p.approve(at(3), "finance", "t", "k")

    assert early.value.current_state == "pending_approval"
    with pytest.raises(GatePassRefused):
        gate_pass().approve(at(49), "finance", "t", "k")  # expired meanwhile


def test_prints_are_counted_and_only_approved_unexpired_passes_print():
    p = approved()

    assert p.record_print(at(3)) is False
    assert p.record_print(at(4)) is True
    assert p.print_count == 2
    assert gate_pass().print_refusal(at(3)).code == "gate_pass.not_approved"  # type: ignore[union-attr]
    assert p.print_refusal(at(48)).code == "gate_pass.expired"  # type: ignore[union-attr]
    with pytest.raises(GatePassRefused):
        p.record_print(at(49))


def test_the_printed_slip_shows_the_person_vehicles_beijing_time_and_the_qr():
    p = approved()

    doc = p.document()

    text = plain_text(doc)
    assert "提车人：张伟" in text and VINS[0] in text and VINS[1] in text
    assert "有效期至：2026-03-03 09:00" in text  # 01:00 UTC is 09:00 in Beijing
    assert doc.qr_payloads == ["token.sig"]


def test_voiding_needs_a_reason_and_ends_the_pass():
    p = approved()

    with pytest.raises(InvalidValue):
        p.void(" ", at(3), "dispatch")
    p.void("车辆返修", at(3), "dispatch")

    assert p.status is GatePassStatus.VOIDED and not p.status.is_live
    with pytest.raises(IllegalTransition):
        p.void("again", at(4), "dispatch")


def test_the_guard_sees_the_holder_masked_enough_to_match_a_face_not_to_identify_anyone():
    from dealercrm.domain.gate import masked_holder

    assert [masked_holder(n) for n in ("王建国", "王明", "欧阳小明", "李", " ", None)] == [
        "王*国", "王*", "欧**明", "李", None, None]
