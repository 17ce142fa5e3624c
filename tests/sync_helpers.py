"""Helpers for sync tests: nodes with completed surveys, a registry process, a faulty proxy."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from survey_node import config as config_mod
from survey_node import db as database
from survey_node import survey as survey_svc
from survey_node.cli.core import init_data_dir
from survey_node.db import cameras as camera_db
from survey_node.db import evidence as evidence_db
from survey_node.db import transaction
from survey_node.evidence import EvidenceStore
from tests.live import running_node

SURVEYOR = {"name": "surveyor", "role": "surveyor"}


def make_node(root: Path, node_id: str, *, surveys: int, photos_per_survey: int = 1,
              photo_bytes: int = 2000, registry_url: str = "", seed: int = 0,
              batch_size: int = 50):
    """A node data dir with `surveys` completed surveys, each with its own photos."""
    init_data_dir(root)
    text = (root / config_mod.CONFIG_FILE).read_text(encoding="utf-8")
    text = text.replace('id = "', f'id = "{node_id}" #', 1)
    text = text.replace('registry_url = ""', f'registry_url = "{registry_url}"')
    text = text.replace("batch_size = 50", f"batch_size = {batch_size}")
    text = text.replace("retry_deadline_s = 600.0", "retry_deadline_s = 120.0")
    (root / config_mod.CONFIG_FILE).write_text(text, encoding="utf-8")
    cfg = config_mod.load(root)
    assert cfg.node.id == node_id
    db = database.connect(cfg.db_path)
    try:
        add_completed_surveys(db, cfg, surveys, photos_per_survey=photos_per_survey,
                              photo_bytes=photo_bytes, seed=seed)
    finally:
        db.close()
    return cfg


def add_completed_surveys(db, cfg, count: int, *, photos_per_survey: int = 1,
                          photo_bytes: int = 2000, seed: int = 0, prefix: str = "") -> list[str]:
    rng = random.Random(f"{cfg.node.id}-{seed}-{prefix}")
    store = EvidenceStore(cfg.evidence_dir)
    start = db.execute("SELECT count(*) FROM cameras").fetchone()[0]
    cams = [{"camera_id": f"{cfg.node.id}-{prefix}{start + i:05d}", "site_name": f"จุด {i}",
             "registered_lat": 13.6 + i * 1e-4, "registered_lon": 100.6}
            for i in range(count)]
    with transaction(db):
        camera_db.insert_cameras(db, cams)
    ids = []
    for cam in cams:
        s = survey_svc.start_or_resume(db, cfg, camera_id=cam["camera_id"], user=SURVEYOR)
        survey_svc.set_position(db, cfg, s["id"], user=SURVEYOR, source="gpsd",
                                fix={"lat": cam["registered_lat"], "lon": 100.6, "eph": 3.0,
                                     "sats_used": 8, "fix_mode": 3, "samples": 10})
        for n in range(photos_per_survey):
            data = rng.randbytes(photo_bytes)
            sha = store.put_bytes(data)
            evidence_db.upsert_evidence(db, {"sha256": sha, "kind": "photo",
                                             "mime": "image/jpeg", "bytes": len(data),
                                             "source": "upload"})
            survey_svc.add_photo(db, cfg, s["id"], user=SURVEYOR, sha256=sha,
                                 role="camera" if n == 0 else "other")
        survey_svc.save_answers(db, cfg, s["id"], user=SURVEYOR,
                                checklist={"exists": "yes", "working": "yes"})
        survey_svc.complete(db, cfg, s["id"], user=SURVEYOR)
        ids.append(s["id"])
    return ids


def node_truth(cfg) -> tuple[dict, set]:
    """{survey id: revision} of surveys sent or due, and the SHA-256 set they reference."""
    db = database.connect(cfg.db_path)
    try:
        surveys = dict(db.execute(
            "SELECT id, revision FROM surveys WHERE state IN ('complete', 'synced')").fetchall())
        hashes = {r[0] for r in db.execute("SELECT sha256 FROM survey_evidence")}
    finally:
        db.close()
    return surveys, hashes


@contextlib.contextmanager
def _registry_store(registry_dir: Path):
    """The registry's own store and a connection to it, whichever engine holds it
    (SURVEY_NODE_REGISTRY__DATABASE_URL: PostgreSQL; __EVIDENCE_URL: a bucket)."""
    from survey_node.registry.store import open_store

    store = open_store(config_mod.load(registry_dir))
    db = store.connect()
    try:
        yield store, db
    finally:
        db.close()
        store.close()


def registry_truth(registry_dir: Path, node_id: str | None = None):
    """What the registry holds: latest revisions, revision rows, stored hashes (verified),
    read through its own store, so the same question on either backend."""
    with _registry_store(registry_dir) as (store, db):
        where = " WHERE node_id = ?" if node_id else ""
        params = [node_id] if node_id else []
        surveys = dict(db.execute(f"SELECT id, revision FROM surveys{where}", params).fetchall())
        revisions = tuple(db.execute("SELECT count(*), count(DISTINCT id || '/' || revision)"
                                     " FROM survey_revisions").fetchone())
        hashes = {r[0] for r in db.execute("SELECT sha256 FROM evidence")}
        for sha in hashes:
            with store.objects.open(sha) as stored:
                digest = hashlib.sha256()
                for chunk in iter(lambda: stored.read(1 << 20), b""):
                    digest.update(chunk)
            assert digest.hexdigest() == sha, f"{sha} damaged"
    return surveys, revisions, hashes


def registry_sql(registry_dir: Path, sql: str, params=()) -> list[tuple]:
    """Rows of one query on the registry's database, whichever engine holds it."""
    with _registry_store(registry_dir) as (_, db):
        return [tuple(r) for r in db.execute(sql, params).fetchall()]


def add_token(registry_dir: Path, node_cfg, province: str = "นครราชสีมา") -> str:
    """Register the node (surveying `province`) on the registry and store its token as the
    node's secret."""
    out = subprocess.run(
        [sys.executable, "-m", "survey_node", "registry", "token", "add", node_cfg.node.id,
         "--data-dir", str(registry_dir), "--province", province], capture_output=True,
        text=True, timeout=60, check=True)
    token = out.stdout.split()[-1]
    (node_cfg.secrets_dir / "registry_token").write_text(token + "\n", encoding="utf-8")
    return token


@contextlib.contextmanager
def running_registry(data_dir: Path, *, env: dict | None = None):
    """A registry process; on PostgreSQL (the `registry_backend` fixture's environment)
    two worker processes behind the one address, as a national registry runs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    on_postgres = "SURVEY_NODE_REGISTRY__DATABASE_URL" in {**os.environ, **(env or {})}
    args = ("--workers", "2") if on_postgres else ()
    with running_node(data_dir, *args, command="registry serve", env=env) as base:
        yield base


def run_sync(cfg, *extra: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "survey_node", "sync", "--data-dir", str(cfg.data_dir), "--json",
         *extra], capture_output=True, text=True, timeout=timeout)


class FaultProxy:
    """A TCP proxy on 127.0.0.1 that, while `faulty`, hurts connections (seeded).

    Per connection it picks: answer 502 without forwarding, or drop after a random number
    of bytes in either direction (mid-request or mid-answer), or pass; and independently a
    delay before connecting upstream. `calm()` switches the faults off.
    """

    def __init__(self, upstream_port: int, *, seed: int, drop_after_max: int = 400_000,
                 p_drop: float = 0.8, p_502: float = 0.15, p_delay: float = 0.3) -> None:
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.drop_after_max = drop_after_max
        self.p = (p_drop, p_502, p_delay)
        self.faulty = True
        self.faults = {"drop": 0, "502": 0, "delay": 0, "pass": 0}
        self.bytes_up = 0  # client -> registry bytes forwarded (requests as sent)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calm(self) -> None:
        self.faulty = False

    def close(self) -> None:
        self._stop = True
        self.sock.close()

    def _pick(self):
        """(kind, byte budget or None, delay seconds) for a new connection."""
        with self._lock:
            if not self.faulty:
                return "pass", None, 0.0
            p_drop, p_502, p_delay = self.p
            roll = self.rng.random()
            delay = self.rng.uniform(0.05, 0.4) if self.rng.random() < p_delay else 0.0
            if delay:
                self.faults["delay"] += 1
            if roll < p_502:
                kind, budget = "502", None
            elif roll < p_502 + p_drop:
                kind, budget = "drop", self.rng.randrange(1, self.drop_after_max)
            else:
                kind, budget = "pass", None
            self.faults[kind] += 1
            return kind, budget, delay

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        kind, budget, delay = self._pick()
        upstream = None
        try:
            time.sleep(delay)
            if kind == "502":
                client.settimeout(5)
                client.recv(65536)
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            sockets = [client, upstream]
            while True:
                ready, _, _ = select.select(sockets, [], [], 30)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if budget is not None and len(data) >= budget:
                        data = data[:budget]
                    if s is client:
                        with self._lock:
                            self.bytes_up += len(data)
                    (upstream if s is client else client).sendall(data)
                    if budget is not None:
                        budget -= len(data)
                        if budget <= 0:
                            return  # drop mid-stream, both ways
        except OSError:
            return
        finally:
            for s in (client, upstream):
                if s is not None:
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                    s.close()
