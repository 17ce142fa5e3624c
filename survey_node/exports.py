"""Exports of the node's cameras (GeoJSON now; XLSX/CSV/KML and survey fields come later).

An export is a list of *columns* (name + how to get it from a camera row) and a *writer*
per format. Later issues add columns (survey results) by appending to ``COLUMNS`` or by
passing their own list, add per-camera properties computed from other tables by
appending to ``PROPERTY_SOURCES`` (e.g. the 20 % set's flags), and add formats by
registering a writer in ``WRITERS``. Rows are streamed from the database, so the number
of cameras does not bound memory (a property source holds one small dict per camera).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Callable, Iterable, Iterator

from sqlite_utils import Database

from .db import cameras as camera_db
from .errors import BadInput


@dataclass(frozen=True)
class Column:
    name: str
    get: Callable[[dict], object]


def _field(name: str) -> Column:
    return Column(name, lambda cam, _n=name: cam.get(_n))


COLUMNS: list[Column] = [
    *(_field(n) for n in (
        "camera_id", "site_name", "place_name", "place_type", "agency",
        "province_code", "province_name", "amphoe_code", "amphoe_name",
        "tambon_code", "tambon_name", "registered_lat", "registered_lon",
        "coord_text", "coord_system", "brand", "model", "resolution", "registry_status",
    )),
    Column("removed", lambda cam: bool(cam.get("removed"))),
]


def write_geojson(out: IO[str], cameras: Iterable[dict], columns: list[Column]) -> int:
    """A FeatureCollection, one Feature per camera, written feature by feature."""
    count = 0
    out.write('{"type": "FeatureCollection", "features": [\n')
    for cam in cameras:
        lat, lon = cam.get("registered_lat"), cam.get("registered_lon")
        geometry = ({"type": "Point", "coordinates": [lon, lat]}
                    if lat is not None and lon is not None else None)
        feature = {"type": "Feature", "id": cam.get("camera_id"), "geometry": geometry,
                   "properties": {c.name: c.get(cam) for c in columns}}
        out.write((",\n" if count else "") + json.dumps(feature, ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count


def _selection_properties(db: Database) -> tuple[dict[str, dict], dict]:
    from .selection import EMPTY_PROPERTIES, geojson_properties

    return geojson_properties(db), EMPTY_PROPERTIES


def _survey_properties(db: Database) -> tuple[dict[str, dict], dict]:
    from .survey import export_properties

    return export_properties(db)


# Each source gives (camera_id -> extra properties, the properties of a camera it omits):
# the 20 % set's flags and the newest survey's results.
PROPERTY_SOURCES: list[Callable[[Database], tuple[dict[str, dict], dict]]] = [
    _selection_properties, _survey_properties,
]


def _with_sources(db: Database, cameras: Iterable[dict],
                  columns: list[Column]) -> tuple[Iterator[dict], list[Column]]:
    sources = [source(db) for source in PROPERTY_SOURCES]
    if not sources:
        return iter(cameras), columns
    names = [n for _, defaults in sources for n in defaults]

    def merged():
        for cam in cameras:
            extra = {}
            for per_camera, defaults in sources:
                extra.update(per_camera.get(cam.get("camera_id"), defaults))
            yield {**cam, **extra}

    return merged(), [*columns, *(_field(n) for n in names)]


WRITERS: dict[str, Callable[[IO[str], Iterable[dict], list[Column]], int]] = {
    "geojson": write_geojson,
}


def export(db: Database, fmt: str, out: IO[str], *, columns: list[Column] | None = None,
           include_removed: bool = True) -> int:
    """Write every camera in `fmt` to `out`; returns the number written."""
    writer = WRITERS.get(fmt)
    if writer is None:
        raise BadInput("Unknown export format %(format)s (known: %(known)s)", format=fmt,
                       known=", ".join(WRITERS))
    rows, cols = _with_sources(db, iter_cameras(db, include_removed=include_removed),
                               columns or COLUMNS)
    return writer(out, rows, cols)


def iter_cameras(db: Database, *, include_removed: bool = True) -> Iterator[dict]:
    yield from camera_db.iter_cameras_for_export(db, include_removed=include_removed)
