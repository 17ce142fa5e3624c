"""Limits a spreadsheet must meet before python-calamine may open it.

calamine allocates from what a file claims: a sheet's cells become one dense grid sized by
the farthest cell that holds a value (32 bytes a cell: one value at XFD1048576 asks for
512 GB and the process aborts), and the shared-strings table is reserved from its declared
``uniqueCount``. So the zip directory and the sheet XML are inspected here first, with the
standard library only: declared sizes and compression ratios from the directory, then the
sheets and shared strings streamed a megabyte at a time (never unpacked into memory) with a
byte budget. Anything over a limit is refused in one line naming the file, the sheet, the
cell or part, and the limit.

The well-formed case is checked with a few C-speed scans per chunk (counts and one regular
expression that only matches a cell beyond the limits). A sheet whose cells do not all
start ``<c r="..."`` (no cell reference, or attributes in another order) is walked with
expat instead, which is exact but slower.

.xls (BIFF) is an OLE compound file: only its size is checked here. Its format caps a sheet
at 65,536 x 256 cells; what it holds is bounded by the reader child's memory limit.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from ..errors import BadInput

CHUNK = 1 << 20
MAX_TAG = 1 << 16          # no tag of a real sheet is this long; an attribute bomb is
MAX_MEMBERS = 10_000
MAX_SMALL_PART = 64 << 20  # styles, theme, drawings...: calamine reads some of them whole
MIN_CELL_BYTES = 16        # <c r="A1"><v>1</v></c> is 22
RATIO_FROM = 16 << 20      # members smaller than this may compress as well as they like
NESTED = (".zip", ".xlsx", ".xlsm", ".xls", ".ods", ".jar", ".gz", ".7z", ".rar")
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True)
class SheetLimits:
    """See `survey_node.config.ImportsSection` for what each limit is and why."""

    max_rows: int = 200_000
    max_columns: int = 100
    max_cells: int = 10_000_000
    max_shared_strings: int = 2_000_000
    max_unpacked_mb: int = 512
    max_ratio: int = 100
    # The grid calamine makes of a sheet is (last row x last column) cells of 32 bytes.
    # 0: not checked, the reader child's memory limit bounds it (finding the last row
    # and column costs a pass over every cell); set where a sheet is read in-process.
    max_area: int = 0

    @classmethod
    def from_dict(cls, values: dict | None) -> "SheetLimits":
        values = values or {}
        return cls(**{k: int(v) for k, v in values.items() if k in cls.__dataclass_fields__})


def check_file(path: Path, kind: str, name: str, limits: SheetLimits | None = None) -> None:
    """BadInput when the spreadsheet at `path` (of `kind`, see readers.sniff_kind) is over
    a limit or not a plain archive; nothing is allocated from the file's own claims."""
    limits = limits or SheetLimits()
    path = Path(path)
    if kind == "xls":
        if path.stat().st_size > limits.max_unpacked_mb << 20:
            raise BadInput("%(file)s unpacks to more than %(max)s MB (%(part)s); it is refused",
                           file=name, max=limits.max_unpacked_mb, part="workbook")
        return
    if kind not in ("xlsx", "ods"):
        return
    _check_zip_ends(path, name)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = _check_directory(zf, name, limits)
            budget = _Budget(name, limits)
            if kind == "xlsx":
                _check_xlsx(zf, infos, name, limits, budget)
            else:
                _check_ods(zf, name, limits, budget)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError,
            RuntimeError):
        raise BadInput("%(file)s cannot be read: the file is damaged or truncated",
                       file=name) from None


# -- the archive ---------------------------------------------------------------------------

def _check_zip_ends(path: Path, name: str) -> None:
    """A spreadsheet is a zip from its first byte to its last: bytes before the first entry
    or after the end record make it a polyglot (another file read differently elsewhere)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - (1 << 16) - 22))
        tail = fh.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        raise BadInput("%(file)s cannot be read: the file is damaged or truncated", file=name)
    (comment_len,) = struct.unpack("<H", tail[end + 20:end + 22])
    if end + 22 + comment_len != len(tail):
        raise BadInput("%(file)s has other data before or after its zip archive; it is refused",
                       file=name)


def _check_directory(zf: zipfile.ZipFile, name: str, limits: SheetLimits) -> dict:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _odd(name, f"{len(infos)} parts")
    if infos and min(i.header_offset for i in infos) != 0:
        raise BadInput("%(file)s has other data before or after its zip archive; it is refused",
                       file=name)
    total = 0
    by_name = {}
    for info in infos:
        member = info.filename
        parts = PurePosixPath(member).parts
        if (member in by_name or member.startswith("/") or "\\" in member or "\x00" in member
                or ".." in parts or info.flag_bits & 0x1 or info.compress_type not in ZIP_METHODS):
            raise _odd(name, member)
        if (PurePosixPath(member).suffix.lower() in NESTED
                and not member.startswith(("xl/embeddings/", "Object"))):
            raise _odd(name, member)  # an archive inside: nothing a sheet needs
        by_name[member] = info
        total += info.file_size
        if total > limits.max_unpacked_mb << 20:
            raise _too_big(name, member, limits)
        if (info.file_size > RATIO_FROM
                and info.file_size > limits.max_ratio * max(1, info.compress_size)):
            raise BadInput("%(file)s: %(part)s is compressed %(ratio)s to 1, more than the"
                           " %(max)s to 1 of a real spreadsheet; it is refused as a zip bomb",
                           file=name, part=member, max=limits.max_ratio,
                           ratio=info.file_size // max(1, info.compress_size))
    return by_name


class _Budget:
    """The bytes really unpacked, across every part streamed (a directory can lie)."""

    def __init__(self, name: str, limits: SheetLimits):
        self.name, self.limits, self.left = name, limits, limits.max_unpacked_mb << 20

    def chunks(self, zf: zipfile.ZipFile, member: str):
        with zf.open(member) as fh:
            while chunk := fh.read(CHUNK):
                self.left -= len(chunk)
                if self.left < 0:
                    raise _too_big(self.name, member, self.limits)
                yield chunk


def _too_big(name: str, member: str, limits: SheetLimits) -> BadInput:
    return BadInput("%(file)s unpacks to more than %(max)s MB (%(part)s); it is refused",
                    file=name, max=limits.max_unpacked_mb, part=member)


def _odd(name: str, member: str) -> BadInput:
    return BadInput("%(file)s holds a part this node does not open (%(part)s); it is refused",
                    file=name, part=member)


# -- xlsx ----------------------------------------------------------------------------------

_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?sheet\s[^>]*>")
_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*"([^"]*)"')
_REL = re.compile(rb"<(?:[\w.-]+:)?Relationship\s[^>]*>")
_ROOT = re.compile(rb"<([\w.-]+:)?worksheet[\s>]")
_DIMENSION = re.compile(rb'<(?:[\w.-]+:)?dimension\s[^>]*?ref="([^"]*)"')
_REF = re.compile(r"^\$?([A-Za-z]{1,4})\$?(\d{1,9})$")
_VALUE_REF = re.compile(rb'<(?:[\w.-]+:)?c r="([A-Z]+)(\d+)"[^>]*(?<!/)>')
_SST_COUNT = re.compile(rb'<(?:[\w.-]+:)?sst\s[^>]*>')


def _check_xlsx(zf, infos: dict, name: str, limits: SheetLimits, budget: _Budget) -> None:
    sheets, shared = _parts(zf, infos)
    for member, info in infos.items():
        if member.startswith("xl/worksheets/") and member.endswith(".xml"):
            sheets.setdefault(member, PurePosixPath(member).stem)
        elif (member not in sheets and member not in shared
              and info.file_size > MAX_SMALL_PART and not member.startswith("xl/media/")):
            raise BadInput("%(file)s unpacks to more than %(max)s MB (%(part)s); it is refused",
                           file=name, max=MAX_SMALL_PART >> 20, part=member)
    for member in shared:
        if member in infos:
            _check_shared_strings(zf, member, name, limits, budget)
    for member, sheet in sheets.items():
        if member in infos:
            # A cell holding a value takes at least MIN_CELL_BYTES of XML (and zipfile
            # stops at the declared size), so a smaller part cannot hold too many.
            count = infos[member].file_size > MIN_CELL_BYTES * limits.max_cells
            _SheetScan(name, sheet, limits).run(budget.chunks(zf, member), zf, member, budget,
                                                count)
    _drain_the_rest(zf, infos, set(sheets) | set(shared), budget)


def _drain_the_rest(zf, infos: dict, done: set, budget: _Budget) -> None:
    """Unpack every other part calamine may read (styles, the workbook, relationships...)
    against the byte budget: zipfile stops at a part's declared size and checks its CRC,
    so a directory that understates a part fails here instead of inflating in calamine.
    Pictures and embedded objects are not read by calamine and are left alone."""
    for member in infos:
        if member not in done and not member.startswith(("xl/media/", "xl/embeddings/",
                                                          "Pictures/", "Thumbnails/")):
            for _ in budget.chunks(zf, member):
                pass


def _parts(zf, infos: dict) -> tuple[dict[str, str], list[str]]:
    """{sheet part: sheet name} and the shared-strings parts, as the workbook names them
    (its relationships may put a sheet anywhere in the archive)."""
    names = {}
    if "xl/workbook.xml" in infos and infos["xl/workbook.xml"].file_size <= MAX_SMALL_PART:
        for tag in _SHEET_TAG.findall(zf.read("xl/workbook.xml")):
            attrs = {k.split(b":")[-1]: v for k, v in _ATTR.findall(tag)}
            if b"id" in attrs and b"name" in attrs:
                names[attrs[b"id"]] = _xml_text(attrs[b"name"])
    sheets, shared = {}, ["xl/sharedStrings.xml"]
    rels = "xl/_rels/workbook.xml.rels"
    if rels in infos and infos[rels].file_size <= MAX_SMALL_PART:
        for tag in _REL.findall(zf.read(rels)):
            attrs = dict(_ATTR.findall(tag))
            target = attrs.get(b"Target", b"").decode("utf-8", "replace")
            kind = attrs.get(b"Type", b"").rsplit(b"/", 1)[-1]
            member = target.lstrip("/") if target.startswith("/") else _join("xl", target)
            if kind in (b"worksheet", b"macrosheet", b"dialogsheet"):
                sheets[member] = names.get(attrs.get(b"Id"), PurePosixPath(member).stem)
            elif kind == b"sharedStrings":
                shared.append(member)
    return sheets, list(dict.fromkeys(shared))


def _join(base: str, target: str) -> str:
    parts: list[str] = []
    for part in f"{base}/{target}".split("/"):
        if part == "..":
            parts = parts[:-1]
        elif part and part != ".":
            parts.append(part)
    return "/".join(parts)


def _xml_text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"),
                         ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def _check_shared_strings(zf, member: str, name: str, limits: SheetLimits, budget) -> None:
    chunks = budget.chunks(zf, member)
    first = b""
    for chunk in chunks:
        first += chunk
        if _SST_COUNT.search(first) or len(first) >= MAX_TAG:
            break
    found = _SST_COUNT.search(first)
    prefix = b""
    if found is not None:
        tag = found.group(0)
        prefix = tag[1:tag.index(b"sst")]
        # calamine reserves the table from these numbers before it reads one string.
        for key, value in _ATTR.findall(tag):
            if key in (b"count", b"uniqueCount") and (
                    not value.isdigit() or len(value) > 12
                    or int(value) > limits.max_shared_strings):
                raise _too_many_strings(name, value.decode("ascii", "replace"), limits)
    opening = (b"<" + prefix + b"si>", b"<" + prefix + b"si ")
    count = 0
    tail = b""
    for chunk in _chain(first, chunks):
        buf = tail + chunk
        cut = buf.rfind(b"<")
        body, tail = (buf[:cut], buf[cut:]) if cut >= 0 and len(buf) - cut < MAX_TAG else (buf, b"")
        count += body.count(opening[0]) + body.count(opening[1])
        if count > limits.max_shared_strings:
            raise _too_many_strings(name, f"{count}+", limits)


def _too_many_strings(name, count, limits) -> BadInput:
    return BadInput("%(file)s holds %(count)s shared strings, more than the limit of %(max)s;"
                    " it is refused", file=name, count=count, max=limits.max_shared_strings)


def column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def _up_to_number(limit: int) -> str:
    """A regex for the decimal numbers 1..`limit` (no leading zeros)."""
    text = str(limit)
    options = [r"[1-9]\d{0,%d}" % (len(text) - 2)] if len(text) > 1 else []
    for i, ch in enumerate(text):
        low = 1 if i == 0 else 0
        if int(ch) > low:
            rest = len(text) - i - 1
            options.append(text[:i] + "[%d-%d]" % (low, int(ch) - 1) + r"\d{%d}" % rest)
    options.append(text)
    return "(?:%s)" % "|".join(options)


def _up_to_letters(limit: int) -> str:
    """A regex for the column letters of columns 1..`limit` (upper case, as written)."""
    text = column_letters(limit)
    options = ["[A-Z]{1,%d}" % (len(text) - 1)] if len(text) > 1 else []
    for i, ch in enumerate(text):
        if ch != "A":
            rest = len(text) - i - 1
            options.append(text[:i] + "[A-%s]" % chr(ord(ch) - 1) + "[A-Z]{%d}" % rest)
    options.append(text)
    return "(?:%s)" % "|".join(options)


class _SheetScan:
    """One sheet part: its declared dimension, every cell that holds a value (a
    self-closing ``<c .../>`` holds none, and calamine skips it), their count."""

    def __init__(self, name: str, sheet: str, limits: SheetLimits):
        self.name, self.sheet, self.limits = name, sheet, limits

    def run(self, chunks, zf, member, budget, count: bool = True) -> None:
        limits = self.limits
        first = b""
        for chunk in chunks:
            first += chunk
            if _ROOT.search(first) or len(first) >= MAX_TAG:
                break
        root = _ROOT.search(first)
        prefix = root.group(1) or b"" if root else b""
        dimension = _DIMENSION.search(first)
        if dimension:
            self._check_dimension(dimension.group(1).decode("ascii", "replace"))
        # Tried at every cell tag, and found only where one does not start with a
        # reference within the limits: then expat walks the sheet and decides exactly
        # (the cell may be empty, or have its reference elsewhere, or none).
        odd = re.compile(rb"<" + re.escape(prefix) + rb"c(?=[\s/>])(?! r=\""
                         + _up_to_letters(limits.max_columns).encode()
                         + _up_to_number(limits.max_rows).encode() + rb"\")")
        closing = b"</" + prefix + b"c>"
        cells = 0
        tail = b""
        for chunk in _chain(first, chunks):
            buf = tail + chunk
            cut = buf.rfind(b">") + 1
            body, rest = buf[:cut], buf[cut:]
            lt = rest.rfind(b"<")
            tail = rest[lt:] if lt >= 0 else b""
            if len(tail) > MAX_TAG:
                raise _odd(self.name, member)
            if odd.search(body) is not None:
                return _ExactScan(self).run(budget.chunks(zf, member))
            if count:
                cells += body.count(closing)
                if cells > limits.max_cells:
                    raise self._too_many_cells()
            if limits.max_area:
                self._extend(_VALUE_REF.findall(body))
        self._check_area()
        return None

    corner = (0, 0)  # (last row, last column) of the cells holding a value

    def _extend(self, refs: list) -> None:
        if refs:
            row = max(int(number) for _, number in refs)
            col = max(column_number(letters.decode("ascii"))
                      for letters in {letters for letters, _ in refs})
            self.corner = (max(self.corner[0], row), max(self.corner[1], col))

    def _check_area(self) -> None:
        rows, cols = self.corner
        if self.limits.max_area and rows * cols > self.limits.max_area:
            raise BadInput("%(file)s, sheet %(sheet)s: its cells reach %(cell)s, a grid of more"
                           " than %(max)s cells; delete what is past the data and save it again",
                           file=self.name, sheet=self.sheet, max=self.limits.max_area,
                           cell=f"{column_letters(cols)}{rows}")

    def _check_dimension(self, ref: str) -> None:
        corner = ref.split(":")[-1]
        match = _REF.match(corner)
        if match is None:
            return  # calamine ignores a dimension it cannot read; so may we
        if (column_number(match.group(1)) > self.limits.max_columns
                or int(match.group(2)) > self.limits.max_rows):
            raise BadInput("%(file)s, sheet %(sheet)s: it declares its cells reach %(cell)s,"
                           " beyond the limit of %(rows)s rows and %(columns)s columns; clear"
                           " the contents and formatting past the data and save it again",
                           file=self.name, sheet=self.sheet,
                           cell=corner, rows=self.limits.max_rows,
                           columns=self.limits.max_columns)

    def _beyond(self, cell: str) -> BadInput:
        return BadInput("%(file)s, sheet %(sheet)s: cell %(cell)s is beyond the limit of"
                        " %(rows)s rows and %(columns)s columns; delete what is past the data"
                        " and save it again", file=self.name, sheet=self.sheet, cell=cell.upper(),
                        rows=self.limits.max_rows, columns=self.limits.max_columns)

    def _too_many_cells(self) -> BadInput:
        return BadInput("%(file)s, sheet %(sheet)s holds more than %(max)s cells; it is refused",
                        file=self.name, sheet=self.sheet, max=self.limits.max_cells)


def _chain(first: bytes, rest):
    yield first
    yield from rest


class _ExactScan:
    """The sheet walked element by element, for cells without a reference (their place
    is counted along the row, as calamine counts it)."""

    def __init__(self, scan: _SheetScan):
        self.scan = scan
        self.row = 0
        self.col = 0
        self.cells = 0
        self.in_cell = False
        self.cell_has_value = False
        self.ref = ""

    def run(self, chunks) -> None:
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._no_dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        try:
            for chunk in chunks:
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError:
            raise BadInput("%(file)s cannot be read: the file is damaged or truncated",
                           file=self.scan.name) from None
        self.scan._check_area()

    def _no_dtd(self, *args) -> None:
        raise _odd(self.scan.name, self.scan.sheet)

    def _start(self, tag: str, attrs: dict) -> None:
        local = tag.rsplit(":", 1)[-1]
        if self.in_cell:
            self.cell_has_value = True
        elif local == "row":
            r = attrs.get("r", "")
            self.row = int(r) if r.isdigit() and len(r) < 10 else self.row + 1
            self.col = 0
        elif local == "c":
            ref = _REF.match(attrs.get("r", ""))
            if ref:
                self.col, row = column_number(ref.group(1)), int(ref.group(2))
            else:
                self.col, row = self.col + 1, self.row
            self.ref = f"{column_letters(self.col)}{row}"
            self.cell_row = row
            limits = self.scan.limits
            self.beyond = self.col > limits.max_columns or row > limits.max_rows
            self.in_cell, self.cell_has_value = True, False

    def _end(self, tag: str) -> None:
        if self.in_cell and tag.rsplit(":", 1)[-1] == "c":
            self.in_cell = False
            if self.cell_has_value:
                if self.beyond:
                    raise self.scan._beyond(self.ref)
                self.scan.corner = (max(self.scan.corner[0], self.cell_row),
                                    max(self.scan.corner[1], self.col))
                self.cells += 1
                if self.cells > self.scan.limits.max_cells:
                    raise self.scan._too_many_cells()


# -- ods -----------------------------------------------------------------------------------

class _OdsScan:
    """content.xml walked with expat: rows and cells count with their `number-*-repeated`,
    and only those holding a value reach the limits (LibreOffice pads every sheet with
    empty repeated rows and cells to the edge, which calamine drops)."""

    def __init__(self, name: str, limits: SheetLimits):
        self.name, self.limits = name, limits
        self.sheet = ""
        self.row = 0
        self.col = 0
        self.row_repeat = 1
        self.cell = None  # (repeat, has value) of the open cell
        self.row_last = 0  # columns the open row holds values up to
        self.reach = (0, 0)  # (last row, last column) holding a value in this sheet
        self.cells = 0

    def run(self, chunks) -> None:
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._no_dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        try:
            for chunk in chunks:
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError:
            raise BadInput("%(file)s cannot be read: the file is damaged or truncated",
                           file=self.name) from None

    def _no_dtd(self, *args) -> None:
        raise _odd(self.name, "content.xml")  # no spreadsheet has one; entities are a bomb

    @staticmethod
    def _repeat(attrs: dict, key: str) -> int:
        value = attrs.get(key, "1")
        return int(value) if value.isdigit() and len(value) < 10 else 1

    def _start(self, tag: str, attrs: dict) -> None:
        if tag == "table:table":
            self.sheet, self.row, self.reach = attrs.get("table:name", ""), 0, (0, 0)
        elif tag == "table:table-row":
            self.col, self.row_last = 0, 0
            self.row_repeat = self._repeat(attrs, "table:number-rows-repeated")
        elif tag in ("table:table-cell", "table:covered-table-cell"):
            self.cell = [self._repeat(attrs, "table:number-columns-repeated"),
                         "office:value-type" in attrs]
        elif self.cell is not None:
            self.cell[1] = True  # text inside the cell

    def _end(self, tag: str) -> None:
        if tag in ("table:table-cell", "table:covered-table-cell") and self.cell is not None:
            repeat, has_value = self.cell
            self.cell = None
            self.col += repeat
            if has_value:
                self.row_last = self.col
                self.cells += repeat * self.row_repeat
                self.reach = (max(self.reach[0], self.row + self.row_repeat),
                              max(self.reach[1], self.col))
                self._check(*self.reach)
        elif tag == "table:table-row":
            self.row += self.row_repeat

    def _check(self, row: int, col: int) -> None:
        limits = self.limits
        if col > limits.max_columns or row > limits.max_rows:
            raise BadInput("%(file)s, sheet %(sheet)s: cell %(cell)s is beyond the limit of"
                           " %(rows)s rows and %(columns)s columns; delete what is past the data"
                           " and save it again", file=self.name, sheet=self.sheet,
                           cell=f"{column_letters(min(col, 16384))}{row}",
                           rows=limits.max_rows, columns=limits.max_columns)
        if self.cells > limits.max_cells:
            raise BadInput("%(file)s, sheet %(sheet)s holds more than %(max)s cells; it is refused",
                           file=self.name, sheet=self.sheet, max=limits.max_cells)
        if limits.max_area and row * col > limits.max_area:
            raise BadInput("%(file)s, sheet %(sheet)s: its cells reach %(cell)s, a grid of more"
                           " than %(max)s cells; delete what is past the data and save it again",
                           file=self.name, sheet=self.sheet, max=limits.max_area,
                           cell=f"{column_letters(col)}{row}")


def _check_ods(zf, name: str, limits: SheetLimits, budget: _Budget) -> None:
    infos = {info.filename: info for info in zf.infolist()}
    if "content.xml" in infos:
        _OdsScan(name, limits).run(budget.chunks(zf, "content.xml"))
    _drain_the_rest(zf, infos, {"content.xml"}, budget)
