"""Registry SQL: surveys (latest + every revision), review decisions and cameras."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ...db import chunked, now_iso, placeholders, row, rows
from .dialect import serialize_writers


def get_registry_survey(db: Database, survey_id: str) -> dict | None:
    return row(db, "SELECT * FROM surveys WHERE id = ?", [survey_id])


def get_survey_revision(db: Database, survey_id: str, revision: int) -> dict | None:
    return row(db, "SELECT * FROM survey_revisions WHERE id = ? AND revision = ?",
               [survey_id, revision])


# Rows per multi-row statement: a batch's surveys go to the database in a few statements
# (one round trip each) instead of several per survey; kept well under both engines'
# parameter limits (8 columns x 250 = 2,000).
ROWS_PER_STATEMENT = 250


def _values(rows: list[tuple]) -> tuple[str, list]:
    """`(?, ?), (?, ?)` for `rows` and their parameters, flattened."""
    marks = "(" + placeholders(len(rows[0])) + ")"
    return ", ".join([marks] * len(rows)), [value for r in rows for value in r]


def rows_held_for_surveys(db: Database, survey_ids: list[str]) -> tuple[dict, dict]:
    """What the registry holds for these surveys, in one read per 250 ids:
    ({id: owning node}, {(id, revision): content_sha256})."""
    owners, revisions = {}, {}
    for part in chunked(survey_ids, ROWS_PER_STATEMENT):
        marks = placeholders(len(part))
        for sid, node_id, revision, sha in db.execute(
                f"SELECT id, node_id, NULL, NULL FROM surveys WHERE id IN ({marks})"
                f" UNION ALL SELECT id, NULL, revision, content_sha256 FROM survey_revisions"
                f" WHERE id IN ({marks})", part + part).fetchall():
            if node_id is not None:
                owners[sid] = node_id
            else:
                revisions[(sid, revision)] = sha
    return owners, revisions


def insert_survey_revisions(db: Database, entries: list[dict], *, node_id: str,
                            batch_id: str) -> set[str]:
    """Keep received revisions (none held yet); return the ids whose current record they
    became (call inside a transaction, then :func:`replace_survey_evidence` for those).

    The revision's primary key (id, revision) makes a doubled revision impossible: a
    revision another process inserted meanwhile raises a unique-key error and the caller
    runs the transaction again. The current record is replaced only by a higher revision
    of the same node's survey, decided by the upsert itself: two processes committing
    revisions 3 and 4 at once leave 4 current whichever commits first (the second waits
    for the row and re-checks). Rows go in id order so two batches sharing surveys lock
    them in one order.
    """
    entries = sorted(entries, key=lambda e: e["id"])
    stamp = now_iso()
    records = [json.dumps(e, ensure_ascii=False, sort_keys=True) for e in entries]
    became: set[str] = set()
    for part in chunked(list(zip(entries, records)), ROWS_PER_STATEMENT):
        marks, params = _values([(e["id"], e["revision"], e["content_sha256"], record,
                                  batch_id, stamp) for e, record in part])
        db.execute("INSERT INTO survey_revisions (id, revision, content_sha256, record,"
                   f" batch_id, received_at) VALUES {marks}", params)
        marks, params = _values([(e["id"], node_id, e["revision"], e["content_sha256"],
                                  e["fields"].get("camera_id"), record, batch_id, stamp)
                                 for e, record in part])
        became.update(r[0] for r in db.execute(
            "INSERT INTO surveys (id, node_id, revision, content_sha256, camera_id, record,"
            f" batch_id, received_at) VALUES {marks}"
            " ON CONFLICT (id) DO UPDATE SET revision = excluded.revision,"
            " content_sha256 = excluded.content_sha256, camera_id = excluded.camera_id,"
            " record = excluded.record, batch_id = excluded.batch_id,"
            " received_at = excluded.received_at, review_state = 'pending'"
            " WHERE surveys.revision < excluded.revision AND surveys.node_id = excluded.node_id"
            " RETURNING id", params).fetchall())
    return became


def replace_survey_evidence(db: Database, entries: list[dict]) -> None:
    """Link each survey to the evidence its (new current) record names, replacing the old
    links (call inside the transaction that made the records current)."""
    for part in chunked([e["id"] for e in entries], ROWS_PER_STATEMENT):
        db.execute(f"DELETE FROM survey_evidence WHERE survey_id IN"
                   f" ({placeholders(len(part))})", part)
    # A survey may name one file twice (two roles); the link is (survey, sha), and its
    # first role is the one kept, as a row at a time with ON CONFLICT DO NOTHING kept it.
    first_role: dict[tuple[str, str], str] = {}
    for e in entries:
        for item in e["evidence"]:
            first_role.setdefault((e["id"], item["sha256"]), item["role"])
    links = [(sid, sha, role) for (sid, sha), role in first_role.items()]
    for part in chunked(links, ROWS_PER_STATEMENT):
        marks, params = _values(part)
        db.execute(f"INSERT INTO survey_evidence (survey_id, sha256, role) VALUES {marks}"
                   " ON CONFLICT DO NOTHING", params)


def rows_registry_surveys(db: Database, *, node_id: str | None = None) -> list[dict]:
    where, params = ("WHERE node_id = ?", [node_id]) if node_id else ("", [])
    return rows(db, f"SELECT id, node_id, revision, content_sha256, camera_id, batch_id,"
                    f" received_at FROM surveys {where} ORDER BY id", params)


def count_survey_revisions(db: Database) -> int:
    return db.execute("SELECT count(*) FROM survey_revisions").fetchone()[0]


def insert_decision(db: Database, *, survey_id: str, node_id: str, revision: int, state: str,
                    reason: str, decided_by: str, flags: list[str] | tuple = (),
                    origin_node: str | None = None, decided_at: str | None = None) -> int:
    serialize_writers(db, "decisions")
    seq = db.execute(
        "INSERT INTO decisions (survey_id, node_id, revision, state, reason, decided_by,"
        " decided_at, flags, origin_node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        [survey_id, node_id, revision, state, reason, decided_by, decided_at or now_iso(),
         json.dumps(list(flags), ensure_ascii=False), origin_node]).fetchall()[0][0]
    # The newest decision is the one in force, if it is about the revision held; compared
    # with the row as it is when locked, so a revision committed meanwhile stays pending.
    db.execute("UPDATE surveys SET review_state = CASE WHEN revision = ? THEN ?"
               " ELSE 'pending' END WHERE id = ?", [revision, state, survey_id])
    return seq


def refresh_review_states(db: Database) -> None:
    """Set every survey's review_state from its decisions (after rows were copied in
    without insert_decision: a migration, `registry migrate`)."""
    db.execute("UPDATE surveys SET review_state = coalesce((SELECT CASE WHEN d.revision ="
               " surveys.revision THEN d.state END FROM decisions d WHERE d.survey_id ="
               " surveys.id ORDER BY d.seq DESC LIMIT 1), 'pending')")


def rows_decisions(db: Database, *, node_id: str, since: int, limit: int) -> list[dict]:
    """Decisions for a node to pull: not the ones that came from that node."""
    return rows(db, "SELECT * FROM decisions WHERE node_id = ? AND seq > ?"
                    " AND (origin_node IS NULL OR origin_node != node_id) ORDER BY seq LIMIT ?",
                [node_id, since, limit])


def upsert_registry_cameras(db: Database, cameras: list[dict]) -> int:
    """Insert or change cameras; only a real change gets a new `seq` (call in a transaction)."""
    changed = 0
    serialize_writers(db, "cameras")
    seq = db.execute("SELECT coalesce(max(seq), 0) FROM cameras").fetchone()[0]
    for cam in cameras:
        record = json.dumps(cam, ensure_ascii=False, sort_keys=True)
        old = db.execute("SELECT record FROM cameras WHERE camera_id = ?",
                         [cam["camera_id"]]).fetchone()
        if old and old[0] == record:
            continue
        seq += 1
        changed += 1
        db.execute(
            "INSERT INTO cameras (camera_id, province_code, record, seq, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (camera_id) DO UPDATE SET"
            " province_code = excluded.province_code, record = excluded.record,"
            " seq = excluded.seq, updated_at = excluded.updated_at",
            [cam["camera_id"], str(cam.get("province_code") or ""), record, seq, now_iso()])
    return changed


def rows_registry_cameras(db: Database, *, province: str, since: int, limit: int) -> list[dict]:
    where = "WHERE seq > ?" + (" AND province_code = ?" if province else "")
    params = [since, province] if province else [since]
    return rows(db, f"SELECT camera_id, record, seq FROM cameras {where} ORDER BY seq LIMIT ?",
                [*params, limit])
