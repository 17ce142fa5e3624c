"""The working group's list: camera ids, or rows matched by id or by site name + position.

A file (xlsx/xls/ods through python-calamine, or csv/txt) holds either a plain column of
camera ids, or a table whose header names an id column and/or site name + latitude +
longitude columns. Each row is matched by id first; failing that, to a camera with the same
site name within `radius_m` metres. Rows that match nothing are reported with their row
number (as the spreadsheet numbers them) and the reason, and kept with the run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

from sqlite_utils import Database

from ..db import selection as sel_db
from ..errors import BadInput, Conflict
from ..geo import distance_m
from ..inventory import coords
from .runs import N_, record_run, require_role

MAX_ROWS = 100_000
HEADER_SCAN_ROWS = 15
ID_HEADERS = {"cameraid", "id", "รหัสกล้อง", "รหัส", "เลขที่กล้อง", "camera", "กล้อง"}
SITE_HEADERS = {"sitename", "site", "ชื่อจุดติดตั้ง", "จุดติดตั้ง", "ชื่อจุด"}
LAT_HEADERS = {"lat", "latitude", "ละติจูด", "registeredlat"}
LON_HEADERS = {"lon", "lng", "long", "longitude", "ลองจิจูด", "registeredlon"}
SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods"}
TEXTS = {".csv", ".txt", ".tsv"}

UNKNOWN_ID = N_("unknown camera id %(id)s")
NO_SITE_NEAR = N_("no camera named %(site)s within %(radius)s m")
NOTHING_TO_MATCH = N_("no camera id, and no site name with a position")
BAD_POSITION = N_("position %(lat)s, %(lon)s cannot be read as a place in Thailand")
REMOVED = N_("camera %(id)s is no longer in the registry")
DUPLICATE = N_("camera %(id)s is already on row %(first)s")


def _norm_header(cell: str) -> str:
    return re.sub(r"[\s_\-.]+", "", str(cell)).lower()


def _norm_name(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: Path, *, sheet: str | None = None) -> list[tuple[int, list[str]]]:
    """Rows as (row number as the user sees it, cells as text)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("File %(file)s not found", file=str(path))
    suffix = path.suffix.lower()
    if suffix in SPREADSHEETS:
        table = _read_spreadsheet(path, sheet)
    elif suffix in TEXTS or not suffix:
        table = _read_text(path)
    else:
        raise BadInput("%(file)s: use an .xlsx, .xls, .ods, .csv or .txt file", file=path.name)
    if len(table) > MAX_ROWS:
        raise BadInput("%(file)s has more than %(max)s rows", file=path.name, max=MAX_ROWS)
    return [(n, [_cell(v) for v in cells]) for n, cells in enumerate(table, start=1)]


def _read_spreadsheet(path: Path, sheet: str | None) -> list[list]:
    from python_calamine import CalamineWorkbook

    from ..inventory.limits import SheetLimits, check_file
    from ..inventory.readers import sniff_kind

    # Checked before calamine allocates from the file's claims. This list is read in the
    # web process, so the grid calamine makes of it is bounded too: MAX_ROWS rows of 40
    # columns at most (128 MB), far beyond a committee's list of a few hundred cameras.
    # (Bytes that are no archive at all are left to calamine, which refuses them at once.)
    try:
        kind = sniff_kind(path)
    except BadInput:
        kind = "csv"
    check_file(path, kind, path.name, SheetLimits(max_rows=MAX_ROWS, max_cells=MAX_ROWS * 40,
                                                  max_area=MAX_ROWS * 40))
    try:
        book = CalamineWorkbook.from_path(str(path))
        if sheet:
            if sheet not in book.sheet_names:
                raise BadInput("%(file)s has no sheet %(sheet)r (sheets: %(sheets)s)",
                               file=path.name, sheet=sheet, sheets=", ".join(book.sheet_names))
            data = book.get_sheet_by_name(sheet)
        else:
            data = book.get_sheet_by_index(0)
        # Keep the empty rows above the data so row numbers match what the user sees.
        return data.to_python(skip_empty_area=False)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises several kinds for a bad file
        raise BadInput("%(file)s cannot be read as a spreadsheet: %(problem)s",
                       file=path.name, problem=str(exc).splitlines()[0][:200]) from None


def _read_text(path: Path) -> list[list]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp874"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise BadInput("%(file)s is neither UTF-8 nor Thai cp874 text", file=path.name)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[list] = []
    try:
        for cells in reader:
            rows.append(cells)
    except csv.Error as exc:
        # A cell over the csv module's limit, or a stray NUL: one line, as any bad input.
        raise BadInput("%(file)s line %(line)s is not a list of camera ids: %(why)s",
                       file=path.name, line=reader.line_num, why=str(exc)[:120]) from None
    return rows


def _find_header(table: list[tuple[int, list[str]]]) -> tuple[int, dict] | None:
    """(index in table, {"id"/"site"/"lat"/"lon": column}) of the header row, if any."""
    for index, (_, cells) in enumerate(table[:HEADER_SCAN_ROWS]):
        cols = {}
        for col, cell in enumerate(cells):
            key = _norm_header(cell)
            for name, headers in (("id", ID_HEADERS), ("site", SITE_HEADERS),
                                  ("lat", LAT_HEADERS), ("lon", LON_HEADERS)):
                if key in headers and name not in cols:
                    cols[name] = col
        if "id" in cols or {"site", "lat", "lon"} <= set(cols):
            return index, cols
    return None


class Matcher:
    """Matches list rows to registry cameras (loaded once per file)."""

    def __init__(self, db: Database, radius_m: float):
        self.radius_m = radius_m
        cams = sel_db.rows_cameras_for_matching(db)
        self.by_id = {c["camera_id"]: c for c in cams}
        self.by_folded_id = {c["camera_id"].casefold(): c for c in cams}
        self.by_name: dict[str, list[dict]] = {}
        for c in cams:
            if c["site_name"] and c["registered_lat"] is not None:
                self.by_name.setdefault(_norm_name(c["site_name"]), []).append(c)

    def match(self, cells: list[str], cols: dict) -> tuple[dict | None, tuple[str, dict] | None]:
        """(camera, None) or (None, (reason message id, params))."""
        def get(name):
            col = cols.get(name)
            return cells[col].strip() if col is not None and col < len(cells) else ""

        cam_id, site = get("id"), get("site")
        if cam_id:
            cam = self.by_id.get(cam_id) or self.by_folded_id.get(cam_id.casefold())
            if cam:
                return (cam, None) if not cam["removed"] else (None, (REMOVED, {"id": cam["camera_id"]}))
            if not site:
                return None, (UNKNOWN_ID, {"id": cam_id})
        lat_text, lon_text = get("lat"), get("lon")
        if not (site and lat_text and lon_text):
            return None, ((UNKNOWN_ID, {"id": cam_id}) if cam_id else (NOTHING_TO_MATCH, {}))
        # The importer's reader: decimal, DMS, UTM numbers in these columns, swapped pairs.
        position = coords.resolve(lat=lat_text, lon=lon_text)
        if position.lat is None:
            return None, (BAD_POSITION, {"lat": lat_text, "lon": lon_text})
        lat, lon = position.lat, position.lon
        near = [(distance_m(lat, lon, c["registered_lat"], c["registered_lon"]), c)
                for c in self.by_name.get(_norm_name(site), []) if not c["removed"]]
        near = [(d, c) for d, c in near if d <= self.radius_m]
        if not near:
            return None, (NO_SITE_NEAR, {"site": site, "radius": f"{self.radius_m:g}"})
        return min(near, key=lambda dc: (dc[0], dc[1]["camera_id"]))[1], None


def match_file(db: Database, path: Path, *, which: str, radius_m: float,
               sheet: str | None = None, matcher: Matcher | None = None) -> dict:
    """Match every row of a list file; returns matched cameras (in list order) and problems."""
    table = read_rows(path, sheet=sheet)
    header = _find_header(table)
    if header is None:  # a plain list: the first column holds camera ids
        start, cols = 0, {"id": 0}
    else:
        start, cols = header[0] + 1, header[1]
    matcher = matcher or Matcher(db, radius_m)
    matched, unmatched, first_row = [], [], {}
    for number, cells in table[start:]:
        if not any(cells):
            continue
        cam, problem = matcher.match(cells, cols)
        if problem:
            unmatched.append({"list": which, "row": number, "reason": problem[0],
                              "params": problem[1]})
            continue
        if cam["camera_id"] in first_row:
            unmatched.append({"list": which, "row": number, "reason": DUPLICATE,
                              "params": {"id": cam["camera_id"], "first": first_row[cam["camera_id"]]}})
            continue
        first_row[cam["camera_id"]] = number
        matched.append(cam)
    return {"matched": matched, "unmatched": unmatched, "rows": first_row,
            "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


def import_list(db: Database, path: Path, *, user: dict, reserve: Path | None = None,
                sheet: str | None = None, radius_m: float = 30.0, source_name: str | None = None,
                reserve_name: str | None = None, dry_run: bool = False,
                replace: bool = False) -> dict:
    """Record the committee's list (and reserve list) as the set in force."""
    require_role(user, "admin")
    matcher = Matcher(db, radius_m)
    main = match_file(db, path, which="list", radius_m=radius_m, sheet=sheet, matcher=matcher)
    if not main["matched"]:
        raise BadInput("%(file)s: no row matches a registry camera (%(n)s rows unmatched)",
                       file=source_name or Path(path).name, n=len(main["unmatched"]))
    spare = {"matched": [], "unmatched": [], "sha256": None}
    if reserve is not None:
        spare = match_file(db, reserve, which="reserve", radius_m=radius_m, sheet=sheet,
                           matcher=matcher)
        for cam in list(spare["matched"]):
            if cam["camera_id"] in main["rows"]:
                spare["matched"].remove(cam)
                spare["unmatched"].append({
                    "list": "reserve", "row": spare["rows"][cam["camera_id"]], "reason": DUPLICATE,
                    "params": {"id": cam["camera_id"], "first": main["rows"][cam["camera_id"]]}})
    # The quota is counted per amphoe, so a committee list's stratum is the amphoe.
    items = [{"camera_id": c["camera_id"], "stratum": json.dumps([c["amphoe_code"] or ""]),
              "rank": i, "status": "selected"} for i, c in enumerate(main["matched"], start=1)]
    items += [{"camera_id": c["camera_id"], "stratum": json.dumps([c["amphoe_code"] or ""]),
               "rank": i, "status": "candidate", "reserve": 1}
              for i, c in enumerate(spare["matched"], start=1)]
    unmatched = main["unmatched"] + spare["unmatched"]
    run = {
        "method": "list",
        "strata": ["amphoe"],
        "source_file": source_name or Path(path).name,
        "source_sha256": main["sha256"],
        "reserve_file": (reserve_name or Path(reserve).name) if reserve is not None else None,
        "reserve_sha256": spare["sha256"],
        "counts": {"selected": len(main["matched"]), "reserve": len(spare["matched"]),
                   "unmatched": len(unmatched),
                   "strata": len({i["stratum"] for i in items if i["status"] == "selected"})},
        "unmatched": unmatched,
    }
    if dry_run:
        return {**run, "id": None, "created_by": user["name"], "created_at": None}
    if not matcher.by_id:
        raise Conflict("No cameras in the registry: import it first")
    return record_run(db, run, items, actor=user["name"], action="selection.list",
                      replace=replace)


def unmatched_line(problem: dict, translate=None) -> str:
    """One line for an unmatched row: 'list row 7: unknown camera id X'."""
    text = translate(problem["reason"]) if translate else problem["reason"]
    try:
        text = text % problem["params"]
    except (KeyError, TypeError, ValueError):
        pass
    where = f"row {problem['row']}" if problem["row"] else "row ?"
    return f"{problem['list']} {where}: {text}"
