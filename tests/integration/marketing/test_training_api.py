"""Training over HTTP on SQLite and PostgreSQL: create with invitations (outbox), dealer
confirmation, attendance and effect analysis, the calendar, the video meeting with a provider
that fails, isolation between dealers."""

from __future__ import annotations

import datetime as dt

from dealercrm.application.ports.video import VideoProviderError

from .conftest import SYSTEM, at_beijing

DAY = dt.date(2026, 3, 10)


def setup(w):
    a = w.dealer(username="hongda", email="hd@example.com", phone="13911112222")
    b = w.dealer(username="shuntong", name="临沂顺通汽车贸易有限公司", region="华东", email="st@example.com")
    w.user("marketing", username="mkt")
    return a, b


def new_training(w, invitees, *, online=True, **extra):
    body = {"title": "新款罐式车产品培训", "topic": "产品知识", "audience": "dealers",
            "starts_at": at_beijing(DAY, 9), "ends_at": at_beijing(DAY, 11, 30), "online": online,
            "product_line": "tanker", "vr_url": "https://vr.example.com/factory",
            "invitees": [{"kind": "dealer", "id": i} for i in invitees], **extra}
    if not online:
        body["location"] = "郑州工厂培训中心"
    r = w.post("mkt", "/api/v1/trainings/", body)
    assert r.status_code == 201, r.text
    return r.json()


def test_online_training_gets_a_meeting_invitations_and_a_calendar_entry(world_factory):
    w = world_factory()
    a, b = setup(w)

    created = new_training(w, [a, b])
    detail = w.get("mkt", f"/api/v1/trainings/{created['id']}").json()
    mail = [m for m in w.outbox() if m["template_code"] and m["template_code"].startswith("training.")]
    cal = w.get("hongda", "/api/v1/calendar/?from=2026-03-01&to=2026-04-01").json()["items"]

    assert created["training_no"].startswith("TR-2026-")
    assert created["meeting_status"] == "created"
    assert detail["meeting"]["join_url"].startswith("https://meeting.invalid/j/")
    assert len(w.video.meetings) == 1
    assert sorted((m["template_code"], m["recipient"]) for m in mail) == [
        ("training.invitation", "hd@example.com"), ("training.invitation", "st@example.com"),
        ("training.meeting_ready", "hd@example.com"), ("training.meeting_ready", "st@example.com")]
    assert [i["title"] for i in cal if i["source"] == "trainings"] == ["培训：新款罐式车产品培训"]
    entry = next(i for i in cal if i["source"] == "trainings")
    assert entry["start"] == "2026-03-10T01:00:00Z" and entry["end"] == "2026-03-10T03:30:00Z"


def test_dealer_confirms_or_declines_with_reason_and_sees_only_its_own_invitation(world_factory):
    w = world_factory()
    a, b = setup(w)
    t = new_training(w, [a, b])["id"]

    no_reason = w.post("shuntong", f"/api/v1/trainings/{t}/response", {"confirm": False})
    declined = w.post("shuntong", f"/api/v1/trainings/{t}/response", {"confirm": False, "reason": "当天有客户验车"})
    confirmed = w.post("hongda", f"/api/v1/trainings/{t}/response", {"confirm": True})
    mine = w.get("hongda", f"/api/v1/trainings/{t}").json()
    theirs = w.get("shuntong", f"/api/v1/trainings/{t}").json()

    assert no_reason.status_code == 422 and no_reason.json()["code"] == "training.reason_required"
    assert declined.json()["status"] == "declined"
    assert confirmed.json()["status"] == "confirmed"
    assert [(i["invitee_id"], i["response"]) for i in mine["invitations"]] == [(a, "confirmed")]
    assert [(i["invitee_id"], i["response"], i["reason"]) for i in theirs["invitations"]] == [
        (b, "declined", "当天有客户验车")]
    assert mine["meeting"]["join_url"] and theirs["meeting"]["join_url"] is None


def test_an_unanswered_invitation_is_a_task_on_the_dealers_workbench(world_factory):
    w = world_factory()
    a, b = setup(w)
    t = new_training(w, [a])["id"]

    before = w.get("hongda", "/api/v1/workbench/").json()["categories"]
    w.post("hongda", f"/api/v1/trainings/{t}/response", {"confirm": True})
    after = w.get("hongda", "/api/v1/workbench/").json()["categories"]
    other = w.get("shuntong", "/api/v1/workbench/").json()["categories"]

    tasks = next(c for c in before if c["code"] == "tasks")
    assert tasks["count"] == 1
    assert tasks["items"][0]["title"] == "请确认是否参加培训：新款罐式车产品培训"
    assert tasks["items"][0]["subject_id"] == str(t)
    assert next(c for c in after if c["code"] == "tasks")["count"] == 0
    assert next(c for c in other if c["code"] == "tasks")["count"] == 0


def test_a_dealer_not_invited_gets_404_and_sees_nothing(world_factory):
    w = world_factory()
    a, b = setup(w)
    t = new_training(w, [a])["id"]

    assert w.get("shuntong", f"/api/v1/trainings/{t}").status_code == 404
    assert w.post("shuntong", f"/api/v1/trainings/{t}/response", {"confirm": True}).status_code == 404
    assert w.get("shuntong", "/api/v1/trainings/").json()["items"] == []
    assert w.get("hongda", "/api/v1/trainings/").json()["items"][0]["my_response"] == "pending"
    assert w.post("hongda", "/api/v1/trainings/", {}).status_code == 403
    assert w.get("hongda", f"/api/v1/trainings/{t}/effect").status_code == 403


def test_attendance_feedback_and_effect_analysis(world_factory):
    w = world_factory()
    a, b = setup(w)
    t = new_training(w, [a, b], online=False)["id"]
    w.post("hongda", f"/api/v1/trainings/{t}/response", {"confirm": True})
    w.post("shuntong", f"/api/v1/trainings/{t}/response", {"confirm": True})
    inv = {i["invitee_id"]: i["id"] for i in w.get("mkt", f"/api/v1/trainings/{t}").json()["invitations"]}
    too_early = w.post("mkt", f"/api/v1/trainings/{t}/participants",
                       {"participants": [{"invitation_id": inv[a], "name": "张三"}]})
    w.clock.now = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)

    r = w.post("mkt", f"/api/v1/trainings/{t}/participants", {"participants": [
        {"invitation_id": inv[a], "name": "张三", "feedback_score": 5, "quiz_score": 90},
        {"invitation_id": inv[a], "name": "李四", "feedback_score": 3, "quiz_score": 55},
        {"invitation_id": inv[b], "name": "赵六", "attended": False},
    ]})
    bad_score = w.post("mkt", f"/api/v1/trainings/{t}/participants", {"participants": [
        {"invitation_id": inv[b], "name": "钱七", "feedback_score": 6}]})
    own_feedback = w.post("hongda", f"/api/v1/trainings/{t}/participants/{r.json()['ids'][1]}/feedback",
                          {"feedback_score": 4})
    foreign_feedback = w.post("shuntong", f"/api/v1/trainings/{t}/participants/{r.json()['ids'][1]}/feedback",
                              {"feedback_score": 1})
    effect = w.get("mkt", f"/api/v1/trainings/{t}/effect").json()
    seen_by_b = w.get("shuntong", f"/api/v1/trainings/{t}").json()["participants"]

    assert too_early.status_code == 409 and too_early.json()["code"] == "training.not_started"
    assert r.status_code == 201 and len(r.json()["ids"]) == 3
    assert bad_score.status_code == 422 and bad_score.json()["code"] == "training.feedback_score_invalid"
    assert own_feedback.status_code == 200
    assert foreign_feedback.status_code == 404
    s = effect["summary"]
    assert (s["invited"], s["confirmed"], s["registered"], s["attended"]) == (2, 2, 3, 2)
    assert s["attendance_rate_pct"] == 66.7
    assert (s["feedback_avg"], s["feedback_distribution"]["4"], s["quiz_avg"], s["quiz_pass_count"]) == (4.5, 1, 72.5, 1)
    per = {x["invitee_id"]: x["summary"] for x in effect["per_invitee"]}
    assert per[b]["attended"] == 0 and per[a]["attended"] == 2
    assert [p["name"] for p in seen_by_b] == ["赵六"]


def test_a_provider_outage_keeps_the_training_pending_and_a_retry_creates_one_meeting(world_factory):
    w = world_factory()
    a, _ = setup(w)
    w.video.fail_next(VideoProviderError("视频会议服务响应超时", transient=True, code="video.timeout"), times=2)

    created = new_training(w, [a])
    after_first = w.get("mkt", f"/api/v1/trainings/{created['id']}").json()["meeting"]
    retried = w.post("mkt", f"/api/v1/trainings/{created['id']}/meeting/sync").json()["meeting"]
    by_job = w.crm.marketing.sync_meetings()
    final = w.get("mkt", f"/api/v1/trainings/{created['id']}").json()["meeting"]

    assert created["meeting_status"] == "pending"
    assert (after_first["status"], after_first["attempts"], after_first["join_url"]) == ("pending", 1, None)
    assert "video.timeout" in after_first["error"]
    assert retried["status"] == "pending" and retried["attempts"] == 2
    assert by_job == 1
    assert final["status"] == "created" and final["attempts"] == 3 and final["error"] is None
    assert len(w.video.meetings) == 1


def test_a_provider_refusal_marks_the_meeting_failed_until_someone_retries(world_factory):
    w = world_factory()
    a, _ = setup(w)
    w.video.fail_next(VideoProviderError("拒绝（400 invalid_param）", transient=False, code="video.rejected"))

    created = new_training(w, [a])
    job = w.crm.marketing.sync_meetings()
    retried = w.post("mkt", f"/api/v1/trainings/{created['id']}/meeting/sync").json()["meeting"]

    assert created["meeting_status"] == "failed"
    assert job == 0
    assert retried["status"] == "created"


def test_cancelling_tells_invitees_and_cancels_the_meeting(world_factory):
    w = world_factory()
    a, _ = setup(w)
    t = new_training(w, [a])["id"]

    r = w.post("mkt", f"/api/v1/trainings/{t}/cancel", {"reason": "讲师临时出差"})
    again = w.post("mkt", f"/api/v1/trainings/{t}/cancel", {"reason": "再取消"})
    cancelled_mail = [m for m in w.outbox() if m["template_code"] == "training.cancelled"]

    assert r.json()["status"] == "cancelled" and r.json()["meeting"]["status"] == "cancelled"
    assert next(iter(w.video.meetings)) in w.video.cancelled
    assert again.status_code == 409 and again.json()["current_state"] == "cancelled"
    assert [m["recipient"] for m in cancelled_mail] == ["hd@example.com"]
    assert "讲师临时出差" in cancelled_mail[0]["body"]


def test_reminders_go_once_by_sms_to_invitees_who_did_not_decline(world_factory):
    w = world_factory()
    a, b = setup(w)
    t = new_training(w, [a, b], online=False)["id"]
    w.post("shuntong", f"/api/v1/trainings/{t}/response", {"confirm": False, "reason": "没空"})
    w.clock.now = dt.datetime(2026, 3, 9, 6, 0, tzinfo=dt.UTC)

    first = w.crm.marketing.send_training_reminders()
    second = w.crm.marketing.send_training_reminders()
    sms = [m for m in w.outbox() if m["template_code"] == "training.reminder"]

    assert (first, second) == (1, 1)
    assert [m["recipient"] for m in sms] == ["13911112222"]
    assert "03月10日 09:00" in sms[0]["body"]


def test_bad_input_is_422_and_writes_nothing(world_factory):
    w = world_factory()
    a, _ = setup(w)

    naive = w.post("mkt", "/api/v1/trainings/", {"title": "x", "topic": "y", "audience": "dealers",
                                                  "starts_at": "2026-03-10T09:00:00", "ends_at": "2026-03-10T10:00:00",
                                                  "online": True})
    past = w.post("mkt", "/api/v1/trainings/", {"title": "x", "topic": "y", "audience": "dealers",
                                                 "starts_at": at_beijing(dt.date(2026, 3, 1), 9),
                                                 "ends_at": at_beijing(dt.date(2026, 3, 1), 10), "online": True})
    unknown_dealer = w.post("mkt", "/api/v1/trainings/", {
        "title": "x", "topic": "y", "audience": "dealers", "starts_at": at_beijing(DAY, 9),
        "ends_at": at_beijing(DAY, 10), "online": True, "invitees": [{"kind": "dealer", "id": a}, {"kind": "dealer",
                                                                                                   "id": 99999}]})
    wrong_kind = w.post("mkt", "/api/v1/trainings/", {
        "title": "x", "topic": "y", "audience": "stations", "starts_at": at_beijing(DAY, 9),
        "ends_at": at_beijing(DAY, 10), "online": False, "location": "站内",
        "invitees": [{"kind": "dealer", "id": a}]})
    extra_field = w.post("mkt", "/api/v1/trainings/", {
        "title": "x", "topic": "y", "audience": "dealers", "starts_at": at_beijing(DAY, 9),
        "ends_at": at_beijing(DAY, 10), "online": True, "status": "completed"})
    offline_without_place = w.post("mkt", "/api/v1/trainings/", {
        "title": "x", "topic": "y", "audience": "dealers", "starts_at": at_beijing(DAY, 9),
        "ends_at": at_beijing(DAY, 10), "online": False})

    assert naive.status_code == 422 and naive.json()["code"] == "datetime.naive"
    assert past.status_code == 422 and past.json()["code"] == "training.starts_in_past"
    assert unknown_dealer.status_code == 422 and unknown_dealer.json()["field"] == "invitees[1].id"
    assert wrong_kind.status_code == 422 and wrong_kind.json()["code"] == "training.invitee_kind_mismatch"
    assert extra_field.status_code == 422
    assert offline_without_place.status_code == 422 and offline_without_place.json()["field"] == "location"
    assert w.get("mkt", "/api/v1/trainings/").json()["items"] == []
    assert w.video.meetings == {}


def test_station_and_sales_trainings_are_answered_by_their_invitees(world_factory):
    w = world_factory()
    w.user("after_sales", username="svc")
    w.user("station", username="zhan5", station_id=5, email="z5@example.com")
    w.user("station", username="zhan6", station_id=6)
    w.user("sales", username="sales1", regions=("华中",))
    w.user("sales", username="sales2", regions=("华东",))
    sales_ids = {u["username"]: u["id"] for u in w.crm.identity.list_users(SYSTEM, limit=100)}
    station_training = w.post("svc", "/api/v1/trainings/", {
        "title": "液压举升系统维修", "topic": "维修技术", "audience": "stations", "starts_at": at_beijing(DAY, 9),
        "ends_at": at_beijing(DAY, 17), "online": False, "location": "郑州服务站",
        "invitees": [{"kind": "station", "id": 5, "name": "郑州东服务站"}]}).json()
    sales_training = w.post("svc", "/api/v1/trainings/", {
        "title": "大客户招投标实务", "topic": "销售技能", "audience": "sales", "starts_at": at_beijing(DAY, 14),
        "ends_at": at_beijing(DAY, 17), "online": False, "location": "总部",
        "invitees": [{"kind": "user", "id": sales_ids["sales1"]}]}).json()

    station_answer = w.post("zhan5", f"/api/v1/trainings/{station_training['id']}/response", {"confirm": True})
    other_station = w.post("zhan6", f"/api/v1/trainings/{station_training['id']}/response", {"confirm": True})
    sales_answer = w.post("sales1", f"/api/v1/trainings/{sales_training['id']}/response", {"confirm": True})
    other_sales = w.get("sales2", f"/api/v1/trainings/{sales_training['id']}")
    unknown_station = w.post("svc", "/api/v1/trainings/", {
        "title": "x", "topic": "y", "audience": "stations", "starts_at": at_beijing(DAY, 9),
        "ends_at": at_beijing(DAY, 10), "online": False, "location": "z", "invitees": [{"kind": "station", "id": 77}]})

    assert station_answer.json()["status"] == "confirmed"
    assert other_station.status_code == 404 and other_sales.status_code == 404
    assert sales_answer.json()["status"] == "confirmed"
    assert unknown_station.status_code == 422 and unknown_station.json()["code"] == "station.not_found"
    assert [m["recipient"] for m in w.outbox() if m["template_code"] == "training.invitation"] == ["z5@example.com"]


def test_with_a_configured_provider_the_meeting_is_made_over_http_and_cancelled_there(world_factory):
    from dealercrm.adapters.video.http import HttpVideoConferencing
    from dealercrm.adapters.video.simulator import VideoSimulator

    with VideoSimulator(app_id="crm", secret="video-secret-1") as sim:
        w = world_factory(video=False, video_url=sim.base_url, video_app_id="crm", video_secret="video-secret-1",
                          video_timeout_seconds=0.5)
        a, _ = setup(w)
        sim.fail_next(502, "bad_gateway", "upstream down")

        created = new_training(w, [a])
        pending = w.get("mkt", f"/api/v1/trainings/{created['id']}").json()["meeting"]
        retried = w.post("mkt", f"/api/v1/trainings/{created['id']}/meeting/sync").json()["meeting"]
        [meeting_id] = list(sim.meetings)
        sim.add_participant(meeting_id, "王建国", 1773104460, 1773108060)
        joined = w.get("mkt", f"/api/v1/trainings/{created['id']}/meeting/participants").json()["items"]
        cancelled = w.post("mkt", f"/api/v1/trainings/{created['id']}/cancel", {"reason": "改期"}).json()["meeting"]

    assert isinstance(w.crm.marketing.video, HttpVideoConferencing)
    assert created["meeting_status"] == "pending" and "video.unavailable" in pending["error"]
    assert retried["status"] == "created" and retried["join_url"] == sim.meetings[meeting_id]["join_url"]
    assert [p["name"] for p in joined] == ["王建国"]
    assert cancelled["status"] == "cancelled" and sim.meetings[meeting_id]["status"] == "cancelled"


def test_the_worker_scheduler_retries_pending_meetings_and_sends_reminders(world_factory):
    w = world_factory()
    a, _ = setup(w)
    w.video.fail_next(VideoProviderError("维护中", transient=True, code="video.unavailable"))
    created = new_training(w, [a])
    w.clock.now = dt.datetime(2026, 3, 9, 6, 0, tzinfo=dt.UTC)

    stats = w.crm.engagement.run_scheduler_once()
    meeting = w.get("mkt", f"/api/v1/trainings/{created['id']}").json()["meeting"]

    assert created["meeting_status"] == "pending"
    assert meeting["status"] == "created"
    assert stats.jobs >= 2  # one meeting made, one reminder queued
    assert [m["recipient"] for m in w.outbox() if m["template_code"] == "training.reminder"] == ["13911112222"]


def test_rescheduling_asks_invitees_again_and_replaces_the_meeting_at_the_provider(world_factory):
    from dealercrm.adapters.video.simulator import VideoSimulator

    with VideoSimulator(app_id="crm", secret="video-secret-2") as sim:
        w = world_factory(video=False, video_url=sim.base_url, video_app_id="crm", video_secret="video-secret-2",
                          video_timeout_seconds=0.5)
        a, b = setup(w)
        t = new_training(w, [a, b])["id"]
        w.post("hongda", f"/api/v1/trainings/{t}/response", {"confirm": True})
        w.post("shuntong", f"/api/v1/trainings/{t}/response", {"confirm": False, "reason": "没空"})
        [old] = list(sim.meetings)
        sim.fail_next(503, "maintenance", "维护中")  # the old meeting's cancel fails once

        r = w.post("mkt", f"/api/v1/trainings/{t}/reschedule", {"starts_at": at_beijing(DAY, 14),
                                                                 "ends_at": at_beijing(DAY, 16)})
        after_first = {m: x["status"] for m, x in sim.meetings.items()}
        w.crm.marketing.sync_meetings()
        same = w.post("mkt", f"/api/v1/trainings/{t}/reschedule", {"starts_at": at_beijing(DAY, 14),
                                                                    "ends_at": at_beijing(DAY, 16)})

    body = r.json()
    new = body["meeting"]["meeting_id"]
    assert r.status_code == 200, r.text
    assert [(i["invitee_id"], i["response"]) for i in body["invitations"]] == [(a, "pending"), (b, "declined")]
    assert body["starts_at"].startswith("2026-03-10T06:00:00")
    assert body["meeting"]["status"] == "created" and new != old
    assert sim.meetings[new]["start_time"] == int(dt.datetime(2026, 3, 10, 6, tzinfo=dt.UTC).timestamp())
    assert after_first[old] == "scheduled"  # its cancel met the outage ...
    assert sim.meetings[old]["status"] == "cancelled"  # ... and the next sync cancelled it
    assert same.status_code == 409 and same.json()["code"] == "training.same_window"
    assert sorted(m["recipient"] for m in w.outbox() if m["template_code"] == "training.rescheduled") == [
        "hd@example.com", "st@example.com"]
