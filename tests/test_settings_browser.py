"""The admin's settings page on a tablet and a phone: the province is set from the menu."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from .conftest import require_system
from .live import CHROMIUM, TABLET, free_port, running_node, tablet_browser

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_the_admin_sets_the_province_from_the_menu(tmp_path, viewport):
    require_system(CHROMIUM)
    from survey_node.cli import main

    root = tmp_path / "node"
    for args, stdin in ((["init", "--data-dir", str(root)], None),
                        (["users", "add", "admin", "--data-dir", str(root), "--role", "admin",
                          "--pin-stdin"], "482913\n")):
        result = CliRunner().invoke(main, args, input=stdin)
        assert result.exit_code == 0, result.output
    with running_node(root) as base, tablet_browser(viewport) as page:
        page.goto(f"{base}/login")
        page.fill("#name", "admin")
        page.fill("#pin", "482913")
        page.click("button[type=submit].btn-primary")
        page.wait_for_url(f"{base}/")
        page.click("nav a:has-text('ตั้งค่า')")
        page.wait_for_selector("[data-testid=current-province]")
        assert "ยังไม่ได้ตั้งจังหวัด" in page.inner_text("[data-testid=current-province]")
        page.select_option("[data-testid=province-select]", "50")
        page.click("[data-testid=save-settings]")
        page.wait_for_selector("[data-testid=current-province]:has-text('เชียงใหม่')")
        # The long province names fit: nothing scrolls sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert page.outside_requests == []
    config = (root / "config.toml").read_text(encoding="utf-8")
    assert 'province_code = "50"' in config
    conn = sqlite3.connect(root / "survey.db")
    audit = conn.execute("SELECT count(*) FROM audit_log WHERE detail LIKE '%50%'").fetchone()[0]
    conn.close()
    assert audit >= 1
