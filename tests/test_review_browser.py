"""A review as people do it: a supervisor compares and sends a camera back; the surveyor sees why."""

import pytest

from survey_node.selection import assign

from .conftest import PINS, require_system
from .live import CHROMIUM, chromium, logged_in_page, open_menu, serving_app
from .review_fixtures import SUPERVISOR, complete_survey, seed_cameras, select_all

pytestmark = pytest.mark.browser


@pytest.fixture
def live(config, users, db):
    ids = seed_cameras(db)
    select_all(db)
    assign.assign_cameras(db, ids, "surveyor", user=SUPERVISOR)
    moved = complete_survey(db, config, ids[0], offset=0.001)
    with serving_app(config) as base:
        yield base, moved


@pytest.fixture
def browser():
    require_system(CHROMIUM)
    with chromium() as b:
        yield b


def login(browser, base, name):
    return logged_in_page(browser, base, name, PINS[name])


def test_supervisor_sends_back_and_the_surveyor_sees_the_instruction(live, browser):
    base, moved = live
    boss = login(browser, base, "supervisor")
    errors = []
    boss.on("pageerror", lambda exc: errors.append(str(exc)))
    open_menu(boss)  # a portrait tablet folds a supervisor's menu behind its button
    boss.get_by_role("link", name="ตรวจสอบ").click()
    queue = boss.get_by_test_id("review-queue")
    assert "NMA-001" in queue.inner_text()
    queue.get_by_role("link", name="แยกหัวทะเล").click()
    # count() and is_visible() do not wait: wait for what the page's script draws first.
    boss.locator(".accuracy-circle").wait_for()
    # Side by side: the moved position is highlighted, the map shows both points and the circle.
    differs = boss.locator('[data-testid="compare"] tr[data-differs]')
    assert "ตำแหน่ง" in differs.first.inner_text() or differs.count() >= 1
    assert boss.locator('[data-key="position"][data-differs]').count() == 1
    assert errors == []
    assert boss.locator(".pos-registered").count() == 1
    assert boss.locator(".pos-surveyed").count() == 1
    assert boss.locator(".accuracy-circle").count() == 1
    assert "1920×1080" in boss.get_by_test_id("stream-metrics").inner_text()
    # On a phone the long labels wrap: each value keeps a readable share of the row.
    size = boss.viewport_size
    boss.set_viewport_size({"width": 390, "height": 844})
    narrowest = boss.get_by_test_id("stream-metrics").evaluate(
        "dl => Math.min(...[...dl.querySelectorAll('dd')].map("
        "dd => dd.getBoundingClientRect().width / dl.getBoundingClientRect().width))")
    assert narrowest >= 0.45, narrowest
    boss.set_viewport_size(size)
    assert boss.get_by_test_id("gps-source").inner_text() == "GPS ของเครื่องสำรวจ"  # not "gpsd"
    photo = boss.locator('.review-photo[data-role="camera"]')
    # Captioned in the supervisor's words, as the surveyor's buttons named it, not "camera".
    assert photo.locator("figcaption").inner_text().startswith("ตัวกล้อง ·")
    assert photo.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)") == 320
    photo.locator("img").click()
    assert "zoomed" in photo.get_attribute("class")
    # A reason is needed to send it back.
    boss.get_by_test_id("decide-resurvey").click()
    boss.get_by_test_id("review-error").wait_for()  # the page comes back with the problem
    assert boss.get_by_test_id("review-error").is_visible()
    boss.get_by_test_id("flag-camera_moved").check()
    boss.get_by_test_id("decision-reason").fill("ถ่ายรูปเสาใหม่ให้เห็นป้ายหน่วยงาน")
    boss.get_by_test_id("decide-resurvey").click()
    assert "บันทึกผลการตรวจแล้ว" in boss.locator(".notice").inner_text()
    assert "NMA-001" not in boss.get_by_test_id("review-queue").inner_text()

    field = login(browser, base, "surveyor")
    open_menu(field)
    field.get_by_role("link", name="งานของฉัน").first.click()
    note = field.get_by_test_id("worklist-review-note")
    note.wait_for()
    assert "ถ่ายรูปเสาใหม่ให้เห็นป้ายหน่วยงาน" in note.inner_text()
    field.locator('.camera-item[data-camera="NMA-001"] a').click()
    banner = field.get_by_test_id("review-note")
    banner.wait_for()
    assert "ส่งกลับให้สำรวจใหม่" in banner.inner_text()
    assert "ถ่ายรูปเสาใหม่ให้เห็นป้ายหน่วยงาน" in banner.inner_text()
    # and the review pages are not theirs
    assert field.goto(base + "/review/").status == 403


def test_dashboard_and_sheet_render_in_the_browser(live, browser):
    base, moved = live
    boss = login(browser, base, "supervisor")
    boss.goto(base + "/dashboard")
    boss.locator(".progress-chart").first.wait_for()
    assert boss.locator(".progress-chart").count() == 2
    assert boss.get_by_test_id("total-surveyed").inner_text() == "1"
    boss.goto(base + f"/exports/sheet/{moved['id']}")
    assert "แบบรายงานผลการสำรวจกล้องโทรทัศน์วงจรปิด" in boss.locator("h1").inner_text()
    boss.evaluate("window.print = () => { window.printed = true; }")
    boss.get_by_test_id("print").click()
    assert boss.evaluate("window.printed") is True  # the button works under the CSP
    boss.locator(".mini-map .accuracy").wait_for()
    assert boss.locator(".mini-map .accuracy").count() == 1
    boss.emulate_media(media="print")
    assert not boss.get_by_test_id("print").is_visible()  # the toolbar does not print
