"""The survey page guides a surveyor with one hand free (tablet 768x1024 and phone 390x844).

Errors show by the control that failed and in view, one at a time; the to-do panel is one
line and never covers the position controls; "node unreachable" is told from "no GPS"; with
no GPS the page says so in plain Thai and offers to type the position; after completing, the
next camera is one tap away.
"""

from __future__ import annotations

import sqlite3

import pytest

from .conftest import require_system
from .live import (CHROMIUM, TABLET, assigned_cameras, free_port, log_in, make_demo_data,
                   running_node, tablet_browser)

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    require_system(CHROMIUM)
    root = tmp_path_factory.mktemp("guides") / "node"
    env, pins = make_demo_data(root)
    return root, pins, assigned_cameras(root, "surveyor", 4), env


def _open(page, base, pins, camera_id):
    log_in(page, base, "surveyor", pins["surveyor"])
    page.goto(f"{base}/survey/{camera_id}")
    page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")


def _in_view(page, selector):
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }", selector)


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_errors_show_by_their_control_and_the_todo_panel_stays_small(demo_data, viewport):
    root, pins, cameras, env = demo_data
    camera_id = cameras[0] if viewport is TABLET else cameras[1]
    with running_node(root, command="demo", env=env) as base, tablet_browser(viewport) as page:
        _open(page, base, pins, camera_id)
        # The sticky to-do panel: one line and the button, not a list over the controls.
        panel = page.locator(".finish").bounding_box()
        assert panel["height"] < viewport["height"] * 0.2, panel
        # It counts what is left and says there is more than the first ("และอีก 4 ข้อ").
        summary = page.inner_text("[data-testid=missing-details] summary")
        assert "ยังต้องทำ (" in summary and "และอีก" in summary, summary
        page.evaluate("document.querySelector('[data-testid=fix-position]')"
                      ".scrollIntoView({block: 'center'})")
        button = page.locator("[data-testid=fix-position]").bounding_box()
        panel = page.locator(".finish").bounding_box()
        assert button["y"] + button["height"] <= panel["y"], (button, panel)
        # Completing too early: the line is by the complete button, in view.
        page.click("[data-testid=complete]")
        page.wait_for_selector("[data-testid=error-finish]:visible")
        assert "ยังไม่ครบ" in page.inner_text("[data-testid=error-finish]")
        assert _in_view(page, "[data-testid=error-finish]")
        # A typed position without a reason: the line moves to the position section, in
        # view, and the earlier one is gone.
        page.click("#manual-position summary")
        page.fill("#manual-lat", "13.6")
        page.fill("#manual-lon", "100.6")
        page.click("#manual-save")
        page.wait_for_selector("[data-testid=error-position]:visible")
        page.wait_for_function("() => { const r = document.querySelector("
                               "'[data-testid=error-position]').getBoundingClientRect();"
                               " return r.top >= 0 && r.bottom <= window.innerHeight; }")
        assert "เหตุผล" in page.inner_text("[data-testid=error-position]")
        # The reason is said once, by the section; the status line only says nothing was saved.
        assert "เหตุผล" not in page.inner_text("[data-testid=save-status]")
        assert page.locator(".section-error:visible, [data-testid=page-error]:visible").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_node_unreachable_is_not_no_gps_and_the_next_camera_follows(demo_data):
    root, pins, cameras, env = demo_data
    with running_node(root, command="demo", env=env) as base, tablet_browser() as page:
        _open(page, base, pins, cameras[2])
        page.wait_for_selector("[data-testid=gps-live].ok", timeout=20_000)
        page.context.set_offline(True)
        page.wait_for_selector("[data-testid=offline-banner]:visible", timeout=10_000)
        assert page.inner_text("[data-testid=gps-live]") == "ติดต่อเครื่องสำรวจไม่ได้"
        assert "งานของคุณยังเก็บไว้" in page.inner_text("[data-testid=offline-banner]")
        page.context.set_offline(False)
        page.wait_for_selector("[data-testid=offline-banner]", state="hidden", timeout=10_000)
        # Survey it quickly (a typed position with its reason is enough here), complete, and
        # the nearest camera still to do is offered.
        page.click("#manual-position summary")
        page.fill("#manual-lat", "13.6")
        page.fill("#manual-lon", "100.6")
        page.fill("#manual-reason", "ใต้หลังคา ไม่มีสัญญาณ GPS")
        page.click("#manual-save")
        page.wait_for_selector("[data-testid=position-result]:has-text('13.6')")
        page.set_input_files("[data-testid=photo-camera]", _jpeg(root.parent / "c.jpg"))
        page.wait_for_selector("#thumbs figure")
        # A second file that is not a photo is refused by the photo buttons ...
        not_a_photo = root.parent / "notes.jpg"
        not_a_photo.write_text("not a photo", encoding="utf-8")
        page.set_input_files("[data-testid=photo-camera]", str(not_a_photo))
        page.wait_for_selector("[data-testid=error-photos]:visible", timeout=15_000)
        page.click("[data-testid=check-exists-yes]")
        page.click("[data-testid=check-working-yes]")
        page.wait_for_selector("[data-testid=save-status]:has-text('บันทึกแล้ว')")
        missing = page.inner_text("[data-testid=missing]")
        if "ตรวจสตรีม" in missing:  # the stream check is still to do
            page.click("[data-testid=stream-check]")
            page.wait_for_selector("[data-testid=stream-verdict]", timeout=45_000)
        page.click("[data-testid=complete]")
        page.wait_for_selector("[data-testid=next-camera]:visible", timeout=15_000)
        assert "กล้องถัดไป" in page.inner_text("[data-testid=next-camera]")
        # ... and once the survey is complete that refusal is not left standing.
        assert not page.locator(".section-error:visible, [data-testid=page-error]:visible").count()
        page.click("[data-testid=next-camera]")
        page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")
        assert cameras[2] not in page.url


def test_no_gps_is_said_in_plain_thai_with_a_way_to_type_the_position(demo_data, tmp_path):
    root, pins, cameras, env = demo_data
    # `serve` uses gpsd; nothing listens on this port (gpsd is not running).
    gps_env = {**env, "SURVEY_NODE_GPS__PORT": str(free_port())}
    with running_node(root, env=gps_env) as base, tablet_browser(PHONE) as page:
        _open(page, base, pins, cameras[3])
        page.wait_for_selector("[data-testid=type-position]:visible", timeout=20_000)
        chip = page.inner_text("[data-testid=gps-live]")
        assert "GPS ของเครื่องสำรวจไม่ทำงาน" in chip and "พิมพ์พิกัดเอง" in chip
        assert "gpsd" not in chip and "127.0.0.1" not in chip
        page.click("[data-testid=type-position]")
        page.wait_for_selector("#manual-lat:visible")
        assert page.evaluate("document.activeElement.id") == "manual-lat"


def _jpeg(path):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (90, 120, 90)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_a_photo_taken_without_the_node_waits_in_the_tablet_and_is_sent_later(demo_data):
    root, pins, cameras, env = demo_data
    camera_id = cameras[1]
    with running_node(root, command="demo", env=env) as base, tablet_browser() as page:
        _open(page, base, pins, camera_id)
        page.wait_for_selector("[data-testid=gps-live].ok", timeout=20_000)
        page.context.set_offline(True)
        page.set_input_files("[data-testid=photo-installation]", _jpeg(root.parent / "pole.jpg"))
        # Kept in the tablet and shown as waiting; the banner says the node is not there.
        page.wait_for_selector("[data-testid=photo-waiting]")
        assert "รอส่ง" in page.inner_text("[data-testid=photo-waiting]")
        page.wait_for_selector("[data-testid=offline-banner]:visible")
        assert page.locator("#thumbs figure").count() == 0
        # The page is closed while still offline; the photo stays in the tablet.
        context = page.context
        page.close()
        context.set_offline(False)
        again = context.new_page()  # the same tablet, still logged in
        again.goto(f"{base}/survey/{camera_id}")
        again.wait_for_selector("#thumbs figure[data-role=installation]", timeout=30_000)
        # The thumb is drawn when the node has the photo attached, and the waiting copy is
        # dropped from the tablet's outbox just after (a moment with both on a busy machine):
        # it must go, not stay beside the sent one.
        again.wait_for_selector("[data-testid=photo-waiting]", state="detached", timeout=10_000)
    conn = sqlite3.connect(root / "survey.db")
    rows = conn.execute(
        "SELECT e.lat, e.taken_at FROM survey_evidence se JOIN evidence e ON e.sha256 = se.sha256"
        " JOIN surveys s ON s.id = se.survey_id WHERE s.camera_id = ? AND se.role = 'installation'",
        [camera_id]).fetchall()
    conn.close()
    assert len(rows) == 1  # sent once, attached once


def test_a_reload_without_the_node_shows_the_survey_and_its_waiting_photo(demo_data):
    """The offline shell (a service worker: the test's 127.0.0.1 is a secure origin, as an
    https node would be): photo taken offline, page reloaded offline, node back: the photo
    is on the node exactly once."""
    root, pins, cameras, env = demo_data
    camera_id = cameras[0]
    with running_node(root, command="demo", env=env) as base, tablet_browser() as page:
        _open(page, base, pins, camera_id)
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
        page.reload()  # this load goes through the worker: the shell is cached
        page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")
        page.wait_for_selector("[data-testid=gps-live].ok", timeout=20_000)
        page.context.set_offline(True)
        page.set_input_files("[data-testid=photo-label]", _jpeg(root.parent / "label.jpg"))
        page.wait_for_selector("[data-testid=photo-waiting]")
        page.reload()
        page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")
        page.wait_for_selector("[data-testid=photo-waiting]")
        page.wait_for_selector("[data-testid=offline-banner]:visible")
        page.context.set_offline(False)
        page.wait_for_selector("#thumbs figure[data-role=label]", timeout=30_000)
        page.wait_for_selector("[data-testid=photo-waiting]", state="detached", timeout=10_000)
        # Logging out forgets the kept pages: the next person cannot read this survey offline.
        kept = ("async () => { const urls = []; for (const n of await caches.keys()) {"
                " for (const r of await (await caches.open(n)).keys()) urls.push(r.url); }"
                " return urls.filter((u) => u.includes('/survey/') || u.includes('/surveys/')); }")
        assert page.evaluate(kept)
        page.click("#logout-form button")
        page.wait_for_url(f"{base}/login*")
        assert page.evaluate(kept) == []
    conn = sqlite3.connect(root / "survey.db")
    count = conn.execute(
        "SELECT count(*) FROM survey_evidence se JOIN surveys s ON s.id = se.survey_id"
        " WHERE s.camera_id = ? AND se.role = 'label'", [camera_id]).fetchone()[0]
    conn.close()
    assert count == 1
