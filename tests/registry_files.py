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
              title_rows=(), errors="strict") -> Path:
    """errors="replace" writes "?" for what the encoding lacks, as Excel does (° in cp874)."""
    with open(path, "w", encoding=encoding, newline="", errors=errors) as fh:
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


# -- a messy province file (issue 15): positions typed every way people type them ----------
# Samut Prakan's amphoe as clerks write them: "อ.เมือง" needs the province to be resolved.
SAMUT_PRAKAN_AMPHOE = ["อ.เมือง", "บางพลี", "อ.พระประแดง", "อำเภอบางบ่อ", "พระสมุทรเจดีย์",
                       "บางเสาธง", "เมือง"]
MESSY_HEADER = ["ลำดับ", "รหัสกล้อง", "ชื่อจุดติดตั้ง", "อำเภอ", "ละติจูด", "ลองจิจูด", "หน่วยงาน"]
MESSY_TITLE = [["ทะเบียนกล้อง CCTV จังหวัดสมุทรปราการ"], ["ข้อมูล ณ วันที่ ๓๐ กันยายน ๒๕๖๘"], []]


def dms(value: float, style: str) -> str:
    """`value` degrees written the way `style` names (what Word, phones and clerks produce)."""
    d = int(value)
    m_float = (value - d) * 60
    m = int(m_float)
    s = (m_float - m) * 60
    if round(s, 2) >= 60:  # 59.996" would print as 60.00"
        m, s = m + 1, 0.0
    hemi = "N" if value < 30 else "E"
    return {
        "curly": f"{d}° {m}’ {s:.2f}’’ {hemi}",
        "prime": f"{d}°{m}′{s:.2f}″{hemi}",
        "closing": f"{d}°{m}'{s:.2f}”",
        "ordinal": f"{d}º{m}'{s:.2f}\"",
        "thai": f"{d} องศา {m} ลิปดา {s:.2f} ฟิลิปดา",
        "dash": f"{d}-{m}-{s:.2f}",
        "minutes": f"{d}°{m_float:.4f}'{hemi}",
        "comma": f"{value:.6f}".replace(".", ","),
    }[style]


DMS_STYLES = ("curly", "prime", "closing", "ordinal", "thai", "dash", "minutes", "comma")


def messy_province_rows(count: int = 300, *, start_lat=13.5990, start_lon=100.5968):
    """(rows under MESSY_HEADER, {camera id: true (lat, lon)}). Most positions are numbers;
    every 7th is text in one of DMS_STYLES, every 50th has latitude and longitude swapped."""
    rows, truth = [], {}
    for i in range(count):
        lat = round(start_lat + (i % 37) * 0.0021 - 0.03, 6)
        lon = round(start_lon + (i % 41) * 0.0027 - 0.05, 6)
        camera_id = f"SPK-{i + 1:04d}"
        truth[camera_id] = (lat, lon)
        cell_lat, cell_lon = lat, lon
        if i % 7 == 3:
            style = DMS_STYLES[(i // 7) % len(DMS_STYLES)]
            cell_lat, cell_lon = dms(lat, style), dms(lon, style)
        if i % 50 == 10:
            cell_lat, cell_lon = cell_lon, cell_lat
        rows.append([i + 1, camera_id, f"จุดติดตั้งที่ {i + 1}",
                     SAMUT_PRAKAN_AMPHOE[i % len(SAMUT_PRAKAN_AMPHOE)], cell_lat, cell_lon,
                     "เทศบาลนครสมุทรปราการ" if i % 2 else "สภ.เมืองสมุทรปราการ"])
    return rows, truth
