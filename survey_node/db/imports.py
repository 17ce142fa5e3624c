"""SQL for registry imports: cameras written batch by batch in one all-or-nothing
transaction, and the ``imports`` history.

:class:`CameraImport` takes the write lock when the first batch of normalised rows is
ready (reading and analysing a file needs no lock) and holds it until the import is
committed or rolled back, so a file that fails half-way changes nothing. While it is held,
other writers wait (up to ``BUSY_TIMEOUT_MS``); 100,000 rows hold it about 1.5 s on the
2-core test machine.

Writing straight into ``cameras`` replaced a staging file that was written, read back and
merged: for a 100,000-row first import that was 0.4 s of staging and half the merge.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from . import audit, now_iso, row, rows

# Camera columns an import writes; a staged row is (camera_id, row_no, *IMPORT_FIELDS, raw).
IMPORT_FIELDS = (
    "site_name", "place_name", "place_type", "agency", "province_code", "province_name",
    "amphoe_code", "amphoe_name", "tambon_code", "tambon_name", "registered_lat",
    "registered_lon", "coord_text", "coord_system", "brand", "model", "resolution",
    "stream_url", "registry_status", "extra_hash",
)
STAGED_COLUMNS = ("camera_id", "row_no", *IMPORT_FIELDS, "raw")
WRITTEN_COLUMNS = ("camera_id", *IMPORT_FIELDS, "raw")
CACHE_KIB = -65536  # 64 MiB for this connection while it writes a whole registry
JSON_COLUMNS = ("mapping", "rejected", "warnings", "changes", "removed", "headers",
                "raw_fields", "notes")
_TEMP = ("import_batch", "import_seen", "import_before")


class CameraImport:
    """One import's writes into ``cameras``: ``write()`` each batch of staged rows, then
    ``finish()`` (commit, or roll back for a dry run) or ``abort()``.

    A first import (no cameras yet) inserts rows as they come. Otherwise each batch goes
    through a temporary table and is compared with the cameras it names: new ones are
    inserted, changed ones updated (their old row kept aside, see ``discard``), and every
    camera id seen is remembered so that the ones missing from the file can be marked
    removed at the end.
    """

    def __init__(self, db: Database, *, actor: str | None, dry_run: bool):
        self.db, self.conn = db, db.conn
        self.actor, self.dry_run = actor, dry_run
        self.started = False
        self.first = False
        self.stamp = now_iso()
        self.import_id = 0
        self.written = 0
        self.changes: list[dict] = []
        self._cache = None

    def _begin(self) -> None:
        if self.conn.in_transaction:
            raise RuntimeError("an import needs its own transaction")
        self._cache = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        # Every index page of a large table is touched: a bigger page cache for this
        # connection alone makes writing a whole registry about 1.5x faster.
        self.conn.execute(f"PRAGMA cache_size={CACHE_KIB}")
        self.conn.execute("BEGIN IMMEDIATE")
        self.started = True
        self.import_id = self.db.execute(
            "INSERT INTO imports (file_name, sha256, created_at) VALUES ('', '', ?)",
            [self.stamp]).lastrowid
        self.first = self.db.execute("SELECT NOT EXISTS (SELECT 1 FROM cameras)").fetchone()[0]
        columns = ", ".join(WRITTEN_COLUMNS)
        # Values the import sets on every row it writes are literals we made, not input.
        fixed = f"{int(self.import_id)}, '{self.stamp}', '{self.stamp}'"
        if self.first:
            slots = ", ".join(f"?{i}" for i, c in enumerate(STAGED_COLUMNS, 1) if c != "row_no")
            self._insert = (f"INSERT INTO cameras ({columns}, import_id, created_at, updated_at)"
                            f" VALUES ({slots}, {fixed})")
            return
        for name in _TEMP:
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
        self.conn.execute(f"CREATE TEMP TABLE import_batch ({', '.join(STAGED_COLUMNS)})")
        self.conn.execute("CREATE TEMP TABLE import_seen (camera_id TEXT PRIMARY KEY,"
                          " is_new INTEGER NOT NULL) WITHOUT ROWID")
        self.conn.execute("CREATE TEMP TABLE import_before AS SELECT * FROM cameras WHERE 0")
        self._stage = (f"INSERT INTO temp.import_batch VALUES"
                       f" ({', '.join('?' * len(STAGED_COLUMNS))})")
        self._insert = (f"INSERT INTO cameras ({columns}, import_id, created_at, updated_at)"
                        f" SELECT {', '.join('b.' + c for c in WRITTEN_COLUMNS)}, {fixed}"
                        f" FROM temp.import_batch b JOIN temp.import_seen s"
                        f" ON s.camera_id = b.camera_id AND s.is_new = 1 ORDER BY b.rowid")

    def write(self, batch: list[tuple]) -> None:
        """Write staged rows (each camera id once per import: see the importer)."""
        if not batch:
            return
        if not self.started:
            self._begin()
        self.written += len(batch)
        if self.first:
            self.conn.executemany(self._insert, batch)
            return
        conn = self.conn
        conn.executemany(self._stage, batch)
        conn.execute("INSERT INTO temp.import_seen SELECT b.camera_id, c.id IS NULL"
                     " FROM temp.import_batch b LEFT JOIN cameras c ON c.camera_id = b.camera_id")
        diffs = ", ".join(f"b.{f} IS NOT c.{f}" for f in IMPORT_FIELDS)
        any_diff = " OR ".join(f"b.{f} IS NOT c.{f}" for f in IMPORT_FIELDS)
        changed = []
        for camera_id, row_no, was_removed, *flags in conn.execute(
            f"SELECT b.camera_id, b.row_no, c.removed, {diffs} FROM temp.import_batch b"
            f" JOIN cameras c ON c.camera_id = b.camera_id"
            f" WHERE c.removed = 1 OR {any_diff} ORDER BY b.row_no"
        ):
            fields = ["other_columns" if f == "extra_hash" else f
                      for f, differs in zip(IMPORT_FIELDS, flags) if differs]
            if was_removed:
                fields.insert(0, "back_in_registry")
            self.changes.append({"camera_id": camera_id, "row": row_no, "fields": fields})
            changed.append(camera_id)
        if changed:
            marks = ", ".join("?" * len(changed))
            conn.execute(f"INSERT INTO temp.import_before SELECT * FROM cameras"
                         f" WHERE camera_id IN ({marks})", changed)
            sets = ", ".join(f"{f} = b.{f}" for f in (*IMPORT_FIELDS, "raw"))
            conn.execute(f"UPDATE cameras SET {sets}, removed = 0, import_id = ?, updated_at = ?"
                         f" FROM temp.import_batch b WHERE cameras.camera_id = b.camera_id"
                         f" AND b.camera_id IN ({marks})", [self.import_id, self.stamp, *changed])
        conn.execute(self._insert)
        conn.execute("DELETE FROM temp.import_batch")

    def discard(self, camera_ids: set[str]) -> None:
        """Undo what was written for these ids (the file gives them conflicting rows): a
        camera new in this import is deleted, a changed one gets its old row back, and
        none of them counts as seen, changed or removed."""
        if not camera_ids or not self.started:
            return
        ids = sorted(camera_ids)
        marks = ", ".join("?" * len(ids))
        self.written -= len(ids)
        self.changes = [c for c in self.changes if c["camera_id"] not in camera_ids]
        if self.first:
            self.conn.execute(f"DELETE FROM cameras WHERE camera_id IN ({marks})", ids)
            return
        self.conn.execute(f"DELETE FROM cameras WHERE camera_id IN (SELECT camera_id FROM"
                          f" temp.import_seen WHERE is_new = 1 AND camera_id IN ({marks}))", ids)
        restored = ", ".join(f"{f} = b.{f}" for f in (*IMPORT_FIELDS, "raw", "removed",
                                                      "import_id", "updated_at"))
        self.conn.execute(f"UPDATE cameras SET {restored} FROM temp.import_before b"
                          f" WHERE cameras.camera_id = b.camera_id AND b.camera_id IN ({marks})",
                          ids)
        # Still "seen": a camera with conflicting rows is in the file, so it is not removed.
        self.conn.execute(f"UPDATE temp.import_seen SET is_new = -1 WHERE camera_id IN ({marks})",
                          ids)

    def finish(self, import_row: dict) -> dict:
        """Mark missing cameras removed, record the import, then commit (or roll back a dry
        run, whose counts are still the real ones). Returns counts, changes and removed."""
        if not self.started:
            raise RuntimeError("nothing was written")
        try:
            result = self._finish(import_row)
        except BaseException:
            self.abort()
            raise
        self.conn.execute("ROLLBACK" if self.dry_run else "COMMIT")
        self._end()
        return result

    def abort(self) -> None:
        if self.started and self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self._end()

    def _end(self) -> None:
        if self.started and not self.first:
            for name in _TEMP:
                self.conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
        if self._cache is not None:
            self.conn.execute(f"PRAGMA cache_size={int(self._cache)}")
            self._cache = None
        self.started = False

    def _finish(self, import_row: dict) -> dict:
        db = self.db
        removed: list[str] = []
        if self.first:
            new, unchanged = self.written, 0
        else:
            new = db.execute("SELECT count(*) FROM temp.import_seen WHERE is_new = 1"
                             ).fetchone()[0]
            seen = db.execute("SELECT count(*) FROM temp.import_seen WHERE is_new >= 0"
                              ).fetchone()[0]
            unchanged = seen - new - len(self.changes)
            removed = sorted(r[0] for r in db.execute(
                "UPDATE cameras SET removed = 1, updated_at = ? WHERE removed = 0"
                " AND camera_id NOT IN (SELECT camera_id FROM temp.import_seen)"
                " RETURNING camera_id", [self.stamp]).fetchall())
        counts = {"new": new, "changed": len(self.changes), "unchanged": unchanged,
                  "removed": len(removed)}
        record = {k: (json.dumps(v, ensure_ascii=False) if k in JSON_COLUMNS else v)
                  for k, v in import_row.items()}
        record.update(new_count=new, changed_count=counts["changed"],
                      unchanged_count=unchanged, removed_count=len(removed),
                      changes=json.dumps(self.changes, ensure_ascii=False),
                      removed=json.dumps(removed), created_by=self.actor)
        cols = list(record)
        db.execute(f"UPDATE imports SET {', '.join(c + ' = ?' for c in cols)} WHERE id = ?",
                   [*(record[c] for c in cols), self.import_id])
        audit(db, actor=self.actor, action="cameras.import", entity="imports",
              entity_id=self.import_id,
              detail={"file": import_row.get("file_name"), "sha256": import_row.get("sha256"),
                      **counts, "rejected": import_row.get("rejected_count", 0)})
        return {"import_id": self.import_id, "counts": counts, "changes": self.changes,
                "removed": removed}


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
