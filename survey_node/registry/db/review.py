"""Registry SQL for the review across all nodes: the queue, one survey's record, history."""

from __future__ import annotations

import json

from sqlite_utils import Database

from ...db import row, rows
from .dialect import json_text, json_value

# The decision in force for a survey: the newest one, if it is about the revision held.
_LATEST = ("LEFT JOIN decisions d ON d.seq = (SELECT max(d2.seq) FROM decisions d2"
           " WHERE d2.survey_id = s.id)")
# The review state in force is a column (kept by insert_decision and a new revision):
# the queue's count and its oldest-first page read an index, not every survey's decisions.
STATUS_SQL = {
    "pending": "s.review_state = 'pending'",
    "approved": "s.review_state = 'approved'",
    "rejected": "s.review_state = 'rejected'",
    "resurvey": "s.review_state = 'resurvey'",
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

    # Filters on the indexed columns (migrations.r0760): the same values as the record's.
    clauses, params = [STATUS_SQL[status]], []
    for expr, value in (("s.node_id", node), ("c.agency", agency), ("s.surveyor", surveyor)):
        if value:
            clauses.append(f"{expr} = ?")
            params.append(value)
    if amphoe:
        clauses.append("(c.amphoe_code = ? OR c.amphoe_name = ?)")
        params += [amphoe, amphoe]
    if verdict == "none":
        clauses.append("s.stream_verdict IS NULL")
    elif verdict == "failed":
        clauses.append("s.stream_verdict IS NOT NULL AND s.stream_verdict != 'ok'")
    elif verdict:
        clauses.append("s.stream_verdict = ?")
        params.append(verdict)
    where = f" WHERE {' AND '.join(clauses)}"
    cameras = "LEFT JOIN cameras c ON c.camera_id = s.camera_id"
    # The count joins the cameras only when a filter needs them.
    total = db.execute(f"SELECT count(*) FROM surveys s {cameras if agency or amphoe else ''}"
                       f"{where}", params).fetchone()[0]
    # The page's ids first, from the index (review_state, received_at, id) alone: with the
    # columns joined in, PostgreSQL walked the received_at index instead and skipped every
    # decided survey (400,000 of a million) to reach the oldest pending one. A state's tab
    # is ordered by that index (the same order: the state is one value in it).
    order = "s.received_at, s.id" if status == "all" else "s.review_state, s.received_at, s.id"
    page = (f"SELECT s.id FROM surveys s {cameras if agency or amphoe else ''}{where}"
            f" ORDER BY {order} LIMIT ? OFFSET ?")
    found = rows(
        db,
        "SELECT s.id, s.node_id, s.revision, s.camera_id, s.received_at,"
        " s.surveyor, s.stream_verdict,"
        f" {_v('s', 'fields.distance_m')} AS distance_m, s.completed_at,"
        f" {_v('s', 'fields.new_camera')} AS new_camera,"
        f" {_j('c', 'site_name')} AS site_name, {_j('c', 'place_name')} AS place_name,"
        " c.agency, c.amphoe_name,"
        " CASE WHEN d.revision = s.revision THEN d.state END AS review_state,"
        " CASE WHEN d.revision = s.revision THEN d.reason END AS review_reason,"
        " (SELECT count(*) FROM survey_evidence se WHERE se.survey_id = s.id"
        "  AND se.role NOT IN ('snapshot', 'view_reference')) AS photos"
        f" FROM surveys s {cameras} {_LATEST} WHERE s.id IN ({page})"
        " ORDER BY s.received_at, s.id",
        [*params, limit, offset],
    )
    for r in found:
        r["new_camera"] = json.loads(r["new_camera"]) if isinstance(r["new_camera"], str) \
            else r["new_camera"]
    return total, found


def _distinct(table: str, column: str, *, after: str = "", also: str = "") -> str:
    """The distinct non-null values of an indexed column (greater than `after` when given:
    '' skips empty text), in order, as a loose index scan: one index probe per value (a
    registry has a few hundred nodes or districts, and a million surveys). `also` is an
    expression of each value `v.x` to return beside it."""
    first = f"{column} > {after}" if after else f"{column} IS NOT NULL"
    return (f"WITH RECURSIVE v(x) AS (SELECT (SELECT {column} FROM {table} WHERE {first}"
            f" ORDER BY {column} LIMIT 1) UNION ALL SELECT (SELECT {column} FROM {table}"
            f" WHERE {column} > v.x ORDER BY {column} LIMIT 1) FROM v WHERE v.x IS NOT NULL)"
            f" SELECT x{', ' + also if also else ''} FROM v WHERE x IS NOT NULL")


def rows_registry_choices(db: Database) -> dict[str, list]:
    """The queue's filter choices. Districts and agencies are those of the registry's
    cameras (a district with no survey yet is offered too, and shows an empty queue); a
    district's name is its first spelling."""
    def values(table: str, column: str, after: str = "") -> list:
        return [r[0] for r in db.execute(_distinct(table, column, after=after))]

    amphoes = db.execute(_distinct(
        "cameras", "amphoe_code",
        also="(SELECT min(amphoe_name) FROM cameras n WHERE n.amphoe_code = v.x)")).fetchall()
    return {
        "nodes": values("surveys", "node_id"),
        "amphoes": [{"code": code, "name": name} for code, name in amphoes],
        "agencies": values("cameras", "agency", "''"),
        "surveyors": values("surveys", "surveyor"),
        "verdicts": values("surveys", "stream_verdict"),
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
