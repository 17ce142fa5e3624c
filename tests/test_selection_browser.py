"""The replacement flow as people do it: a surveyor on a tablet, then a supervisor."""

import pytest

from survey_node.db import selection as sel_db
from survey_node.selection import assign, sample
from tests.conftest import PINS, require_system
from tests.live import CHROMIUM, chromium, logged_in_page, serving_app
from tests.selection_fixtures import ADMIN, SUPERVISOR, seed_demo_cameras

pytestmark = pytest.mark.browser


@pytest.fixture
def live(config, users, db):
    seed_demo_cameras(db, 120)
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="tablet", user=ADMIN)
    assign.assign_amphoe(db, "1101", "surveyor", user=SUPERVISOR)
    with serving_app(config) as base:
        yield base, run


@pytest.fixture
def browser():
    require_system(CHROMIUM)
    with chromium() as b:
        yield b


def login(browser, base, name):
    return logged_in_page(browser, base, name, PINS[name])


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
