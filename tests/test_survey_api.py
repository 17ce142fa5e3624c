"""The survey JSON API: the OpenAPI document matches the routes, the flow works, no 500s."""

import random
import re

import pytest

from survey_node.db import cameras as camera_db
from survey_node.db import evidence as evidence_db
from survey_node.db import transaction
from survey_node.evidence import EvidenceStore
from survey_node.geo import distance_m


@pytest.fixture
def province(db):
    rng = random.Random(7)
    cams = [{"camera_id": f"C{i:04d}", "site_name": f"จุด {i}", "amphoe_code": "1101" if i % 2 else "1103",
             "registered_lat": 13.5 + rng.random() * 0.2, "registered_lon": 100.5 + rng.random() * 0.4,
             "stream_url": ""} for i in range(400)]
    cams += [{"camera_id": f"N{i}", "site_name": "ไม่มีพิกัด", "amphoe_code": "1101"} for i in range(3)]
    with transaction(db):
        camera_db.insert_cameras(db, cams)
    return cams


def test_openapi_documents_every_api_route(app, client, auth):
    auth.login("surveyor")
    doc = client.get("/api/v1/openapi.json").json
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} not in openapi.json"


def test_worklist_is_nearest_first_and_exact(client, auth, province):
    auth.login("surveyor")
    here = (13.6, 100.7)
    page = client.get(f"/api/v1/worklist?show=all&lat={here[0]}&lon={here[1]}&limit=20").json
    got = [i["camera_id"] for i in page["items"]]
    brute = sorted((c for c in province if "registered_lat" in c),
                   key=lambda c: distance_m(*here, c["registered_lat"], c["registered_lon"]))
    assert got == [c["camera_id"] for c in brute[:20]]
    assert page["items"][0]["direction_th"] and page["total"] == 403
    # The last page ends with the cameras that have no registered position.
    tail = client.get(f"/api/v1/worklist?show=all&lat={here[0]}&lon={here[1]}&limit=10&offset=395").json
    assert [i["camera_id"] for i in tail["items"]][-3:] == ["N0", "N1", "N2"]
    assert len(tail["items"]) == 8


def test_worklist_filters_and_bad_input(client, auth, province):
    auth.login("surveyor")
    only = client.get("/api/v1/worklist?show=all&lat=13.6&lon=100.6&amphoe=1103&limit=200").json
    assert only["total"] == 200 and all(i["amphoe_code"] == "1103" for i in only["items"])
    assert client.get("/api/v1/worklist?show=all&lat=13.6").status_code == 400
    bad = client.get("/api/v1/worklist?show=all&lat=north&lon=1")
    assert bad.status_code == 400 and "lat" in bad.json["message"]


def test_the_worklist_and_the_camera_list_search_the_same_way(client, auth, db):
    with transaction(db):
        camera_db.insert_cameras(db, [
            {"camera_id": "BP01", "site_name": "แยกบางพลีใหญ่", "amphoe_code": "1103",
             "amphoe_name": "บางพลี", "tambon_name": "บางพลีใหญ่"},
            {"camera_id": "MU01", "site_name": "หน้าศาลากลาง", "amphoe_code": "1101",
             "amphoe_name": "เมืองสมุทรปราการ", "tambon_name": "ปากน้ำ"},
            {"camera_id": "MU02", "site_name": "ตลาดปากน้ำ", "amphoe_code": "1101",
             "amphoe_name": "เมืองสมุทรปราการ", "agency": "เทศบาลนครสมุทรปราการ"}])
    auth.login("admin")
    for text, expected in (("เมืองสมุทร", {"MU01", "MU02"}), ("บางพลี", {"BP01"}),
                           ("ปากน้ำ", {"MU01", "MU02"}), ("mu0", {"MU01", "MU02"})):
        listed = client.get(f"/api/v1/worklist?show=all&q={text}").json
        found = {i["camera_id"] for i in listed["items"]}
        cameras = client.get(f"/api/v1/cameras?q={text}").json
        assert found == expected, (text, found)
        assert {c["camera_id"] for c in cameras["cameras"]} == expected, text


def test_survey_flow_over_the_api(client, auth, province, config, db):
    auth.login("surveyor")
    survey = client.post("/api/v1/cameras/C0001/survey").json
    assert survey["state"] == "draft" and "Fix the position" in " ".join(survey["missing"]) or survey["missing"]
    sid = survey["id"]
    cam = next(c for c in province if c["camera_id"] == "C0001")
    r = client.put(f"/api/v1/surveys/{sid}/position", json={
        "source": "tablet", "fix": {"lat": cam["registered_lat"], "lon": cam["registered_lon"], "eph": 8}})
    assert r.status_code == 200 and r.json["distance_m"] == 0
    sha = EvidenceStore(config.evidence_dir).put_bytes(b"\xff\xd8photo")
    evidence_db.upsert_evidence(db, {"sha256": sha, "kind": "photo", "mime": "image/jpeg", "bytes": 7})
    r = client.post(f"/api/v1/surveys/{sid}/photos", json={"sha256": sha, "role": "camera"})
    assert r.status_code == 200, r.json
    r = client.put(f"/api/v1/surveys/{sid}/answers", json={"checklist": {"exists": "yes", "working": "no"},
                                                          "notes": "เลนส์ร้าว"})
    assert r.json["notes"] == "เลนส์ร้าว" and r.json["missing"] == []
    done = client.post(f"/api/v1/surveys/{sid}/complete").json
    assert done["state"] == "complete"
    listed = client.get("/api/v1/worklist?show=all&state=complete").json
    assert [i["camera_id"] for i in listed["items"]] == ["C0001"]


def test_incomplete_survey_says_what_is_missing_in_thai(client, auth, province):
    auth.login("surveyor")
    client.post("/language", data={"lang": "th"})
    sid = client.post("/api/v1/cameras/C0002/survey").json["id"]
    r = client.post(f"/api/v1/surveys/{sid}/complete")
    assert r.status_code == 400 and "ถ่ายรูปกล้อง" in r.json["message"]
    assert r.json["field"] == "complete"  # the page shows the line by that button
    # A refusal names the field it is about, so the page can show it there.
    typed = client.put(f"/api/v1/surveys/{sid}/position",
                       json={"source": "manual", "fix": {"lat": 13.6, "lon": 100.6}})
    assert typed.status_code == 400 and typed.json["field"] == "reason"
    wrong = client.put(f"/api/v1/surveys/{sid}/position",
                       json={"source": "manual", "reason": "ใต้หลังคา",
                             "fix": {"lat": 113.6, "lon": 100.6}})
    assert wrong.status_code == 400 and wrong.json["field"] == "lat"
    assert wrong.json["message"] == "ละติจูด 113.6 ต้องอยู่ระหว่าง -90 ถึง 90"
    # What the tablet sends as typed: the field named in Thai words and what was typed
    # quoted, never "lat None"; the position stays unrecorded.
    for fix, field, words in [({"lat": "", "lon": "100.6"}, "lat", "โปรดพิมพ์ละติจูด"),
                              ({"lat": "abc", "lon": "100.6"}, "lat", 'ละติจูด "abc" ไม่ใช่ตัวเลข'),
                              ({"lat": "13.6", "lon": "100,6"}, "lon",
                               'ลองจิจูด "100,6" ไม่ใช่ตัวเลข'),
                              ({"lat": "13.6"}, "lon", "โปรดพิมพ์ลองจิจูด")]:
        bad = client.put(f"/api/v1/surveys/{sid}/position",
                         json={"source": "manual", "reason": "ใต้หลังคา", "fix": fix})
        assert bad.status_code == 400 and bad.json["field"] == field, bad.json
        assert words in bad.json["message"] and "None" not in bad.json["message"]
        assert "\n" not in bad.json["message"]
    assert client.get(f"/api/v1/surveys/{sid}").json["lat"] is None
    typed = client.put(f"/api/v1/surveys/{sid}/position",
                       json={"source": "manual", "reason": "ใต้หลังคา",
                             "fix": {"lat": " 13.6 ", "lon": "100.6"}})
    assert typed.status_code == 200 and typed.json["lat"] == 13.6


def test_second_user_gets_a_clear_conflict(app, client, auth, province):
    auth.login("surveyor")
    sid = client.post("/api/v1/cameras/C0003/survey").json["id"]
    other = app.test_client()
    other.post("/login", data={"name": "supervisor", "pin": "246800"})
    r = other.put(f"/api/v1/surveys/{sid}/answers", json={"notes": "x"})
    assert r.status_code == 409 and r.json["error"] == "conflict"
    assert client.get(f"/api/v1/surveys/{sid}").json["notes"] == ""


def test_new_camera_report(client, auth):
    auth.login("surveyor")
    r = client.post("/api/v1/new-cameras", json={"site_name": "หน้าตลาดใหม่", "agency": "อบต.บางพลีใหญ่"})
    assert r.status_code == 201 and r.json["camera_id"] is None
    assert r.json["new_camera"]["site_name"] == "หน้าตลาดใหม่"
    assert client.post("/api/v1/new-cameras", json={}).status_code == 400
    assert client.post("/api/v1/new-cameras", data="not json").status_code == 400


def test_a_surveyor_sees_only_their_assignments_by_default(client, auth, province, db):
    from survey_node.db import selection as sel_db

    with transaction(db):
        sel_db.upsert_assignments(db, ["C0005", "C0007"], user_name="surveyor", how="hand",
                                  actor="admin")
    auth.login("surveyor")
    mine = client.get("/api/v1/worklist?lat=13.6&lon=100.6").json
    assert mine["show"] == "mine"
    assert sorted(i["camera_id"] for i in mine["items"]) == ["C0005", "C0007"]
    assert client.get("/api/v1/worklist?show=everything").status_code == 400


def test_geojson_export_carries_selection_and_survey_fields(client, auth, province, config, db):
    import io
    import json

    from survey_node import exports

    auth.login("surveyor")
    sid = client.post("/api/v1/cameras/C0010/survey").json["id"]
    client.put(f"/api/v1/surveys/{sid}/position", json={"source": "tablet", "fix": {
        "lat": 13.6, "lon": 100.6, "eph": 4.5}})
    out = io.StringIO()
    exports.export(db, "geojson", out)
    features = {f["id"]: f["properties"] for f in json.loads(out.getvalue())["features"]}
    surveyed = features["C0010"]
    assert surveyed["survey_state"] == "draft" and surveyed["surveyed_lat"] == 13.6
    assert surveyed["position_error_m"] == 4.5 and surveyed["distance_from_registered_m"] > 0
    assert features["C0011"]["survey_state"] == "todo" and features["C0011"]["photos"] == 0
    assert features["C0011"]["selected"] is False


def test_cannot_survey_asks_for_a_replacement(client, auth, province, db):
    from survey_node.db import selection as sel_db
    from survey_node.selection import sample

    sample.draw_sample(db, fraction=0.2, by=["amphoe"], seed="t", user={"name": "admin", "role": "admin"})
    chosen = db.execute("SELECT camera_id FROM selection WHERE status = 'selected' LIMIT 1").fetchone()[0]
    with transaction(db):
        sel_db.upsert_assignments(db, [chosen], user_name="surveyor", how="hand", actor="admin")
    auth.login("surveyor")
    bad = client.post(f"/api/v1/cameras/{chosen}/cannot-survey", json={"reason": "bored"})
    assert bad.status_code == 400
    asked = client.post(f"/api/v1/cameras/{chosen}/cannot-survey",
                        json={"reason": "removed", "note": "เสาถูกรื้อแล้ว"})
    assert asked.status_code == 201 and asked.json["state"] == "requested"
    open_requests = db.execute("SELECT count(*) FROM replacements WHERE camera_id = ?", [chosen]).fetchone()[0]
    assert open_requests == 1


def test_a_camera_not_in_the_registry_is_reported_and_surveyed_from_its_page(client, auth, config, db):
    auth.login("surveyor")
    assert "ไม่มีในทะเบียน" in client.get("/worklist").get_data(as_text=True)
    empty = client.post("/new-camera", data={"site_name": " "})
    assert empty.status_code == 400 and "ระบุชื่อจุดติดตั้ง" in empty.get_data(as_text=True)
    made = client.post("/new-camera", data={"site_name": "ปากซอยวัดใหม่", "agency": "อบต.บางพลีใหญ่",
                                            "description": "กล้องโดมบนเสาไฟ"})
    assert made.status_code == 302
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "ปากซอยวัดใหม่" in page and "กล้องโดมบนเสาไฟ" in page
    survey_id = made.headers["Location"].rsplit("/", 1)[1]
    r = client.put(f"/api/v1/surveys/{survey_id}/position", json={"source": "tablet", "fix": {
        "lat": 13.61, "lon": 100.71}})
    assert r.status_code == 200 and r.json["distance_m"] is None  # nothing registered to compare
    assert client.get("/surveys/not-a-survey").status_code == 404


def test_a_surveyor_cannot_touch_anothers_survey_or_forge_gps_quality(app, client, auth,
                                                                      province, config, db):
    from survey_node import accounts
    from survey_node.db import selection as selection_db

    accounts.add_user(db, config.security, name="surveyor2", role="surveyor", pin="445566")
    with transaction(db):
        selection_db.upsert_assignments(db, ["C0002"], user_name="surveyor2", how="hand",
                                        actor="supervisor")
    other = app.test_client()
    other.post("/login", data={"name": "surveyor2", "pin": "445566"})
    theirs = other.post("/api/v1/cameras/C0001/survey").json["id"]
    sha = EvidenceStore(config.evidence_dir).put_bytes(b"\xff\xd8theirs")
    evidence_db.upsert_evidence(db, {"sha256": sha, "kind": "photo", "mime": "image/jpeg",
                                     "bytes": 8})
    assert other.post(f"/api/v1/surveys/{theirs}/photos",
                      json={"sha256": sha, "role": "camera"}).status_code == 200

    auth.login("surveyor")
    forged = {"source": "gpsd", "fix": {"lat": 13.6, "lon": 100.6, "eph": 0.4, "sats_used": 15}}
    refused = client.put(f"/api/v1/surveys/{theirs}/position", json=forged)
    assert refused.status_code == 403 and "surveyor2" in refused.json["message"]
    assert client.delete(f"/api/v1/surveys/{theirs}/photos/{sha}").status_code == 403
    assigned = client.post("/api/v1/cameras/C0002/survey")
    assert assigned.status_code == 403 and "surveyor2" in assigned.json["message"]
    kept = other.get(f"/api/v1/surveys/{theirs}").json
    assert kept["lat"] is None and [e["sha256"] for e in kept["evidence"]] == [sha]
    # On a survey of their own, a fix the tablet sends is the tablet's, whatever it claims.
    mine = client.post("/api/v1/cameras/C0003/survey").json["id"]
    stored = client.put(f"/api/v1/surveys/{mine}/position", json=forged).json
    assert stored["position_source"] == "tablet"
