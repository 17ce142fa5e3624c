"""Registry SQL for the review across all nodes: the queue, one survey's record, history."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ...db import row, rows
from .dialect import json_text, json_value

# The decision in force for a survey: the newest one, if it is about the revision held.
_LATEST = ("LEFT JOIN decisions d ON d.seq = (SELECT max(d2.seq) FROM decisions d2"
           " WHERE d2.survey_id = s.id)")
STATUS_SQL = {
    "pending": "(d.seq IS NULL OR d.revision < s.revision)",
    "approved": "d.revision = s.revision AND d.state = 'approved'",
    "rejected": "d.revision = s.revision AND d.state = 'rejected'",
    "resurvey": "d.revision = s.revision AND d.state = 'resurvey'",
    "all": "1 = 1",
}




def rows_registry_queue(db: Database, *, status: str = "pending", node: str = "",
                        amphoe: str = "", agency: str = "", surveyor: str = "",
                        verdict: str = "", limit: int = 200,
                        offset: int = 0) -> tuple[int, list[dict]]:
    def _j(alias: str, path: str) -> str:
        return json_text(db, alias, path)

    def _v(alias: str, path: str) -> str:
        return json_value(db, alias, path)

    clauses, params = [STATUS_SQL[status]], []
    for expr, value in (("s.node_id", node), (_j("c", "agency"), agency),
                        (_j("s", "fields.surveyor"), surveyor)):
        if value:
            clauses.append(f"{expr} = ?")
            params.append(value)
    if amphoe:
        clauses.append(f"({_j('c', 'amphoe_code')} = ? OR {_j('c', 'amphoe_name')} = ?)")
        params += [amphoe, amphoe]
    verdict_sql = _j("s", "fields.stream_verdict")
    if verdict == "none":
        clauses.append(f"{verdict_sql} IS NULL")
    elif verdict == "failed":
        clauses.append(f"{verdict_sql} IS NOT NULL AND {verdict_sql} != 'ok'")
    elif verdict:
        clauses.append(f"{verdict_sql} = ?")
        params.append(verdict)
    base = (f"FROM surveys s LEFT JOIN cameras c ON c.camera_id = s.camera_id {_LATEST}"
            f" WHERE {' AND '.join(clauses)}")
    total = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    found = rows(
        db,
        "SELECT s.id, s.node_id, s.revision, s.camera_id, s.received_at,"
        f" {_j('s', 'fields.surveyor')} AS surveyor, {verdict_sql} AS stream_verdict,"
        f" {_v('s', 'fields.distance_m')} AS distance_m,"
        f" {_j('s', 'fields.completed_at')} AS completed_at,"
        f" {_v('s', 'fields.new_camera')} AS new_camera,"
        f" {_j('c', 'site_name')} AS site_name, {_j('c', 'place_name')} AS place_name,"
        f" {_j('c', 'agency')} AS agency, {_j('c', 'amphoe_name')} AS amphoe_name,"
        " CASE WHEN d.revision = s.revision THEN d.state END AS review_state,"
        " CASE WHEN d.revision = s.revision THEN d.reason END AS review_reason,"
        " (SELECT count(*) FROM survey_evidence se WHERE se.survey_id = s.id"
        "  AND se.role NOT IN ('snapshot', 'view_reference')) AS photos"
        f" {base} ORDER BY s.received_at, s.id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    for r in found:
        r["new_camera"] = json.loads(r["new_camera"]) if isinstance(r["new_camera"], str) \
            else r["new_camera"]
    return total, found


def rows_registry_choices(db: Database) -> dict[str, list]:
    code, name = json_text(db, "c", "amphoe_code"), json_text(db, "c", "amphoe_name")
    agency = json_text(db, "c", "agency")
    surveyor, verdict = json_text(db, "s", "fields.surveyor"), json_text(db, "s", "fields.stream_verdict")
    return {
        "nodes": [r["node_id"] for r in rows(db, "SELECT DISTINCT node_id FROM surveys ORDER BY 1")],
        "amphoes": rows(db, f"SELECT DISTINCT {code} AS code, {name} AS name FROM surveys s"
                            " JOIN cameras c ON c.camera_id = s.camera_id"
                            f" WHERE {code} IS NOT NULL ORDER BY 1, 2"),
        "agencies": [r["agency"] for r in rows(
            db, f"SELECT DISTINCT {agency} AS agency FROM surveys s"
                " JOIN cameras c ON c.camera_id = s.camera_id"
                f" WHERE {agency} IS NOT NULL AND {agency} != '' ORDER BY 1")],
        "surveyors": [r["surveyor"] for r in rows(
            db, f"SELECT DISTINCT {surveyor} AS surveyor FROM surveys s ORDER BY 1")],
        "verdicts": [r["v"] for r in rows(
            db, f"SELECT DISTINCT {verdict} AS v FROM surveys s"
                f" WHERE {verdict} IS NOT NULL ORDER BY 1")],
    }


def get_camera_record(db: Database, camera_id: str | None) -> dict | None:
    if not camera_id:
        return None
    found = row(db, "SELECT record FROM cameras WHERE camera_id = ?", [camera_id])
    return json.loads(found["record"]) if found else None


def rows_survey_decisions(db: Database, survey_id: str) -> list[dict]:
    found = rows(db, "SELECT * FROM decisions WHERE survey_id = ? ORDER BY seq", [survey_id])
    for r in found:
        r["flags"] = json.loads(r.get("flags") or "[]")
    return found


def rows_survey_history(db: Database, survey_id: str) -> list[dict]:
    """Revisions received and the audit entries of one survey, oldest first."""
    # Who sent a revision is its node (the batch names it): the history line says so.
    received = [{"at": r["received_at"], "actor": r["node_id"], "action": "registry.received",
                 "detail": {"revision": r["revision"], "batch_id": r["batch_id"]}}
                for r in rows(db, "SELECT v.revision, v.batch_id, v.received_at, b.node_id"
                                  " FROM survey_revisions v LEFT JOIN batches b"
                                  " ON b.batch_id = v.batch_id WHERE v.id = ?"
                                  " ORDER BY v.revision", [survey_id])]
    audited = rows(db, "SELECT at, actor, action, detail FROM audit_log WHERE entity = 'survey'"
                       " AND entity_id = ? ORDER BY id", [survey_id])
    for r in audited:
        r["detail"] = json.loads(r["detail"] or "{}")
    return sorted(received + audited, key=lambda r: r["at"])


def iter_registry_handin(db: Database, *, status: str = "all"):
    """Every survey the nodes sent (one row per survey, its latest revision) with the
    registry's camera entry and the decision in force; for the province's hand-in files."""
    cursor = db.execute(
        "SELECT s.id, s.node_id, s.camera_id, s.revision, s.record, c.record AS camera,"
        " CASE WHEN d.revision = s.revision THEN d.state END AS decision,"
        " CASE WHEN d.revision = s.revision THEN d.reason END AS decision_reason,"
        " CASE WHEN d.revision = s.revision THEN d.decided_by END AS decided_by,"
        " CASE WHEN d.revision = s.revision THEN d.decided_at END AS decided_at"
        f" FROM surveys s LEFT JOIN cameras c ON c.camera_id = s.camera_id {_LATEST}"
        f" WHERE {STATUS_SQL[status]} ORDER BY s.camera_id, s.node_id, s.id")
    cols = [c[0] for c in cursor.description]
    for found in cursor:
        item = dict(zip(cols, found))
        item["record"] = json.loads(item["record"])
        item["camera"] = json.loads(item["camera"]) if item["camera"] else {}
        yield item
