"""E-mail approval links over HTTP: GET only confirms, POST decides once; expired, reused, forged
and stale links are clear 4xx and change nothing."""

import re

import pytest
from sqlalchemy import func, select

from dealercrm.adapters.db.workflow_tables import workflow_history, workflow_link_nonces
from dealercrm.application.approval_links import ApprovalLinkSigner
from dealercrm.entrypoints.logging import redact_text

LINK = re.compile(r"https://crm\.example\.cn(/api/v1/workflow-links/\S+)")
JSON = {"Accept": "application/json"}


def links_for(kit, crm, recipient):
    """(approve path, reject path) of the latest approval mail to ``recipient``."""
    mail = [m for m in kit.outbox(crm) if m["recipient"] == recipient and m["template_code"] == "workflow.task_assigned"]
    approve, reject = LINK.findall(mail[-1]["body"])
    return approve, reject


def state_of(crm, kit, wf_id):
    """Everything a link could change: the workflow and its steps and history, the used nonces,
    the outbox."""
    with crm.engine.connect() as conn:
        nonces = conn.execute(select(func.count()).select_from(workflow_link_nonces)).scalar()
        history = conn.execute(select(func.count()).select_from(workflow_history)).scalar()
    return crm.workflow.detail(kit.SYSTEM, wf_id), nonces, history, len(kit.outbox(crm))


@pytest.fixture
def review(crm, roster, outcomes, kit):
    wf_id = kit.start_doc(crm, roster.principal("mkt"))
    client = kit.http_client(crm)
    with client:
        yield client, wf_id


def test_opening_a_link_shows_a_confirmation_page_and_changes_nothing(crm, kit, review):
    client, wf_id = review
    approve, _ = links_for(kit, crm, "tech@factory.example.cn")
    before = state_of(crm, kit, wf_id)

    first = client.get(approve)
    second = client.get(approve)

    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    assert first.headers["cache-control"] == "no-store" and first.headers["referrer-policy"] == "no-referrer"
    assert "确认同意" in first.text and '<form method="post">' in first.text and "技术评审" in first.text
    assert state_of(crm, kit, wf_id) == before


def test_posting_the_link_approves_once_and_a_reuse_is_409_with_nothing_changed(crm, kit, review):
    client, wf_id = review
    approve, _ = links_for(kit, crm, "tech@factory.example.cn")

    done = client.post(approve, data={"comment": "同意，按标准配置"})

    assert done.status_code == 200 and "已同意" in done.text
    step = kit.steps_by_key(crm, wf_id)["technical"]
    assert (str(step["status"]), step["decided_by_name"], step["comment"]) == ("approved", "tech", "同意，按标准配置")
    after_first = state_of(crm, kit, wf_id)

    again = client.post(approve, data={})
    again_json = client.post(approve, headers=JSON)

    assert again.status_code == 409 and "已使用" in again.text
    assert again_json.status_code == 409
    assert again_json.headers["content-type"].startswith("application/problem+json")
    assert again_json.json()["code"] == "workflow.link_used"
    assert client.get(approve, headers=JSON).json()["code"] == "workflow.link_used"
    assert state_of(crm, kit, wf_id) == after_first


def test_an_expired_link_is_410_and_changes_nothing(crm, kit, review, clock):
    client, wf_id = review
    approve, _ = links_for(kit, crm, "tech@factory.example.cn")
    clock.advance(hours=72, seconds=1)
    before = state_of(crm, kit, wf_id)

    page = client.get(approve)
    posted = client.post(approve, headers=JSON)

    assert page.status_code == 410 and "已过期" in page.text
    assert posted.status_code == 410 and posted.json()["code"] == "workflow.link_expired"
    assert state_of(crm, kit, wf_id) == before


def _forged(path, crm):
    prefix, token = path.rsplit("/", 1)
    payload, signature = token.split(".")
    import base64

    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    parts = raw.split(".")
    parts[1] = str(int(parts[1]) + 1)  # another step, same signature
    tampered = base64.urlsafe_b64encode(".".join(parts).encode()).decode().rstrip("=")
    foreign_key = ApprovalLinkSigner(b"an attacker's own key, not ours!")
    claims = crm.approval_mail.signer.verify(token, crm.clock())
    other, _ = foreign_key.issue(step_id=claims.step_id, user_id=claims.user_id, decision="approve",
                                 expires_at=claims.expires_at)
    return [f"{prefix}/{tampered}.{signature}", f"{prefix}/{other}", f"{prefix}/{token[:-3]}", f"{prefix}/garbage",
            f"{prefix}/{payload}"]


def test_forged_or_mangled_links_are_400_and_change_nothing(crm, kit, review):
    client, wf_id = review
    approve, _ = links_for(kit, crm, "tech@factory.example.cn")
    before = state_of(crm, kit, wf_id)

    for path in _forged(approve, crm):
        page = client.get(path)
        posted = client.post(path, headers=JSON)
        assert page.status_code == 400 and "无效" in page.text, path
        assert posted.status_code == 400 and posted.json()["code"] == "workflow.link_invalid", path

    assert state_of(crm, kit, wf_id) == before


def test_a_link_to_a_step_already_decided_is_stale_409(crm, roster, kit, review):
    client, wf_id = review
    approve, reject = links_for(kit, crm, "tech@factory.example.cn")
    crm.workflow.decide(roster.principal("tech"), kit.steps_by_key(crm, wf_id)["technical"]["id"], "approve")
    before = state_of(crm, kit, wf_id)

    page = client.get(approve)
    posted = client.post(reject, data={"reason": "改主意了"}, headers=JSON)

    assert page.status_code == 409 and "已处理" in page.text
    assert posted.status_code == 409 and posted.json()["current_state"] == "approved"
    assert state_of(crm, kit, wf_id) == before


def test_the_reject_link_needs_a_reason_then_rejects_and_the_owner_learns_why(crm, kit, review, outcomes):
    client, wf_id = review
    _, reject = links_for(kit, crm, "prod@factory.example.cn")
    assert 'name="reason" required' in client.get(reject).text
    before = state_of(crm, kit, wf_id)

    missing = client.post(reject, data={"reason": "  "}, headers=JSON)
    assert missing.status_code == 422 and missing.json()["field"] == "reason"
    assert state_of(crm, kit, wf_id) == before

    done = client.post(reject, data={"reason": "本月产能已排满"})

    assert done.status_code == 200 and "已驳回" in done.text
    assert [(o.status.value, o.summary) for o in outcomes] == [("rejected", "生产评审：本月产能已排满")]


def test_a_link_of_a_deactivated_user_or_of_a_step_handed_over_is_refused(crm, roster, kit, review):
    client, wf_id = review
    tech_approve, _ = links_for(kit, crm, "tech@factory.example.cn")
    proc_approve, _ = links_for(kit, crm, "proc@factory.example.cn")
    admin = roster.principal("admin")
    crm.identity.deactivate_user(admin, roster.ids["tech"])
    crm.workflow.delegate(roster.principal("proc"), kit.steps_by_key(crm, wf_id)["procurement"]["id"],
                          roster.ids["mkt"])
    before = state_of(crm, kit, wf_id)

    assert client.post(tech_approve, headers=JSON).json()["code"] == "workflow.link_invalid"
    handed = client.post(proc_approve, headers=JSON)

    assert handed.status_code == 403 and handed.json()["code"] == "workflow.not_your_step"
    assert state_of(crm, kit, wf_id) == before


def test_the_link_page_answers_json_when_asked_and_tokens_never_reach_the_logs(crm, kit, review):
    client, _ = review
    approve, _ = links_for(kit, crm, "tech@factory.example.cn")

    view = client.get(approve, headers=JSON).json()

    assert (view["decision"], view["step_name"], view["user_name"]) == ("approve", "技术评审", "tech")
    assert redact_text(f"path={approve}") == "path=/api/v1/workflow-links/***"
