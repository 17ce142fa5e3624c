"""SQL for jobs: long work with progress that the UI and CLI poll."""

from __future__ import annotations

import json
import uuid

from sqlite_utils import Database

from . import now_iso, row, rows, transaction


def insert_job(db: Database, kind: str, *, params: dict | None = None,
               created_by: str | None = None) -> str:
    job_id = uuid.uuid4().hex
    stamp = now_iso()
    with transaction(db):
        db.execute(
            "INSERT INTO jobs (id, kind, state, progress, params, created_by, created_at,"
            " updated_at) VALUES (?, ?, 'queued', 0, ?, ?, ?, ?)",
            [job_id, kind, json.dumps(params or {}, ensure_ascii=False), created_by, stamp, stamp],
        )
    return job_id


def update_job(db: Database, job_id: str, **changes) -> None:
    allowed = {"state", "progress", "message", "result", "error"}
    if set(changes) - allowed:
        raise ValueError(f"cannot change {sorted(set(changes) - allowed)}")
    if isinstance(changes.get("result"), (dict, list)):
        changes["result"] = json.dumps(changes["result"], ensure_ascii=False)
    changes["updated_at"] = now_iso()
    sets = ", ".join(f"{k} = ?" for k in changes)
    with transaction(db):
        db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", [*changes.values(), job_id])


def get_job(db: Database, job_id: str) -> dict | None:
    job = row(db, "SELECT * FROM jobs WHERE id = ?", [job_id])
    if job:
        job["params"] = json.loads(job["params"] or "{}")
        job["result"] = json.loads(job["result"]) if job["result"] else None
    return job


def rows_jobs(db: Database, *, kind: str | None = None, limit: int = 50) -> list[dict]:
    if kind:
        return rows(db, "SELECT * FROM jobs WHERE kind = ? ORDER BY created_at DESC LIMIT ?",
                    [kind, limit])
    return rows(db, "SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", [limit])


def fail_interrupted_jobs(db: Database) -> int:
    """Startup repair: work left queued or running by a crash is marked failed, not lost."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE jobs SET state = 'failed', error = 'interrupted: the node restarted',"
            " updated_at = ? WHERE state IN ('queued', 'running')",
            [now_iso()],
        )
    return cursor.rowcount
