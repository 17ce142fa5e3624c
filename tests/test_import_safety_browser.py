"""An office's wrong files cannot wipe the field work (Chromium at tablet size).

The admin imports a file of one district that lacks two of its cameras, then a file of
another province. Nothing is removed unless asked; the partial file offers "update only" by
default and removing only inside its own area; a removed camera that is in the survey set
or has a survey stays on its surveyor's worklist with a flag. Undoing both imports from their
reports puts every camera row back exactly as it was.
"""

from __future__ import annotations

import pytest

from survey_node import demo, survey
from survey_node import db as database
from survey_node.db.users import get_user_by_name
from survey_node.selection import assign, sample
from tests.conftest import PINS, require_system
from tests.live import CHROMIUM, chromium, logged_in_page, open_menu, serving_app
from tests.registry_files import REAL_HEADER, TITLE_ROWS, korat_rows, write_xlsx

pytestmark = pytest.mark.browser
HEADER = ["รหัสกล้อง", "ชื่อจุดติดตั้ง", "อำเภอ", "จังหวัด", "ละติจูด", "ลองจิจูด", "หน่วยงาน"]


def _registry(db) -> list[tuple]:
    return [tuple(r) for r in db.execute("SELECT * FROM cameras ORDER BY camera_id")]


@pytest.fixture
def field_work(config, users):
    """A Samut Prakan node with its 20 % set, one district handed to `surveyor`, and a
    survey started on one of that district's selected cameras."""
    db = database.connect(config.db_path)
    try:
        demo.seed_demo(db, count=60, streams_port=1)
        operator = {"name": "admin", "role": "admin"}
        sample.draw_sample(db, fraction="0.2", by="amphoe", seed="T", user=operator)
        amphoe = db.execute("SELECT c.amphoe_code FROM cameras c JOIN selection s"
                            " ON s.camera_id = c.camera_id AND s.status = 'selected'"
                            " GROUP BY c.amphoe_code HAVING count(*) >= 2"
                            " ORDER BY c.amphoe_code LIMIT 1").fetchone()[0]
        assign.assign_amphoe(db, amphoe, "surveyor", user=operator)
        chosen = [r[0] for r in db.execute(
            "SELECT c.camera_id FROM cameras c JOIN selection s ON s.camera_id = c.camera_id"
            " AND s.status = 'selected' WHERE c.amphoe_code = ? ORDER BY c.camera_id LIMIT 2",
            [amphoe])]
        surveyor = get_user_by_name(db, "surveyor")
        survey.start_or_resume(db, config, camera_id=chosen[0], user=surveyor)
        district = [list(r) for r in db.execute(
            "SELECT camera_id, site_name, amphoe_name, province_name, registered_lat,"
            " registered_lon, agency FROM cameras WHERE amphoe_code = ? ORDER BY camera_id",
            [amphoe])]
        before = _registry(db)
    finally:
        db.close()
    return {"amphoe": amphoe, "dropped": chosen, "district": district, "before": before}


def _import(page, path, *, removal: str | None = None) -> str:
    """Upload `path`, preview it, pick `removal` (or keep the default) and import; returns
    the preview's warning text."""
    open_menu(page)  # a portrait tablet folds an admin's menu behind its button
    page.click("nav a:has-text('นำเข้าทะเบียน')")
    page.set_input_files("input[type=file]", str(path))
    page.click("text=อัปโหลดและตรวจสอบ")
    page.wait_for_selector("text=ตรวจสอบคอลัมน์")
    page.click("button[value=preview]")
    page.wait_for_selector("[data-testid=import-now]", timeout=60_000)
    warning = page.locator("[data-testid=missing-warning]").inner_text()
    # The file covers part of the registry: "update only" is offered and already chosen.
    assert page.locator("[data-testid=removal-choice]").is_visible()
    assert page.locator("[data-testid=removal-none]").is_checked()
    if removal:
        page.check(f"[data-testid=removal-{removal}]")
        page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=import-now]")
    page.wait_for_selector("h1:has-text('รายงานการนำเข้า'), [data-testid=job-error]",
                           timeout=60_000)
    assert page.locator("[data-testid=job-error]").count() == 0, page.inner_text("main")
    return warning


def _flags(page, base: str) -> dict[str, bool]:
    """The surveyor's worklist: camera id -> shown with the "removed" flag."""
    page.goto(f"{base}/worklist")
    page.wait_for_selector("li.camera-item")
    return {item.get_attribute("data-camera"):
            item.locator("[data-testid=removed-flag]").count() == 1
            for item in page.locator("li.camera-item").all()}


def test_a_partial_file_and_another_provinces_file_keep_the_work_and_undo_restores_it(
        config, field_work, tmp_path):
    require_system(CHROMIUM)
    dropped = field_work["dropped"]
    rows = [row for row in field_work["district"] if row[0] not in dropped]
    district_file = write_xlsx(tmp_path / "อำเภอเดียว.xlsx", HEADER, rows)
    other_province = write_xlsx(tmp_path / "โคราช.xlsx", REAL_HEADER, korat_rows(3),
                                title_rows=TITLE_ROWS)
    with serving_app(config) as base, chromium() as browser:
        admin = logged_in_page(browser, base, "admin", PINS["admin"])
        admin.set_default_timeout(30_000)
        worker = logged_in_page(browser, base, "surveyor", PINS["surveyor"])
        on_list = _flags(worker, base)
        assert set(dropped) <= set(on_list) and not any(on_list.values())

        # The district's file, removing only inside its own area (asked and confirmed).
        warning = _import(admin, district_file, removal="covered")
        # It says what a removal would touch: the 52 cameras elsewhere, the one survey.
        assert "มี 52 กล้องในเครื่องนี้ที่ไม่อยู่ในไฟล์นี้" in warning
        assert "1 กล้องมีผลการสำรวจแล้ว" in warning
        removed = admin.locator("[data-testid=removed]").inner_text()
        assert all(cid in removed for cid in dropped), (removed, admin.inner_text("main"))
        partial_report = admin.url

        # Another province's file, imported as offered: nothing more is removed.
        warning = _import(admin, other_province)
        assert admin.locator("[data-testid=count-removed]").inner_text() == "0"
        db = database.connect(config.db_path)
        try:
            assert db.execute("SELECT count(*) FROM cameras WHERE removed = 1"
                              ).fetchone()[0] == len(dropped)
        finally:
            db.close()

        # The surveyor's work is all still listed; the two removed cameras carry the flag.
        flags = _flags(worker, base)
        assert set(flags) == set(on_list)
        assert {cid for cid, flagged in flags.items() if flagged} == set(dropped)
        worker.goto(f"{base}/survey/{dropped[0]}")
        assert worker.locator("[data-testid=camera-removed]").is_visible()

        # Undo the other province's import, then the district's: the registry is as before.
        for report in (admin.url, partial_report):
            admin.goto(report)
            admin.once("dialog", lambda dialog: dialog.accept())
            admin.click("[data-testid=undo-import]")
            admin.wait_for_selector("[data-testid=import-undone]")
        assert not any(_flags(worker, base).values())

    db = database.connect(config.db_path)
    try:
        after = _registry(db)
        columns = [r[1] for r in db.execute("PRAGMA table_info(cameras)")]
        diffs = [(a[1], [(c, x, y) for c, x, y in zip(columns, a, b) if x != y])
                 for a, b in zip(after, field_work["before"]) if a != b]
        assert len(after) == len(field_work["before"]) and not diffs, diffs[:3]
    finally:
        db.close()
