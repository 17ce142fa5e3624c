"""Every page each role reaches from its menu, in Thai and English, at three sizes.

Chromium with the node's real CSP (no bypass). A page fails on: an HTTP error, a console
error, a CSP violation, sideways scrolling, or a control smaller than a fingertip (44 px).
The demo node's data: a surveyor's assigned camera, a completed survey to review.
"""

from __future__ import annotations

import pytest

from .conftest import require_system
from .live import (CHROMIUM, assigned_cameras, chromium, log_in, make_demo_data, open_menu,
                   running_node)

pytestmark = pytest.mark.browser
SIZES = {"tablet": {"width": 768, "height": 1024}, "landscape": {"width": 1024, "height": 768},
         "phone": {"width": 390, "height": 844}}
TOUCH = 44
# Controls a finger must hit: what is visible and interactive, outside running text.
CHECK_PAGE = """() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) problems.push(`scrolls sideways: ${doc.scrollWidth}px`);
  const controls = document.querySelectorAll(
    "button, select, input:not([type=hidden]), textarea, a.btn, nav a, .tabs a, .pager a, " +
    "summary, .camera-main a.site, .camera-meta a");
  for (const c of controls) {
    const style = getComputedStyle(c);
    if (style.visibility === "hidden" || style.display === "none" || c.closest("[hidden]")) continue;
    const r = c.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (c.type === "checkbox" || c.type === "radio") continue;  // their label is the target
    if (c.closest(".leaflet-container")) continue;  // the map's own controls are checked apart
    if (r.height < 44 - 0.5 || r.width < 44 - 0.5) {
      problems.push(`small control ${c.tagName.toLowerCase()}${c.id ? "#" + c.id : ""}` +
                    `${c.name ? "[name=" + c.name + "]" : ""} "${(c.textContent || c.value || "").trim().slice(0, 30)}"` +
                    ` ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    require_system(CHROMIUM)
    root = tmp_path_factory.mktemp("crawl") / "node"
    env, pins = make_demo_data(root)
    camera, theirs = (assigned_cameras(root, name, 1)[0] for name in ("surveyor", "surveyor2"))
    with running_node(root, command="demo", env=env) as base:
        yield base, pins, (camera, theirs)


@pytest.mark.parametrize("role", ["surveyor", "supervisor", "admin"])
def test_every_menu_page_in_both_languages_at_three_sizes(demo, role):
    base, pins, (camera, theirs) = demo
    problems: list[str] = []
    # Thai (the default) at every size; English, whose words are longer, at the two
    # narrowest (the landscape tablet is the widest and has never differed).
    views = (("th", "tablet"), ("th", "landscape"), ("th", "phone"), ("en", "tablet"),
             ("en", "phone"))
    with chromium() as browser:
        for lang, size_name in views:
            context = browser.new_context(viewport=SIZES[size_name], locale="th-TH",
                                          has_touch=True)
            page = context.new_page()
            where = {"url": ""}
            page.on("console", lambda m: problems.append(
                f"{where['url']}: console {m.type}: {m.text[:160]}")
                if m.type == "error" else None)
            page.on("response", lambda r: problems.append(
                f"{where['url']}: {r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type in ("document", "fetch", "xhr",
                                                                     "script", "stylesheet")
                else None)
            log_in(page, base, role, pins[role])
            if lang == "en":
                open_menu(page)
                page.click(".langswitch button")
                page.wait_for_load_state()
            links = page.eval_on_selector_all(
                "nav.mainnav a", "els => els.map(e => e.getAttribute('href'))")
            pages = list(dict.fromkeys(["/", *links]))
            if role == "surveyor":
                # Their own camera, and one assigned to someone else (refused in the page
                # itself, not by a failing request of its script).
                pages += [f"/survey/{camera}", f"/survey/{theirs}"]
            for path in pages:
                where["url"] = f"{role}/{lang}/{size_name} {path}"
                page.goto(base + path)  # waits for "load"
                # The page's own script has made its first calls by then (their errors
                # would show); waiting for the network to idle costs 0.5 s a page.
                page.wait_for_timeout(250)
                if page.evaluate("document.documentElement.lang") != lang:
                    problems.append(f"{where['url']}: page is not in {lang}")
                for problem in page.evaluate(CHECK_PAGE):
                    problems.append(f"{where['url']}: {problem}")
                if size_name == "phone":  # and the menu, opened, over this page
                    open_menu(page)
                    for problem in page.evaluate(CHECK_PAGE):
                        problems.append(f"{where['url']} (menu open): {problem}")
            context.close()
    assert not problems, "\n".join(dict.fromkeys(problems))


# What a phone's top bar must show: one row, and every page of the role one tap away.
BAR_STATE = """() => {
  const bar = document.querySelector("header.topbar").getBoundingClientRect();
  const links = [...document.querySelectorAll("nav.mainnav a")].map((a) => {
    const r = a.getBoundingClientRect();
    const seen = r.height > 0 && getComputedStyle(a).visibility !== "hidden";
    return {text: a.textContent.trim(), seen, inside: r.left >= 0 && r.right <= innerWidth + 1
            && r.bottom <= innerHeight, height: r.height,
            current: a.getAttribute("aria-current") === "page"};
  });
  return {barHeight: bar.height, links,
          sideways: document.documentElement.scrollWidth > innerWidth + 1};
}"""


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_a_phone_folds_the_menu_behind_one_button_that_reaches_every_page(demo, role):
    base, pins, _ = demo
    with chromium() as browser:
        context = browser.new_context(viewport=SIZES["phone"], locale="th-TH", has_touch=True)
        page = context.new_page()
        log_in(page, base, role, pins[role])
        closed = page.evaluate(BAR_STATE)
        # One row of bar (it wrapped to ~170 px of a 844 px screen), and no page that
        # scrolls sideways to find the menu.
        assert closed["barHeight"] <= 64, closed
        assert not any(link["seen"] for link in closed["links"]), closed
        toggle = page.locator("[data-testid=menu-toggle]")
        assert toggle.inner_text() == "เมนู" and toggle.bounding_box()["height"] >= 44
        toggle.click()
        opened = page.evaluate(BAR_STATE)
        names = [link["text"] for link in opened["links"]]
        for name in ("ส่งออกข้อมูล", "ชุดสำรวจร้อยละ 20", "ซิงก์"):
            assert name in names
        hidden = [link for link in opened["links"] if not (link["seen"] and link["inside"])]
        assert not hidden and not opened["sideways"], opened
        assert all(link["height"] >= 44 for link in opened["links"]), opened
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.locator("#logout-form button").is_visible()
        # Escape puts it away; a tap on the page too.
        page.keyboard.press("Escape")
        assert not page.locator("nav.mainnav a").first.is_visible()
        toggle.click()
        page.mouse.click(200, 830)  # below the opened menu
        assert not page.locator("nav.mainnav a").first.is_visible()
        # A page reached from it is marked there as the one you are on.
        toggle.click()
        page.locator("nav.mainnav a", has_text="ซิงก์").click()
        page.wait_for_url(f"{base}/sync")
        assert not page.locator("nav.mainnav a").first.is_visible()
        toggle.click()
        marked = [link["text"] for link in page.evaluate(BAR_STATE)["links"] if link["current"]]
        assert marked == ["ซิงก์"]
        context.close()


@pytest.mark.parametrize("role,size,folded", [
    ("surveyor", "tablet", False), ("supervisor", "landscape", False),
    ("supervisor", "tablet", True), ("admin", "tablet", True)])
def test_a_tablet_keeps_the_menu_in_the_bar_unless_it_would_take_three_rows(demo, role, size,
                                                                            folded):
    """A supervisor's seven links took three rows of sticky bar on a portrait tablet (171 of
    1024 px), an admin's four: there they fold as on a phone; where two rows hold them (a
    surveyor's; a landscape tablet) they stay in the bar and no button is drawn."""
    base, pins, _ = demo
    with chromium() as browser:
        context = browser.new_context(viewport=SIZES[size], locale="th-TH", has_touch=True)
        page = context.new_page()
        log_in(page, base, role, pins[role])
        page.evaluate("document.fonts.ready")
        state = page.evaluate(BAR_STATE)
        toggle = page.locator("[data-testid=menu-toggle]")
        if folded:
            assert state["barHeight"] <= 64 and toggle.is_visible(), state
            open_menu(page)
            state = page.evaluate(BAR_STATE)
        else:
            assert state["barHeight"] <= 2 * 64 and not toggle.is_visible(), state
        assert all(link["seen"] and link["inside"] for link in state["links"]), state
        assert page.locator("#logout-form button").is_visible()
        context.close()
