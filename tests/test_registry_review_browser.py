"""A supervisor reviews on a phone, in Chromium, from a national registry: two registry
processes on PostgreSQL with the photos in an S3 bucket (moto's server). The photo on the
page comes through the registry (the browser has no bucket credentials), and the decision
reaches the node at its next sync."""

import json
import subprocess
import sys

import pytest

from survey_node import db as database
from survey_node import survey as survey_svc
from survey_node.selection import assign

from .conftest import PINS, require_system
from .live import CHROMIUM, chromium, new_tablet_page
from .review_fixtures import SUPERVISOR, complete_survey, seed_cameras, select_all
from .sync_helpers import add_token, run_sync, running_registry

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("registry_backend", ["national"], indirect=True)
def test_a_supervisor_approves_on_a_phone_and_the_node_hears_of_it(tmp_path, config, users, db,
                                                                   registry_backend):
    require_system(CHROMIUM)
    ids = seed_cameras(db)
    select_all(db)
    assign.assign_cameras(db, ids, "surveyor", user=SUPERVISOR)
    done = complete_survey(db, config, ids[0])
    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        add_token(registry_dir, config)
        sent = run_sync(config, "--registry", url)
        assert sent.returncode == 0 and json.loads(sent.stdout)["surveys_acknowledged"] == 1
        subprocess.run([sys.executable, "-m", "survey_node", "registry", "user", "add", "boss",
                        "--pin-stdin", "--data-dir", str(registry_dir)], check=True,
                       input=PINS["supervisor"] + "\n", text=True, timeout=60,
                       capture_output=True)
        with chromium() as browser:
            page = new_tablet_page(browser, PHONE)
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{url}/review/login")
            page.fill("#name", "boss")
            page.fill("#pin", PINS["supervisor"])
            page.click("form button.btn-primary")
            page.wait_for_url(f"{url}/review/**")
            page.goto(f"{url}/review/")
            queue = page.get_by_test_id("review-queue")
            queue.locator(f'[data-survey="{done["id"]}"] a').first.click()
            image = page.locator('.review-photo[data-role="camera"] img')
            image.scroll_into_view_if_needed()  # below the fold on a phone, loaded lazily
            image.wait_for()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                   arg=image.element_handle())
            assert image.evaluate("img => img.naturalWidth") == 320
            # One thumb's width: nothing on the page runs off the side of the phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.get_by_test_id("decide-approved").click()
            page.wait_for_load_state()
            assert "บันทึกผลการตรวจแล้ว" in page.content()
            assert errors == [] and page.outside_requests == []
        pulled = run_sync(config, "--registry", url)
        assert json.loads(pulled.stdout)["decisions_received"] == 1
    node = database.connect(config.db_path)
    try:
        assert survey_svc.get(node, done["id"])["review_state"] == "approved"
    finally:
        node.close()
