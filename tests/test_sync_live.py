"""Sync end to end: a real registry process on 127.0.0.1, sync clients as processes, and a
seeded fault-injecting proxy in between (drops mid-request, 502s, delays)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from survey_node import db as database
from survey_node import survey as survey_svc
from survey_node.evidence import EvidenceStore
from survey_node.db import evidence as evidence_db
from tests.sync_helpers import (SURVEYOR, FaultProxy, add_token, make_node, node_truth,
                                registry_truth, run_sync, running_registry)

pytestmark = pytest.mark.usefixtures("registry_backend")

SUMMARY_KEYS = {"batches", "surveys_sent", "surveys_acknowledged", "evidence_sent",
                "evidence_skipped", "bytes_sent", "decisions_sent", "decisions_received",
                "errors"}


def _assert_exact(cfg, registry_dir):
    """The registry holds exactly the node's surveys (ids, revisions) and evidence, once."""
    node_surveys, node_hashes = node_truth(cfg)
    reg_surveys, (rows, distinct), reg_hashes = registry_truth(registry_dir, cfg.node.id)
    assert reg_surveys == node_surveys
    assert node_hashes <= reg_hashes
    assert rows == distinct
    if "SURVEY_NODE_REGISTRY__EVIDENCE_URL" in os.environ:  # in the bucket only
        assert not [p for p in (registry_dir / "evidence").rglob("*") if p.is_file()]
        assert not (registry_dir / "registry.db").exists()
    db = database.connect(cfg.db_path)
    try:
        states = {r[0] for r in db.execute("SELECT state FROM surveys")}
    finally:
        db.close()
    assert states == {"synced"}
    return reg_hashes


def test_faulty_network_then_one_calm_sync_is_exact(tmp_path):
    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        port = int(url.rsplit(":", 1)[1])
        proxy = FaultProxy(port, seed=8, drop_after_max=150_000)
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=24, photos_per_survey=2,
                        photo_bytes=60_000, registry_url=proxy.url, batch_size=8)
        add_token(registry_dir, cfg)
        env = {"SURVEY_NODE_SYNC__RETRY_DEADLINE_S": "4"}
        for _ in range(3):
            hurt = subprocess.run(
                [sys.executable, "-m", "survey_node", "sync", "--data-dir", str(cfg.data_dir),
                 "--json"], capture_output=True, text=True, timeout=120,
                env={**os.environ, **env})
            assert "Traceback" not in hurt.stderr
        assert proxy.faults["drop"] >= 3 and proxy.faults["502"] >= 1, proxy.faults
        proxy.calm()
        final = run_sync(cfg)
        assert final.returncode == 0, final.stderr
        summary = json.loads(final.stdout)
        assert set(summary) == SUMMARY_KEYS and summary["errors"] == []
        hashes = _assert_exact(cfg, registry_dir)
        assert len(hashes) == 48
        again = json.loads(run_sync(cfg).stdout)
        assert again["batches"] == 0 and again["bytes_sent"] == 0
        # The systemd timer's run is skipped while the last good sync is recent.
        db = database.connect(cfg.db_path)
        try:
            from tests.sync_helpers import add_completed_surveys
            add_completed_surveys(db, cfg, 1, prefix="late-")
        finally:
            db.close()
        timer = run_sync(cfg, "--trigger", "timer")
        assert timer.returncode == 0 and json.loads(timer.stdout)["batches"] == 0
        assert json.loads(run_sync(cfg).stdout)["surveys_acknowledged"] == 1
        proxy.close()


def test_killed_sync_client_resumes_without_duplicates(tmp_path):
    registry_dir = tmp_path / "registry"
    rng = random.Random(88)
    with running_registry(registry_dir) as url:
        port = int(url.rsplit(":", 1)[1])
        # Slow connections (no failures) so that kills land in the middle of the work.
        proxy = FaultProxy(port, seed=3, p_drop=0, p_502=0, p_delay=1.0)
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=30, photos_per_survey=2,
                        photo_bytes=80_000, registry_url=proxy.url, batch_size=5)
        add_token(registry_dir, cfg)
        kills = 0
        for _ in range(5):
            process = subprocess.Popen(
                [sys.executable, "-m", "survey_node", "sync", "--data-dir", str(cfg.data_dir),
                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.4, 1.6))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait(timeout=30)
            process.stdout.close()
            process.stderr.close()
        assert kills >= 2
        final = run_sync(cfg)
        assert final.returncode == 0, final.stderr
        _assert_exact(cfg, registry_dir)
        proxy.close()


def _registry_workers(registry_dir) -> list[int]:
    """Pids of the worker processes of `registry serve --workers` on this data dir."""
    mine = {}
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = stat.read_bytes().split(b"\0")
            ppid = int((stat.parent / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"serve" in argv and str(registry_dir).encode() in argv:
            mine[int(stat.parent.name)] = ppid
    return sorted(pid for pid, ppid in mine.items() if ppid in mine)


# Several registry processes are for a PostgreSQL registry (an embedded one refuses them).
@pytest.mark.parametrize("registry_backend", ["national"], indirect=True)
def test_registry_workers_killed_mid_sync_lose_and_double_nothing(tmp_path, registry_backend):
    registry_dir = tmp_path / "registry"
    rng = random.Random(19)
    with running_registry(registry_dir) as url:
        nodes = [make_node(tmp_path / name, name, surveys=16, photos_per_survey=2,
                           photo_bytes=60_000, registry_url=url, batch_size=4)
                 for name in ("node-a", "node-b")]
        for cfg in nodes:
            add_token(registry_dir, cfg)
        env = {**os.environ, "SURVEY_NODE_SYNC__RETRY_DEADLINE_S": "60"}
        processes = [subprocess.Popen(
            [sys.executable, "-m", "survey_node", "sync", "--data-dir", str(cfg.data_dir),
             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for cfg in nodes]
        kills = 0
        while any(p.poll() is None for p in processes) and kills < 4:
            time.sleep(rng.uniform(0.2, 0.8))
            workers = _registry_workers(registry_dir)
            if workers:  # none alive for a moment: connections wait in the parent's socket
                os.kill(rng.choice(workers), signal.SIGKILL)
                kills += 1
        outputs = [p.communicate(timeout=180) for p in processes]
        for process, (_, err) in zip(processes, outputs):
            assert "Traceback" not in err
        assert kills >= 1
        for cfg in nodes:  # a calm sync after: everything there exactly once
            final = run_sync(cfg)
            assert final.returncode == 0, final.stderr
            _assert_exact(cfg, registry_dir)
        assert len(registry_truth(registry_dir)[0]) == 32
        deadline = time.monotonic() + 60
        while len(_registry_workers(registry_dir)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(_registry_workers(registry_dir)) == 2  # every killed worker came back


def test_three_nodes_sync_at_once(tmp_path):
    registry_dir = tmp_path / "registry"
    shared = b"the same poster photographed by every team" * 100
    with running_registry(registry_dir) as url:
        nodes = []
        for name in ("node-a", "node-b", "node-c"):
            cfg = make_node(tmp_path / name, name, surveys=12, photos_per_survey=2,
                            photo_bytes=30_000, registry_url=url, batch_size=4)
            db = database.connect(cfg.db_path)
            try:  # one identical photo on every node: stored once at the registry
                sha = EvidenceStore(cfg.evidence_dir).put_bytes(shared)
                evidence_db.upsert_evidence(db, {"sha256": sha, "kind": "photo",
                                                 "mime": "image/jpeg", "bytes": len(shared),
                                                 "source": "upload"})
                first = db.execute("SELECT id FROM surveys LIMIT 1").fetchone()[0]
                survey_svc.add_photo(db, cfg, first, user=SURVEYOR, sha256=sha, role="other")
                survey_svc.complete(db, cfg, first, user=SURVEYOR)
            finally:
                db.close()
            add_token(registry_dir, cfg)
            nodes.append(cfg)
        processes = [subprocess.Popen(
            [sys.executable, "-m", "survey_node", "sync", "--data-dir", str(cfg.data_dir),
             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for cfg in nodes]
        outputs = [p.communicate(timeout=180) for p in processes]
        for process, (out, err) in zip(processes, outputs):
            assert process.returncode == 0, err
            assert json.loads(out)["surveys_acknowledged"] == 12
        every = set()
        for cfg in nodes:
            every |= _assert_exact(cfg, registry_dir)
        assert len(registry_truth(registry_dir)[0]) == 36
        assert len(every) == 3 * 24 + 1


def test_rejected_survey_comes_back_for_resurvey_with_the_reason(tmp_path, cli):
    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=2, registry_url=url)
        add_token(registry_dir, cfg)
        assert run_sync(cfg).returncode == 0
        survey_id = sorted(node_truth(cfg)[0])[0]
        decided = cli("registry", "decide", survey_id, "--state", "resurvey", "--reason",
                      "ภาพกล้องไม่ชัด ถ่ายใหม่", "--data-dir", registry_dir)
        assert decided.exit_code == 0, decided.output
        pulled = json.loads(run_sync(cfg).stdout)
        assert pulled["decisions_received"] == 1
        db = database.connect(cfg.db_path)
        try:
            survey = survey_svc.get(db, survey_id)
            assert (survey["state"], survey["revision"], survey["review_state"],
                    survey["review_reason"]) == ("draft", 2, "resurvey", "ภาพกล้องไม่ชัด ถ่ายใหม่")
            survey_svc.save_answers(db, cfg, survey_id, user=SURVEYOR, notes="ถ่ายใหม่แล้ว")
            survey_svc.complete(db, cfg, survey_id, user=SURVEYOR)
        finally:
            db.close()
        cameras = tmp_path / "cameras.json"
        cameras.write_text(json.dumps([
            {"camera_id": "node-a-00000", "site_name": "แยกใหม่ (แก้ชื่อ)", "province_code": "30"},
            {"camera_id": "KR-NEW-1", "site_name": "กล้องใหม่", "province_code": "30",
             "registered_lat": 14.97, "registered_lon": 102.1}], ensure_ascii=False),
            encoding="utf-8")
        loaded = cli("registry", "import-cameras", cameras, "--data-dir", registry_dir)
        assert loaded.exit_code == 0 and "2 new or changed" in loaded.output
        resent = json.loads(run_sync(cfg).stdout)
        assert resent["surveys_acknowledged"] == 1 and resent["decisions_received"] == 0
        surveys, (rows, _), _ = registry_truth(registry_dir)
        assert surveys[survey_id] == 2 and rows == 3
        _assert_exact(cfg, registry_dir)
        db = database.connect(cfg.db_path)
        try:
            names = dict(db.execute("SELECT camera_id, site_name FROM cameras").fetchall())
        finally:
            db.close()
        assert names["node-a-00000"] == "แยกใหม่ (แก้ชื่อ)" and names["KR-NEW-1"] == "กล้องใหม่"


def test_sync_errors_are_reported_not_raised(tmp_path):
    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=1, registry_url=url)
        # No token registered: the node's own random secret is refused.
        result = run_sync(cfg)
        assert result.returncode == 1
        summary = json.loads(result.stdout)
        assert "unknown or revoked registry token" in summary["errors"][0]
        far = run_sync(cfg, "--registry", "http://192.0.2.1:9")
        assert far.returncode == 2 and "Plain http to 192.0.2.1 is refused" in far.stderr
        assert far.stderr.count("\n") == 1
    # The supervisor's sync page says what the registry answered in Thai, not in English.
    from survey_node import accounts
    from survey_node import db as database
    from survey_node.app import create_app
    from tests.conftest import PINS

    db = database.connect(cfg.db_path)
    try:
        accounts.add_user(db, cfg.security, name="supervisor", role="supervisor",
                          pin=PINS["supervisor"])
    finally:
        db.close()
    app = create_app(cfg, testing=True)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"name": "supervisor", "pin": PINS["supervisor"]})
    page = client.get("/sync").get_data(as_text=True)
    assert "ไม่มีโทเค็นศูนย์กลาง หรือโทเค็นไม่ถูกต้องหรือถูกยกเลิกแล้ว" in page
    assert "revoked registry token" not in page


def test_a_revision_conflict_holds_back_only_that_survey(tmp_path):
    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=2, registry_url=url)
        add_token(registry_dir, cfg)
        assert run_sync(cfg).returncode == 0
        db = database.connect(cfg.db_path)
        try:  # a restored backup: same revision, other content, waiting to be sent again
            changed = db.execute("SELECT id FROM surveys LIMIT 1").fetchone()[0]
            db.execute("UPDATE surveys SET state = 'complete', notes = 'from the backup'"
                       " WHERE id = ?", [changed])
            db.conn.commit()
            from tests.sync_helpers import add_completed_surveys
            [new] = add_completed_surveys(db, cfg, 1, prefix="new-")
        finally:
            db.close()
        result = run_sync(cfg)
        assert result.returncode == 1
        summary = json.loads(result.stdout)
        assert summary["surveys_acknowledged"] == 1
        assert f"Survey {changed} revision 1 is already held with different content" in \
            summary["errors"][0]
        db = database.connect(cfg.db_path)
        try:
            states = dict(db.execute("SELECT id, state FROM surveys").fetchall())
        finally:
            db.close()
        assert states[new] == "synced" and states[changed] == "complete"


def test_an_unverifiable_tls_certificate_is_refused_at_once(tmp_path):
    """A registry behind https with a certificate nobody vouches for: no data leaves."""
    import http.server
    import ssl
    import threading

    from tests.conftest import require_system

    require_system("openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            seen.append(self.path)
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=1,
                        registry_url=f"https://127.0.0.1:{server.server_port}")
        start = time.monotonic()
        result = run_sync(cfg)
        assert result.returncode == 1
        error = json.loads(result.stdout)["errors"][0]
        assert "TLS certificate could not be verified" in error
        assert time.monotonic() - start < 30 and seen == []
    finally:
        server.shutdown()


def test_a_batch_left_open_is_resent_and_a_newer_revision_follows(tmp_path):
    from survey_node.sync.client import plan_batches

    registry_dir = tmp_path / "registry"
    with running_registry(registry_dir) as url:
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=2, registry_url=url)
        add_token(registry_dir, cfg)
        db = database.connect(cfg.db_path)
        try:  # a sync died right after planning; then the surveyor changed a survey
            [left_open] = plan_batches(db, cfg, run_id=None)
            changed = left_open["surveys"][0]["id"]
            survey_svc.save_answers(db, cfg, changed, user=SURVEYOR, notes="แก้หลังวางแผน")
            survey_svc.complete(db, cfg, changed, user=SURVEYOR)
        finally:
            db.close()
        summary = json.loads(run_sync(cfg).stdout)
        assert summary["batches"] == 2 and summary["errors"] == []
        surveys, (rows, _), _ = registry_truth(registry_dir)
        assert surveys[changed] == 2 and rows == 3
        _assert_exact(cfg, registry_dir)
        history = json.loads(subprocess.run(
            [sys.executable, "-m", "survey_node", "registry", "history", "--json",
             "--data-dir", str(registry_dir)], capture_output=True, text=True,
            timeout=60).stdout)
        assert [e["batch_id"] for e in history if e["action"] == "commit"][-1] == \
            left_open["batch_id"]
