"""Use cases against the in-memory twins of our ports (no mocks of ports we own)."""

import datetime as dt

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import channel as ch
from dealercrm.application.workflow import WorkflowHandlers
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from tests.fakes import PlainHasher

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)


def clock() -> dt.datetime:
    return NOW


def registration(uscc="91350100M000100Y43", username="hongda", phone="13800138000") -> ch.RegisterDealer:
    return ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc=uscc, region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone=phone),
        applicant_username=username, applicant_password="Passw0rd123",
    )


@pytest.fixture
def uow():
    return memory_uow_factory(workflow_handlers=WorkflowHandlers.of(ch.DEALER_REVIEW_HANDLERS))


def test_registration_creates_the_dealer_and_its_applicant_login(uow):
    result = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())

    store = uow.store
    assert store.dealers[result.dealer_id].status.value == "registered"
    assert store.dealers[result.dealer_id].contacts[0].is_primary
    user = store.users[result.user_id]
    assert (user.role, user.dealer_id) == (Role.DEALER, result.dealer_id)
    assert user.password_hash != "Passw0rd123"


def test_a_second_registration_with_the_same_uscc_is_a_conflict_and_writes_nothing(uow):
    ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    before = uow.store.commits

    with pytest.raises(Conflict) as err:
        ch.register_dealer(registration(username="other"), uow(ADMIN), clock, PlainHasher())

    assert err.value.code == "dealer.uscc_taken"
    assert uow.store.commits == before
    assert len(uow.store.users) == 1


def test_bad_phone_in_registration_names_the_nested_field(uow):
    with pytest.raises(InvalidValue) as err:
        ch.register_dealer(registration(phone="123"), uow(ADMIN), clock, PlainHasher())

    assert err.value.field == "contact.phone"
    assert not uow.store.dealers


def test_a_failure_after_the_dealer_is_flushed_leaves_nothing_behind(uow):
    class ExplodingHasher(PlainHasher):
        def hash(self, password: str) -> str:
            raise RuntimeError("HSM unavailable")

    with pytest.raises(RuntimeError):
        ch.register_dealer(registration(), uow(ADMIN), clock, ExplodingHasher())

    assert not uow.store.dealers
    assert not uow.store.users


def test_a_dealer_user_cannot_see_another_dealer(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    b = ch.register_dealer(registration("91110000600037341L", "second", "13900139000"), uow(ADMIN), clock, PlainHasher())
    dealer_a = Principal(user_id=a.user_id, username="hongda", role=Role.DEALER, dealer_id=a.dealer_id)

    with pytest.raises(NotFound):
        ch.submit_dealer_for_review(b.dealer_id, uow(dealer_a), clock)
    with pytest.raises(NotFound):
        ch.add_contact(b.dealer_id, ch.ContactIn("张三", "销售", "13700137000"), uow(dealer_a))

    assert uow.store.dealers[b.dealer_id].status.value == "registered"
    assert len(uow.store.dealers[b.dealer_id].contacts) == 1


def test_regional_sales_staff_see_only_their_regions(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    east_sales = Principal(user_id=9, username="s", role=Role.SALES, regions=("华东",))

    with pytest.raises(NotFound):
        ch.set_territory(a.dealer_id, ["河南省"], [], uow(east_sales))


def test_a_dealer_cannot_approve_itself(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    me = Principal(user_id=a.user_id, username="hongda", role=Role.DEALER, dealer_id=a.dealer_id)
    ch.submit_dealer_for_review(a.dealer_id, uow(me), clock)

    with pytest.raises(PermissionDenied):
        ch.approve_dealer(a.dealer_id, uow(me), clock)

    assert uow.store.dealers[a.dealer_id].status.value == "under_review"


def test_a_dealer_may_not_change_its_legal_identity(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    me = Principal(user_id=a.user_id, username="hongda", role=Role.DEALER, dealer_id=a.dealer_id)

    with pytest.raises(InvalidValue) as err:
        ch.update_profile(ch.UpdateProfile(a.dealer_id, legal_name="别的公司"), uow(me))

    assert err.value.code == "dealer.field_staff_only"


def test_review_path_and_illegal_transition(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    ch.submit_dealer_for_review(a.dealer_id, uow(ADMIN), clock)
    ch.reject_dealer(a.dealer_id, "缺营业执照", uow(ADMIN), clock)

    with pytest.raises(IllegalTransition) as err:
        ch.approve_dealer(a.dealer_id, uow(ADMIN), clock)

    assert err.value.current_state == "rejected"


def test_terminating_a_dealer_deactivates_its_logins(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    ch.submit_dealer_for_review(a.dealer_id, uow(ADMIN), clock)
    ch.approve_dealer(a.dealer_id, uow(ADMIN), clock)

    ch.terminate_dealer(a.dealer_id, "合作终止", uow(ADMIN), clock)

    assert uow.store.users[a.user_id].is_active is False


def test_overlapping_agreement_is_refused(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    cmd = ch.AddAgreement(a.dealer_id, ("tanker",), ("河南省",), "credit", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    ch.add_agreement(cmd, uow(ADMIN), clock)

    with pytest.raises(Conflict) as err:
        ch.add_agreement(cmd, uow(ADMIN), clock)

    assert err.value.code == "agreement.overlap"
    assert len(uow.store.dealers[a.dealer_id].agreements) == 1


def correction(dealer_id: int, contact_id: int | None, phone: str = "13912345678") -> ch.CorrectRegistration:
    return ch.CorrectRegistration(
        dealer_id=dealer_id, short_name="宏达", address=ch.AddressIn("河南省", "郑州市", "航空港区1号"),
        qualifications=(ch.QualificationIn("营业执照", "410100000000001"),),
        contact=ch.ContactIn(name="李四", title="总经理", phone=phone, kind="management"), contact_id=contact_id)


def test_correcting_a_registration_changes_profile_and_primary_contact_together(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    me = Principal(user_id=a.user_id, username="hongda", role=Role.DEALER, dealer_id=a.dealer_id)
    contact_id = uow.store.dealers[a.dealer_id].contacts[0].id
    before = uow.store.commits

    ch.correct_registration(correction(a.dealer_id, contact_id), uow(me))

    dealer = uow.store.dealers[a.dealer_id]
    assert uow.store.commits == before + 1
    assert (dealer.short_name, dealer.address.detail) == ("宏达", "航空港区1号")
    assert [(c.name, c.is_primary) for c in dealer.contacts] == [("李四", True)]
    assert [(q.kind, q.number) for q in dealer.qualifications] == [("营业执照", "410100000000001")]


def test_a_failure_in_the_contact_half_of_a_correction_leaves_the_profile_unchanged(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    me = Principal(user_id=a.user_id, username="hongda", role=Role.DEALER, dealer_id=a.dealer_id)
    removed_meanwhile = uow.store.dealers[a.dealer_id].contacts[0].id + 100
    before = uow.store.commits

    with pytest.raises(NotFound):
        ch.correct_registration(correction(a.dealer_id, removed_meanwhile), uow(me))

    dealer = uow.store.dealers[a.dealer_id]
    assert uow.store.commits == before
    assert (dealer.short_name, dealer.address.detail, dealer.qualifications) == (None, "经开区88号", [])
    assert [c.name for c in dealer.contacts] == ["王建国"]


def test_a_registration_under_review_cannot_be_corrected(uow):
    a = ch.register_dealer(registration(), uow(ADMIN), clock, PlainHasher())
    ch.submit_dealer_for_review(a.dealer_id, uow(ADMIN), clock)

    with pytest.raises(IllegalTransition) as err:
        ch.correct_registration(correction(a.dealer_id, None), uow(ADMIN))

    assert err.value.current_state == "under_review"
