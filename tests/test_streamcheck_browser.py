"""A surveyor checks a camera's stream from the tablet page (Chromium at 768x1024)."""

import os
import re

import pytest

from survey_node import db as database
from survey_node.db import cameras as camera_db
from tests.conftest import PINS, require_system
from tests.live import CHROMIUM, chromium, logged_in_page, serving_app
from tests.streams import mjpeg_server  # noqa: F401 - fixture

SCREENSHOT = os.environ.get("STREAMCHECK_SCREENSHOT")  # a path, to look at the page


@pytest.fixture
def live_server(config, users):
    with serving_app(config) as base:
        yield base


@pytest.mark.browser
def test_surveyor_checks_a_stream_and_sees_verdict_and_snapshot(
        live_server, db, config, mjpeg_server):
    require_system(CHROMIUM)
    from playwright.sync_api import expect

    config.streamcheck.sample_seconds = 1.0
    with database.transaction(db):
        camera_db.insert_cameras(db, [
            {"camera_id": "CAM-OK", "site_name": "แยกปากน้ำ",
             "stream_url": mjpeg_server.url("good", user="viewer", password="Hidden-99")},
            {"camera_id": "CAM-BLACK", "site_name": "ตลาดสด",
             "stream_url": mjpeg_server.url("black")},
        ])
    with chromium() as browser:
        page = logged_in_page(browser, live_server, "surveyor", PINS["surveyor"])
        page.goto(f"{live_server}/?show=all")  # this surveyor has no assignments
        page.click("[data-testid=stream-check-link] >> nth=0")  # from the camera list
        expect(page).to_have_url(re.compile(r"/cameras/CAM-[A-Z]+/stream-check$"))
        page.goto(f"{live_server}/cameras/CAM-OK/stream-check")
        button = page.get_by_test_id("start-check")
        assert button.bounding_box()["height"] >= 44
        button.click()
        result = page.get_by_test_id("check-result")
        expect(result).to_be_visible(timeout=20_000)
        expect(result).to_contain_text("ใช้งานได้")  # "works", in Thai
        expect(page.locator(".sc-snapshot")).to_be_visible()
        assert "Hidden-99" not in page.content()
        page.reload()
        expect(page.get_by_test_id("check-history")).to_contain_text("viewer:***@")
        if SCREENSHOT:
            page.screenshot(path=SCREENSHOT, full_page=True)
