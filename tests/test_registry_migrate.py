"""`registry migrate`: an embedded registry with real surveys, photos, decisions, cameras and
users moved into a real PostgreSQL (tests/pg_server.py) and an S3 server (Ceph RGW;
tests/s3_server.py), then served from there."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

from survey_node import accounts
from survey_node import config as config_mod
from survey_node import db as database
from survey_node.cli import main as cli_main
from survey_node.db import users as user_db
from survey_node.errors import BadInput
from survey_node.evidence import EvidenceStore
from survey_node.registry.db import pg
from survey_node.registry.db.dashboard import COUNT_TABLES
from survey_node.registry.db.review import rows_registry_queue, rows_survey_history
from survey_node.registry.move import move_registry
from survey_node.registry.service import Registry
from survey_node.registry.store import FileObjectStore
from survey_node.sync import protocol
from survey_node.sync.client import build_entry
from tests.s3_server import running_s3_server
from tests.sync_helpers import make_node

PIN = "246800"


@pytest.fixture
def cluster(pg_cluster):
    return pg_cluster


@pytest.fixture(scope="module")
def s3():
    with running_s3_server() as server:
        yield server


@pytest.fixture
def empty_db(cluster):
    """A database with no schema at all: the move must migrate it first."""
    name = "m_" + uuid.uuid4().hex[:16]
    with cluster.admin() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield cluster.url(name)
    cluster.drop_database(name)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An embedded registry two nodes synced into (through the service, as the HTTP API
    does): committed and open batches, a second revision, photos, decisions made on the
    registry and on a node, cameras, a refusal, a supervisor."""
    root = tmp_path_factory.mktemp("migrate")
    registry_dir = root / "registry"
    registry_dir.mkdir()
    reg = Registry(config_mod.load(registry_dir, env={}))
    tokens = {}
    for node_id, count in (("node-a", 4), ("node-b", 2)):
        node = make_node(root / node_id, node_id, surveys=count, photos_per_survey=2)
        tokens[node_id] = reg.add_token(node_id, province="นครราชสีมา")
        entries = _entries(node)
        reg.import_cameras([{"camera_id": e["fields"]["camera_id"], "province_code": "30",
                             "site_name": f"จุด {i}", "agency": "อบจ."}
                            for i, e in enumerate(entries)])
        _send(reg, node, entries)
    node_a = root / "node-a"
    entries = _entries(config_mod.load(node_a, env={}))
    second = dict(entries[0], revision=entries[0]["revision"] + 1,
                  fields=dict(entries[0]["fields"], notes="ย้ายกล้องแล้ว"))
    second["content_sha256"] = protocol.content_hash(second)
    _send(reg, config_mod.load(node_a, env={}), [second])
    reg.receive_batch("node-a", protocol.new_manifest("node-a", str(uuid.uuid4()), "2026-12-03",
                                                      entries[1:2]))  # left open
    reg.record_decision(entries[1]["id"], state="approved", reason="", decided_by="sup")
    reg.record_decision(entries[2]["id"], state="resurvey", reason="ภาพไม่ชัด",
                        decided_by="sup", flags=["camera_moved"])
    node_b_ids = [e["id"] for e in _entries(config_mod.load(root / "node-b", env={}))]
    reg.receive_node_decisions("node-b", {"decisions": [
        {"survey_id": node_b_ids[0], "revision": 1, "state": "rejected", "reason": "ซ้ำ",
         "decided_by": "หัวหน้า"}]})
    reg.record_decision(node_b_ids[1], state="approved", reason="", decided_by="sup")
    reg.note_refusal(None, "Missing, unknown or revoked registry token")
    with reg.db() as db:
        accounts.add_user(db, reg.config.security, name="Supervisor", role="supervisor",
                          pin=PIN, display_name="หัวหน้า", actor="cli")
    return {"dir": registry_dir, "tokens": tokens, "surveys": [e["id"] for e in entries]
            + node_b_ids, "entry": entries[3]}


def _entries(node_cfg) -> list[dict]:
    db = database.connect(node_cfg.db_path)
    try:
        return [build_entry(db, r[0]) for r in db.execute("SELECT id FROM surveys ORDER BY id")]
    finally:
        db.close()


def _send(reg, node_cfg, entries):
    manifest = protocol.new_manifest(node_cfg.node.id, str(uuid.uuid4()), "2026-12-02", entries)
    files = EvidenceStore(node_cfg.evidence_dir)
    for sha in reg.receive_batch(node_cfg.node.id, manifest)["missing"]:
        data = files.read_bytes(sha)
        reg.put_evidence(node_cfg.node.id, sha, [data], len(data))
    reg.commit_batch(node_cfg.node.id, manifest["batch_id"])


@pytest.fixture
def source(built, tmp_path):
    """A copy of the built registry, so a test may change it."""
    target = tmp_path / "source"
    shutil.copytree(built["dir"], target)
    return target


def _migrate(runner, source, url, *extra):
    return runner.invoke(cli_main, ["registry", "migrate", "--data-dir", str(source),
                                    "--to", url, *extra])


@pytest.fixture
def pg_registry():
    """A Registry on the moved database (and bucket); its pool is closed after the test."""
    opened = []

    def start(data_dir, url, evidence_url=""):
        env = {"SURVEY_NODE_REGISTRY__DATABASE_URL": url}
        if evidence_url:
            env["SURVEY_NODE_REGISTRY__EVIDENCE_URL"] = evidence_url
        opened.append(Registry(config_mod.load(data_dir, env=env)))
        return opened[-1]

    yield start
    for reg in opened:
        reg.store.close()


def _what_a_user_sees(reg: Registry, survey_ids: list[str]) -> dict:
    with reg.db() as db:
        queue = {status: rows_registry_queue(db, status=status)
                 for status in ("all", "pending", "approved", "resurvey", "rejected")}
        histories = {sid: rows_survey_history(db, sid) for sid in survey_ids}
        supervisor = user_db.get_user_by_name(db, "supervisor")
    return {"queue": queue, "histories": histories, "history": reg.history(),
            "decisions": {n: reg.decisions_since(n, "", 0) for n in ("node-a", "node-b")},
            "cameras": reg.cameras_since("node-a", "", 0),
            "supervisor": {k: supervisor[k] for k in ("id", "name", "role", "display_name")}}


def _dump(url: str) -> dict:
    db = pg.connect_once(url)
    try:
        tables = [r[0] for r in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema ="
            " current_schema() AND table_name != 'registry_migrations' ORDER BY 1")]
        # The dashboard's count tables by their sums per key: their ids are history.
        return {t: sorted(map(repr, db.execute(
                    f"SELECT {COUNT_TABLES[t]}, sum(n) FROM {t} GROUP BY {COUNT_TABLES[t]}"
                    if t in COUNT_TABLES else f'SELECT * FROM "{t}"').fetchall()))
                for t in tables}
    finally:
        db.close()


def test_a_moved_registry_serves_the_same_surveys_from_postgresql(built, source, empty_db,
                                                                   runner, pg_registry):
    embedded = Registry(config_mod.load(source, env={}))
    before = _what_a_user_sees(embedded, built["surveys"])
    committed = next(e for e in before["history"] if e["action"] == "commit")
    result = _migrate(runner, source, empty_db)
    assert result.exit_code == 0, result.output
    assert "surveys:" in result.output and "verified:" in result.output
    assert f"evidence objects: stay in {source / 'evidence'}" in result.output

    reg = pg_registry(source, empty_db)
    assert reg.store.kind == "postgresql"
    assert _what_a_user_sees(reg, built["surveys"]) == before
    assert before["queue"]["all"][0] == 6 and before["decisions"]["node-b"]["decisions"]
    # The nodes' tokens and the supervisor's PIN still work, and a replayed commit answers
    # with its stored receipt.
    assert reg.authenticate(f"Bearer {built['tokens']['node-a']}") == "node-a"
    with reg.db() as db:
        user = accounts.authenticate(db, reg.config.security, name="Supervisor", pin=PIN,
                                     client="127.0.0.1")
    assert user["role"] == "supervisor"
    assert reg.commit_batch(committed["node_id"], committed["batch_id"]) \
        == embedded.commit_batch(committed["node_id"], committed["batch_id"])
    # New rows get new ids: the sequences were moved past the copied ones.
    last = max(d["seq"] for n in ("node-a", "node-b")
               for d in before["decisions"][n]["decisions"])
    decided = reg.record_decision(built["surveys"][3], state="approved", reason="",
                                  decided_by="sup")
    assert decided["seq"] > last
    reg.note_refusal(None, "after the move")
    assert reg.history()[0]["error"] == "after the move"
    # The node syncs on: its photos are known to be held by it, so nothing is asked again.
    entry = dict(built["entry"], revision=2, fields=dict(built["entry"]["fields"], notes="2"))
    entry["content_sha256"] = protocol.content_hash(entry)
    manifest = protocol.new_manifest("node-a", str(uuid.uuid4()), "2026-12-04", [entry])
    assert reg.receive_batch("node-a", manifest)["missing"] == []
    receipt = reg.commit_batch("node-a", manifest["batch_id"])
    assert [s["result"] for s in receipt["surveys"]] == ["stored"]


def test_the_evidence_is_copied_by_hash_and_served_from_the_new_store(source, empty_db,
                                                                      tmp_path, pg_registry):
    new_dir = tmp_path / "national"
    new_dir.mkdir()
    report = move_registry(config_mod.load(source, env={}), to=empty_db,
                           target_objects=FileObjectStore(new_dir / "evidence"))
    assert report["ok"], report["errors"]
    old = FileObjectStore(source / "evidence")
    hashes = list(old.iter_hashes())
    assert report["evidence"]["copied"] == len(hashes) == 12 + 0  # 6 surveys x 2 photos
    assert report["evidence"]["bytes"] == sum((source / "evidence" / h[:2] / h).stat().st_size
                                              for h in hashes)
    reg = pg_registry(new_dir, empty_db)
    for sha in hashes:
        with reg.store.objects.open(sha) as fh, old.open(sha) as want:
            assert fh.read() == want.read()
    again = move_registry(config_mod.load(source, env={}), to=empty_db,
                          target_objects=FileObjectStore(new_dir / "evidence"))
    assert again["evidence"] == {"copied": 0, "skipped": 12, "bytes": 0}


def test_the_evidence_moves_into_a_bucket_and_the_moved_registry_serves_it(
        source, empty_db, s3, runner, pg_registry):
    bucket = s3.new_bucket()
    _point_at(s3, source)
    url = f"s3://{bucket}/evidence"
    result = _migrate(runner, source, empty_db, "--evidence", url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["evidence"]["copied"] == 12 and report["ok"]
    hashes = sorted(FileObjectStore(source / "evidence").iter_hashes())
    assert s3.keys(bucket) == [f"evidence/{h[:2]}/{h}" for h in hashes]

    reg = pg_registry(source, empty_db, url)
    assert reg.store.check() == {"database": "ok", "evidence": "ok"}
    for sha in hashes:
        with reg.store.objects.open(sha) as fh:
            assert fh.read() == (source / "evidence" / sha[:2] / sha).read_bytes()
    again = _migrate(runner, source, empty_db, "--evidence", url)
    assert again.exit_code == 0 and "nothing to move" in again.output
    assert f"0 copied (0 bytes), 12 already there in {url}" in again.output


def _point_at(s3, registry_dir):
    """The registry's config names the S3 server, its credentials files the keys."""
    (registry_dir / "config.toml").write_text(
        f'[registry]\ns3_endpoint_url = "{s3.endpoint_url}"\n', encoding="utf-8")
    (registry_dir / "secrets").mkdir(mode=0o700, exist_ok=True)
    for name, value in (("registry_s3_access_key_id", s3.access_key_id),
                        ("registry_s3_secret_access_key", s3.secret_access_key)):
        (registry_dir / "secrets" / name).write_text(value + "\n", encoding="utf-8")


def test_a_bucket_that_does_not_answer_is_refused_in_one_line(source, empty_db, s3, runner):
    _point_at(s3, source)
    result = _migrate(runner, source, empty_db, "--evidence", "s3://no-such-bucket/evidence")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"error: The evidence bucket no-such-bucket at"
                                    f" {s3.endpoint_url} does not answer")
    assert not any(_dump(empty_db).values())


def test_a_damaged_evidence_file_is_refused_not_moved(source, empty_db, tmp_path):
    old = FileObjectStore(source / "evidence")
    sha = next(old.iter_hashes())
    old.path(sha).write_bytes(b"not the photo")
    new = FileObjectStore(tmp_path / "new")
    with pytest.raises(BadInput) as raised:
        move_registry(config_mod.load(source, env={}), to=empty_db, target_objects=new)
    assert str(raised.value).startswith(f"Evidence object {sha} of the source was not copied:"
                                        " Evidence bytes hash to ")
    assert not new.has(sha) and not any(_dump(empty_db).values())  # refused before any row


def test_a_second_run_moves_nothing_and_says_so(source, empty_db, runner):
    assert _migrate(runner, source, empty_db).exit_code == 0
    copied = _dump(empty_db)
    again = _migrate(runner, source, empty_db, "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert report["ok"] and {t["copied"] for t in report["tables"]} == {0}
    assert {t["table"]: t["already"] for t in report["tables"]}["surveys"] == 6
    assert _dump(empty_db) == copied
    text = _migrate(runner, source, empty_db)
    assert "nothing to move: the target already held everything" in text.output


def test_an_interrupted_move_finishes_on_the_next_run_as_a_clean_copy(source, empty_db,
                                                                     cluster):
    clean = cluster.new_database()
    try:
        assert move_registry(config_mod.load(source, env={}), to=cluster.url(clean))["ok"]

        def stop_in_decisions(table, read):
            if table == "decisions" and read >= 2:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            move_registry(config_mod.load(source, env={}), to=empty_db, page=2,
                          on_page=stop_in_decisions)
        half = _dump(empty_db)
        assert half["nodes"] and len(half["decisions"]) == 2 and not half["cameras"]
        report = move_registry(config_mod.load(source, env={}), to=empty_db, page=2)
        assert report["ok"], report["errors"]
        by_table = {t["table"]: t for t in report["tables"]}
        assert by_table["decisions"]["already"] == 2 and by_table["cameras"]["already"] == 0
        assert _dump(empty_db) == _dump(cluster.url(clean))
    finally:
        cluster.drop_database(clean)


def test_a_move_killed_mid_copy_finishes_on_the_next_run(source, cluster, runner):
    target, clean = cluster.new_database(), cluster.new_database()
    try:
        assert _migrate(runner, source, cluster.url(clean)).exit_code == 0
        # Hold the cameras table so the move stops there, one row per transaction, with the
        # tables before it written; then kill it as a power cut would.
        holder = pg.connect_once(cluster.url(target))
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE cameras IN SHARE ROW EXCLUSIVE MODE")
        move = subprocess.Popen(
            [sys.executable, "-m", "survey_node", "registry", "migrate", "--data-dir",
             str(source), "--to", cluster.url(target), "--page-size", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        watcher = pg.connect_once(cluster.url(target))
        try:
            _wait_for_a_lock_wait(watcher, move)
        finally:
            watcher.close()
            move.send_signal(signal.SIGKILL)
            move.wait(timeout=30)
            holder.execute("ROLLBACK")
            holder.close()
        half = _dump(cluster.url(target))
        assert len(half["decisions"]) == 4 and not half["cameras"] and not half["users"]
        result = _migrate(runner, source, cluster.url(target))
        assert result.exit_code == 0, result.output
        assert _dump(cluster.url(target)) == _dump(cluster.url(clean))
    finally:
        cluster.drop_database(target)
        cluster.drop_database(clean)


def _wait_for_a_lock_wait(db, process, deadline_s: float = 60) -> None:
    # `db` is not the lock holder: in a transaction pg_stat_activity would not change.
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"the move ended first: {process.stderr.read()!r}")
        if db.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                      " AND datname = current_database() AND pid != pg_backend_pid()"
                      ).fetchone()[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the move never reached the held table")


def test_a_column_the_target_lacks_is_refused_before_any_row_moves(source, empty_db, runner):
    conn = sqlite3.connect(source / "registry.db")
    conn.execute("ALTER TABLE surveys ADD COLUMN priority TEXT")
    conn.commit()
    conn.close()
    result = _migrate(runner, source, empty_db)
    assert result.exit_code == 2
    assert result.output.strip() == ("error: Schema drift: the target's table surveys has no"
                                     " column priority")
    assert not any(_dump(empty_db).values())


def test_a_required_target_column_the_source_lacks_is_refused(source, cluster, runner):
    name = cluster.new_database()
    try:
        db = pg.connect_once(cluster.url(name))
        db.execute("ALTER TABLE cameras ADD COLUMN district TEXT NOT NULL")
        db.close()
        result = _migrate(runner, source, cluster.url(name))
        assert result.exit_code == 2
        assert result.output.strip() == ("error: Schema drift: the target's cameras.district"
                                         " needs a value the source does not have")
    finally:
        cluster.drop_database(name)


def test_a_row_the_target_cannot_take_is_named_in_one_line(built, source, empty_db, runner):
    survey_id = built["surveys"][0]
    conn = sqlite3.connect(source / "registry.db")
    conn.execute("UPDATE survey_revisions SET revision = 'two' WHERE id = ? AND revision = 1",
                 [survey_id])
    conn.commit()
    conn.close()
    result = _migrate(runner, source, empty_db, "--page-size", "1")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(
        f"error: Writing survey_revisions into the target failed in the rows from"
        f" id='{survey_id}', revision='two': invalid input syntax for type integer")
    assert len(_dump(empty_db)["surveys"]) == 6  # the tables before it are kept


def test_pages_are_bounded_by_size_as_well_as_rows(tmp_path):
    from survey_node.registry.db.move import iter_source_pages

    db = database.connect(tmp_path / "t.db", migrate=False)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    db.conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 1000) for i in range(5)])
    table = {"name": "t", "key": ["id"], "columns": ["id", "body"]}
    pages = list(iter_source_pages(db, table, ["id", "body"], 1000, page_bytes=2500))
    assert [[r[0] for r in p] for p in pages] == [[0, 1, 2], [3, 4]]


def test_a_target_holding_other_content_for_a_survey_is_refused(built, source, empty_db,
                                                                runner):
    assert _migrate(runner, source, empty_db).exit_code == 0
    survey_id = built["surveys"][3]
    db = pg.connect_once(empty_db)
    db.execute("UPDATE surveys SET content_sha256 = ? WHERE id = ?", ["0" * 64, survey_id])
    db.close()
    result = _migrate(runner, source, empty_db)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"error: The target already holds survey {survey_id} with other content" \
        in result.output


def test_rows_the_source_lacks_are_reported_as_a_mismatch(source, empty_db, runner,
                                                          pg_registry):
    assert _migrate(runner, source, empty_db).exit_code == 0
    reg = pg_registry(source, empty_db)
    reg.note_refusal("node-z", "written on the new registry")
    result = _migrate(runner, source, empty_db)
    assert result.exit_code == 1
    assert "sync_events: 8 row(s) in the source but 9 in the target" in result.output


@pytest.mark.parametrize("url, said", [
    ("mysql://registry@127.0.0.1/x", "error: --to must be a postgresql:// URL, not"),
    ("postgresql://registry:wrong@127.0.0.1:{port}/postgres",
     "error: The registry's database postgresql://registry:***@127.0.0.1:{port}/postgres"
     " does not answer"),
    ("postgresql://registry@127.0.0.1:1/nowhere",
     "error: The registry's database postgresql://registry@127.0.0.1:1/nowhere does not"
     " answer"),
])
def test_a_bad_target_gives_one_line_and_a_failing_exit(source, cluster, runner, url, said):
    result = _migrate(runner, source, url.format(port=cluster.port))
    assert result.exit_code == 2
    assert result.output.startswith(said.format(port=cluster.port))
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_an_evidence_target_that_is_not_a_bucket_is_refused(source, empty_db, runner):
    result = _migrate(runner, source, empty_db, "--evidence", "/srv/evidence")
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --evidence must be an s3://bucket/prefix URL,"
                                     " not '/srv/evidence'")


def test_a_data_dir_without_a_registry_is_refused(tmp_path, empty_db, runner):
    result = _migrate(runner, tmp_path / "typo", empty_db)
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: {tmp_path / 'typo' / 'registry.db'} does not"
                                     " exist: --data-dir must be an embedded registry's data dir")
    assert not (tmp_path / "typo").exists()
