"""Finding a camera's stream by its maker's RTSP paths (issue 18), against the camera-shaped
GStreamer RTSP server (Hikvision and Dahua mounts, digest auth) on 127.0.0.1: the search,
the CLI, the survey API, the sync manifest and the review pages."""

import json
import re
import socket
import time

import pytest

from survey_node import db as database
from survey_node import survey as survey_svc
from survey_node.db import cameras as camera_db
from survey_node.db import streamchecks as check_db
from survey_node.errors import BadInput
from survey_node.streamcheck.brands import match_brand
from survey_node.stream_find import plan, search
from survey_node.sync import protocol
from survey_node.sync.client import build_entry
from tests.streams import (  # noqa: F401 - fixtures
    RTSP_PASSWORD, RTSP_USER, camera_server, silent_port,
)

SURVEYOR = {"name": "surveyor", "role": "surveyor"}


@pytest.mark.parametrize("cell,brand", [
    ("HIKVISION", "hikvision"), ("Hik", "hikvision"), ("ไฮค์วิชั่น", "hikvision"),
    ("HIKVISION DS-2CD2143G0-I", "hikvision"), ("Hikvision(ไฮค์วิชั่น)", "hikvision"),
    ("HiLook", "hikvision"), ("DAHUA", "dahua"), ("Dahua/Imou", "dahua"), ("ดาฮัว", "dahua"),
    ("UNV", "uniview"), ("Uniview IPC2122LR3", "uniview"), ("Samsung Wisenet", "hanwha"),
    ("AXIS P1375-E", "axis"), ("TP-Link VIGI C540", "tplink"), ("vigi", "tplink"),
    ("", None), ("ไม่ทราบยี่ห้อ", None), ("Sony", None), ("unvisited", None),
])
def test_registry_brand_cells_pick_the_maker(cell, brand):
    assert match_brand(cell) == brand


def test_bad_address_port_or_brand_is_one_line_naming_the_field():
    for kwargs, field in (({"host": ""}, "host"), ({"host": "10.0.0.300"}, "host"),
                          ({"host": "cam;rm -rf /"}, "host"),
                          ({"host": "10.0.0.5", "port": "99999"}, "port"),
                          ({"host": "10.0.0.5", "port": "abc"}, "port"),
                          ({"host": "10.0.0.5", "brand": "sony"}, "brand"),
                          ({"host": "10.0.0.5", "password": "a\nb"}, "password")):
        with pytest.raises(BadInput) as caught:
            plan(**{"brand": "hikvision", **kwargs})
        assert caught.value.field == field, kwargs


def test_paths_are_tried_main_stream_first_and_a_password_with_signs_stays_one_url():
    urls = plan(brand="dahua", host="192.168.1.108", user="admin", password="p@ss:w/rd#1")
    assert urls[0] == ("rtsp://admin:p%40ss%3Aw%2Frd%231@192.168.1.108:554"
                       "/cam/realmonitor?channel=1&subtype=0")
    assert urls[1].endswith("subtype=1")
    assert all(":8554/" in u for u in plan(brand="generic", host="cam.local", port=8554))


def add_camera(db, camera_id="CAM-HIK", brand="HIKVISION", url=""):
    with database.transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": camera_id, "site_name": "แยกทดสอบ",
                                       "brand": brand, "stream_url": url,
                                       "registered_lat": 13.75, "registered_lon": 100.5}])


def find(config, db, server, brand, *, password=RTSP_PASSWORD, camera_id="CAM-HIK"):
    urls = plan(brand=brand, host="127.0.0.1", port=server.port, user=RTSP_USER,
                password=password)
    return search(config, db, urls, camera_id=camera_id, actor="tester")


@pytest.mark.parametrize("brand,path,codec", [
    ("hikvision", "/Streaming/Channels/101", "hevc"),
    ("dahua", "/cam/realmonitor?channel=1&subtype=0", "hevc"),
])
def test_the_makers_main_stream_is_found_and_checked(config, db, camera_server, brand, path,
                                                      codec):
    outcome = find(config, db, camera_server, brand)
    assert outcome.url == camera_server.url(path, user=RTSP_USER, password=RTSP_PASSWORD)
    assert outcome.verdict == "ok" and outcome.check.codec == codec
    assert outcome.check.width == 2560  # the main stream, not the sub-stream
    assert [t.verdict for t in outcome.tries] == ["ok"]
    assert RTSP_PASSWORD not in json.dumps([t.public() for t in outcome.tries])
    row = database.row(db, "SELECT * FROM stream_checks WHERE id = ?", [outcome.check_id])
    assert row["camera_id"] == "CAM-HIK" and row["verdict"] == "ok"
    assert RTSP_PASSWORD not in row["url_masked"] and row["url_secret"] == outcome.url


def test_a_wrong_password_stops_the_search_at_once(config, db, camera_server):
    # Hikvision locks the account after a few failed logins: one 401 ends the search.
    outcome = find(config, db, camera_server, "hikvision", password="12345")
    assert outcome.url is None and outcome.verdict == "auth_failed"
    assert len(outcome.tries) == 1 and "12345" not in repr(outcome.tries)


def test_a_maker_whose_paths_the_camera_lacks_tries_each_and_says_not_found(
        config, db, camera_server):
    outcome = find(config, db, camera_server, "uniview")
    assert outcome.url is None and outcome.verdict == "not_found"
    assert [t.verdict for t in outcome.tries] == ["not_found"] * 4
    assert outcome.tries[0].url.endswith("/unicast/c1/s0/live")


def test_nothing_listening_says_so_within_the_deadline(config, db):
    config.streamcheck.find_try_timeout_s = 2.0
    config.streamcheck.find_timeout_s = 4.0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    urls = plan(brand="hikvision", host="127.0.0.1", port=closed)
    refused = search(config, db, urls, camera_id=None, actor="tester")
    assert refused.verdict == "refused" and len(refused.tries) == 1  # other paths skipped
    with silent_port() as port:
        started = time.monotonic()
        silent = search(config, db, plan(brand="dahua", host="127.0.0.1", port=port),
                        camera_id=None, actor="tester")
        assert time.monotonic() - started < 4.0 + 3.0  # a hang guard, not a benchmark
    assert silent.verdict == "timeout" and silent.url is None and len(silent.tries) == 1


def test_cli_finds_the_stream_with_the_password_from_stdin(cli, data_dir, config, db,
                                                          camera_server):
    add_camera(db, brand="ไฮค์วิชั่น")  # no --brand: read from the registry's column
    args = ("stream", "find", "--data-dir", data_dir, "--camera", "CAM-HIK", "--host",
            "127.0.0.1", "--port", str(camera_server.port), "--user", RTSP_USER,
            "--password-stdin")
    found = cli(*args, input=RTSP_PASSWORD + "\n")
    assert found.exit_code == 0, found.output
    assert "found: rtsp://surveyor:***@127.0.0.1" in found.output
    assert "/Streaming/Channels/101" in found.output and RTSP_PASSWORD not in found.output
    wrong = cli(*args, "--json", input="nope\n")
    assert wrong.exit_code == 1
    data = json.loads(wrong.output)
    assert data["verdict"] == "auth_failed" and data["found_url"] is None
    assert [t["verdict"] for t in data["tries"]] == ["auth_failed"]
    bad = cli("stream", "find", "--data-dir", data_dir, "--camera", "CAM-HIK", "--host",
              "999.1.1.1", "--brand", "dahua")
    assert bad.exit_code == 2 and "999.1.1.1" in bad.output and "Traceback" not in bad.output
    missing = cli("stream", "find", "--data-dir", data_dir, "--camera", "NOPE", "--host",
                  "127.0.0.1")
    assert missing.exit_code == 2 and "NOPE" in missing.output


def wait_job(client, job_id, limit_s=120):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").get_json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError("the job did not end")


def test_survey_keeps_the_found_address_masked_and_syncs_it_as_a_correction(
        app, client, auth, config, db, camera_server):
    add_camera(db)
    auth.login("surveyor")
    survey = client.post("/api/v1/cameras/CAM-HIK/survey").get_json()
    bad = client.post(f"/api/v1/surveys/{survey['id']}/stream-find",
                      json={"host": "10.0.0.999", "brand": "hikvision"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "host"
    started = client.post(f"/api/v1/surveys/{survey['id']}/stream-find", json={
        "host": "127.0.0.1", "port": str(camera_server.port), "user": RTSP_USER,
        "password": "wrong-one", "brand": "hikvision"})
    job = wait_job(client, started.get_json()["job_id"])
    assert job["result"]["found_url"] is None and job["result"]["verdict"] == "auth_failed"
    assert job["result"]["tries"][0]["label"] == "รหัสผ่านผิด"
    assert client.get(f"/api/v1/surveys/{survey['id']}").get_json()["found_stream_url"] is None

    started = client.post(f"/api/v1/surveys/{survey['id']}/stream-find", json={
        "host": "127.0.0.1", "port": str(camera_server.port), "user": RTSP_USER,
        "password": RTSP_PASSWORD, "brand": "hikvision"})
    job = wait_job(client, started.get_json()["job_id"])
    masked = camera_server.url("Streaming/Channels/101", user=RTSP_USER, password="***")
    assert job["state"] == "done" and job["result"]["found_url"] == masked
    body = client.get(f"/api/v1/surveys/{survey['id']}").get_data(as_text=True)
    assert RTSP_PASSWORD not in body
    saved = json.loads(body)
    assert saved["found_stream_url"] == masked and saved["stream_verdict"] == "ok"
    assert "Run the stream check" not in json.dumps(saved["missing"])

    # The survey's own "check the video" button re-checks the found stream.
    again = client.post(f"/api/v1/surveys/{survey['id']}/stream-check")
    assert again.status_code == 202
    assert wait_job(client, again.get_json()["job_id"])["result"]["verdict"] == "ok"

    entry = build_entry(db, survey["id"])
    assert entry["fields"]["found_stream_url"] == masked
    assert entry["fields"]["found_stream_via"] == "hikvision"
    assert RTSP_PASSWORD not in json.dumps(entry, ensure_ascii=False)
    manifest = protocol.new_manifest("node-1", "6f1c8a52-0d5e-4a8c-9d07-1f8f1e2a3b4c",
                                     "2026-12-03", [entry])
    protocol.validate_manifest(manifest, max_surveys=10)


def test_the_registry_refuses_an_unmasked_found_address():
    entry = {"id": "6f1c8a52-0d5e-4a8c-9d07-1f8f1e2a3b4c", "revision": 1, "evidence": [],
             "stream_check": None,
             "fields": {"camera_id": "C1", "found_stream_url": "rtsp://admin:hunter2@10.0.0.5/1"}}
    entry["content_sha256"] = protocol.content_hash(entry)
    manifest = protocol.new_manifest("node-1", "0f1c8a52-0d5e-4a8c-9d07-1f8f1e2a3b4c",
                                     "2026-12-03", [entry])
    with pytest.raises(BadInput, match="found_stream_url must be a masked"):
        protocol.validate_manifest(manifest, max_surveys=10)


def test_the_review_page_shows_the_found_address_as_a_correction(app, client, auth, config,
                                                                  db, camera_server):
    add_camera(db)
    outcome = find(config, db, camera_server, "hikvision")
    survey = survey_svc.start_or_resume(db, config, camera_id="CAM-HIK", user=SURVEYOR)
    survey_svc.record_found_stream(db, config, survey["id"], user=SURVEYOR,
                                   masked_url=outcome.masked, check_id=outcome.check_id,
                                   via="hikvision", verdict=outcome.verdict)
    auth.login("supervisor")
    page = client.get(f"/review/{survey['id']}").get_data(as_text=True)
    assert RTSP_PASSWORD not in page
    row = page.split('data-key="stream_address"', 1)[1].split("</tr>", 1)[0]
    assert 'data-differs="1"' in row and outcome.masked in row.replace("&amp;", "&")
    assert check_db.get_stream_check_url(db, outcome.check_id) == outcome.url


def test_the_registry_review_shows_the_synced_correction(tmp_path):
    from survey_node import config as config_mod
    from survey_node.registry.service import Registry
    from survey_node.registry.app import create_registry_app
    from tests.sync_helpers import make_node
    from tests.test_review_registry import add_registry_users, login, push

    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    registry = Registry(config_mod.load(registry_dir))
    app = create_registry_app(registry.config, registry=registry)
    add_registry_users(registry_dir)
    node = make_node(tmp_path / "node-f", "node-f", surveys=1)
    masked = "rtsp://admin:***@10.20.0.31:554/cam/realmonitor?channel=1&subtype=0"
    db = database.connect(node.db_path)
    try:
        (sid,) = db.execute("SELECT id FROM surveys").fetchone()
        db.execute("UPDATE surveys SET found_stream_url = ?, found_stream_via = 'dahua',"
                   " revision = revision + 1 WHERE id = ?", [masked, sid])
        db.conn.commit()
    finally:
        db.close()
    push(app.test_client(), registry, node)
    client = app.test_client()
    login(client, "supervisor")
    page = client.get(f"/review/{sid}").get_data(as_text=True)
    row = page.split('data-key="stream_address"', 1)[1].split("</tr>", 1)[0]
    assert 'data-differs="1"' in row and masked in row.replace("&amp;", "&")


# -- ONVIF ---------------------------------------------------------------------------------

ONVIF_USER, ONVIF_PASSWORD = "admin", "Onvif-Pa55"


@pytest.fixture
def onvif_camera(camera_server):
    """An ONVIF device whose stream URIs point at the RTSP test server (no credentials in
    them, as cameras answer), its clock 5 minutes slow."""
    from tests.servers.onvif_device import Identity, OnvifDevice

    base = f"rtsp://127.0.0.1:{camera_server.port}"
    with OnvifDevice(RTSP_USER, RTSP_PASSWORD, identity=Identity(clock_offset_s=-300),
                     stream_uris={"Profile_1": f"{base}/Streaming/Channels/101",
                                  "Profile_2": f"{base}/Streaming/Channels/102"}) as device:
        yield device


def test_onvif_gives_identity_clock_and_the_main_stream_without_guessing(config, db,
                                                                          onvif_camera):
    urls = plan(brand="onvif", host="127.0.0.1", port=onvif_camera.port, user=RTSP_USER,
                password=RTSP_PASSWORD)
    outcome = search(config, db, urls, camera_id="CAM-HIK", actor="tester")
    assert outcome.verdict == "ok" and outcome.url.endswith("/Streaming/Channels/101")
    assert outcome.check.width == 2560  # the largest profile is the main stream
    assert outcome.onvif["identity"]["model"] == "DS-2CD2143G2-IU"
    assert -310 < outcome.onvif["clock_drift_s"] < -290
    assert [t.verdict for t in outcome.tries] == ["ok", "ok"]
    assert RTSP_PASSWORD not in json.dumps([t.public() for t in outcome.tries] + [outcome.onvif])
    assert "GetStreamUri" in onvif_camera.calls and "GetDeviceInformation" in onvif_camera.calls
    row = database.row(db, "SELECT * FROM stream_checks WHERE id = ?", [outcome.check_id])
    assert (row["onvif_manufacturer"], row["onvif_serial"], row["onvif_mac"]) == (
        "HIKVISION", "DS-2CD2143G2-IU20220315AAWRJ12345678", "44:19:b6:3a:7c:e1")
    assert -310 < row["clock_drift_s"] < -290


def test_onvif_wrong_password_and_nothing_listening_say_so(config, db, onvif_camera):
    wrong = search(config, db, plan(brand="onvif", host="127.0.0.1", port=onvif_camera.port,
                                    user=RTSP_USER, password="nope"),
                   camera_id=None, actor="tester")
    assert wrong.verdict == "auth_failed" and wrong.url is None and len(wrong.tries) == 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    refused = search(config, db, plan(brand="onvif", host="127.0.0.1", port=closed),
                     camera_id=None, actor="tester")
    assert refused.verdict == "refused"
    config.streamcheck.onvif_timeout_s = 3.0
    config.streamcheck.onvif_call_timeout_s = 1.0
    with silent_port() as port:
        started = time.monotonic()
        silent = search(config, db, plan(brand="onvif", host="127.0.0.1", port=port),
                        camera_id=None, actor="tester")
        assert time.monotonic() - started < 3.0 + 3.0  # a hang guard, not a benchmark
    assert silent.verdict == "timeout" and silent.url is None


def review_row(page: str, key: str) -> str:
    return page.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]


@pytest.mark.parametrize("identity,differs", [
    ({"clock_offset_s": -300}, {"maker": False, "model": False, "clock_drift": True}),
    ({"manufacturer": "Dahua", "model": "IPC-HFW2431S-S-S2", "serial": "7B0A3C1PAZ12345"},
     {"maker": True, "model": True, "clock_drift": False}),
], ids=["same-camera-clock-off", "another-camera"])
def test_review_compares_the_onvif_identity_with_the_registry(
        app, client, auth, config, db, camera_server, identity, differs):
    from tests.servers.onvif_device import Identity, OnvifDevice

    with database.transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": "CAM-ID", "site_name": "หน้าโรงเรียน",
                                       "brand": "ไฮค์วิชั่น", "model": "HIKVISION DS-2CD2143G2",
                                       "stream_url": ""}])
    base = f"rtsp://127.0.0.1:{camera_server.port}"
    with OnvifDevice(RTSP_USER, RTSP_PASSWORD, identity=Identity(**identity),
                     stream_uris={"Profile_1": f"{base}/Streaming/Channels/101",
                                  "Profile_2": f"{base}/Streaming/Channels/102"}) as device:
        auth.login("surveyor")
        survey = client.post("/api/v1/cameras/CAM-ID/survey").get_json()
        started = client.post(f"/api/v1/surveys/{survey['id']}/stream-find", json={
            "host": "127.0.0.1", "port": str(device.port), "user": RTSP_USER,
            "password": RTSP_PASSWORD, "brand": "onvif"})
        job = wait_job(client, started.get_json()["job_id"])
    assert job["state"] == "done" and job["result"]["found_url"], job
    assert RTSP_PASSWORD not in json.dumps(job)
    saved = client.get(f"/api/v1/surveys/{survey['id']}").get_json()
    assert saved["found_stream_via"] == "onvif" and saved["stream_verdict"] == "ok"
    auth.login("supervisor")
    page = client.get(f"/review/{survey['id']}").get_data(as_text=True)
    for key, expected in differs.items():
        assert ('data-differs="1"' in review_row(page, key)) is expected, key
    assert (identity.get("serial") or "DS-2CD2143G2-IU20220315AAWRJ12345678") in page
    assert "44:19:b6:3a:7c:e1" in review_row(page, "mac")
    sheet = client.get(f"/exports/sheet/{survey['id']}").get_data(as_text=True)
    assert 'data-testid="sheet-found-stream"' in sheet and RTSP_PASSWORD not in sheet
    identity_table = sheet.split('data-testid="sheet-identity"', 1)[1].split("</p>", 1)[0]
    assert "44:19:b6:3a:7c:e1" in identity_table
    assert bool(re.search(r"-30[01] วินาที", identity_table)) is differs["clock_drift"]
    assert 'data-differs="1"' in review_row(page, "stream_address")


def test_sheet_and_hand_in_file_carry_the_found_address_and_identity(
        config, db, camera_server, tmp_path, cli, data_dir):
    import subprocess

    from survey_node import sheets
    from tests.conftest import require_system
    from tests.servers.onvif_device import Identity, OnvifDevice

    require_system("chromium", "pdfinfo")
    add_camera(db, camera_id="CAM-ID", brand="ไฮค์วิชั่น")
    base = f"rtsp://127.0.0.1:{camera_server.port}"
    with OnvifDevice(RTSP_USER, RTSP_PASSWORD, identity=Identity(
            model="DS-2CD2T47G2H-LISU/SL-WITH-A-VERY-LONG-SUFFIX", clock_offset_s=-3600),
            stream_uris={"Profile_1": f"{base}/Streaming/Channels/101"}) as device:
        outcome = search(config, db, plan(brand="onvif", host="127.0.0.1", port=device.port,
                                          user=RTSP_USER, password=RTSP_PASSWORD),
                         camera_id="CAM-ID", actor="tester")
    survey = survey_svc.start_or_resume(db, config, camera_id="CAM-ID", user=SURVEYOR)
    survey_svc.record_found_stream(db, config, survey["id"], user=SURVEYOR,
                                   masked_url=outcome.masked, check_id=outcome.check_id,
                                   via="onvif", verdict=outcome.verdict,
                                   snapshot_sha256=outcome.check.snapshot_sha256)
    # Three photos, as a finished survey has.
    import io

    from PIL import Image

    from survey_node.db import evidence as evidence_db
    from survey_node.evidence import EvidenceStore

    for index, role in enumerate(("camera", "installation", "label")):
        jpeg = io.BytesIO()
        Image.new("RGB", (1600, 1200), (40 * index, 120, 200)).save(jpeg, "JPEG")
        sha = EvidenceStore(config.evidence_dir).put_bytes(jpeg.getvalue())
        with database.transaction(db):
            evidence_db.upsert_evidence(db, {
                "sha256": sha, "kind": "photo", "mime": "image/jpeg",
                "bytes": len(jpeg.getvalue()), "width": 1600, "height": 1200,
                "taken_at": database.now_iso(), "source": "upload", "created_by": "surveyor"})
        survey_svc.add_photo(db, config, survey["id"], user=SURVEYOR, sha256=sha, role=role)
    survey_svc.save_answers(db, config, survey["id"], user=SURVEYOR,
                            checklist={"exists": "yes", "working": "yes"})
    out = tmp_path / "sheet.pdf"
    sheets.write_pdf(db, config, [survey["id"]], out)
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True,
                          timeout=30).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M) and "(A4)" in info, info  # still one page

    survey_svc.set_position(db, config, survey["id"], user=SURVEYOR, source="tablet",
                            fix={"lat": 13.75, "lon": 100.5})
    survey_svc.complete(db, config, survey["id"], user=SURVEYOR)
    csv_path = tmp_path / "handin.csv"
    done = cli("export", "--data-dir", data_dir, "--format", "csv", "--state", "surveyed",
               "--out", csv_path)
    assert done.exit_code == 0, done.output
    import csv

    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["ที่อยู่สตรีมที่พบในพื้นที่"] == outcome.masked
    assert row["รุ่นที่กล้องรายงาน (ONVIF)"] == "DS-2CD2T47G2H-LISU/SL-WITH-A-VERY-LONG-SUFFIX"
    assert row["หมายเลข MAC (ONVIF)"] == "44:19:b6:3a:7c:e1"
    assert -3602 <= float(row["นาฬิกากล้องคลาดเคลื่อน (วินาที)"]) <= -3599
    assert RTSP_PASSWORD not in csv_path.read_text(encoding="utf-8-sig")


def test_cli_asks_the_camera_over_onvif(cli, data_dir, db, onvif_camera):
    add_camera(db)
    done = cli("stream", "find", "--data-dir", data_dir, "--camera", "CAM-HIK", "--host",
               "127.0.0.1", "--port", str(onvif_camera.port), "--user", RTSP_USER,
               "--password-stdin", "--brand", "onvif", input=RTSP_PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert "found: rtsp://surveyor:***@127.0.0.1" in done.output
    assert "camera model: DS-2CD2143G2-IU" in done.output
    assert "camera mac: 44:19:b6:3a:7c:e1" in done.output
    assert re.search(r"camera clock: -30[01] s", done.output)
    assert RTSP_PASSWORD not in done.output


def test_onvif_camera_without_getservices_is_read_through_getcapabilities(config, db,
                                                                          camera_server):
    from tests.servers.onvif_device import OnvifDevice

    base = f"rtsp://127.0.0.1:{camera_server.port}"
    with OnvifDevice(RTSP_USER, RTSP_PASSWORD, has_get_services=False,
                     stream_uris={"Profile_1": f"{base}/Streaming/Channels/101",
                                  "Profile_2": f"{base}/Streaming/Channels/102"}) as device:
        outcome = search(config, db, plan(brand="onvif", host="127.0.0.1", port=device.port,
                                          user=RTSP_USER, password=RTSP_PASSWORD),
                         camera_id=None, actor="tester")
        calls = list(device.calls)
    assert "GetCapabilities" in calls and outcome.verdict == "ok"
    assert outcome.url.endswith("/Streaming/Channels/101")


def test_a_stream_uri_the_check_may_not_open_is_refused_not_followed(config, db):
    from tests.servers.onvif_device import OnvifDevice

    with OnvifDevice(RTSP_USER, RTSP_PASSWORD,
                     stream_uris={"Profile_1": "file:///etc/passwd"}) as device:
        outcome = search(config, db, plan(brand="onvif", host="127.0.0.1", port=device.port,
                                          user=RTSP_USER, password=RTSP_PASSWORD),
                         camera_id=None, actor="tester")
    assert outcome.verdict == "invalid_url" and outcome.url is None and outcome.check is None
    assert outcome.onvif["identity"]["manufacturer"] == "HIKVISION"  # still who it is


@pytest.mark.parametrize("operation, how", [("GetDeviceInformation", "padded"),
                                            ("GetProfiles", "endless"),
                                            ("GetNetworkInterfaces", "endless")])
def test_a_camera_flooding_its_onvif_reply_is_cut_at_the_cap_with_one_line(
        config, db, operation, how):
    """A reply of megabytes (or one that never ends) is read to MAX_REPLY_BYTES, then the
    connection is dropped: one line says so, nothing is parsed, nothing is kept."""
    import resource

    from survey_node.streamcheck.onvif_client import MAX_REPLY_BYTES
    from tests.servers.onvif_device import OnvifDevice

    add_camera(db)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with OnvifDevice(ONVIF_USER, ONVIF_PASSWORD, oversized={operation: how},
                     stream_uris={"Profile_1": "rtsp://127.0.0.1:9/none"}) as device:
        urls = plan(brand="onvif", host="127.0.0.1", port=device.port, user=ONVIF_USER,
                    password=ONVIF_PASSWORD)
        outcome = search(config, db, urls, camera_id="CAM-HIK", actor="tester")
    assert outcome.url is None and outcome.verdict == "unsupported"
    (tried,) = outcome.tries
    assert tried.error.count("\n") == 0 and ONVIF_PASSWORD not in tried.error
    assert "ONVIF reply" in tried.error and f"{MAX_REPLY_BYTES // 1024} kB" in tried.error
    # an endless reply was not read on: the process grew by far less than what was sent
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 64 * 1024
    assert check_db.rows_stream_checks(db, camera_id="CAM-HIK") == []


def test_cli_saves_what_it_finds_with_the_camera_s_open_survey(cli, data_dir, config, db, users,
                                                               camera_server):
    add_camera(db)
    add_camera(db, camera_id="CAM-OTHER")
    surveyor = {"name": "surveyor", "role": "surveyor"}
    survey = survey_svc.start_or_resume(db, config, camera_id="CAM-HIK", user=surveyor)
    base = ("stream", "find", "--data-dir", data_dir, "--host", "127.0.0.1", "--port",
            str(camera_server.port), "--user", RTSP_USER, "--password-stdin", "--brand",
            "hikvision")
    # Refused before any camera is asked: no user, another camera's survey, unknown user.
    for extra, says in ((("--survey", survey["id"]), "--as"),
                        (("--survey", survey["id"], "--as", "surveyor", "--camera", "CAM-OTHER"),
                         "CAM-OTHER"),
                        (("--survey", survey["id"], "--as", "nobody"), "nobody")):
        refused = cli(*base, *extra, input=RTSP_PASSWORD + "\n")
        assert refused.exit_code == 2 and says in refused.output, refused.output
        assert "Traceback" not in refused.output and refused.output.count("\n") == 1
    assert check_db.rows_stream_checks(db) == []

    found = cli(*base, "--survey", survey["id"], "--as", "surveyor", input=RTSP_PASSWORD + "\n")
    assert found.exit_code == 0, found.output
    assert f"saved with survey {survey['id']}" in found.output
    masked = camera_server.url("Streaming/Channels/101", user=RTSP_USER, password="***")
    saved = survey_svc.get(db, survey["id"])
    # as the page keeps it: the masked address, the check that proved it, its snapshot
    assert saved["found_stream_url"] == masked and saved["found_stream_via"] == "hikvision"
    assert saved["stream_verdict"] == "ok" and saved["stream_check_id"] == saved["found_stream_check_id"]
    check = check_db.get_stream_check(db, saved["found_stream_check_id"])
    assert [e["sha256"] for e in saved["evidence"] if e["role"] == "snapshot"] == \
        [check["snapshot_sha256"]]
    assert check_db.get_stream_check_url(db, check["id"]) == camera_server.url(
        "Streaming/Channels/101", user=RTSP_USER, password=RTSP_PASSWORD)
    assert RTSP_PASSWORD not in json.dumps(build_entry(db, survey["id"]), ensure_ascii=False)
    history = db.execute("SELECT actor, action FROM audit_log WHERE entity = 'survey'"
                         " AND entity_id = ? ORDER BY id", [survey["id"]]).fetchall()
    assert history[-1] == ("surveyor", "survey.stream_found")

    # Another surveyor's tablet holding the survey: refused, the survey unchanged.
    db.execute("UPDATE surveys SET locked_by = 'someone', locked_at = ? WHERE id = ?",
               [database.now_iso(), survey["id"]])
    db.conn.commit()
    held = cli(*base, "--survey", survey["id"], "--as", "admin", input=RTSP_PASSWORD + "\n")
    assert held.exit_code == 2 and "someone" in held.output


def test_a_typed_address_is_kept_masked_synced_as_the_correction_and_revealed_to_admins(
        app, client, auth, config, db, camera_server):
    add_camera(db)
    auth.login("surveyor")
    survey = client.post("/api/v1/cameras/CAM-HIK/survey").get_json()
    for bad in ("file:///etc/passwd", "rtsp://", "x" * 3000, 42):
        refused = client.post(f"/api/v1/surveys/{survey['id']}/stream-find", json={"url": bad})
        assert refused.status_code == 400 and refused.get_json()["field"] == "url", bad
    assert check_db.rows_stream_checks(db) == []
    typed = camera_server.url("Streaming/Channels/101", user=RTSP_USER, password=RTSP_PASSWORD)
    started = client.post(f"/api/v1/surveys/{survey['id']}/stream-find", json={"url": typed})
    job = wait_job(client, started.get_json()["job_id"])
    masked = camera_server.url("Streaming/Channels/101", user=RTSP_USER, password="***")
    assert job["state"] == "done" and job["result"]["found_url"] == masked
    body = client.get(f"/api/v1/surveys/{survey['id']}").get_data(as_text=True)
    saved = json.loads(body)
    assert RTSP_PASSWORD not in body and saved["found_stream_url"] == masked
    assert saved["found_stream_via"] == "typed" and saved["stream_verdict"] == "ok"
    entry = build_entry(db, survey["id"])
    assert entry["fields"]["found_stream_url"] == masked
    assert RTSP_PASSWORD not in json.dumps(entry, ensure_ascii=False)
    protocol.validate_manifest(protocol.new_manifest(
        "node-1", "6f1c8a52-0d5e-4a8c-9d07-1f8f1e2a3b4c", "2026-12-03", [entry]), max_surveys=10)
    check_id = saved["found_stream_check_id"]
    assert client.get(f"/api/v1/stream-checks/{check_id}?reveal=1").status_code == 403
    auth.logout()
    auth.login("admin")
    shown = client.get(f"/api/v1/stream-checks/{check_id}?reveal=1").get_json()
    assert shown["url_unmasked"] == typed and shown["url"] == masked
