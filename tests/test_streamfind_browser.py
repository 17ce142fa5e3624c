"""A surveyor finds the stream of a camera the registry has no address for, from the
tablet page (Chromium at 768x1024), and the reviewer sees it as a correction."""

import os

import pytest

from survey_node import db as database
from survey_node.db import cameras as camera_db
from survey_node.db import surveys as survey_db
from tests.conftest import PINS, require_system
from tests.live import CHROMIUM, chromium, logged_in_page, new_tablet_page, serving_app
from tests.streams import RTSP_PASSWORD, RTSP_USER, camera_server  # noqa: F401 - fixture

SCREENSHOT = os.environ.get("STREAMFIND_SCREENSHOT")  # a path, to look at the page
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(config, users):
    with serving_app(config) as base:
        yield base


@pytest.mark.browser
def test_surveyor_finds_the_stream_by_brand_and_the_review_shows_the_correction(
        live_server, db, config, camera_server):
    require_system(CHROMIUM)
    from playwright.sync_api import expect

    with database.transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": "CAM-NOURL", "site_name": "แยกบางนา",
                                       "brand": "HIKVISION", "stream_url": "",
                                       "registered_lat": 13.67, "registered_lon": 100.6}])
    with chromium() as browser:
        page = logged_in_page(browser, live_server, "surveyor", PINS["surveyor"])
        page.goto(f"{live_server}/survey/CAM-NOURL")
        expect(page.get_by_test_id("stream-find")).to_have_attribute("open", "")
        expect(page.get_by_test_id("stream-check")).to_be_hidden()
        # The registry's "HIKVISION" picked the maker already.
        expect(page.get_by_test_id("find-brand")).to_have_value("hikvision")
        page.get_by_test_id("find-host").fill("127.0.0.1")
        page.get_by_test_id("find-port").fill(str(camera_server.port))
        page.get_by_test_id("find-user").fill(RTSP_USER)
        page.get_by_test_id("find-password").fill("wrong-pass")
        start = page.get_by_test_id("find-start")
        assert start.bounding_box()["height"] >= 44
        start.click()
        expect(page.get_by_test_id("find-outcome")).to_contain_text("ไม่พบสตรีม",
                                                                    timeout=30_000)
        expect(page.get_by_test_id("find-tries")).to_contain_text("รหัสผ่านผิด")

        page.get_by_test_id("find-password").fill(RTSP_PASSWORD)
        start.click()
        outcome = page.get_by_test_id("find-outcome")
        expect(outcome).to_contain_text("พบสตรีม: rtsp://surveyor:***@127.0.0.1",
                                        timeout=60_000)
        expect(outcome).to_contain_text("/Streaming/Channels/101")
        tries = page.get_by_test_id("find-tries").locator("li")
        expect(tries).to_have_count(1)
        expect(tries.first).to_have_text(
            camera_server.url("Streaming/Channels/101", user=RTSP_USER, password="***")
            + " — ใช้งานได้")
        expect(page.get_by_test_id("stream-verdict")).to_contain_text("ใช้งานได้")
        expect(page.get_by_test_id("found-stream")).to_contain_text("surveyor:***@")
        expect(page.get_by_test_id("stream-check")).to_be_visible()
        expect(page.locator("#stream-result img.snapshot")).to_be_visible()
        assert RTSP_PASSWORD not in page.content()
        assert page.get_by_test_id("find-password").input_value() == ""
        if SCREENSHOT:
            page.screenshot(path=SCREENSHOT, full_page=True)
        page.reload()  # the found address is the survey's now, not the page's
        expect(page.get_by_test_id("stream-check")).to_be_visible()
        expect(page.get_by_test_id("found-stream")).to_contain_text("surveyor:***@")
        assert page.outside_requests == []

        phone = new_tablet_page(browser, PHONE)
        phone.goto(f"{live_server}/login")
        phone.fill("#name", "surveyor")
        phone.fill("#pin", PINS["surveyor"])
        phone.click("form button.btn-primary")
        phone.wait_for_load_state()
        phone.goto(f"{live_server}/survey/CAM-NOURL")
        phone.get_by_test_id("stream-find").locator("summary").click()
        expect(phone.get_by_test_id("find-host")).to_be_visible()
        for testid in ("find-host", "find-password", "find-brand", "find-start"):
            box = phone.get_by_test_id(testid).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], testid
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        survey = survey_db.get_open_survey_for_camera(db, "CAM-NOURL")
        reviewer = logged_in_page(browser, live_server, "supervisor", PINS["supervisor"])
        reviewer.goto(f"{live_server}/review/{survey['id']}")
        row = reviewer.locator('tr[data-key="stream_address"]')
        expect(row).to_have_attribute("data-differs", "1")
        expect(row.get_by_test_id("found-stream-url")).to_have_text(
            camera_server.url("Streaming/Channels/101", user=RTSP_USER, password="***"))
        assert RTSP_PASSWORD not in reviewer.content()


@pytest.mark.browser
def test_surveyor_asks_the_camera_over_onvif_and_sees_who_it_says_it_is(
        live_server, db, config, camera_server):
    require_system(CHROMIUM)
    from playwright.sync_api import expect

    from tests.servers.onvif_device import Identity, OnvifDevice

    with database.transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": "CAM-ONVIF", "site_name": "ตลาดเช้า",
                                       "brand": "", "stream_url": ""}])
    base = f"rtsp://127.0.0.1:{camera_server.port}"
    with OnvifDevice(RTSP_USER, RTSP_PASSWORD, identity=Identity(clock_offset_s=-420),
                     stream_uris={"Profile_1": f"{base}/Streaming/Channels/101",
                                  "Profile_2": f"{base}/Streaming/Channels/102"}) as device, \
            chromium() as browser:
        page = logged_in_page(browser, live_server, "surveyor", PINS["surveyor"])
        page.goto(f"{live_server}/survey/CAM-ONVIF")
        expect(page.get_by_test_id("find-brand")).to_have_value("generic")  # no brand known
        page.get_by_test_id("find-brand").select_option("onvif")
        page.get_by_test_id("find-host").fill("127.0.0.1")
        page.get_by_test_id("find-port").fill(str(device.port))
        page.get_by_test_id("find-user").fill(RTSP_USER)
        page.get_by_test_id("find-password").fill(RTSP_PASSWORD)
        page.get_by_test_id("find-start").click()
        expect(page.get_by_test_id("find-outcome")).to_contain_text(
            "/Streaming/Channels/101", timeout=60_000)
        expect(page.get_by_test_id("onvif-identity")).to_contain_text(
            "HIKVISION DS-2CD2143G2-IU")
        expect(page.get_by_test_id("clock-drift")).to_contain_text("-42")
        expect(page.get_by_test_id("stream-verdict")).to_contain_text("ใช้งานได้")
        assert RTSP_PASSWORD not in page.content()


@pytest.mark.browser
def test_surveyor_types_the_stream_address_and_its_password_shows_nowhere(
        live_server, db, config, camera_server):
    require_system(CHROMIUM)
    from playwright.sync_api import expect

    with database.transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": "CAM-TYPED", "site_name": "หน้าวัด",
                                       "brand": "", "stream_url": ""}])
    typed = camera_server.url("Streaming/Channels/102", user=RTSP_USER, password=RTSP_PASSWORD)
    masked = camera_server.url("Streaming/Channels/102", user=RTSP_USER, password="***")
    with chromium() as browser:
        page = logged_in_page(browser, live_server, "surveyor", PINS["surveyor"])
        page.goto(f"{live_server}/survey/CAM-TYPED")
        # A typed address is checked by the same rules as any: file: is refused, in Thai,
        # next to the address, and nothing is tried.
        page.get_by_test_id("find-url").fill("file:///etc/passwd")
        page.get_by_test_id("find-url-start").click()
        error = page.get_by_test_id("error-stream-find")
        expect(error).to_be_visible()
        assert "ไม่อนุญาตให้ใช้ URL แบบ 'file'" in error.inner_text()
        assert error.inner_text().count("\n") == 0
        assert page.get_by_test_id("find-tries").locator("li").count() == 0
        page.get_by_test_id("find-url").fill(typed)
        button = page.get_by_test_id("find-url-start")
        assert button.bounding_box()["height"] >= 44
        button.click()
        outcome = page.get_by_test_id("find-outcome")
        expect(outcome).to_contain_text(f"พบสตรีม: {masked}", timeout=60_000)
        expect(page.get_by_test_id("stream-verdict")).to_contain_text("ใช้งานได้")
        expect(page.get_by_test_id("found-stream")).to_contain_text("surveyor:***@")
        assert page.get_by_test_id("find-url").input_value() == ""
        assert RTSP_PASSWORD not in page.content()
        page.reload()  # kept with the survey: its check button now checks that address
        expect(page.get_by_test_id("stream-check")).to_be_visible()
        assert RTSP_PASSWORD not in page.content()
    survey = survey_db.get_open_survey_for_camera(db, "CAM-TYPED")
    assert survey["found_stream_url"] == masked and survey["found_stream_via"] == "typed"
