"""The surveyor's day on a tablet (768x1024), end to end against the demo node.

Replay GPS, the demo's local MJPEG streams and photo uploads from the tablet; the survey
is reloaded half-way (nothing may be lost) and a second surveyor cannot take it over.
"""

import io
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from PIL import Image

from . import phone_photos
from .conftest import require_system
from .live import CHROMIUM, free_port, new_tablet_page, running_node, tablet_browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    require_system(CHROMIUM)
    from click.testing import CliRunner

    from survey_node.cli import main

    root = tmp_path_factory.mktemp("day") / "node"
    env = {"SURVEY_NODE_DEMO__STREAMS_PORT": str(free_port()), "SURVEY_NODE_GPS__AVERAGE_S": "3",
           "SURVEY_NODE_GPS__MIN_FIXES": "2", "SURVEY_NODE_DEMO__REGISTRY_PORT": str(free_port())}
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--data-dir", str(root)], env=env)
    assert result.exit_code == 0, result.output
    pins = {u["name"]: u["pin"] for u in json.loads((root / "demo-users.json").read_text())}
    conn = sqlite3.connect(root / "survey.db")
    camera_id = conn.execute(
        "SELECT c.camera_id FROM cameras c JOIN assignments a ON a.camera_id = c.camera_id"
        " WHERE a.user_name = 'surveyor' AND c.stream_url LIKE '%/good.mjpg'"
        " AND c.registered_lat IS NOT NULL ORDER BY c.camera_id LIMIT 1").fetchone()[0]
    conn.close()
    with running_node(root, command="demo", env=env) as base:
        yield base, pins, camera_id, root, env


def _login(page, base, name, pin):
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#pin", pin)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")


def _jpeg(path, colour):
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1200), colour).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_a_camera_surveyed_from_the_tablet(demo, tmp_path):
    base, pins, camera_id, root, env = demo
    with tablet_browser() as page:
        _login(page, base, "surveyor", pins["surveyor"])
        # The worklist: my cameras, nearest first once the node has a fix.
        page.goto(f"{base}/worklist")
        page.wait_for_selector("[data-testid=gps-chip].ok", timeout=20_000)
        page.wait_for_function("document.querySelectorAll('#worklist .distance').length > 0"
                               " && document.querySelector('#worklist .distance').textContent.includes('ม.')")
        distances = page.locator("#worklist li").count()
        assert distances > 0

        page.goto(f"{base}/survey/{camera_id}")
        page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")
        # 1. Position from the node's GPS, averaged.
        page.click("[data-testid=fix-position]")
        page.wait_for_selector("[data-testid=distance]", timeout=20_000)
        if page.locator("#far-reason").is_visible():
            page.fill("[data-testid=position-reason]", "ทะเบียนลงพิกัดผิด กล้องอยู่อีกฝั่งถนน")
        # 2. Two photos from the tablet.
        page.set_input_files("[data-testid=photo-camera]", _jpeg(tmp_path / "cam.jpg", "gray"))
        page.wait_for_function("document.querySelectorAll('#thumbs figure').length === 1")
        # The pole from an iPhone: a HEIC, held upright (irot + EXIF Orientation 6).
        heic = tmp_path / "IMG_4031.HEIC"
        heic.write_bytes(phone_photos.iphone_heic(phone_photos.PORTRAIT, 6))
        assert ".heic" in page.get_attribute("[data-testid=photo-installation]", "accept")
        page.set_input_files("[data-testid=photo-installation]", str(heic))
        page.wait_for_function("document.querySelectorAll('#thumbs figure').length === 2")
        page.locator("#thumbs").scroll_into_view_if_needed()
        # Shown on the page, and standing upright (portrait), from the JPEG the node made.
        # (Looked up afresh each time: the list is redrawn whenever the survey changes.)
        page.wait_for_function(
            "() => { const img = document.querySelector('#thumbs figure[data-role=installation] img');"
            " return img && img.complete && img.naturalHeight > img.naturalWidth"
            " && img.naturalWidth > 0; }")
        assert page.locator("[data-testid=page-error]:visible").count() == 0
        # The same photo cut short (a dropped upload): one Thai line, nothing added.
        cut = tmp_path / "IMG_4032.HEIC"
        cut.write_bytes(heic.read_bytes()[:3000])
        page.set_input_files("[data-testid=photo-installation]", str(cut))
        # The line shows by the photo buttons (not at the top of a long page), in view.
        page.wait_for_selector("[data-testid=error-photos]:visible")
        error = page.inner_text("[data-testid=error-photos]")
        assert error.startswith("IMG_4032.HEIC ") and "ไม่ครบ" in error and "\n" not in error
        assert page.locator("#thumbs figure").count() == 2
        page.wait_for_function(
            "() => { const r = document.querySelector('[data-testid=error-photos]')"
            ".getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; }")
        assert page.locator(".section-error:visible, [data-testid=page-error]:visible").count() == 1
        # 3. The stream check against the demo's local stream.
        page.click("[data-testid=stream-check]")
        page.wait_for_selector("[data-testid=stream-verdict]", timeout=45_000)
        assert page.locator("#stream-result img.snapshot").count() == 1
        # 4. Condition and notes; then a reload loses nothing.
        page.click("[data-testid=check-exists-yes]")
        page.click("[data-testid=check-working-yes]")
        page.fill("[data-testid=notes]", "ป้ายหน่วยงานซีดจาง")
        page.wait_for_function("document.querySelector('[data-testid=save-status]').textContent.includes('บันทึกแล้ว')")
        page.locator("[data-testid=notes]").blur()
        page.wait_for_timeout(1500)
        page.reload()
        page.wait_for_function("document.querySelectorAll('#thumbs figure').length === 2")
        assert page.input_value("[data-testid=notes]") == "ป้ายหน่วยงานซีดจาง"
        assert page.get_attribute("[data-testid=check-exists-yes]", "aria-checked") == "true"
        assert page.locator("[data-testid=stream-verdict]").count() == 1

        # A second surveyor cannot take over a camera assigned to the first.
        other = new_tablet_page(page.context.browser)
        _login(other, base, "surveyor2", pins["surveyor2"])
        other.goto(f"{base}/survey/{camera_id}")
        other.wait_for_selector("[data-testid=page-error]:visible")
        assert "มอบหมายให้ surveyor แล้ว" in other.inner_text("[data-testid=page-error]")
        assert other.locator("[data-testid=complete]").is_disabled()

        # 5. Complete, and the camera shows as done in the worklist.
        page.click("[data-testid=complete]")
        page.wait_for_selector("[data-testid=state-badge]:has-text('สำรวจแล้ว')")
        done = page.evaluate("fetch('/api/v1/worklist?state=complete').then(r => r.json())")
        assert [i["camera_id"] for i in done["items"]] == [camera_id]
        page.goto(f"{base}/worklist")
        page.select_option("select[name=state]", "complete")
        page.wait_for_selector(f"#worklist li[data-camera='{camera_id}'] .badge-complete")
        assert page.outside_requests == []

    # Back at the office: the demo node syncs to the demo's own central registry.
    synced = subprocess.run([sys.executable, "-m", "survey_node", "sync", "--data-dir", str(root),
                             "--json"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **env})
    report = json.loads(synced.stdout)
    assert report["surveys_acknowledged"] == 1 and report["errors"] == [], synced.stdout
    assert report["evidence_sent"] == 3  # two photos and the stream check's snapshot


def test_a_camera_found_on_site_is_reported_and_surveyed(demo):
    base, pins, _camera_id, _root, _env = demo
    with tablet_browser() as page:
        _login(page, base, "surveyor2", pins["surveyor2"])
        page.goto(f"{base}/worklist")
        page.click("[data-testid=report-new-camera]")
        page.fill("#site_name", "ปากซอยวัดใหม่")
        page.fill("#description", "กล้องโดมบนเสาไฟฟ้า ไม่มีป้าย")
        page.click("[data-testid=new-camera-submit]")
        page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")
        assert "ปากซอยวัดใหม่" in page.inner_text("h1")
        page.click("[data-testid=check-exists-yes]")
        page.wait_for_function("document.querySelector('[data-testid=save-status]').textContent.includes('บันทึกแล้ว')")
        page.reload()
        page.wait_for_selector("[data-testid=state-badge]")
        assert page.get_attribute("[data-testid=check-exists-yes]", "aria-checked") == "true"
        assert page.locator("[data-testid=stream-check]").count() == 0
