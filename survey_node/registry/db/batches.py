"""Registry SQL: batches, the evidence they reference, stored evidence and sync history."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ...db import chunked, now_iso, placeholders, row, rows
from . import dialect
from .dialect import for_update


def get_batch(db: Database, batch_id: str) -> dict | None:
    return row(db, "SELECT * FROM batches WHERE batch_id = ?", [batch_id])


def lock_batch(db: Database, batch_id: str) -> dict | None:
    """The batch, locked until the transaction ends: a second process committing the same
    batch waits here, then finds it committed and answers with the same receipt."""
    return row(db, "SELECT * FROM batches WHERE batch_id = ?" + for_update(db), [batch_id])


def insert_batch(db: Database, *, batch_id: str, node_id: str, manifest_text: str,
                 manifest_sha256: str, surveys: int, hashes: list[str], source: str) -> None:
    """Store an open batch and the hashes it references (call inside a transaction)."""
    db.execute(
        "INSERT INTO batches (batch_id, node_id, manifest_sha256, manifest, surveys, evidence,"
        " state, source, created_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)",
        [batch_id, node_id, manifest_sha256, manifest_text, surveys, len(hashes), source,
         now_iso()],
    )
    db.conn.executemany("INSERT INTO batch_evidence (batch_id, sha256) VALUES (?, ?)"
                        " ON CONFLICT DO NOTHING", [(batch_id, h) for h in hashes])


def update_batch_committed(db: Database, batch_id: str, receipt: dict) -> None:
    db.execute(
        "UPDATE batches SET state = 'committed', receipt = ?, committed_at = ? WHERE batch_id = ?",
        [json.dumps(receipt, ensure_ascii=False, sort_keys=True), receipt["committed_at"],
         batch_id],
    )


def rows_batch_missing_hashes(db: Database, batch_id: str, node_id: str) -> list[str]:
    """The hashes the batch references that `node_id` has not proven it holds (as
    :func:`rows_missing_hashes`), sorted, in one read."""
    return [r[0] for r in db.execute(
        "SELECT be.sha256 FROM batch_evidence be WHERE be.batch_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM evidence_holders h WHERE h.node_id = ? AND h.sha256 = be.sha256)"
        " ORDER BY be.sha256", [batch_id, node_id])]


def rows_missing_hashes(db: Database, hashes: list[str], node_id: str) -> list[str]:
    """Those of `hashes` that `node_id` has not proven it holds, sorted.

    A node proves a hash by uploading bytes that hash to it. Bytes another node sent do not
    count: otherwise a node could cite a photo it never had, and learn that it exists.
    """
    if not hashes:
        return []
    have: set[str] = set()
    for part in chunked(hashes):
        have.update(r[0] for r in db.execute(
            "SELECT sha256 FROM evidence_holders WHERE node_id = ? AND sha256 IN"
            f" ({placeholders(len(part))})", [node_id, *part]))
    return sorted(set(hashes) - have)


def get_upload_standing(db: Database, node_id: str, sha256: str) -> tuple[bool, bool]:
    """(this node holds the hash already, an open batch of this node references it), in
    one read: an upload is skipped when held and refused when not expected."""
    held, wanted = db.execute(
        "SELECT EXISTS (SELECT 1 FROM evidence_holders WHERE node_id = ? AND sha256 = ?),"
        " EXISTS (SELECT 1 FROM batch_evidence be JOIN batches b ON b.batch_id = be.batch_id"
        " WHERE be.sha256 = ? AND b.node_id = ? AND b.state = 'open')",
        [node_id, sha256, sha256, node_id]).fetchone()
    return bool(held), bool(wanted)


def insert_evidence(db: Database, sha256: str, size: int, node_id: str) -> None:
    """Record verified bytes, all or nothing and on their own: the object (once) and that
    this node holds them."""
    stamp = now_iso()
    dialect.write_as_one(db, [
        ("INSERT INTO evidence (sha256, bytes, node_id, created_at)"
         " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", [sha256, size, node_id, stamp]),
        ("INSERT INTO evidence_holders (sha256, node_id, created_at)"
         " VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [sha256, node_id, stamp])])


def is_evidence_recorded(db: Database, sha256: str) -> bool:
    return db.execute("SELECT 1 FROM evidence WHERE sha256 = ?", [sha256]).fetchone() \
        is not None


def rows_evidence_hashes(db: Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT sha256 FROM evidence ORDER BY sha256")]


def insert_sync_event(db: Database, *, action: str, node_id: str | None = None,
                      batch_id: str | None = None, surveys: int = 0, evidence: int = 0,
                      error: str | None = None) -> None:
    db.execute(
        "INSERT INTO sync_events (at, node_id, batch_id, action, surveys, evidence, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [now_iso(), node_id, batch_id, action, surveys, evidence, error])


def rows_sync_events(db: Database, *, node_id: str | None = None, limit: int = 100) -> list[dict]:
    where, params = ("WHERE node_id = ?", [node_id]) if node_id else ("", [])
    return rows(db, f"SELECT * FROM sync_events {where} ORDER BY id DESC LIMIT ?",
                [*params, limit])
