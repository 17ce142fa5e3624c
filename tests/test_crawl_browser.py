"""Every page each role reaches from its menu, in Thai and English, at three sizes.

Chromium with the node's real CSP (no bypass). A page fails on: an HTTP error, a console
error, a CSP violation, sideways scrolling, or a control smaller than a fingertip (44 px).
The demo node's data: a surveyor's assigned camera, a completed survey to review.
"""

from __future__ import annotations

import pytest

from .conftest import require_system
from .live import CHROMIUM, assigned_cameras, chromium, log_in, make_demo_data, running_node

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
    "button, select, input:not([type=hidden]), textarea, a.btn, nav a, .tabs a, .pager a");
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
            context.close()
    assert not problems, "\n".join(dict.fromkeys(problems))
