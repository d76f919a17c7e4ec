"""Learning over HTTP on SQLite and PostgreSQL (seed 000 §6.6): opening an article records the
reader; editors assign required reading (必读) to dealers or stations and follow who has read it;
a dealer sees its own required reading, read or overdue by Beijing days."""

from __future__ import annotations

import datetime as dt

from tests.integration.marketing.test_knowledge_api import article


def setup(w):
    w.user("technical", username="tech")
    a = w.dealer(username="hongda", name="郑州宏达专用车销售有限公司")
    b = w.dealer(username="xinke", name="洛阳新科汽车贸易有限公司")
    w.user("station", username="zhan1", station_id=5)
    return a, b


def assign(w, body):
    return w.post("tech", "/api/v1/knowledge/assignments", body)


def test_required_reading_is_assigned_read_and_followed(world):
    a, b = setup(world)
    guide = article(world, "新版罐车呼吸阀保养规范", "每季度检查一次呼吸阀。")
    today = world.clock.now.date()

    made = assign(world, {"article_id": guide["id"], "readership": "dealers", "target_ids": [a],
                          "due_on": (today + dt.timedelta(days=7)).isoformat(), "note": "本周内完成"})
    before = world.get("hongda", "/api/v1/knowledge/assignments").json()["items"]
    other = world.get("xinke", "/api/v1/knowledge/assignments").json()["items"]
    world.get("hongda", f"/api/v1/knowledge/articles/{guide['id']}")
    world.get("hongda", f"/api/v1/knowledge/articles/{guide['id']}")
    after = world.get("hongda", "/api/v1/knowledge/assignments").json()["items"]
    progress = world.get("tech", f"/api/v1/knowledge/assignments/{made.json()['id']}").json()
    overview = world.get("tech", "/api/v1/knowledge/assignments").json()["items"]
    readers = world.get("tech", f"/api/v1/knowledge/articles/{guide['id']}/readers").json()["items"]

    assert made.status_code == 201, made.text
    assert [(r["title"], r["read_at"], r["overdue"]) for r in before] == [("新版罐车呼吸阀保养规范", None, False)]
    assert other == []  # addressed to dealer A only
    assert after[0]["read_at"] is not None
    assert (progress["assignment"]["addressed"], progress["assignment"]["read"]) == (1, 1)
    assert [(p["display_name"], p["org_id"]) for p in progress["people"]] == [(progress["people"][0]["display_name"], a)]
    assert [(r["addressed"], r["read"]) for r in overview] == [(1, 1)]
    assert [(r["read_count"], r["org_name"]) for r in readers] == [(2, "郑州宏达")]


def test_an_assignment_is_overdue_the_day_after_its_due_day_in_beijing(world):
    setup(world)
    guide = article(world, "半挂车制动检查要点", "制动气室每月检查。")
    world.clock.set_beijing(dt.date(2026, 3, 2), hour=9)
    assign(world, {"article_id": guide["id"], "readership": "dealers", "due_on": "2026-03-02"})

    world.clock.set_beijing(dt.date(2026, 3, 2), hour=23)   # 15:00 UTC, still the due day in Beijing
    on_the_day = world.get("hongda", "/api/v1/knowledge/assignments").json()["items"]
    world.clock.set_beijing(dt.date(2026, 3, 3), hour=0)    # 16:00 UTC the same UTC day: the next Beijing day
    next_day = world.get("hongda", "/api/v1/knowledge/assignments").json()["items"]

    assert [r["overdue"] for r in on_the_day] == [False]
    assert [r["overdue"] for r in next_day] == [True]


def test_bad_assignments_are_refused_and_store_nothing(world):
    a, _ = setup(world)
    staff_only = article(world, "内部：索赔审核要点", "仅限内部", audience=())
    draft = article(world, "草稿", "未发布", publish=False)
    for_dealers = article(world, "销售话术", "卖点……")
    tomorrow = (world.clock.now.date() + dt.timedelta(days=1)).isoformat()

    cases = {
        "article_not_for_readership": {"article_id": staff_only["id"], "readership": "dealers", "due_on": tomorrow},
        "article_not_published": {"article_id": draft["id"], "readership": "dealers", "due_on": tomorrow},
        "due_in_past": {"article_id": for_dealers["id"], "readership": "dealers", "due_on": "2020-01-01"},
        "unknown_target": {"article_id": for_dealers["id"], "readership": "dealers", "due_on": tomorrow,
                           "target_ids": [a, 999]},
    }
    answers = {code: assign(world, body) for code, body in cases.items()}
    bad_readership = assign(world, {"article_id": for_dealers["id"], "readership": "public", "due_on": tomorrow})
    missing = assign(world, {"article_id": 9999, "readership": "dealers", "due_on": tomorrow})
    by_dealer = world.post("hongda", "/api/v1/knowledge/assignments",
                           {"article_id": for_dealers["id"], "readership": "dealers", "due_on": tomorrow})

    for code, r in answers.items():
        assert r.status_code == 422 and r.json()["code"] == f"reading.{code}", (code, r.text)
    assert (bad_readership.status_code, bad_readership.json()["code"], bad_readership.json()["allowed"]) == (
        422, "request.enum", ["dealers", "stations"])
    assert missing.status_code == 404 and by_dealer.status_code == 403
    assert world.get("tech", "/api/v1/knowledge/assignments").json()["items"] == []


def test_a_cancelled_assignment_leaves_the_readers_list_and_cannot_be_cancelled_twice(world):
    setup(world)
    guide = article(world, "自卸车举升缸保养", "每500小时保养。")
    made = assign(world, {"article_id": guide["id"], "readership": "dealers",
                          "due_on": (world.clock.now.date() + dt.timedelta(days=3)).isoformat()}).json()

    first = world.post("tech", f"/api/v1/knowledge/assignments/{made['id']}/cancel")
    again = world.post("tech", f"/api/v1/knowledge/assignments/{made['id']}/cancel")

    assert first.status_code == 200 and first.json()["cancelled"] is True
    assert again.status_code == 409 and again.json()["current_state"] == "cancelled"
    assert world.get("hongda", "/api/v1/knowledge/assignments").json()["items"] == []
    assert world.get("tech", "/api/v1/knowledge/assignments", params={"active_only": "false"}).json()["items"][0]["cancelled"]
    assert world.get("hongda", f"/api/v1/knowledge/assignments/{made['id']}").status_code == 403
