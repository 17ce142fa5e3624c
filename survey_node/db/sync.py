"""Node-side SQL for sync: runs (history), stored batches, pull cursors, receipts, pulls."""

from __future__ import annotations

import json

from sqlite_utils import Database

from . import cameras as camera_db
from . import now_iso, placeholders, row, rows

PULLED_CAMERA_FIELDS = (
    "site_name", "place_name", "place_type", "agency", "province_code", "province_name",
    "amphoe_code", "amphoe_name", "tambon_code", "tambon_name", "registered_lat",
    "registered_lon", "brand", "model", "resolution", "registry_status",
)


def insert_sync_run(db: Database, run_id: str, *, trigger: str, registry_url: str) -> None:
    db.execute("INSERT INTO sync_runs (id, trigger, registry_url, state, started_at)"
               " VALUES (?, ?, ?, 'running', ?)", [run_id, trigger, registry_url, now_iso()])


def update_sync_run(db: Database, run_id: str, *, state: str, summary: dict,
                    errors: list[str | dict]) -> None:
    db.execute("UPDATE sync_runs SET state = ?, finished_at = ?, summary = ?, errors = ?"
               " WHERE id = ?",
               [state, now_iso(), json.dumps(summary, ensure_ascii=False),
                json.dumps(errors, ensure_ascii=False), run_id])


def fail_interrupted_sync_runs(db: Database) -> int:
    cursor = db.execute("UPDATE sync_runs SET state = 'failed', finished_at = ?,"
                        " errors = '[\"interrupted\"]' WHERE state = 'running'", [now_iso()])
    return cursor.rowcount


def rows_sync_runs(db: Database, limit: int = 30) -> list[dict]:
    found = rows(db, "SELECT * FROM sync_runs ORDER BY started_at DESC, rowid DESC LIMIT ?",
                 [limit])
    for run in found:
        run["summary"] = json.loads(run["summary"] or "{}")
        run["errors"] = json.loads(run["errors"] or "[]")
    return found


def insert_sync_batch(db: Database, batch_id: str, *, run_id: str | None, state: str,
                      manifest_text: str, surveys: int, evidence: int) -> None:
    db.execute("INSERT INTO sync_batches (id, run_id, state, manifest, surveys, evidence,"
               " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               [batch_id, run_id, state, manifest_text, surveys, evidence, now_iso()])


def update_sync_batch(db: Database, batch_id: str, *, state: str, receipt: dict | None = None,
                      error: str | None = None) -> None:
    db.execute("UPDATE sync_batches SET state = ?, receipt = coalesce(?, receipt), error = ?,"
               " committed_at = CASE WHEN ? = 'committed' THEN ? ELSE committed_at END"
               " WHERE id = ?",
               [state, json.dumps(receipt, ensure_ascii=False) if receipt else None, error,
                state, now_iso(), batch_id])


def get_sync_batch(db: Database, batch_id: str) -> dict | None:
    return row(db, "SELECT * FROM sync_batches WHERE id = ?", [batch_id])


def rows_open_batches(db: Database) -> list[dict]:
    return rows(db, "SELECT id, manifest FROM sync_batches WHERE state = 'open'"
                    " ORDER BY created_at, rowid")


def rows_sync_batches(db: Database, limit: int = 50) -> list[dict]:
    return rows(db, "SELECT id, run_id, state, surveys, evidence, error, created_at,"
                    " committed_at FROM sync_batches ORDER BY created_at DESC, rowid DESC"
                    " LIMIT ?", [limit])


def rows_survey_ids_to_send(db: Database) -> list[str]:
    """Completed surveys the registry has not acknowledged at their current revision."""
    return [r[0] for r in db.execute(
        "SELECT id FROM surveys WHERE state = 'complete' ORDER BY completed_at, id")]


def count_surveys_to_send(db: Database) -> int:
    return db.execute("SELECT count(*) FROM surveys WHERE state = 'complete'").fetchone()[0]


def update_surveys_synced(db: Database, pairs: list[tuple[str, int]]) -> int:
    """Mark surveys synced from a receipt, only where the node still holds that revision."""
    stamp, marked = now_iso(), 0
    for survey_id, revision in pairs:
        cursor = db.execute(
            "UPDATE surveys SET state = 'synced', synced_at = ?, synced_revision = ?,"
            " updated_at = ? WHERE id = ? AND revision = ? AND state = 'complete'",
            [stamp, revision, stamp, survey_id, revision])
        marked += cursor.rowcount
    return marked


def get_sync_state(db: Database, key: str, default: str = "") -> str:
    found = db.execute("SELECT value FROM sync_state WHERE key = ?", [key]).fetchone()
    return found[0] if found else default


def set_sync_state(db: Database, key: str, value: str) -> None:
    db.execute("INSERT INTO sync_state (key, value) VALUES (?, ?)"
               " ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])


def get_stream_check_summary(db: Database, check_id) -> dict | None:
    """The stream check a survey refers to, without credentials; None if there is none.

    The ``stream_checks`` table belongs to the stream-check area and may not exist yet.
    """
    if check_id is None or not db["stream_checks"].exists():
        return None
    found = row(db, "SELECT * FROM stream_checks WHERE id = ?", [check_id])
    if found is None:
        return None
    return {k: v for k, v in found.items()
            if isinstance(v, (str, int, float, type(None)))
            and not ("url" in k and "mask" not in k)}


def upsert_pulled_cameras(db: Database, cameras: list[dict]) -> int:
    """Apply camera changes pulled from the registry (call inside a transaction).

    Known cameras get the registry's descriptive fields; new ones are added. The stream URL
    and the original row stay as the node's own import made them.
    """
    stamp, changed = now_iso(), 0
    for cam in cameras:
        values = {k: cam[k] for k in PULLED_CAMERA_FIELDS if k in cam}
        exists = db.execute("SELECT 1 FROM cameras WHERE camera_id = ?",
                            [cam["camera_id"]]).fetchone()
        if exists:
            if not values:
                continue
            camera_db.fill_raw(db, cam["camera_id"])  # the file's cells stay the file's
            sets = ", ".join(f"{k} = ?" for k in values)
            db.execute(f"UPDATE cameras SET {sets}, updated_at = ? WHERE camera_id = ?",
                       [*values.values(), stamp, cam["camera_id"]])
        else:
            item = {"camera_id": cam["camera_id"], **values, "created_at": stamp,
                    "updated_at": stamp}
            db.execute(f"INSERT INTO cameras ({', '.join(item)})"
                       f" VALUES ({placeholders(len(item))})", list(item.values()))
        changed += 1
    return changed
