"""SQL for evidence records (the bytes live in the content-addressed store)."""

from __future__ import annotations

from sqlite_utils import Database

from . import now_iso, placeholders, row, rows, transaction

EVIDENCE_FIELDS = ("sha256", "kind", "mime", "bytes", "width", "height", "taken_at", "lat",
                   "lon", "source", "created_by",
                   # m0300: the fix a photo was taken with, and where its bytes came from.
                   "alt", "h_error_m", "fix_mode", "gps_time", "node_id", "original_sha256",
                   "original_mime", "original_name")


def upsert_evidence(db: Database, record: dict) -> bool:
    """Record an item once; storing the same bytes again changes nothing. True if new."""
    unknown = set(record) - set(EVIDENCE_FIELDS)
    if unknown:
        raise ValueError(f"unknown evidence fields {sorted(unknown)}")
    # Only the fields given: the columns' own defaults apply to the rest (OR IGNORE would
    # otherwise swallow a NOT NULL violation as if the row already existed).
    item = {k: record[k] for k in EVIDENCE_FIELDS if record.get(k) is not None}
    item["created_at"] = now_iso()
    with transaction(db):
        cursor = db.execute(
            f"INSERT OR IGNORE INTO evidence ({', '.join(item)})"
            f" VALUES ({placeholders(len(item))})",
            list(item.values()),
        )
    return cursor.rowcount == 1


def get_evidence(db: Database, sha256: str) -> dict | None:
    return row(db, "SELECT * FROM evidence WHERE sha256 = ?", [sha256])


def get_evidence_by_original(db: Database, original_sha256: str, node_id: str) -> dict | None:
    """The photo this node already made from these exact uploaded bytes, if any."""
    return row(db, "SELECT * FROM evidence WHERE original_sha256 = ? AND node_id = ?"
                   " AND kind = 'photo' ORDER BY created_at LIMIT 1", [original_sha256, node_id])


def rows_evidence(db: Database, sha256s: list[str]) -> list[dict]:
    if not sha256s:
        return []
    marks = placeholders(len(sha256s))
    return rows(db, f"SELECT * FROM evidence WHERE sha256 IN ({marks})", sha256s)
