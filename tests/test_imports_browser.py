"""The import pages in Chromium at tablet size: upload, check, import, watch the progress
bar's polling script carry the admin to the report."""

import socket
import threading

import pytest

from tests.conftest import PINS, require_system
from tests.registry_files import REAL_HEADER, TITLE_ROWS, korat_rows, write_xlsx

pytestmark = pytest.mark.browser
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def live_url(config, users):
    from waitress import create_server

    from survey_node.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server(create_app(config), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(timeout=5)


def test_admin_imports_a_registry_in_the_browser(live_url, tmp_path):
    require_system("/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    rows = korat_rows(3000)
    rows[2][5] = "abc"
    path = write_xlsx(tmp_path / "โคราช.xlsx", REAL_HEADER, rows, title_rows=TITLE_ROWS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 768, "height": 1024})
            page.set_default_timeout(30_000)
            page.goto(f"{live_url}/login")
            page.fill("input[name=name]", "admin")
            page.fill("input[name=pin]", PINS["admin"])
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            page.click("text=นำเข้าทะเบียน")
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
        finally:
            browser.close()
