"""The community over HTTP on both engines (issue 21 §2): a dealer asks, a station answers, the
asker accepts, likes once, Chinese search finds the question, staff lock and hide, and an accepted
answer becomes a knowledge article. Bad input stores nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from dealercrm.adapters.db.community import (
    community_answers,
    community_likes,
    community_posts,
)


def _count(world, table) -> int:
    with world.crm.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _people(world) -> tuple[str, str, str]:
    world.dealer(username="dealer_zz")
    return "dealer_zz", world.user("after_sales"), world.user("marketing")


def test_a_question_is_answered_accepted_liked_searched_and_made_an_article(world):
    dealer, staff, marketing = _people(world)
    asked = world.post(dealer, "/api/v1/community/posts", {
        "topic": "fault_tank", "title": "罐车呼吸阀漏油怎么处理", "body": "行驶中呼吸阀漏油，已更换密封圈仍然漏。"})
    assert asked.status_code == 201, asked.text
    pid = asked.json()["id"]

    answered = world.post(staff, f"/api/v1/community/posts/{pid}/answers",
                          {"body": "检查呼吸阀阀座是否变形，按保养手册更换阀座总成。"})
    aid = answered.json()["id"]
    accepted = world.post(dealer, f"/api/v1/community/posts/{pid}/accept", {"answer_id": aid})
    liked = world.post(marketing, f"/api/v1/community/answers/{aid}/like")
    twice = world.post(marketing, f"/api/v1/community/answers/{aid}/like")
    found = world.get(dealer, "/api/v1/community/posts", params={"q": "阀座"}).json()
    by_topic = world.get(dealer, "/api/v1/community/posts", params={"topic": "tanker"}).json()
    article = world.post(marketing, f"/api/v1/community/answers/{aid}/article")
    detail = world.get(dealer, f"/api/v1/community/posts/{pid}").json()

    assert answered.status_code == 201
    assert accepted.status_code == 200 and accepted.json()["accepted_answer_id"] == aid
    assert (liked.json(), twice.status_code, twice.json()["code"]) == ({"like_count": 1}, 409,
                                                                        "community.already_liked")
    assert [p["id"] for p in found["items"]] == [pid] and found["next_cursor"] is None
    assert by_topic["items"] == []
    assert article.status_code == 201, article.text
    assert detail["answers"][0]["accepted"] is True
    assert detail["answers"][0]["article_id"] == article.json()["article_id"]
    assert world.post(marketing, f"/api/v1/community/answers/{aid}/article").status_code == 409


def test_bad_input_locked_posts_and_dealer_moderation_store_nothing(world):
    dealer, staff, _ = _people(world)
    pid = world.post(dealer, "/api/v1/community/posts", {
        "topic": "regulations", "title": "新国标挂车限重", "body": "请问新规何时执行？"}).json()["id"]
    before = (_count(world, community_posts), _count(world, community_answers), _count(world, community_likes))

    empty = world.post(dealer, "/api/v1/community/posts", {"topic": "regulations", "title": " ", "body": "x"})
    oversize = world.post(dealer, "/api/v1/community/posts", {"topic": "regulations", "title": "t",
                                                               "body": "字" * 5001})
    bad_topic = world.post(dealer, "/api/v1/community/posts", {"topic": "food", "title": "t", "body": "b"})
    dealer_locks = world.post(dealer, f"/api/v1/community/posts/{pid}/moderation", {"locked": True})
    staff_locks = world.post(staff, f"/api/v1/community/posts/{pid}/moderation", {"locked": True})
    on_locked = world.post(staff, f"/api/v1/community/posts/{pid}/answers", {"body": "七月一日起"})
    reported = world.post(dealer, f"/api/v1/community/posts/{pid}/report", {"reason": "内容不实"})
    dealer_queue = world.get(dealer, "/api/v1/community/posts", params={"reported": "true"})
    queue = world.get(staff, "/api/v1/community/posts", params={"reported": "true"}).json()
    hidden = world.post(staff, f"/api/v1/community/posts/{pid}/moderation", {"hidden": True})

    assert [r.status_code for r in (empty, oversize, bad_topic)] == [422, 422, 422]
    assert empty.json()["code"] == "community.title_required"
    assert (dealer_locks.status_code, dealer_locks.json()["code"]) == (403, "community.staff_only")
    assert staff_locks.json()["locked"] is True
    assert (on_locked.status_code, on_locked.json()["code"]) == (409, "community.post_locked")
    assert reported.status_code == 201 and dealer_queue.status_code == 403
    assert [(p["id"], p["report_count"]) for p in queue["items"]] == [(pid, 1)]
    assert hidden.json()["hidden"] is True
    assert world.get(dealer, f"/api/v1/community/posts/{pid}").status_code == 404
    assert world.get(staff, f"/api/v1/community/posts/{pid}").status_code == 200
    assert world.get(dealer, "/api/v1/community/posts").json()["items"] == []
    assert (_count(world, community_posts), _count(world, community_answers),
            _count(world, community_likes)) == before
