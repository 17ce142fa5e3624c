"""Small MBTiles files for tests: real PNG tiles over a box in Samut Prakan (XYZ scheme
converted to MBTiles' TMS rows, as tools such as QGIS and mb-util write them)."""

from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

from PIL import Image

BOX = (100.55, 13.55, 100.65, 13.65)  # west, south, east, north


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def write_mbtiles(path: Path, *, zooms=(10, 11, 12), fmt: str = "png", box=BOX,
                  name: str = "สมุทรปราการ") -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE metadata (name TEXT, value TEXT);"
                       "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER,"
                       " tile_row INTEGER, tile_data BLOB);")
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", [
        ("name", name), ("format", fmt), ("bounds", ",".join(map(str, box))),
        ("minzoom", str(min(zooms, default=0))), ("maxzoom", str(max(zooms, default=0)))])
    west, south, east, north = box
    for z in zooms:
        x0, y0 = tile_xy(north, west, z)
        x1, y1 = tile_xy(south, east, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                buffer = io.BytesIO()
                Image.new("RGB", (256, 256), (200, 220 - z * 5, 200)).save(buffer, "PNG")
                conn.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                             [z, x, (2 ** z - 1) - y, buffer.getvalue()])
    conn.commit()
    conn.close()
    return path
