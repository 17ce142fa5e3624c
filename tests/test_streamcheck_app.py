"""The stream check as users meet it: the CLI, the web API with its job, the queue, the
table and the evidence store."""

import json
import time

import pytest

from survey_node import db as database
from survey_node.db import cameras as camera_db
from survey_node.db import evidence as evidence_db
from survey_node.evidence import EvidenceStore
from survey_node import stream_check as service
from survey_node.streamcheck import RESULT_KEYS
from tests.streams import mjpeg_server, silent_port  # noqa: F401 - fixture

PASSWORD = "Cam-Pa55word"
FAST = {"SURVEY_NODE_STREAMCHECK__SAMPLE_SECONDS": "1",
        "SURVEY_NODE_STREAMCHECK__CONNECT_TIMEOUT_S": "2"}


@pytest.fixture
def fast_checks(monkeypatch):
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)


def add_camera(db, camera_id, url):
    with database.transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": camera_id, "site_name": "แยกทดสอบ",
                                       "stream_url": url}])


def test_cli_json_has_exactly_the_documented_keys(cli, data_dir, mjpeg_server, fast_checks):
    url = mjpeg_server.url("good", user="viewer", password=PASSWORD)
    result = cli("check-stream", "--data-dir", data_dir, "--json", url)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    data = json.loads(result.output)
    assert tuple(data) == RESULT_KEYS
    assert data["verdict"] == "ok" and data["url"] == mjpeg_server.url(
        "good", user="viewer", password="***")
    assert EvidenceStore(data_dir / "evidence").verify(data["snapshot_sha256"])


def test_cli_exits_0_whatever_the_verdict_and_2_for_bad_arguments(cli, data_dir, fast_checks):
    with silent_port() as port:
        pass
    refused = cli("check-stream", "--data-dir", data_dir, f"rtsp://127.0.0.1:{port}/x")
    assert refused.exit_code == 0 and refused.output.startswith("refused:")
    invalid = cli("check-stream", "--data-dir", data_dir, "--json", "file:///etc/passwd")
    assert invalid.exit_code == 0 and json.loads(invalid.output)["verdict"] == "invalid_url"
    bad = cli("check-stream", "--data-dir", data_dir, "--timeout", "0", "rtsp://h/x")
    assert bad.exit_code == 2 and "--timeout" in bad.output
    assert cli("check-stream", "--data-dir", data_dir).exit_code == 2


def test_check_is_recorded_with_masked_url_and_snapshot(config, db, mjpeg_server, monkeypatch):
    config.streamcheck.sample_seconds = 1.0
    url = mjpeg_server.url("black", user="viewer", password=PASSWORD)
    result, check_id = service.check_url(config, db, url, camera_id="C1", actor="tester")
    row = database.row(db, "SELECT * FROM stream_checks WHERE id = ?", [check_id])
    assert row["verdict"] == "black" and row["camera_id"] == "C1"
    assert PASSWORD not in row["url_masked"] and row["url_secret"] == url
    assert row["snapshot_sha256"] == result.snapshot_sha256
    evidence = evidence_db.get_evidence(db, result.snapshot_sha256)
    assert evidence["kind"] == "snapshot" and evidence["mime"] == "image/jpeg"
    assert (evidence["width"], evidence["height"]) == (640, 360)
    audit = database.rows_audit(db, entity="stream_check")
    assert audit and PASSWORD not in json.dumps(audit)


def test_web_check_runs_as_a_job_and_admin_alone_sees_the_password(
        app, client, auth, db, mjpeg_server, config):
    config.streamcheck.sample_seconds = 1.0
    add_camera(db, "CAM-1", mjpeg_server.url("good", user="viewer", password=PASSWORD))
    auth.login("surveyor")
    page = client.get("/cameras/CAM-1/stream-check")
    assert page.status_code == 200 and PASSWORD not in page.get_data(as_text=True)
    started = client.post("/api/v1/cameras/CAM-1/stream-check")
    assert started.status_code == 202
    job = poll(client, started.get_json()["poll"])
    result = job["result"]
    assert job["state"] == "done" and result["verdict"] == "ok"
    assert PASSWORD not in json.dumps(job) and "***" in result["url"]
    snapshot = client.get(result["snapshot_url"])
    assert snapshot.status_code == 200 and snapshot.data[:2] == b"\xff\xd8"
    assert client.get(started.get_json()["poll"] + "?reveal=1").status_code == 403
    history = client.get("/cameras/CAM-1/stream-check").get_data(as_text=True)
    assert 'data-testid="check-history"' in history and PASSWORD not in history
    auth.logout()
    auth.login("admin")
    revealed = client.get(started.get_json()["poll"] + "?reveal=1").get_json()
    assert PASSWORD in revealed["result"]["url_unmasked"]
    actions = [a["action"] for a in database.rows_audit(db, entity="stream_check")]
    assert "streamcheck.reveal_url" in actions


def test_web_refuses_unknown_camera_and_camera_without_stream(client, auth, db):
    add_camera(db, "NO-STREAM", "")
    auth.login("surveyor")
    assert client.post("/api/v1/cameras/NOPE/stream-check").status_code == 404
    reply = client.post("/api/v1/cameras/NO-STREAM/stream-check")
    assert reply.status_code == 400 and "NO-STREAM" in reply.get_json()["message"]


def test_a_check_beyond_the_limit_waits_in_the_queue_and_says_so(
        client, auth, db, config, mjpeg_server):
    config.streamcheck.sample_seconds = 1.0
    config.streamcheck.max_concurrent = 1
    add_camera(db, "CAM-Q", mjpeg_server.url("frozen"))
    auth.login("surveyor")
    client.post("/language", data={"lang": "en"})
    with service.slots_for(config).acquire(wait_s=1):  # another check holds the only slot
        url = client.post("/api/v1/cameras/CAM-Q/stream-check").get_json()["poll"]
        job = wait_for(client, url, lambda j: j["message"] != "")
        assert job["state"] == "queued"
        assert job["message"] == service.MSG_QUEUED
    job = poll(client, url)
    assert job["state"] == "done" and job["result"]["verdict"] == "frozen"


def poll(client, url):
    return wait_for(client, url, lambda j: j["state"] in ("done", "failed"))


def wait_for(client, url, predicate, limit_s=30):
    give_up = time.monotonic() + limit_s
    while time.monotonic() < give_up:
        job = client.get(url).get_json()
        if predicate(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job did not get there in {limit_s} s: {job}")


def test_thresholds_come_from_the_config(cli, data_dir, mjpeg_server, fast_checks, monkeypatch):
    # A province that calls anything darker than 200/255 "black" gets its verdict once
    # it also lets a contrasty picture count as flat.
    monkeypatch.setenv("SURVEY_NODE_STREAMCHECK__BLACK_LUMA", "200")
    result = cli("check-stream", "--data-dir", data_dir, "--json", mjpeg_server.url("good"))
    assert json.loads(result.output)["verdict"] == "ok"
    monkeypatch.setenv("SURVEY_NODE_STREAMCHECK__BLACK_CONTRAST", "256")
    result = cli("check-stream", "--data-dir", data_dir, "--json", mjpeg_server.url("good"))
    assert json.loads(result.output)["verdict"] == "black"
    monkeypatch.setenv("SURVEY_NODE_STREAMCHECK__BLACK_LUMA", "16")
    monkeypatch.setenv("SURVEY_NODE_STREAMCHECK__BLUR_THRESHOLD", "100000")
    result = cli("check-stream", "--data-dir", data_dir, "--json", mjpeg_server.url("good"))
    assert json.loads(result.output)["verdict"] == "blurred"
