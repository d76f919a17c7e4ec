"""Knowledge base over HTTP on SQLite and PostgreSQL: write, versioned edits, publish/unpublish,
Chinese full-text search over title/body/tags (jieba words, FTS5 / tsvector, ranked) with
paging, and who may read what."""

from __future__ import annotations


def article(w, title, body, *, kind="faq", topic="罐式车", tags=(), audience=("dealers",), publish=True,
            product_lines=("tanker",)):
    r = w.post("tech", "/api/v1/knowledge/articles", {
        "title": title, "topic": topic, "kind": kind, "body": body, "tags": list(tags),
        "product_lines": list(product_lines), "audience": list(audience), "publish": publish,
        "attachments": [{"name": "示意图.pdf", "url": "https://files.example.com/kb/1.pdf"}]})
    assert r.status_code == 201, r.text
    return r.json()


def setup(w):
    w.user("technical", username="tech")
    w.dealer(username="hongda")
    w.user("station", username="zhan1", station_id=5)
    w.user("sales", username="sales1", regions=("华中",))


def ids(resp):
    return [a["id"] for a in resp.json()["items"]]


def test_search_finds_every_keyword_in_title_body_or_tags(world):
    setup(world)
    valve = article(world, "罐体呼吸阀漏气怎么办", "检查呼吸阀密封圈，必要时更换。", tags=("呼吸阀", "Leak"))
    brake = article(world, "自卸车举升缓慢", "液压油不足或油泵磨损导致举升缓慢。", topic="自卸车", kind="solution",
                    product_lines=("dump_truck",))
    guide = article(world, "半挂车用户指南", "日常保养：轮胎气压、制动气室、呼吸阀。", kind="user_guide",
                    product_lines=("semi_trailer",))

    by_word = world.get("hongda", "/api/v1/knowledge/articles", params={"q": "呼吸阀"})
    two_words = world.get("hongda", "/api/v1/knowledge/articles", params={"q": "呼吸阀 密封圈"})
    by_tag_case = world.get("hongda", "/api/v1/knowledge/articles", params={"q": "leak"})
    by_kind = world.get("hongda", "/api/v1/knowledge/articles", params={"kind": "solution"})
    by_line = world.get("hongda", "/api/v1/knowledge/articles", params={"product_line": "semi_trailer"})
    wildcard = world.get("hongda", "/api/v1/knowledge/articles", params={"q": "%"})
    nothing = world.get("hongda", "/api/v1/knowledge/articles", params={"q": "发动机"})

    assert ids(by_word) == [valve["id"], guide["id"]]  # in the title and tags ranks above the body only
    assert ids(two_words) == [valve["id"]]
    assert ids(by_tag_case) == [valve["id"]]
    assert ids(by_kind) == [brake["id"]]
    assert ids(by_line) == [guide["id"]]
    assert ids(wildcard) == [] and ids(nothing) == []
    row = by_word.json()["items"][0]
    assert (row["kind_label"], row["tags"], row["excerpt"]) == ("常见问题", ["呼吸阀", "Leak"], "检查呼吸阀密封圈，必要时更换。")


def test_chinese_queries_find_the_words_not_only_the_exact_substring(world):
    setup(world)
    lift = article(world, "自卸车举升缓慢", "液压油不足或油泵磨损导致举升缓慢。", topic="自卸车", kind="solution",
                   product_lines=("dump_truck",))
    cylinder = article(world, "举升缸的日常维护", "举升缸每500小时保养一次，检查密封圈。", topic="自卸车",
                       product_lines=("dump_truck",))
    brakes = article(world, "半挂车制动检查", "制动气室漏气时更换膜片。", product_lines=("semi_trailer",))
    valve = article(world, "罐体呼吸阀漏气怎么办", "检查呼吸阀密封圈，必要时更换。")

    def search(q):
        return ids(world.get("hongda", "/api/v1/knowledge/articles", params={"q": q}))

    assert search("液压举升") == [lift["id"]]          # 液压 and 举升 are apart in the text
    assert search("举升缸保养") == [cylinder["id"]]     # 举升缸 … 保养
    assert search("举升") == [cylinder["id"], lift["id"]] or search("举升") == [lift["id"], cylinder["id"]]
    assert search("制动") == [brakes["id"]]             # a two-character word
    assert search("阀") == [valve["id"]]                # one character still finds 呼吸阀
    assert search("密封圈 更换") == [valve["id"]]
    assert search("发动机 举升") == []                  # every keyword must match
    assert search('"') == [] and search("* OR NEAR") == []   # no query syntax gets through


def test_ranking_puts_the_title_above_the_body_then_newest_first(world):
    setup(world)
    in_body = article(world, "日常维护要点", "举升缸需要定期保养。")
    in_title = article(world, "举升缸保养周期", "按说明书执行。")
    in_body_newer = article(world, "季节性检查", "冬季注意举升缸保养。")

    found = ids(world.get("hongda", "/api/v1/knowledge/articles", params={"q": "举升缸 保养"}))

    assert found == [in_title["id"], in_body_newer["id"], in_body["id"]]


def test_a_search_cursor_of_the_wrong_kind_is_422(world):
    setup(world)
    article(world, "保养要点", "定期保养。")
    browse = world.get("hongda", "/api/v1/knowledge/articles", params={"limit": 1}).json()
    article(world, "保养要点二", "定期保养。")
    browse = world.get("hongda", "/api/v1/knowledge/articles", params={"limit": 1}).json()

    r = world.get("hongda", "/api/v1/knowledge/articles", params={"q": "保养", "cursor": browse["next_cursor"]})

    assert r.status_code == 422 and "cursor" in r.text


def test_search_pages_with_a_cursor(world):
    setup(world)
    made = [article(world, f"保养要点 {n}", "定期保养。")["id"] for n in range(5)]

    first = world.get("hongda", "/api/v1/knowledge/articles", params={"q": "保养", "limit": 2}).json()
    second = world.get("hongda", "/api/v1/knowledge/articles",
                       params={"q": "保养", "limit": 2, "cursor": first["next_cursor"]}).json()
    third = world.get("hongda", "/api/v1/knowledge/articles",
                      params={"q": "保养", "limit": 2, "cursor": second["next_cursor"]}).json()

    seen = [a["id"] for a in first["items"] + second["items"] + third["items"]]
    assert seen == sorted(made, reverse=True)
    assert third["next_cursor"] is None


def test_readers_see_only_published_articles_for_their_audience(world):
    setup(world)
    staff_only = article(world, "内部：索赔审核要点", "仅限内部", audience=())
    for_stations = article(world, "维修手册：呼吸阀更换", "步骤……", audience=("stations",))
    for_dealers = article(world, "销售话术：罐式车卖点", "卖点……", kind="sales_material")
    draft = article(world, "草稿：新品资料", "未发布", publish=False)

    dealer_ids = ids(world.get("hongda", "/api/v1/knowledge/articles"))
    station_ids = ids(world.get("zhan1", "/api/v1/knowledge/articles"))
    staff_ids = ids(world.get("sales1", "/api/v1/knowledge/articles"))

    assert dealer_ids == [for_dealers["id"]]
    assert station_ids == [for_stations["id"]]
    assert staff_ids == [draft["id"], for_dealers["id"], for_stations["id"], staff_only["id"]]
    for hidden in (staff_only, for_stations, draft):
        assert world.get("hongda", f"/api/v1/knowledge/articles/{hidden['id']}").status_code == 404
    assert world.get("hongda", f"/api/v1/knowledge/articles/{for_dealers['id']}").json()["attachments"] == [
        {"name": "示意图.pdf", "url": "https://files.example.com/kb/1.pdf"}]
    assert world.post("hongda", "/api/v1/knowledge/articles", {}).status_code == 403


def test_edits_are_versioned_and_unpublishing_hides_the_article(world):
    setup(world)
    a = article(world, "呼吸阀漏气", "旧的处理方法")

    edited = world.client.patch(f"/api/v1/knowledge/articles/{a['id']}", headers=world.h("tech"),
                                json={"body": "新的处理方法：更换O型圈", "tags": ["呼吸阀"]})
    meta_only = world.client.patch(f"/api/v1/knowledge/articles/{a['id']}", headers=world.h("tech"),
                                   json={"topic": "罐式车配件"})
    revisions = world.get("tech", f"/api/v1/knowledge/articles/{a['id']}/revisions").json()["items"]
    found_new = ids(world.get("hongda", "/api/v1/knowledge/articles", params={"q": "O型圈"}))
    found_old = ids(world.get("hongda", "/api/v1/knowledge/articles", params={"q": "旧的"}))
    down = world.post("tech", f"/api/v1/knowledge/articles/{a['id']}/unpublish")
    down_again = world.post("tech", f"/api/v1/knowledge/articles/{a['id']}/unpublish")

    assert edited.json()["revision"] == 2 and meta_only.json()["revision"] == 2
    assert [(r["revision"], r["body"]) for r in revisions] == [(2, "新的处理方法：更换O型圈"), (1, "旧的处理方法")]
    assert found_new == [a["id"]] and found_old == []
    assert down.json()["status"] == "unpublished"
    assert down_again.status_code == 409 and down_again.json()["current_state"] == "unpublished"
    assert world.get("hongda", f"/api/v1/knowledge/articles/{a['id']}").status_code == 404
    assert world.get("tech", f"/api/v1/knowledge/articles/{a['id']}").json()["topic"] == "罐式车配件"


def test_bad_article_input_is_422(world):
    setup(world)
    bad_kind = world.post("tech", "/api/v1/knowledge/articles", {"title": "x", "topic": "y", "kind": "poem", "body": "z"})
    bad_audience = world.post("tech", "/api/v1/knowledge/articles",
                              {"title": "x", "topic": "y", "kind": "faq", "body": "z", "audience": ["public"]})
    bad_url = world.post("tech", "/api/v1/knowledge/articles", {
        "title": "x", "topic": "y", "kind": "faq", "body": "z",
        "attachments": [{"name": "a", "url": "javascript:alert(1)"}]})

    assert (bad_kind.status_code, bad_kind.json()["code"], bad_kind.json()["field"]) == (422, "request.enum", "kind")
    assert "faq" in bad_kind.json()["allowed"]
    assert bad_audience.status_code == 422 and bad_audience.json()["code"] == "article.audience_unknown"
    assert bad_url.status_code == 422 and bad_url.json()["field"] == "attachments[0].url"
    assert ids(world.get("tech", "/api/v1/knowledge/articles")) == []
