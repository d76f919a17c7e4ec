"""Workflow use cases on SQLite and PostgreSQL: starting inside the caller's transaction, e-mails,
stages, the outcome hook in the deciding transaction, delegation, withdrawal, the dealer review."""


import pytest
from sqlalchemy import event, func, select

from dealercrm.adapters.db.workflow_tables import workflow_history, workflows
from dealercrm.application import workflow as wfa
from dealercrm.domain.errors import Conflict, IllegalTransition, NotFound, PermissionDenied
from tests.fakes import race


def count(crm, table):
    with crm.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_a_workflow_started_in_a_transaction_that_rolls_back_leaves_nothing(crm, roster, outcomes, kit):
    submitter = roster.principal("mkt")

    with pytest.raises(RuntimeError), crm.uow(submitter) as uow:
        wfa.start_workflow(uow, definition=kit.ORDER_LIKE, subject=wfa.WorkflowSubject(kit.DOC, 1, "TD-1", "测试"),
                           submitted_by=submitter, now=crm.clock())
        raise RuntimeError("the caller's own change failed")

    assert count(crm, workflows) == 0 and count(crm, workflow_history) == 0
    assert kit.outbox(crm) == []


def test_starting_emails_every_addressed_user_with_signed_single_use_links(crm, roster, outcomes, kit):
    kit.start_doc(crm, roster.principal("mkt"))

    mails = kit.outbox(crm)
    assert sorted(m["recipient"] for m in mails) == sorted([
        "proc@factory.example.cn", "tech@factory.example.cn", "prod@factory.example.cn",  # role, role, department
        "rm.east@factory.example.cn", "sales.east@factory.example.cn",  # region 华东: its sales and region manager
    ])
    tech = next(m for m in mails if m["recipient"] == "tech@factory.example.cn")
    assert tech["template_code"] == "workflow.task_assigned"
    assert tech["subject"] == "审批待办：测试单据评审 TD-2026-000001"
    assert tech["body"].count("https://crm.example.cn/api/v1/workflow-links/") == 2
    assert "技术评审" in tech["body"] and "2026年11月25日 09:00" in tech["body"]


def test_a_stage_of_four_steps_looks_up_its_addressees_and_their_stand_ins_once(crm, roster, outcomes, kit, clock):
    crm.workflow.set_delegation(roster.principal("tech"), roster.ids["mkt"], clock().date(), None, "出差")
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    submitter = roster.principal("proc")
    event.listen(crm.engine, "before_cursor_execute", record)
    try:
        kit.start_doc(crm, submitter)
    finally:
        event.remove(crm.engine, "before_cursor_execute", record)

    user_reads = [q for q in seen if q.startswith("SELECT users.")]
    # the addressees of all four steps (by role, department and region) in one query; the
    # stand-in is then read by id
    assert len(user_reads) == 2 and sum(1 for q in user_reads if "users.role IN" in q) == 1
    assert sum(1 for q in seen if "FROM workflow_delegations" in q) == 1
    mails = {(m["recipient"], "代 tech 处理" in m["body"]) for m in kit.outbox(crm)}
    assert ("mkt@factory.example.cn", True) in mails and ("tech@factory.example.cn", False) in mails
    assert len(kit.outbox(crm)) == 6  # proc, tech (+ mkt for tech), prod, rm.east, sales.east


def test_one_running_workflow_per_document(crm, roster, outcomes, kit):
    kit.start_doc(crm, roster.principal("mkt"))

    with pytest.raises(Conflict) as err:
        kit.start_doc(crm, roster.principal("mkt"))

    assert err.value.code == "workflow.already_running"


def test_stages_run_in_sequence_and_the_owner_learns_the_approval_once(crm, roster, outcomes, kit):
    wf_id = kit.start_doc(crm, roster.principal("mkt"))
    steps = kit.steps_by_key(crm, wf_id)

    for key, who in (("procurement", "proc"), ("technical", "tech"), ("production", "prod")):
        crm.workflow.decide(roster.principal(who), steps[key]["id"], "approve")
    assert str(kit.steps_by_key(crm, wf_id)["finance"]["status"]) == "waiting"
    crm.workflow.decide(roster.principal("sales_east"), steps["sales"]["id"], "approve", comment="同意")

    assert str(kit.steps_by_key(crm, wf_id)["finance"]["status"]) == "open"
    assert "fin@factory.example.cn" in [m["recipient"] for m in kit.outbox(crm)]
    assert outcomes == []
    result = crm.workflow.decide(roster.principal("fin"), steps["finance"]["id"], "approve")

    assert (result.step_status, result.workflow_status) == ("approved", "approved")
    assert [o.status.value for o in outcomes] == ["approved"]
    assert "owner@factory.example.cn" in [m["recipient"] for m in kit.outbox(crm)]
    history = [(h["action"], h["step_key"]) for h in crm.workflow.detail(kit.SYSTEM, wf_id)["history"]]
    # The history is an append-only log: each move writes its lines once, whatever the number of
    # flushes in its transaction, and never rewrites the lines of earlier moves.
    assert history == [
        ("started", None), ("step_opened", "procurement"), ("step_opened", "technical"),
        ("step_opened", "production"), ("step_opened", "sales"),
        ("approved", "procurement"), ("approved", "technical"), ("approved", "production"), ("approved", "sales"),
        ("stage_passed", None), ("step_opened", "finance"),
        ("approved", "finance"), ("stage_passed", None), ("workflow_approved", None)]


def test_a_failing_outcome_handler_rolls_the_decision_back(crm, roster, kit, db_url, clock):
    def broken(uow, workflow, outcome):
        raise RuntimeError("owner could not apply the outcome")

    # a second container on the same database whose table gives the test document a broken owner
    owner_fails = kit.build_crm(db_url, clock, broken, migrate=False)
    try:
        single = wfa.WorkflowDefinition.single_step("one", "单步审批", wfa.StepDef("tech", "技术评审", "role", "technical"))
        wf_id = kit.start_doc(owner_fails, roster.principal("mkt"), definition=single)
        step_id = kit.steps_by_key(owner_fails, wf_id)["tech"]["id"]
        before = owner_fails.workflow.detail(kit.SYSTEM, wf_id)

        with pytest.raises(RuntimeError):
            owner_fails.workflow.decide(roster.principal("tech"), step_id, "approve")

        after = owner_fails.workflow.detail(kit.SYSTEM, wf_id)
        assert after == before
        assert str(after["status"]) == "running" and str(after["steps"][0]["status"]) == "open"
    finally:
        owner_fails.close()


def test_two_containers_in_one_process_keep_their_own_workflow_handlers(crm, roster, kit, outcomes, db_url, clock):
    heard_by_second: list[wfa.WorkflowOutcome] = []
    second = kit.build_crm(db_url, clock, lambda uow, workflow, outcome: heard_by_second.append(outcome),
                           migrate=False)
    try:
        single = wfa.WorkflowDefinition.single_step("one", "单步审批", wfa.StepDef("tech", "技术评审", "role", "technical"))
        first_wf = kit.start_doc(crm, roster.principal("mkt"), doc_id=1, definition=single)
        second_wf = kit.start_doc(second, roster.principal("mkt"), doc_id=2, definition=single)

        crm.workflow.decide(roster.principal("tech"), kit.steps_by_key(crm, first_wf)["tech"]["id"], "approve")
        second.workflow.decide(roster.principal("tech"), kit.steps_by_key(second, second_wf)["tech"]["id"], "approve")
    finally:
        second.close()

    assert [o.workflow_id for o in outcomes] == [first_wf]
    assert [o.workflow_id for o in heard_by_second] == [second_wf]


def test_a_rejection_reaches_the_owner_with_its_reason_and_cancels_the_rest(crm, roster, outcomes, kit):
    wf_id = kit.start_doc(crm, roster.principal("mkt"))
    steps = kit.steps_by_key(crm, wf_id)
    crm.workflow.decide(roster.principal("proc"), steps["procurement"]["id"], "approve")

    crm.workflow.decide(roster.principal("prod"), steps["production"]["id"], "reject", reason="产能排满，交期无法满足")

    [outcome] = outcomes
    assert (outcome.status.value, outcome.summary) == ("rejected", "生产评审：产能排满，交期无法满足")
    statuses = {k: str(s["status"]) for k, s in kit.steps_by_key(crm, wf_id).items()}
    assert statuses == {"procurement": "approved", "technical": "cancelled", "production": "rejected",
                        "sales": "cancelled", "finance": "cancelled"}
    with pytest.raises(IllegalTransition) as err:
        crm.workflow.decide(roster.principal("tech"), steps["technical"]["id"], "approve")
    assert err.value.current_state == "rejected"


def test_someone_elses_step_and_a_foreign_region_are_refused(crm, roster, outcomes, kit):
    wf_id = kit.start_doc(crm, roster.principal("mkt"))
    steps = kit.steps_by_key(crm, wf_id)

    with pytest.raises(PermissionDenied):
        crm.workflow.decide(roster.principal("proc"), steps["technical"]["id"], "approve")
    with pytest.raises(NotFound):  # a 华中 manager does not see a 华东 document at all
        crm.workflow.decide(roster.principal("rm_central"), steps["sales"]["id"], "approve")

    assert {str(s["status"]) for k, s in kit.steps_by_key(crm, wf_id).items() if k != "finance"} == {"open"}


def test_a_standing_delegation_gives_the_stand_in_the_tasks_and_records_on_whose_behalf(crm, roster, outcomes, kit,
                                                                                         clock):
    tech = roster.principal("tech")
    crm.workflow.set_delegation(tech, roster.ids["mkt"], clock().date(), None, "出差一周")
    wf_id = kit.start_doc(crm, roster.principal("proc"))
    step_id = kit.steps_by_key(crm, wf_id)["technical"]["id"]

    tasks = crm.workflow.pending_tasks(roster.principal("mkt"))
    assert [(t["step_id"], t["via"], t["on_behalf_of"]) for t in tasks] == [(step_id, "standing_delegation", "tech")]
    cover_mail = next(m for m in kit.outbox(crm) if m["recipient"] == "mkt@factory.example.cn")
    assert "代 tech 处理" in cover_mail["body"]

    crm.workflow.decide(roster.principal("mkt"), step_id, "approve")

    step = kit.steps_by_key(crm, wf_id)["technical"]
    assert (step["decided_by_name"], step["on_behalf_of_id"]) == ("mkt", roster.ids["tech"])
    assert crm.workflow.detail(kit.SYSTEM, wf_id)["history"][-1]["detail"]["on_behalf_of"] == "tech"


def test_a_standing_delegation_ends_on_its_date_or_when_taken_back(crm, roster, outcomes, kit, clock):
    tech = roster.principal("tech")
    delegation_id = crm.workflow.set_delegation(tech, roster.ids["mkt"], clock().date(), clock().date())
    kit.start_doc(crm, roster.principal("proc"))
    mkt = roster.principal("mkt")
    assert crm.workflow.count_pending_tasks(mkt) == 1

    clock.advance(days=1)
    assert crm.workflow.count_pending_tasks(mkt) == 0

    crm.workflow.set_delegation(tech, roster.ids["mkt"], clock().date(), None)
    assert crm.workflow.count_pending_tasks(mkt) == 1
    [active] = [d for d in crm.workflow.delegations(tech) if d["state"] == "active"]
    crm.workflow.cancel_delegation(tech, active["id"])
    assert crm.workflow.count_pending_tasks(mkt) == 0
    assert {d["state"] for d in crm.workflow.delegations(tech)} == {"ended", "cancelled"}
    assert delegation_id != active["id"]


def test_overlapping_standing_delegations_are_a_conflict(crm, roster, kit, clock):
    tech = roster.principal("tech")
    crm.workflow.set_delegation(tech, roster.ids["mkt"], clock().date(), None)

    with pytest.raises(Conflict) as err:
        crm.workflow.set_delegation(tech, roster.ids["proc"], clock().date(), None)

    assert err.value.code == "delegation.overlap"


def test_a_delegated_step_returns_to_its_addressees_after_the_until_date(crm, roster, outcomes, kit, clock):
    wf_id = kit.start_doc(crm, roster.principal("mkt"))
    step_id = kit.steps_by_key(crm, wf_id)["technical"]["id"]
    tech, proc = roster.principal("tech"), roster.principal("proc")

    crm.workflow.delegate(tech, step_id, roster.ids["proc"], clock().date())

    assert step_id in [t["step_id"] for t in crm.workflow.pending_tasks(proc)]
    assert step_id not in [t["step_id"] for t in crm.workflow.pending_tasks(tech)]
    handed = [m for m in kit.outbox(crm) if m["recipient"] == "proc@factory.example.cn" and "转签" in m["body"]]
    assert len(handed) == 1
    with pytest.raises(PermissionDenied):
        crm.workflow.decide(tech, step_id, "approve")

    clock.advance(days=1)

    assert step_id in [t["step_id"] for t in crm.workflow.pending_tasks(tech)]
    assert step_id not in [t["step_id"] for t in crm.workflow.pending_tasks(proc)]
    crm.workflow.decide(tech, step_id, "approve")


def test_the_submitter_withdraws_and_the_owner_learns_it(crm, roster, outcomes, kit):
    wf_id = kit.start_doc(crm, roster.principal("mkt"))

    with pytest.raises(PermissionDenied):
        crm.workflow.withdraw(roster.principal("tech"), wf_id)
    assert crm.workflow.withdraw(roster.principal("mkt"), wf_id, "信息填错，撤回修改") == "withdrawn"

    assert [(o.status.value, o.reasons) for o in outcomes] == [("withdrawn", ("信息填错，撤回修改",))]
    assert crm.workflow.pending_tasks(roster.principal("tech")) == []


def test_approvers_of_parallel_steps_at_the_same_moment_still_pass_the_stage_once(crm, roster, outcomes, kit):
    wf_id = kit.start_doc(crm, roster.principal("mkt"))
    steps = kit.steps_by_key(crm, wf_id)
    who = {"procurement": "proc", "technical": "tech", "production": "prod", "sales": "sales_east"}
    principals = {k: roster.principal(u) for k, u in who.items()}
    keys = list(who)

    def approve(i: int) -> None:
        for _attempt in range(20):
            try:
                crm.workflow.decide(principals[keys[i]], steps[keys[i]]["id"], "approve")
                return
            except Conflict:  # lost a race on the version: try again, as a client would
                continue

    errors = [o for o in race(len(keys), approve) if isinstance(o, Exception)]  # reported below

    assert errors == []
    detail = crm.workflow.detail(kit.SYSTEM, wf_id)
    assert detail["current_stage"] == 2
    assert str(kit.steps_by_key(crm, wf_id)["finance"]["status"]) == "open"
    assert [h["action"] for h in detail["history"]].count("stage_passed") == 1


# --- the dealer review through the workflow ------------------------------------------------


def test_submitting_a_dealer_starts_its_review_for_the_regions_manager(crm, roster, kit):
    reg = kit.register_dealer(crm)

    crm.channel.submit(kit.SYSTEM, reg.dealer_id)

    [wf] = crm.workflow.of_subject(kit.SYSTEM, "dealer", reg.dealer_id)
    assert (wf["definition_code"], str(wf["status"]), wf["region"]) == ("dealer_review", "running", "华东")
    assert [t["subject_id"] for t in crm.workflow.pending_tasks(roster.principal("rm_east"))] == [reg.dealer_id]
    assert crm.workflow.pending_tasks(roster.principal("rm_central")) == []
    assert [m["recipient"] for m in kit.outbox(crm)] == ["rm.east@factory.example.cn"]


def test_approving_the_review_step_approves_the_dealer_and_notifies_it(crm, roster, kit):
    reg = kit.register_dealer(crm)
    crm.channel.submit(kit.SYSTEM, reg.dealer_id)
    [task] = crm.workflow.pending_tasks(roster.principal("rm_east"))

    crm.workflow.decide(roster.principal("rm_east"), task["step_id"], "approve")

    assert crm.channel.dealer_detail(kit.SYSTEM, reg.dealer_id)["status"].value == "approved"
    approved = [m for m in kit.outbox(crm) if m["template_code"] == "dealer.review_approved"]
    assert [m["recipient"] for m in approved] == ["gm@hongda.example.cn"]
    with pytest.raises(IllegalTransition) as err:
        crm.channel.approve(roster.principal("rm_east"), reg.dealer_id)
    assert err.value.current_state == "approved"


def test_the_dealer_reject_endpoint_decides_the_review_step(crm, roster, kit):
    reg = kit.register_dealer(crm)
    crm.channel.submit(kit.SYSTEM, reg.dealer_id)

    assert crm.channel.reject(roster.principal("rm_east"), reg.dealer_id, "缺少危险货物运输车辆销售备案") == "rejected"

    dealer = crm.channel.dealer_detail(kit.SYSTEM, reg.dealer_id)
    assert dealer["status_reason"] == "缺少危险货物运输车辆销售备案"
    [wf] = crm.workflow.of_subject(kit.SYSTEM, "dealer", reg.dealer_id)
    [step] = crm.workflow.detail(kit.SYSTEM, wf["id"])["steps"]
    assert (str(step["status"]), step["reason"], step["decided_by_name"]) == (
        "rejected", "缺少危险货物运输车辆销售备案", "rm_east")
    with pytest.raises(NotFound):  # another region's manager does not see the dealer
        crm.channel.approve(roster.principal("rm_central"), reg.dealer_id)


def test_a_dealer_resubmitted_after_rejection_gets_a_new_review(crm, roster, kit):
    reg = kit.register_dealer(crm)
    crm.channel.submit(kit.SYSTEM, reg.dealer_id)
    crm.channel.reject(kit.SYSTEM, reg.dealer_id, "资质不全")

    crm.channel.submit(kit.SYSTEM, reg.dealer_id)

    reviews = crm.workflow.of_subject(kit.SYSTEM, "dealer", reg.dealer_id)
    assert [str(w["status"]) for w in reviews] == ["running", "rejected"]


def test_the_dealer_withdrawing_its_application_takes_it_back_to_registered(crm, roster, kit):
    reg = kit.register_dealer(crm)
    dealer_user = crm.identity.login("hongda", kit.PASSWORD).principal
    crm.channel.submit(dealer_user, reg.dealer_id)
    [wf] = crm.workflow.of_subject(dealer_user, "dealer", reg.dealer_id)

    crm.workflow.withdraw(dealer_user, wf["id"], "补充资质后再提交")

    assert crm.channel.dealer_detail(kit.SYSTEM, reg.dealer_id)["status"].value == "registered"
    assert crm.workflow.pending_tasks(roster.principal("rm_east")) == []
