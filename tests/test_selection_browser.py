"""The replacement flow as people do it: a surveyor on a tablet, then a supervisor."""

import threading

import pytest

from survey_node.db import selection as sel_db
from survey_node.selection import assign, sample
from tests.conftest import PINS, require_system
from tests.selection_fixtures import ADMIN, SUPERVISOR, seed_demo_cameras

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture
def live(config, users, db):
    from waitress.server import create_server

    from survey_node.app import create_app

    seed_demo_cameras(db, 120)
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="tablet", user=ADMIN)
    assign.assign_amphoe(db, "1101", "surveyor", user=SUPERVISOR)
    server = create_server(create_app(config), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", run
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def browser():
    require_system("/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, timeout=30_000)
        yield b
        b.close()


def login(browser, base, name):
    page = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
    page.set_default_timeout(10_000)
    page.goto(base + "/login")
    page.fill("#name", name)
    page.fill("#pin", PINS[name])
    page.click("form button.btn-primary")
    return page


def test_surveyor_reports_a_camera_and_supervisor_swaps_it(live, browser, db):
    base, run = live
    page = login(browser, base, "surveyor")
    mine = sel_db.rows_assignments(db, user_name="surveyor")
    # the surveyor's home page is their own list
    assert page.locator(".camera-item").count() == len(mine)
    first = page.locator(".camera-item").first
    camera_id = first.locator(".tag").first.inner_text()
    first.get_by_role("link", name="สำรวจไม่ได้?").click()
    page.get_by_label("รื้อถอนแล้ว").check()
    page.get_by_role("button", name="ขอทดแทนกล้อง").click()
    assert page.locator('[data-state="requested"]').count() == 1
    assert page.get_by_role("button", name="ยืนยัน").count() == 0  # not for a surveyor

    boss = login(browser, base, "supervisor")
    boss.goto(base + "/selection/replacements")
    boss.get_by_role("button", name="ยืนยัน").click()
    row = boss.locator('[data-state="confirmed"]')
    assert camera_id in row.inner_text() and "รื้อถอนแล้ว" in row.inner_text()
    new_id = sel_db.get_selection(db, run["id"], camera_id)["replaced_by"]
    assert new_id in row.inner_text()
    # the new camera is on the surveyor's list, the old one is not
    page.goto(base + "/")
    listed = page.locator(".camera-item .tag").all_inner_texts()
    assert new_id in listed and camera_id not in listed
