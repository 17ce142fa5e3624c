"""SQL for the camera registry on the node."""

from __future__ import annotations

import json
import math

from sqlite_utils import Database

from . import now_iso, placeholders, row, rows
from ..geo import distance_m

CAMERA_FIELDS = (
    "camera_id", "site_name", "place_name", "place_type", "agency",
    "province_code", "province_name", "amphoe_code", "amphoe_name", "tambon_code",
    "tambon_name", "registered_lat", "registered_lon", "coord_text", "coord_system",
    "brand", "model", "resolution", "stream_url", "registry_status", "removed", "raw",
    "import_id",
)

# What a column holds when a row does not say (the NOT NULL text columns default to '').
_NULLABLE = {"registered_lat", "registered_lon", "import_id"}
_DEFAULTS = {f: "" for f in CAMERA_FIELDS if f not in _NULLABLE}
_DEFAULTS.update(removed=0, raw="{}")

# Columns safe to show anyone logged in (stream_url may hold credentials).
PUBLIC_COLUMNS = ", ".join(f for f in CAMERA_FIELDS if f not in ("stream_url", "raw"))


def insert_cameras(db: Database, cameras: list[dict]) -> int:
    """Insert camera rows (call inside a transaction). Returns the count."""
    stamp = now_iso()
    prepared = []
    for cam in cameras:
        item = {k: cam.get(k) for k in CAMERA_FIELDS if k in cam}
        if isinstance(item.get("raw"), dict):
            item["raw"] = json.dumps(item["raw"], ensure_ascii=False)
        item.setdefault("created_at", stamp)
        item.setdefault("updated_at", stamp)
        prepared.append(item)
    if not prepared:
        return 0
    columns = list(dict.fromkeys(k for item in prepared for k in item))
    db.conn.executemany(
        f"INSERT INTO cameras ({', '.join(columns)}) VALUES ({placeholders(len(columns))})",
        [[item.get(c, _DEFAULTS.get(c)) for c in columns] for item in prepared],
    )
    return len(prepared)


def count_cameras(db: Database, *, search: str = "", amphoe_code: str = "",
                  include_removed: bool = False, selected_run: int | None = None,
                  assigned_to: str | None = None) -> int:
    where, params = _where(search, amphoe_code, include_removed, selected_run, assigned_to)
    return db.execute(f"SELECT count(*) FROM cameras {where}", params).fetchone()[0]


def rows_cameras(db: Database, *, search: str = "", amphoe_code: str = "",
                 include_removed: bool = False, limit: int = 50, offset: int = 0,
                 selected_run: int | None = None, assigned_to: str | None = None) -> list[dict]:
    where, params = _where(search, amphoe_code, include_removed, selected_run, assigned_to)
    return rows(
        db,
        f"SELECT {PUBLIC_COLUMNS} FROM cameras {where}"
        " ORDER BY amphoe_code, camera_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )


def get_camera(db: Database, camera_id: str, *, with_secrets: bool = False) -> dict | None:
    cols = "*" if with_secrets else PUBLIC_COLUMNS
    return row(db, f"SELECT {cols} FROM cameras WHERE camera_id = ?", [camera_id])


def raw_record(db: Database, camera_id: str) -> dict | None:
    """The camera's row as the registry file had it: {column name: cell text}, empty cells
    left out. Imports store the cells as a JSON array named by the import's headers;
    cameras imported before that (and demo cameras) hold an object."""
    found = _raw_row(db, camera_id)
    if found is None:
        return None
    raw = json.loads(found["raw"] or "{}")
    if isinstance(raw, dict):
        return raw
    headers = json.loads(found["headers"] or "[]")
    return {name: cell for name, cell in zip(headers, _raw_cells(raw, found)) if cell != ""}


def fill_raw(db: Database, camera_id: str) -> None:
    """Write into the camera's raw the cells it left to the camera's own fields (see
    ``imports.raw_fields``). Call before those fields change other than by an import, so
    that the original row still reads as the file had it."""
    found = _raw_row(db, camera_id)
    if found is None or not found["raw"].startswith("["):
        return
    raw = json.loads(found["raw"])
    if None in raw:
        db.execute("UPDATE cameras SET raw = ? WHERE camera_id = ?",
                   [json.dumps(_raw_cells(raw, found), ensure_ascii=False), camera_id])


def _raw_row(db: Database, camera_id: str) -> dict | None:
    return row(db, "SELECT c.*, i.headers, i.raw_fields FROM cameras c LEFT JOIN imports i"
                   " ON i.id = c.import_id WHERE c.camera_id = ?", [camera_id])


def _raw_cells(raw: list, camera: dict) -> list:
    fields = json.loads(camera["raw_fields"] or "[]")
    return [camera[fields[i]] if cell is None and i < len(fields) and fields[i] in camera
            else cell for i, cell in enumerate(raw)]


def rows_amphoes(db: Database) -> list[dict]:
    return rows(
        db,
        "SELECT amphoe_code, amphoe_name, count(*) AS cameras FROM cameras"
        " WHERE removed = 0 GROUP BY amphoe_code, amphoe_name ORDER BY amphoe_code",
    )


def _where(search: str, amphoe_code: str, include_removed: bool,
           selected_run: int | None = None, assigned_to: str | None = None) -> tuple[str, list]:
    clauses, params = [], []
    if selected_run is not None:  # the survey set in force (see db/selection.py)
        clauses.append("camera_id IN (SELECT camera_id FROM selection"
                       " WHERE run_id = ? AND status = 'selected')")
        params.append(selected_run)
    if assigned_to is not None:
        clauses.append("camera_id IN (SELECT camera_id FROM assignments WHERE user_name = ?)")
        params.append(assigned_to)
    if not include_removed:
        clauses.append("removed = 0")
    if amphoe_code:
        clauses.append("amphoe_code = ?")
        params.append(amphoe_code)
    found = search_clause(search)
    if found:
        clauses.append(found[0])
        params.extend(found[1])
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


# What a search box looks in, in every list of cameras (the admin's and the worklist).
SEARCH_COLUMNS = ("camera_id", "site_name", "place_name", "agency", "tambon_name", "amphoe_name")


def search_clause(search: str, alias: str = "") -> tuple[str, list] | None:
    """The SQL condition for a search box's text (None when it is empty): any of
    SEARCH_COLUMNS contains it. `alias` names the cameras table in the query ("c")."""
    search = (search or "").strip()
    if not search:
        return None
    prefix = f"{alias}." if alias else ""
    sql = " OR ".join(f"{prefix}{column} LIKE ?" for column in SEARCH_COLUMNS)
    return f"({sql})", [f"%{search}%"] * len(SEARCH_COLUMNS)


# Up to this many matching cameras, nearest-first measures them all instead of searching
# boxes (a few ms for 2,000 rows; the box search costs more once the matches are sparse).
DIRECT_SORT_LIMIT = 2000


def rows_nearest(db: Database, lat: float, lon: float, *, limit: int = 50, offset: int = 0,
                 filters: tuple[str, list] = ("", []), matching: int | None = None) -> list[dict]:
    """Cameras nearest first from (lat, lon), through the (lat, lon) index.

    The search box starts small and doubles until it holds enough cameras *and* the last
    one needed lies within the circle the box encloses, so the order is exact without
    measuring the distance to every camera in the province. `filters` is an extra SQL
    condition on `c` (the cameras table) with its parameters; `matching`, when the caller
    has counted them, how many positioned cameras it matches.
    """

    need = limit + offset
    extra_sql, extra_params = filters
    extra = f" AND ({extra_sql})" if extra_sql else ""
    if matching is not None and matching <= DIRECT_SORT_LIMIT:
        # A small scope (a surveyor's assignments): its own index finds every camera at once,
        # where the box would widen over the whole province to collect a scattered few.
        found = rows(db, f"SELECT {', '.join('c.' + c for c in PUBLIC_COLUMNS.split(', '))}"
                         f" FROM cameras c WHERE c.registered_lat IS NOT NULL{extra}",
                     extra_params)
        for cam in found:
            cam["distance_m"] = distance_m(lat, lon, cam["registered_lat"], cam["registered_lon"])
        found.sort(key=lambda c: c["distance_m"])
        return found[offset:need]
    half_deg = 0.005  # about 550 m
    cos_lat = max(0.1, math.cos(math.radians(lat)))
    while True:
        found = rows(
            db,
            f"SELECT {', '.join('c.' + c for c in PUBLIC_COLUMNS.split(', '))} FROM cameras c"
            " INDEXED BY cameras_position"
            " WHERE c.registered_lat BETWEEN ? AND ? AND c.registered_lon BETWEEN ? AND ?"
            f"{extra}",
            [lat - half_deg, lat + half_deg, lon - half_deg / cos_lat, lon + half_deg / cos_lat,
             *extra_params],
        )
        for cam in found:
            cam["distance_m"] = distance_m(lat, lon, cam["registered_lat"], cam["registered_lon"])
        found.sort(key=lambda c: c["distance_m"])
        radius_m = half_deg * 111_000
        enough = len(found) >= need and found[need - 1]["distance_m"] <= radius_m
        if enough or half_deg >= 45:
            return found[offset:need]
        half_deg *= 2


def iter_cameras_for_export(db: Database, *, include_removed: bool = True):
    """Every camera (public columns), streamed in a stable order."""
    where = "" if include_removed else "WHERE removed = 0"
    cursor = db.execute(f"SELECT {PUBLIC_COLUMNS} FROM cameras {where} ORDER BY camera_id")
    cols = [c[0] for c in cursor.description]
    for found in cursor:
        yield dict(zip(cols, found))
