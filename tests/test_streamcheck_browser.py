"""A surveyor checks a camera's stream from the tablet page (Chromium at 768x1024)."""

import os
import re
import threading

import pytest

from survey_node import db as database
from survey_node.db import cameras as camera_db
from tests.conftest import PINS, require_system
from tests.streams import free_port, mjpeg_server  # noqa: F401 - fixture

SCREENSHOT = os.environ.get("STREAMCHECK_SCREENSHOT")  # a path, to look at the page
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def live_server(app):
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=free_port(), threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.mark.browser
def test_surveyor_checks_a_stream_and_sees_verdict_and_snapshot(
        live_server, db, config, mjpeg_server):
    require_system("/usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    config.streamcheck.sample_seconds = 1.0
    with database.transaction(db):
        camera_db.insert_cameras(db, [
            {"camera_id": "CAM-OK", "site_name": "แยกปากน้ำ",
             "stream_url": mjpeg_server.url("good", user="viewer", password="Hidden-99")},
            {"camera_id": "CAM-BLACK", "site_name": "ตลาดสด",
             "stream_url": mjpeg_server.url("black")},
        ])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 768, "height": 1024})
            page.goto(f"{live_server}/login")
            page.fill("input[name=name]", "surveyor")
            page.fill("input[name=pin]", PINS["surveyor"])
            page.click("form:has(input[name=pin]) button[type=submit]")
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
        finally:
            browser.close()
