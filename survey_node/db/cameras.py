"""SQL for the camera registry on the node."""

from __future__ import annotations

import json

from sqlite_utils import Database

from . import now_iso, row, rows

CAMERA_FIELDS = (
    "camera_id", "site_name", "place_name", "place_type", "agency",
    "province_code", "province_name", "amphoe_code", "amphoe_name", "tambon_code",
    "tambon_name", "registered_lat", "registered_lon", "coord_text", "coord_system",
    "brand", "model", "resolution", "stream_url", "registry_status", "removed", "raw",
    "import_id",
)

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
    columns = list(prepared[0])
    db.conn.executemany(
        f"INSERT INTO cameras ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [[item.get(c) for c in columns] for item in prepared],
    )
    return len(prepared)


def count_cameras(db: Database, *, search: str = "", amphoe_code: str = "",
                  include_removed: bool = False) -> int:
    where, params = _where(search, amphoe_code, include_removed)
    return db.execute(f"SELECT count(*) FROM cameras {where}", params).fetchone()[0]


def rows_cameras(db: Database, *, search: str = "", amphoe_code: str = "",
                 include_removed: bool = False, limit: int = 50, offset: int = 0) -> list[dict]:
    where, params = _where(search, amphoe_code, include_removed)
    return rows(
        db,
        f"SELECT {PUBLIC_COLUMNS} FROM cameras {where}"
        " ORDER BY amphoe_code, camera_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )


def get_camera(db: Database, camera_id: str, *, with_secrets: bool = False) -> dict | None:
    cols = "*" if with_secrets else PUBLIC_COLUMNS
    return row(db, f"SELECT {cols} FROM cameras WHERE camera_id = ?", [camera_id])


def rows_amphoes(db: Database) -> list[dict]:
    return rows(
        db,
        "SELECT amphoe_code, amphoe_name, count(*) AS cameras FROM cameras"
        " WHERE removed = 0 GROUP BY amphoe_code, amphoe_name ORDER BY amphoe_code",
    )


def _where(search: str, amphoe_code: str, include_removed: bool) -> tuple[str, list]:
    clauses, params = [], []
    if not include_removed:
        clauses.append("removed = 0")
    if amphoe_code:
        clauses.append("amphoe_code = ?")
        params.append(amphoe_code)
    search = search.strip()
    if search:
        like = f"%{search}%"
        clauses.append(
            "(camera_id LIKE ? OR site_name LIKE ? OR place_name LIKE ? OR agency LIKE ?"
            " OR tambon_name LIKE ? OR amphoe_name LIKE ?)"
        )
        params.extend([like] * 6)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def iter_cameras_for_export(db: Database, *, include_removed: bool = True):
    """Every camera (public columns), streamed in a stable order."""
    where = "" if include_removed else "WHERE removed = 0"
    cursor = db.execute(f"SELECT {PUBLIC_COLUMNS} FROM cameras {where} ORDER BY camera_id")
    cols = [c[0] for c in cursor.description]
    for found in cursor:
        yield dict(zip(cols, found))
