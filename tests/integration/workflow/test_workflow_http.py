"""The workflow HTTP API on SQLite and PostgreSQL: tasks, decisions, isolation, delegation, report."""

import pytest

from dealercrm.application import workflow as wfa


def problem(r, status, code=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    if code:
        assert body["code"] == code, body
    return body


@pytest.fixture
def api(crm, roster, kit):
    client = kit.http_client(crm)
    with client:
        yield client


def submitted_dealer(crm, kit, client, *, uscc, username, region):
    reg = kit.register_dealer(crm, uscc=uscc, username=username, region=region)
    r = client.post(f"/api/v1/dealers/{reg.dealer_id}/submit", headers=kit.login(client, username))
    assert r.json()["status"] == "under_review"
    return reg


def test_my_tasks_list_the_region_managers_reviews_and_approving_works_over_http(crm, kit, api):
    reg = submitted_dealer(crm, kit, api, uscc="91350100M000100Y43", username="hongda", region="华东")
    rm = kit.login(api, "rm_east")

    page = api.get("/api/v1/workflows/tasks", headers=rm).json()

    [task] = page["items"]
    assert page["total"] == 1 and page["next_cursor"] is None
    assert (task["subject_type"], task["subject_id"], task["step_name"], task["via"]) == (
        "dealer", reg.dealer_id, "大区经理审核", "addressed")
    assert task["assignee_label"] == "角色：大区经理" and task["region"] == "华东"
    r = api.post(f"/api/v1/workflows/steps/{task['step_id']}/approve", headers=rm, json={"comment": "资料齐全"})
    assert r.json() == {"workflow_id": task["workflow_id"], "step_id": task["step_id"], "step_status": "approved",
                        "step_status_label": "已同意", "workflow_status": "approved", "workflow_status_label": "已通过"}
    assert api.get(f"/api/v1/dealers/{reg.dealer_id}", headers=rm).json()["status"] == "approved"
    detail = api.get(f"/api/v1/workflows/{task['workflow_id']}", headers=rm).json()
    assert [h["label"] for h in detail["history"]] == ["提交审批", "待办生成", "同意", "阶段通过", "审批通过"]
    assert detail["history"][2]["actor_name"] == "rm_east" and detail["steps"][0]["comment"] == "资料齐全"


def test_approving_someone_elses_step_is_403_and_approving_twice_is_409(crm, roster, kit, api, outcomes):
    wf_id = kit.start_doc(crm, roster.principal("mkt"))
    steps = kit.steps_by_key(crm, wf_id)
    url = f"/api/v1/workflows/steps/{steps['technical']['id']}/approve"

    body = problem(api.post(url, headers=kit.login(api, "proc")), 403, "workflow.not_your_step")
    assert body["current_state"] == "open"
    tech = kit.login(api, "tech")
    assert api.post(url, headers=tech).status_code == 200
    again = problem(api.post(url, headers=tech), 409, "state.illegal_transition")
    assert again["current_state"] == "approved"
    problem(api.post(f"/api/v1/workflows/steps/{steps['sales']['id']}/reject", headers=kit.login(api, "sales_east"),
                     json={"reason": "   "}), 422, "reason.required")
    problem(api.post(f"/api/v1/workflows/steps/{steps['sales']['id']}/reject", headers=tech, json={}), 422)
    assert str(kit.steps_by_key(crm, wf_id)["sales"]["status"]) == "open"


def test_a_dealer_user_sees_no_other_dealers_workflow(crm, kit, api):
    a = submitted_dealer(crm, kit, api, uscc="91350100M000100Y43", username="hongda", region="华东")
    b = submitted_dealer(crm, kit, api, uscc="91110000600037341L", username="dealer_b", region="华东")
    [wf_a] = crm.workflow.of_subject(kit.SYSTEM, "dealer", a.dealer_id)
    [wf_b] = crm.workflow.of_subject(kit.SYSTEM, "dealer", b.dealer_id)
    step_b = crm.workflow.detail(kit.SYSTEM, wf_b["id"])["steps"][0]["id"]
    dealer_a = kit.login(api, "hongda")

    own = api.get(f"/api/v1/workflows/{wf_a['id']}", headers=dealer_a)
    assert own.status_code == 200 and own.json()["workflow"]["subject_id"] == a.dealer_id
    for r in (api.get(f"/api/v1/workflows/{wf_b['id']}", headers=dealer_a),
              api.post(f"/api/v1/workflows/steps/{step_b}/approve", headers=dealer_a),
              api.post(f"/api/v1/workflows/steps/{step_b}/reject", headers=dealer_a, json={"reason": "x"}),
              api.post(f"/api/v1/workflows/{wf_b['id']}/withdraw", headers=dealer_a)):
        problem(r, 404)
        assert "dealer_b" not in r.text and b.dealer_id not in r.json().values()
    assert api.get("/api/v1/workflows", headers=dealer_a,
                   params={"subject_type": "dealer", "subject_id": b.dealer_id}).json()["items"] == []
    assert api.get("/api/v1/workflows/tasks", headers=dealer_a).json() == {"items": [], "next_cursor": None,
                                                                            "total": 0}
    assert str(crm.workflow.detail(kit.SYSTEM, wf_b["id"])["status"]) == "running"


def test_the_submitter_withdraws_over_http_and_others_may_not(crm, kit, api):
    reg = submitted_dealer(crm, kit, api, uscc="91350100M000100Y43", username="hongda", region="华东")
    [wf] = crm.workflow.of_subject(kit.SYSTEM, "dealer", reg.dealer_id)

    problem(api.post(f"/api/v1/workflows/{wf['id']}/withdraw", headers=kit.login(api, "rm_east")), 403,
            "workflow.not_submitter")
    r = api.post(f"/api/v1/workflows/{wf['id']}/withdraw", headers=kit.login(api, "hongda"), json={"reason": "补资料"})

    assert r.json() == {"workflow_id": wf["id"], "status": "withdrawn", "status_label": "已撤回"}
    assert crm.channel.dealer_detail(kit.SYSTEM, reg.dealer_id)["status"].value == "registered"


def test_delegating_a_step_over_http_and_refusing_a_delegate_who_cannot_see_the_document(crm, roster, kit, api):
    reg = submitted_dealer(crm, kit, api, uscc="91350100M000100Y43", username="hongda", region="华东")
    other = kit.register_dealer(crm, uscc="91110000600037341L", username="dealer_b")
    [task] = crm.workflow.pending_tasks(roster.principal("rm_east"))
    rm = kit.login(api, "rm_east")
    url = f"/api/v1/workflows/steps/{task['step_id']}/delegate"

    problem(api.post(url, headers=rm, json={"to_user_id": other.user_id}), 422, "workflow.delegate_out_of_scope")
    problem(api.post(url, headers=rm, json={"to_user_id": roster.ids["rm_central"]}), 422,
            "workflow.delegate_out_of_scope")
    problem(api.post(url, headers=rm, json={"to_user_id": roster.ids["sales_east"], "until": "2026-11-01"}), 422,
            "workflow.delegation_until_past")
    assert api.post(url, headers=rm, json={"to_user_id": roster.ids["sales_east"], "until": "2026-11-24",
                                           "reason": "出差，请代审"}).status_code == 200

    [handed] = api.get("/api/v1/workflows/tasks", headers=kit.login(api, "sales_east")).json()["items"]
    assert (handed["step_id"], handed["via"]) == (task["step_id"], "delegated")
    assert api.get("/api/v1/workflows/tasks", headers=rm).json()["total"] == 0
    assert reg.dealer_id == handed["subject_id"]
    history = api.get(f"/api/v1/workflows/{task['workflow_id']}", headers=rm).json()["history"]
    assert [h["reason"] for h in history if h["action"] == "delegated"] == ["出差，请代审"]


def test_standing_delegations_over_http(crm, roster, kit, api):
    tech, mkt = kit.login(api, "tech"), kit.login(api, "mkt")

    created = api.post("/api/v1/me/delegations", headers=tech,
                       json={"to_user_id": roster.ids["mkt"], "starts_on": "2026-11-23", "ends_on": "2026-11-30",
                             "note": "年假"})

    assert created.status_code == 201
    d = created.json()
    assert (d["direction"], d["to_name"], d["state"]) == ("given", "mkt", "active")
    assert [x["direction"] for x in api.get("/api/v1/me/delegations", headers=mkt).json()["items"]] == ["received"]
    problem(api.post(f"/api/v1/me/delegations/{d['id']}/cancel", headers=mkt), 404)
    problem(api.post("/api/v1/me/delegations", headers=tech,
                     json={"to_user_id": roster.ids["mkt"], "starts_on": "2026-11-01"}), 422, "delegation.starts_in_past")
    problem(api.post("/api/v1/me/delegations", headers=tech,
                     json={"to_user_id": roster.ids["tech"], "starts_on": "2026-11-23"}), 422)
    cancelled = api.post(f"/api/v1/me/delegations/{d['id']}/cancel", headers=tech).json()["items"]
    assert [x["state"] for x in cancelled] == ["cancelled"]


def test_the_report_counts_open_steps_per_addressee_and_person_with_their_age(crm, roster, kit, api, clock, outcomes):
    first = kit.start_doc(crm, roster.principal("mkt"), doc_id=1)
    clock.advance(days=3)
    kit.start_doc(crm, roster.principal("mkt"), doc_id=2, region="华中")
    crm.workflow.delegate(roster.principal("tech"), kit.steps_by_key(crm, first)["technical"]["id"],
                          roster.ids["tech2"])
    clock.advance(hours=12)

    report = api.get("/api/v1/workflows/report", headers=kit.login(api, "admin")).json()

    # the first document's procurement and technical (2 days) and production (3 days) steps are late
    assert report["totals"] == {"open_steps": 8, "overdue": 3, "running_workflows": 2}
    by = {(r["assignee_kind"], r["assignee_value"]): r for r in report["by_addressee"]}
    procurement = by[("role", "procurement")]
    assert (procurement["open_steps"], procurement["overdue"]) == (2, 1)
    assert procurement["oldest_age_seconds"] == (3 * 24 + 12) * 3600
    assert procurement["average_age_seconds"] == ((3 * 24 + 12) * 3600 + 12 * 3600) // 2
    assert by[("department", "生产部")]["overdue"] == 1
    assert (by[("region", "华东")]["open_steps"], by[("region", "华东")]["overdue"]) == (2, 0)  # no due date
    [tech2] = report["by_user"]
    assert (tech2["username"], tech2["open_steps"], tech2["overdue"]) == ("tech2", 1, 1)
    assert report["oldest"][0]["workflow_id"] == first

    central = api.get("/api/v1/workflows/report", headers=kit.login(api, "rm_central")).json()
    assert central["totals"]["running_workflows"] == 1  # only the 华中 document
    problem(api.get("/api/v1/workflows/report", headers=kit.login(api, "sales_east")), 403)


def test_admin_creates_a_user_with_a_department_and_steps_reach_it(crm, roster, kit, api, outcomes):
    admin = kit.login(api, "admin")

    r = api.post("/api/v1/admin/users", headers=admin, json={
        "username": "qa_li", "display_name": "质检李", "role": "production", "password": kit.PASSWORD,
        "department": "质量部", "email": "qa@factory.example.cn"})

    assert r.status_code == 201
    assert next(u for u in api.get("/api/v1/admin/users", headers=admin).json()["items"]
                if u["username"] == "qa_li")["department"] == "质量部"
    quality = wfa.WorkflowDefinition.single_step("qa", "质量审核", wfa.StepDef("qa", "质量审核", "department", "质量部"))
    kit.start_doc(crm, roster.principal("mkt"), definition=quality)
    [task] = api.get("/api/v1/workflows/tasks", headers=kit.login(api, "qa_li")).json()["items"]
    assert task["assignee_label"] == "部门：质量部"
