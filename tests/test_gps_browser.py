"""Fix position on the tablet (768x1024) with a real receiver's kind of NMEA.

The demo plays a recorded walk through its replay backend, so it never shows what a
surveyor meets with the usual cheap USB dongle: 1 Hz NMEA, HDOP 0.9, no GST. Here the demo's
data is served by `survey-node serve` with the gpsd backend, fed by gpsfake.
"""

from __future__ import annotations

import sqlite3

import pytest

from .conftest import require_system
from .gpsfake import SAMUT_PRAKAN, epochs, gpsfake
from .live import (CHROMIUM, assigned_cameras, log_in, make_demo_data, running_node,
                   tablet_browser)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    require_system(CHROMIUM, "gpsfake", "gpsd")
    root = tmp_path_factory.mktemp("gps-tablet") / "node"
    _env, pins = make_demo_data(root)
    return root, pins, assigned_cameras(root, "surveyor", 2)


def _open_survey(page, base, pins, camera_id):
    log_in(page, base, "surveyor", pins["surveyor"])
    page.goto(f"{base}/survey/{camera_id}")
    page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")


def test_a_dongle_without_gst_fixes_position_with_the_default_config(demo_data, tmp_path):
    root, pins, cameras = demo_data
    log = epochs(120, lat=SAMUT_PRAKAN[0], lon=SAMUT_PRAKAN[1])  # HDOP 0.9, 8 satellites
    with gpsfake(tmp_path, log) as port, \
            running_node(root, env={"SURVEY_NODE_GPS__PORT": str(port)}) as base, \
            tablet_browser() as page:
        _open_survey(page, base, pins, cameras[0])
        page.wait_for_selector("#gps-live:has-text('HDOP 0.9')", timeout=30_000)
        page.click("[data-testid=fix-position]")
        # Default config: 10 s of averaging, 5 good fixes needed.
        page.wait_for_selector("#position-result:has-text('ค่าคลาดเคลื่อนประมาณจาก HDOP 0.9')",
                               timeout=45_000)
        shown = page.inner_text("#position-result")
        assert page.locator("[data-testid=distance]").count() == 1
        assert page.locator("[data-testid=page-error]:visible").count() == 0
        assert page.outside_requests == []
    conn = sqlite3.connect(root / "survey.db")
    row = conn.execute("SELECT position_source, eph_source, samples FROM surveys s"
                       " WHERE camera_id = ?", [cameras[0]]).fetchone()
    conn.close()
    assert row[0] == "gpsd" and row[1] == "estimated" and row[2] >= 5, (row, shown)


def test_a_poor_fix_is_refused_on_the_tablet_with_the_reason(demo_data, tmp_path):
    root, pins, cameras = demo_data
    poor = epochs(120, hdop=4.0, mode=2, sats=(2, 5, 12, 13))
    env = {"SURVEY_NODE_GPS__EXTRA_WAIT_S": "2", "SURVEY_NODE_GPS__AVERAGE_S": "3"}
    with gpsfake(tmp_path, poor) as port, \
            running_node(root, env={**env, "SURVEY_NODE_GPS__PORT": str(port)}) as base, \
            tablet_browser() as page:
        _open_survey(page, base, pins, cameras[1])
        page.wait_for_selector("#gps-live:has-text('HDOP 4.0')", timeout=30_000)
        page.click("[data-testid=fix-position]")
        # While it waits, the line says what for; then it gives up, saying why, in Thai.
        page.wait_for_selector("#position-result:has-text('2 มิติ')", timeout=20_000)
        page.wait_for_selector("[data-testid=fix-position]:not([disabled])", timeout=30_000)
        refused = page.inner_text("#position-result")
        assert "0 จาก 5" in refused and "ได้ตำแหน่งเพียง 2 มิติ" in refused, refused
        assert "\n" not in refused
    conn = sqlite3.connect(root / "survey.db")
    row = conn.execute("SELECT lat FROM surveys WHERE camera_id = ?", [cameras[1]]).fetchone()
    conn.close()
    assert row is None or row[0] is None  # nothing stored as a position
