"""The node's offline basemap: an admin uploads the province's MBTiles file and sees what it covers.

The upload is streamed to a temporary file in the data dir's `maps` folder (never held in
memory; a basemap of a province is hundreds of MB), bounded by `web.max_basemap_mb` and by the
free space, then checked before it replaces the basemap in one rename: it must be an SQLite
file with MBTiles' `tiles` and `metadata` tables and raster tiles (PNG, JPEG or WebP: the
worklist's Leaflet shows images; vector tiles (pbf) need a renderer the node does not ship).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import BadInput, DiskFull, TooLarge
from .diskspace import is_disk_full

BASEMAP_NAME = "basemap.mbtiles"
RASTER_FORMATS = {"png", "jpg", "jpeg", "webp"}
SQLITE_MAGIC = b"SQLite format 3\x00"
SPARE_BYTES = 64 << 20  # left free beyond the file itself, for the surveys that follow


@dataclass
class BasemapInfo:
    name: str
    format: str
    min_zoom: int | None
    max_zoom: int | None
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    tiles: int
    bytes: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def maps_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "maps"


def current_basemap(data_dir: Path) -> Path | None:
    """The basemap the node serves (the same file MBTiles.find picks)."""
    for folder in (maps_dir(data_dir), Path(data_dir)):
        found = sorted(folder.glob("*.mbtiles")) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def describe(path: Path, *, name: str = "") -> BasemapInfo:
    """What an MBTiles file holds; BadInput in one line when it is not a raster MBTiles."""
    label = name or path.name
    with open(path, "rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise BadInput("%(name)s is not an MBTiles file (an SQLite database of map tiles)",
                           name=label)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            if not {"tiles", "metadata"} <= tables:
                raise BadInput("%(name)s has no MBTiles tiles and metadata tables", name=label)
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            fmt = str(meta.get("format") or "").lower()
            if fmt not in RASTER_FORMATS:
                raise BadInput("%(name)s holds %(format)s tiles; the node shows image tiles"
                               " (png, jpg or webp)", name=label, format=fmt or "unknown")
            count, low, high = conn.execute(
                "SELECT count(*), min(zoom_level), max(zoom_level) FROM tiles").fetchone()
            if not count:
                raise BadInput("%(name)s holds no map tiles", name=label)
            bounds = _bounds(meta.get("bounds"))
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise BadInput("%(name)s is not an MBTiles file (an SQLite database of map tiles)",
                       name=label) from None
    return BasemapInfo(name=str(meta.get("name") or label), format=fmt, min_zoom=low,
                       max_zoom=high, bounds=bounds, tiles=count, bytes=path.stat().st_size)


def _bounds(text) -> tuple[float, float, float, float] | None:
    try:
        west, south, east, north = (float(v) for v in str(text).split(","))
    except (TypeError, ValueError):
        return None
    if -180 <= west < east <= 180 and -90 <= south < north <= 90:
        return west, south, east, north
    return None


def install_basemap(data_dir: Path, chunks: Iterable[bytes], *, name: str,
                    declared_bytes: int | None, max_bytes: int) -> BasemapInfo:
    """Stream an uploaded MBTiles into place; the old basemap stays until the new one is
    whole and checked. Refused (nothing changed) when too big, the disk too full, or not a
    raster MBTiles."""
    if declared_bytes is not None and declared_bytes > max_bytes:
        raise TooLarge("%(name)s is larger than %(mb)s MB", name=name, mb=max_bytes >> 20)
    folder = maps_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if declared_bytes is not None and declared_bytes + SPARE_BYTES > free:
        raise DiskFull("The node's disk has %(free)s MB free: not enough for %(name)s",
                       free=free >> 20, name=name)
    incoming = folder / f".incoming-{uuid.uuid4().hex}.mbtiles"
    try:
        written = 0
        with open(incoming, "wb") as out:
            for chunk in chunks:
                written += len(chunk)
                if written > max_bytes:
                    raise TooLarge("%(name)s is larger than %(mb)s MB", name=name,
                                   mb=max_bytes >> 20)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if written == 0:
            raise BadInput("%(name)s is empty", name=name)
        info = describe(incoming, name=name)
        old = [p for p in folder.glob("*.mbtiles")]
        os.replace(incoming, folder / BASEMAP_NAME)
        for path in old:
            if path.name != BASEMAP_NAME:
                path.unlink(missing_ok=True)
        _fsync_dir(folder)
        return info
    except OSError as exc:

        if is_disk_full(exc):
            raise DiskFull("The node's disk is full: %(name)s was not kept", name=name) from None
        raise
    finally:
        incoming.unlink(missing_ok=True)


def remove_basemap(data_dir: Path) -> bool:
    found = current_basemap(data_dir)
    if found is None:
        return False
    found.unlink()
    return True


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
