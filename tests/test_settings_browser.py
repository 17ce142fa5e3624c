"""The admin's settings page on a tablet and a phone: the province is set from the menu."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from .conftest import require_system
from .live import CHROMIUM, TABLET, free_port, open_menu, running_node, tablet_browser

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
        open_menu(page)  # a phone folds the menu behind its button
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


def test_the_admin_uploads_a_basemap_and_the_worklist_map_uses_it(tmp_path):
    """At tablet size: upload through the page, see the coverage; then the worklist's map
    draws the tiles, its markers and popup links are big enough to touch, Thai in Sarabun."""
    require_system(CHROMIUM)
    from .live import log_in, make_demo_data
    from .mbtiles_files import write_mbtiles

    root = tmp_path / "node"
    env, pins = make_demo_data(root)
    tiles = write_mbtiles(tmp_path / "สมุทรปราการ.mbtiles", box=(100.45, 13.45, 100.97, 13.72),
                          zooms=(9, 10, 11))
    with running_node(root, command="demo", env=env) as base, tablet_browser() as page:
        log_in(page, base, "admin", pins["admin"])
        page.goto(f"{base}/admin/settings")
        page.click("[data-testid=basemap-link]")
        page.wait_for_selector("[data-testid=basemap-none]")
        page.set_input_files("[data-testid=basemap-file]", str(tiles))
        page.wait_for_selector("[data-testid=basemap-info]", timeout=30_000)
        assert "(png)" in page.inner_text("[data-testid=basemap-tiles]")
        page.wait_for_selector("#coverage .leaflet-tile-loaded")
        page.wait_for_selector("#coverage path.coverage")

        page.goto(f"{base}/worklist?show=all")
        page.wait_for_selector("#worklist li")
        page.click("[data-view=map]")
        page.wait_for_selector("#map .leaflet-tile-loaded", timeout=20_000)
        hit = page.locator("#map path.marker-hit").first
        box = hit.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, box
        hit.click(force=True)
        link = page.locator(".leaflet-popup-content a.popup-link")
        link.wait_for()
        assert link.bounding_box()["height"] >= 44
        assert "Sarabun" in link.evaluate("e => getComputedStyle(e).fontFamily")
        href = link.get_attribute("href")
        link.click()
        page.wait_for_url(f"{base}{href}")
        page.wait_for_selector("[data-testid=state-badge]:has-text('กำลังสำรวจ')",
                               timeout=30_000)
        assert page.outside_requests == []
