"""SQL for the hand-in exports: each camera with its latest survey, check and review."""

from __future__ import annotations

import json
from typing import Iterator

from sqlite_utils import Database

from . import rows
from .cameras import PUBLIC_COLUMNS

SCOPES = {
    "selected": "sel.camera_id IS NOT NULL",
    "surveyed": "(s.state IN ('complete', 'synced') OR s.review_state = 'approved')",
    "approved": "s.review_state = 'approved'",
    "all": "1 = 1",
}
CHECK_COLUMNS = ("codec", "width", "height", "fps", "bitrate_kbps", "keyframe_interval_s", "luma", "frozen_score", "blur_score",
                 "connect_ms", "first_frame_ms", "url_masked", "checked_at",
                 # the camera's own word over ONVIF (issue 18)
                 "onvif_manufacturer", "onvif_model", "onvif_serial", "onvif_mac",
                 "clock_drift_s", "view_change")


def iter_export_rows(db: Database, *, scope: str, run_id: int | None, amphoe: str = "",
                     agency: str = "") -> Iterator[dict]:
    """Cameras in `scope` (see SCOPES) with their latest survey; streamed, stable order."""
    params: list = [run_id if run_id is not None else -1]
    clauses = ["c.removed = 0", SCOPES[scope]]
    if amphoe:  # a DOPA code or a name, as people type it
        clauses.append("(c.amphoe_code = ? OR c.amphoe_name = ?)")
        params += [amphoe, amphoe]
    if agency:
        clauses.append("c.agency = ?")
        params.append(agency)
    check_cols = ", ".join(f"sc.{c} AS check_{c}" for c in CHECK_COLUMNS)
    cursor = db.execute(
        f"SELECT {', '.join('c.' + col for col in PUBLIC_COLUMNS.split(', '))},"
        " sel.camera_id IS NOT NULL AS selected,"
        " s.id AS survey_id, s.state AS survey_state, s.review_state, s.review_reason,"
        " s.revision, s.surveyor, s.lat, s.lon, s.alt, s.eph, s.hdop, s.pdop, s.sats_used,"
        " s.fix_mode, s.samples, s.spread_m, s.position_source, s.position_reason, s.fix_time,"
        " s.distance_m, s.stream_verdict, s.completed_at, s.notes, s.checklist, s.eph_source,"
        " s.found_stream_url,"
        " (SELECT count(*) FROM survey_evidence se WHERE se.survey_id = s.id"
        "  AND se.role NOT IN ('snapshot', 'view_reference')) AS photos,"
        " (SELECT r.reviewer FROM reviews r WHERE r.survey_id = s.id ORDER BY r.id DESC LIMIT 1)"
        "  AS reviewer,"
        " (SELECT u.display_name FROM users u WHERE u.name = s.surveyor) AS surveyor_name,"
        " (SELECT u.display_name FROM users u JOIN reviews r ON r.reviewer = u.name"
        "  WHERE r.survey_id = s.id ORDER BY r.id DESC LIMIT 1) AS reviewer_name,"
        " (SELECT r.decided_at FROM reviews r WHERE r.survey_id = s.id ORDER BY r.id DESC"
        "  LIMIT 1) AS reviewed_at,"
        f" {check_cols}"
        " FROM cameras c"
        " LEFT JOIN selection sel ON sel.run_id = ? AND sel.camera_id = c.camera_id"
        "  AND sel.status = 'selected'"
        " LEFT JOIN surveys s ON s.rowid = (SELECT s2.rowid FROM surveys s2"
        "  WHERE s2.camera_id = c.camera_id ORDER BY s2.created_at DESC, s2.rowid DESC LIMIT 1)"
        " LEFT JOIN stream_checks sc ON sc.id = s.stream_check_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY c.amphoe_code, c.camera_id",
        params,
    )
    cols = [c[0] for c in cursor.description]
    for found in cursor:
        item = dict(zip(cols, found))
        item["checklist"] = json.loads(item["checklist"]) if item["checklist"] else {}
        yield item


def rows_export_evidence(db: Database, survey_id: str) -> list[dict]:
    """A survey's photos and snapshots in a stable order (role, then when added)."""
    return rows(db, "SELECT se.role, e.sha256, e.mime, e.bytes, e.taken_at, e.kind"
                    " FROM survey_evidence se JOIN evidence e ON e.sha256 = se.sha256"
                    " WHERE se.survey_id = ? ORDER BY se.role, se.added_at, e.sha256",
                [survey_id])
