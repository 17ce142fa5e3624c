"""Open a registry file whatever it is (xlsx, xls, ods, csv) and stream its rows.

The format is sniffed from the bytes, not trusted from the name (an upload called .xls is
often HTML or CSV). Rows come out in chunks: ``([row numbers a person sees], [cells])``.
Spreadsheets are read with python-calamine (Rust, one sheet at a time, rows converted to
Python lazily); CSV is read line by line, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import zipfile
from collections import Counter
from pathlib import Path
from typing import Iterator

from ..errors import BadInput
from .limits import SheetLimits, check_file

SNIFF_BYTES = 1 << 20
CHUNK_ROWS = 2000
DELIMITERS = (",", ";", "\t", "|")
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
# No registry cell comes near a million characters; a longer one means the file is not a
# table (a pasted document, a binary saved as .csv) and is refused in one line.
FIELD_LIMIT = 1 << 20
csv.field_size_limit(FIELD_LIMIT)
SNIFF_LINE_CHARS = 64 << 10  # a sample line is cut here: the delimiter shows in the first cells


def sniff_kind(path: Path, name: str | None = None) -> str:
    """'xlsx' | 'ods' | 'xls' | 'csv', or BadInput saying why the file (called `name`,
    else by its path's name) is not one."""
    name = name or path.name
    size = path.stat().st_size
    if size == 0:
        raise BadInput("%(file)s is empty", file=name)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "mimetype" in names and zf.read("mimetype").strip() == ODS_MIME:
                    return "ods"
                if "content.xml" in names and "mimetype" not in names:
                    return "ods"
        except (zipfile.BadZipFile, OSError, EOFError):
            raise BadInput("%(file)s cannot be read: the file is damaged or truncated",
                           file=name) from None
        raise BadInput("%(file)s is not a spreadsheet (xlsx, xls, ods or csv)", file=name)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!",
                        b"7z\xbc\xaf")):
        raise BadInput("%(file)s is not a spreadsheet (xlsx, xls, ods or csv)", file=name)
    return "csv"


class Workbook:
    """An open registry file. Use as a context manager."""

    def __init__(self, path: Path, display_name: str | None = None,
                 limits: SheetLimits | None = None):
        self.path = Path(path)
        self.name = display_name or self.path.name
        self.limits = limits or SheetLimits()
        self.kind = sniff_kind(self.path, self.name)
        self._book = None
        self._loaded = None
        self.encoding = ""
        self.delimiter = ""
        if self.kind == "csv":
            self.encoding = detect_encoding(self.path, self.name)
            self.delimiter = sniff_delimiter(self.path, self.encoding)
            self.sheet_names = [""]
        else:
            # Before calamine sees the file: it allocates from what the file claims.
            check_file(self.path, self.kind, self.name, self.limits)
            import python_calamine

            try:
                self._book = python_calamine.CalamineWorkbook.from_path(str(self.path))
                self.sheet_names = [m.name for m in self._book.sheets_metadata
                                    if str(m.visible).endswith("Visible")
                                    and not str(m.visible).endswith("Hidden")]
                self.sheet_names = self.sheet_names or list(self._book.sheet_names)
            except Exception as exc:  # calamine raises several kinds for one meaning
                raise _damaged(self.name, exc) from None
            if not self.sheet_names:
                raise BadInput("%(file)s has no sheets", file=self.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self._book is not None:
            try:
                self._book.close()
            except Exception:  # noqa: BLE001 - closing twice is harmless
                pass
            self._book = None
            self._loaded = None

    def sheet_name(self, wanted: str | None) -> str:
        """The sheet called `wanted` (spaces and case forgiven), else BadInput listing them."""
        if self.kind == "csv" or not wanted:
            return self.sheet_names[0] if self.kind != "csv" else ""
        all_names = list(self._book.sheet_names)
        for name in all_names:
            if name == wanted or name.strip().casefold() == wanted.strip().casefold():
                return name
        raise BadInput("Sheet %(sheet)s is not in %(file)s (sheets: %(sheets)s)",
                       sheet=wanted, file=self.name, sheets=", ".join(all_names))

    def preload(self, wanted: str | None = None) -> None:
        """Load the sheet an import will most likely read (the named one, else the first),
        so another thread can work meanwhile. Errors are left for the real read to report."""
        if self.kind == "csv":
            return
        try:
            self._sheet(self.sheet_name(wanted))
        except Exception:  # noqa: BLE001 - reported by whoever reads the sheet next
            pass

    def _sheet(self, name: str):
        # Parsing a sheet is the slow part of reading a workbook: do it once per sheet.
        if self._loaded is None or self._loaded[0] != name:
            self._loaded = (name, self._book.get_sheet_by_name(name))
        return self._loaded[1]

    def height(self, sheet: str) -> int:
        data = self._sheet(sheet)
        return data.height + (data.start[0] if data.start else 0)

    def chunks(self, sheet: str = "", progress=None) -> Iterator[tuple[list[int], list]]:
        """Every row, a chunk at a time: (their row numbers, their cells); `progress(fraction)`
        is called now and then. Chunks keep Python out of the per-row step, which cost as
        much as converting the cells."""
        if self.kind == "csv":
            rows = self._csv_rows(progress)
            while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
                yield [n for n, _ in chunk], [cells for _, cells in chunk]
        else:
            yield from self._sheet_chunks(sheet, progress)

    def _sheet_chunks(self, sheet: str, progress) -> Iterator[tuple[range, list]]:
        try:
            data = self._sheet(sheet)
            # iter_rows() starts at the sheet's first row even when the used range starts
            # lower (it only drops leading empty columns), so i + 1 is Excel's row number.
            total = max(1, data.height + (data.start[0] if data.start else 0))
            rows = data.iter_rows()
            done = 0
            while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
                if progress is not None:
                    progress(done / total)
                yield range(done + 1, done + 1 + len(chunk)), chunk
                done += len(chunk)
        except BadInput:
            raise
        except Exception as exc:  # noqa: BLE001 - see _damaged
            raise _damaged(self.name, exc) from None

    def _csv_rows(self, progress) -> Iterator[tuple[int, list]]:
        size = max(1, self.path.stat().st_size)
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            line = 1
            max_columns = self.limits.max_columns
            try:
                for i, cells in enumerate(reader):
                    if progress is not None and i % 2000 == 0:
                        progress(raw.tell() / size)
                    if len(cells) > max_columns:
                        cells = _within_columns(cells, max_columns, self.name, line)
                    yield line, cells
                    line = reader.line_num + 1
            except UnicodeDecodeError:
                raise BadInput("%(file)s line %(line)s is neither UTF-8 nor Thai (cp874) text",
                               file=self.name, line=_first_bad_line(self.path, self.encoding)) from None
            except csv.Error as exc:
                if "field limit" in str(exc):
                    raise BadInput("%(file)s line %(line)s has a cell longer than %(limit)s"
                                   " characters: that is not a registry table",
                                   file=self.name, line=line,
                                   limit=f"{FIELD_LIMIT:,}") from None
                raise BadInput("%(file)s line %(line)s is not valid CSV: %(why)s",
                               file=self.name, line=line, why=str(exc)) from None


def _within_columns(cells: list, max_columns: int, name: str, line: int) -> list:
    """The line's cells up to `max_columns`, when all past it are empty (Excel writes a
    delimiter for every formatted column of its used range); else BadInput."""
    last = len(cells)
    while last > max_columns and not cells[last - 1].strip():
        last -= 1
    if last > max_columns:
        raise BadInput("%(file)s line %(line)s has a value in column %(count)s, past the limit"
                       " of %(max)s columns; it is refused", file=name, line=line, count=last,
                       max=max_columns)
    return cells[:max_columns]


def _first_bad_line(path: Path, encoding: str) -> int:
    """The physical line holding the first byte the encoding cannot decode (error path only:
    the text reader fails a whole buffer ahead of the line it is on)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as fh:
        for number, raw_line in enumerate(fh, 1):
            try:
                decoder.decode(raw_line)
            except UnicodeDecodeError:
                return number
    return number


def _damaged(name: str, exc: Exception) -> BadInput:
    kind = type(exc).__name__
    if "Password" in kind:
        return BadInput("%(file)s is protected by a password; save it without one", file=name)
    return BadInput("%(file)s cannot be read: the file is damaged or truncated", file=name)


def detect_encoding(path: Path, name: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's 'Unicode text'), else cp874."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise BadInput("%(file)s is not a spreadsheet (xlsx, xls, ods or csv)", file=name)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SNIFF_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp874")
    except UnicodeDecodeError:
        raise BadInput("%(file)s is not a spreadsheet (xlsx, xls, ods or csv)", file=name) from None
    return "cp874"


def sniff_delimiter(path: Path, encoding: str, lines: int = 60) -> str:
    """The delimiter that splits the most sample lines into the same number (>1) of fields."""
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        sample = [fh.readline(SNIFF_LINE_CHARS) for _ in range(lines)]
    sample = [s for s in sample if s.strip()]
    best, best_score = ",", (0, 0)
    for delim in DELIMITERS:
        counts = []
        try:
            for row in csv.reader(sample, delimiter=delim):
                counts.append(len(row))
        except csv.Error:
            pass  # (a quote left open over cut lines): the rows before it still vote
        common = Counter(c for c in counts if c > 1).most_common(1)
        if not common:
            continue
        fields, lines_agreeing = common[0]
        score = (lines_agreeing, fields)
        if score > best_score:
            best, best_score = delim, score
    return best
