"""SQL for supervisor review: decisions, the review queue, the history and the dashboard."""

from __future__ import annotations

import json

from sqlite_utils import Database

from . import chunked, now_iso, placeholders, row, rows
from .streamchecks import get_stream_check as get_check

# What the queue shows for each `status` filter (surveys s).
QUEUE_STATUS_SQL = {
    "pending": "s.state IN ('complete', 'synced') AND s.review_state IS NULL",
    "approved": "s.review_state = 'approved'",
    "rejected": "s.review_state = 'rejected'",
    "resurvey": "s.review_state = 'resurvey'",
    "draft": "s.state = 'draft' AND s.review_state IS NULL",
    "all": "1 = 1",
}


def insert_review(db: Database, *, survey_id: str, camera_id: str | None, revision: int,
                  decision: str, reason: str, flags: list[str], reviewer: str,
                  source: str = "node") -> int:
    """Record a decision (call inside the transaction that applies it)."""
    cursor = db.execute(
        "INSERT INTO reviews (survey_id, camera_id, revision, decision, reason, flags, reviewer,"
        " source, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [survey_id, camera_id, revision, decision, reason,
         json.dumps(list(flags), ensure_ascii=False), reviewer, source, now_iso()],
    )
    return cursor.lastrowid


def rows_reviews(db: Database, survey_ids: list[str]) -> list[dict]:
    """Decisions on these surveys, oldest first."""
    if not survey_ids:
        return []
    marks = placeholders(len(survey_ids))
    found = rows(db, f"SELECT * FROM reviews WHERE survey_id IN ({marks}) ORDER BY id", survey_ids)
    for r in found:
        r["flags"] = json.loads(r["flags"] or "[]")
    return found


def get_latest_review(db: Database, survey_id: str) -> dict | None:
    found = row(db, "SELECT * FROM reviews WHERE survey_id = ? ORDER BY id DESC LIMIT 1",
                [survey_id])
    if found:
        found["flags"] = json.loads(found["flags"] or "[]")
    return found


def rows_review_queue(db: Database, *, status: str = "pending", amphoe: str = "",
                      agency: str = "", surveyor: str = "", verdict: str = "",
                      limit: int = 200, offset: int = 0) -> tuple[int, list[dict]]:
    """Surveys to review with their camera's registry facts; (total, one page)."""
    clauses, params = [QUEUE_STATUS_SQL[status]], []
    for column, value in (("c.amphoe_code", amphoe), ("c.agency", agency),
                          ("s.surveyor", surveyor)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if verdict == "none":
        clauses.append("s.stream_verdict IS NULL")
    elif verdict == "failed":
        clauses.append("s.stream_verdict IS NOT NULL AND s.stream_verdict != 'ok'")
    elif verdict:
        clauses.append("s.stream_verdict = ?")
        params.append(verdict)
    where = " AND ".join(clauses)
    base = f"FROM surveys s LEFT JOIN cameras c ON c.camera_id = s.camera_id WHERE {where}"
    total = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    found = rows(
        db,
        "SELECT s.id, s.camera_id, s.new_camera, s.surveyor, s.state, s.review_state,"
        " s.review_reason, s.revision, s.lat, s.lon, s.eph, s.distance_m, s.stream_verdict,"
        " s.completed_at, s.updated_at, c.site_name, c.place_name, c.agency, c.amphoe_code,"
        " c.amphoe_name, c.tambon_name,"
        " (SELECT count(*) FROM survey_evidence se WHERE se.survey_id = s.id"
        "  AND se.role NOT IN ('snapshot', 'view_reference')) AS photos"
        f" {base} ORDER BY coalesce(s.completed_at, s.updated_at), s.id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    for r in found:
        r["new_camera"] = json.loads(r["new_camera"]) if r["new_camera"] else None
    return total, found


def rows_queue_choices(db: Database) -> dict[str, list]:
    """The values the queue's filters offer (only those that occur in surveys)."""
    return {
        "amphoes": rows(db, "SELECT DISTINCT c.amphoe_code AS code, c.amphoe_name AS name"
                            " FROM surveys s JOIN cameras c ON c.camera_id = s.camera_id"
                            " ORDER BY c.amphoe_code"),
        "agencies": [r["agency"] for r in rows(
            db, "SELECT DISTINCT c.agency FROM surveys s JOIN cameras c"
                " ON c.camera_id = s.camera_id WHERE c.agency != '' ORDER BY c.agency")],
        "surveyors": [r["surveyor"] for r in rows(
            db, "SELECT DISTINCT surveyor FROM surveys ORDER BY surveyor")],
        "verdicts": [r["stream_verdict"] for r in rows(
            db, "SELECT DISTINCT stream_verdict FROM surveys WHERE stream_verdict IS NOT NULL"
                " ORDER BY stream_verdict")],
    }


def rows_camera_surveys(db: Database, camera_id: str) -> list[dict]:
    """Every survey of one camera, oldest first (ids and states, for the history)."""
    return rows(db, "SELECT id, revision, state, review_state, surveyor, created_at"
                    " FROM surveys WHERE camera_id = ? ORDER BY created_at, rowid", [camera_id])


def rows_history(db: Database, survey_ids: list[str], limit: int = 500) -> list[dict]:
    """The audit log of these surveys, oldest first."""
    if not survey_ids:
        return []
    marks = placeholders(len(survey_ids))
    found = rows(db, "SELECT * FROM audit_log WHERE entity = 'survey'"
                     f" AND entity_id IN ({marks}) ORDER BY id LIMIT ?", [*survey_ids, limit])
    for r in found:
        r["detail"] = json.loads(r["detail"] or "{}")
    return found


def rows_latest_surveys(db: Database) -> list[dict]:
    """The newest survey of every registry camera (what progress counts)."""
    return rows(
        db,
        "SELECT s.camera_id, s.id, s.state, s.review_state, s.stream_verdict, s.completed_at,"
        " s.surveyor FROM surveys s WHERE s.camera_id IS NOT NULL AND s.rowid = ("
        "  SELECT s2.rowid FROM surveys s2 WHERE s2.camera_id = s.camera_id"
        "  ORDER BY s2.created_at DESC, s2.rowid DESC LIMIT 1)",
    )


def rows_completion_times(db: Database) -> list[str]:
    """When each survey revision was completed (surveys per day)."""
    return [r["at"] for r in rows(
        db, "SELECT at FROM audit_log WHERE entity = 'survey' AND action = 'survey.complete'"
            " ORDER BY id")]


def get_stream_check(db: Database, check_id: int | None) -> dict | None:
    """The stream check a survey refers to (its public columns: never the secret URL)."""

    return None if check_id is None else get_check(db, check_id)


def rows_unpushed_reviews(db: Database, *, limit: int = 500) -> list[dict]:
    """Decisions made on this node that the registry has not recorded yet, oldest first."""
    found = rows(db, "SELECT * FROM reviews WHERE source = 'node' AND pushed_at IS NULL"
                     " ORDER BY id LIMIT ?", [limit])
    for r in found:
        r["flags"] = json.loads(r.get("flags") or "[]")
    return found


def mark_reviews_pushed(db: Database, review_ids: list[int]) -> None:
    for chunk in chunked(review_ids):
        db.execute(f"UPDATE reviews SET pushed_at = ? WHERE id IN ({placeholders(len(chunk))})",
                   [now_iso(), *chunk])
