"""The surveyor's worklist: cameras nearest first from where the surveyor stands.

Nearest-first goes through the cameras' (lat, lon) index (`db.cameras.rows_nearest`),
so the list stays instant with a whole province. Cameras with no registered position come last (the survey
will find where they are). Which cameras are in the list (the whole registry, the 20 %
set, one surveyor's assignments) is a `scope`: an SQL condition on the cameras table `c`.
"""

from __future__ import annotations

from sqlite_utils import Database

from .db import cameras as camera_db
from .db import rows
from .db import surveys as survey_db
from .geo import bearing_deg

COMPASS_TH = ("เหนือ", "ตะวันออกเฉียงเหนือ", "ตะวันออก", "ตะวันออกเฉียงใต้", "ใต้",
              "ตะวันตกเฉียงใต้", "ตะวันตก", "ตะวันตกเฉียงเหนือ")
COMPASS_EN = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
SHOWS = ("mine", "selected", "all")
SURVEY_STATES = ("todo", "draft", "complete", "synced", "rejected", "resurvey", "approved")


def scope_for(db: Database, show: str, user_name: str) -> tuple[str, list]:
    """Which cameras a list shows: my assignments, the survey set in force, or all."""
    from .selection import active_run

    if show == "mine":
        return "c.camera_id IN (SELECT camera_id FROM assignments WHERE user_name = ?)", [user_name]
    if show == "selected":
        run = active_run(db)
        return ("c.camera_id IN (SELECT camera_id FROM selection WHERE run_id = ?"
                " AND status = 'selected')", [run["id"] if run else -1])
    return "", []


def scope_filter(*, scope_sql: str = "", scope_params: list | None = None, amphoe: str = "",
                 search: str = "", state: str = "") -> tuple[str, list]:
    """One SQL condition on `c` from the scope and the user's filters.

    A camera a later import marked removed stays in my assignments and in the survey set
    (its work exists; the list flags it), and leaves only the list of all cameras."""
    clauses, params = [], []
    if scope_sql:
        clauses.append(f"({scope_sql})")
        params.extend(scope_params or [])
    else:
        clauses.append("c.removed = 0")
    if amphoe:
        clauses.append("c.amphoe_code = ?")
        params.append(amphoe)
    search = search.strip()
    if search:
        like = f"%{search}%"
        clauses.append("(c.camera_id LIKE ? OR c.site_name LIKE ? OR c.place_name LIKE ?"
                       " OR c.agency LIKE ? OR c.tambon_name LIKE ?)")
        params.extend([like] * 5)
    if state:
        latest = ("(SELECT {col} FROM surveys s WHERE s.camera_id = c.camera_id"
                  " ORDER BY s.created_at DESC, s.rowid DESC LIMIT 1)")
        if state == "todo":
            clauses.append("NOT EXISTS (SELECT 1 FROM surveys s WHERE s.camera_id = c.camera_id)")
        elif state in ("rejected", "resurvey", "approved"):
            clauses.append(f"{latest.format(col='review_state')} = ?")
            params.append(state)
        else:
            clauses.append(f"{latest.format(col='state')} = ?")
            params.append(state)
    return " AND ".join(clauses), params


def list_worklist(db: Database, *, lat: float | None, lon: float | None, limit: int = 50,
                  offset: int = 0, **filters) -> dict:
    """One page of the worklist, nearest first when a position is known."""
    where, params = scope_filter(**filters)
    total, positioned = db.execute(f"SELECT count(*), count(c.registered_lat) FROM cameras c"
                                   f" WHERE {where}", params).fetchone()
    if lat is None or lon is None:
        items = rows(db, f"SELECT c.* FROM cameras c WHERE {where}"
                         " ORDER BY c.amphoe_code, c.camera_id LIMIT ? OFFSET ?",
                     [*params, limit, offset])
        for item in items:
            item.pop("stream_url", None)
            item.pop("raw", None)
    else:
        items = []
        if offset < positioned:
            items = camera_db.rows_nearest(db, lat, lon, limit=min(limit, positioned - offset),
                                           offset=offset, filters=(where, params),
                                           matching=positioned)
        if len(items) < limit:
            rest_offset = max(0, offset - positioned)
            items += rows(
                db,
                f"SELECT {', '.join('c.' + col for col in camera_db.PUBLIC_COLUMNS.split(', '))}"
                f" FROM cameras c WHERE {where} AND c.registered_lat IS NULL"
                " ORDER BY c.camera_id LIMIT ? OFFSET ?",
                [*params, limit - len(items), rest_offset],
            )
        for item in items:
            if item.get("distance_m") is not None:
                bearing = bearing_deg(lat, lon, item["registered_lat"], item["registered_lon"])
                item["bearing_deg"] = round(bearing)
                sector = int((bearing + 22.5) // 45) % 8
                item["direction_th"], item["direction_en"] = COMPASS_TH[sector], COMPASS_EN[sector]
                item["distance_m"] = round(item["distance_m"])
    states = survey_db.survey_states_for(db, [i["camera_id"] for i in items])
    for item in items:
        latest = states.get(item["camera_id"])
        item["survey"] = latest
        item["survey_state"] = _badge(latest)
    return {"total": total, "offset": offset, "limit": limit, "items": items,
            "origin": None if lat is None else {"lat": lat, "lon": lon}}


def _badge(latest: dict | None) -> str:
    if latest is None:
        return "todo"
    return latest["review_state"] or latest["state"]


def registry_row(db: Database, camera_id: str) -> list[tuple[str, str]]:
    """The camera's row in the registry file, as a surveyor may see it: (column, cell) in
    the file's order, empty cells left out. Columns no field took (notes, old ids) are kept
    only here. The stream URL is left out and any other URL shown masked: they may hold a
    camera's password."""
    from .streamcheck.urls import mask_url

    camera = camera_db.get_camera(db, camera_id, with_secrets=True)
    if camera is None:
        return []
    secret = camera["stream_url"]
    return [(name, mask_url(cell) if "://" in cell else cell)
            for name, cell in (camera_db.raw_record(db, camera_id) or {}).items()
            if isinstance(cell, str) and cell and not (secret and cell == secret)]
