import io
import re

import pytest

from survey_node import db as database
from survey_node.db import selection as sel_db
from survey_node.selection import active_run, assign, quota, sample
from tests.selection_fixtures import ADMIN, SUPERVISOR, seed_demo_cameras


@pytest.fixture
def cams(db):
    return seed_demo_cameras(db, 300)


@pytest.fixture
def drawn(db, cams, users):
    run = sample.draw_sample(db, fraction="0.2", by="amphoe", seed="web", user=ADMIN)
    assign.assign_amphoe(db, "1101", "surveyor", user=SUPERVISOR)
    return run


def test_a_surveyor_cannot_draw_a_sample_or_see_the_admin_pages(client, auth, db, cams):
    auth.login("surveyor")
    assert client.get("/selection/").status_code == 403
    assert client.get("/selection/quota").status_code == 403
    assert client.get("/selection/assignments").status_code == 403
    r = client.post("/selection/sample", data={"fraction": "0.2", "by": "amphoe", "seed": "x"})
    assert r.status_code == 403
    assert active_run(db) is None


def test_a_supervisor_sees_the_set_but_cannot_form_it(client, auth, db, cams):
    auth.login("supervisor")
    page = client.get("/selection/")
    assert page.status_code == 200 and 'name="seed"' not in page.text
    r = client.post("/selection/sample", data={"fraction": "0.2", "by": "amphoe", "seed": "x"})
    assert r.status_code == 403 and active_run(db) is None


def test_admin_draws_a_sample_and_the_seed_is_shown(client, auth, db, cams):
    auth.login("admin")
    r = client.post("/selection/sample", data={"fraction": "0.2", "by": ["amphoe", "agency"],
                                               "seed": "ประชุม 3/2569"}, follow_redirects=True)
    assert r.status_code == 200
    run = active_run(db)
    assert run["strata"] == ["amphoe", "agency"] and run["created_by"] == "admin"
    assert 'data-testid="run-seed">ประชุม 3/2569<' in r.text
    assert "SHA-256" in r.text
    bad = client.post("/selection/sample", data={"fraction": "3", "by": "amphoe", "seed": "x"})
    assert bad.status_code == 400 and 'data-testid="selection-error"' in bad.text
    assert active_run(db)["id"] == run["id"]
    again = {"fraction": "0.2", "by": "amphoe", "seed": "second"}
    kept = client.post("/selection/sample", data=again)
    assert kept.status_code == 409 and active_run(db)["id"] == run["id"]
    assert 'name="replace"' in kept.text
    client.post("/selection/sample", data={**again, "replace": "1"})
    assert active_run(db)["seed"] == "second"


def test_admin_uploads_a_list_and_sees_unknown_rows(client, auth, db, cams):
    auth.login("admin")
    data = {"list": (io.BytesIO(b"camera_id\nDEMO-11-00001\nDEMO-11-77777\n"), "committee.csv")}
    r = client.post("/selection/list", data=data, content_type="multipart/form-data",
                    follow_redirects=True)
    assert r.status_code == 200
    unmatched = re.search(r'data-testid="unmatched">(.*?)</ul>', r.text, re.S).group(1)
    assert "3" in unmatched and "DEMO-11-77777" in unmatched
    assert active_run(db)["source_file"] == "committee.csv"
    exe = client.post("/selection/list", data={"list": (io.BytesIO(b"MZ"), "x.exe")},
                      content_type="multipart/form-data")
    assert exe.status_code == 400


def test_quota_page_has_a_table_and_an_svg_chart(client, auth, db, cams):
    sample.draw_sample(db, fraction="0.2", by="amphoe", seed="q", only_with_stream=True, user=ADMIN)
    auth.login("supervisor")
    r = client.get("/selection/quota")
    assert r.status_code == 200
    assert "<svg" in r.text and 'data-testid="quota-table"' in r.text
    # only cameras with a stream were drawn: amphoes with too few streams fall short
    short = [q for q in quota.compute_quota(db)["rows"] if q["shortfall"]]
    assert short
    assert r.text.count('<tr class="short" data-short="1">') == len(short)
    assert r.text.count('data-short="1"><text') == len(short)  # and the chart marks them too
    assert client.get("/selection/quota?level=agency").status_code == 200


def test_a_surveyor_sees_their_own_list_by_default(client, auth, db, drawn):
    auth.login("surveyor")
    page = client.get("/")
    mine = len(sel_db.rows_assignments(db, user_name="surveyor"))
    assert re.search(r'data-testid="camera-total">[^<]*\b%d\b' % mine, page.text)
    assert page.text.count('data-testid="selected-tag"') == mine
    everything = client.get("/?show=all")
    assert re.search(r'data-testid="camera-total">[^<]*\b300\b', everything.text)
    auth.logout()
    auth.login("supervisor")
    assert re.search(r'data-testid="camera-total">[^<]*\b300\b', client.get("/").text)
    selected = client.get("/?show=selected")
    assert re.search(r'data-testid="camera-total">[^<]*\b60\b', selected.text)


def test_replacement_requested_by_surveyor_confirmed_by_supervisor(client, auth, db, drawn):
    cid = sel_db.rows_assignments(db, user_name="surveyor")[0]["camera_id"]
    auth.login("surveyor")
    form = client.get(f"/selection/replacements?camera={cid}")
    assert form.status_code == 200 and f'value="{cid}" selected' in form.text
    r = client.post("/selection/replacements", data={"camera_id": cid, "reason": "no_access",
                                                     "note": "ประตูปิด"}, follow_redirects=True)
    assert r.status_code == 200 and 'data-state="requested"' in r.text
    rid = sel_db.rows_replacements(db, drawn["id"])[0]["id"]
    refused = client.post(f"/selection/replacements/{rid}", data={"action": "confirm"})
    assert refused.status_code == 403
    auth.logout()
    auth.login("supervisor")
    done = client.post(f"/selection/replacements/{rid}", data={"action": "confirm", "note": "ok"},
                       follow_redirects=True)
    assert done.status_code == 200
    req = sel_db.get_replacement(db, rid)
    assert req["state"] == "confirmed"
    assert 'data-state="confirmed"' in done.text and req["replacement_camera_id"] in done.text
    assert "ประตูปิด" in done.text  # the reason stays visible
    assert database.rows_audit(db, entity="camera")[0]["actor"] == "supervisor"


def test_assignments_page_assigns_an_amphoe(client, auth, db, drawn):
    auth.login("supervisor")
    r = client.post("/selection/assignments", data={"mode": "amphoe", "amphoe": "1102",
                                                    "user": "surveyor"}, follow_redirects=True)
    assert r.status_code == 200
    assert set(sel_db.selected_ids_in_amphoe(db, drawn["id"], "1102")) <= {
        a["camera_id"] for a in sel_db.rows_assignments(db, user_name="surveyor")}
    bad = client.post("/selection/assignments", data={"mode": "hand", "ids": "NOPE-1",
                                                      "user": "surveyor"})
    assert bad.status_code == 404 and "NOPE-1" in bad.text
