"""Sync throughput and resume cost over loopback (issue 8's quality bars).

* A full sync of N surveys x 3 photos (~300 KB each, incompressible like JPEG) against a
  registry process, compared with a bare `requests` PUT of the same files to the same kind
  of registry (its batches announced beforehand, untimed): ratio = bare time / sync time,
  bar >= 0.8.
* A re-run with nothing new: bar < 2 s.
* A sync killed once half the evidence has arrived, then resumed: client->registry bytes
  (counted by a pass-through proxy) over those of one uninterrupted sync, bar < 1.05.

`BENCH_SYNC_SURVEYS` sets N (default 200, the issue's full size is 500).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from survey_node import config as config_mod
from survey_node import db as database
from survey_node.sync import protocol
from survey_node.sync.client import build_entry
from tests.sync_helpers import FaultProxy, add_token, make_node, running_registry

PHOTO_BYTES = 300 * 1024


def _sync(cfg, url: str) -> tuple[float, dict]:
    os.sync()
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "survey_node", "sync", "--data-dir",
                          str(cfg.data_dir), "--registry", url, "--json"],
                         capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"sync failed: {out.stderr.strip()[-300:]}")
    return elapsed, json.loads(out.stdout)


def _bare_upload(cfg, registry_dir: Path, url: str) -> tuple[float, int]:
    """Announce the node's batches to a registry (untimed), then time plain PUTs of the files."""
    token = add_token(registry_dir, cfg)
    db = database.connect(cfg.db_path)
    try:  # every survey, whatever its state (a node may have synced already)
        ids = [r[0] for r in db.execute("SELECT id FROM surveys ORDER BY id")]
        manifests = [protocol.new_manifest(cfg.node.id, str(uuid.uuid4()), "bench",
                                           [build_entry(db, i) for i in ids[k:k + 50]])
                     for k in range(0, len(ids), 50)]
    finally:
        db.close()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for m in manifests:
        session.post(f"{url}/api/v1/batches", json=m, timeout=60).raise_for_status()
    files = sorted(cfg.evidence_dir.glob("*/*"))
    total = 0
    os.sync()  # start both sides with no pending disk writeback
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            session.put(f"{url}/api/v1/evidence/{path.name}", data=fh,
                        timeout=60).raise_for_status()
        total += path.stat().st_size
    return time.perf_counter() - start, total


def _evidence_count(registry_dir: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{registry_dir / 'registry.db'}?mode=ro", uri=True,
                               timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM evidence").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def main() -> bool:
    surveys = int(os.environ.get("BENCH_SYNC_SURVEYS", "200"))
    root = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    failed = False
    try:
        for name in list(os.environ):
            if name.startswith(config_mod.ENV_PREFIX):
                del os.environ[name]
        t0 = time.perf_counter()
        cfg = make_node(root / "node", "bench-node", surveys=surveys, photos_per_survey=3,
                        photo_bytes=PHOTO_BYTES, batch_size=50)
        shutil.copytree(cfg.data_dir, root / "node-copy")
        photos = surveys * 3
        print(f"   setup: {surveys} surveys, {photos} photos of {PHOTO_BYTES // 1024} KB"
              f" ({photos * PHOTO_BYTES / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s",
              flush=True)

        # Best of two for each side: the machine is shared, a single run is noisy.
        bare_runs, sync_runs = [], []
        for n in range(2):
            node = cfg if n == 0 else config_mod.load(
                shutil.copytree(root / "node-copy", root / f"node-{n}"))
            with running_registry(root / f"registry-{n}") as url:
                add_token(root / f"registry-{n}", node)
                sync_runs.append(_sync(node, url))
                if n == 0:
                    rerun_s, again = _sync(node, url)
            with running_registry(root / f"registry-bare-{n}") as bare_url:
                bare_runs.append(_bare_upload(node, root / f"registry-bare-{n}", bare_url))
        bare_s, bare_bytes = min(bare_runs)
        sync_s, summary = min(sync_runs, key=lambda r: r[0])
        ratio = bare_s / sync_s
        print(f"   bare requests PUTs: {bare_bytes / 1e6:.0f} MB in {bare_s:.2f} s"
              f" ({bare_bytes / bare_s / 1e6:.0f} MB/s)")
        print(f"   sync: {summary['surveys_acknowledged']} surveys,"
              f" {summary['evidence_sent']} files in {sync_s:.2f} s"
              f" ({summary['bytes_sent'] / sync_s / 1e6:.0f} MB/s)")
        ok = ratio >= 0.8 and summary["surveys_acknowledged"] == surveys
        failed |= not ok
        print(f"   throughput ratio sync/bare = {ratio:.2f} (bar >= 0.80) "
              f"{'OK' if ok else 'MISS'}")
        ok = rerun_s < 2.0 and again["batches"] == 0
        failed |= not ok
        print(f"   re-run with nothing new: {rerun_s:.2f} s (bar < 2 s) {'OK' if ok else 'MISS'}")

        # Bytes of one uninterrupted sync, counted by the same pass-through proxy.
        clean = config_mod.load(shutil.copytree(root / "node-copy", root / "node-clean"))
        with running_registry(root / "registry-clean") as url:
            proxy = FaultProxy(int(url.rsplit(":", 1)[1]), seed=0)
            proxy.calm()
            add_token(root / "registry-clean", clean)
            _sync(clean, proxy.url)
            clean_bytes = proxy.bytes_up
            proxy.close()

        copy = config_mod.load(root / "node-copy")
        with running_registry(root / "registry-resume") as url:
            port = int(url.rsplit(":", 1)[1])
            proxy = FaultProxy(port, seed=0)
            proxy.calm()
            add_token(root / "registry-resume", copy)
            process = subprocess.Popen([sys.executable, "-m", "survey_node", "sync",
                                        "--data-dir", str(copy.data_dir), "--registry",
                                        proxy.url, "--json"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 600
            while _evidence_count(root / "registry-resume") < photos // 2:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sync ended before it could be interrupted")
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            half = _evidence_count(root / "registry-resume")
            _, resumed = _sync(copy, proxy.url)
            extra = proxy.bytes_up / clean_bytes
            ok = extra < 1.05 and _evidence_count(root / "registry-resume") == photos
            failed |= not ok
            print(f"   killed at {half}/{photos} files, resumed: {proxy.bytes_up / 1e6:.1f} MB"
                  f" sent vs {clean_bytes / 1e6:.1f} MB uninterrupted = {extra:.3f}"
                  f" (bar < 1.05) {'OK' if ok else 'MISS'}")
            proxy.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
