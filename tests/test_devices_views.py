"""The devices API: GPS state and averaging, photo upload/capture, evidence serving."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from survey_node import photos
from survey_node.app import create_app
from survey_node.devices.camera_fake import FakeCamera
from survey_node.devices.gps_replay import ReplayReader
from survey_node.evidence import EvidenceStore
from tests import phone_photos
from tests.conftest import AuthActions
from tests.gpsfake import wait_until


@pytest.fixture
def devices():
    gps = ReplayReader(interval=0.1).start()  # the demo walk, ten epochs a second
    yield {"gps": gps, "camera": FakeCamera(800, 600)}
    gps.stop()


@pytest.fixture
def client(config, users, devices):
    config.web.max_upload_mb = 1
    app = create_app(config, devices=devices, testing=True)
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)


def upload(client, data: bytes, name="photo.jpg"):
    return client.post("/api/v1/photos", data={"photo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def a_jpeg(size=(1600, 1200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_everything_needs_a_login(client):
    assert client.get("/api/v1/gps").status_code == 401
    assert upload(client, a_jpeg()).status_code == 401
    assert client.get("/evidence/" + "a" * 64).status_code in (302, 401)


def test_gps_state_is_reported_with_a_message(client, auth):
    auth.login()
    body = wait_until(lambda: (client.get("/api/v1/gps").get_json()["state"] == "fix_3d"
                               and client.get("/api/v1/gps").get_json()))
    assert body["fix"]["lat"] == pytest.approx(13.6, abs=0.01)
    assert body["fix"]["sats_used"] == 9
    assert body["message"] == "ได้ตำแหน่ง 3 มิติ"  # the state, in the UI's default language
    assert body["backend"] == "replay"


def test_fix_position_averages_and_records_the_spread(client, auth, devices):
    auth.login()
    wait_until(lambda: devices["gps"].status().state == "fix_3d")
    response = client.post("/api/v1/gps/average", json={"seconds": 1})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["samples"] >= 5 and body["spread_m"] >= 0 and body["mode"] == 3
    assert body["system_time"] and body["time"]


def test_fix_position_with_bad_seconds_is_one_clear_line(client, auth):
    auth.login()
    response = client.post("/api/v1/gps/average", json={"seconds": "ten"})
    assert response.status_code == 400 and response.get_json()["error"] == "bad_input"


def test_uploaded_photo_is_stored_and_served_immutably(client, auth, devices):
    auth.login()
    wait_until(lambda: devices["gps"].status().state == "fix_3d")
    response = upload(client, a_jpeg((3000, 2000)))
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["width"] == 2048 and record["source"] == "upload"
    assert record["lat"] == pytest.approx(13.6, abs=0.01)  # the node's fix, not the tablet's
    served = client.get(record["url"])
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert photos.read_exif(served.data)["lat"] == pytest.approx(record["lat"], abs=1e-5)
    assert served.headers["ETag"].strip('"') == record["sha256"]
    assert "immutable" in served.headers["Cache-Control"]
    assert "private" in served.headers["Cache-Control"]
    again = client.get(record["url"], headers={"If-None-Match": f'"{record["sha256"]}"'})
    assert again.status_code == 304
    thumb = client.get(record["thumb_url"])
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.data)).size) == 320


def test_renamed_non_image_is_refused(client, auth):
    auth.login()
    response = upload(client, b"%PDF-1.4 not a photo", name="IMG_2001.jpg")
    body = response.get_json()
    assert response.status_code == 400 and body["error"] == "bad_input"
    assert body["message"].startswith("IMG_2001.jpg ") and "\n" not in body["message"]
    assert "PDF" in body["message"] and "ไม่ใช่ภาพถ่าย" in body["message"]  # Thai by default


def test_iphone_heic_upload_is_stored_upright_with_the_node_exif(client, auth, devices, config):
    auth.login()
    wait_until(lambda: devices["gps"].status().state == "fix_3d")
    # Held upright: the sensor's frame, irot and EXIF Orientation 6, as an iPhone writes it.
    data = phone_photos.iphone_heic(phone_photos.PORTRAIT, 6, maker_note_bytes=60_000)
    response = upload(client, data, name="IMG_4031.HEIC")
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["original_mime"] == "image/heic" and record["mime"] == "image/jpeg"
    assert record["original_sha256"] == hashlib.sha256(data).hexdigest()
    served = client.get(record["url"])
    assert served.mimetype == "image/jpeg"
    assert hashlib.sha256(served.data).hexdigest() == record["sha256"]
    assert phone_photos.is_upright(served.data, phone_photos.PORTRAIT) == ""
    exif = photos.read_exif(served.data)
    assert exif["lat"] == pytest.approx(record["lat"], abs=1e-5)
    assert exif["node_id"] == config.node.id and exif["orientation"] == 1
    thumb = Image.open(io.BytesIO(client.get(record["thumb_url"]).data))
    assert thumb.height > thumb.width  # the thumbnail stands upright too


def test_broken_heic_upload_is_one_thai_line_and_stores_nothing(client, auth, config):
    auth.login()
    data = phone_photos.iphone_heic(phone_photos.LANDSCAPE, 6)
    for broken in (data[:len(data) * 2 // 3], data[:200]):
        response = upload(client, broken, name="IMG_4032.HEIC")
        body = response.get_json()
        assert response.status_code == 400 and body["error"] == "bad_input", body
        assert body["message"].startswith("IMG_4032.HEIC ") and "\n" not in body["message"]
        assert "ไม่ครบ" in body["message"] or "เสียหาย" in body["message"]
    assert list(EvidenceStore(config.evidence_dir).hashes()) == []


def test_too_large_upload_is_refused(client, auth):
    auth.login()
    response = upload(client, b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024))
    assert response.status_code == 413


def test_photo_from_the_node_camera(client, auth):
    auth.login()
    response = client.post("/api/v1/photos", data={"source": "camera"})
    assert response.status_code == 201
    assert response.get_json()["source"] == "fake"


def test_unknown_evidence_is_not_found(client, auth):
    auth.login()
    assert client.get("/evidence/" + "b" * 64).status_code == 404
    assert client.get("/evidence/not-a-hash").status_code == 400


def test_app_start_removes_temp_files_left_by_a_crash(config, users):
    import os
    import time

    folder = config.evidence_dir / "ab"
    folder.mkdir(parents=True)
    crashed, live = folder / ".tmp-crashed", folder / ".tmp-being-written"
    crashed.write_bytes(b"half a photo")
    live.write_bytes(b"a photo in progress")
    old = time.time() - 3600
    os.utime(crashed, (old, old))
    create_app(config, devices={}, testing=True)
    assert not crashed.exists() and live.exists()


def test_a_photo_sent_late_from_the_outbox_keeps_its_time_and_no_node_position(
        client, auth, devices, db):
    """The tablet kept it while the node was out of reach; where the node is now is not
    where it was taken. The same bytes sent twice (an answer lost) make one photo."""
    import datetime as dt

    auth.login()
    wait_until(lambda: devices["gps"].status().state == "fix_3d")
    data = a_jpeg()
    taken = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=12)).replace(microsecond=0)
    response = client.post("/api/v1/photos", content_type="multipart/form-data", data={
        "photo": (io.BytesIO(data), "IMG_0042.JPG"), "taken_at": taken.isoformat()})
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["lat"] is None
    assert dt.datetime.fromisoformat(record["taken_at"]) == taken
    resent = client.post("/api/v1/photos", content_type="multipart/form-data", data={
        "photo": (io.BytesIO(data), "IMG_0042.JPG"), "taken_at": taken.isoformat()})
    assert resent.status_code == 200 and resent.get_json()["sha256"] == record["sha256"]
    assert db.execute("SELECT count(*) FROM evidence WHERE kind = 'photo'").fetchone()[0] == 1
    # A fresh photo (no time, or the tablet's time of just now) gets the node's fix.
    fresh = upload(client, a_jpeg((1200, 900)))
    assert fresh.get_json()["lat"] == pytest.approx(13.6, abs=0.01)
