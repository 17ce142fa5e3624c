"""The survey page at tablet size: "find cameras on the cable" lists the cameras that answer
WS-Discovery on the node's wired port, and tapping one fills the stream finder.

The node's web server listens on 127.0.0.1 as usual, but its request threads run in the
node's network namespace (they are started from a thread that joined it), so the probe
goes out on the test's veth pair to the cabinet namespace, never on this machine's LAN."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from survey_node import db as database
from survey_node.db import cameras as camera_db
from tests.conftest import PINS, require_system
from tests.live import CHROMIUM, chromium, logged_in_page
from tests.netns import in_netns, ip, link  # noqa: F401 - link is a fixture
from tests.servers.wsd_camera import FakeCamera, Responder, hikvision_scopes

pytestmark = [pytest.mark.browser, pytest.mark.system]
SCREENSHOT = os.environ.get("WIRED_SCREENSHOT")  # a path, to look at the page


@pytest.fixture(scope="module")
def cabinet(link):
    ip("addr", "add", "169.254.40.1/16", "dev", link.node_if, namespace=link.node)
    for last in (2, 3):
        ip("addr", "add", f"169.254.40.{last}/16", "dev", link.cabinet_if, namespace=link.cabinet)
    cameras = [FakeCamera("169.254.40.2", hikvision_scopes(), endpoint="urn:uuid:hik-1"),
               # An OEM camera whose scopes name no maker: ONVIF on the port it gave.
               FakeCamera("169.254.40.3", ["onvif://www.onvif.org/type/video_encoder",
                                           "onvif://www.onvif.org/Profile/Streaming"],
                          xaddrs=["http://169.254.40.3:8080/onvif/device_service"],
                          endpoint="urn:uuid:oem-1")]
    responder = in_netns(link.cabinet, lambda: Responder(cameras, "169.254.40.2").start())
    yield link
    responder.stop()


@pytest.fixture
def node_server(cabinet, config, users):
    from waitress import create_server

    from survey_node.app import create_app

    config.wired.interface, config.wired.discover_timeout_s = cabinet.node_if, 1.0
    listening = socket.create_server(("127.0.0.1", 0))
    server = in_netns(cabinet.node, create_server, create_app(config), sockets=[listening],
                      threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    server.close()
    thread.join(timeout=5)


def test_surveyor_picks_a_camera_found_on_the_cable(node_server, db):
    require_system(CHROMIUM)
    from playwright.sync_api import expect

    with database.transaction(db):
        camera_db.insert_cameras(db, [{"camera_id": "CAM-CABLE", "site_name": "แยกศรีนครินทร์",
                                       "brand": "", "stream_url": "",
                                       "registered_lat": 13.66, "registered_lon": 100.64}])
    with chromium() as browser:
        page = logged_in_page(browser, node_server, "surveyor", PINS["surveyor"])
        page.goto(f"{node_server}/survey/CAM-CABLE")
        button = page.get_by_test_id("wired-discover")
        expect(button).to_have_text("ค้นหากล้องบนสายแลน")
        assert button.bounding_box()["height"] >= 44
        button.click()
        expect(page.get_by_test_id("wired-outcome")).to_have_text(
            "พบกล้อง 2 ตัวบนสายแลน: แตะเพื่อเลือกใช้", timeout=10_000)
        found = page.get_by_test_id("wired-camera")
        expect(found).to_have_count(2)
        hik = page.locator('[data-testid="wired-camera"][data-ip="169.254.40.2"]')
        expect(hik).to_have_text("169.254.40.2 — HIKVISION DS-2CD2143G2-IU")
        oem = page.locator('[data-testid="wired-camera"][data-ip="169.254.40.3"]')
        expect(oem).to_have_text("169.254.40.3 — ไม่ทราบยี่ห้อ")

        # Full-width tap targets, one under the other, inside the tablet's width.
        box, other = hik.bounding_box(), oem.bounding_box()
        assert box["height"] >= 44 and other["y"] >= box["y"] + box["height"]
        assert box["x"] + box["width"] <= 768
        if SCREENSHOT:
            page.screenshot(path=SCREENSHOT, full_page=True)
        hik.click()
        expect(page.get_by_test_id("find-host")).to_have_value("169.254.40.2")
        expect(page.get_by_test_id("find-brand")).to_have_value("hikvision")
        oem.click()
        expect(page.get_by_test_id("find-host")).to_have_value("169.254.40.3")
        expect(page.get_by_test_id("find-brand")).to_have_value("onvif")
        expect(page.get_by_test_id("find-port")).to_have_value("8080")
        assert page.outside_requests == []
