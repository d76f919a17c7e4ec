"""Key accounts and bid cases over HTTP on SQLite and PostgreSQL: filing, bids won and lost, the
bid report, and who sees which account."""

from __future__ import annotations


def setup(w):
    a = w.dealer(username="hongda")
    b = w.dealer(username="shuntong", name="临沂顺通汽车贸易有限公司", region="华东")
    w.user("sales", username="sales_hz", regions=("华中",))
    w.user("marketing", username="mkt")
    return a, b


def file(w, user, **body):
    r = w.post(user, "/api/v1/key-accounts/", {"industry": "成品油运输", "region": "华中", **body})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_dealers_file_accounts_and_bids_and_see_only_their_own(world):
    a, b = setup(world)
    mine = file(world, "hongda", name="中石化河南石油分公司",
                contacts=[{"name": "刘经理", "title": "采购部经理", "phone": "13700001111"}])
    theirs = file(world, "shuntong", name="山东高速物流集团", region="华东", industry="物流")

    won = world.post("hongda", f"/api/v1/key-accounts/{mine}/bids", {
        "title": "2026年成品油运输车采购", "bid_on": "2026-02-20", "outcome": "won", "amount_fen": 456_000_000,
        "product_line": "tanker", "quantity": 20, "competitors": ["中集", "通华"]})
    lost_without_reason = world.post("hongda", f"/api/v1/key-accounts/{mine}/bids", {
        "title": "危化品车队更新", "bid_on": "2026-02-25", "outcome": "lost", "amount_fen": 120_000_000})
    foreign_bid = world.post("hongda", f"/api/v1/key-accounts/{theirs}/bids", {
        "title": "x", "bid_on": "2026-02-25", "outcome": "won", "amount_fen": 1})
    detail = world.get("hongda", f"/api/v1/key-accounts/{mine}").json()
    listed = world.get("hongda", "/api/v1/key-accounts/").json()["items"]

    assert won.status_code == 201
    assert lost_without_reason.status_code == 422 and lost_without_reason.json()["code"] == "bid.reasons_required"
    assert foreign_bid.status_code == 404
    assert world.get("hongda", f"/api/v1/key-accounts/{theirs}").status_code == 404
    assert (detail["dealer_id"], detail["contacts"][0]["phone"]) == (a, "13700001111")
    assert [(x["outcome_label"], x["competitors"]) for x in detail["bid_cases"]] == [("中标", ["中集", "通华"])]
    assert [(x["id"], x["won"], x["won_amount_fen"]) for x in listed] == [(mine, 1, 456_000_000)]


def test_regional_sales_see_and_file_only_in_their_regions(world):
    a, b = setup(world)
    east = file(world, "mkt", name="山东高速物流集团", region="华东", industry="物流", dealer_id=b)
    central = file(world, "sales_hz", name="河南交投", dealer_id=a)

    out_of_region = world.post("sales_hz", "/api/v1/key-accounts/", {
        "name": "江苏某物流", "industry": "物流", "region": "华东"})
    foreign_dealer = world.post("sales_hz", "/api/v1/key-accounts/", {
        "name": "山东某物流", "industry": "物流", "region": "华中", "dealer_id": b})

    assert [x["id"] for x in world.get("sales_hz", "/api/v1/key-accounts/").json()["items"]] == [central]
    assert world.get("sales_hz", f"/api/v1/key-accounts/{east}").status_code == 404
    assert out_of_region.status_code == 422 and out_of_region.json()["code"] == "key_account.region_out_of_scope"
    assert foreign_dealer.status_code == 404
    assert [x["id"] for x in world.get("mkt", "/api/v1/key-accounts/").json()["items"]] == [central, east]


def test_bid_report_counts_wins_losses_amounts_and_competitors(world):
    a, b = setup(world)
    oil = file(world, "mkt", name="中石化河南石油分公司", dealer_id=a)
    mine_co = file(world, "mkt", name="平煤神马", industry="煤矿", dealer_id=a)
    east = file(world, "mkt", name="山东高速物流集团", region="华东", industry="物流", dealer_id=b)
    for account, outcome, amount, rivals in ((oil, "won", 300, ["中集"]), (oil, "lost", 200, ["中集", "通华"]),
                                             (mine_co, "lost", 100, ["中集"]), (east, "won", 50, [])):
        r = world.post("mkt", f"/api/v1/key-accounts/{account}/bids", {
            "title": "项目", "bid_on": "2026-01-15", "outcome": outcome, "amount_fen": amount,
            "competitors": rivals, "reasons": "价格" if outcome == "lost" else None})
        assert r.status_code == 201, r.text

    rep = world.get("mkt", "/api/v1/key-accounts/bid-report").json()
    regional = world.get("sales_hz", "/api/v1/key-accounts/bid-report").json()
    other_year = world.get("mkt", "/api/v1/key-accounts/bid-report", params={"year": 2025}).json()

    assert {k: rep["overall"][k] for k in ("cases", "won", "lost", "won_amount_fen", "win_rate_pct")} == {
        "cases": 4, "won": 2, "lost": 2, "won_amount_fen": 350, "win_rate_pct": 50.0}
    assert [(x["industry"], x["won"], x["lost"]) for x in rep["by_industry"]] == [
        ("成品油运输", 1, 1), ("煤矿", 0, 1), ("物流", 1, 0)]  # code-point order
    assert [(x["region"], x["cases"]) for x in rep["by_region"]] == [("华东", 1), ("华中", 3)]
    assert rep["competitors_in_lost_bids"] == [{"competitor": "中集", "lost_bids": 2},
                                               {"competitor": "通华", "lost_bids": 1}]
    assert regional["overall"]["cases"] == 3
    assert other_year["overall"]["cases"] == 0
