"""The registry on PostgreSQL where it differs from one SQLite file: several processes
writing at once, a database that is wrong or goes away, and a schema that matches the
embedded one. Each `Registry` here has its own connection pool, as a registry process has;
the races are run many times, each start released by a barrier so they overlap for real.
"""

import json
import os
import subprocess
import sys
import threading
import uuid

import pytest

from survey_node import config as config_mod
from survey_node.errors import Conflict
from survey_node.evidence import EvidenceStore
from survey_node.registry.app import create_registry_app
from survey_node.registry.db import pg, pg_schema
from survey_node.registry.db.migrations import connect_registry
from survey_node.registry.service import Registry
from survey_node.sync import protocol
from survey_node.sync.client import build_entry
from survey_node import db as database
from tests.sync_helpers import make_node, registry_sql

ROUNDS = 8


@pytest.fixture
def registry_dir(tmp_path, postgres_registry):
    root = tmp_path / "registry"
    root.mkdir()
    return root


@pytest.fixture
def two(registry_dir):
    """Two registries on one database: what two registry processes are."""
    first, second = (Registry(config_mod.load(registry_dir)) for _ in range(2))
    yield first, second
    first.store.close()
    second.store.close()


@pytest.fixture
def node(tmp_path):
    return make_node(tmp_path / "node-a", "node-a", surveys=ROUNDS, photos_per_survey=1)


def together(*calls):
    """Run the calls at the same moment on their own threads; each one's result or error."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait(timeout=30)
        try:
            results[index] = ("ok", call())
        except Exception as exc:  # the caller asserts which errors are right
            results[index] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a write hung"
    return results


def _entries(node):
    db = database.connect(node.db_path)
    try:
        return [build_entry(db, i) for (i,) in db.execute("SELECT id FROM surveys ORDER BY id")]
    finally:
        db.close()


def _revised(entry, revision, note):
    changed = json.loads(json.dumps(entry))
    changed["revision"] = revision
    changed["fields"]["notes"] = note
    changed["content_sha256"] = protocol.content_hash(changed)
    return changed


def _received(registry, node, entries):
    """A batch received and its evidence uploaded; ready to commit."""
    manifest = protocol.new_manifest(node.node.id, str(uuid.uuid4()), "2026-12-04", entries)
    reply = registry.receive_batch(node.node.id, manifest)
    store = EvidenceStore(node.evidence_dir)
    for sha in reply["missing"]:
        registry.put_evidence(node.node.id, sha, [store.read_bytes(sha)], None)
    return manifest["batch_id"]


def _commit_together(two, batch, other):
    """The first registry commits `batch` while the second commits `other`."""
    first, second = two
    return together(lambda: first.commit_batch("node-a", batch),
                    lambda: second.commit_batch("node-a", other))


def test_no_registry_db_file_is_made_and_the_schema_matches_the_embedded_one(registry_dir,
                                                                            two, tmp_path):
    two[0].add_token("node-a")
    assert not (registry_dir / "registry.db").exists()
    (tmp_path / "embedded").mkdir()
    embedded = connect_registry(tmp_path / "embedded" / "registry.db")
    try:
        # table_xinfo: with the generated columns, which table_info leaves out
        tables = {name: {r[1] for r in embedded.execute(f"PRAGMA table_xinfo({name})")}
                  for name in embedded.table_names()
                  if not name.startswith(("_", "sqlite_"))}
    finally:
        embedded.close()
    found = registry_sql(registry_dir, "SELECT table_name, column_name FROM"
                         " information_schema.columns WHERE table_schema = 'public'")
    on_pg = {}
    for table, column in found:
        on_pg.setdefault(table, set()).add(column)
    for table, columns in tables.items():
        assert on_pg.get(table) == columns, table


def test_two_processes_committing_one_batch_store_it_once_with_one_receipt(two, node,
                                                                          registry_dir):
    first = two[0]
    first.add_token("node-a")
    for entry in _entries(node):
        batch = _received(first, node, [entry])
        results = _commit_together(two, batch, batch)
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert results[0][1] == results[1][1]  # the same receipt, word for word
        assert results[0][1]["surveys"][0]["result"] == "stored"
    [(surveys, revisions)] = registry_sql(
        registry_dir, "SELECT (SELECT count(*) FROM surveys),"
                      " (SELECT count(*) FROM survey_revisions)")
    assert surveys == revisions == ROUNDS
    [(commits,)] = registry_sql(registry_dir,
                                "SELECT count(*) FROM sync_events WHERE action = 'commit'")
    assert commits == ROUNDS


def test_racing_revisions_leave_the_higher_one_current_and_keep_both(two, node, registry_dir):
    first, second = two
    first.add_token("node-a")
    for entry in _entries(node):
        third = _received(first, node, [_revised(entry, 3, "third")])
        fourth = _received(second, node, [_revised(entry, 4, "fourth")])
        results = _commit_together(two, third, fourth)
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert registry_sql(registry_dir, "SELECT revision FROM surveys WHERE id = ?",
                            [entry["id"]])[0][0] == 4
        held = registry_sql(registry_dir, "SELECT revision FROM survey_revisions WHERE id = ?"
                            " ORDER BY revision", [entry["id"]])
        assert held == [(3,), (4,)]


def test_the_same_revision_with_other_content_at_once_keeps_one_and_refuses_the_other(
        two, node, registry_dir):
    first, second = two
    first.add_token("node-a")
    for entry in _entries(node):
        one = _received(first, node, [_revised(entry, 2, "one version")])
        other = _received(second, node, [_revised(entry, 2, "another version")])
        results = _commit_together(two, one, other)
        kinds = sorted(kind for kind, _ in results)
        assert kinds == ["error", "ok"], results
        [refused] = [value for kind, value in results if kind == "error"]
        assert isinstance(refused, Conflict) and refused.code == "revision_conflict"
        [kept] = [value for kind, value in results if kind == "ok"]
        [(held,)] = registry_sql(registry_dir, "SELECT content_sha256 FROM surveys WHERE id = ?",
                                 [entry["id"]])
        assert held == kept["surveys"][0]["content_sha256"]
        assert len(registry_sql(registry_dir, "SELECT 1 FROM survey_revisions WHERE id = ?",
                                [entry["id"]])) == 1


def test_a_node_pulling_while_supervisors_decide_misses_no_decision(two, node):
    first, second = two
    first.add_token("node-a")
    ids = [e["id"] for e in _entries(node)]
    first.commit_batch("node-a", _received(first, node, _entries(node)))
    done = threading.Event()
    pulled, since = [], 0

    def pull_until_done():
        nonlocal since
        while True:
            finished = done.is_set()
            answer = first.decisions_since("node-a", "", since)
            pulled.extend(d["seq"] for d in answer["decisions"])
            since = answer["next_since"]
            if finished and not answer["more"]:
                return

    def decide(registry, survey_ids, who):
        for round_ in range(3):
            for survey_id in survey_ids:
                registry.record_decision(survey_id, state="resurvey",
                                         reason=f"round {round_}", decided_by=who)

    puller = threading.Thread(target=pull_until_done)
    puller.start()
    results = together(lambda: decide(first, ids[::2], "a"), lambda: decide(second, ids[1::2], "b"),
                       lambda: decide(second, ids, "c"))
    done.set()
    puller.join(timeout=60)
    assert [kind for kind, _ in results] == ["ok"] * 3, results
    # Every decision reached the node once, in order: none was committed behind the
    # node's `since` after it had read past it.
    assert pulled == sorted(pulled) and len(pulled) == len(set(pulled)) == 3 * 2 * len(ids)


def test_two_processes_migrating_a_new_database_at_once_apply_each_step_once(pg_cluster):
    with pg_cluster.admin() as conn:
        name = "m_" + uuid.uuid4().hex[:12]
        conn.execute(f"CREATE DATABASE {name}")
    url = pg_cluster.url(name)
    try:
        results = together(lambda: pg_schema.migrate(url), lambda: pg_schema.migrate(url))
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        db = pg.connect_once(url)
        try:
            assert pg_schema.pending_steps(db) == []
            applied = [r[0] for r in db.execute("SELECT name FROM registry_migrations ORDER BY name")]
        finally:
            db.close()
        assert applied == [step for step, _ in pg_schema.STEPS]
    finally:
        pg_cluster.drop_database(name)


def test_a_wrong_database_url_or_password_is_one_line_and_no_server(tmp_path, pg_cluster,
                                                                   monkeypatch):
    root = tmp_path / "reg"
    root.mkdir()
    bad_password = pg_cluster.url("postgres").replace(":" + pg_cluster.url("x").split(":")[2]
                                                      .split("@")[0] + "@", ":wrong@")
    for url, says in [(bad_password, "password authentication failed"),
                      ("mysql://registry@127.0.0.1/x", "must be a postgresql:// URL")]:
        result = subprocess.run(
            [sys.executable, "-m", "survey_node", "registry", "serve", "--data-dir", str(root),
             "--port", "1"], capture_output=True, text=True, timeout=60,
            env={**os.environ, "SURVEY_NODE_REGISTRY__DATABASE_URL": url})
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and says in lines[0], result.stderr
        assert "wrong" not in lines[0]  # the password is never printed
    assert not (root / "registry.db").exists()


def test_readiness_names_the_database_when_it_goes_away(registry_dir, pg_cluster):
    registry = Registry(config_mod.load(registry_dir))
    client = create_registry_app(registry.config, registry=registry).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["backend"] == "postgresql"
    assert ready.json["database"] == "ok" and ready.json["evidence"] == "ok"
    name = registry.config.registry.database_url.rsplit("/", 1)[1]
    pg_cluster.drop_database(name)
    gone = client.get("/readyz")
    assert gone.status_code == 503 and gone.json["status"] == "unavailable"
    assert name in gone.json["database"] and gone.json["evidence"] == "ok"
    registry.store.close()


def _cut_connections(pg_cluster, database: str) -> int:
    """What a database restart or a firewall's idle cut does to the registry's pool: every
    server process of `database` ends; returns how many there were."""
    with pg_cluster.admin() as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE datname = %s AND pid <> pg_backend_pid()",
                                [database]).fetchall())


def test_connections_cut_under_the_registry_are_replaced_not_served_dead(registry_dir,
                                                                          pg_cluster):
    # A database restart, a failover or a firewall's idle cut ends the pooled connections;
    # the pool pings each one before lending it, so no request (a node's, a reviewer's
    # page) gets a dead one, even one given back a moment before the cut.
    registry = Registry(config_mod.load(registry_dir))
    token = registry.add_token("node-a")
    client = create_registry_app(registry.config, registry=registry).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    name = registry.config.registry.database_url.rsplit("/", 1)[1]
    for _ in range(3):
        assert client.get("/api/v1/history", headers=auth).status_code == 200
        assert _cut_connections(pg_cluster, name) >= 1
        answer = client.get("/api/v1/history", headers=auth)
        assert answer.status_code == 200 and answer.json["events"] is not None
    registry.store.close()


def test_several_workers_are_refused_for_an_embedded_registry(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "survey_node", "registry", "serve", "--data-dir",
         str(tmp_path / "embedded"), "--workers", "3", "--port", "1"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("SURVEY_NODE_")})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--workers 3 needs a PostgreSQL database" in result.stderr
