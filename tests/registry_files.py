"""Registry files as people really send them, generated for tests (and the benchmark)."""

from __future__ import annotations

import csv
from pathlib import Path

# The real header of a Nakhon Ratchasima police export (DESIGN.md section 8): stray spaces,
# no camera id column.
REAL_HEADER = ["รายการข้อมูล", " สถานะกล้อง", "ชื่อจุดติดตั้ง", " ชื่อสถานที่", " ประเภทสถานที่",
               " ละติจูด", " ลองจิจูด", " หน่วยงาน"]
TITLE_ROWS = [["ข้อมูลกล้องโทรทัศน์วงจรปิด (CCTV) จังหวัดนครราชสีมา"],
              ["ณ วันที่ ๑ ตุลาคม ๒๕๖๘"], []]
# Real places in Mueang Nakhon Ratchasima (about 14.97 N, 102.10 E).
KORAT = [
    ("ใช้งานได้", "แยกประตูชุมพล", "ถนนราชดำเนิน", "ทางแยก", 14.9736, 102.0979, "สภ.เมืองนครราชสีมา"),
    ("ใช้งานได้", "หน้าอนุสาวรีย์ท้าวสุรนารี", "ลานย่าโม", "สถานที่สำคัญ", 14.9749, 102.0980, "เทศบาลนครนครราชสีมา"),
    ("ชำรุด", "แยกหัวรถไฟ", "ถนนมุขมนตรี", "ทางแยก", 14.9795, 102.0868, "สภ.เมืองนครราชสีมา"),
    ("ใช้งานได้", "หน้าสถานีขนส่ง ๒", "ถนนมิตรภาพ", "สถานีขนส่ง", 14.9920, 102.0845, "สภ.เมืองนครราชสีมา"),
    ("ใช้งานได้", "ตลาดแม่กิมเฮง", "ถนนสุรนารายณ์", "ตลาด", 14.9830, 102.1040, "เทศบาลนครนครราชสีมา"),
]


def korat_rows(count: int = 5, *, start: int = 1) -> list[list]:
    """Rows under REAL_HEADER; beyond the five real places, numbered variations."""
    rows = []
    for i in range(count):
        status, site, place, kind, lat, lon, agency = KORAT[i % len(KORAT)]
        if i >= len(KORAT):
            site = f"{site} จุดที่ {i}"
            lat, lon = round(lat + (i % 97) * 0.0003, 6), round(lon + (i % 89) * 0.0003, 6)
        rows.append([start + i, status, site, place, kind, lat, lon, agency])
    return rows


def write_xlsx(path: Path, header: list, rows: list[list], *, title_rows=(), sheet="กล้อง",
               extra_sheets: dict | None = None) -> Path:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, content in (extra_sheets or {}).items():
        ws = wb.create_sheet(name)
        for r in content:
            ws.append(r)
    ws = wb.create_sheet(sheet)
    for r in [*title_rows, header, *rows]:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, header: list, rows: list[list], *, encoding="utf-8", delimiter=",",
              title_rows=()) -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        for r in [*title_rows, header, *rows]:
            writer.writerow(r)
    return path


def write_xls(path: Path, header: list, rows: list[list], *, title_rows=(), sheet="กล้อง") -> Path:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet(sheet)
    for r_index, r in enumerate([*title_rows, header, *rows]):
        for c_index, value in enumerate(r):
            ws.write(r_index, c_index, value)
    book.save(str(path))
    return path


def write_ods(path: Path, header: list, rows: list[list], *, title_rows=(), sheet="กล้อง") -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name=sheet)
    for r in [*title_rows, header, *rows]:
        tr = TableRow()
        for value in r:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                cell = TableCell(valuetype="float", value=value)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(value)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path
