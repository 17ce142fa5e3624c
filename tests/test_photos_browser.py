"""What a surveyor sees when a photo does not fit the node's decode memory: one Thai line on
the survey page (tablet and phone size), and no photo added. The node runs with a small
`camera.decode_budget_mb` so that a 12 MP phone photo is over it."""

import io
import json
import sqlite3

import pytest
from PIL import Image

from .conftest import require_system
from .live import CHROMIUM, TABLET, chromium, free_port, new_tablet_page, running_node

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def small_budget_node(tmp_path_factory):
    require_system(CHROMIUM)
    from click.testing import CliRunner

    from survey_node.cli import main

    root = tmp_path_factory.mktemp("budget") / "node"
    env = {"SURVEY_NODE_DEMO__STREAMS_PORT": str(free_port()),
           "SURVEY_NODE_DEMO__REGISTRY_PORT": str(free_port()),
           "SURVEY_NODE_CAMERA__DECODE_BUDGET_MB": "20"}
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--data-dir", str(root)], env=env)
    assert result.exit_code == 0, result.output
    pins = {u["name"]: u["pin"] for u in json.loads((root / "demo-users.json").read_text())}
    conn = sqlite3.connect(root / "survey.db")
    cameras = [row[0] for row in conn.execute(
        "SELECT camera_id FROM assignments WHERE user_name = 'surveyor' ORDER BY camera_id"
        " LIMIT 2")]
    conn.close()
    with running_node(root, command="demo", env=env) as base:
        yield base, pins, cameras


def _twelve_megapixels(path):
    out = io.BytesIO()
    Image.effect_noise((4000, 3000), 30).convert("RGB").save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return str(path)


@pytest.mark.parametrize("viewport", (TABLET, PHONE), ids=("tablet", "phone"))
def test_a_photo_over_the_memory_budget_gets_one_thai_line(small_budget_node, tmp_path,
                                                           viewport):
    base, pins, cameras = small_budget_node
    camera_id = cameras[0] if viewport is TABLET else cameras[1]
    photo = _twelve_megapixels(tmp_path / "IMG_5120.JPG")
    with chromium() as browser:
        page = new_tablet_page(browser, viewport)
        page.goto(f"{base}/login")
        page.fill("#name", "surveyor")
        page.fill("#pin", pins["surveyor"])
        page.click("button[type=submit].btn-primary")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/survey/{camera_id}")
        page.wait_for_selector("[data-testid=state-badge]")
        page.set_input_files("[data-testid=photo-installation]", photo)
        page.wait_for_selector("[data-testid=error-photos]:visible")
        error = page.inner_text("[data-testid=error-photos]")
        assert error.startswith("IMG_5120.JPG ") and "หน่วยความจำ" in error, error
        assert "20 MB" in error and "\n" not in error
        assert page.locator("#thumbs figure").count() == 0
        # Refused for good (not a busy moment): it does not wait in the tablet's outbox.
        assert page.locator("[data-testid=photo-waiting]").count() == 0
        assert page.outside_requests == []
