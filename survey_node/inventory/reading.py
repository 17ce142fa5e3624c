"""Reading a registry file into normalised camera rows: sheet, header row and mapping,
then every row's values (Thai digits, coordinates, DOPA codes, stable ids), rejections and
warnings with the row number a person sees in Excel (or the CSV line number).

Nothing here touches the database, so this runs in a child process during an import
(``survey_node.inventory.worker``) while the parent writes the rows it has been sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..errors import BadInput
from ..streamcheck.urls import MASK, mask_url
from . import columns, coords, places
from .limits import SheetLimits
from .options import ImportOptions
from .province import ProvinceInference
from .readers import Workbook
from .text import (N_, cell_text, header_key, identity_key, json_arrays, padded_texts,
                   thai_digits)

SAMPLE_ROWS = 5
# A total row: a cell that is only "รวม"/"total" and perhaps a count with a unit.
_TOTAL = re.compile(
    r"^(รวม(ทั้งสิ้น|ทั้งหมด)?|ยอดรวม|ผลรวม|grand\s*total|sub\s*total|total|sum)\s*[:：=]?\s*"
    r"([\d๐-๙,.\s]*(กล้อง|ตัว|จุด|แห่ง|รายการ|ชุด|cameras?|units?)?)?$",
    re.IGNORECASE,
)
# The fields _RowReader.read unpacks from a row, in its order.
_PICKED = ("camera_id", "site_name", "place_name", "place_type", "agency", "province", "amphoe",
           "tambon", "lat", "lon", "latlon", "map_link", "utm_e", "utm_n", "utm_zone", "brand", "model",
           "resolution", "stream_url", "registry_status")
# Fields a camera stores exactly as its cell reads: the original row need not repeat them
# (its cell is null, and `raw_fields` names the field to read instead). They were a third
# of the bytes an import wrote and sent between its processes.
AS_WRITTEN = ("site_name", "place_name", "place_type", "agency", "brand", "model",
              "resolution", "stream_url", "registry_status")


@dataclass
class Layout:
    """Where the data is: the sheet, the header row and the column of each field."""

    file: str
    kind: str
    sheets: list[str]
    sheet: str
    header_row: int
    headers: list[str]
    mapping: dict[str, int]
    samples: list[list[str]]
    titles: list[tuple[int, str]] = field(default_factory=list)  # (row, text) above the header

    def described(self) -> dict[str, str]:
        return columns.describe(self.mapping, self.headers)

    def as_dict(self) -> dict:
        return {"file": self.file, "kind": self.kind, "sheets": self.sheets, "sheet": self.sheet,
                "header_row": self.header_row, "headers": self.headers,
                "mapping": self.described(),
                "columns": [{"index": i, "header": h,
                             "field": next((f for f, j in self.mapping.items() if j == i), None),
                             "samples": [s[i] if i < len(s) else "" for s in self.samples]}
                            for i, h in enumerate(self.headers)]}


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_SECRET_HEADER = re.compile(r"password|passwd|pwd|\bpass\b|รหัสผ่าน", re.I)


def shown_sample(header: str, text: str) -> str:
    """A sample cell as the mapping page may show it: a password column masked whole, and
    any address in a cell with its credentials masked (the page is the admin's, but it is
    shown on a tablet in the field, and the samples are kept in the upload's sidecar)."""
    if text and _SECRET_HEADER.search(header or ""):
        return MASK
    if "://" in text:
        return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)
    return text


def analyse(path: Path, options: ImportOptions) -> Layout:
    """Find the sheet, header row and mapping (what the admin page shows before importing)."""
    with Workbook(path, options.display_name, SheetLimits.from_dict(options.limits)) as book:
        layout, _ = _locate(book, options)
        return layout


def layout_of(book: Workbook, options: ImportOptions) -> dict:
    """`analyse` of an open book, as plain data another process can rebuild a Layout from."""
    with book:
        layout, _ = _locate(book, options)
        return dataclasses.asdict(layout)


def _locate(book: Workbook, options: ImportOptions, progress=None):
    """(layout, the rows below the header in chunks: (row numbers, cells));
    `progress(fraction)` is called as rows stream."""
    candidates = [book.sheet_name(options.sheet)] if (options.sheet or book.kind == "csv") \
        else book.sheet_names
    for sheet in candidates:
        chunks = book.chunks(sheet, progress)
        head: list[tuple[int, list]] = []
        while len(head) < columns.HEADER_SCAN_ROWS:
            numbers, rows = next(chunks, ((), ()))
            if not numbers:
                break
            head.extend(zip(numbers, rows))
        head, after = head[:columns.HEADER_SCAN_ROWS], head[columns.HEADER_SCAN_ROWS:]
        if options.header_row:
            found = next(((n, c) for n, c in head if n == options.header_row), None)
            if found is None:
                raise BadInput("Header row %(row)s is not within the first %(n)s rows of %(file)s",
                               row=options.header_row, n=columns.HEADER_SCAN_ROWS, file=book.name)
        else:
            found = columns.find_header(head)
        if found is None:
            continue
        header_row, cells = found
        headers = [cell_text(c) for c in cells]
        while headers and not headers[-1]:
            headers.pop()
        mapping = columns.apply_overrides(columns.guess_mapping(headers), headers,
                                          options.columns, book.name)
        rest = [(n, c) for n, c in head if n > header_row] + after
        samples = [[shown_sample(headers[i] if i < len(headers) else "", cell_text(c))
                    for i, c in enumerate(cells)] for _, cells in rest
                   if any(cell_text(c) for c in cells)][:SAMPLE_ROWS]
        titles = [(n, " ".join(t for t in map(cell_text, c) if t)) for n, c in head
                  if n < header_row]
        layout = Layout(book.name, book.kind, book.sheet_names, sheet, header_row, headers,
                        mapping, samples, [(n, t) for n, t in titles if t])
        first = ([n for n, _ in rest], [c for _, c in rest])
        return layout, itertools.chain([first] if rest else [], chunks)
    raise BadInput("%(file)s has no header row with known column names in its first %(n)s rows"
                   " (looked for %(looked)s)", file=book.name, n=columns.HEADER_SCAN_ROWS,
                   looked="ชื่อจุดติดตั้ง, ละติจูด, ลองจิจูด, รหัสกล้อง, หน่วยงาน")


class _Report:
    def __init__(self):
        self.rejected: list[dict] = []
        self.warnings: list[dict] = []

    def reject(self, row: int, message: str, **params) -> None:
        self.rejected.append({"row": row, "reason": _fmt(message, params),
                              "message": message, "params": params})

    def warn(self, row: int, fld: str, message: str, params: dict | None = None) -> None:
        params = params or {}
        self.warnings.append({"row": row, "field": fld, "reason": _fmt(message, params),
                              "message": message, "params": params})


def _fmt(message: str, params: dict) -> str:
    try:
        return message % params if params else message
    except (KeyError, ValueError, TypeError):
        return message


def read_file(path: Path, options: ImportOptions, *, book: Workbook | None = None
              ) -> Iterator[tuple]:
    """The events of reading a whole file, in order:

    - ``("progress", fraction, message id)`` now and then;
    - ``("batch", rows)``: staged rows, ``(camera_id, row_no, *IMPORT_FIELDS, raw)``, each
      camera id once (later rows of an id are folded or rejected, see ``_Duplicates``);
    - ``("end", summary)`` last: the layout, counts, rejections, warnings and ``discard``,
      the ids whose rows conflict (their first row was already sent in a batch).

    A file that cannot be read at all raises :class:`BadInput`. `book` is the file opened
    already (it is closed at the end).
    """
    report = _Report()
    pending: list[float] = []
    with book or Workbook(path, options.display_name,
                          SheetLimits.from_dict(options.limits)) as book:
        layout, body = _locate(book, options, pending.append)
        columns.check_mapping(layout.mapping, book.name)
        province = ProvinceInference(layout, options.default_province)
        reader = _RowReader(layout, options, report, options.crs)
        reader.default_province = province.code
        reader.defer = province if province.deferring else None
        seen = _Duplicates()
        for numbers, rows in body:
            batch = reader.read_chunk(numbers, rows, seen)
            if batch:
                yield "batch", batch
            if pending:
                yield "progress", min(1.0, pending[-1]), N_("Reading rows")
                pending.clear()
    if province.deferring:
        # The rows that waited for the province: read now with the one the file allows.
        reader.default_province, reader.defer = province.decide(), None
        for numbers, texts_rows, raws in province.deferred():
            batch = reader.read_texts(numbers, texts_rows, raws, seen)
            if batch:
                yield "batch", batch
        province.close()
    discard = seen.settle(report)
    report.rejected.sort(key=lambda r: r["row"])
    report.warnings.sort(key=lambda w: w["row"])
    yield "end", {
        "file": layout.file, "kind": layout.kind, "sheet": layout.sheet,
        "header_row": layout.header_row, "mapping": layout.described(),
        "headers": reader.raw_names, "raw_fields": reader.raw_fields,
        "rows_read": reader.rows_read,
        "rejected": report.rejected, "warnings": report.warnings, "discard": sorted(discard),
        "notes": province.notes,
    }


class _Duplicates:
    """Repeated camera ids, found as rows stream (only each id's first row is staged).

    Exact duplicates are folded into their first row; one id with different content on
    several rows rejects all of them (the file must say which is right). Content is every
    cell but the sequence number, by its Python hash (see _RowReader.read_chunk): 64 bits are
    plenty to tell apart the few rows that share one id, and they are compared within this
    one import only, so hash randomisation does not matter.
    """

    def __init__(self):
        self.firsts: dict[str, tuple[int, int]] = {}
        self.repeats: dict[str, list[tuple[int, int]]] = {}

    def first(self, camera_id: str, row_no: int, content: int) -> bool:
        found = self.firsts.setdefault(camera_id, (row_no, content))
        if found[0] == row_no:
            return True
        self.repeats.setdefault(camera_id, []).append((row_no, content))
        return False

    def settle(self, report: _Report) -> set[str]:
        """Report the repeats; returns the ids rejected for conflicting rows."""
        rejected_ids: set[str] = set()
        for camera_id in sorted(self.repeats):
            group = [self.firsts[camera_id], *self.repeats[camera_id]]
            rows = [row_no for row_no, _ in group]
            if len({content for _, content in group}) == 1:
                for row_no in rows[1:]:
                    report.warn(row_no, "camera_id", N_("exact duplicate of row %(first)s;"
                                                        " folded"), {"first": rows[0]})
                continue
            rejected_ids.add(camera_id)
            for row_no in rows:
                others = ", ".join(str(r) for r in rows if r != row_no)
                report.reject(row_no, N_("camera id %(id)s is also on row %(others)s with"
                                         " different content; fix the file"),
                              id=camera_id, others=others)
        return rejected_ids


class _RowReader:
    """Turns one row's cells into a staged camera tuple (or a skip / a rejection)."""

    def __init__(self, layout: Layout, options: ImportOptions, report: _Report, crs):
        self.layout = layout
        self.report = report
        self.crs = crs
        self.default_province = options.default_province
        self.rows_read = 0
        m = layout.mapping
        self.col = {f: m[f] for f in columns.FIELDS if f in m}
        self.width = len(layout.headers)
        self.raw_names = _unique_names(layout.headers)
        self.seq = seq = m.get("seq")
        mapped = set(m.values())
        self.content_of = _picker([i for i in range(self.width) if i != seq])
        self.raw_fields: list[str | None] = [None] * self.width
        for f in reversed(AS_WRITTEN):  # a column two fields share: the first names it
            if f in m:
                self.raw_fields[m[f]] = f
        self.omitted = frozenset(i for i, f in enumerate(self.raw_fields) if f)
        extra = [i for i in range(self.width) if i not in mapped]
        self.extra_of = _picker(extra) if extra else None
        # One itemgetter gives every field of _PICKED (the empty column when unmapped).
        self.pick = operator.itemgetter(*(m.get(f, self.width) for f in _PICKED))
        self.header_keys = {i: header_key(layout.headers[i]) for i in mapped}
        first = min(mapped) if mapped else 0
        self.first_col, self.first_header = first, layout.headers[first] if mapped else ""
        self.has_id_column = "camera_id" in m
        self.defer: ProvinceInference | None = None  # rows without a province wait there

    def read_chunk(self, numbers, rows: list, seen: _Duplicates) -> list[tuple]:
        """Staged tuples for a chunk of rows (blank, skipped and rejected rows give none;
        only the first row of each camera id is staged, see `_Duplicates`)."""
        texts_rows = padded_texts(rows, self.width)
        # The original row: its cells as a JSON array, named by the import's headers (null
        # where the camera stores the cell as it is, see AS_WRITTEN).
        raws = json_arrays(texts_rows, range(self.width), self.omitted)
        return self.read_texts(numbers, texts_rows, raws, seen)

    def read_texts(self, numbers, texts_rows: list, raws: list, seen: _Duplicates) -> list[tuple]:
        staged = []
        report, pick = self.report, self.pick
        first_col, first_header = self.first_col, self.first_header
        extra_of, first = self.extra_of, seen.first
        default_province, crs, has_id_column = self.default_province, self.crs, self.has_id_column
        plain_decimal, resolve_place = coords.plain_decimal, places.resolve
        defer = self.defer
        read = 0
        content_of = self.content_of
        for row_no, texts, raw in zip(numbers, texts_rows, raws):
            if not any(texts):
                continue
            read += 1
            if texts[first_col] == first_header and self._is_repeated_header(texts):
                report.warn(row_no, "", N_("repeated header row; skipped"))
                continue
            if len(texts) - texts.count("") <= 4 and self._is_total(texts):
                report.warn(row_no, "", N_("total row; skipped"))
                continue
            (file_id, site, place, place_type, agency, province, amphoe, tambon, lat, lon,
             latlon, link, east, north, zone, brand, model, resolution, stream_url,
             status) = pick(texts)
            if file_id:
                file_id = " ".join(thai_digits(file_id).split())
            if not (file_id or site or place):
                report.reject(row_no, N_("no camera id and no name (%(columns)s are empty)"),
                              columns=", ".join(self.layout.headers[self.col[f]]
                                                for f in columns.NAME_FIELDS if f in self.col))
                continue
            pc = resolve_place(province, amphoe, tambon, default_province)
            if defer is not None:
                if not pc.province_code:
                    defer.hold(row_no, texts, raw, pc.ambiguous)
                    read -= 1  # counted when it is read again
                    continue
                defer.evidence(pc.province_code, row_no)
            # Plain decimal degrees inside Thailand are what most rows hold: read them
            # without building a Position (a fifth of the per-row time went there).
            plain = plain_decimal(lat, lon) if lat and lon else None
            if plain is not None:
                reg_lat, reg_lon, coord_text = plain
                system = "EPSG:4326"
            else:
                pos = coords.resolve(lat=lat, lon=lon, latlon=latlon, east=east, north=north,
                                     zone=zone, crs=crs, link=link)
                for fld, message, params in pos.warnings:
                    report.warn(row_no, fld, message, params)
                reg_lat, reg_lon, coord_text, system = pos.lat, pos.lon, pos.text, pos.system
            for fld, message, params in pc.warnings:
                report.warn(row_no, fld, message, params)
            extra_hash = ""
            if extra_of is not None:
                extra = "\x1f".join(extra_of(texts))
                if extra.strip("\x1f"):
                    extra_hash = hashlib.sha1(extra.encode()).hexdigest()[:16]
            camera_id = file_id or derive_id(
                site, place, place_type, agency, pc.province_code or pc.province_name,
                pc.amphoe_code or pc.amphoe_name, pc.tambon_code or pc.tambon_name,
                reg_lat, reg_lon, coord_text)
            if not file_id and has_id_column:
                report.warn(row_no, "camera_id", N_("no camera id; derived %(id)s from the"
                                                    " names and position"), {"id": camera_id})
            # Duplicate rows are compared by every cell but the sequence number.
            if first(camera_id, row_no, hash(content_of(texts))):
                # In import_db's staged order: id, row, IMPORT_FIELDS, the original row.
                staged.append((
                    camera_id, row_no, site, place, place_type, agency, pc.province_code,
                    pc.province_name, pc.amphoe_code, pc.amphoe_name, pc.tambon_code,
                    pc.tambon_name, reg_lat, reg_lon, coord_text, system, brand, model,
                    resolution, stream_url, status, extra_hash, raw))
        self.rows_read += read
        return staged

    def _is_repeated_header(self, texts: tuple) -> bool:
        same = sum(1 for i, key in self.header_keys.items() if header_key(texts[i]) == key)
        return same * 2 >= len(self.header_keys)

    def _is_total(self, texts: tuple) -> bool:
        """Only asked of rows with four cells or fewer: a total row says little else."""
        return any(_TOTAL.match(t) for t in texts if t)


def _picker(indexes: list[int]):
    """A fast `texts -> tuple of texts[i] for i in indexes`."""
    if not indexes:
        return lambda texts: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda texts: (texts[only],)
    return operator.itemgetter(*indexes)


def _unique_names(headers: list[str]) -> list[str]:
    names, seen = [], {}
    for i, h in enumerate(headers):
        name = h or f"column {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


_KEYS: dict = {}  # identity keys of repeating id parts: place -> key, (type, ...) -> key


def derive_id(site: str, place: str, place_type: str, agency: str, province: str, amphoe: str,
              tambon: str, lat: float | None, lon: float | None, coord_text: str) -> str:
    """A stable id for a camera the file gives no id to: the same names, place and position
    always give the same id, whatever the row order or the camera's status.

    The key is identity_key() of the parts joined by "\x1f", which is whitespace, so it is
    the parts' own keys run together. All but the site name and position repeat across
    rows: their keys are cached. A formatted position has no case and no spaces: it is its
    own key. (tests/test_inventory_text.py holds this to the original formula.)
    """
    keys = _KEYS
    if len(keys) > 50_000:
        keys.clear()
    place_key = keys.get(place)
    if place_key is None:
        place_key = keys[place] = identity_key(place)
    rest = (place_type, agency, province, amphoe, tambon)
    rest_key = keys.get(rest)
    if rest_key is None:
        rest_key = keys[rest] = "".join(map(identity_key, rest))
    where = "%.5f,%.5f" % (lat, lon) if lat is not None else identity_key(coord_text)
    key = identity_key(site) + place_key + rest_key + where
    return "R-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12].upper()
