"""Which row is the header, and which column holds which field.

Registry files put title rows above the header and write headers every which way, so a
header is found by scoring the first rows against Thai and English synonyms of the
canonical fields. The user can override any guess with a mapping (CLI ``--mapping FILE``
or the admin page); unmapped columns are kept in each camera's raw record.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import json_input
from ..errors import BadInput
from .text import N_, cell_text, header_key

HEADER_SCAN_ROWS = 30
MIN_SUBSTRING = 4  # shorter synonyms ("x", "id", "lat") must match a header exactly

# Canonical field -> synonyms (compared after header_key()). Order of fields matters only
# for display.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "camera_id": ("รหัสกล้อง", "รหัส", "รหัสcctv", "หมายเลขกล้อง", "เลขที่กล้อง", "รหัสอุปกรณ์",
                  "cameraid", "camera id", "cctvid", "cctv id", "id", "deviceid", "camera code",
                  "camera no"),
    "seq": ("ลำดับ", "ลำดับที่", "รายการข้อมูล", "ที่", "no", "no.", "item", "#", "seq", "row"),
    "site_name": ("ชื่อจุดติดตั้ง", "จุดติดตั้ง", "จุดติดตั้งกล้อง", "ชื่อจุด", "ชื่อกล้อง",
                  "ตำแหน่งติดตั้ง", "site", "site name", "installation point", "camera name",
                  "location name"),
    "place_name": ("ชื่อสถานที่", "สถานที่", "สถานที่ติดตั้ง", "ที่ตั้ง", "ที่อยู่", "place",
                   "place name", "address", "location"),
    "place_type": ("ประเภทสถานที่", "ประเภทจุดติดตั้ง", "ประเภท", "place type", "location type",
                   "type"),
    "agency": ("หน่วยงาน", "หน่วยงานเจ้าของ", "หน่วยงานที่รับผิดชอบ", "หน่วยงานรับผิดชอบ",
               "เจ้าของ", "สังกัด", "agency", "owner", "organization", "organisation"),
    "province": ("จังหวัด", "จ", "province", "changwat"),
    "amphoe": ("อำเภอ", "อำเภอเขต", "เขต", "อ", "amphoe", "amphur", "district"),
    "tambon": ("ตำบล", "ตำบลแขวง", "แขวง", "ต", "tambon", "subdistrict", "sub district"),
    "lat": ("ละติจูด", "ลติจูด", "ละติจูต", "latitude", "lat", "y", "พิกัดy", "พิกัดละติจูด"),
    "lon": ("ลองจิจูด", "ลองติจูด", "ลองจิจูต", "longitude", "lon", "long", "lng", "x", "พิกัดx",
            "พิกัดลองจิจูด"),
    "latlon": ("พิกัด", "พิกัดกล้อง", "พิกัดgps", "พิกัดที่ตั้ง", "coordinates", "coordinate",
               "latlon", "latlong", "latlng", "gps", "position"),
    # A column of map links ("ลิงก์ Google Map"), read when the other position columns give
    # none; longer than "ลิงก์" (a stream URL), so it wins that header.
    "map_link": ("googlemap", "googlemaps", "แผนที่", "ลิงก์แผนที่", "ลิงค์แผนที่", "map",
                 "maplink", "map link", "map url", "ลิงก์พิกัด", "ลิงค์พิกัด"),
    "utm_e": ("utme", "utm e", "utmx", "easting", "e", "พิกัดutme", "พิกัดe"),
    "utm_n": ("utmn", "utm n", "utmy", "northing", "n", "พิกัดutmn", "พิกัดn"),
    "utm_zone": ("zone", "utmzone", "โซน", "โซนutm", "utm"),
    "brand": ("ยี่ห้อ", "ยี่ห้อกล้อง", "brand", "make", "manufacturer"),
    "model": ("รุ่น", "รุ่นกล้อง", "model"),
    "resolution": ("ความละเอียด", "ความละเอียดภาพ", "ความละเอียดกล้อง", "resolution",
                   "megapixel", "mp"),
    "registry_status": ("สถานะ", "สถานะกล้อง", "สถานะการใช้งาน", "การใช้งาน", "status"),
    "stream_url": ("ip", "url", "ipurl", "ip address", "ipaddress", "ที่อยู่ip", "ไอพี", "rtsp",
                   "stream", "stream url", "ลิงก์", "ลิงค์", "link"),
}
FIELDS = tuple(SYNONYMS)
NAME_FIELDS = ("camera_id", "site_name", "place_name")
_EXACT = {header_key(s): f for f, syns in SYNONYMS.items() for s in syns}
# Synonyms too general to find inside a longer header ("รหัสไปรษณีย์" is a postal code).
EXACT_ONLY = {"รหัส", "ประเภท", "type", "site", "place", "make", "long", "row", "item", "owner",
              "link", "stream", "ที่ตั้ง", "ที่อยู่", "location", "position", "status"}
_BY_LENGTH = sorted(((header_key(s), f) for f, syns in SYNONYMS.items() for s in syns
                     if len(header_key(s)) >= MIN_SUBSTRING and s not in EXACT_ONLY),
                    key=lambda kv: -len(kv[0]))

FIELD_LABELS = {
    "camera_id": N_("Camera id"), "seq": N_("Row number in the file"),
    "site_name": N_("Installation point"), "place_name": N_("Place name"),
    "place_type": N_("Place type"), "agency": N_("Agency"), "province": N_("Province"),
    "amphoe": N_("Amphoe"), "tambon": N_("Tambon"), "lat": N_("Latitude"),
    "lon": N_("Longitude"), "latlon": N_("Latitude, longitude in one column"),
    "map_link": N_("Map link (Google Maps)"),
    "utm_e": N_("UTM easting"), "utm_n": N_("UTM northing"), "utm_zone": N_("UTM zone"),
    "brand": N_("Brand"), "model": N_("Model"), "resolution": N_("Resolution"),
    "registry_status": N_("Registry status"), "stream_url": N_("IP / stream URL"),
}


def guess_field(header: str) -> str | None:
    key = header_key(header)
    if not key:
        return None
    if key in _EXACT:
        return _EXACT[key]
    for syn, fld in _BY_LENGTH:
        if syn in key:
            return fld
    return None


def guess_mapping(headers: list[str]) -> dict[str, int]:
    """field -> column index; the first column claiming a field keeps it."""
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        fld = guess_field(header)
        if fld and fld not in mapping:
            mapping[fld] = index
    return mapping


def header_score(cells: list) -> int:
    return len(guess_mapping([cell_text(c) for c in cells]))


def find_header(rows: list[tuple[int, list]]) -> tuple[int, list] | None:
    """The (row number, cells) among the first rows that names the most known fields (>= 2)."""
    best, best_score = None, 1
    for row_no, cells in rows[:HEADER_SCAN_ROWS]:
        score = header_score(cells)
        if score > best_score:
            best, best_score = (row_no, cells), score
    return best


def has_position(mapping: dict) -> bool:
    return ("lat" in mapping and "lon" in mapping) or "latlon" in mapping or "map_link" in mapping or (
        "utm_e" in mapping and "utm_n" in mapping)


def check_mapping(mapping: dict, file_name: str) -> None:
    """A file we can import names its cameras and says where they are."""
    if not any(f in mapping for f in NAME_FIELDS):
        raise BadInput("%(file)s has no camera id or name column (looked for %(looked)s);"
                       " give a mapping", file=file_name,
                       looked="รหัสกล้อง, ชื่อจุดติดตั้ง, ชื่อสถานที่")
    if not has_position(mapping):
        raise BadInput("%(file)s has no position columns (latitude and longitude, or UTM E and N);"
                       " give a mapping", file=file_name)


def load_mapping_file(path: str | Path) -> dict:
    """A JSON object ``{field: header text | column number | column letter | null}``,
    optionally wrapped as ``{"header_row": N, "columns": {...}}``; the ``mapping`` object
    of ``import --json`` output can be fed back as is."""
    path = Path(path)
    try:
        data = json_input.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise BadInput("Mapping file %(file)s does not exist", file=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput("Mapping file %(file)s is not valid JSON: %(why)s", file=str(path),
                       why=str(exc)) from None
    return parse_mapping_spec(data, str(path))


def parse_mapping_spec(data, where: str) -> dict:
    if not isinstance(data, dict):
        raise BadInput("Mapping %(file)s must be a JSON object of field: column", file=where)
    header_row = data.get("header_row")
    columns = data.get("columns", data if "header_row" not in data else {})
    if "mapping" in data and isinstance(data["mapping"], dict):
        columns = data["mapping"]
    if not isinstance(columns, dict):
        raise BadInput("Mapping %(file)s must be a JSON object of field: column", file=where)
    for fld in columns:
        if fld not in FIELDS:
            raise BadInput("Mapping %(file)s names an unknown field %(field)s (fields: %(fields)s)",
                           file=where, field=fld, fields=", ".join(FIELDS))
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise BadInput("Mapping %(file)s: header_row must be a row number", file=where)
    return {"header_row": header_row, "columns": dict(columns)}


def apply_overrides(guess: dict[str, int], headers: list[str], columns: dict,
                    file_name: str) -> dict[str, int]:
    """The guess with the user's choices on top; a column named by the user moves to that field."""
    mapping = dict(guess)
    keys = [header_key(h) for h in headers]
    for fld, target in columns.items():
        mapping.pop(fld, None)
        if target in (None, ""):
            continue
        index = _column_index(target, keys, len(headers))
        if index is None:
            raise BadInput("Column %(column)s for %(field)s is not in the header of %(file)s",
                           column=str(target), field=fld, file=file_name)
        for other, idx in list(mapping.items()):
            if idx == index:
                del mapping[other]
        mapping[fld] = index
    return mapping


def _column_index(target, keys: list[str], width: int) -> int | None:
    if isinstance(target, int) and not isinstance(target, bool):
        return target - 1 if 1 <= target <= width else None
    text = str(target)
    key = header_key(text)
    if key in keys:
        return keys.index(key)
    if text.isascii() and text.isalpha() and text.isupper() and len(text) <= 2:
        index = 0
        for ch in text:
            index = index * 26 + (ord(ch) - 64)
        return index - 1 if index <= width else None
    return None


def describe(mapping: dict[str, int], headers: list[str]) -> dict[str, str]:
    """field -> header text as in the file (what reports and --mapping files use)."""
    return {f: headers[i] for f, i in sorted(mapping.items(), key=lambda kv: kv[1])}
