"""知识库, the training invitation and the satisfaction survey pages the e-mails link to, and a
late e-mail task link, with Litestar's test client on the demo data."""

from __future__ import annotations

import pytest

from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.demo import DEMO_PASSWORD

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()


def test_a_dealer_searches_and_reads_articles_but_not_internal_ones(browser):
    client = browser("dealer05")

    found = client.get("/knowledge?q=呼吸阀")
    article = client.get("/knowledge/1")
    internal = client.get("/knowledge/6")  # 三包索赔审核要点（内部）
    bad = client.get("/knowledge?kind=nonsense")

    assert found.status_code == 200 and "罐体呼吸阀漏气怎么处理？" in found.text and "自卸车举升" not in found.text
    assert article.status_code == 200 and "HX-0231" in article.text
    assert internal.status_code == 404
    assert bad.status_code == 422 and "未知的文章类型" in bad.text


def test_declining_a_training_needs_a_reason_and_confirming_is_recorded(browser, crm):
    client = browser("dealer09")
    workbench = client.get("/").text
    html = client.get("/trainings/1").text

    refused = client.post("/trainings/1/respond", data={"_csrf_token": csrf_token(html), "response": "decline"},
                          follow_redirects=False)
    confirmed = client.post("/trainings/1/respond", data={"_csrf_token": csrf_token(html), "response": "confirm"},
                            follow_redirects=False)

    assert 'href="/trainings/1"' in workbench  # the invitation on the workbench opens its page
    assert refused.status_code == 422 and 'id="reason-error"' in refused.text
    assert confirmed.status_code == 303
    invitation = crm.marketing.training(SYSTEM, 1)["invitations"]
    assert next(i for i in invitation if i["dealer_id"] == 9)["response"] == "confirmed"
    assert "已确认参加" in client.get(confirmed.headers["location"]).text


def test_a_dealer_answers_a_survey_once_with_errors_beside_the_question(browser, crm):
    marketing = crm.identity.login("marketing", DEMO_PASSWORD).principal
    survey = crm.care.create_survey(marketing, "交付满意度", "", [
        {"topic": "delivery", "kind": "score", "text": "交付是否准时？"},
        {"topic": "products", "kind": "text", "text": "其他建议", "required": False}], 3, None)
    crm.care.send_survey(marketing, survey, [9], None)
    client = browser("dealer09")
    html = client.get(f"/dealer/surveys/{survey}").text

    missing = client.post(f"/dealer/surveys/{survey}", data={"_csrf_token": csrf_token(html), "q2": "很好"},
                          follow_redirects=False)
    answered = client.post(f"/dealer/surveys/{survey}", data={"_csrf_token": csrf_token(html), "q1": "4",
                                                              "q2": "很好"}, follow_redirects=False)

    assert missing.status_code == 422 and "第1题为必答题" in missing.text and "很好" in missing.text
    assert answered.status_code == 303
    page = client.get(answered.headers["location"]).text
    assert "已于" in page and 'id="survey-form"' not in page
    assert browser("dealer18").get(f"/dealer/surveys/{survey}").status_code == 404


def test_a_task_link_opened_after_the_step_was_decided_shows_its_workflow(browser, crm):
    client = browser("tech_lead")
    rows = crm.workflow.pending_tasks(crm.identity.login("tech_lead", DEMO_PASSWORD).principal, limit=1)
    step, workflow = rows[0]["step_id"], rows[0]["workflow_id"]
    html = client.get(f"/tasks/{step}").text
    client.post(f"/tasks/{step}/decide", data={"_csrf_token": csrf_token(html), "decision": "approve"})

    late = client.get(f"/tasks/{step}?workflow={workflow}")
    bare = client.get(f"/tasks/{step}")

    assert late.status_code == 200 and "该审批任务已处理" in late.text and "同意" in late.text
    assert bare.status_code == 404
