"""Has the camera been moved? The view-change score against the camera's earlier snapshot.

The pictures are made for it (tests/scenes.py): a street, the same street at night (dim,
low contrast, noisy, JPEG-compressed, shifted by a few pixels), and the camera moved
(turned sideways, knocked askew and zoomed, or facing another street).
"""

import csv
import io
import re
import time

import cv2
import numpy as np
import pytest
import requests

from survey_node import db as database
from survey_node import survey as survey_svc
from survey_node.db import streamchecks as check_db
from survey_node.streamcheck import viewchange
from tests import scenes
from tests.conftest import PINS, require_system
from tests.live import CHROMIUM, TABLET, chromium, logged_in_page, serving_app
from tests.review_fixtures import store_photo
from tests.streams import RtspServer, _require_rtsp

SEEDS = (1, 2, 3)


def grey(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def score(reference, current) -> float:
    return viewchange.compare_jpegs(scenes.encode_jpeg(reference),
                                    scenes.encode_jpeg(current)).score


def test_night_is_the_same_view_and_a_moved_camera_is_not_with_margin():
    same, moved = [], []
    for seed in SEEDS:
        day = scenes.street(seed)
        same += [score(day, scenes.jpeg_round_trip(day, 40)), score(day, scenes.night(day)),
                 # a darker night still, at the worst compression a camera sends
                 score(day, scenes.night(day, light=0.12, noise=6, quality=15, shift=(5, -3)))]
        moved += [score(day, scenes.panned(day)), score(day, scenes.rotated(day)),
                  score(day, scenes.street(seed + 10)),
                  score(day, scenes.night(scenes.street(seed + 10)))]
    assert max(same) < 0.3, same
    assert min(moved) > 0.8, moved
    assert min(moved) - max(same) >= 0.5  # the margin the "camera moved" threshold sits in


def test_the_night_picture_compared_the_other_way_round_is_the_same_view_too():
    day = scenes.street(4)
    assert score(scenes.night(day), day) < 0.3
    assert score(scenes.rotated(day), day) > 0.8


def test_a_huge_or_broken_earlier_picture_is_refused_before_decoding(tmp_path):
    current = grey(scenes.street(1))
    # A JPEG whose frame header claims 60000 x 60000 pixels: refused from the header.
    small = scenes.encode_jpeg(scenes.street(1))
    at = small.index(b"\xff\xc0")
    bomb = small[:at + 5] + (60000).to_bytes(2, "big") * 2 + small[at + 9:]
    cases = {"bomb.jpg": bomb, "text.jpg": b"not a picture at all", "cut.jpg": small[:400]}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        found = viewchange.compare_with_reference(str(tmp_path / name), current)
        assert set(found) == {"view_error"} and found["view_error"].count("\n") == 0, found
    assert "60000x60000" in viewchange.compare_with_reference(str(tmp_path / "bomb.jpg"),
                                                              current)["view_error"]
    missing = viewchange.compare_with_reference(str(tmp_path / "gone.jpg"), current)
    assert "cannot be read" in missing["view_error"]


def test_a_black_or_covered_picture_gives_no_score_rather_than_a_moved_camera(tmp_path):
    day = scenes.street(1)
    (tmp_path / "day.jpg").write_bytes(scenes.encode_jpeg(day))
    covered = np.random.default_rng(1).normal(6, 1, day.shape[:2]).clip(0, 255).astype(np.uint8)
    found = viewchange.compare_with_reference(str(tmp_path / "day.jpg"), covered)
    assert set(found) == {"view_error"} and "black or blank" in found["view_error"]
    # a dark night with shapes is not "black": it is compared, and is the same view
    dark = grey(scenes.night(day, light=0.12, noise=6, quality=15))
    assert viewchange.compare_with_reference(str(tmp_path / "day.jpg"), dark)["view_change"] < 0.3


def test_a_large_snapshot_is_decoded_small():
    big = cv2.resize(scenes.street(2), (2560, 1440), interpolation=cv2.INTER_CUBIC)
    decoded = viewchange.decode_grey(scenes.encode_jpeg(big))
    assert decoded.shape[1] <= 2 * viewchange.WORK_WIDTH  # libjpeg scaled it while decoding
    # and the 4 MP snapshot of the same view still scores as the same view
    assert viewchange.compare_views(decoded, grey(scenes.night(scenes.street(2)))).score < 0.3


# -- through real stream checks, the node's review page and the registry's -----------------


@pytest.fixture(scope="module")
def scene_server(tmp_path_factory):
    _require_rtsp()
    folder = tmp_path_factory.mktemp("scenes")
    day = scenes.street(1)
    for name, img in {"day": day, "night": scenes.night(day),
                      "moved": scenes.rotated(day)}.items():
        cv2.imwrite(str(folder / f"{name}.png"), img)
    server = RtspServer(scenes=folder)
    yield server
    server.stop()


def wait_job(client, job_id, limit_s=60):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").get_json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError("the stream check did not end")


def visit(client, db, config, survey_id, url):
    """One visit: the camera's stream checked from the survey page, then completed."""
    with database.transaction(db):  # what the camera shows today (the server's scene)
        db.execute("UPDATE cameras SET stream_url = ? WHERE camera_id = 'CAM-V'", [url])
    started = client.post(f"/api/v1/surveys/{survey_id}/stream-check")
    assert started.status_code == 202, started.get_data(as_text=True)
    job = wait_job(client, started.get_json()["job_id"])
    assert job["state"] == "done" and job["result"]["verdict"] == "ok", job
    survey_svc.complete(db, config, survey_id, user={"name": "surveyor", "role": "surveyor"})
    return check_db.get_stream_check(db, job["result"]["check_id"])


def view_block(page: str) -> str:
    return page.split('data-testid="view-change"', 1)[1].split("</div>\n  </div>", 1)[0]


def test_review_pages_show_the_score_both_pictures_and_suggest_camera_moved(
        app, client, auth, config, db, scene_server, tmp_path):
    from tests.sync_helpers import add_token, run_sync, running_registry
    from tests.test_review_registry import CSRF, add_registry_users

    config.streamcheck.sample_seconds = 1.0
    config.streamcheck.keep_warm = False
    with database.transaction(db):
        from survey_node.db import cameras as camera_db

        camera_db.insert_cameras(db, [{"camera_id": "CAM-V", "site_name": "แยกทดสอบมุมกล้อง",
                                       "registered_lat": 13.75, "registered_lon": 100.5}])
    surveyor = {"name": "surveyor", "role": "surveyor"}
    sid = survey_svc.start_or_resume(db, config, camera_id="CAM-V", user=surveyor)["id"]
    survey_svc.set_position(db, config, sid, user=surveyor, source="gpsd", fix={
        "lat": 13.75, "lon": 100.5, "eph": 3.0, "fix_mode": 3, "sats_used": 9})
    survey_svc.add_photo(db, config, sid, user=surveyor, sha256=store_photo(db, config),
                         role="camera")
    survey_svc.save_answers(db, config, sid, user=surveyor,
                            checklist={"exists": "yes", "working": "yes"})
    auth.login("surveyor")

    first = visit(client, db, config, sid, scene_server.url("scene/day"))
    assert first["view_change"] is None and first["view_reference_sha256"] is None
    night = visit(client, db, config, sid, scene_server.url("scene/night"))
    assert night["view_reference_sha256"] == first["snapshot_sha256"]
    assert night["view_change"] < 0.3
    auth.logout()
    auth.login("supervisor")
    page = client.get(f"/review/{sid}").get_data(as_text=True)
    block = view_block(page)
    assert 'data-meaning="same"' in block and "มุมภาพเดียวกับภาพครั้งก่อน" in block
    assert 'data-testid="suggested-camera_moved"' not in page

    auth.logout()
    auth.login("surveyor")
    moved = visit(client, db, config, sid, scene_server.url("scene/moved"))
    assert moved["view_reference_sha256"] == night["snapshot_sha256"]
    assert moved["view_change"] > 0.8
    auth.logout()
    auth.login("supervisor")
    page = client.get(f"/review/{sid}").get_data(as_text=True)
    block = view_block(page)
    percent = round(moved["view_change"] * 100)
    assert f"มุมภาพเปลี่ยน {percent} จาก 100" in block
    assert "กล้องน่าจะถูกย้าย" in block and 'data-meaning="moved"' in block
    # both pictures side by side: the night visit's snapshot and today's
    shown = re.findall(r'src="/evidence/([0-9a-f]{64})[^"]*"', block) or \
        re.findall(r'src="[^"]*?([0-9a-f]{64})[^"]*"', block)
    assert shown == [night["snapshot_sha256"], moved["snapshot_sha256"]]
    for sha in shown:
        src = re.search(rf'src="([^"]*{sha}[^"]*)"', block).group(1)
        assert client.get(src).status_code == 200
    # suggested, not decided: the flag is marked but left for the reviewer to tick
    flag = page.split('data-testid="flag-camera_moved"', 1)
    assert 'data-testid="suggested-camera_moved"' in flag[1].split("</label>", 1)[0]
    assert "checked" not in flag[0].rsplit("<input", 1)[1]
    row = page.split('data-key="view_change"', 1)[1].split("</tr>", 1)[0]
    assert 'data-differs="1"' in row

    # The sheet and the hand-in file say the number and what it means.
    sheet = client.get(f"/exports/sheet/{sid}").get_data(as_text=True)
    line = sheet.split('data-testid="sheet-view-change"', 1)[1].split("</p>", 1)[0]
    assert f"มุมภาพเปลี่ยน {percent} จาก 100" in line and "กล้องน่าจะถูกย้าย" in line

    # On a portrait tablet the two pictures stand side by side, both decoded, and the
    # suggestion is next to the flag it suggests.
    require_system(CHROMIUM)
    with serving_app(config) as base, chromium() as browser:
        boss = logged_in_page(browser, base, "supervisor", PINS["supervisor"])
        boss.goto(f"{base}/review/{sid}")
        pair = boss.get_by_test_id("view-change")
        pair.wait_for()
        assert f"มุมภาพเปลี่ยน {percent} จาก 100" in pair.inner_text()
        boxes = []
        for testid in ("view-reference", "view-current"):
            img = boss.get_by_test_id(testid).locator("img")
            assert img.evaluate("i => i.decode().then(() => i.naturalWidth)") == 640
            boxes.append(img.bounding_box())
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"]
        assert boxes[1]["x"] + boxes[1]["width"] <= TABLET["width"]
        assert boss.get_by_test_id("suggested-camera_moved").is_visible()
        assert not boss.get_by_test_id("flag-camera_moved").is_checked()

    # Synced to a real registry: its reviewer sees the same score and both pictures.
    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        add_token(registry_dir, config)
        synced = run_sync(config, "--registry", url)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        add_registry_users(registry_dir)
        web = requests.Session()
        token = CSRF.search(web.get(f"{url}/review/login", timeout=10).text).group(1)
        web.post(f"{url}/review/login", timeout=10, data={
            "name": "supervisor", "pin": PINS["supervisor"], "csrf_token": token})
        remote = web.get(f"{url}/review/{sid}", timeout=10).text
        block = view_block(remote)
        assert f"มุมภาพเปลี่ยน {percent} จาก 100" in block and 'data-meaning="moved"' in block
        assert 'data-testid="suggested-camera_moved"' in remote
        for sha in (night["snapshot_sha256"], moved["snapshot_sha256"]):
            got = web.get(f"{url}/review/evidence/{sha}", timeout=10)
            assert got.status_code == 200 and got.content[:2] == b"\xff\xd8"
            assert f"/review/evidence/{sha}" in block
        hand_in = web.get(f"{url}/review/export.csv?status=all", timeout=10)
        header, values = list(csv.reader(io.StringIO(hand_in.content.decode("utf-8-sig"))))[:2]
        cells = dict(zip(header, values))
        assert cells["การเปลี่ยนของมุมภาพ (0 = มุมเดิม, 100 = มุมอื่น)"] == str(percent)
        assert "กล้องน่าจะถูกย้าย" in cells["ความหมายของการเปลี่ยนมุมภาพ"]
