"""Offline basemap: tiles read from an MBTiles file (SQLite) placed in the data dir.

MBTiles stores rows in TMS order (y counted from the south); Leaflet asks in XYZ order
(y from the north), so y is flipped here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class MBTiles:
    def __init__(self, path: Path) -> None:
        self.path = path
        fmt = self._metadata().get("format", "png")
        self.mimetype = "image/jpeg" if fmt in ("jpg", "jpeg") else f"image/{fmt}"

    @classmethod
    def find(cls, data_dir: Path) -> "MBTiles | None":
        """The first *.mbtiles file in the data dir's `maps` folder or the data dir itself."""
        for folder in (Path(data_dir) / "maps", Path(data_dir)):
            found = sorted(folder.glob("*.mbtiles")) if folder.is_dir() else []
            if found:
                return cls(found[0])
        return None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=2)

    def _metadata(self) -> dict:
        try:
            with self._connect() as conn:
                return dict(conn.execute("SELECT name, value FROM metadata").fetchall())
        except sqlite3.Error:
            return {}

    def max_zoom(self) -> int | None:
        """The deepest zoom with tiles: the map scales those up beyond it instead of asking
        for tiles that are not there (a blank map when zoomed in on a camera)."""
        try:
            with self._connect() as conn:
                found = conn.execute("SELECT max(zoom_level) FROM tiles").fetchone()
        except sqlite3.Error:
            return None
        return found[0] if found else None

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        with self._connect() as conn:
            found = conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ?"
                " AND tile_row = ?", [z, x, (2**z - 1) - y]).fetchone()
        return found[0] if found else None
