"""The Workflow aggregate: stages in sequence, parallel steps, rejection, delegation, withdrawal,
and every illegal move — pure domain, no I/O."""

import datetime as dt

import pytest

from dealercrm.domain.errors import IllegalTransition, InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.workflow import (
    Assignee,
    AssigneeKind,
    StageDef,
    StandingDelegation,
    StepDef,
    StepDelegated,
    StepOpened,
    StepStatus,
    Workflow,
    WorkflowDefinition,
    WorkflowFinished,
    WorkflowStatus,
    WorkflowSubject,
    end_of_beijing_day,
)

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
SUBMITTER = Principal(user_id=50, username="dealer_user", role=Role.DEALER, dealer_id=7)
PROCUREMENT = Principal(user_id=11, username="proc", role=Role.PROCUREMENT)
TECHNICAL = Principal(user_id=12, username="tech", role=Role.TECHNICAL)
PRODUCTION = Principal(user_id=13, username="prod", role=Role.PRODUCTION)
SALES_EAST = Principal(user_id=14, username="sales_east", role=Role.SALES, regions=("华东",))
FINANCE = Principal(user_id=15, username="fin", role=Role.FINANCE, department="财务部")
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
OTHER = Principal(user_id=99, username="other", role=Role.MARKETING)

ORDER_REVIEW = WorkflowDefinition("order_review", "订单评审", (
    StageDef("部门评审", (
        StepDef("procurement", "采购评审", "role", "procurement", due_in_days=2),
        StepDef("technical", "技术评审", "role", "technical", due_in_days=2),
        StepDef("production", "生产评审", "role", "production"),
        StepDef("sales", "销售评审", "region", "华东"),
    )),
    StageDef("财务审核", (StepDef("finance", "财务审核", "department", "财务部", due_in_days=1),)),
))
SUBJECT = WorkflowSubject("order", 31, "SO-2026-000031", "订单 SO-2026-000031 · 罐式车 ×3", dealer_id=7, region="华东")


def started(definition=ORDER_REVIEW) -> Workflow:
    wf = Workflow.start(definition, SUBJECT, number="WF-2026-000001", submitted_by=SUBMITTER, now=NOW)
    wf.id = 1
    for i, step in enumerate(wf.steps, start=100):
        step.id = i
    return wf


def step(wf: Workflow, key: str):
    return next(s for s in wf.steps if s.key == key)


def finished(wf: Workflow) -> list[WorkflowFinished]:
    return [e for e in wf.events if isinstance(e, WorkflowFinished)]


def test_starting_opens_the_first_stage_only_with_due_dates():
    wf = started()

    assert [s.status for s in wf.stage_steps(1)] == [StepStatus.OPEN] * 4
    assert step(wf, "finance").status is StepStatus.WAITING
    assert step(wf, "technical").due_at == NOW + dt.timedelta(days=2)
    assert step(wf, "production").due_at is None
    assert [e.step.key for e in wf.events if isinstance(e, StepOpened)] == ["procurement", "technical", "production",
                                                                             "sales"]
    assert wf.history[0].action == "started" and wf.history[0].actor_name == "dealer_user"


def test_a_parallel_stage_passes_only_when_every_step_is_approved_then_the_next_stage_opens():
    wf = started()

    wf.approve(step(wf, "procurement").id, by=PROCUREMENT, now=NOW)
    wf.approve(step(wf, "technical").id, by=TECHNICAL, now=NOW)
    wf.approve(step(wf, "production").id, by=PRODUCTION, now=NOW)
    assert wf.current_stage == 1 and step(wf, "finance").status is StepStatus.WAITING

    later = NOW + dt.timedelta(hours=5)
    wf.approve(step(wf, "sales").id, by=SALES_EAST, now=later, comment="客户资信良好")

    assert wf.current_stage == 2
    assert step(wf, "finance").status is StepStatus.OPEN
    assert step(wf, "finance").opened_at == later and step(wf, "finance").due_at == later + dt.timedelta(days=1)
    assert step(wf, "sales").comment == "客户资信良好"
    assert wf.status is WorkflowStatus.RUNNING and not finished(wf)


def test_the_last_stage_passing_approves_the_workflow_and_reports_the_outcome():
    wf = started()
    for key, who in (("procurement", PROCUREMENT), ("technical", TECHNICAL), ("production", PRODUCTION),
                     ("sales", SALES_EAST)):
        wf.approve(step(wf, key).id, by=who, now=NOW)

    wf.approve(step(wf, "finance").id, by=FINANCE, now=NOW)

    assert wf.status is WorkflowStatus.APPROVED and wf.finished_at == NOW
    [done] = finished(wf)
    assert (done.outcome.status, done.outcome.subject_type, done.outcome.subject_id) == (WorkflowStatus.APPROVED,
                                                                                       "order", 31)
    assert [h.action for h in wf.history][-2:] == ["stage_passed", "workflow_approved"]


def test_any_rejection_rejects_the_workflow_and_cancels_every_other_step():
    wf = started()
    wf.approve(step(wf, "procurement").id, by=PROCUREMENT, now=NOW)

    wf.reject(step(wf, "technical").id, by=TECHNICAL, now=NOW, reason="  底盘型号与上装不匹配 ")

    assert wf.status is WorkflowStatus.REJECTED
    assert step(wf, "technical").reason == "底盘型号与上装不匹配"
    assert step(wf, "procurement").status is StepStatus.APPROVED
    assert {step(wf, k).status for k in ("production", "sales", "finance")} == {StepStatus.CANCELLED}
    [done] = finished(wf)
    assert done.outcome.reasons == ("底盘型号与上装不匹配",)
    assert done.outcome.summary == "技术评审：底盘型号与上装不匹配"
    assert [h.step_key for h in wf.history if h.action == "cancelled"] == ["production", "sales"]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_rejection_needs_a_reason_and_changes_nothing_without_one(reason):
    wf = started()
    history = len(wf.history)

    with pytest.raises(InvalidValue) as err:
        wf.reject(step(wf, "technical").id, by=TECHNICAL, now=NOW, reason=reason)

    assert err.value.field == "reason"
    assert step(wf, "technical").status is StepStatus.OPEN and len(wf.history) == history


def test_approving_twice_is_an_illegal_transition_with_the_current_state():
    wf = started()
    wf.approve(step(wf, "technical").id, by=TECHNICAL, now=NOW)

    with pytest.raises(IllegalTransition) as err:
        wf.approve(step(wf, "technical").id, by=TECHNICAL, now=NOW)

    assert (err.value.current_state, err.value.details["entity"]) == ("approved", "workflow_step")


def test_acting_on_a_closed_workflow_is_an_illegal_transition_with_its_state():
    wf = started()
    wf.reject(step(wf, "technical").id, by=TECHNICAL, now=NOW, reason="不符合技术条件")

    for act in (lambda: wf.approve(step(wf, "sales").id, by=SALES_EAST, now=NOW),
                lambda: wf.reject(step(wf, "sales").id, by=SALES_EAST, now=NOW, reason="x"),
                lambda: wf.withdraw(by=SUBMITTER, now=NOW)):
        with pytest.raises(IllegalTransition) as err:
            act()
        assert (err.value.current_state, err.value.details["entity"]) == ("rejected", "workflow")


def test_someone_elses_step_is_permission_denied_and_changes_nothing():
    wf = started()

    with pytest.raises(PermissionDenied) as err:
        wf.approve(step(wf, "technical").id, by=PROCUREMENT, now=NOW)
    with pytest.raises(PermissionDenied):
        wf.approve(step(wf, "sales").id, by=Principal(user_id=20, username="west", role=Role.SALES,
                                                      regions=("西北",)), now=NOW)

    assert err.value.code == "workflow.not_your_step" and err.value.details["current_state"] == "open"
    assert step(wf, "technical").status is StepStatus.OPEN


def test_an_unknown_step_is_not_found():
    with pytest.raises(NotFound):
        started().approve(12345, by=ADMIN, now=NOW)


def test_administrators_may_always_act_and_the_history_says_so():
    wf = started()

    wf.approve(step(wf, "technical").id, by=ADMIN, now=NOW)

    entry = wf.history[-1]
    assert (entry.action, entry.actor_name, entry.detail.get("as_admin")) == ("approved", "admin", True)


def test_a_device_never_acts():
    device = Principal(user_id=None, username="device:kiosk", role=Role.ADMIN, device_id=3)
    wf = started()

    with pytest.raises(PermissionDenied):
        wf.approve(step(wf, "technical").id, by=device, now=NOW)


def test_a_delegated_step_belongs_to_the_delegate_until_the_delegation_ends():
    wf = started()
    colleague = Principal(user_id=21, username="tech2", role=Role.MARKETING)
    until = NOW + dt.timedelta(days=1)
    tech_id = step(wf, "technical").id

    wf.delegate(tech_id, by=TECHNICAL, to_user_id=21, to_name="技术二", now=NOW, until=until)

    assert any(isinstance(e, StepDelegated) and e.to_user_id == 21 for e in wf.events)
    with pytest.raises(PermissionDenied):  # the original addressee handed it over
        wf.approve(tech_id, by=TECHNICAL, now=NOW)
    assert wf.may_act(step(wf, "technical"), colleague, NOW)

    after = until + dt.timedelta(seconds=1)
    assert not wf.may_act(step(wf, "technical"), colleague, after)  # back with the original addressees
    wf.approve(tech_id, by=TECHNICAL, now=after)
    assert step(wf, "technical").status is StepStatus.APPROVED
    delegated = next(h for h in wf.history if h.action == "delegated")
    assert delegated.detail["to_user_id"] == 21 and delegated.detail["until"] == until.isoformat()


def test_an_open_ended_delegation_lets_the_delegate_decide():
    wf = started()
    colleague = Principal(user_id=21, username="tech2", role=Role.MARKETING)
    wf.delegate(step(wf, "technical").id, by=TECHNICAL, to_user_id=21, to_name="技术二", now=NOW)

    wf.reject(step(wf, "technical").id, by=colleague, now=NOW + dt.timedelta(days=30), reason="图纸缺失")

    assert step(wf, "technical").decided_by_name == "tech2"


@pytest.mark.parametrize(("to_user", "until", "field"), [
    (12, None, "to_user_id"),  # to oneself
    (21, NOW - dt.timedelta(minutes=1), "until"),
    (21, NOW, "until"),
])
def test_bad_delegations_are_refused(to_user, until, field):
    wf = started()

    with pytest.raises(InvalidValue) as err:
        wf.delegate(step(wf, "technical").id, by=TECHNICAL, to_user_id=to_user, to_name="x", now=NOW, until=until)

    assert err.value.field == field
    assert step(wf, "technical").delegate_user_id is None


def test_only_someone_who_may_act_may_delegate():
    wf = started()

    with pytest.raises(PermissionDenied):
        wf.delegate(step(wf, "technical").id, by=OTHER, to_user_id=21, to_name="x", now=NOW)


def test_a_standing_delegate_acts_on_behalf_of_the_delegator():
    wf = started()
    stand_in = Principal(user_id=30, username="stand_in", role=Role.MARKETING)

    with pytest.raises(PermissionDenied):
        wf.approve(step(wf, "technical").id, by=stand_in, now=NOW)
    wf.approve(step(wf, "technical").id, by=stand_in, now=NOW, delegators=[TECHNICAL])

    s = step(wf, "technical")
    assert (s.decided_by_id, s.on_behalf_of_id) == (30, 12)
    assert wf.history[-1].detail["on_behalf_of"] == "tech"


def test_the_submitter_may_withdraw_a_running_workflow_and_nobody_else():
    wf = started()

    with pytest.raises(PermissionDenied):
        wf.withdraw(by=TECHNICAL, now=NOW)
    with pytest.raises(PermissionDenied):
        wf.withdraw(by=ADMIN, now=NOW)
    wf.withdraw(by=SUBMITTER, now=NOW, reason="客户取消订单")

    assert wf.status is WorkflowStatus.WITHDRAWN
    assert all(s.status is StepStatus.CANCELLED for s in wf.steps)
    [done] = finished(wf)
    assert (done.outcome.status, done.outcome.reasons) == (WorkflowStatus.WITHDRAWN, ("客户取消订单",))
    with pytest.raises(IllegalTransition) as err:
        wf.withdraw(by=SUBMITTER, now=NOW)
    assert err.value.current_state == "withdrawn"


@pytest.mark.parametrize(("assignee", "yes", "no"), [
    (Assignee("role", "technical"), TECHNICAL, PROCUREMENT),
    (Assignee("department", "财务部"), FINANCE, Principal(user_id=2, username="x", role=Role.FINANCE)),
    (Assignee("region", "华东"), SALES_EAST, Principal(user_id=3, username="y", role=Role.FINANCE, regions=("华东",))),
    (Assignee("user", "12"), TECHNICAL, Principal(user_id=13, username="z", role=Role.TECHNICAL)),
])
def test_each_kind_of_addressing(assignee, yes, no):
    assert assignee.addresses(yes)
    assert not assignee.addresses(no)


@pytest.mark.parametrize(("build", "code"), [
    (lambda: StepDef("a", "甲", "role", "emperor"), "role.unknown"),
    (lambda: StepDef("a", "甲", "role", "kiosk"), "workflow.assignee_device"),
    (lambda: StepDef("a", "甲", "user", "zhangsan"), "workflow.assignee_user_malformed"),
    (lambda: StepDef("a", "甲", "department", " "), "workflow.assignee_blank"),
    (lambda: StepDef("a", "甲", "role", "technical", due_in_days=0), "workflow.due_out_of_range"),
    (lambda: StageDef("空", ()), "workflow.stage_empty"),
    (lambda: WorkflowDefinition("x", "无", ()), "workflow.no_stage"),
    (lambda: WorkflowDefinition("x", "重复", (StageDef("一", (StepDef("a", "甲", "role", "technical"),)),
                                              StageDef("二", (StepDef("a", "乙", "role", "sales"),)))),
     "workflow.step_key_duplicate"),
])
def test_malformed_definitions_are_refused(build, code):
    with pytest.raises(InvalidValue) as err:
        build()

    assert err.value.code == code


def test_unknown_assignee_kind_is_refused():
    with pytest.raises(ValueError):
        StepDef("a", "甲", "planet", "mars")


def test_standing_delegation_windows_are_inclusive_beijing_dates_and_can_be_taken_back():
    d = StandingDelegation(from_user_id=1, to_user_id=2, starts_on=dt.date(2026, 11, 23),
                           ends_on=dt.date(2026, 11, 25), created_at=NOW)
    late_evening_utc = dt.datetime(2026, 11, 22, 16, 30, tzinfo=dt.UTC)  # already the 23rd in Beijing

    assert not d.active_at(NOW)
    assert d.active_at(late_evening_utc)
    assert d.active_on(dt.date(2026, 11, 25)) and not d.active_on(dt.date(2026, 11, 26))
    d.cancel(late_evening_utc)
    assert not d.active_at(late_evening_utc)
    with pytest.raises(IllegalTransition):
        d.cancel(late_evening_utc)


def test_standing_delegations_refuse_themselves_and_inverted_windows_and_detect_overlaps():
    with pytest.raises(InvalidValue):
        StandingDelegation(from_user_id=1, to_user_id=1, starts_on=dt.date(2026, 1, 1), created_at=NOW)
    with pytest.raises(InvalidValue):
        StandingDelegation(from_user_id=1, to_user_id=2, starts_on=dt.date(2026, 1, 5), ends_on=dt.date(2026, 1, 1),
                           created_at=NOW)
    a = StandingDelegation(from_user_id=1, to_user_id=2, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 1, 10),
                           created_at=NOW)
    b = StandingDelegation(from_user_id=1, to_user_id=3, starts_on=dt.date(2026, 1, 10), created_at=NOW)
    c = StandingDelegation(from_user_id=1, to_user_id=3, starts_on=dt.date(2026, 1, 11), created_at=NOW)

    assert a.overlaps(b) and not a.overlaps(c)


def test_until_a_date_means_the_end_of_that_day_in_beijing():
    assert end_of_beijing_day(dt.date(2026, 11, 25)) == dt.datetime(2026, 11, 25, 16, 0, tzinfo=dt.UTC)


def test_assignee_kinds_have_chinese_labels():
    assert Assignee(AssigneeKind.ROLE, "region_manager").label == "角色：大区经理"
    assert Assignee(AssigneeKind.REGION, "华东").label.startswith("大区：华东")
