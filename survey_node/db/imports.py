"""SQL for registry imports: the staging file an import is read into, the all-or-nothing
merge into ``cameras``, and the ``imports`` history.

An import is read into a separate staging SQLite file first (no lock on the node's
database while a large file is parsed), then merged here in one short write transaction.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from . import audit, now_iso, row, rows

# Camera columns an import writes, in the staging table's order.
IMPORT_FIELDS = (
    "site_name", "place_name", "place_type", "agency", "province_code", "province_name",
    "amphoe_code", "amphoe_name", "tambon_code", "tambon_name", "registered_lat",
    "registered_lon", "coord_text", "coord_system", "brand", "model", "resolution",
    "stream_url", "registry_status", "extra_hash",
)
STAGING_COLUMNS = ("camera_id", "row_no", *IMPORT_FIELDS, "raw")
MERGE_CACHE_KIB = -65536  # 64 MiB, negative = KiB in SQLite's pragma
JSON_COLUMNS = ("mapping", "rejected", "warnings", "changes", "removed", "headers")


def create_staging(path: Path) -> sqlite3.Connection:
    """A throwaway database file for one import (no journal: it is rebuilt on failure)."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(f"CREATE TABLE cams ({', '.join(STAGING_COLUMNS)})")
    conn.execute("CREATE TABLE rejected_ids (camera_id TEXT PRIMARY KEY)")
    conn.execute("CREATE TABLE changed_rows (staged INTEGER PRIMARY KEY)")
    conn.execute("BEGIN")
    return conn


def insert_staged(conn: sqlite3.Connection, batch: list[tuple]) -> None:
    conn.executemany(
        f"INSERT INTO cams VALUES ({', '.join('?' * len(STAGING_COLUMNS))})", batch)


def delete_staged_ids(conn: sqlite3.Connection, camera_ids: set[str]) -> None:
    """Drop every staged row of these ids and remember them as rejected (not removed)."""
    ids = [(i,) for i in sorted(camera_ids)]
    conn.executemany("DELETE FROM cams WHERE camera_id = ?", ids)
    conn.executemany("INSERT OR IGNORE INTO rejected_ids VALUES (?)", ids)


def count_staged(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM cams").fetchone()[0]


def merge_staged(db: Database, staging_path: Path, *, import_row: dict, actor: str | None,
                 dry_run: bool) -> dict:
    """Merge the staged cameras into ``cameras`` in one transaction and record the import.

    Returns counts, the changed cameras with their changed fields and the removed ids.
    A dry run does the same work and rolls it back, so its counts are the real ones.
    """
    conn = db.conn
    if conn.in_transaction:
        raise RuntimeError("merge_staged needs its own transaction")
    conn.execute("ATTACH DATABASE ? AS st", [str(staging_path)])
    # A merge touches every index page of a large table: a bigger page cache for this
    # connection alone makes it about 1.5x faster (the connection is closed after use).
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size={MERGE_CACHE_KIB}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = _merge(db, import_row, actor)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("ROLLBACK" if dry_run else "COMMIT")
    finally:
        conn.execute("DETACH DATABASE st")
        conn.execute(f"PRAGMA cache_size={int(cache)}")
    return result


def _merge(db: Database, import_row: dict, actor: str | None) -> dict:
    stamp = now_iso()
    record = {k: (json.dumps(v, ensure_ascii=False) if k in JSON_COLUMNS else v)
              for k, v in import_row.items()}
    record["created_at"] = stamp
    record["created_by"] = actor
    cols = list(record)
    cursor = db.execute(
        f"INSERT INTO imports ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [record[c] for c in cols])
    import_id = cursor.lastrowid

    existing = db.execute("SELECT count(*) FROM main.cameras").fetchone()[0]
    diffs = ", ".join(f"s.{f} IS NOT c.{f}" for f in IMPORT_FIELDS)
    any_diff = " OR ".join(f"s.{f} IS NOT c.{f}" for f in IMPORT_FIELDS)
    changes, changed_rows = [], []
    # Staged rows are probed against the cameras' unique index; the staging file needs no
    # index of its own (the changed rows are remembered by their staging rowid).
    # On a first import (no cameras yet) nothing can match: both probes are skipped.
    for found in () if not existing else db.execute(
        f"SELECT s.rowid, s.camera_id, s.row_no, c.removed, {diffs} FROM st.cams s"
        f" JOIN main.cameras c ON c.camera_id = s.camera_id"
        f" WHERE c.removed = 1 OR {any_diff} ORDER BY s.row_no"
    ):
        staged, camera_id, row_no, was_removed, *flags = found
        fields = [f for f, changed in zip(IMPORT_FIELDS, flags) if changed]
        fields = ["other_columns" if f == "extra_hash" else f for f in fields]
        if was_removed:
            fields.insert(0, "back_in_registry")
        changes.append({"camera_id": camera_id, "row": row_no, "fields": fields})
        changed_rows.append((staged,))
    if changed_rows:
        db.conn.executemany("INSERT INTO st.changed_rows VALUES (?)", changed_rows)
        sets = ", ".join(f"{f} = s.{f}" for f in (*IMPORT_FIELDS, "raw"))
        db.execute(
            f"UPDATE main.cameras SET {sets}, removed = 0, import_id = ?, updated_at = ?"
            f" FROM st.cams s WHERE s.rowid IN (SELECT staged FROM st.changed_rows)"
            f" AND cameras.camera_id = s.camera_id",
            [import_id, stamp])
    insert_cols = ("camera_id", *IMPORT_FIELDS, "raw")
    new = db.execute(
        f"INSERT INTO main.cameras ({', '.join(insert_cols)}, import_id, created_at, updated_at)"
        f" SELECT {', '.join('s.' + c for c in insert_cols)}, ?, ?, ? FROM st.cams s"
        # Staged rows are in file order already (rowid order): no sort of the whole file.
        + (" WHERE NOT EXISTS (SELECT 1 FROM main.cameras c WHERE c.camera_id = s.camera_id)"
           if existing else ""),
        [import_id, stamp, stamp]).rowcount
    # Staged ids are unique, so every staged row not inserted matched one camera; when the
    # cameras that existed before all matched, none can be missing from the file and the
    # scan of the whole table for removed ones is skipped (always so on a first import).
    matched = db.execute("SELECT count(*) FROM st.cams").fetchone()[0] - new
    removed = []
    if existing > matched:
        removed = [r[0] for r in db.execute(
            "UPDATE main.cameras SET removed = 1, updated_at = ? WHERE removed = 0"
            " AND camera_id NOT IN (SELECT camera_id FROM st.cams)"
            " AND camera_id NOT IN (SELECT camera_id FROM st.rejected_ids)"
            " RETURNING camera_id", [stamp]).fetchall()]
    removed.sort()
    counts = {"new": new, "changed": len(changes), "unchanged": matched - len(changes),
              "removed": len(removed)}
    db.execute(
        "UPDATE imports SET new_count = ?, changed_count = ?, unchanged_count = ?,"
        " removed_count = ?, changes = ?, removed = ? WHERE id = ?",
        [counts["new"], counts["changed"], counts["unchanged"], counts["removed"],
         json.dumps(changes, ensure_ascii=False), json.dumps(removed), import_id])
    audit(db, actor=actor, action="cameras.import", entity="imports", entity_id=import_id,
          detail={"file": import_row.get("file_name"), "sha256": import_row.get("sha256"),
                  **counts, "rejected": import_row.get("rejected_count", 0)})
    return {"import_id": import_id, "counts": counts, "changes": changes, "removed": removed}


def rows_imports(db: Database, *, limit: int = 50) -> list[dict]:
    return rows(db, "SELECT id, file_name, sha256, kind, sheet, rows_read, new_count,"
                    " changed_count, unchanged_count, removed_count, rejected_count, created_by,"
                    " created_at FROM imports ORDER BY id DESC LIMIT ?", [limit])


def get_import(db: Database, import_id: int) -> dict | None:
    found = row(db, "SELECT * FROM imports WHERE id = ?", [import_id])
    if found:
        for key in JSON_COLUMNS:
            found[key] = json.loads(found[key] or "null")
    return found
