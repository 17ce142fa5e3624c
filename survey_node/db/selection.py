"""SQL for the 20 % set: selection runs, ranked cameras, replacements and assignments.

Callers open the transaction (`db.transaction`) and write the audit entry; these functions
only read and write rows.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from . import now_iso, placeholders, row, rows

RUN_JSON = ("strata", "counts", "unmatched")


# -- runs -------------------------------------------------------------------------------


def insert_run(db: Database, run: dict) -> int:
    item = dict(run)
    for key in RUN_JSON:
        if key in item:
            item[key] = json.dumps(item[key], ensure_ascii=False)
    item.setdefault("created_at", now_iso())
    cols = list(item)
    cursor = db.execute(
        f"INSERT INTO selection_runs ({', '.join(cols)}) VALUES ({placeholders(len(cols))})",
        [item[c] for c in cols],
    )
    return cursor.lastrowid


def get_run(db: Database, run_id: int) -> dict | None:
    return _decode_run(row(db, "SELECT * FROM selection_runs WHERE id = ?", [run_id]))


def get_active_run(db: Database) -> dict | None:
    """The newest run: the set in force."""
    return _decode_run(row(db, "SELECT * FROM selection_runs ORDER BY id DESC LIMIT 1"))


def rows_runs(db: Database, *, limit: int = 20) -> list[dict]:
    found = rows(db, "SELECT * FROM selection_runs ORDER BY id DESC LIMIT ?", [limit])
    return [_decode_run(r) for r in found]


def _decode_run(run: dict | None) -> dict | None:
    if run is None:
        return None
    for key in RUN_JSON:
        run[key] = json.loads(run[key] or ("{}" if key == "counts" else "[]"))
    return run


# -- ranked cameras ---------------------------------------------------------------------


def insert_selection(db: Database, run_id: int, items: list[dict]) -> None:
    db.conn.executemany(
        "INSERT INTO selection (run_id, camera_id, stratum, rank, hash, status, reserve)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [[run_id, i["camera_id"], i["stratum"], i["rank"], i.get("hash"), i["status"],
          int(i.get("reserve", 0))] for i in items],
    )


def get_selection(db: Database, run_id: int, camera_id: str) -> dict | None:
    return row(db, "SELECT * FROM selection WHERE run_id = ? AND camera_id = ?",
               [run_id, camera_id])


def rows_selection(db: Database, run_id: int, *, status: str | None = None) -> list[dict]:
    where, params = ("AND s.status = ?", [status]) if status else ("", [])
    return rows(
        db,
        "SELECT s.*, c.site_name, c.amphoe_code, c.amphoe_name, c.agency, c.province_code"
        " FROM selection s LEFT JOIN cameras c ON c.camera_id = s.camera_id"
        f" WHERE s.run_id = ? {where} ORDER BY s.stratum, s.reserve, s.rank",
        [run_id, *params],
    )


def next_candidate(db: Database, run_id: int, stratum: str | None) -> dict | None:
    """The first unused candidate in rank order, in one stratum or (None) in any."""
    where, params = ("AND stratum = ?", [stratum]) if stratum is not None else ("", [])
    return row(
        db,
        "SELECT s.* FROM selection s JOIN cameras c ON c.camera_id = s.camera_id"
        f" WHERE s.run_id = ? AND s.status = 'candidate' AND c.removed = 0 {where}"
        " ORDER BY s.reserve DESC, s.rank, s.camera_id LIMIT 1",
        [run_id, *params],
    )


def update_selection(db: Database, run_id: int, camera_id: str, **changes) -> None:
    allowed = {"status", "replaces", "replaced_by"}
    if set(changes) - allowed:
        raise ValueError(f"cannot change {sorted(set(changes) - allowed)}")
    sets = ", ".join(f"{k} = ?" for k in changes)
    db.execute(f"UPDATE selection SET {sets} WHERE run_id = ? AND camera_id = ?",
               [*changes.values(), run_id, camera_id])


def rows_selection_flags(db: Database, run_id: int) -> list[dict]:
    """camera_id, status, rank, replaced_by of every camera in a run (for exports)."""
    return rows(db, "SELECT camera_id, status, rank, replaced_by FROM selection WHERE run_id = ?",
                [run_id])


def rows_quota_cameras(db: Database, run_id: int | None) -> list[dict]:
    """One row per registered camera with whether the run selected it."""
    return rows(
        db,
        "SELECT c.camera_id, c.province_code, c.province_name, c.amphoe_code, c.amphoe_name,"
        " c.agency, CASE WHEN s.status = 'selected' THEN 1 ELSE 0 END AS selected"
        " FROM cameras c LEFT JOIN selection s ON s.camera_id = c.camera_id AND s.run_id = ?"
        " WHERE c.removed = 0",
        [run_id],
    )


# -- replacements -----------------------------------------------------------------------


def insert_replacement(db: Database, item: dict) -> int:
    cols = list(item)
    cursor = db.execute(
        f"INSERT INTO replacements ({', '.join(cols)}) VALUES ({placeholders(len(cols))})",
        [item[c] for c in cols],
    )
    return cursor.lastrowid


def get_replacement(db: Database, replacement_id: int) -> dict | None:
    return row(db, "SELECT * FROM replacements WHERE id = ?", [replacement_id])


def get_open_replacement(db: Database, run_id: int, camera_id: str) -> dict | None:
    return row(db, "SELECT * FROM replacements WHERE run_id = ? AND camera_id = ?"
                   " AND state = 'requested'", [run_id, camera_id])


def rows_replacements(db: Database, run_id: int, *, state: str | None = None,
                      requested_by: str | None = None, limit: int = 200) -> list[dict]:
    clauses, params = ["r.run_id = ?"], [run_id]
    if state:
        clauses.append("r.state = ?")
        params.append(state)
    if requested_by:
        clauses.append("r.requested_by = ?")
        params.append(requested_by)
    return rows(
        db,
        "SELECT r.*, c.site_name, c.amphoe_name, c.agency, n.site_name AS replacement_site_name"
        " FROM replacements r LEFT JOIN cameras c ON c.camera_id = r.camera_id"
        " LEFT JOIN cameras n ON n.camera_id = r.replacement_camera_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY r.state = 'requested' DESC, r.id DESC LIMIT ?",
        [*params, limit],
    )


def update_replacement(db: Database, replacement_id: int, **changes) -> None:
    allowed = {"state", "decided_by", "decided_at", "decision_note", "replacement_camera_id"}
    if set(changes) - allowed:
        raise ValueError(f"cannot change {sorted(set(changes) - allowed)}")
    sets = ", ".join(f"{k} = ?" for k in changes)
    db.execute(f"UPDATE replacements SET {sets} WHERE id = ?", [*changes.values(), replacement_id])


# -- assignments ------------------------------------------------------------------------


def upsert_assignments(db: Database, camera_ids: list[str], *, user_name: str, how: str,
                       actor: str | None) -> None:
    stamp = now_iso()
    db.conn.executemany(
        "INSERT INTO assignments (camera_id, user_name, how, assigned_by, assigned_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(camera_id) DO UPDATE SET"
        " user_name = excluded.user_name, how = excluded.how,"
        " assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
        [[cid, user_name, how, actor, stamp] for cid in camera_ids],
    )


def delete_assignments(db: Database, camera_ids: list[str]) -> int:
    total = 0
    for cid in camera_ids:
        total += db.execute("DELETE FROM assignments WHERE camera_id = ?", [cid]).rowcount
    return total


def delete_assignments_outside_run(db: Database, run_id: int) -> int:
    """Drop assignments of cameras the run does not select (a new set means new work)."""
    return db.execute(
        "DELETE FROM assignments WHERE camera_id NOT IN"
        " (SELECT camera_id FROM selection WHERE run_id = ? AND status = 'selected')",
        [run_id],
    ).rowcount


def get_assignment(db: Database, camera_id: str) -> dict | None:
    return row(db, "SELECT * FROM assignments WHERE camera_id = ?", [camera_id])


def rows_assignments(db: Database, *, user_name: str | None = None) -> list[dict]:
    where, params = ("WHERE a.user_name = ?", [user_name]) if user_name else ("", [])
    return rows(
        db,
        "SELECT a.*, c.site_name, c.amphoe_code, c.amphoe_name, c.agency FROM assignments a"
        f" LEFT JOIN cameras c ON c.camera_id = a.camera_id {where}"
        " ORDER BY a.user_name, c.amphoe_code, a.camera_id",
        params,
    )


def rows_assignment_summary(db: Database, run_id: int | None) -> list[dict]:
    """Per amphoe: selected cameras and how many are assigned to whom."""
    return rows(
        db,
        "SELECT c.amphoe_code, c.amphoe_name, a.user_name, count(*) AS cameras"
        " FROM selection s JOIN cameras c ON c.camera_id = s.camera_id"
        " LEFT JOIN assignments a ON a.camera_id = s.camera_id"
        " WHERE s.run_id = ? AND s.status = 'selected'"
        " GROUP BY c.amphoe_code, c.amphoe_name, a.user_name ORDER BY c.amphoe_code, a.user_name",
        [run_id],
    )


def selected_ids_in_amphoe(db: Database, run_id: int, amphoe_code: str) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT s.camera_id FROM selection s JOIN cameras c ON c.camera_id = s.camera_id"
        " WHERE s.run_id = ? AND s.status = 'selected' AND c.amphoe_code = ?"
        " ORDER BY s.camera_id", [run_id, amphoe_code])]


# -- cameras, as the selection sees them ------------------------------------------------


def rows_eligible_cameras(db: Database, *, only_with_stream: bool) -> list[dict]:
    extra = " AND stream_url != ''" if only_with_stream else ""
    return rows(
        db,
        "SELECT camera_id, province_code, amphoe_code, tambon_code, agency, place_type"
        f" FROM cameras WHERE removed = 0{extra} ORDER BY camera_id",
    )


def rows_cameras_for_matching(db: Database) -> list[dict]:
    return rows(
        db,
        "SELECT camera_id, site_name, registered_lat, registered_lon, amphoe_code, removed"
        " FROM cameras",
    )


def rows_my_selected(db: Database, run_id: int, user_name: str) -> list[dict]:
    """A user's assigned cameras that are in the set in force."""
    return rows(
        db,
        "SELECT a.camera_id, c.site_name, c.amphoe_name FROM assignments a"
        " JOIN selection s ON s.camera_id = a.camera_id AND s.run_id = ? AND s.status = 'selected'"
        " LEFT JOIN cameras c ON c.camera_id = a.camera_id WHERE a.user_name = ?"
        " ORDER BY c.amphoe_code, a.camera_id",
        [run_id, user_name],
    )


def flags_for_cameras(db: Database, run_id: int | None, camera_ids: list[str]) -> dict[str, dict]:
    """Selection status, rank, replacement and assignee of a page of cameras."""
    if not camera_ids:
        return {}
    marks = placeholders(len(camera_ids))
    found = rows(
        db,
        "SELECT c.camera_id, s.status, s.rank, s.replaced_by, s.replaces, a.user_name"
        " FROM cameras c LEFT JOIN selection s ON s.camera_id = c.camera_id AND s.run_id = ?"
        " LEFT JOIN assignments a ON a.camera_id = c.camera_id"
        f" WHERE c.camera_id IN ({marks})",
        [run_id, *camera_ids],
    )
    return {r["camera_id"]: r for r in found}
