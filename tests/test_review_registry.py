"""Review on the central registry across nodes, and its decisions reaching the nodes."""

import json
import re
import uuid

import pytest
import requests

from survey_node import accounts
from survey_node import config as config_mod
from survey_node import db as database
from survey_node import survey as survey_svc
from survey_node.db import reviews as review_db
from survey_node.evidence import EvidenceStore
from survey_node.sync import protocol
from survey_node.sync.client import build_entry
from survey_node.registry.service import Registry
from survey_node.registry.app import create_registry_app
from tests.conftest import PINS
from tests.sync_helpers import SURVEYOR, add_token, make_node, run_sync, running_registry

pytestmark = pytest.mark.usefixtures("registry_backend")

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_registry_users(registry_dir):
    registry = Registry(config_mod.load(registry_dir))
    try:
        with registry.db() as db:
            for role in ("supervisor", "surveyor"):
                accounts.add_user(db, registry.config.security, name=role, role=role,
                                  pin=PINS[role])
    finally:
        registry.store.close()


def push(api, registry, node_cfg):
    """Everything a node has completed, through the sync API (as `sync` would send it)."""
    token = registry.add_token(node_cfg.node.id)
    auth = {"Authorization": f"Bearer {token}"}
    db = database.connect(node_cfg.db_path)
    try:
        entries = [build_entry(db, i) for (i,) in db.execute("SELECT id FROM surveys ORDER BY id")]
    finally:
        db.close()
    manifest = protocol.new_manifest(node_cfg.node.id, str(uuid.uuid4()), "2026-11-25", entries)
    reply = api.post("/api/v1/batches", json=manifest, headers=auth)
    store = EvidenceStore(node_cfg.evidence_dir)
    for sha in reply.json["missing"]:
        api.put(f"/api/v1/evidence/{sha}", data=store.read_bytes(sha), headers=auth)
    assert api.post(f"/api/v1/batches/{manifest['batch_id']}/commit", headers=auth).status_code == 200
    return token, [e["id"] for e in entries]


def login(client, name):
    page = client.get("/review/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    response = client.post("/review/login", data={"name": name, "pin": PINS[name],
                                                   "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    # A login starts a new session, so the form token of the pages after it is a new one.
    return CSRF.search(client.get("/review/login").get_data(as_text=True)).group(1)


@pytest.fixture
def setup(tmp_path):
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    registry = Registry(config_mod.load(registry_dir))
    app = create_registry_app(registry.config, registry=registry)
    add_registry_users(registry_dir)
    api = app.test_client()
    a = make_node(tmp_path / "node-a", "node-a", surveys=2)
    b = make_node(tmp_path / "node-b", "node-b", surveys=1)
    token_a, ids_a = push(api, registry, a)
    _, ids_b = push(api, registry, b)
    registry.import_cameras([{"camera_id": "node-a-00000", "site_name": "แยกโคราช",
                              "agency": "เทศบาลนคร", "amphoe_code": "3001",
                              "amphoe_name": "เมืองนครราชสีมา", "registered_lat": "13.6",
                              "registered_lon": 100.6, "stream_url": "rtsp://u:secret@x/1"}])
    return {"app": app, "registry": registry, "ids_a": ids_a, "ids_b": ids_b,
            "token_a": token_a, "dir": registry_dir}


def test_pages_need_a_supervisor_and_the_api_still_needs_a_token(setup):
    client = setup["app"].test_client()
    assert client.get("/review/").status_code == 302  # to the login page
    assert client.get("/api/v1/decisions").status_code == 401
    login(client, "surveyor")
    assert client.get("/review/").status_code == 403
    sid = setup["ids_a"][0]
    token = CSRF.search(client.get("/review/login").get_data(as_text=True)).group(1)
    response = client.post(f"/review/{sid}", data={"decision": "approved", "csrf_token": token})
    assert response.status_code == 403
    with setup["registry"].db() as db:
        assert db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0


def test_queue_across_nodes_compare_and_decide(setup):
    client = setup["app"].test_client()
    token = login(client, "supervisor")
    queue = client.get("/review/").get_data(as_text=True)
    assert all(i in queue for i in setup["ids_a"] + setup["ids_b"])
    # Which node sent each survey is shown, and the node filter offers both.
    assert f'data-survey="{setup["ids_b"][0]}"' in queue and 'data-node="node-b"' in queue
    assert '<option value="node-a"' in queue and '<option value="node-b"' in queue
    only_b = client.get("/review/?node=node-b").get_data(as_text=True)
    assert setup["ids_b"][0] in only_b and setup["ids_a"][0] not in only_b
    by_amphoe = client.get("/review/?amphoe=3001").get_data(as_text=True)
    assert "แยกโคราช" in by_amphoe and setup["ids_b"][0] not in by_amphoe
    sid = next(i for i in setup["ids_a"] if "แยกโคราช" in client.get(f"/review/{i}").get_data(as_text=True))
    page = client.get(f"/review/{sid}").get_data(as_text=True)
    assert "node-a" in page and "secret" not in page and 'data-reg-lat="13.6"' in page
    photo = re.search(r'src="(/review/evidence/[0-9a-f]{64})"', page).group(1)
    assert client.get(photo).status_code == 200
    refused = client.post(f"/review/{sid}", data={"decision": "resurvey", "csrf_token": token})
    assert refused.status_code == 400 and 'data-testid="review-error"' in refused.get_data(as_text=True)
    assert client.post(f"/review/{sid}", data={"decision": "approved"}).status_code == 400  # no CSRF
    done = client.post(f"/review/{sid}", data={
        "decision": "resurvey", "reason": "ถ่ายป้ายหน่วยงานให้ชัด", "flags": ["camera_moved"],
        "csrf_token": token})
    assert done.status_code == 302
    pulled = setup["app"].test_client().get(
        "/api/v1/decisions?node=node-a", headers={"Authorization": f"Bearer {setup['token_a']}"}).json
    decision = pulled["decisions"][0]
    assert (decision["survey_id"], decision["state"], json.loads(decision["flags"])) == \
        (sid, "resurvey", ["camera_moved"])
    assert sid not in client.get("/review/").get_data(as_text=True)  # no longer pending
    assert sid in client.get("/review/?status=resurvey").get_data(as_text=True)


def test_a_registry_decision_reopens_the_survey_on_the_node_at_the_next_sync(tmp_path):
    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=2, registry_url=url)
        add_token(registry_dir, cfg)
        assert run_sync(cfg).returncode == 0
        add_registry_users(registry_dir)
        web = requests.Session()
        page = web.get(f"{url}/review/login", timeout=10).text
        token = CSRF.search(page).group(1)
        web.post(f"{url}/review/login", data={"name": "supervisor", "pin": PINS["supervisor"],
                                              "csrf_token": token}, timeout=10)
        queue = web.get(f"{url}/review/", timeout=10).text
        token = CSRF.search(queue).group(1)  # the logged-in session's form token
        survey_id = re.search(r'data-survey="([0-9a-f-]{36})"', queue).group(1)
        decided = web.post(f"{url}/review/{survey_id}", timeout=10, data={
            "decision": "resurvey", "reason": "มุมกล้องไม่ตรง ถ่ายใหม่", "flags": ["picture_obstructed"],
            "csrf_token": token})
        assert decided.status_code == 200 and "บันทึกผลการตรวจแล้ว" in decided.text
        pulled = json.loads(run_sync(cfg).stdout)
        assert pulled["decisions_received"] == 1
    db = database.connect(cfg.db_path)
    try:
        survey = survey_svc.get(db, survey_id)
        assert (survey["state"], survey["revision"], survey["review_state"],
                survey["review_reason"]) == ("draft", 2, "resurvey", "มุมกล้องไม่ตรง ถ่ายใหม่")
        kept = review_db.rows_reviews(db, [survey_id])
        assert [(r["source"], r["reviewer"], r["flags"]) for r in kept] == \
            [("registry", "supervisor", ["picture_obstructed"])]
        # the surveyor completes it again: it waits for review once more
        survey_svc.save_answers(db, cfg, survey_id, user=SURVEYOR, notes="ถ่ายใหม่แล้ว")
        again = survey_svc.complete(db, cfg, survey_id, user=SURVEYOR)
        assert again["state"] == "complete" and again["review_state"] is None
    finally:
        db.close()


def test_cli_adds_a_registry_user_who_can_log_in(cli, tmp_path):
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    added = cli("registry", "user", "add", "boss", "--role", "supervisor", "--pin-stdin",
                "--data-dir", registry_dir, input="246800\n")
    assert added.exit_code == 0, added.output
    again = cli("registry", "user", "add", "boss", "--pin-stdin", "--data-dir", registry_dir,
                input="246800\n")
    assert again.exit_code == 2 and "already exists" in again.output
    registry = Registry(config_mod.load(registry_dir))
    client = create_registry_app(registry.config, registry=registry).test_client()
    token = CSRF.search(client.get("/review/login").get_data(as_text=True)).group(1)
    ok = client.post("/review/login", data={"name": "boss", "pin": "246800", "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/review/")


def test_the_province_hand_in_file_has_every_node_s_surveys_and_decisions(setup, tmp_path, cli):
    import csv
    import io

    from openpyxl import load_workbook

    client = setup["app"].test_client()
    token = login(client, "supervisor")
    sid = next(i for i in setup["ids_a"]
               if "แยกโคราช" in client.get(f"/review/{i}").get_data(as_text=True))
    client.post(f"/review/{sid}", data={"decision": "rejected", "reason": "ภาพไม่ชัด",
                                        "csrf_token": token})
    queue = client.get("/review/?status=all").get_data(as_text=True)
    assert 'data-testid="registry-export-xlsx"' in queue

    reply = client.get("/review/export.xlsx?status=all")
    assert reply.status_code == 200 and "cctv-province-all-" in reply.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(reply.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[0] == "รหัสกล้อง" and header[-1] == "เครื่องสำรวจ (โหนด)"
    assert len(rows) == 1 + 3 and {r[-1] for r in rows[1:]} == {"node-a", "node-b"}
    by_camera = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    decided = by_camera["node-a-00000"]
    assert decided["ชื่อจุดติดตั้ง"] == "แยกโคราช" and decided["หน่วยงาน"] == "เทศบาลนคร"
    assert decided["ผลการตรวจสอบ"] == "ไม่อนุมัติ" and decided["เหตุผลของผู้ตรวจ"] == "ภาพไม่ชัด"
    assert decided["ผู้ตรวจสอบ"] == "supervisor" and decided["ละติจูดที่สำรวจ"] is not None
    assert all(r["ผลการตรวจสอบ"] == "รอตรวจ" for c, r in by_camera.items() if c != "node-a-00000")
    assert not any("secret" in str(value) for r in rows for value in r)  # no stream URL

    # Only the rejected tab's surveys; CSV opens in Excel on Thai Windows (UTF-8 with BOM).
    reply = client.get("/review/export.csv?status=rejected")
    assert reply.data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert len(lines) == 2 and lines[1][0] == "node-a-00000"

    # The same from the CLI, for the office's script.
    out = tmp_path / "province.xlsx"
    result = cli("registry", "export", "--data-dir", setup["dir"], "--status", "pending",
                 "--out", out)
    assert result.exit_code == 0 and "2 surveys" in result.output
    assert load_workbook(out).active.max_row == 3

    login(client, "surveyor")
    assert client.get("/review/export.xlsx").status_code == 403


def test_the_registry_dashboard_counts_every_node_s_surveys_and_their_review(setup):
    client = setup["app"].test_client()
    token = login(client, "supervisor")
    sid = setup["ids_b"][0]
    client.post(f"/review/{sid}", data={"decision": "approved", "csrf_token": token})
    page = client.get("/review/dashboard").get_data(as_text=True)
    assert 'data-testid="total-pending"' in page
    totals = dict(re.findall(r'data-testid="total-(\w+)"><a [^>]*>(\d+)<', page))
    assert totals == {"pending": "2", "approved": "1", "rejected": "0", "resurvey": "0"}
    nodes = re.search(r'data-testid="dash-nodes".*?</section>', page, re.S).group(0)
    cells = dict(re.findall(r'<tr data-code="(node-[ab])"><td>[^<]*</td>((?:<td class="num">\d+</td>)+)', nodes))
    assert re.findall(r"\d+", cells["node-a"]) == ["2", "2", "0", "0", "0"]
    assert re.findall(r"\d+", cells["node-b"]) == ["1", "0", "1", "0", "0"]
    amphoes = re.search(r'data-testid="dash-amphoes".*?</section>', page, re.S).group(0)
    assert "เมืองนครราชสีมา" in amphoes  # from the registry's camera entry
    assert page.count("<svg") >= 2  # the charts, drawn on the server
    login(client, "surveyor")
    assert client.get("/review/dashboard").status_code == 403


def test_logging_out_of_the_registry_ends_a_saved_cookie_too(setup):
    client = setup["app"].test_client()
    token = login(client, "supervisor")
    saved = client.get_cookie("session").value
    assert client.get("/review/").status_code == 200
    client.post("/review/logout", data={"csrf_token": token})
    thief = setup["app"].test_client()
    thief.set_cookie("session", saved)
    assert thief.get("/review/").status_code == 302


def test_the_registry_judges_a_fix_by_where_its_error_came_from(tmp_path):
    """A cheap dongle's good fix (no GST: gpsd's eph 17 m from HDOP 0.9) must not read as a
    poor fix on the registry, and a GST-measured 17 m must."""
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    registry = Registry(config_mod.load(registry_dir))
    app = create_registry_app(registry.config, registry=registry)
    add_registry_users(registry_dir)
    node = make_node(tmp_path / "node-c", "node-c", surveys=2)
    db = database.connect(node.db_path)
    try:
        ids = [i for (i,) in db.execute("SELECT id FROM surveys ORDER BY id")]
        for sid, source in zip(ids, ("estimated", "gst")):
            db.execute("UPDATE surveys SET eph = 17.1, hdop = 0.9, sats_used = 8, fix_mode = 3,"
                       " eph_source = ?, fix_status = 'gps', revision = revision + 1"
                       " WHERE id = ?", [source, sid])
        db.conn.commit()
    finally:
        db.close()
    push(app.test_client(), registry, node)
    client = app.test_client()
    login(client, "supervisor")
    grades = {}
    for sid, source in zip(ids, ("estimated", "gst")):
        page = client.get(f"/review/{sid}").get_data(as_text=True)
        grades[source] = re.search(r'data-testid="gps-grade">([^<]+)<', page).group(1)
        if source == "estimated":
            assert "ประมาณจาก HDOP ไม่ได้วัดจริง" in page
    assert grades == {"estimated": "ดี", "gst": "ต่ำ"}


def test_the_registry_has_a_home_a_language_switch_and_says_who_sent_a_revision(setup):
    client = setup["app"].test_client()
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/review/")
    login_page = client.get("/review/login").get_data(as_text=True)
    assert 'data-testid="language"' in login_page  # switchable before logging in too
    token = login(client, "supervisor")
    switched = client.post("/review/language", data={"lang": "en", "next": "/review/",
                                                     "csrf_token": token})
    assert switched.status_code == 302
    # A switch without a page to go back to lands on the queue, not on an error.
    bare = client.post("/review/language", data={"lang": "en", "csrf_token": token})
    assert bare.status_code == 302 and bare.headers["Location"].endswith("/review/")
    queue = client.get("/review/").get_data(as_text=True)
    assert 'lang="en"' in queue and "Review" in queue
    sid = setup["ids_a"][0]
    page = client.get(f"/review/{sid}").get_data(as_text=True)
    history = page[page.index('data-testid="history"'):]
    assert "· node-a · Received from the node" in history and " ·  · " not in history


def test_a_survey_approved_on_the_node_shows_approved_on_the_registry_after_sync(tmp_path):
    """One review state across node and registry: the supervisor who approved on the node
    is not asked again at the registry, and the decision does not come back to the node."""
    from survey_node import review as review_svc

    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=2, registry_url=url)
        add_token(registry_dir, cfg)
        assert run_sync(cfg).returncode == 0
        db = database.connect(cfg.db_path)
        try:
            approved, other = sorted(i for (i,) in db.execute("SELECT id FROM surveys"))
            review_svc.decide(db, approved, user={"name": "supervisor", "role": "supervisor"},
                              decision="approved")
        finally:
            db.close()
        second = json.loads(run_sync(cfg).stdout)
        assert second["decisions_sent"] == 1 and second["decisions_received"] == 0
        assert second["errors"] == []
        add_registry_users(registry_dir)
        web = requests.Session()
        page = web.get(f"{url}/review/login", timeout=10).text
        web.post(f"{url}/review/login", data={"name": "supervisor", "pin": PINS["supervisor"],
                                              "csrf_token": CSRF.search(page).group(1)},
                 timeout=10)
        pending = web.get(f"{url}/review/", timeout=10).text
        assert other in pending and approved not in pending
        assert approved in web.get(f"{url}/review/?status=approved", timeout=10).text
        shown = web.get(f"{url}/review/{approved}", timeout=10).text
        assert "supervisor (node-a)" in shown
        third = json.loads(run_sync(cfg).stdout)
        assert third["decisions_sent"] == 0 and third["decisions_received"] == 0
