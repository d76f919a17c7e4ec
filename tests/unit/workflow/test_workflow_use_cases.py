"""Workflow use cases against the in-memory unit of work (the twin embedding teams test with)."""

import datetime as dt

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import workflow as wfa
from dealercrm.application.approval_links import ApprovalLinkSigner, ApprovalMail
from dealercrm.domain.errors import Conflict
from dealercrm.domain.identity import Principal, Role, User

NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
SUBMITTER = Principal(user_id=None, username="system", role=Role.ADMIN)
REVIEW = wfa.WorkflowDefinition("memo_review", "备忘审批", (
    wfa.StageDef("会签", (wfa.StepDef("tech", "技术会签", "role", "technical"),
                          wfa.StepDef("prod", "生产会签", "role", "production"))),
))


def memo_factory(on_outcome):
    """An in-memory unit of work factory whose handler table gives "memo" documents ``on_outcome``."""
    factory = memory_uow_factory(approval_mail=ApprovalMail("https://crm.example.cn",
                                                            ApprovalLinkSigner(b"unit-test-link-key-0123")),
                                 workflow_handlers=wfa.WorkflowHandlers.of(wfa.SubjectHandlers("memo", on_outcome)))
    with factory(SUBMITTER) as u:
        u.users.add(User("tech", "技术张工", Role.TECHNICAL, "x", email="tech@factory.example.cn"))
        u.users.add(User("prod", "生产李工", Role.PRODUCTION, "x"))
        u.commit()
    return factory


@pytest.fixture
def seen():
    return []


@pytest.fixture
def uow(seen):
    return memo_factory(lambda uow, wf, outcome: seen.append(outcome))


def start(factory, doc_id=1):
    with factory(SUBMITTER) as u:
        wf_id = wfa.start_workflow(u, definition=REVIEW, subject=wfa.WorkflowSubject("memo", doc_id, f"M-{doc_id}", "备忘"),
                                   submitted_by=SUBMITTER, now=NOW)
        u.commit()
    return wf_id


def principal(factory, username):
    from dealercrm.application.identity import principal_of

    with factory(SUBMITTER) as u:
        return principal_of(u.users.by_username(username))


def test_starting_writes_the_workflow_and_a_signed_link_mail_to_each_addressee_with_an_address(uow, seen):
    wf_id = start(uow)

    store = uow.store
    assert store.workflows[wf_id].number == "WF-2026-000001"
    [mail] = store.outbox.values()
    assert mail["recipient"] == "tech@factory.example.cn"
    assert mail["body"].count("https://crm.example.cn/api/v1/workflow-links/") == 2


def test_both_parallel_approvals_finish_the_workflow_and_the_owner_hears_once(uow, seen):
    wf_id = start(uow)
    steps = {s.key: s.id for s in uow.store.workflows[wf_id].steps}

    wfa.decide_step(uow(principal(uow, "tech")), step_id=steps["tech"], decision="approve",
                    by=principal(uow, "tech"), now=NOW)
    result = wfa.decide_step(uow(principal(uow, "prod")), step_id=steps["prod"], decision="approve",
                             by=principal(uow, "prod"), now=NOW)

    assert result.workflow_status == "approved"
    assert [(o.status.value, o.workflow_id) for o in seen] == [("approved", wf_id)]


def test_a_failing_hook_leaves_the_store_as_it_was():
    def broken(uow_, wf, outcome):
        raise RuntimeError("owner failed")

    uow = memo_factory(broken)
    wf_id = start(uow)
    step = next(s for s in uow.store.workflows[wf_id].steps if s.key == "tech")
    commits = uow.store.commits

    with pytest.raises(RuntimeError):
        wfa.decide_step(uow(SUBMITTER), step_id=step.id, decision="reject", by=SUBMITTER, now=NOW,
                        reason="不同意")

    assert uow.store.commits == commits
    assert uow.store.workflows[wf_id].status.value == "running"


def test_an_administrator_deciding_a_documents_step_must_name_it_when_several_are_open(uow, seen):
    start(uow)

    with uow(SUBMITTER) as u, pytest.raises(Conflict) as err:
        wfa.decide_subject_step(u, subject_type="memo", subject_id=1, decision="approve", by=SUBMITTER, now=NOW)

    assert err.value.code == "workflow.step_ambiguous"


def test_a_document_type_without_an_owner_cannot_start_a_workflow(uow):
    with uow(SUBMITTER) as u, pytest.raises(LookupError):
        wfa.start_workflow(u, definition=REVIEW, subject=wfa.WorkflowSubject("nobody", 1, "N-1", "无主单据"),
                           submitted_by=SUBMITTER, now=NOW)


def test_a_handler_table_takes_one_owner_per_document_type():
    table = wfa.WorkflowHandlers.of(wfa.SubjectHandlers("memo", lambda *a: None))

    with pytest.raises(ValueError):
        table.including(wfa.SubjectHandlers("memo", lambda *a: None))
