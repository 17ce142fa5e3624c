"""Hostile spreadsheets, built in the test from a real-looking registry (a few KB on disk
each): what a careless or malicious upload looks like. Each entry of CORPUS is
``name -> (builder, the fragment of the one-line refusal)``."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from tests.registry_files import REAL_HEADER, TITLE_ROWS, korat_rows, write_xlsx

SHEET = "xl/worksheets/sheet1.xml"
SPACES = b" " * (1 << 20)


def registry(path: Path, rows: int = 3) -> Path:
    """A small registry as openpyxl writes it (title rows, the real police header)."""
    return write_xlsx(path, REAL_HEADER, korat_rows(rows), title_rows=TITLE_ROWS)


def rewrite(path: Path, change: dict, *, add: dict | None = None, big: dict | None = None,
            drop: set = frozenset()) -> Path:
    """The xlsx at `path` with parts changed (name -> bytes -> bytes), added (name -> bytes)
    or added as `count` MiB of spaces streamed into the zip (name -> (head, count, end))."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info.filename)
            out.writestr(info.filename, change.get(info.filename, lambda b: b)(data))
        for name, data in (add or {}).items():
            out.writestr(name, data)
        for name, (head, count, end) in (big or {}).items():
            with out.open(name, "w", force_zip64=True) as fh:
                fh.write(head)
                for _ in range(count):
                    fh.write(SPACES)
                fh.write(end)
    tmp.replace(path)
    return path


def _before_sheet_end(extra: bytes):
    return lambda xml: xml.replace(b"</sheetData>", extra + b"</sheetData>")


def sparse_far_cell(folder: Path) -> Path:
    """The issue's file: one data row, and one value at XFD1048576 (the used range as
    Excel would declare it for the real rows only)."""
    path = registry(folder / "sparse.xlsx", rows=1)
    return rewrite(path, {SHEET: _before_sheet_end(
        b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>')})


def far_cell_without_reference(folder: Path) -> Path:
    """The same far value in a cell with no `r` (placed by counting, as calamine does)."""
    path = registry(folder / "no-ref.xlsx", rows=1)
    return rewrite(path, {SHEET: _before_sheet_end(
        b'<row r="900000"><c t="n"><v>1</v></c></row>')})


def declared_huge(folder: Path) -> Path:
    path = registry(folder / "declared.xlsx")
    return rewrite(path, {SHEET: lambda xml: re.sub(
        rb"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>', xml, count=1)})


def whitespace_string(folder: Path) -> Path:
    """A 200 MB string of spaces in one cell (a few hundred KB packed)."""
    path = registry(folder / "whitespace.xlsx")
    shared = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t xml:space="preserve">'
    return rewrite(path, {}, big={"xl/sharedStrings.xml": (shared, 200, b"</t></si></sst>")})


def shared_strings_claim(folder: Path) -> Path:
    """A shared-strings table claiming four billion entries (calamine reserves them)."""
    path = registry(folder / "sst-claim.xlsx")
    return rewrite(path, {}, add={"xl/sharedStrings.xml": (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        b' count="4000000000" uniqueCount="4000000000"><si><t>x</t></si></sst>')})


def zip_bomb(folder: Path) -> Path:
    """A highly compressible part beside a real sheet: 300 MB of spaces as its styles."""
    path = registry(folder / "bomb.xlsx")
    with zipfile.ZipFile(path) as src:
        head = src.read("xl/styles.xml").split(b"</styleSheet>")[0]
    return rewrite(path, {}, drop={"xl/styles.xml"},
                   big={"xl/styles.xml": (head, 300, b"</styleSheet>")})


def not_an_xlsx(folder: Path) -> Path:
    path = folder / "photos.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("readme.txt", "รูปถ่ายกล้อง")
        out.writestr("photos/1.jpg", b"\xff\xd8\xff" + bytes(200))
    return path


def xlsx_named_csv(folder: Path) -> Path:
    path = sparse_far_cell(folder)
    return path.rename(folder / "registry.csv")


def csv_named_xlsx(folder: Path) -> Path:
    """Text, called .xlsx, whose header line has a value in column 100,008."""
    path = folder / "wide.xlsx"
    path.write_text(",".join(REAL_HEADER) + "," * 100_000 + "หมายเหตุ\n"
                    "1,ใช้งานได้,แยก,ถนน,ทางแยก,14.97,102.09,สภ.\n", encoding="utf-8")
    return path


def polyglot(folder: Path) -> Path:
    """A valid registry with a web page glued after its zip (read as HTML elsewhere)."""
    path = registry(folder / "polyglot.xlsx")
    with open(path, "ab") as fh:
        fh.write(b"<html><script>alert(1)</script></html>" * 20)
    return path


def truncated(folder: Path) -> Path:
    path = registry(folder / "cut.xlsx", rows=200)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def ods_repeated(folder: Path) -> Path:
    """An ods whose one value row is repeated a million times (calamine expands it)."""
    path = folder / "repeated.ods"
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="กล้อง"><table:table-row>'
        + "".join(f'<table:table-cell office:value-type="string"><text:p>{h.strip()}</text:p>'
                  '</table:table-cell>' for h in REAL_HEADER)
        + '</table:table-row><table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell table:number-columns-repeated="90" office:value-type="float"'
        ' office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
        '</table:table></office:spreadsheet></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        out.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


CORPUS = {
    "sparse far cell": (sparse_far_cell, "XFD1048576"),
    "far cell without a reference": (far_cell_without_reference, "A900000"),
    "declared huge dimension": (declared_huge, "XFD1048576"),
    "whitespace shared string": (whitespace_string, "sharedStrings.xml"),
    "shared strings claim": (shared_strings_claim, "4000000000"),
    "zip bomb": (zip_bomb, "styles.xml"),
    "zip that is not an xlsx": (not_an_xlsx, "photos.xlsx"),
    "xlsx disguised as csv": (xlsx_named_csv, "XFD1048576"),
    "csv disguised as xlsx": (csv_named_xlsx, "100008"),
    "polyglot": (polyglot, "polyglot.xlsx"),
    "truncated zip": (truncated, "cut.xlsx"),
    "ods repeated rows": (ods_repeated, "1000001"),
}


def build(name: str, folder: Path) -> tuple[Path, str]:
    builder, fragment = CORPUS[name]
    folder.mkdir(parents=True, exist_ok=True)
    return builder(folder), fragment


def copy_corpus(folder: Path) -> dict[str, tuple[Path, str]]:
    return {name: build(name, folder / re.sub(r"\W+", "-", name)) for name in CORPUS}



def understated(folder: Path) -> Path:
    """A zip whose directory says its styles part unpacks to 900 bytes when it unpacks to
    50 MB (a bomb that lies about itself, which the directory checks alone would pass;
    calamine's zip reader also stops at the declared size)."""
    path = registry(folder / "lying.xlsx")
    with zipfile.ZipFile(path) as src:
        head = src.read("xl/styles.xml").split(b"</styleSheet>")[0]
    rewrite(path, {}, drop={"xl/styles.xml"}, big={"xl/styles.xml": (head, 50, b"</styleSheet>")})
    data = bytearray(path.read_bytes())
    name = b"xl/styles.xml"
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/styles.xml")
    # Local header: uncompressed size at +22 (its zip64 extra field holds the real one).
    local = info.header_offset
    extra_at = local + 30 + len(name)
    data[local + 22:local + 26] = (900).to_bytes(4, "little")
    _zip64_sizes(data, extra_at, 900)
    central = data.find(b"PK\x01\x02")  # central directory entries: size at +24
    while central >= 0:
        name_len = int.from_bytes(data[central + 28:central + 30], "little")
        if bytes(data[central + 46:central + 46 + name_len]) == name:
            data[central + 24:central + 28] = (900).to_bytes(4, "little")
            _zip64_sizes(data, central + 46 + name_len, 900)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    return path


def _zip64_sizes(data: bytearray, at: int, size: int) -> None:
    """Set the uncompressed size in a zip64 extra field starting at `at`, if there is one."""
    if data[at:at + 2] == b"\x01\x00":
        data[at + 4:at + 12] = size.to_bytes(8, "little")


CORPUS["understated zip directory"] = (understated, "lying.xlsx")
