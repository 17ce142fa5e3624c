"""The import pages in Chromium at tablet size: upload, check, import, watch the progress
bar's polling script carry the admin to the report."""

import pytest

from tests.conftest import PINS, require_system
from tests.live import CHROMIUM, chromium, logged_in_page, open_menu, serving_app
from tests.registry_files import REAL_HEADER, TITLE_ROWS, korat_rows, write_xlsx

pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(config, users):
    with serving_app(config) as base:
        yield base


def test_admin_imports_a_registry_in_the_browser(live_url, tmp_path):
    require_system(CHROMIUM)

    rows = korat_rows(3000)
    rows[2][5] = "abc"
    path = write_xlsx(tmp_path / "โคราช.xlsx", REAL_HEADER, rows, title_rows=TITLE_ROWS)
    with chromium() as browser:
        page = logged_in_page(browser, live_url, "admin", PINS["admin"])
        page.set_default_timeout(30_000)
        open_menu(page)  # a portrait tablet folds an admin's menu behind its button
        page.click("nav a:has-text('นำเข้าทะเบียน')")
        page.set_input_files("input[type=file]", str(path))
        page.click("text=อัปโหลดและตรวจสอบ")
        page.wait_for_selector("text=ตรวจสอบคอลัมน์")
        assert page.input_value("[data-testid=header-row]") == "4"
        assert page.locator("select[name=col-2]").input_value() == "site_name"
        box = page.locator("button[value=import]").bounding_box()
        assert box["height"] >= 44  # touch target
        page.click("button[value=import]")
        page.wait_for_selector("text=รายงานการนำเข้า", timeout=60_000)
        assert page.locator("[data-testid=count-new]").inner_text() == "3000"
        warnings = page.locator("[data-testid=warnings]").inner_text()
        assert "7" in warnings and "abc" in warnings
