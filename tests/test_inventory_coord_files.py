"""Registry files whose positions are typed every way people type them (issue 15): each
camera must land within 5 m of where it really is."""

import math

import pytest

from survey_node.db import cameras as camera_db
from survey_node.inventory.importer import ImportOptions, run_import
from tests.registry_files import (MESSY_HEADER, MESSY_TITLE, messy_province_rows, write_csv,
                                  write_xlsx)


def metres(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def do_import(db, path, **options):
    options.setdefault("default_province", "11")
    return run_import(db, path, ImportOptions(**options), work_dir=path.parent)


def positions(db):
    return {c["camera_id"]: (c["registered_lat"], c["registered_lon"])
            for c in camera_db.rows_cameras(db, include_removed=True, limit=10_000)}


def far_off(found: dict, truth: dict) -> dict:
    """The cameras not within 5 m of their true position (None: no position at all)."""
    out = {}
    for camera_id, (lat, lon) in truth.items():
        got = found.get(camera_id)
        if got is None or got[0] is None:
            out[camera_id] = None
        elif metres(got[0], got[1], lat, lon) >= 5:
            out[camera_id] = round(metres(got[0], got[1], lat, lon))
    return out


def test_messy_province_xlsx_keeps_every_position(db, tmp_path):
    rows, truth = messy_province_rows(300)
    path = write_xlsx(tmp_path / "spk.xlsx", MESSY_HEADER, rows, title_rows=MESSY_TITLE)
    report = do_import(db, path)
    assert report["cameras"]["new"] == 300
    assert far_off(positions(db), truth) == {}
    # Only the swapped rows say something about their position.
    position_warnings = {w["row"] for w in report["warnings"] if w["field"] == "lat"}
    assert position_warnings == {3 + 1 + i + 1 for i in range(300) if i % 50 == 10}
    assert all("swapped" in w["reason"] for w in report["warnings"] if w["field"] == "lat")


@pytest.mark.parametrize("encoding", ["cp874", "utf-8-sig"])
def test_semicolon_csv_with_decimal_commas(db, tmp_path, encoding):
    """What a Thai or European Excel saves as CSV: ';' between cells, ',' before decimals."""
    rows, truth = messy_province_rows(120)
    for r in rows:
        for col in (4, 5):
            if isinstance(r[col], float):
                r[col] = f"{r[col]:.6f}".replace(".", ",")
    # cp874 has no degree sign: Excel writes "?" instead ("13? 34’ 31.08’’ N").
    path = write_csv(tmp_path / "spk.csv", MESSY_HEADER, rows, encoding=encoding, delimiter=";",
                     title_rows=MESSY_TITLE, errors="replace")
    raw = path.read_bytes()
    assert b"13,5" in raw and b";" in raw  # the file really is shaped so
    report = do_import(db, path)
    assert report["cameras"]["new"] == 120, report["rejected"][:3]
    assert report["mapping"]["lat"] == "ละติจูด"
    assert far_off(positions(db), truth) == {}


def test_one_column_of_pasted_positions_and_map_links(db, tmp_path):
    header = ["รหัสกล้อง", "ชื่อจุดติดตั้ง", "พิกัด", "ลิงก์ Google Map"]
    truth = {f"C{i}": (13.5990 + i * 0.001, 100.5968 + i * 0.001) for i in range(8)}
    t = {k: (f"{a:.6f}", f"{b:.6f}") for k, (a, b) in truth.items()}
    rows = [
        ["C0", "แยกศรีนครินทร์", f"{t['C0'][0]}, {t['C0'][1]}", ""],
        ["C1", "ตลาดปากน้ำ", f"({t['C1'][0]}, {t['C1'][1]})", ""],
        ["C2", "ท่าเรือ", f"{t['C2'][1]}, {t['C2'][0]}", ""],              # lon, lat
        ["C3", "หน้าโรงเรียน", f"{t['C3'][0]} {t['C3'][1]}", ""],
        ["C4", "แยกเทพารักษ์", "", f"https://maps.google.com/?q={t['C4'][0]},{t['C4'][1]}"],
        ["C5", "สะพานภูมิพล", "", f"https://www.google.com/maps/@{t['C5'][0]},{t['C5'][1]},17z"],
        ["C6", "วัดอโศการาม", "", "https://www.google.com/maps/place/%E0%B8%A7%E0%B8%B1%E0%B8%94"
                                 f"/@13.61,100.61,15z/data=!4m6!3m5!1s0x30e2:0x1!8m2!3d{t['C6'][0]}"
                                 f"!4d{t['C6'][1]}!16s%2Fg%2F1"],
        ["C7", "ป้อมพระจุล", f"{t['C7'][0].replace('.', ',')}; {t['C7'][1].replace('.', ',')}", ""],
        ["C8", "บางปู", "", "https://maps.app.goo.gl/Qm3Lk8sPq2"],
    ]
    path = write_xlsx(tmp_path / "links.xlsx", header, rows)
    report = do_import(db, path)
    assert report["mapping"]["latlon"] == "พิกัด"
    assert report["mapping"]["map_link"] == "ลิงก์ Google Map"
    found = positions(db)
    assert far_off(found, truth) == {}
    assert found["C8"] == (None, None)
    (short,) = [w for w in report["warnings"] if w["row"] == 10]
    assert "maps.app.goo.gl/Qm3Lk8sPq2 cannot be opened offline" in short["reason"]
