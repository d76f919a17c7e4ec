import datetime as dt

import pytest

from dealercrm.domain.channel import Address, Agreement, Contact, ContactKind, Dealer, DealerStatus, SettlementMethod
from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue
from dealercrm.domain.values import Phone, Uscc

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def make_dealer() -> Dealer:
    d = Dealer(code="DL-000001", legal_name="郑州宏达专用车销售有限公司", uscc=Uscc("91350100M000100Y43"),
               region="华中", address=Address("河南省", "郑州市", "经开区88号"))
    d.add_contact(Contact("王建国", ContactKind.MANAGEMENT, "总经理", Phone("13800138000")))
    return d


def agreement(lines, start, end, number="AG-1") -> Agreement:
    return Agreement(number, lines, ["河南省"], SettlementMethod.CREDIT, start, end)


def test_a_registered_dealer_goes_through_review_to_approved():
    d = make_dealer()

    d.submit_for_review(NOW)
    d.approve(NOW)

    assert d.status is DealerStatus.APPROVED
    assert d.approved_at == NOW
    assert [e.name for e in d.events] == ["dealer_submit", "dealer_approve"]


def test_approving_a_rejected_dealer_is_refused_with_the_current_state():
    d = make_dealer()
    d.submit_for_review(NOW)
    d.reject("资料不全", NOW)

    with pytest.raises(IllegalTransition) as err:
        d.approve(NOW)

    assert err.value.current_state == "rejected"
    assert d.status is DealerStatus.REJECTED


def test_a_rejected_dealer_may_be_corrected_and_resubmitted():
    d = make_dealer()
    d.submit_for_review(NOW)
    d.reject("资料不全", NOW)

    d.submit_for_review(NOW)

    assert d.status is DealerStatus.UNDER_REVIEW


def test_rejection_needs_a_reason():
    d = make_dealer()
    d.submit_for_review(NOW)

    with pytest.raises(InvalidValue) as err:
        d.reject("  ", NOW)

    assert err.value.field == "reason"


def test_suspension_and_reactivation_toggle_an_approved_dealer():
    d = make_dealer()
    d.submit_for_review(NOW)
    d.approve(NOW)

    d.suspend("逾期", NOW)
    assert not d.can_trade
    d.reactivate(NOW)

    assert d.can_trade


def test_termination_ends_the_agreements_and_freezes_the_dealer():
    d = make_dealer()
    d.submit_for_review(NOW)
    d.approve(NOW)
    d.add_agreement(agreement(["tanker"], dt.date(2026, 1, 1), dt.date(2026, 12, 31)))

    d.terminate("合作终止", NOW)

    assert d.status is DealerStatus.TERMINATED
    assert all(a.status.value == "terminated" for a in d.agreements)
    with pytest.raises(IllegalTransition):
        d.add_contact(Contact("李四", ContactKind.CONTACT, "销售", Phone("13900139000")))


def test_two_active_agreements_for_the_same_product_line_must_not_overlap():
    d = make_dealer()
    d.add_agreement(agreement(["tanker", "dump_truck"], dt.date(2026, 1, 1), dt.date(2026, 12, 31)))

    with pytest.raises(BusinessRuleViolation) as err:
        d.add_agreement(agreement(["dump_truck"], dt.date(2026, 12, 31), dt.date(2027, 12, 31), "AG-2"))

    assert err.value.code == "agreement.overlap"
    assert err.value.details["product_lines"] == ["dump_truck"]
    assert len(d.agreements) == 1


def test_adjacent_or_other_line_agreements_are_allowed():
    d = make_dealer()
    d.add_agreement(agreement(["tanker"], dt.date(2026, 1, 1), dt.date(2026, 12, 31)))

    d.add_agreement(agreement(["tanker"], dt.date(2027, 1, 1), dt.date(2027, 12, 31), "AG-2"))
    d.add_agreement(agreement(["semi_trailer"], dt.date(2026, 6, 1), dt.date(2027, 5, 31), "AG-3"))

    assert len(d.agreements) == 3
    assert d.active_product_lines(dt.date(2026, 7, 1)) == {"tanker", "semi_trailer"}


def test_an_agreement_window_cannot_end_before_it_starts():
    with pytest.raises(InvalidValue) as err:
        agreement(["tanker"], dt.date(2026, 2, 1), dt.date(2026, 1, 1))

    assert err.value.field == "valid_to"


def test_a_new_primary_contact_demotes_the_old_one():
    d = make_dealer()
    d.contacts[0].is_primary = True

    d.add_contact(Contact("李四", ContactKind.CONTACT, "销售经理", Phone("13900139000"), is_primary=True))

    assert [c.is_primary for c in d.contacts] == [False, True]


def test_a_region_that_is_not_among_the_known_ones_is_refused():
    with pytest.raises(InvalidValue) as err:
        Dealer.register(known_regions=("华北", "华中"), code="DL-1", legal_name="x",
                        uscc=Uscc("91350100M000100Y43"), region="火星", address=Address("a", "b", "c"))

    assert (err.value.field, err.value.code) == ("region", "region.unknown")
    assert err.value.message == "大区须为以下之一：华北、华中"
    assert Dealer.register(known_regions=("华北", "华中"), code="DL-1", legal_name="x",
                           uscc=Uscc("91350100M000100Y43"), region="华中", address=Address("a", "b", "c")).region == "华中"
