"""The province a registry file is about, when the node has none set (issue 15): inferred
from the title row and the amphoe cells when they agree, never guessed when they do not,
and said in one line of the report either way."""

import json

import pytest

from survey_node.db import cameras as camera_db
from survey_node.inventory import province as province_mod
from survey_node.inventory.importer import ImportOptions, run_import
from tests.registry_files import (MESSY_HEADER, MESSY_TITLE, REAL_HEADER, TITLE_ROWS,
                                  korat_rows, messy_province_rows, write_csv, write_xlsx)

MUEANG_SAMUT_PRAKAN = "1101"


def do_import(db, path, **options):
    return run_import(db, path, ImportOptions(**options), work_dir=path.parent)


def cameras(db):
    return {c["camera_id"]: c for c in camera_db.rows_cameras(db, include_removed=True, limit=10_000)}


def several_provinces_warnings(report):
    return [w for w in report["warnings"] if "several provinces" in w["reason"]]


def test_title_and_amphoe_agree_so_mueang_is_resolved(db, tmp_path):
    rows, _ = messy_province_rows(300)
    path = write_xlsx(tmp_path / "spk.xlsx", MESSY_HEADER, rows, title_rows=MESSY_TITLE)
    report = do_import(db, path)
    found = cameras(db)
    assert {c["province_code"] for c in found.values()} == {"11"}
    mueang = [c for c in found.values() if c["amphoe_name"] == "เมืองสมุทรปราการ"]
    # "อ.เมือง" and "เมือง" are two of the seven amphoe spellings in the file.
    assert len(mueang) == len([r for r in rows if r[3] in ("อ.เมือง", "เมือง")]) > 80
    assert {c["amphoe_code"] for c in mueang} == {MUEANG_SAMUT_PRAKAN}
    assert several_provinces_warnings(report) == []
    (note,) = report["notes"]
    assert note["reason"].startswith("Province สมุทรปราการ (11) inferred from title row 1"
                                     " and the place columns")


def test_amphoe_alone_is_enough(db, tmp_path):
    rows, _ = messy_province_rows(60)
    path = write_xlsx(tmp_path / "spk.xlsx", MESSY_HEADER, rows)
    report = do_import(db, path)
    (note,) = report["notes"]
    held = len([r for r in rows if r[3] in ("อ.เมือง", "เมือง")])
    assert note["reason"] == (
        "Province สมุทรปราการ (11) inferred from the place columns: every amphoe the file"
        f" names that lies in one province lies in it ({60 - held} rows); {held} rows without"
        " a province, such as อ.เมือง, were read as in it")
    assert {c["amphoe_code"] for c in cameras(db).values() if "เมือง" in c["amphoe_name"]} == {
        MUEANG_SAMUT_PRAKAN}


def test_an_inferred_province_gives_the_same_cameras_as_a_set_one(db, tmp_path):
    """Ids derived from the names and codes must not depend on where the province came from."""
    rows, _ = messy_province_rows(80)
    no_id = [[r[0], *r[2:]] for r in rows]
    header = [MESSY_HEADER[0], *MESSY_HEADER[2:]]
    path = write_xlsx(tmp_path / "spk.xlsx", header, no_id, title_rows=MESSY_TITLE)
    do_import(db, path)
    inferred = {k: (c["province_code"], c["amphoe_code"]) for k, c in cameras(db).items()}
    from survey_node import db as database

    other = database.connect(tmp_path / "other.db")
    do_import(other, path, default_province="11")
    given = {k: (c["province_code"], c["amphoe_code"]) for k, c in cameras(other).items()}
    assert inferred == given and len(inferred) == 80


def test_conflicting_amphoe_means_no_inference_and_the_report_says_why(db, tmp_path):
    rows, _ = messy_province_rows(40)
    rows[25][3] = "บางละมุง"  # Chon Buri: one camera of another province
    path = write_xlsx(tmp_path / "mixed.xlsx", MESSY_HEADER, rows)
    report = do_import(db, path)
    (note,) = report["notes"]
    assert note["reason"].startswith("No province inferred: the file names several provinces"
                                     " (สมุทรปราการ, ชลบุรี, first on rows 3, 27)")
    mueang_rows = {r[0] + 1 for r in rows if r[3] in ("อ.เมือง", "เมือง")}
    assert {w["row"] for w in several_provinces_warnings(report)} == mueang_rows
    assert all(c["province_code"] == "" for c in cameras(db).values()
               if c["amphoe_name"] in ("อ.เมือง", "เมือง"))


def test_a_title_naming_another_province_is_a_conflict(db, tmp_path):
    rows, _ = messy_province_rows(20)
    path = write_xlsx(tmp_path / "t.xlsx", MESSY_HEADER, rows,
                      title_rows=[["ทะเบียนกล้อง CCTV จังหวัดชลบุรี"]])
    report = do_import(db, path)
    (note,) = report["notes"]
    # Row 3 is "อ.เมือง", which names no province; row 4 is บางพลี.
    assert "(ชลบุรี, สมุทรปราการ, first on rows 1, 4)" in note["reason"]


def test_nothing_to_go_by_says_how_to_set_the_province(db, tmp_path):
    rows = [[i + 1, f"C{i}", f"จุด {i}", "อ.เมือง", 13.6 + i / 1000, 100.6, "สภ."] for i in range(4)]
    path = write_xlsx(tmp_path / "m.xlsx", MESSY_HEADER, rows)
    report = do_import(db, path)
    (note,) = report["notes"]
    assert note["reason"].startswith("No province set and none named in the file: 4 rows")
    assert "survey-node init --province" in note["reason"]


def test_title_only_file_without_place_columns(db, tmp_path):
    path = write_xlsx(tmp_path / "korat.xlsx", REAL_HEADER, korat_rows(5), title_rows=TITLE_ROWS)
    report = do_import(db, path)
    assert {c["province_code"] for c in cameras(db).values()} == {"30"}
    (note,) = report["notes"]
    assert note["reason"].startswith("Province นครราชสีมา (30) inferred from title row 1"
                                     " (ข้อมูลกล้องโทรทัศน์วงจรปิด (CCTV) จังหวัดนครราชสีมา)")


def test_a_set_province_is_used_and_nothing_is_inferred(db, tmp_path):
    rows, _ = messy_province_rows(20)
    path = write_xlsx(tmp_path / "spk.xlsx", MESSY_HEADER, rows,
                      title_rows=[["ทะเบียนกล้อง จังหวัดชลบุรี"]])
    report = do_import(db, path, default_province="11")
    assert report["notes"] == []
    assert {c["province_code"] for c in cameras(db).values()} == {"11"}


def test_many_held_rows_go_through_a_spooled_file(db, tmp_path, monkeypatch):
    monkeypatch.setattr(province_mod, "HOLD_CHUNK", 7)
    monkeypatch.setattr(province_mod, "SPOOL_BYTES", 256)  # on disk after the first chunk
    rows, truth = messy_province_rows(300)
    path = write_csv(tmp_path / "spk.csv", MESSY_HEADER, rows, title_rows=MESSY_TITLE)
    report = do_import(db, path)
    found = cameras(db)
    assert set(found) == set(truth) and report["rows_read"] == 300
    assert {c["province_code"] for c in found.values()} == {"11"}


def test_the_child_reader_sends_the_note_too(db, tmp_path, monkeypatch):
    from survey_node.inventory import worker

    monkeypatch.setattr(worker, "CHILD_MIN_BYTES", 0)
    rows, _ = messy_province_rows(50)
    path = write_xlsx(tmp_path / "spk.xlsx", MESSY_HEADER, rows, title_rows=MESSY_TITLE)
    report = do_import(db, path)
    assert report["notes"][0]["reason"].startswith("Province สมุทรปราการ (11) inferred")
    assert {c["province_code"] for c in cameras(db).values()} == {"11"}
    stored = db.execute("SELECT notes FROM imports").fetchone()[0]
    assert json.loads(stored)[0]["params"]["province"] == "สมุทรปราการ (11)"
