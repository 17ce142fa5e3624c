"""A surveyor's tablet (and a phone) against a node whose data disk is really full.

The page says, in Thai, that the node's disk is full; typed notes stay in the tablet and
reach the node once space is freed; the survey reopens on the full disk. Issue 16, item 11.
"""

from __future__ import annotations

import os

import pytest

from survey_node import accounts
from survey_node import config as config_mod
from survey_node import db as database
from survey_node.cli.core import init_data_dir
from survey_node.db import cameras as camera_db
from survey_node.db import transaction
from tests.conftest import PINS, require_system
from tests.full_disk import Filler, shrink_wal, small_disk
from tests.live import CHROMIUM, TABLET, chromium, logged_in_page, serving_app
from tests.test_disk_full import THAI_FULL, camera_photo

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
NOTES = "เสาเอียง กล้องหันไปทางทิศตะวันตก ป้ายหมายเลขลบเลือน"


@pytest.fixture
def full_node(tmp_path, monkeypatch):
    require_system(CHROMIUM)
    for name in list(os.environ):
        if name.startswith(config_mod.ENV_PREFIX):
            monkeypatch.delenv(name, raising=False)
    with small_disk(tmp_path / "disk", size_mb=8) as disk:
        root = disk / "node"
        init_data_dir(root)
        cfg = config_mod.load(root)
        cfg.gps.backend = "replay"
        db = database.connect(cfg.db_path)
        accounts.add_user(db, cfg.security, name="surveyor", role="surveyor",
                          pin=PINS["surveyor"])
        with transaction(db):
            camera_db.insert_cameras(db, [{"camera_id": "NMA-0001", "site_name": "แยกประตูชุมพล",
                                           "registered_lat": 14.9738, "registered_lon": 102.0980}])
        db.close()
        with serving_app(cfg) as base:
            yield cfg, base, Filler(disk)


def node_notes(cfg) -> str | None:
    db = database.connect(cfg.db_path, migrate=False)
    try:
        found = db.execute("SELECT notes FROM surveys WHERE camera_id = 'NMA-0001'").fetchone()
    finally:
        db.close()
    return found[0] if found else None


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_the_tablet_says_the_disk_is_full_and_keeps_what_was_typed(full_node, tmp_path,
                                                                    viewport):
    cfg, base, filler = full_node
    photo = tmp_path / "IMG_2231.JPG"
    photo.write_bytes(camera_photo(7))
    with chromium() as browser:
        page = logged_in_page(browser, base, "surveyor", PINS["surveyor"])
        page.set_viewport_size(viewport)
        page.goto(f"{base}/survey/NMA-0001")
        page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")

        shrink_wal(cfg.db_path)
        filler.fill()
        page.fill("[data-testid=notes]", NOTES)
        page.locator("[data-testid=notes]").blur()
        # The line shows by what failed: the notes' section, then the photos'.
        page.wait_for_selector(f"[data-testid=error-checklist]:has-text('{THAI_FULL}')")
        assert page.locator("[data-testid=save-status]").inner_text().strip()
        page.set_input_files("[data-testid=photo-camera]", str(photo))
        page.wait_for_selector(f"[data-testid=error-photos]:has-text('{THAI_FULL}')")
        assert page.locator("#thumbs img").count() == 0

        # Reopening the survey on the full disk shows it, with the notes kept in the tablet.
        page.reload()
        page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')")
        assert page.locator("[data-testid=notes]").input_value() == NOTES
        assert node_notes(cfg) in (None, "")

        # Space again: the next autosave delivers the notes, and the photo, which waited in
        # the tablet's outbox, goes in by itself.
        filler.free()
        # (Polled through the page: a plain sleep here would stall the page's requests,
        # which Playwright routes through this thread.)
        for _ in range(150):
            if node_notes(cfg) == NOTES:
                break
            page.wait_for_timeout(200)
        assert node_notes(cfg) == NOTES
        page.wait_for_selector("#thumbs img", timeout=30_000)
        assert page.locator("[data-testid=photo-waiting]").count() == 0
        assert page.outside_requests == []
