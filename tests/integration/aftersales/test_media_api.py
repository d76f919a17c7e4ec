"""Repair media over HTTP on SQLite and PostgreSQL: a station uploads a photo and a video to its
repair record and claim, staff to a major repair case and a knowledge article; the file and the
thumbnail are served to those who may see the owner and are 404 to another station and to
dealers; wrong types, oversize files, too-large dimensions and truncated photos are 422 naming
``file`` and store nothing. Also the service network's API: nearest stations, technicians,
dispatch to a technician (409 with the reason), maintenance plans."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from litestar.testing import TestClient
from PIL import Image

import dealercrm
from dealercrm.adapters.security import JwtTokenService
from dealercrm.application import knowledge as kb
from dealercrm.config import load_settings
from dealercrm.domain.identity import Role
from tests.apps import app_for

from .conftest import Kit
from .test_aftersales_api import SECRET, Api, _repair_body, _station_body

# ftyp, a movie header (mvhd version 0: timescale 1000, duration 8000 → 8 s), then the movie data
MP4 = (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
       + b"\x00\x00\x00\x74moov\x00\x00\x00\x6cmvhd" + bytes(12) + (1000).to_bytes(4, "big")
       + (8000).to_bytes(4, "big") + bytes(80) + b"\x00\x00\x07\xd8mdat" + b"\x00" * 2000)


def _image(fmt: str = "JPEG", size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, format=fmt)
    return out.getvalue()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def api(db_url, clock, tmp_path):
    settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_json=True, log_level="WARNING",
                             principal_cache_seconds=0, photo_dir=str(tmp_path / "media"),
                             media_max_photo_bytes=300_000, media_max_video_bytes=600_000, media_max_image_side=2000)
    tokens = JwtTokenService(SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                             ttl=dt.timedelta(hours=1), clock=lambda: dt.datetime.now(dt.UTC))
    crm = dealercrm.bootstrap(settings, clock=clock, token_service=tokens)
    kit = Kit(crm, clock)
    client = TestClient(app_for(crm, settings))
    with client:
        a = Api(client, kit)
        a.root = tmp_path / "media"
        a.login_as("staff", kit.staff)
        a.login_as("finance", kit.finance)
        a.dealer_a = kit.dealer("华中")
        a.login_as("dealer_a", kit.user("dealer_a", Role.DEALER, dealer_id=a.dealer_a))
        a.st1 = a.post("/stations", "staff", {**_station_body(1), "latitude": 34.7472, "longitude": 113.6249}).json()["id"]
        a.st2 = a.post("/stations", "staff", {**_station_body(2, region="华东", province="山东省", city="济南市"),
                                              "latitude": 36.6512, "longitude": 117.1201}).json()["id"]
        a.login_as("st1", kit.station_user(a.st1))
        a.login_as("st2", kit.station_user(a.st2))
        a.put("/warranty-policies", "staff", {"product_line": "tanker", "months": 24, "km": 200000})
        a.vin = kit.vehicle(21, a.dealer_a)
        a.post("/warranties", "staff", {"vin": a.vin, "customer_name": "赵师傅", "customer_phone": "13700001111",
                                        "sold_on": "2025-06-01"})
        r = a.post("/requests", "staff", {"vin": a.vin, "customer_name": "赵师傅", "customer_phone": "13700001111",
                                          "fault_category": "tank_body", "description": "卸油口滴漏",
                                          "province": "河南省", "city": "郑州市", "location": "中牟县物流园"})
        a.request_id = r.json()["id"]
        yield a
    crm.close()


def _upload(api: Api, who: str, owner: str, owner_id: int, data: bytes, name: str = "p.jpg",
            content_type: str = "image/jpeg", caption: str | None = None):
    return api.client.post(f"/api/v1/media/owners/{owner}/{owner_id}", headers=api.tokens[who],
                           files={"file": (name, data, content_type)}, data={"caption": caption} if caption else {})


def _get(api: Api, who: str, path: str):
    return api.client.get(f"/api/v1/media{path}", headers=api.tokens[who])


def _record(api: Api) -> int:
    assert api.post(f"/requests/{api.request_id}/assign", "staff", {"station_id": api.st1}).status_code == 200
    api.post(f"/requests/{api.request_id}/accept", "st1")
    r = api.post(f"/requests/{api.request_id}/repair-record", "st1", _repair_body(api, []))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_repair_photo_is_served_with_its_thumbnail_only_to_who_may_see_the_record(api):
    record_id = _record(api)
    photo = _image()

    r = _upload(api, "st1", "repair_record", record_id, photo, caption="更换前")
    assert r.status_code == 201, r.text
    m = r.json()
    assert (m["kind"], m["content_type"], m["width"], m["height"], m["caption"]) == ("photo", "image/jpeg", 800, 600,
                                                                                      "更换前")
    content = _get(api, "finance", f"/{m['id']}/content")
    thumb = _get(api, "st1", f"/{m['id']}/thumbnail")
    listed = api.get(f"/records/{record_id}", "staff").json()["media"]

    assert content.status_code == 200 and content.content == photo
    assert content.headers["content-type"].startswith("image/jpeg")
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) == 320
    assert [x["id"] for x in listed] == [m["id"]] and listed[0]["thumbnail_url"].endswith("/thumbnail")
    for who in ("st2", "dealer_a"):
        for path in (f"/{m['id']}", f"/{m['id']}/content", f"/{m['id']}/thumbnail", f"/owners/repair_record/{record_id}"):
            assert _get(api, who, path).status_code == 404, (who, path)
        assert _upload(api, who, "repair_record", record_id, photo).status_code == 404


def test_videos_on_a_claim_major_repair_media_and_article_media_follow_their_owners(api):
    record_id = _record(api)
    assert api.post(f"/records/{record_id}/confirm", "st1", {"customer_name": "赵师傅", "satisfaction": 5}).status_code == 200
    claim_id = api.post(f"/records/{record_id}/claims", "st1").json()["id"]

    video = _upload(api, "st1", "claim", claim_id, MP4, "v.mp4", "video/mp4")
    not_major = _upload(api, "staff", "major_repair", record_id, _image("PNG"), "p.png", "image/png")
    api.post(f"/records/{record_id}/major", "staff", {"agreement": "协议", "compensation_fen": 0, "summary": "总结"})
    station_on_major = _upload(api, "st1", "major_repair", record_id, _image("PNG"), "p.png", "image/png")
    major = _upload(api, "staff", "major_repair", record_id, _image("PNG"), "p.png", "image/png")
    article = api.kit.crm.marketing.write_article(api.kit.staff, kb.WriteArticle(
        "罐体紧急切断阀更换", "罐式车", "solution", "更换步骤……", audience=("stations",), publish=True))
    staff_only = api.kit.crm.marketing.write_article(api.kit.staff, kb.WriteArticle(
        "内部质量分析", "罐式车", "case", "仅内部", publish=True))
    on_article = _upload(api, "staff", "article", article.id, _image())
    on_internal = _upload(api, "staff", "article", staff_only.id, _image())

    assert video.status_code == 201 and video.json()["kind"] == "video" and video.json()["thumbnail_url"] is None
    assert video.json()["duration_ms"] == 8000
    assert _get(api, "st1", f"/{video.json()['id']}/content").content == MP4
    assert _get(api, "st2", f"/{video.json()['id']}/content").status_code == 404
    assert not_major.status_code == 404
    assert station_on_major.status_code == 403  # sees its case, may not add to the case library
    assert major.status_code == 201
    assert on_article.status_code == 201 and on_internal.status_code == 201
    assert _get(api, "st2", f"/{on_article.json()['id']}/thumbnail").status_code == 200
    assert _get(api, "st2", f"/{on_internal.json()['id']}/content").status_code == 404
    assert _get(api, "dealer_a", f"/{on_article.json()['id']}/content").status_code == 404
    assert _upload(api, "st1", "article", article.id, _image()).status_code == 403


@pytest.mark.parametrize("data,name,ctype,code", [
    (b"MZ\x90\x00 this is an executable", "evil.jpg", "image/jpeg", "media.type_unsupported"),
    (b"GIF89a" + b"\x00" * 100, "a.gif", "image/gif", "media.type_unsupported"),
    (_image("PNG", (100, 100)), "a.jpg", "image/jpeg", "media.type_mismatch"),
    (b"\xff\xd8\xff" + b"\x00" * 310_000, "big.jpg", "image/jpeg", "media.too_large"),
    (_image("PNG", (2400, 20)), "wide.png", "image/png", "media.dimensions_too_large"),
    (_image("JPEG", (900, 700))[:3000], "cut.jpg", "image/jpeg", "media.truncated"),
    (b"", "empty.jpg", "image/jpeg", "media.empty"),
])
def test_bad_uploads_are_refused_naming_the_file_and_store_nothing(api, data, name, ctype, code):
    record_id = _record(api)

    r = _upload(api, "st1", "repair_record", record_id, data, name, ctype)

    assert r.status_code == 422, r.text
    assert (r.json()["code"], r.json()["field"]) == (code, "file")
    assert _files(api.root) == []
    assert api.get(f"/records/{record_id}", "staff").json()["media"] == []


def test_an_unknown_owner_type_or_a_missing_file_part_is_422(api):
    record_id = _record(api)

    unknown = _upload(api, "st1", "invoice", record_id, _image())
    no_file = api.client.post(f"/api/v1/media/owners/repair_record/{record_id}", headers=api.tokens["st1"],
                              files={"other": ("p.jpg", _image(), "image/jpeg")})

    assert (unknown.status_code, unknown.json()["code"]) == (422, "media.owner_type_unknown")
    assert (no_file.status_code, no_file.json()["code"]) == (422, "media.file_missing")


def test_the_service_network_over_http(api):
    near = api.get("/stations/nearest", "dealer_a", lat=34.75, lng=113.62, radius_km=100)
    bad = api.get("/stations/nearest", "staff", lat=95, lng=113.62)
    r = api.post(f"/stations/{api.st1}/technicians", "st1", {"name": "王师傅", "phone": "13912345678",
                                                             "skills": ["tank_body", "brake"]})
    tech = r.json()
    other = api.post(f"/stations/{api.st2}/technicians", "st2", {"name": "刘师傅", "phone": "13912345679",
                                                                 "skills": ["tank_body"]}).json()
    bad_skill = api.post(f"/stations/{api.st1}/technicians", "st1", {"name": "张", "phone": "13912345670",
                                                                     "skills": ["welding"]})
    foreign = api.post(f"/stations/{api.st2}/technicians", "st1", {"name": "张", "phone": "13912345670",
                                                                   "skills": ["brake"]})
    wrong_station = api.post(f"/requests/{api.request_id}/assign", "staff",
                             {"station_id": api.st1, "technician_id": other["id"]})
    dispatched = api.post(f"/requests/{api.request_id}/assign", "staff", {"technician_id": tech["id"]})
    plan = api.post("/maintenance-plans", "st1", {"vin": api.vin, "title": "罐体密封件检查", "start_on": "2026-03-01",
                                                  "interval_days": 90})

    assert near.status_code == 200, near.text
    assert [(x["id"], round(x["distance_km"])) for x in near.json()["items"]] == [(api.st1, 1)]
    assert bad.status_code == 422
    assert r.status_code == 201 and tech["skill_labels"] == ["制动系统", "罐体"] and tech["status"] == "available"
    assert (bad_skill.status_code, bad_skill.json()["code"]) == (422, "technician.skill_unknown")
    assert foreign.status_code == 404
    assert (wrong_station.status_code, wrong_station.json()["code"]) == (409, "aftersales.technician_other_station")
    assert dispatched.status_code == 200 and dispatched.json()["station_id"] == api.st1
    assert api.get(f"/requests/{api.request_id}", "staff").json()["request"]["technician_id"] == tech["id"]
    assert plan.status_code == 201 and plan.json()["next_due_on"] == "2026-05-30"
    assert api.get("/maintenance-plans", "st2").json()["items"] == []
    assert api.get(f"/maintenance-plans/{plan.json()['id']}", "dealer_a").json()["vin"] == api.vin
    assert api.get(f"/maintenance-plans/{plan.json()['id']}", "st2").status_code == 404
