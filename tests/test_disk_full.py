"""The node on a really full data disk (a small tmpfs filled to the last byte).

Uploads and imports answer 507 with one Thai line and leave nothing behind; login, wrong-PIN
lockouts, logout and every page that only reads keep working; when space comes back the
same upload succeeds. Issue 16, item 11.
"""

from __future__ import annotations

import io
import json
import os
import time

import numpy as np
import pytest
from PIL import Image

from survey_node import accounts
from survey_node import config as config_mod
from survey_node import db as database
from survey_node.app import create_app
from survey_node.cli.core import init_data_dir
from survey_node.db import cameras as camera_db
from survey_node.db import transaction
from survey_node.devices.camera_fake import FakeCamera
from survey_node.devices.gps_replay import ReplayReader
from tests.conftest import PINS
from tests.full_disk import Filler, files_under, room_in_wal, shrink_wal, small_disk
from tests.phone_photos import phone_exif
from tests.registry_files import REAL_HEADER, korat_rows, write_xlsx
from tests.streams import mjpeg_server  # noqa: F401 - fixture

THAI_FULL = "ดิสก์ของเครื่องสำรวจเต็ม"


def camera_photo(seed: int, size=(2016, 1512)) -> bytes:
    """A JPEG the size a phone's camera makes (~1-2 MB: real scenes are full of detail)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=85, exif=phone_exif(1))
    return out.getvalue()


def login(client, name):
    return client.post("/login", data={"name": name, "pin": PINS[name]})


def upload_photo(client, data, name="IMG_0412.JPG"):
    return client.post("/api/v1/photos", data={"photo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def audit_rows(cfg) -> int:
    db = database.connect(cfg.db_path, migrate=False)
    try:
        return db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    finally:
        db.close()


@pytest.fixture
def node(tmp_path, monkeypatch):
    """A node whose data dir is a real 8 MB disk, with users, a camera, a survey and a photo."""
    for name in list(os.environ):
        if name.startswith(config_mod.ENV_PREFIX):
            monkeypatch.delenv(name, raising=False)
    with small_disk(tmp_path / "disk", size_mb=8) as disk:
        root = disk / "node"
        init_data_dir(root)
        cfg = config_mod.load(root)
        cfg.disk.warn_free_mb, cfg.disk.fail_free_mb = 4, 1
        db = database.connect(cfg.db_path)
        for role, pin in PINS.items():
            accounts.add_user(db, cfg.security, name=role, role=role, pin=pin)
        with transaction(db):
            camera_db.insert_cameras(db, [{"camera_id": "NMA-0001", "site_name": "แยกประตูชุมพล",
                                           "registered_lat": 14.9738, "registered_lon": 102.0980}])
        db.close()
        gps = ReplayReader(interval=0.1).start()
        try:
            app = create_app(cfg, devices={"gps": gps, "camera": FakeCamera(800, 600)},
                             testing=True)
            app.config["WTF_CSRF_ENABLED"] = False
            yield cfg, app, Filler(disk)
        finally:
            gps.stop()


def test_a_full_disk_refuses_uploads_in_thai_and_keeps_login_and_reads(node, tmp_path):
    cfg, app, filler = node
    surveyor = app.test_client()
    assert login(surveyor, "surveyor").status_code == 302
    started = surveyor.post("/api/v1/cameras/NMA-0001/survey").get_json()
    first = upload_photo(surveyor, camera_photo(1))
    assert first.status_code == 201, first.get_data(as_text=True)
    sha = first.get_json()["sha256"]
    assert surveyor.post(f"/api/v1/surveys/{started['id']}/photos",
                         json={"sha256": sha, "role": "camera"}).status_code == 200
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    registry_file = write_xlsx(tmp_path / "กล้องโคราช.xlsx", REAL_HEADER, korat_rows(40))

    shrink_wal(cfg.db_path)
    filler.fill()
    evidence_before, audit_before = files_under(cfg.evidence_dir), audit_rows(cfg)

    # A photo: 507, one Thai line, no temp file, no record, no audit line.
    refused = upload_photo(surveyor, camera_photo(2))
    assert refused.status_code == 507
    body = refused.get_json()
    assert body["error"] == "disk_full" and THAI_FULL in body["message"]
    assert "\n" not in body["message"] and "Traceback" not in body["message"]
    assert files_under(cfg.evidence_dir) == evidence_before
    assert audit_rows(cfg) == audit_before

    # A registry file on the import page: 507 on the page itself, the upload not kept.
    with open(registry_file, "rb") as fh:
        page = admin.post("/admin/import/", data={"file": (io.BytesIO(fh.read()),
                                                           registry_file.name)},
                          content_type="multipart/form-data")
    assert page.status_code == 507
    html = page.get_data(as_text=True)
    assert THAI_FULL in html and 'name="file"' in html  # still the upload form, saying why
    assert not any((cfg.data_dir / "uploads").iterdir())

    # Reads: the worklist, the survey, its photo and thumbnail, the sync page (which warns).
    assert surveyor.get("/").status_code == 200
    assert surveyor.get("/api/v1/worklist?show=all").get_json()["items"]
    assert surveyor.get(f"/api/v1/surveys/{started['id']}").get_json()["evidence"]
    assert surveyor.get(f"/evidence/{sha}").data[:2] == b"\xff\xd8"
    (cfg.evidence_dir / "thumbs" / sha[:2] / f"{sha}.jpg").unlink()  # lost: rebuilt in memory
    filler.fill()
    thumb = surveyor.get(f"/evidence/{sha}/thumb")
    assert thumb.status_code == 200 and thumb.data[:2] == b"\xff\xd8"
    sync_page = admin.get("/sync").get_data(as_text=True)
    assert 'data-testid="disk-warning"' in sync_page and "MB" in sync_page

    # Login still works for a right PIN; wrong PINs are still counted and lock out.
    supervisor = app.test_client()
    assert login(supervisor, "supervisor").status_code == 302
    assert supervisor.get("/sync").status_code == 200
    guesser = app.test_client()
    answers = [guesser.post("/login", data={"name": "admin", "pin": f"{n:04d}"}).status_code
               for n in range(cfg.security.pin_attempts + 1)]
    assert answers[:cfg.security.pin_attempts - 1] == [400] * (cfg.security.pin_attempts - 1)
    assert answers[-1] == 429  # locked, though no counter could be written to the disk
    assert guesser.post("/login", data={"name": "admin", "pin": PINS["admin"]}).status_code \
        == 429
    # Logout on a full disk ends this browser's session without an error page.
    out = supervisor.post("/logout")
    assert out.status_code == 302
    assert supervisor.get("/sync").status_code == 302  # back to the login page

    # Space again: the same photo goes in.
    filler.free()
    again = upload_photo(surveyor, camera_photo(2))
    assert again.status_code == 201, again.get_data(as_text=True)


def test_an_import_running_into_a_full_disk_changes_nothing(node, tmp_path):
    """The file fits, the cameras do not: the job fails with the Thai line, no camera added."""
    cfg, app, filler = node
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    registry_file = write_xlsx(tmp_path / "กล้องทั้งจังหวัด.xlsx", REAL_HEADER, korat_rows(3000))
    with open(registry_file, "rb") as fh:
        checked = admin.post("/admin/import/", data={"file": (io.BytesIO(fh.read()),
                                                              registry_file.name)},
                             content_type="multipart/form-data")
    assert checked.status_code == 302, checked.get_data(as_text=True)
    token = checked.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    shrink_wal(cfg.db_path)
    filler.fill(leave=384 * 1024)  # room for the job's rows, not for 3,000 cameras
    started = admin.post(f"/admin/import/upload/{token}/run", data={"action": "import"})
    assert started.status_code == 302
    job_url = started.headers["Location"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = admin.get(job_url + ".json").get_json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert status["state"] == "failed", status
    assert THAI_FULL in status["error"]
    db = database.connect(cfg.db_path, migrate=False)
    try:
        assert db.execute("SELECT count(*) FROM cameras").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
    finally:
        db.close()


def test_doctor_warns_then_fails_as_the_disk_fills(node, cli):
    """Thresholds from the config (here by environment, as an operator may set them)."""
    cfg, _app, filler = node
    env = {"SURVEY_NODE_DISK__WARN_FREE_MB": "6", "SURVEY_NODE_DISK__FAIL_FREE_MB": "2"}

    def disk_check():
        result = cli("doctor", "--json", "--data-dir", cfg.data_dir, env=env)
        return {i["name"]: i for i in json.loads(result.output)}["disk"], result.exit_code

    fresh, _ = disk_check()
    assert fresh["status"] == "ok", fresh
    filler.fill(leave=4 * 1024 * 1024)
    low, _ = disk_check()
    assert low["status"] == "warn" and "disk.warn_free_mb = 6" in low["detail"], low
    assert low["hint_th"]
    filler.free()
    filler.fill()
    full, code = disk_check()
    assert full["status"] == "fail" and "disk.fail_free_mb = 2" in full["detail"], full
    assert "ซิงก์" in full["hint_th"] and code == 1


def test_a_stream_check_whose_snapshot_does_not_fit_fails_in_thai(node, mjpeg_server):
    """The check runs, its snapshot cannot be stored: the job says so, nothing is left."""
    cfg, app, filler = node
    cfg.streamcheck.sample_seconds = 1.0
    db = database.connect(cfg.db_path, migrate=False)
    with transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": "NMA-0002", "site_name": "หน้าศาลากลาง",
                                       "stream_url": mjpeg_server.url("good")}])
    db.close()
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    room_in_wal(cfg.db_path)
    filler.fill()
    evidence_before = files_under(cfg.evidence_dir)
    started = admin.post("/api/v1/cameras/NMA-0002/stream-check")
    assert started.status_code == 202, started.get_data(as_text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = admin.get(started.get_json()["poll"]).get_json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["state"] == "failed" and THAI_FULL in job["error"], job
    assert files_under(cfg.evidence_dir) == evidence_before
