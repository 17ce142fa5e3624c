"""A surveyor on a tablet: log in with the demo PIN, read the list in Thai, switch to English.

Drives Debian's Chromium through Playwright against the real server in a subprocess.
"""

import json

import pytest

from .conftest import require_system
from .live import CHROMIUM, TABLET, chromium, running_node, tablet_browser

pytestmark = pytest.mark.browser


def _demo_node(tmp_path_factory):
    require_system(CHROMIUM)
    from click.testing import CliRunner

    from survey_node.cli import main

    root = tmp_path_factory.mktemp("demo") / "node"
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--data-dir", str(root)])
    assert result.exit_code == 0, result.output
    pins = {u["name"]: u["pin"] for u in json.loads((root / "demo-users.json").read_text())}
    # The PIN the test uses is the one the demo printed.
    assert f"PIN {pins['surveyor']}" in result.output
    with running_node(root) as base:
        yield base, pins


@pytest.fixture(scope="module")
def demo_node(tmp_path_factory):
    yield from _demo_node(tmp_path_factory)


@pytest.fixture
def fresh_demo_node(tmp_path_factory):
    """A node of its own: the lockout it provokes covers the whole client (127.0.0.1)."""
    yield from _demo_node(tmp_path_factory)


def _login(page, base, name, pin):
    page.goto(f"{base}/")
    page.fill("#name", name)
    page.fill("#pin", pin)
    page.click("button[type=submit].btn-primary")


def test_surveyor_logs_in_sees_thai_list_switches_to_english_and_logs_out(demo_node, tmp_path):
    base, pins = demo_node
    with tablet_browser() as page:
        _login(page, base, "surveyor", pins["surveyor"])
        page.wait_for_selector("[data-testid=camera-list]")
        # A surveyor starts on their own assignments (the demo gives each 120 cameras).
        assert "120 กล้อง" in page.inner_text("[data-testid=camera-total]")
        assert page.locator(".camera-item").count() == 50
        page.click("[data-testid=show-tabs] a:has-text('กล้องทั้งหมด')")
        page.wait_for_selector("[data-testid=camera-list]")
        assert "1,200 กล้อง" in page.inner_text("[data-testid=camera-total]")
        # Search narrows the list.
        page.fill("input[name=q]", "บางพลี")
        page.click("form.filters button")
        page.wait_for_selector("[data-testid=camera-list]")
        assert "บางพลี" in page.inner_text("[data-testid=camera-list]")
        # Thai renders in a real font (Sarabun, served by the node), not empty boxes.
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('16px Sarabun', 'กล้อง')")
        page.screenshot(path=str(tmp_path / "cameras-th.png"))
        # Touch targets are at least 44px tall.
        for selector in ["form.filters button", ".langswitch button", "input[name=q]"]:
            assert page.locator(selector).first.bounding_box()["height"] >= 44
        page.click(".langswitch button")
        page.wait_for_selector("text=Log out")
        assert "cameras" in page.inner_text("[data-testid=camera-total]")
        page.click("text=Log out")
        page.wait_for_selector("#pin")
        assert page.outside_requests == []


def test_five_wrong_pins_are_refused_with_a_thai_message(fresh_demo_node):
    base, pins = fresh_demo_node
    with tablet_browser() as page:
        for _ in range(5):
            _login(page, base, "surveyor2", "999999" if pins["surveyor2"] != "999999" else "888888")
        message = page.inner_text("[data-testid=login-error]")
        assert "ใส่ PIN ผิดเกินกำหนด" in message
        _login(page, base, "surveyor2", pins["surveyor2"])
        assert "ใส่ PIN ผิดเกินกำหนด" in page.inner_text("[data-testid=login-error]")


def test_landscape_tablet_layout_has_no_horizontal_scroll(demo_node):
    base, pins = demo_node
    with tablet_browser({"width": 1280, "height": 800}) as page:
        _login(page, base, "admin", pins["admin"])
        page.wait_for_selector("[data-testid=camera-list]")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.goto(f"{base}/admin/users")
        assert page.locator("table.table tbody tr").count() == 4


def test_enter_in_the_worklist_search_searches_without_reloading(demo_node):
    """Under the page's own CSP (the other tests bypass it to poll with eval): an inline
    onsubmit was blocked there, so Enter reloaded the page and cleared the search."""
    base, pins = demo_node
    with chromium() as browser:
        context = browser.new_context(viewport=TABLET, locale="th-TH")  # CSP enforced
        page = context.new_page()
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        _login(page, base, "surveyor", pins["surveyor"])
        page.goto(f"{base}/worklist")
        page.wait_for_selector("#worklist li")
        page.fill("#filters input[name=q]", "บางพลี")
        with page.expect_response(lambda r: "/api/v1/worklist" in r.url and "q=" in r.url):
            page.press("#filters input[name=q]", "Enter")
        page.wait_for_timeout(500)
        # The same page: the search is still typed in, the list is narrowed, no CSP refusal.
        assert page.url == f"{base}/worklist"
        assert page.input_value("#filters input[name=q]") == "บางพลี"
        items = page.locator("#worklist li").all_inner_texts()
        assert items and all("บางพลี" in text for text in items)
        assert not [p for p in problems if "Content Security Policy" in p], problems
        context.close()


def test_a_slow_first_list_does_not_overwrite_the_search(demo_node):
    """On the field WiFi the page's first, unfiltered list can arrive after the list the
    surveyor has already searched for; it overwrote the search's answer (CI saw the same race
    with the state filter)."""
    base, pins = demo_node
    with tablet_browser() as page:
        _login(page, base, "surveyor", pins["surveyor"])
        held = []

        def hold_the_first(route):
            if not held and "q=" not in route.request.url:
                held.append(route)  # answered only once the search has been drawn
            else:
                route.continue_()

        page.route("**/api/v1/worklist?*", hold_the_first)
        page.goto(f"{base}/worklist")
        page.fill("#filters input[name=q]", "บางพลี")
        with page.expect_response(lambda r: "/api/v1/worklist" in r.url and "q=" in r.url):
            page.press("#filters input[name=q]", "Enter")
        page.wait_for_selector("#worklist li")
        assert held, "the page's first list was never asked for"
        with page.expect_response(lambda r: "/api/v1/worklist" in r.url and "q=" not in r.url):
            held[0].continue_()
        page.wait_for_timeout(300)
        items = page.locator("#worklist li").all_inner_texts()
        assert items and all("บางพลี" in text for text in items), items[:3]
