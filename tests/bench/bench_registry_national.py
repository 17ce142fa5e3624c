"""The national registry at scale (issue 19's benchmarks), on a throwaway PostgreSQL cluster.

* Ingest: 231 simulated nodes (77 provinces x 3) send 200,000 surveys, 20,000 of them with
  a small evidence object, to `survey-node registry serve --workers 2` (two worker
  processes on one port) on one PostgreSQL database, the evidence into a bucket on moto's
  S3 API server (tests/s3_server.py; the figures in the README were measured on it, and a
  real Ceph RGW here costs about the same CPU per small PUT: 2.75 ms against moto's 3).
  The nodes are simulated: manifests are built here and sent with the real sync
  HTTP protocol (POST the batch, PUT the missing evidence, commit) from several client
  threads, each node's batches in turn (as `sync` sends them) and many nodes at once.
  Baseline, same run: a bare psycopg `executemany` of the same rows (surveys,
  survey_revisions, survey_evidence) into a fresh database of the same schema. Ratio = registry
  surveys/s over bare surveys/s, goal >= 0.5. For reference, the same run also PUTs the same
  evidence objects straight into a new bucket with plain boto3: the bare rows then the bare
  objects are about the most any registry could reach on this machine.
  Then everything is counted: survey rows == sent, ids distinct, evidence rows == sent.
* Read path with 1,000,000 surveys stored, on PostgreSQL and on the embedded SQLite store
  at the same size: the review queue page's data (first page of the pending queue plus the
  filter choices), the dashboard, and a node's decisions pull; p95 against the issue's
  goals (200 ms, 300 ms, 50 ms). The stored rows are written straight into the tables
  (COPY on PostgreSQL, executemany on SQLite): surveys, cameras, survey_evidence and
  decisions (not survey_revisions or batches, which none of the three reads).

`BENCH_SCALE` multiplies every size (default 1 = the issue's).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

from survey_node import config as config_mod
from survey_node.inventory.places import province_choices
from survey_node.registry import dashboard as registry_dashboard
from survey_node.registry import review as registry_review
from survey_node.registry.service import Registry
from survey_node.registry.objects_s3 import S3ObjectStore
from survey_node.registry.store import EmbeddedStore, FileObjectStore, PostgresStore
from survey_node.sync import protocol
from tests.live import running_node
from tests.pg_server import running_cluster
from tests.s3_server import running_s3_server

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
PROVINCES, NODES_PER_PROVINCE = 77, 3
INGEST_SURVEYS = max(PROVINCES * NODES_PER_PROVINCE, int(200_000 * SCALE))
INGEST_WITH_EVIDENCE = int(20_000 * SCALE)
STORED_SURVEYS = max(1000, int(1_000_000 * SCALE))
BATCH = 50                       # a node's default sync.batch_size
CLIENT_THREADS = 6
EVIDENCE_BYTES = 4096
GOALS_MS = {"queue": 200, "dashboard": 300, "pull": 50}
HTTP_TIMEOUT_S = 120
AMPHOES_PER_PROVINCE = 12
AGENCIES = ("เทศบาลนคร", "เทศบาลเมือง", "ตำรวจภูธร", "องค์การบริหารส่วนจังหวัด", "กรมทางหลวง")
VERDICTS = (None, None, "ok", "ok", "ok", "ok", "timeout", "auth_failed", "no_video", "refused")
DAYS_SPAN = 90


def _nodes() -> list[tuple[str, str]]:
    """(node id, province code) for every simulated node."""
    codes = sorted(code for code, _th, _en in province_choices())[:PROVINCES]
    return [(f"p{code}-node-{k}", code) for code in codes for k in range(NODES_PER_PROVINCE)]


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


def _fields(rng: random.Random, camera_id: str, completed: float) -> dict:
    fields = dict.fromkeys(protocol.SURVEY_FIELDS)
    fields.update(camera_id=camera_id, surveyor=f"surveyor-{rng.randrange(20)}",
                  lat=13.6 + rng.random(), lon=100.6 + rng.random(), eph=3.0, sats_used=8,
                  fix_mode=3, samples=10, position_source="gpsd",
                  distance_m=round(rng.random() * 40, 1), checklist={"exists": "yes"},
                  notes="", stream_verdict=rng.choice(VERDICTS),
                  created_at=_iso(completed - 600), completed_at=_iso(completed),
                  fix_system_time=_iso(completed - 300))
    return fields


def _camera(node: str, province: str, k: int, rng: random.Random) -> dict:
    amphoe = rng.randrange(AMPHOES_PER_PROVINCE)
    return {"camera_id": f"{node}-{k:06d}", "site_name": f"จุด {k}", "place_name": "",
            "agency": rng.choice(AGENCIES), "province_code": province,
            "amphoe_code": f"{province}{amphoe:02d}", "amphoe_name": f"อำเภอ {province}-{amphoe}",
            "registered_lat": 13.6, "registered_lon": 100.6}


# -- ingest -----------------------------------------------------------------------------


def _ingest_plan(now: float, with_evidence: int = INGEST_WITH_EVIDENCE
                 ) -> tuple[list[dict], dict[str, bytes]]:
    """Every node's batches (manifest as sent) and the evidence bytes by hash."""
    rng = random.Random(19)
    nodes = _nodes()
    per_node = [INGEST_SURVEYS // len(nodes) + (i < INGEST_SURVEYS % len(nodes))
                for i in range(len(nodes))]
    every = max(1, INGEST_SURVEYS // max(1, with_evidence))
    evidence: dict[str, bytes] = {}
    batches, n = [], 0
    for (node, _province), count in zip(nodes, per_node):
        entries = []
        for k in range(count):
            item = []
            if n % every == 0 and len(evidence) < with_evidence:
                data = rng.randbytes(EVIDENCE_BYTES)
                sha = hashlib.sha256(data).hexdigest()
                evidence[sha] = data
                item = [{"sha256": sha, "role": "camera", "kind": "photo", "mime": "image/jpeg",
                         "bytes": len(data), "width": None, "height": None, "taken_at": None,
                         "lat": None, "lon": None}]
            entry = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "revision": 1,
                     "fields": _fields(rng, f"{node}-{k:06d}", now - rng.random() * 86400 * 30),
                     "evidence": item, "stream_check": None}
            entry["content_sha256"] = protocol.content_hash(entry)
            entries.append(entry)
            n += 1
        for start in range(0, len(entries), BATCH):
            manifest = protocol.new_manifest(node, str(uuid.uuid4()), _iso(now),
                                             entries[start:start + BATCH])
            batches.append({"node": node, "manifest": manifest,
                            "body": protocol.canonical_json(manifest)})
    return batches, evidence


def _send_batch(session: requests.Session, url: str, batch: dict, token: str,
                evidence: dict[str, bytes]) -> int:
    """One batch through the sync protocol; returns the surveys stored."""
    auth = {"Authorization": f"Bearer {token}"}
    bid = batch["manifest"]["batch_id"]
    reply = session.post(f"{url}/api/v1/batches", data=batch["body"], timeout=HTTP_TIMEOUT_S,
                         headers={**auth, "Content-Type": "application/json"})
    reply.raise_for_status()
    for sha in reply.json()["missing"]:
        session.put(f"{url}/api/v1/evidence/{sha}", data=evidence[sha], headers=auth,
                    timeout=HTTP_TIMEOUT_S).raise_for_status()
    reply = session.post(f"{url}/api/v1/batches/{bid}/commit", headers=auth,
                         timeout=HTTP_TIMEOUT_S)
    reply.raise_for_status()
    return sum(r["result"] == "stored" for r in reply.json()["surveys"])


def _bare_insert(url: str, batches: list[dict], now: str) -> float:
    """The same rows with plain psycopg executemany, 1,000 surveys per transaction."""
    import psycopg

    surveys, revisions, links = [], [], []
    for b in batches:
        for e in b["manifest"]["surveys"]:
            record = json.dumps(e, ensure_ascii=False, sort_keys=True)
            surveys.append((e["id"], b["node"], 1, e["content_sha256"], e["fields"]["camera_id"],
                            record, b["manifest"]["batch_id"], now))
            revisions.append((e["id"], 1, e["content_sha256"], record,
                              b["manifest"]["batch_id"], now))
            links.extend((e["id"], x["sha256"], x["role"]) for x in e["evidence"])
    start = time.perf_counter()
    with psycopg.connect(url, connect_timeout=10) as conn, conn.cursor() as cur:
        for k in range(0, len(surveys), 1000):
            cur.executemany("INSERT INTO surveys (id, node_id, revision, content_sha256,"
                            " camera_id, record, batch_id, received_at)"
                            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", surveys[k:k + 1000])
            cur.executemany("INSERT INTO survey_revisions (id, revision, content_sha256,"
                            " record, batch_id, received_at) VALUES (%s, %s, %s, %s, %s, %s)",
                            revisions[k:k + 1000])
            conn.commit()
        cur.executemany("INSERT INTO survey_evidence (survey_id, sha256, role)"
                        " VALUES (%s, %s, %s)", links)
        conn.commit()
    return time.perf_counter() - start


def _bare_puts(evidence: dict[str, bytes]) -> float:
    """The same evidence objects PUT straight into a new bucket of a new S3 server with
    plain boto3 (one client, CLIENT_THREADS threads, one request per object): what storing
    them costs here before any registry is involved."""
    with running_s3_server("moto") as s3:
        bucket, client = s3.new_bucket(), s3.client()
        items = list(evidence.items())

        def put(k: int) -> None:
            for sha, data in items[k::CLIENT_THREADS]:
                client.put_object(Bucket=bucket, Key=f"evidence/{sha[:2]}/{sha}", Body=data)

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(CLIENT_THREADS) as pool:
            list(pool.map(put, range(CLIENT_THREADS)))
        elapsed = time.perf_counter() - start
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        assert sum(page.get("KeyCount", 0) for page in pages) == len(items)
    return elapsed


# Who spent the machine's CPU during the ingest window: the registry's processes, the S3
# server, PostgreSQL, and this process (the simulated nodes' client threads). On a small
# machine all of them share the cores, so the ratio says as much about the harness as
# about the registry; these figures say how much.
_ROLES = (("registry", "survey_node registry serve"), ("s3 server", "moto_waitress"),
          ("postgresql", "postgres"))


def _cpu_by_role() -> dict[str, float]:
    tick = os.sysconf("SC_CLK_TCK")
    spent = {role: 0.0 for role, _ in _ROLES}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        for role, marker in _ROLES:
            if marker in argv:
                spent[role] += (int(fields[11]) + int(fields[12])) / tick
                break
    usage = os.times()
    spent["clients (this process)"] = usage.user + usage.system
    return spent


def _pg_registry(url: str, root: Path, pool: int = 4) -> Registry:
    root.mkdir(parents=True, exist_ok=True)
    store = PostgresStore(url, password=None, pool_size=pool,
                          objects=FileObjectStore(root / "evidence"))
    return Registry(config_mod.load(root), store=store)


def _sync_all(cluster, root: Path, batches: list[dict], evidence: dict[str, bytes]) -> dict:
    """Every node syncs its batches through `registry serve --workers 2` on a new
    database and bucket; what was stored, how long it took, who spent the CPU, and the
    counts afterwards."""
    db_name = cluster.new_database()
    url = cluster.url(db_name)
    data_dir = root / f"registry-{db_name}"
    registry = _pg_registry(url, data_dir)
    tokens = {node: registry.add_token(node, province=province) for node, province in _nodes()}
    registry.store.close()
    failures: list[str] = []
    stored = 0
    lock = threading.Lock()
    with running_s3_server("moto") as s3:
        bucket = s3.new_bucket()
        env = {"SURVEY_NODE_REGISTRY__DATABASE_URL": url,
               "SURVEY_NODE_REGISTRY__DB_POOL_SIZE": "8",
               "SURVEY_NODE_REGISTRY__EVIDENCE_URL": f"s3://{bucket}/evidence",
               "SURVEY_NODE_REGISTRY__S3_ENDPOINT_URL": s3.endpoint_url,
               "AWS_ACCESS_KEY_ID": s3.access_key_id,
               "AWS_SECRET_ACCESS_KEY": s3.secret_access_key}
        with running_node(data_dir, "--workers", "2", command="registry serve",
                          env=env) as base:
            # A node sends its batches one after another, as `sync` does; the nodes at once.
            by_node: dict[str, list] = {}
            for batch in batches:
                by_node.setdefault(batch["node"], []).append(batch)
            local = threading.local()

            def node_sync(work):
                nonlocal stored
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                for batch in work:
                    try:
                        got = _send_batch(local.session, base, batch, tokens[batch["node"]],
                                          evidence)
                    except requests.RequestException as exc:
                        with lock:
                            failures.append(f"{batch['manifest']['batch_id']}: {exc}"[:200])
                        return
                    with lock:
                        stored += got

            cpu_before = _cpu_by_role()
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(CLIENT_THREADS) as pool:
                list(pool.map(node_sync, by_node.values()))
            sync_s = time.perf_counter() - start
            cpu = {role: spent - cpu_before[role] for role, spent in _cpu_by_role().items()}
        objects = S3ObjectStore(f"s3://{bucket}/evidence", endpoint_url=s3.endpoint_url,
                                region=s3.region, access_key_id=s3.access_key_id,
                                secret_access_key=s3.secret_access_key)
        files = sum(1 for _ in objects.iter_hashes())

    counted = _count(url, batches)
    # The dashboard's counts, kept by the triggers through both processes' commits, agree
    # with the rows; its first view after the ingest folds the delta rows.
    registry = _pg_registry(url, root / f"dash-{db_name}")
    start = time.perf_counter()
    dash = registry_dashboard.compute(registry)
    fold_s = time.perf_counter() - start
    registry.store.close()
    counted["dashboard"] = dash["total"]
    cluster.drop_database(db_name)
    ok = (not failures and counted["rows"] == INGEST_SURVEYS == counted["distinct"]
          and counted["revisions"] == INGEST_SURVEYS and counted["missing"] == 0
          and counted["evidence"] == len(evidence) == files
          and counted["dashboard"] == INGEST_SURVEYS)
    return {"stored": stored, "sync_s": sync_s, "cpu": cpu, "counted": counted,
            "files": files, "failures": failures, "fold_s": fold_s, "ok": ok}


def bench_ingest(cluster, root: Path) -> bool:
    now = time.time()
    t0 = time.perf_counter()
    batches, evidence = _ingest_plan(now)
    print(f"   ingest: {INGEST_SURVEYS} surveys ({len(evidence)} with a {EVIDENCE_BYTES} B"
          f" evidence object) from {len(_nodes())} nodes in {len(batches)} batches of"
          f" <= {BATCH}; built in {time.perf_counter() - t0:.1f} s", flush=True)

    bare_db = cluster.new_database()
    bare_s = _bare_insert(cluster.url(bare_db), batches, _iso(now))
    cluster.drop_database(bare_db)
    bare_rate = INGEST_SURVEYS / bare_s
    print(f"   bare psycopg executemany: {INGEST_SURVEYS} surveys in {bare_s:.1f} s"
          f" ({bare_rate:.0f} surveys/s)", flush=True)

    # A floor, for reference (no goal): the bare rows and then the bare PUTs of the same
    # objects. A registry has to do both, so on this machine it can be little faster than
    # this however little it spent itself (only by overlapping the two on cores the bare
    # insert leaves idle); the goal's ratio is against the rows alone.
    puts_s = _bare_puts(evidence)
    floor_rate = INGEST_SURVEYS / (bare_s + puts_s)
    print(f"   bare boto3 put_object of the {len(evidence)} objects: {puts_s:.1f} s; rows then"
          f" objects, bare: {floor_rate:.0f} surveys/s = {floor_rate / bare_rate:.2f} x the"
          " rows alone (about the most any registry could reach here)", flush=True)

    run = _sync_all(cluster, root, batches, evidence)
    sync_rate = run["stored"] / run["sync_s"]
    ratio = sync_rate / bare_rate
    print(f"   registry, 2 workers, S3 evidence: {run['stored']} surveys committed in"
          f" {run['sync_s']:.1f} s ({sync_rate:.0f} surveys/s), {CLIENT_THREADS} client"
          " threads")
    _print_cpu(run)
    ok_ratio = ratio >= 0.5
    print(f"   ingest ratio registry/bare = {ratio:.2f} (goal >= 0.50)"
          f" {'OK' if ok_ratio else 'MISS'}; {sync_rate / floor_rate:.2f} x the bare rows"
          " then objects")
    counted = run["counted"]
    print(f"   counted: {counted['rows']} survey rows, {counted['distinct']} distinct ids,"
          f" {counted['revisions']} revisions, {counted['missing']} sent ids missing,"
          f" {counted['evidence']} evidence rows / {run['files']} objects in the bucket for"
          f" {len(evidence)} sent,"
          f" {len(run['failures'])} failed batches; dashboard total {counted['dashboard']}"
          f" (its first view, folding the counts, {run['fold_s'] * 1000:.0f} ms)"
          f" {'OK' if run['ok'] else 'MISS'}")
    for line in run["failures"][:3]:
        print(f"     {line}")

    # The same surveys without their evidence objects, for reference (no goal): how much
    # of the time above the evidence uploads take (registry -> boto3 -> the S3 server,
    # one request each way per object), and what the commit path alone does.
    plain, _ = _ingest_plan(now, with_evidence=0)
    alone = _sync_all(cluster, root, plain, {})
    alone_rate = alone["stored"] / alone["sync_s"]
    print(f"   for reference, the same surveys without evidence: {alone_rate:.0f} surveys/s"
          f" = {alone_rate / bare_rate:.2f} x bare ({alone['sync_s']:.1f} s)"
          f" {'counted OK' if alone['ok'] else 'counted MISS'}")
    _print_cpu(alone)
    return ok_ratio and run["ok"] and alone["ok"]


def _print_cpu(run: dict) -> None:
    cores, sync_s = os.cpu_count(), run["sync_s"]
    print(f"   CPU during the ingest ({cores} cores x {sync_s:.1f} s = {cores * sync_s:.0f}"
          " core-s): " + ", ".join(f"{role} {spent:.1f} s" for role, spent in run["cpu"].items()))


def _count(url: str, batches: list[dict]) -> dict:
    from survey_node.registry.db import batches as batch_db
    from survey_node.registry.db import pg
    from survey_node.registry.db import surveys as survey_db

    sent = {e["id"] for b in batches for e in b["manifest"]["surveys"]}
    db = pg.connect_once(url)
    try:
        held = survey_db.rows_registry_surveys(db)
        return {"rows": len(held), "distinct": len({r["id"] for r in held}),
                "missing": len(sent - {r["id"] for r in held}),
                "revisions": survey_db.count_survey_revisions(db),
                "evidence": len(batch_db.rows_evidence_hashes(db))}
    finally:
        db.close()


# -- read path --------------------------------------------------------------------------

SURVEY_COLS = ("id", "node_id", "revision", "content_sha256", "camera_id", "record",
               "batch_id", "received_at", "review_state")
CAMERA_COLS = ("camera_id", "province_code", "record", "seq", "updated_at")
EVIDENCE_COLS = ("survey_id", "sha256", "role")
DECISION_COLS = ("seq", "survey_id", "node_id", "revision", "state", "reason", "decided_by",
                 "decided_at", "flags", "origin_node")


_STATES = ("approved",) * 7 + ("rejected",) * 2 + ("resurvey",)


def _decided(n: int) -> list[str]:
    """The decisions on stored survey n, oldest first: the older 40 % decided (in the order
    they arrived), a tenth of those twice."""
    if n >= int(STORED_SURVEYS * 0.4):
        return []
    return [_STATES[(n * 7 + j * 3) % len(_STATES)] for j in range(2 if n % 10 == 0 else 1)]


def _stored_rows(now: float):
    """Rows of a registry holding STORED_SURVEYS surveys, table by table (generators)."""
    nodes = _nodes()

    def each_survey():
        rng = random.Random(1_000_000)
        for n in range(STORED_SURVEYS):
            node, province = nodes[n % len(nodes)]
            k = n // len(nodes)
            yield n, node, province, k, rng

    def cameras():
        rng = random.Random(7)
        for n, node, province, k, _ in each_survey():
            cam = _camera(node, province, k, rng)
            yield (cam["camera_id"], province, json.dumps(cam, ensure_ascii=False,
                                                            sort_keys=True), n + 1, _iso(now))

    def surveys():
        for n, node, _province, k, rng in each_survey():
            received = now - DAYS_SPAN * 86400 * (1 - n / STORED_SURVEYS)
            sid = str(uuid.UUID(int=n + 1, version=4))
            entry = {"id": sid, "revision": 1,
                     "fields": _fields(rng, f"{node}-{k:06d}", received - 3600),
                     "evidence": [], "stream_check": None}
            entry["content_sha256"] = hashlib.sha256(sid.encode()).hexdigest()
            yield (sid, node, 1, entry["content_sha256"], f"{node}-{k:06d}",
                   json.dumps(entry, ensure_ascii=False, sort_keys=True),
                   f"batch-{n // BATCH}", _iso(received), (_decided(n) or ["pending"])[-1])

    def evidence():
        for n in range(0, STORED_SURVEYS, 5):  # a fifth surveyed with 3 photos + a snapshot
            sid = str(uuid.UUID(int=n + 1, version=4))
            for i, role in enumerate(("camera", "other", "other", "snapshot")):
                yield sid, hashlib.sha256(f"{sid}/{i}".encode()).hexdigest(), role

    def decisions():
        seq = 0
        for n in range(int(STORED_SURVEYS * 0.4)):
            node = nodes[n % len(nodes)][0]
            sid = str(uuid.UUID(int=n + 1, version=4))
            for state in _decided(n):
                seq += 1
                yield (seq, sid, node, 1, state, "" if state == "approved" else "ภาพไม่ชัด",
                       "supervisor", _iso(now - 86400), "[]",
                       node if n % 50 == 0 else None)

    return {"cameras": (CAMERA_COLS, cameras), "surveys": (SURVEY_COLS, surveys),
            "survey_evidence": (EVIDENCE_COLS, evidence), "decisions": (DECISION_COLS, decisions)}


def _load_pg(url: str, tables: dict) -> float:
    """Copy the rows in with the count triggers off (as a bulk copy would), then count them
    once; returns the seconds the recount took."""
    import psycopg

    from survey_node.registry.db import dashboard as dash_db
    from survey_node.registry.db import pg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        for table in ("surveys", "cameras"):
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for table, (cols, rows) in tables.items():
            with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)})"
                                                " FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        # the identity the registry's own inserts take next must follow the copied seqs
        conn.execute("SELECT setval(pg_get_serial_sequence('decisions', 'seq'),"
                     " (SELECT max(seq) FROM decisions))")
        for table in ("surveys", "cameras"):
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    db = pg.connect_once(url)
    try:
        start = time.perf_counter()
        with db.atomic():
            dash_db.rebuild_counts(db)
        recount_s = time.perf_counter() - start
        db.execute("VACUUM ANALYZE")  # what autovacuum would have done by then
    finally:
        db.close()
    return recount_s


def _load_sqlite(path: Path, tables: dict) -> None:
    """Into a registry migrated up to before the dashboard counts: their migration (run
    by the store's prepare() after this) counts the million rows, as on an upgrade."""
    import sqlite3

    from survey_node import db as database
    from survey_node.registry.db.migrations import migrations

    early = database.connect(path, migrate=False)
    migrations.apply(early, stop_before="r0770_dashboard_counts")
    early.close()
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        for table, (cols, rows) in tables.items():
            with conn:
                conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES"
                                 f" ({', '.join('?' * len(cols))})", rows)
        conn.execute("ANALYZE")
    finally:
        conn.close()


def _p95(fn, runs: int, budget_s: float) -> tuple[float, int]:
    """p95 in ms of `fn()` over `runs` calls (fewer if the budget runs out), after one warm-up."""
    fn()
    times, end = [], time.monotonic() + budget_s
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        if time.monotonic() > end and len(times) >= 3:
            break
    times.sort()
    return (times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            if len(times) > 1 else times[0]), len(times)


def _read_path(registry: Registry, label: str) -> dict[str, float]:
    rng = random.Random(5)
    nodes = [n for n, _ in _nodes()]

    def queue_page():
        registry_review.queue(registry, status="pending", limit=100)
        registry_review.choices(registry)

    def pull():
        registry.decisions_since(rng.choice(nodes), "", 0)

    found = {}
    for name, fn, runs in (("queue", queue_page, 20), ("dashboard",
                           lambda: registry_dashboard.compute(registry), 20),
                           ("pull", pull, 100)):
        found[name], done = _p95(fn, runs, budget_s=30)
        ok = found[name] <= GOALS_MS[name]
        print(f"   {label:<10} {name:<9} p95 {found[name]:8.1f} ms over {done:3d} runs"
              f" (goal <= {GOALS_MS[name]} ms) {'OK' if ok else 'MISS'}", flush=True)
    return found


def bench_read_path(cluster, root: Path) -> bool:
    now = time.time()
    ok = True
    t0 = time.perf_counter()
    # Made once, for both stores.
    tables = {table: (cols, list(rows())) for table, (cols, rows) in _stored_rows(now).items()}
    print(f"   read path: rows made in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    db_name = cluster.new_database()
    recount_s = _load_pg(cluster.url(db_name), tables)
    print(f"   read path: {STORED_SURVEYS} surveys stored ({STORED_SURVEYS} cameras,"
          f" {int(STORED_SURVEYS * 0.44)} decisions, {STORED_SURVEYS // 5 * 4} evidence links);"
          f" PostgreSQL loaded in {time.perf_counter() - t0:.1f} s (dashboard counts rebuilt"
          f" in {recount_s:.1f} s)", flush=True)
    registry = _pg_registry(cluster.url(db_name), root / "read-pg")
    try:
        ok &= all(v <= GOALS_MS[k] for k, v in _read_path(registry, "postgresql").items())
    finally:
        registry.store.close()
        cluster.drop_database(db_name)

    t0 = time.perf_counter()
    sqlite_dir = root / "read-sqlite"
    store = EmbeddedStore(sqlite_dir)
    sqlite_dir.mkdir(parents=True)
    _load_sqlite(store.db_path, tables)
    del tables
    loaded = time.perf_counter()
    store.prepare()
    print(f"   SQLite loaded in {loaded - t0:.1f} s (its dashboard counts' migration"
          f" {time.perf_counter() - loaded:.1f} s)", flush=True)
    registry = Registry(config_mod.load(sqlite_dir), store=store)
    ok &= all(v <= GOALS_MS[k] for k, v in _read_path(registry, "sqlite").items())
    return ok


def main() -> bool:
    print(f"   scale {SCALE:g} (BENCH_SCALE): {INGEST_SURVEYS} surveys ingested,"
          f" {STORED_SURVEYS} stored for the read path", flush=True)
    for name in list(os.environ):
        if name.startswith(config_mod.ENV_PREFIX):
            del os.environ[name]
    root = Path(tempfile.mkdtemp(prefix="bench-national-"))
    failed = False
    try:
        with running_cluster() as cluster:
            which = os.environ.get("BENCH_NATIONAL_PARTS", "read,ingest").split(",")
            if "read" in which:
                failed |= not bench_read_path(cluster, root)
            if "ingest" in which:
                failed |= not bench_ingest(cluster, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return failed


if __name__ == "__main__":
    import sys

    sys.exit(1 if main() else 0)
