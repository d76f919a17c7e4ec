"""The checks of ``WorkflowService`` on in-memory twins (no database): a workflow the caller may
not see is 404, the report is for admins and region managers, and an e-mail link is refused when
links are off or its user is gone."""

import datetime as dt

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application.approval_links import (
    ApprovalLinkInvalid,
    ApprovalLinkSigner,
    ApprovalMail,
)
from dealercrm.application.services.workflow import WorkflowService
from dealercrm.domain.errors import NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
MANAGER_HUAZHONG = Principal(user_id=2, username="manager", role=Role.REGION_MANAGER, regions=("华中",))
SALES_XINAN = Principal(user_id=5, username="sales", role=Role.SALES, regions=("西南",))
DEALER_7 = Principal(user_id=3, username="hongda", role=Role.DEALER, dealer_id=7)
STATION = Principal(user_id=4, username="station", role=Role.STATION, station_id=1)
SIGNER = ApprovalLinkSigner(b"a-test-link-key-0123456789abcdef")


def clock() -> dt.datetime:
    return NOW


class WorkflowRows:
    def __init__(self) -> None:
        self.workflows = {1: {"id": 1, "dealer_id": 7, "region": "华中"},
                          2: {"id": 2, "dealer_id": None, "region": None}}
        self.asked: list[str] = []

    def workflow_detail(self, workflow_id: int) -> dict[str, object] | None:
        return self.workflows.get(workflow_id)

    def report(self, principal: Principal, *, now: dt.datetime, subject_type: str | None = None) -> dict[str, object]:
        self.asked.append("report")
        return {"open": 0}

    def delegations_of(self, user_id: int, *, now: dt.datetime) -> list[dict[str, object]]:
        self.asked.append(f"delegations of {user_id}")
        return []


@pytest.fixture
def rows() -> WorkflowRows:
    return WorkflowRows()


@pytest.fixture
def workflow(rows: WorkflowRows) -> WorkflowService:
    return WorkflowService(memory_uow_factory(), clock, rows, ApprovalMail(signer=SIGNER))


def test_a_dealer_user_sees_its_own_dealers_workflow_only(workflow):
    assert workflow.detail(DEALER_7, 1)["dealer_id"] == 7
    with pytest.raises(NotFound) as err:
        workflow.detail(DEALER_7, 2)

    assert err.value.code == "workflow.not_found"


def test_regional_staff_see_their_regions_and_workflows_without_a_region(workflow):
    assert workflow.detail(MANAGER_HUAZHONG, 1)["id"] == 1
    assert workflow.detail(SALES_XINAN, 2)["id"] == 2
    with pytest.raises(NotFound):
        workflow.detail(SALES_XINAN, 1)


def test_station_users_see_no_workflow_and_an_unknown_one_is_404(workflow):
    for caller, workflow_id in ((STATION, 1), (ADMIN, 999)):
        with pytest.raises(NotFound):
            workflow.detail(caller, workflow_id)


def test_the_report_is_for_admins_and_region_managers(workflow, rows):
    workflow.report(ADMIN)
    workflow.report(MANAGER_HUAZHONG)
    for caller in (SALES_XINAN, DEALER_7):
        with pytest.raises(PermissionDenied):
            workflow.report(caller)

    assert rows.asked == ["report", "report"]


def test_a_caller_without_a_user_has_no_delegations(workflow, rows):
    assert workflow.delegations(Principal.system()) == []
    workflow.delegations(ADMIN)

    assert rows.asked == ["delegations of 1"]


def test_links_are_refused_when_e_mail_approval_is_off(rows):
    workflow = WorkflowService(memory_uow_factory(), clock, rows, ApprovalMail())
    token, _ = SIGNER.issue(step_id=1, user_id=1, decision="approve", expires_at=NOW + dt.timedelta(hours=1))

    with pytest.raises(ApprovalLinkInvalid) as err:
        workflow.inspect_link(token)

    assert err.value.code == "workflow.link_invalid"


def test_a_link_of_a_user_that_does_not_exist_is_refused(workflow):
    token, _ = SIGNER.issue(step_id=1, user_id=42, decision="approve", expires_at=NOW + dt.timedelta(hours=1))

    with pytest.raises(ApprovalLinkInvalid) as err:
        workflow.act_on_link(token)

    assert err.value.code == "workflow.link_invalid"
