"""The care service's access checks, on fakes (no database): who may read value rankings,
surveys, templates and tasks, and what a dealer sees of its own evaluation."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.application.services.care import CareService
from dealercrm.domain.dealer_value import CLASS_LABELS
from dealercrm.domain.errors import InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
MARKETING = Principal(user_id=1, username="sc", role=Role.MARKETING)
CENTRAL_SALES = Principal(user_id=2, username="hz", role=Role.SALES, regions=("华中",))
FINANCE = Principal(user_id=3, username="cw", role=Role.FINANCE)
AFTER_SALES = Principal(user_id=4, username="sh", role=Role.AFTER_SALES)
DEALER_5 = Principal(user_id=5, username="hd", role=Role.DEALER, dealer_id=5)
DEALER_9 = Principal(user_id=9, username="xy", role=Role.DEALER, dealer_id=9)

DEALERS = {5: {"id": 5, "region": "华中"}, 6: {"id": 6, "region": "华东"}}
EVALUATIONS = [
    {"id": 11, "dealer_id": 5, "region": "华中", "value_class": "A", "suggested_level": "gold", "score": 91,
     "evaluated_at": NOW},
    {"id": 12, "dealer_id": 6, "region": "华东", "value_class": "C", "suggested_level": "standard", "score": 55,
     "evaluated_at": NOW},
]


class FakeCareRepository:
    def __init__(self, batches: dict[int, dict]) -> None:
        self.batches = batches

    def dealer(self, dealer_id):
        return DEALERS.get(dealer_id)

    def batch(self, batch_id):
        return self.batches.get(batch_id)


class FakeUow:
    def __init__(self, actor: Principal, care: FakeCareRepository) -> None:
        self.actor = actor
        self.care = care

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class FakeCareQueries:
    """Filters like the SQL read side does, by the scope the service passes."""

    def __init__(self) -> None:
        self.invitations = {5: [{"id": 1, "title": "2026年一季度满意度调查"}]}
        self.all_surveys = [{"id": 1, "title": "2026年一季度满意度调查"}, {"id": 2, "title": "草稿"}]

    def latest_evaluations(self, *, dealer_id, regions, value_class, region):
        return [e for e in EVALUATIONS
                if (dealer_id is None or e["dealer_id"] == dealer_id) and (regions is None or e["region"] in regions)
                and (value_class is None or e["value_class"] == value_class) and (region is None or e["region"] == region)]

    def evaluation_history(self, dealer_id, limit=50):
        return [e for e in EVALUATIONS if e["dealer_id"] == dealer_id]

    def surveys(self, *, dealer_id):
        return self.all_surveys if dealer_id is None else self.invitations.get(dealer_id, [])

    def templates(self):
        return [{"id": 3, "name": "春节问候"}]

    def tasks(self, *, status, kind, due_before, after_id, limit):
        return [{"id": 4, "kind": "delivery_follow_up", "status": status or "open"}][:limit]


class PrintedLetters:
    """The letter renderer's twin: answers the recipients it was given as bytes."""

    def render(self, recipients, *, sender, title, layout):
        return "|".join(r["name"] for r in recipients).encode()


def service(batches: dict[int, dict] | None = None) -> CareService:
    repo = FakeCareRepository(batches or {})
    return CareService(uow=lambda actor: FakeUow(actor, repo), clock=lambda: NOW, queries=FakeCareQueries(),
                       letters=PrintedLetters(), portal_url="https://crm.example.cn")


def test_value_ranking_is_for_value_readers_and_scoped_to_the_callers_regions():
    care = service()

    central = care.ranking(CENTRAL_SALES)
    everyone = care.ranking(MARKETING)

    assert [r["dealer_id"] for r in central] == [5]
    assert [r["dealer_id"] for r in everyone] == [5, 6]
    with pytest.raises(PermissionDenied):
        care.ranking(DEALER_5)


def test_value_ranking_refuses_a_class_that_does_not_exist():
    with pytest.raises(InvalidValue) as err:
        service().ranking(MARKETING, value_class="E")

    assert err.value.code == "dealer_value.filter_invalid"


def test_the_value_history_of_a_dealer_outside_the_callers_regions_does_not_exist_for_it():
    care = service()

    assert [r["id"] for r in care.history(CENTRAL_SALES, 5)] == [11]
    with pytest.raises(NotFound):
        care.history(CENTRAL_SALES, 6)
    with pytest.raises(NotFound):
        care.history(MARKETING, 404)


def test_a_dealer_sees_only_its_own_class_and_suggested_level():
    care = service()

    mine = care.my_class(DEALER_5)

    assert mine == {"dealer_id": 5, "value_class": "A", "value_class_label": CLASS_LABELS["A"],
                    "suggested_level": "gold", "evaluated_at": NOW}
    assert "score" not in mine
    with pytest.raises(NotFound):
        care.my_class(DEALER_9)
    with pytest.raises(PermissionDenied):
        care.my_class(MARKETING)


def test_dealers_see_the_surveys_they_were_invited_to_and_staff_need_a_follow_up_role():
    care = service()

    assert [s["id"] for s in care.surveys(DEALER_5)] == [1]
    assert care.surveys(DEALER_9) == []
    assert [s["id"] for s in care.surveys(AFTER_SALES)] == [1, 2]
    with pytest.raises(PermissionDenied):
        care.surveys(FINANCE)


def test_survey_analysis_is_for_survey_editors_only():
    with pytest.raises(PermissionDenied):
        service().analysis(CENTRAL_SALES, 1)


def test_care_templates_and_tasks_are_for_care_staff():
    care = service()

    assert [t["id"] for t in care.templates(AFTER_SALES)] == [3]
    assert [t["id"] for t in care.tasks(AFTER_SALES, status="open")] == [4]
    for call in (lambda: care.templates(FINANCE), lambda: care.tasks(DEALER_5)):
        with pytest.raises(PermissionDenied):
            call()


def test_letters_print_for_recipients_with_an_address_and_refuse_an_unknown_layout():
    care = service({7: {"id": 7, "recipients": [{"name": "王建国", "address": "郑州市经开区88号"},
                                                {"name": "李四", "address": None}]},
                    8: {"id": 8, "recipients": [{"name": "李四", "address": None}]}})

    envelopes = care.letters_pdf(MARKETING, 7, "envelope")
    letters = care.letters_pdf(MARKETING, 7, "letter")

    assert (envelopes, letters) == ("王建国".encode(), "王建国|李四".encode())
    with pytest.raises(InvalidValue) as unknown:
        care.letters_pdf(MARKETING, 7, "poster")
    with pytest.raises(InvalidValue) as no_address:
        care.letters_pdf(MARKETING, 8, "both")
    with pytest.raises(NotFound):
        care.letters_pdf(MARKETING, 404, "letter")
    with pytest.raises(PermissionDenied):
        care.letters_pdf(FINANCE, 7, "letter")
    assert (unknown.value.code, no_address.value.code) == ("care.layout_invalid", "care.no_addresses")
