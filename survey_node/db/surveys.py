"""SQL for surveys and the evidence attached to them."""

from __future__ import annotations

import json

from sqlite_utils import Database

from . import now_iso, placeholders, row, rows

POSITION_FIELDS = ("lat", "lon", "alt", "eph", "epv", "hdop", "pdop", "sats_used", "sats_seen",
                   "eph_source", "fix_status",
                   "fix_mode", "samples", "spread_m", "position_source", "position_reason",
                   "fix_time", "fix_system_time", "distance_m")
CHANGEABLE = set(POSITION_FIELDS) | {
    "state", "review_state", "review_reason", "revision", "locked_by", "locked_at", "checklist",
    "notes", "stream_check_id", "stream_verdict", "completed_at", "synced_at", "synced_revision",
    "new_camera", "found_stream_url", "found_stream_check_id", "found_stream_via",
}


def insert_survey(db: Database, survey: dict) -> None:
    """Insert a survey row (call inside a transaction)."""
    stamp = now_iso()
    item = dict(survey)
    item.setdefault("created_at", stamp)
    item.setdefault("updated_at", stamp)
    for key in ("checklist", "new_camera"):
        if isinstance(item.get(key), dict):
            item[key] = json.dumps(item[key], ensure_ascii=False, sort_keys=True)
    db.execute(
        f"INSERT INTO surveys ({', '.join(item)}) VALUES ({placeholders(len(item))})",
        list(item.values()),
    )


def update_survey(db: Database, survey_id: str, **changes) -> dict | None:
    """Change a survey (call inside a transaction); returns the survey as it now is, so a
    write need not read it back."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    for key in ("checklist", "new_camera"):
        if isinstance(changes.get(key), dict):
            changes[key] = json.dumps(changes[key], ensure_ascii=False, sort_keys=True)
    changes["updated_at"] = now_iso()
    sets = ", ".join(f"{k} = ?" for k in changes)
    found = db.execute(f"UPDATE surveys SET {sets} WHERE id = ? RETURNING *",
                       [*changes.values(), survey_id])
    columns = [c[0] for c in found.description]
    updated = found.fetchone()
    return _decode(dict(zip(columns, updated))) if updated else None


def get_survey(db: Database, survey_id: str) -> dict | None:
    return _decode(row(db, "SELECT * FROM surveys WHERE id = ?", [survey_id]))


def get_open_survey_for_camera(db: Database, camera_id: str) -> dict | None:
    """The camera's current survey: the newest one not superseded by a re-survey request."""
    return _decode(row(
        db,
        "SELECT * FROM surveys WHERE camera_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
        [camera_id],
    ))


def rows_surveys(db: Database, *, state: str | None = None, surveyor: str | None = None,
                 limit: int = 1000) -> list[dict]:
    clauses, params = [], []
    if state:
        clauses.append("state = ?")
        params.append(state)
    if surveyor:
        clauses.append("surveyor = ?")
        params.append(surveyor)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return [_decode(r) for r in rows(
        db, f"SELECT * FROM surveys {where} ORDER BY updated_at DESC LIMIT ?", [*params, limit])]


def insert_survey_evidence(db: Database, survey_id: str, sha256: str, role: str,
                           added_by: str | None) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO survey_evidence (survey_id, sha256, role, added_by, added_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [survey_id, sha256, role, added_by, now_iso()],
    )
    return cursor.rowcount == 1


def delete_survey_evidence(db: Database, survey_id: str, sha256: str) -> bool:
    cursor = db.execute("DELETE FROM survey_evidence WHERE survey_id = ? AND sha256 = ?",
                        [survey_id, sha256])
    return cursor.rowcount == 1


def rows_survey_evidence(db: Database, survey_id: str) -> list[dict]:
    return rows(
        db,
        "SELECT se.role, se.added_by, se.added_at, e.* FROM survey_evidence se"
        " JOIN evidence e ON e.sha256 = se.sha256 WHERE se.survey_id = ?"
        " ORDER BY se.added_at, se.sha256",
        [survey_id],
    )


def _decode(survey: dict | None) -> dict | None:
    if survey is None:
        return None
    survey["checklist"] = json.loads(survey["checklist"] or "{}")
    survey["new_camera"] = json.loads(survey["new_camera"]) if survey.get("new_camera") else None
    return survey


def survey_states_for(db: Database, camera_ids: list[str]) -> dict[str, dict]:
    """The latest survey's state per camera, for badges in lists."""
    if not camera_ids:
        return {}
    marks = placeholders(len(camera_ids))
    found = rows(
        db,
        "SELECT camera_id, id, state, review_state, review_reason, revision, locked_by, surveyor,"
        " stream_verdict"
        f" FROM surveys WHERE camera_id IN ({marks}) ORDER BY created_at, rowid",
        camera_ids,
    )
    return {r["camera_id"]: r for r in found}  # later rows (newer surveys) win


def rows_latest_survey_summary(db: Database) -> list[dict]:
    """Per camera, its newest survey with the photo count (for exports)."""
    return rows(
        db,
        "SELECT s.camera_id, s.state, s.review_state, s.lat, s.lon, s.eph, s.distance_m,"
        " s.stream_verdict, s.completed_at,"
        " (SELECT count(*) FROM survey_evidence se WHERE se.survey_id = s.id"
        "  AND se.role NOT IN ('snapshot', 'view_reference')) AS photos"
        " FROM surveys s WHERE s.camera_id IS NOT NULL AND s.rowid = ("
        "  SELECT s2.rowid FROM surveys s2 WHERE s2.camera_id = s.camera_id"
        "  ORDER BY s2.created_at DESC, s2.rowid DESC LIMIT 1)",
    )
