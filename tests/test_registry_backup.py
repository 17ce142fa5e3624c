"""Backup and restore of a registry, end to end, as the README says to do it.

A registry on a throwaway PostgreSQL gets real data through its services (a node's token,
cameras, a committed batch with evidence, review decisions); `pg_dump -Fc` of its database
is restored with `pg_restore` into a new, empty database, the old one is dropped, and a
registry on the restored database (with a copy of the evidence folder, as a bucket's
versions or an rsync copy would give back) must serve the same data and go on working:
nothing renumbered, no id handed out twice, replays answered from the stored receipts.
An embedded registry is copied with `sqlite3 .backup` while a registry process serves it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import uuid

import pytest
import requests

from survey_node import config as config_mod
from survey_node import db as database
from survey_node.evidence import EvidenceStore
from survey_node.inventory.places import province_code
from survey_node.registry import review as registry_review
from survey_node.registry.app import create_registry_app
from survey_node.registry.service import Registry
from survey_node.sync import protocol
from survey_node.sync.client import build_entry
from tests.conftest import require_system
from tests.pg_server import pg_bin
from tests.sync_helpers import add_completed_surveys, make_node, running_registry

pytestmark = pytest.mark.system

PROVINCE = "นครราชสีมา"
DEADLINE_S = 120


@pytest.fixture
def cluster(pg_cluster):
    require_system(pg_bin("pg_dump") or "pg_dump", pg_bin("pg_restore") or "pg_restore")
    return pg_cluster


def _registry(data_dir, monkeypatch, url: str | None) -> Registry:
    if url:
        monkeypatch.setenv("SURVEY_NODE_REGISTRY__DATABASE_URL", url)
    else:
        monkeypatch.delenv("SURVEY_NODE_REGISTRY__DATABASE_URL", raising=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry(config_mod.load(data_dir))
    registry.store.prepare()
    return registry


def _manifest(node, survey_ids: list[str]) -> dict:
    db = database.connect(node.db_path)
    try:
        entries = [build_entry(db, i) for i in survey_ids]
    finally:
        db.close()
    return protocol.new_manifest(node.node.id, str(uuid.uuid4()), "2026-12-04", entries)


def _survey_ids(node) -> list[str]:
    db = database.connect(node.db_path)
    try:
        return [r[0] for r in db.execute("SELECT id FROM surveys ORDER BY id")]
    finally:
        db.close()


def _send(registry: Registry, node, manifest: dict) -> dict:
    """The three steps of a sync, through the registry's services."""
    node_id = node.node.id
    reply = registry.receive_batch(node_id, manifest)
    store = EvidenceStore(node.evidence_dir)
    for sha in reply["missing"]:
        registry.put_evidence(node_id, sha, iter([store.read_bytes(sha)]), None)
    return registry.commit_batch(node_id, manifest["batch_id"])


def _what_it_serves(registry: Registry, node_id: str) -> dict:
    """What the registry answers to a node's pulls and a supervisor's queue."""
    queue = registry_review.queue(registry, status="all")
    return {
        "queue": sorted((i["id"], i["revision"], i["review_state"], i["review_reason"])
                        for i in queue["items"]),
        "rejected": [i["id"] for i in registry_review.queue(registry, status="rejected")["items"]],
        "decisions": [(d["seq"], d["survey_id"], d["revision"], d["state"], d["reason"])
                      for d in registry.decisions_since(node_id, "", 0)["decisions"]],
        "cameras": [(c["camera_id"], c["seq"])
                    for c in registry.cameras_since(node_id, "", 0)["cameras"]],
        "history": [(e["action"], e["batch_id"], e["surveys"]) for e in registry.history(node_id)],
    }


def _pg(name: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([pg_bin(name), *args], capture_output=True, text=True,
                            timeout=DEADLINE_S)
    assert result.returncode == 0, f"{name}: {result.stderr}"
    return result


def test_pg_dump_and_pg_restore_give_back_a_registry_that_goes_on(tmp_path, data_dir,
                                                                  monkeypatch, cluster):
    # -- a registry with real data --------------------------------------------------------
    source_db = cluster.new_database()
    registry = _registry(tmp_path / "registry", monkeypatch, cluster.url(source_db))
    assert registry.store.kind == "postgresql"
    node = make_node(tmp_path / "node-a", "node-a", surveys=3, photos_per_survey=2)
    token = registry.add_token("node-a", province=PROVINCE)
    code = province_code(PROVINCE)
    registry.import_cameras([{"camera_id": f"cam-{i}", "province_code": code,
                              "site_name": f"จุด {i}"} for i in range(3)])
    first = _manifest(node, _survey_ids(node))
    receipt = _send(registry, node, first)
    assert [s["result"] for s in receipt["surveys"]] == ["stored"] * 3
    rejected, approved = first["surveys"][0]["id"], first["surveys"][1]["id"]
    registry.record_decision(rejected, state="rejected", reason="ภาพไม่ชัด", decided_by="somchai")
    registry.record_decision(approved, state="approved", reason="", decided_by="somchai")
    before = _what_it_serves(registry, "node-a")
    assert before["rejected"] == [rejected] and len(before["decisions"]) == 2
    hashes = {e["sha256"] for s in first["surveys"] for e in s["evidence"]}

    # -- backup: the database with pg_dump, the evidence folder copied -------------------
    dump = tmp_path / "registry.dump"
    _pg("pg_dump", "--format=custom", f"--file={dump}", f"--dbname={cluster.url(source_db)}")
    shutil.copytree(tmp_path / "registry" / "evidence", tmp_path / "evidence-copy")
    registry.store.close()

    # -- restore: a new empty database, then the old one gone ----------------------------
    restored_db = "restored_" + uuid.uuid4().hex[:12]
    with cluster.admin() as conn:
        conn.execute(f"CREATE DATABASE {restored_db} TEMPLATE template0")
    # --no-owner: the restoring role owns what it creates, whoever owned the original.
    _pg("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={cluster.url(restored_db)}",
        str(dump))
    cluster.drop_database(source_db)
    shutil.copytree(tmp_path / "evidence-copy", tmp_path / "restored" / "evidence")
    restored = _registry(tmp_path / "restored", monkeypatch, cluster.url(restored_db))
    assert restored.store.check() == {"database": "ok", "evidence": "ok"}

    # -- the same data --------------------------------------------------------------------
    assert _what_it_serves(restored, "node-a") == before
    with restored.db() as db:
        held = {r[0] for r in db.execute("SELECT sha256 FROM evidence").fetchall()}
    assert held == hashes
    for sha in held:  # every row's evidence is there, whole
        with restored.store.objects.open(sha) as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == sha

    # The node's token (only its hash was stored) still works, over the HTTP API.
    api = create_registry_app(restored.config, registry=restored).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/readyz").json["backend"] == "postgresql"
    pulled = api.get("/api/v1/decisions?since=0", headers=auth)
    assert pulled.status_code == 200
    assert [d["seq"] for d in pulled.json["decisions"]] == [d[0] for d in before["decisions"]]

    # A replayed old batch gets its stored receipt, to the byte.
    again = api.post("/api/v1/batches", json=first, headers=auth)
    assert again.status_code == 200 and again.json["state"] == "committed"
    assert again.json["receipt"] == receipt
    commit = api.post(f"/api/v1/batches/{first['batch_id']}/commit", headers=auth)
    assert commit.status_code == 200 and commit.json == receipt

    # -- and it goes on: new rows get ids after the restored ones -------------------------
    db = database.connect(node.db_path)
    try:
        new_ids = add_completed_surveys(db, node, 2, prefix="after-")
    finally:
        db.close()
    second = _manifest(node, new_ids)
    reply = api.post("/api/v1/batches", json=second, headers=auth)
    assert reply.status_code == 200 and reply.json["missing"]
    store = EvidenceStore(node.evidence_dir)
    for sha in reply.json["missing"]:
        put = api.put(f"/api/v1/evidence/{sha}", data=store.read_bytes(sha), headers=auth)
        assert put.status_code == 200, put.json
    commit = api.post(f"/api/v1/batches/{second['batch_id']}/commit", headers=auth)
    assert commit.status_code == 200, commit.json
    assert [s["result"] for s in commit.json["surveys"]] == ["stored"] * 2
    decision = restored.record_decision(new_ids[0], state="resurvey", reason="ไม่พบกล้อง",
                                        decided_by="somchai")
    assert decision["seq"] > max(d[0] for d in before["decisions"])
    changed = restored.import_cameras([{"camera_id": "cam-new", "province_code": code}])
    after = _what_it_serves(restored, "node-a")
    assert changed == 1 and after["cameras"][-1][1] > max(c[1] for c in before["cameras"])
    assert [d[0] for d in after["decisions"]] == [d[0] for d in before["decisions"]] + \
        [decision["seq"]]
    assert len(after["queue"]) == 5
    history_ids = [e["id"] for e in restored.history("node-a")]
    assert len(history_ids) == len(set(history_ids))
    restored.store.close()


def test_an_embedded_registry_is_copied_whole_while_it_serves(tmp_path, data_dir, monkeypatch):
    """`sqlite3 registry.db ".backup COPY"` beside a serving registry process: the copy has
    every commit, also those still only in registry.db-wal (which a cp of the file lacks)."""
    require_system("sqlite3")
    root = tmp_path / "registry"
    registry = _registry(root, monkeypatch, None)
    assert registry.store.kind == "sqlite"
    node = make_node(tmp_path / "node-a", "node-a", surveys=2)
    registry.add_token("node-a", province=PROVINCE)
    first = _manifest(node, _survey_ids(node))
    with running_registry(root) as base:
        # The serving process holds registry.db open, so the WAL is not folded back into
        # the file when this commit's connection closes.
        receipt = _send(registry, node, first)
        registry.record_decision(first["surveys"][0]["id"], state="resurvey", reason="มืด",
                                 decided_by="somchai")
        before = _what_it_serves(registry, "node-a")
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
        assert (root / "registry.db-wal").stat().st_size > 0
        copy = tmp_path / "backup" / "registry.db"
        copy.parent.mkdir()
        result = subprocess.run(["sqlite3", str(root / "registry.db"), f".backup '{copy}'"],
                                capture_output=True, text=True, timeout=DEADLINE_S)
        assert result.returncode == 0 and not result.stderr, result.stderr
    shutil.copytree(root / "evidence", tmp_path / "backup" / "evidence")

    restored_root = tmp_path / "restored"
    shutil.copytree(tmp_path / "backup", restored_root)
    restored = _registry(restored_root, monkeypatch, None)
    assert _what_it_serves(restored, "node-a") == before
    assert restored.commit_batch("node-a", first["batch_id"]) == receipt
    assert restored.store.check() == {"database": "ok", "evidence": "ok"}
