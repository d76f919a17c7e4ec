"""Warranty-claim anti-fraud over HTTP on SQLite and PostgreSQL (issue 18 §1): a suspicious claim
gets the extra 风险复核 step with its named reasons on the claim and on the review task, a clean
one does not; the per-station risk report; bad configuration is 422 naming the field."""

from __future__ import annotations

from .test_aftersales_api import Api, _accepted_request, _repair_body
from .test_aftersales_api import api as _api_fixture

api = _api_fixture  # the after-sales API fixture, shared with the main API test


def _claim_for(api: Api, *, hours: str, operation: str | None = "TK-VALVE") -> dict:
    rid = _accepted_request(api)
    body = _repair_body(api, [{"part_no": "FV-2301", "quantity": 1, "use": "warranty"}], hours=hours)
    if operation is not None:
        body["operation_code"] = operation
    r = api.post(f"/requests/{rid}/repair-record", "st1", body)
    assert r.status_code == 201, r.text
    record = r.json()
    assert api.post(f"/records/{record['id']}/confirm", "st1", {"customer_name": "赵师傅", "satisfaction": 4}
                    ).status_code == 200
    r = api.post(f"/records/{record['id']}/claims", "st1")
    assert r.status_code == 201, r.text
    return r.json()


def _review(api: Api, claim_id: int) -> tuple[str, int]:
    r = api.client.get("/api/v1/workflows/", headers=api.tokens["staff"],
                       params={"subject_type": "service_claim", "subject_id": claim_id})
    assert r.status_code == 200, r.text
    [wf] = r.json()["items"]
    return wf["definition_code"], wf["stage_count"]


def _setup(api: Api) -> None:
    r = api.put("/repair-operations", "staff", {"code": "tk-valve", "name": "更换罐体紧急切断阀", "standard_hours": "1.5"})
    assert r.status_code == 200 and r.json() == {"code": "TK-VALVE", "name": "更换罐体紧急切断阀", "standard_hours": "1.5"}
    assert api.post("/stock/movements", "st1", {"station_id": api.st1, "part_no": "FV-2301", "kind": "receipt",
                                                 "quantity": 5}).status_code == 201


def test_a_suspicious_claim_gets_the_risk_review_step_with_its_reasons_and_a_clean_one_does_not(api):
    _setup(api)

    clean = _claim_for(api, hours="1.5")
    api.kit.clock.advance(days=10)
    suspicious = _claim_for(api, hours="4")

    assert clean["risk_score"] == 0 and clean["risk_flagged"] is False and clean["risk_reasons"] == []
    assert [x["code"] for x in clean["risk_skipped"]] == ["parts_over_fitment"]
    assert _review(api, clean["id"]) == ("service_claim_review", 2)
    assert suspicious["risk_flagged"] is True and suspicious["risk_score"] == 65
    assert [x["code"] for x in suspicious["risk_reasons"]] == ["repeat_part", "labour_over_standard"]
    assert suspicious["risk_reasons"][0]["facts"]["claims"] == [clean["number"]]
    assert "10天前" in suspicious["risk_reasons"][0]["text"]
    assert _review(api, suspicious["id"]) == ("service_claim_review_flagged", 3)
    detail = api.get(f"/claims/{suspicious['id']}", "staff").json()
    assert detail["risk_reasons"] == suspicious["risk_reasons"]
    tasks = api.client.get("/api/v1/workflows/tasks", headers=api.tokens["staff"]).json()["items"]
    task = next(t for t in tasks if t["subject_id"] == suspicious["id"])
    assert task["step_name"] == "索赔风险复核"
    assert "风险65分" in task["title"] and "同车同配件短期重复索赔" in task["title"]


def test_a_flagged_claim_needs_the_risk_review_before_the_usual_steps(api):
    _setup(api)
    _claim_for(api, hours="1.5")
    api.kit.clock.advance(days=3)
    claim = _claim_for(api, hours="4")

    first = api.post(f"/claims/{claim['id']}/approve", "staff").json()
    finance_too_early = api.post(f"/claims/{claim['id']}/approve", "finance")
    second = api.post(f"/claims/{claim['id']}/approve", "staff").json()
    last = api.post(f"/claims/{claim['id']}/approve", "finance").json()

    assert first["state"] == "in_review" and finance_too_early.status_code == 403
    assert second["state"] == "in_review" and last["state"] == "approved"
    assert last["risk_reasons"][0]["code"] == "repeat_part"


def test_the_risk_report_per_station_is_scoped_like_the_other_reports(api):
    _setup(api)
    _claim_for(api, hours="1.5")
    api.kit.clock.advance(days=1)
    _claim_for(api, hours="4")
    period = {"date_from": "2026-03-01", "date_to": "2026-03-31"}

    staff = api.get("/reports/claim-risk", "staff", **period).json()
    own = api.get("/reports/claim-risk", "st1", **period).json()
    other = api.get("/reports/claim-risk", "st2", **period).json()
    bad = api.get("/reports/claim-risk", "staff", date_from="2026-03-31", date_to="2026-03-01")

    [row] = staff["stations"]
    assert (row["station_id"], row["claims"], row["flagged"], row["flagged_percent"], row["average_score"]) == (
        api.st1, 2, 1, "50.0", "32.5")
    assert [(x["code"], x["claims"]) for x in row["top_reasons"]] == [("repeat_part", 1), ("labour_over_standard", 1)]
    assert own["stations"] == staff["stations"] and other["stations"] == []
    assert bad.status_code == 422 and bad.json()["field"] == "date_to"


def test_the_risk_config_is_tunable_and_bad_input_is_422_naming_the_field(api):
    _setup(api)

    zero = api.put("/risk-config", "staff", {"threshold": 0})
    unknown_rule = api.put("/risk-config", "staff", {"weights": {"gut_feeling": 10}})
    heavy = api.put("/risk-config", "staff", {"weights": {"photo_reused": 101}})
    wrong_type = api.put("/risk-config", "staff", {"outlier_z": "high"})
    by_station = api.put("/risk-config", "st1", {"threshold": 90})
    unknown_op = api.post(f"/requests/{_accepted_request(api)}/repair-record", "st1", {
        **_repair_body(api, []), "operation_code": "NOPE"})
    ok = api.put("/risk-config", "staff", {"threshold": 70, "weights": {"labour_over_standard": 35}})

    assert zero.status_code == 422 and zero.json()["field"] == "threshold"
    assert unknown_rule.status_code == 422 and unknown_rule.json()["field"].endswith("gut_feeling")
    assert heavy.status_code == 422 and heavy.json()["field"].endswith("photo_reused")
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "outlier_z"
    assert by_station.status_code == 403
    assert unknown_op.status_code == 422 and unknown_op.json()["field"] == "operation_code"
    assert ok.status_code == 200
    cfg = api.get("/risk-config", "finance").json()
    assert cfg["threshold"] == 70 and cfg["weights"]["labour_over_standard"] == 35 and cfg["weights"]["repeat_part"] == 40
    assert cfg["rules"]["photo_reused"] == "照片已用于其他索赔"
    # 40 (repeat part) + 35 (labour) = 75 ≥ 70: still flagged under the new weights; 40 alone is not.
    _claim_for(api, hours="1.5")
    api.kit.clock.advance(days=2)
    repeat_only = _claim_for(api, hours="1.5")
    assert repeat_only["risk_score"] == 40 and repeat_only["risk_flagged"] is False
