"""The parts catalogue over HTTP on SQLite and PostgreSQL (issue 18 §5, 产品配件展示): a model's
fitment and a part's substitutes replaced by after-sales, read by a dealer page by page, the
fitment the claim risk rule reads, and bad input refused naming the field."""

from __future__ import annotations

from .test_aftersales_api import Api, api  # noqa: F401  (the fixture: parts FV-2301 and SL-0105 in the master)

P = "/api/v1/parts-catalog"


def put(a: Api, path: str, who: str, json: dict):
    return a.client.put(P + path, headers=a.tokens[who], json=json)


def get(a: Api, path: str, who: str, **params):
    return a.client.get(P + path, headers=a.tokens[who], params=params)


def test_a_models_fitment_and_a_parts_substitutes_show_in_the_catalog_page_by_page(api):  # noqa: F811
    assert api.put("/parts", "staff", {"part_no": "FV-2301A", "name": "罐体紧急切断阀（改进型）",
                                       "standard_cost_fen": 47000, "retail_price_fen": 71000}).status_code == 200

    fitted = put(api, "/models/ht5250gyy/parts", "staff",
                 {"parts": [{"part_no": "SL-0105", "quantity": 4}, {"part_no": "FV-2301", "quantity": 1}]})
    subs = put(api, "/parts/FV-2301/substitutes", "staff",
               {"substitutes": [{"part_no": "FV-2301A", "note": "改进型，可直接替换"}]})
    r = get(api, "/", "dealer_a", model_code="HT5250GYY", limit=1)
    assert r.status_code == 200, r.text
    first = r.json()
    second = get(api, "/", "dealer_a", model_code="HT5250GYY", limit=1, cursor=first["next_cursor"]).json()

    assert fitted.status_code == 200 and [(x["part_no"], x["quantity"]) for x in fitted.json()["items"]] == [
        ("FV-2301", 1), ("SL-0105", 4)]
    assert subs.status_code == 200 and subs.json()["substitutes"] == [
        {"part_no": "FV-2301A", "name": "罐体紧急切断阀（改进型）", "note": "改进型，可直接替换"}]
    assert subs.json()["fitted_on"] == [{"model_code": "HT5250GYY", "quantity": 1}]
    assert subs.json()["pictures"] == [] and isinstance(subs.json()["id"], int)  # 配件图片: media owner "part"
    assert [x["part_no"] for x in first["items"]] == ["FV-2301"] and first["items"][0]["retail_price_fen"] == 68000
    assert first["items"][0]["substitutes"][0]["part_no"] == "FV-2301A"
    assert [x["part_no"] for x in second["items"]] == ["SL-0105"] and second["next_cursor"] is None
    assert get(api, "/models", "st1").json() == {"items": [{"model_code": "HT5250GYY", "parts": 2, "pieces": 5}],
                                                 "next_cursor": None}
    with api.kit.crm.uow(api.kit.staff) as uow:
        assert uow.aftersales.fitment("HT5250GYY") == {"FV-2301": 1, "SL-0105": 4}
        assert uow.aftersales.fitment("HT9999") is None


def test_unknown_parts_bad_quantities_and_non_editors_are_refused(api):  # noqa: F811
    unknown = put(api, "/models/HT5250GYY/parts", "staff", {"parts": [{"part_no": "XX-0001", "quantity": 1}]})
    zero = put(api, "/models/HT5250GYY/parts", "staff", {"parts": [{"part_no": "FV-2301", "quantity": 0}]})
    itself = put(api, "/parts/FV-2301/substitutes", "staff", {"substitutes": [{"part_no": "FV-2301"}]})
    missing = put(api, "/parts/XX-0001/substitutes", "staff", {"substitutes": []})
    by_station = put(api, "/models/HT5250GYY/parts", "st1", {"parts": []})
    bad_cursor = get(api, "/", "dealer_a", cursor="bm90LWEtY3Vyc29y")

    assert unknown.status_code == 422 and "XX-0001" in unknown.text
    assert zero.status_code == 422 and "quantity" in zero.text
    assert itself.status_code == 422 and "不能替代自身" in itself.text
    assert missing.status_code == 404
    assert by_station.status_code == 403
    assert bad_cursor.status_code == 422 and "cursor" in bad_cursor.text
