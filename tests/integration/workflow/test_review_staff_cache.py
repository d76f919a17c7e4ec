"""The review-staff cache of a process is keyed by the database's ``users`` change counter: a
change made by another worker (another container on the same database) holds at once."""

from __future__ import annotations

from typing import Any

from dealercrm.application import workflow as wfa


def _mailed(kit: Any, crm: Any, workflow_number_suffix: str) -> set[str]:
    return {m["recipient"] for m in kit.outbox(crm) if workflow_number_suffix in m["body"]}


def test_a_reviewer_deactivated_by_another_worker_gets_no_task_mail_from_the_next_review(db_url, clock, crm, roster,
                                                                                           kit):
    other_worker = kit.build_crm(db_url, clock, lambda uow, wf, outcome: None, migrate=False)
    admin = roster.principal("admin")
    first = kit.start_doc(crm, admin, doc_id=1)  # this process now holds the procurement staff

    other_worker.identity.deactivate_user(admin, roster.ids["proc"])
    second = kit.start_doc(crm, admin, doc_id=2)
    other_worker.close()

    numbers = {wid: crm.workflow.detail(kit.SYSTEM, wid)["number"] for wid in (first, second)}
    assert "proc@factory.example.cn" in _mailed(kit, crm, numbers[first])
    assert "proc@factory.example.cn" not in _mailed(kit, crm, numbers[second])
    assert "tech@factory.example.cn" in _mailed(kit, crm, numbers[second])


def test_a_standing_delegation_set_by_another_worker_reaches_the_next_review(db_url, clock, crm, roster, kit):
    other_worker = kit.build_crm(db_url, clock, lambda uow, wf, outcome: None, migrate=False)
    cover = roster.add("proc_cover", "procurement", email="proc.cover@factory.example.cn")
    kit.start_doc(crm, roster.principal("admin"), doc_id=1)

    wfa.set_standing_delegation(other_worker.uow(roster.principal("tech")), by=roster.principal("tech"),
                                to_user_id=cover, starts_on=clock().date(), now=clock())
    second = kit.start_doc(crm, roster.principal("admin"), doc_id=2)
    other_worker.close()

    number = crm.workflow.detail(kit.SYSTEM, second)["number"]
    bodies = [m["body"] for m in kit.outbox(crm) if m["recipient"] == "proc.cover@factory.example.cn"
              and number in m["body"]]
    assert any("技术评审" in b for b in bodies)
