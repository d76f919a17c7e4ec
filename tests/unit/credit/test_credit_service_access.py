"""The read checks of ``CreditService`` on an in-memory read side (no database): staff need a
credit-reading role, a dealer user sees only its own dealer, and what is hidden answers 404."""

import datetime as dt

import pytest

from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.services.credit import CreditService
from dealercrm.domain.errors import NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)  # already 23 Nov in Beijing
FINANCE = Principal(user_id=1, username="finance", role=Role.FINANCE)
SALES_HUAZHONG = Principal(user_id=2, username="sales", role=Role.SALES, regions=("华中",))
MANAGER_TWO_REGIONS = Principal(user_id=5, username="manager", role=Role.REGION_MANAGER, regions=("华中", "西南"))
DEALER_7 = Principal(user_id=3, username="hongda", role=Role.DEALER, dealer_id=7)
DISPATCH = Principal(user_id=4, username="dispatch", role=Role.DISPATCH)


def clock() -> dt.datetime:
    return NOW


def no_unit_of_work(actor: Principal):
    raise AssertionError("a read opens no unit of work")


class CreditRows:
    """The credit read side in memory; remembers what each list and page was asked for."""

    def __init__(self) -> None:
        self.briefs = {7: {"id": 7, "region": "华中"}, 8: {"id": 8, "region": "西南"}}
        self.contracts = {"HT-2026-000001": 7, "HT-2026-000002": 8}
        self.asked: list[tuple[str, dict[str, object]]] = []

    def _ask(self, what: str, **kwargs: object) -> list[dict[str, object]]:
        self.asked.append((what, kwargs))
        return []

    def dealer_brief(self, dealer_id: int) -> dict[str, object] | None:
        return self.briefs.get(dealer_id)

    def contract_dealer(self, contract_no: str) -> int | None:
        return self.contracts.get(contract_no)

    def credit_page(self, dealer_id: int, today: dt.date, *, payments: int = 50) -> dict[str, object]:
        self.asked.append(("page", {"dealer_id": dealer_id, "today": today}))
        return {"limit_fen": 100_000_00}

    def list_accounts(self, **kwargs: object) -> list[dict[str, object]]:
        return self._ask("accounts", **kwargs)

    def list_invoices(self, **kwargs: object) -> list[dict[str, object]]:
        return self._ask("invoices", **kwargs)

    def list_payments(self, **kwargs: object) -> list[dict[str, object]]:
        return self._ask("payments", **kwargs)

    def contract(self, contract_no: str) -> dict[str, object] | None:
        return {"contract_no": contract_no, "dealer_id": self.contracts[contract_no]}

    def change_requests(self, **kwargs: object) -> list[dict[str, object]]:
        return self._ask("change_requests", **kwargs)

    def change_request(self, request_id: int) -> dict[str, object] | None:
        return None

    def invoice(self, invoice_id: int) -> dict[str, object] | None:
        return None

    def evaluations(self, dealer_id: int, limit: int = 20) -> list[dict[str, object]]:
        return self._ask("evaluations", dealer_id=dealer_id)

    def history(self, dealer_id: int, limit: int = 200) -> list[dict[str, object]]:
        return self._ask("history", dealer_id=dealer_id)

    def ageing(self, **kwargs: object) -> dict[str, object]:
        self.asked.append(("ageing", kwargs))
        return {"dealers": []}

    def invoice_status_of(self, vins, contract_of=None, *, dealer_id=None, regions=None):
        self.asked.append(("invoice_status", {"dealer_id": dealer_id, "regions": regions}))
        return {}


@pytest.fixture
def rows() -> CreditRows:
    return CreditRows()


@pytest.fixture
def credit(rows: CreditRows) -> CreditService:
    return CreditService(no_unit_of_work, clock, rows)


def test_a_dealer_user_reads_its_own_credit_page_on_the_beijing_day(credit, rows):
    page = credit.page(DEALER_7, 7)

    assert page["dealer"]["id"] == 7 and page["limit_fen"] == 100_000_00
    assert rows.asked == [("page", {"dealer_id": 7, "today": dt.date(2026, 11, 23)})]


def test_a_dealer_user_cannot_read_another_dealers_credit(credit):
    for read in (lambda: credit.page(DEALER_7, 8), lambda: credit.history(DEALER_7, 8),
                 lambda: credit.evaluations(DEALER_7, 8), lambda: credit.invoices(DEALER_7, dealer_id=8)):
        with pytest.raises(NotFound) as err:
            read()
        assert err.value.code == "dealer.not_found"


def test_regional_staff_read_only_dealers_of_their_regions(credit):
    assert credit.page(SALES_HUAZHONG, 7)["dealer"]["region"] == "华中"
    with pytest.raises(NotFound):
        credit.page(SALES_HUAZHONG, 8)


def test_staff_without_a_credit_reading_role_are_refused(credit):
    with pytest.raises(PermissionDenied):
        credit.page(DISPATCH, 7)
    with pytest.raises(PermissionDenied):
        credit.accounts(DISPATCH)


def test_an_unknown_dealer_is_404(credit):
    with pytest.raises(NotFound) as err:
        credit.page(FINANCE, 999)

    assert err.value.code == "dealer.not_found"


def test_lists_are_asked_with_the_callers_scope(credit, rows):
    credit.accounts(DEALER_7)
    credit.payments(SALES_HUAZHONG)
    credit.invoices(FINANCE, dealer_id=8)

    assert [(what, kw["dealer_id"], kw["regions"]) for what, kw in rows.asked] == [
        ("accounts", 7, None), ("payments", None, ("华中",)), ("invoices", 8, None)]


def test_a_dealer_user_asking_for_another_dealers_list_still_gets_only_its_own(credit, rows):
    credit.change_requests(DEALER_7)

    assert rows.asked == [("change_requests", {"regions": None, "dealer_id": 7, "state": None,
                                               "after_id": None, "limit": 50})]


def test_a_contract_of_another_dealer_is_hidden_and_an_unknown_one_is_404(credit):
    assert credit.contract(DEALER_7, "HT-2026-000001")["dealer_id"] == 7
    with pytest.raises(NotFound) as hidden:
        credit.contract(DEALER_7, "HT-2026-000002")
    with pytest.raises(NotFound) as unknown:
        credit.contract(FINANCE, "HT-2026-999999")

    assert hidden.value.code == "dealer.not_found"
    assert unknown.value.code == "credit_contract.not_found"


def test_the_ageing_region_filter_narrows_within_the_callers_regions(credit, rows):
    credit.ageing(MANAGER_TWO_REGIONS, region="西南")
    credit.ageing(SALES_HUAZHONG, region="西南")
    credit.ageing(FINANCE, region="西南")

    assert [kw["regions"] for _, kw in rows.asked] == [("西南",), (), ("西南",)]


def test_vehicle_invoice_status_is_asked_within_the_callers_scope(credit, rows):
    credit.invoice_status_of(DEALER_7, ["LJ1234567890ABCDE"])

    assert rows.asked == [("invoice_status", {"dealer_id": 7, "regions": None})]


def test_without_a_read_side_the_reads_refuse_with_a_typed_error():
    credit = CreditService(no_unit_of_work, clock, None)

    with pytest.raises(ReadModelUnavailable) as err:
        credit.accounts(FINANCE)

    assert err.value.code == "read_model.unavailable"
