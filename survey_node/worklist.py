"""The surveyor's worklist: cameras nearest first from where the surveyor stands.

Nearest-first goes through the cameras' (lat, lon) index (`db.cameras.rows_nearest`),
so the list stays instant with a whole province. Cameras with no registered position come last (the survey
will find where they are). Which cameras are in the list (the whole registry, the 20 %
set, one surveyor's assignments) is a `scope`: an SQL condition on the cameras table `c`.
"""

from __future__ import annotations

from sqlite_utils import Database

from .db import cameras as camera_db
from .db import surveys as survey_db
from .db import worklist as worklist_db
from .geo import bearing_deg
from .selection import active_run
from .streamcheck.urls import mask_url

COMPASS_TH = ("เหนือ", "ตะวันออกเฉียงเหนือ", "ตะวันออก", "ตะวันออกเฉียงใต้", "ใต้",
              "ตะวันตกเฉียงใต้", "ตะวันตก", "ตะวันตกเฉียงเหนือ")
COMPASS_EN = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
SHOWS = worklist_db.SHOWS
SURVEY_STATES = ("todo", "draft", "complete", "synced", "rejected", "resurvey", "approved")


def scope_for(db: Database, show: str, user_name: str) -> tuple[str, list]:
    """Which cameras a list shows: my assignments, the survey set in force, or all."""
    run = active_run(db) if show == "selected" else None
    return worklist_db.worklist_scope(show, user_name, run["id"] if run else None)


def list_worklist(db: Database, *, lat: float | None, lon: float | None, limit: int = 50,
                  offset: int = 0, **filters) -> dict:
    """One page of the worklist, nearest first when a position is known."""
    where, params = worklist_db.worklist_filter(**filters)
    total, positioned = worklist_db.count_worklist(db, where, params)
    if lat is None or lon is None:
        items = worklist_db.rows_worklist(db, where, params, limit=limit, offset=offset)
    else:
        items = []
        if offset < positioned:
            items = camera_db.rows_nearest(db, lat, lon, limit=min(limit, positioned - offset),
                                           offset=offset, filters=(where, params),
                                           matching=positioned)
        if len(items) < limit:
            items += worklist_db.rows_worklist(db, where, params, limit=limit - len(items),
                                               offset=max(0, offset - positioned),
                                               unpositioned_only=True)
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
    camera = camera_db.get_camera(db, camera_id, with_secrets=True)
    if camera is None:
        return []
    secret = camera["stream_url"]
    return [(name, mask_url(cell) if "://" in cell else cell)
            for name, cell in (camera_db.raw_record(db, camera_id) or {}).items()
            if isinstance(cell, str) and cell and not (secret and cell == secret)]
