"""The central registry on a really full disk (a small tmpfs), with a real registry process
and real sync clients; and `doctor` on a node whose disk is nearly full. Issue 16, item 11.

The registry answers 507 with a JSON body saying its disk is full (and Retry-After); the
node backs off instead of resending whole files, prints what it is waiting for, and
reports what the registry said rather than "did not answer in time". Once space is freed
the next sync is exact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import requests

from tests.full_disk import Filler, free_bytes, shrink_wal, small_disk
from tests.sync_helpers import add_token, make_node, node_truth, registry_truth, running_registry

PHOTO_BYTES = 1_500_000  # a phone photo after the node's scaling, about
DEADLINE_S = 10  # long enough for several asks; each failing sync waits all of it


def sync(cfg, *, deadline_s: float = DEADLINE_S, **settings) -> tuple[subprocess.CompletedProcess,
                                                                      dict]:
    env = {**os.environ, "SURVEY_NODE_SYNC__RETRY_DEADLINE_S": str(deadline_s),
           **{f"SURVEY_NODE_SYNC__{k.upper()}": str(v) for k, v in settings.items()}}
    done = subprocess.run(
        [sys.executable, "-m", "survey_node", "sync", "--data-dir", str(cfg.data_dir), "--json"],
        capture_output=True, text=True, timeout=deadline_s + 60, env=env)
    return done, json.loads(done.stdout.strip().splitlines()[-1])


def leftovers(registry_dir) -> tuple[list[str], set[str]]:
    """Temp files under the registry's evidence, and evidence files no row names."""
    evidence = registry_dir / "evidence"
    temps = [str(p) for p in evidence.rglob(".tmp-*")]
    files = {p.name for p in evidence.glob("??/*") if not p.name.startswith(".")}
    _, _, rows = registry_truth(registry_dir)
    return temps, files - rows


def test_a_full_registry_answers_507_and_the_node_says_so(tmp_path):
    node = make_node(tmp_path / "node", "node-full-1", surveys=2, photo_bytes=PHOTO_BYTES,
                     registry_url="http://placeholder")
    with small_disk(tmp_path / "registry-disk", size_mb=16) as disk:
        registry_dir = disk / "registry"
        with running_registry(registry_dir) as url:
            _point_at(node, url)
            token = add_token(registry_dir, node)
            filler = Filler(disk)
            shrink_wal(registry_dir / "registry.db")
            filler.fill()

            # The registry itself: 507 with a JSON body, and its health page still reads.
            answer = requests.post(f"{url}/api/v1/batches", timeout=10,
                                   headers={"Authorization": f"Bearer {token}"},
                                   data=_manifest_of(node))
            assert answer.status_code == 507
            assert answer.headers["Content-Type"].startswith("application/json")
            problem = answer.json()
            assert problem["error"] == "disk_full" and "disk is full" in problem["message"]
            assert int(answer.headers["Retry-After"]) > 0
            assert requests.get(f"{url}/healthz", timeout=10).status_code == 200

            # The node: asks again after growing pauses (a short cap here, so it asks a few
            # times in the 10 s), prints each, and fails in one line saying what it heard.
            done, summary = sync(node, max_backoff_s=2)
            assert done.returncode == 1
            assert summary["surveys_acknowledged"] == 0 and summary["evidence_sent"] == 0
            line = " ".join(summary["errors"])
            assert "507" in line and "disk is full" in line, line
            assert "did not answer in time" not in line
            waits = [w for w in done.stderr.splitlines() if "answered 507 disk_full" in w]
            assert len(waits) >= 3 and "asking again in 2 s" in done.stderr, done.stderr
            assert len(waits) <= DEADLINE_S / 0.2  # paced, not a tight loop
            # The node's sync page tells a supervisor the same, in Thai.
            assert "ดิสก์ของศูนย์กลางเต็ม" in _sync_page(node)

            filler.free()
            done, summary = sync(node)
            assert done.returncode == 0, done.stderr
            assert summary["surveys_acknowledged"] == 2
        surveys, hashes = node_truth(node)
        reg_surveys, _, reg_hashes = registry_truth(registry_dir, node.node.id)
        assert reg_surveys == surveys and hashes <= reg_hashes


def test_evidence_that_does_not_fit_is_not_resent_in_a_loop(tmp_path):
    """Room for the batch's rows but not its photos: the issue's case (26.7 MB in 20 s)."""
    node = make_node(tmp_path / "node", "node-full-2", surveys=2, photo_bytes=PHOTO_BYTES,
                     registry_url="http://placeholder")
    with small_disk(tmp_path / "registry-disk", size_mb=16) as disk:
        registry_dir = disk / "registry"
        with running_registry(registry_dir) as url:
            _point_at(node, url)
            add_token(registry_dir, node)
            filler = Filler(disk)
            filler.fill(leave=600_000)  # a batch row fits, a 1.5 MB photo does not
            assert free_bytes(disk) < PHOTO_BYTES

            done, summary = sync(node)
            assert done.returncode == 1
            line = " ".join(summary["errors"])
            assert "507" in line and "disk is full" in line, line
            assert "did not answer in time" not in line
            # Each photo went at most twice in the 10 s (before: again and again).
            assert summary["bytes_sent"] <= 2 * 2 * PHOTO_BYTES + 100_000, summary
            # What it waits for is printed, the registry's Retry-After (60 s) honoured.
            assert "507 disk_full to PUT /api/v1/evidence/" in done.stderr, done.stderr
            assert "waiting out the sync's deadline" in done.stderr
            temps, orphans = leftovers(registry_dir)
            assert temps == [] and orphans == set()

            filler.free()
            done, summary = sync(node)
            assert done.returncode == 0, done.stderr
            assert summary["surveys_acknowledged"] == 2
            assert leftovers(registry_dir) == ([], set())


def _point_at(cfg, url: str) -> None:
    from survey_node import config as config_mod

    path = cfg.data_dir / config_mod.CONFIG_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("http://placeholder", url),
                    encoding="utf-8")
    cfg.sync.registry_url = url


def _manifest_of(cfg) -> bytes:
    """The manifest the node would send first (planned, as the client plans it)."""
    from survey_node import db as database
    from survey_node.sync import protocol
    from survey_node.sync.client import plan_batches

    db = database.connect(cfg.db_path)
    try:
        manifest = plan_batches(db, cfg, run_id=None)[0]
    finally:
        db.close()
    return protocol.canonical_json(manifest)


def _sync_page(cfg) -> str:
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
    assert client.post("/login", data={"name": "supervisor",
                                       "pin": PINS["supervisor"]}).status_code == 302
    page = client.get("/sync")
    assert page.status_code == 200
    return page.get_data(as_text=True)
