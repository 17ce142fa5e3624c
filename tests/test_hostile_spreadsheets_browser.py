"""The admin uploads hostile spreadsheets in Chromium, at tablet and phone size: one Thai
line says what and where, the page stays usable, and a quarantined file's page says so."""

import pytest

from tests.conftest import PINS, require_system
from tests.hostile_sheets import build
from tests.live import CHROMIUM, TABLET, chromium, new_tablet_page, serving_app
from tests.test_hostile_spreadsheets import memory_hog

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def log_in(browser, base: str, viewport: dict):
    page = new_tablet_page(browser, viewport)
    page.goto(f"{base}/login")
    page.fill("#name", "admin")
    page.fill("#pin", PINS["admin"])
    page.click("form button.btn-primary")
    page.wait_for_load_state()
    return page


def upload(page, base: str, path) -> None:
    page.goto(f"{base}/admin/import/")
    page.set_input_files("input[type=file]", str(path))
    page.click("text=อัปโหลดและตรวจสอบ")
    page.wait_for_load_state()


def fits(page, selector: str, viewport: dict) -> None:
    """The line wraps within the screen (a long file name or cell must not push it out).
    (The admin menu itself is wider than a phone: not this page's doing.)"""
    box = page.locator(selector).bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, box


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_a_sparse_upload_gets_one_thai_line_and_the_page_stays(viewport, config, users, tmp_path):
    require_system(CHROMIUM)
    path, _ = build("sparse far cell", tmp_path / "corpus")
    with serving_app(config) as base, chromium() as browser:
        page = log_in(browser, base, viewport)
        upload(page, base, path)
        error = page.locator("[data-testid=upload-error]")
        text = error.inner_text()
        assert "XFD1048576" in text and "เกินขีดจำกัด" in text and "\n" not in text.strip()
        fits(page, "[data-testid=upload-error]", viewport)
        assert page.locator("input[type=file]").is_visible()  # try another file at once
        assert not page.outside_requests


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_a_quarantined_upload_page_says_so(viewport, config, users, tmp_path):
    require_system(CHROMIUM)
    config.imports.reader_memory_mb = 256  # the hog's grid needs 600 MB
    path = memory_hog(tmp_path)
    with serving_app(config) as base, chromium() as browser:
        page = log_in(browser, base, viewport)
        upload(page, base, path)
        error = page.locator("[data-testid=mapping-error]")
        assert "ถูกกักกันไว้" in error.inner_text() and "hog.xlsx" in error.inner_text()
        fits(page, "[data-testid=mapping-error]", viewport)
        page.reload()
        assert "ถูกกักกันไว้" in page.locator("[data-testid=mapping-error]").inner_text()
