"""The sync page on a tablet: a supervisor presses "sync now", watches it finish, reads history."""

import pytest

from survey_node import accounts
from survey_node import db as database
from tests.conftest import PINS, require_system
from tests.live import CHROMIUM, open_menu, running_node, tablet_browser
from tests.sync_helpers import add_token, make_node, registry_truth, running_registry

pytestmark = pytest.mark.browser


def test_supervisor_syncs_from_the_button_and_sees_the_history(tmp_path):
    require_system(CHROMIUM)
    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        cfg = make_node(tmp_path / "node", "node-ui", surveys=4, registry_url=url)
        add_token(registry_dir, cfg)
        db = database.connect(cfg.db_path)
        try:
            accounts.add_user(db, cfg.security, name="supervisor", role="supervisor",
                              pin=PINS["supervisor"], display_name="หัวหน้า")
        finally:
            db.close()
        with running_node(cfg.data_dir) as base, tablet_browser() as page:
            page.goto(f"{base}/")
            page.fill("#name", "supervisor")
            page.fill("#pin", PINS["supervisor"])
            page.click("button[type=submit].btn-primary")
            page.wait_for_selector("[data-testid=who]", state="attached")
            open_menu(page)  # a portrait tablet folds a supervisor's menu behind its button
            nav = page.locator("nav.mainnav a", has_text="ซิงก์")
            assert nav.count() == 1
            nav.click()
            page.wait_for_url(f"{base}/sync")
            assert "4" in page.inner_text("[data-testid=waiting]")
            assert page.locator("[data-testid=insecure-warning]").count() == 0
            page.click("[data-testid=sync-now]")
            page.wait_for_selector("[data-testid=sync-history]", timeout=30_000)
            row = page.inner_text("[data-testid=sync-history] tbody tr")
            assert "สำเร็จ" in row and "4 / 4" in row
            assert "0" in page.inner_text("[data-testid=waiting]")
            box = page.locator("[data-testid=sync-now]").bounding_box()
            assert box["height"] >= 44
            assert page.outside_requests == []
        assert len(registry_truth(registry_dir)[0]) == 4


def test_insecure_http_flag_shows_a_warning_and_surveyors_cannot_sync(client, auth, config,
                                                                      monkeypatch):
    config.sync.allow_insecure_http = True
    auth.login("supervisor")
    page = client.get("/sync")
    assert page.status_code == 200
    assert 'data-testid="insecure-warning"' in page.get_data(as_text=True)
    auth.logout()
    auth.login("surveyor")
    assert client.get("/sync").status_code == 403
    assert client.post("/sync/run").status_code == 403


def test_a_sync_job_whose_process_died_does_not_block_the_button(client, auth, db):
    from survey_node.db import jobs as job_db

    job_id = job_db.insert_job(db, "sync", created_by="supervisor")
    job_db.update_job(db, job_id, state="running", progress=0.4)
    auth.login("supervisor")
    page = client.get("/sync").get_data(as_text=True)
    assert 'data-testid="sync-progress"' not in page
    assert 'data-testid="sync-now" disabled' not in page
    assert job_db.get_job(db, job_id)["state"] == "failed"
    status = client.get(f"/api/v1/sync/jobs/{job_id}")
    assert status.status_code == 200 and status.json["state"] == "failed"
    assert client.get("/api/v1/sync/jobs/nope").status_code == 404
