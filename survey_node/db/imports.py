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

from ..errors import BadInput
from . import audit, chunked, now_iso, placeholders, row, rows

# Camera columns an import writes; a staged row is (camera_id, row_no, *IMPORT_FIELDS, raw).
IMPORT_FIELDS = (
    "site_name", "place_name", "place_type", "agency", "province_code", "province_name",
    "amphoe_code", "amphoe_name", "tambon_code", "tambon_name", "registered_lat",
    "registered_lon", "coord_text", "coord_system", "brand", "model", "resolution",
    "stream_url", "registry_status", "extra_hash",
)
STAGED_COLUMNS = ("camera_id", "row_no", *IMPORT_FIELDS, "raw")
WRITTEN_COLUMNS = ("camera_id", *IMPORT_FIELDS, "raw")
REMOVAL_SCOPES = ("all", "covered")
# A missing camera is inside a partial file's area when its district is one the file has
# (or the file names no district) and, for a file that is partial by agency rather than by
# district (it names no district, or every district of the registry), its agency is one the
# file has. A district office's file lists many agencies; a camera of one it happens not to
# list is still in its district, so agencies only count when districts say nothing.
_IN_DISTRICTS = ("(NOT EXISTS (SELECT 1 FROM temp.import_area_amphoe)"
                 " OR c.amphoe_code IN (SELECT code FROM temp.import_area_amphoe))")
_IN_AGENCIES = ("(NOT EXISTS (SELECT 1 FROM temp.import_area_agency)"
                " OR c.agency IN (SELECT agency FROM temp.import_area_agency))")
CACHE_KIB = -65536  # 64 MiB for this connection while it writes a whole registry
JSON_COLUMNS = ("mapping", "rejected", "warnings", "changes", "removed", "headers",
                "raw_fields", "notes")
_TEMP = ("import_batch", "import_seen", "import_before", "import_area_amphoe",
         "import_area_agency")


class CameraImport:
    """One import's writes into ``cameras``: ``write()`` each batch of staged rows, then
    ``finish()`` (commit, or roll back for a dry run) or ``abort()``.

    A first import (no cameras yet) inserts rows as they come. Otherwise each batch goes
    through a temporary table and is compared with the cameras it names: new ones are
    inserted, changed ones updated (their old row kept aside, see ``discard``), and every
    camera id seen is remembered so that the ones missing from the file can be marked
    removed at the end.
    """

    def __init__(self, db: Database, *, actor: str | None, dry_run: bool,
                 remove_missing: bool = False, expected_removals: int | None = None,
                 removal_scope: str = "all"):
        self.db, self.conn = db, db.conn
        self.actor, self.dry_run = actor, dry_run
        # Cameras missing from the file are only marked removed when asked to (a district's
        # or an agency's file would otherwise empty every other worklist); with
        # `expected_removals` the count must still be the one the admin confirmed. A scope
        # of "covered" removes only those inside a partial file's own area (see
        # _IN_DISTRICTS), never one outside it.
        if removal_scope not in REMOVAL_SCOPES:
            raise ValueError(f"removal scope {removal_scope!r}")
        self.remove_missing, self.expected_removals = remove_missing, expected_removals
        self.removal_scope = removal_scope
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
                       f" ({placeholders(len(STAGED_COLUMNS))})")
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
            marks = placeholders(len(changed))
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
        marks = placeholders(len(ids))
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
        missing = {"count": 0, "selected": 0, "surveyed": 0, "outside_file_districts": 0,
                   "sample": []}
        if self.first:
            new, unchanged = self.written, 0
        else:
            new = db.execute("SELECT count(*) FROM temp.import_seen WHERE is_new = 1"
                             ).fetchone()[0]
            seen = db.execute("SELECT count(*) FROM temp.import_seen WHERE is_new >= 0"
                              ).fetchone()[0]
            unchanged = seen - new - len(self.changes)
            missing, area_sql = self._missing()
            covered_only = self.removal_scope == "covered"
            to_remove = missing["covered"] if covered_only else missing["count"]
            if self.remove_missing and to_remove:
                if self.expected_removals is not None and self.expected_removals != to_remove:
                    raise BadInput("The cameras have changed since the check: %(now)s would be"
                                   " marked removed, not the %(then)s you confirmed; check the"
                                   " file again", now=to_remove, then=self.expected_removals)
                area = f" AND {area_sql}" if covered_only else ""
                # Their rows as they were, so that an undo gives back the same rows (its
                # last-changed time too), not merely the same flag.
                db.execute(f"INSERT OR REPLACE INTO import_undo (import_id, camera_id, before)"
                           f" SELECT ?, c.camera_id, {self._row_json('c')} FROM cameras c"
                           f" WHERE c.removed = 0 AND c.camera_id NOT IN"
                           f" (SELECT camera_id FROM temp.import_seen){area}",
                           [self.import_id])
                removed = sorted(r[0] for r in db.execute(
                    f"UPDATE cameras AS c SET removed = 1, updated_at = ? WHERE c.removed = 0"
                    f" AND c.camera_id NOT IN (SELECT camera_id FROM temp.import_seen){area}"
                    f" RETURNING camera_id", [self.stamp]).fetchall())
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
        self._keep_undo()
        audit(db, actor=self.actor, action="cameras.import", entity="imports",
              entity_id=self.import_id,
              detail={"file": import_row.get("file_name"), "sha256": import_row.get("sha256"),
                      **counts, "rejected": import_row.get("rejected_count", 0)})
        return {"import_id": self.import_id, "counts": counts, "changes": self.changes,
                "removed": removed, "missing": missing}

    def _keep_undo(self) -> None:
        """Keep what undoing this import needs: the old rows of the cameras it changed and
        the ids of those it added (in the same transaction as the import)."""
        db = self.db
        if not self.first:
            db.execute(f"INSERT OR REPLACE INTO import_undo (import_id, camera_id, before)"
                       f" SELECT ?, b.camera_id, {self._row_json('b')}"
                       f" FROM temp.import_before b",
                       [self.import_id])
        db.execute("INSERT OR IGNORE INTO import_undo (import_id, camera_id, before)"
                   " SELECT ?, camera_id, NULL FROM cameras WHERE import_id = ? AND created_at = ?",
                   [self.import_id, self.import_id, self.stamp])

    def _row_json(self, alias: str) -> str:
        """SQL for a camera row (table alias `alias`) as a JSON object: what undo keeps."""
        columns = [r[1] for r in self.db.execute("PRAGMA table_info(cameras)")]
        return "json_object(" + ", ".join(f"'{c}', {alias}.{c}" for c in columns) + ")"

    def _missing(self) -> tuple[dict, str]:
        """The cameras the file does not have: how many, how many of them are in the survey
        set in force or have surveys (work a removal would hide), how many lie outside every
        district or agency the file covers (the sign of a partial file) and how many are
        inside its area (what an "update only this area" import may remove); and the SQL
        condition on `c` for that area."""
        db = self.db
        for name, column in (("import_area_amphoe", "amphoe_code"), ("import_area_agency",
                                                                      "agency")):
            key = "code" if column == "amphoe_code" else "agency"
            db.execute(f"DROP TABLE IF EXISTS temp.{name}")
            db.execute(f"CREATE TEMP TABLE {name} AS SELECT DISTINCT k.{column} AS {key}"
                       f" FROM cameras k JOIN temp.import_seen t ON t.camera_id = k.camera_id"
                       f" WHERE k.{column} IS NOT NULL AND k.{column} != ''")
        district_partial = db.execute(
            "SELECT EXISTS (SELECT 1 FROM temp.import_area_amphoe) AND EXISTS (SELECT 1 FROM"
            " cameras c WHERE c.removed = 0 AND c.amphoe_code IS NOT NULL AND c.amphoe_code"
            " NOT IN (SELECT code FROM temp.import_area_amphoe))").fetchone()[0]
        area_sql = _IN_DISTRICTS if district_partial else f"{_IN_DISTRICTS} AND {_IN_AGENCIES}"
        not_seen = ("c.removed = 0 AND c.camera_id NOT IN"
                    " (SELECT camera_id FROM temp.import_seen)")
        count, selected, surveyed, outside_districts, outside_agencies, covered = db.execute(
            "SELECT count(*),"
            " sum(EXISTS (SELECT 1 FROM selection s WHERE s.camera_id = c.camera_id"
            "   AND s.status = 'selected'"
            "   AND s.run_id = (SELECT max(id) FROM selection_runs))),"
            " sum(EXISTS (SELECT 1 FROM surveys v WHERE v.camera_id = c.camera_id)),"
            " sum(c.amphoe_code IS NULL OR c.amphoe_code NOT IN"
            "   (SELECT code FROM temp.import_area_amphoe)),"
            " sum(EXISTS (SELECT 1 FROM temp.import_area_agency)"
            "   AND (c.agency IS NULL OR c.agency NOT IN"
            "   (SELECT agency FROM temp.import_area_agency))),"
            f" sum({area_sql})"
            f" FROM cameras c WHERE {not_seen}").fetchone()
        sample = [r[0] for r in db.execute(
            f"SELECT c.camera_id FROM cameras c WHERE {not_seen} ORDER BY c.camera_id LIMIT 20")]
        covered = covered or 0
        return {"count": count, "selected": selected or 0, "surveyed": surveyed or 0,
                "outside_file_districts": outside_districts or 0,
                # A district's file names only some agencies; that says nothing more.
                "outside_file_agencies": 0 if district_partial else outside_agencies or 0,
                "covered": covered, "partial": count > covered, "sample": sample}, area_sql


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


def get_latest_import(db: Database) -> dict | None:
    return row(db, "SELECT id, undone_at FROM imports WHERE undone_at IS NULL AND file_name != ''"
                   " ORDER BY id DESC LIMIT 1")


def undo_import(db: Database, import_id: int, *, actor: str | None) -> dict:
    """Put the cameras back as they were before this import (call inside a transaction):
    changed ones get their old rows, removed ones come back, added ones are deleted unless
    work refers to them (then they are marked removed, so nothing surveyed is lost)."""
    found = row(db, "SELECT id, removed FROM imports WHERE id = ?", [import_id])
    columns = [r[1] for r in db.execute("PRAGMA table_info(cameras)") if r[1] != "id"]
    sets = ", ".join(f"{c} = json_extract(u.before, '$.{c}')" for c in columns
                     if c != "camera_id")
    restored = db.execute(
        f"UPDATE cameras SET {sets} FROM import_undo u WHERE u.import_id = ?"
        f" AND u.before IS NOT NULL AND u.camera_id = cameras.camera_id", [import_id]).rowcount
    added = [r[0] for r in db.execute("SELECT camera_id FROM import_undo WHERE import_id = ?"
                                      " AND before IS NULL", [import_id])]
    in_use = ("EXISTS (SELECT 1 FROM surveys s WHERE s.camera_id = cameras.camera_id)"
              " OR EXISTS (SELECT 1 FROM selection s WHERE s.camera_id = cameras.camera_id)"
              " OR EXISTS (SELECT 1 FROM replacements r WHERE r.camera_id = cameras.camera_id"
              "  OR r.replacement_camera_id = cameras.camera_id)"
              " OR EXISTS (SELECT 1 FROM assignments a WHERE a.camera_id = cameras.camera_id)"
              " OR EXISTS (SELECT 1 FROM stream_checks k WHERE k.camera_id = cameras.camera_id)")
    kept = deleted = 0
    for chunk in chunked(added):
        listed = placeholders(len(chunk))
        kept += db.execute(f"UPDATE cameras SET removed = 1, updated_at = ? WHERE camera_id IN"
                           f" ({listed}) AND ({in_use})", [now_iso(), *chunk]).rowcount
        deleted += db.execute(f"DELETE FROM cameras WHERE camera_id IN ({listed})"
                              f" AND NOT ({in_use})", chunk).rowcount
    back = json.loads(found["removed"] or "[]")
    # The removed ones whose rows were kept came back with the restore above.
    returned = sum(db.execute(
        f"SELECT count(*) FROM import_undo WHERE import_id = ? AND before IS NOT NULL"
        f" AND camera_id IN ({placeholders(len(chunk))})", [import_id, *chunk]).fetchone()[0]
        for chunk in chunked(back))
    restored -= returned
    for chunk in chunked(back):
        # (Imports from before their rows were kept; theirs are already restored above.)
        returned += db.execute(f"UPDATE cameras SET removed = 0 WHERE camera_id IN"
                               f" ({placeholders(len(chunk))}) AND removed = 1", chunk).rowcount
    db.execute("UPDATE imports SET undone_at = ?, undone_by = ? WHERE id = ?",
               [now_iso(), actor, import_id])
    counts = {"restored": restored, "deleted": deleted, "kept_removed": kept,
              "back": returned}
    audit(db, actor=actor, action="cameras.import_undo", entity="imports", entity_id=import_id,
          detail=counts)
    return counts
