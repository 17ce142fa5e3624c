"""Importing registry files in every variant people send, through the service."""

import json

import pytest

from survey_node.db import cameras as camera_db
from survey_node.db import sync as sync_db
from survey_node.db import imports as import_db
from survey_node.inventory.importer import ImportOptions, analyse, run_import
from tests.registry_files import (REAL_HEADER, TITLE_ROWS, korat_rows, write_csv, write_ods,
                                  write_xls, write_xlsx)


def do_import(db, path, **options):
    options.setdefault("default_province", "30")
    return run_import(db, path, ImportOptions(**options), work_dir=path.parent)


def cameras(db):
    return {c["camera_id"]: c for c in camera_db.rows_cameras(db, include_removed=True, limit=10_000)}


@pytest.mark.parametrize("writer, suffix", [(write_xlsx, "xlsx"), (write_xls, "xls"),
                                            (write_ods, "ods")])
def test_real_header_below_title_rows_in_every_spreadsheet_format(db, tmp_path, writer, suffix):
    path = writer(tmp_path / f"korat.{suffix}", REAL_HEADER, korat_rows(), title_rows=TITLE_ROWS)
    report = do_import(db, path)
    assert report["header_row"] == 4
    assert report["cameras"] == {"new": 5, "changed": 0, "unchanged": 0, "removed": 0}
    assert report["rejected"] == [] and report["warnings"] == []
    assert report["mapping"]["site_name"] == "ชื่อจุดติดตั้ง"
    assert report["mapping"]["lat"] == "ละติจูด"  # trimmed
    found = cameras(db)
    chumphon = next(c for c in found.values() if c["site_name"] == "แยกประตูชุมพล")
    assert chumphon["camera_id"].startswith("R-")  # the file has no id column
    assert (chumphon["registered_lat"], chumphon["registered_lon"]) == (14.9736, 102.0979)
    assert chumphon["registry_status"] == "ใช้งานได้" and chumphon["province_code"] == "30"
    assert chumphon["agency"] == "สภ.เมืองนครราชสีมา"


@pytest.mark.parametrize("encoding, delimiter", [("utf-8", ","), ("utf-8-sig", ","),
                                                 ("cp874", ","), ("utf-8", ";"), ("cp874", "\t"),
                                                 ("utf-16", "\t")])
def test_csv_encodings_and_delimiters(db, tmp_path, encoding, delimiter):
    path = write_csv(tmp_path / "korat.csv", REAL_HEADER, korat_rows(), encoding=encoding,
                     delimiter=delimiter, title_rows=[["ข้อมูลกล้อง CCTV"]])
    report = do_import(db, path)
    assert report["cameras"]["new"] == 5, report
    assert report["header_row"] == 2
    assert "แยกประตูชุมพล" in {c["site_name"] for c in cameras(db).values()}


def test_csv_row_numbers_are_line_numbers(db, tmp_path):
    rows = korat_rows(3)
    rows[1][5] = "ไม่ทราบ"
    path = write_csv(tmp_path / "r.csv", REAL_HEADER, rows, title_rows=[["title"], []])
    report = do_import(db, path)
    assert [(w["row"], w["field"]) for w in report["warnings"]] == [(5, "lat")]


def test_same_export_twice_changes_nothing_even_reordered(db, tmp_path):
    rows = korat_rows(40)
    first = do_import(db, write_xlsx(tmp_path / "a.xlsx", REAL_HEADER, rows))
    ids = set(cameras(db))
    renumbered = [[i + 1, *r[1:]] for i, r in enumerate(reversed(rows))]
    again = do_import(db, write_xlsx(tmp_path / "b.xlsx", REAL_HEADER, renumbered))
    assert first["cameras"]["new"] == 40
    assert again["cameras"] == {"new": 0, "changed": 0, "unchanged": 40, "removed": 0}
    assert set(cameras(db)) == ids


def test_reimport_reports_new_changed_unchanged_removed(db, tmp_path):
    rows = korat_rows(5)
    do_import(db, write_xlsx(tmp_path / "v1.xlsx", REAL_HEADER, rows))
    before = cameras(db)
    newer = [list(r) for r in rows[:4]]
    newer[0][1] = "ชำรุด"                      # status changed: same camera, changed
    newer[1][7] = "อบจ.นครราชสีมา"              # agency changed: identity changes
    newer.append([6, "ใช้งานได้", "แยกจอหอ", "ถนนมิตรภาพ", "ทางแยก", 15.0300, 102.1200, "สภ.จอหอ"])
    # Without the removal asked for, the two cameras the file lacks stay, and are counted.
    kept = do_import(db, write_xlsx(tmp_path / "v2.xlsx", REAL_HEADER, newer), dry_run=True)
    assert kept["cameras"]["removed"] == 0 and kept["missing"]["count"] == 2
    report = do_import(db, write_xlsx(tmp_path / "v2.xlsx", REAL_HEADER, newer),
                       remove_missing=True)
    assert report["cameras"] == {"new": 2, "changed": 1, "unchanged": 2, "removed": 2}
    assert report["changes"][0]["fields"] == ["registry_status"]
    after = cameras(db)
    assert set(before) <= set(after)  # nothing deleted
    gone = [c for c in after.values() if c["removed"]]
    assert {c["site_name"] for c in gone} == {"หน้าอนุสาวรีย์ท้าวสุรนารี", "ตลาดแม่กิมเฮง"}
    # Back in a later export: changed, no longer removed.
    report = do_import(db, write_xlsx(tmp_path / "v3.xlsx", REAL_HEADER, [*newer, rows[4]]))
    assert report["cameras"]["changed"] == 1
    assert report["changes"][0]["fields"] == ["back_in_registry"]


def test_camera_ids_from_the_file_and_thai_digits(db, tmp_path):
    header = ["รหัสกล้อง", "ชื่อจุดติดตั้ง", "ละติจูด", "ลองจิจูด", "อำเภอ", "ตำบล"]
    rows = [["NMA-๐๐๑", "แยกประตูชุมพล", "๑๔.๙๗๓๖", "๑๐๒.๐๙๗๙", "อ.เมือง", "ต.ในเมือง"],
            ["NMA-002", "หน้าสถานีขนส่ง", "14.9920", "102.0845", "ปากช่อง", "หมูสี"]]
    report = do_import(db, write_xlsx(tmp_path / "ids.xlsx", header, rows))
    assert report["cameras"]["new"] == 2 and report["warnings"] == []
    found = cameras(db)
    assert found["NMA-001"]["registered_lat"] == 14.9736
    assert (found["NMA-001"]["amphoe_code"], found["NMA-001"]["tambon_code"]) == ("3001", "300101")
    assert found["NMA-002"]["tambon_code"] == "302105"


def test_coordinates_in_every_notation(db, tmp_path):
    header = ["รหัสกล้อง", "ชื่อจุดติดตั้ง", "ละติจูด", "ลองจิจูด"]
    rows = [["A", "dms", "14°58'25\"N", "102°05'52\"E"],
            ["B", "thai words", "๑๔ องศา ๕๘ ลิปดา ๒๕ ฟิลิปดา", "๑๐๒ องศา ๕ ลิปดา ๕๒ ฟิลิปดา"],
            ["C", "curly", "14°58’25”", "102°05’52”"],
            ["D", "swapped", "102.0979", "14.9736"],
            ["E", "abroad", "48.85", "2.35"],
            ["F", "missing", "", ""]]
    report = do_import(db, write_xlsx(tmp_path / "c.xlsx", header, rows))
    found = cameras(db)
    for cid in "ABC":
        assert found[cid]["registered_lat"] == pytest.approx(14.9736, abs=1e-3), cid
        assert found[cid]["coord_system"] == "EPSG:4326 DMS"
    assert found["D"]["registered_lon"] == 102.0979
    assert found["E"]["registered_lat"] is None and found["E"]["coord_text"] == "48.85, 2.35"
    assert found["F"]["registered_lat"] is None
    assert report["cameras"]["new"] == 6
    assert [(w["row"], w["field"]) for w in report["warnings"]] == [(5, "lat"), (6, "lat"),
                                                                   (7, "position")]


def test_utm_with_zone_column_and_indian_1975(db, tmp_path):
    header = ["รหัสกล้อง", "ชื่อจุดติดตั้ง", "UTM E", "UTM N", "Zone"]
    rows = [["U1", "korat", "196000", "1657000", "48P"], ["U2", "bangkok", "670000", "1521000", "47"]]
    report = do_import(db, write_xlsx(tmp_path / "u.xlsx", header, rows))
    found = cameras(db)
    assert found["U1"]["coord_system"] == "EPSG:32648" and 14.9 < found["U1"]["registered_lat"] < 15
    assert found["U2"]["coord_system"] == "EPSG:32647"
    assert report["warnings"] == []
    do_import(db, write_xlsx(tmp_path / "u2.xlsx", header, rows), crs=24047)
    assert cameras(db)["U2"]["coord_system"] == "EPSG:24047"


def test_blank_total_and_repeated_header_rows_are_skipped(db, tmp_path):
    rows = korat_rows(4)
    mixed = [rows[0], [], REAL_HEADER, rows[1], ["", "", "", "", "", "", "", ""], rows[2],
             ["รวม", "", "", "", "", "", "", "๓ จุด"], rows[3], ["รวมทั้งสิ้น 4 กล้อง"]]
    report = do_import(db, write_xlsx(tmp_path / "m.xlsx", REAL_HEADER, mixed))
    assert report["cameras"]["new"] == 4
    assert [(w["row"], w["reason"]) for w in report["warnings"]] == [
        (4, "repeated header row; skipped"), (8, "total row; skipped"), (10, "total row; skipped")]


def test_duplicates_folded_or_rejected_with_both_rows(db, tmp_path):
    rows = korat_rows(3)
    same = [99, *rows[0][1:]]                # same content (sequence number differs)
    clash = [100, "ชำรุด", *rows[1][2:]]    # same identity, different status
    report = do_import(db, write_xlsx(tmp_path / "d.xlsx", REAL_HEADER, [*rows, same, clash]))
    assert report["cameras"]["new"] == 2
    assert [(w["row"], w["reason"]) for w in report["warnings"]] == [
        (5, "exact duplicate of row 2; folded")]
    assert [r["row"] for r in report["rejected"]] == [3, 6]
    assert "row 6" in report["rejected"][0]["reason"] and "row 3" in report["rejected"][1]["reason"]


def test_conflicting_rows_in_a_reimport_leave_their_camera_as_it_was(db, tmp_path):
    header = ["รหัสกล้อง", *REAL_HEADER]
    rows = [[f"K{i:02d}", *r] for i, r in enumerate(korat_rows(4))]
    do_import(db, write_xlsx(tmp_path / "v1.xlsx", header, rows))
    before = cameras(db)
    newer = [list(r) for r in rows]
    newer[0][3] = "ย้ายไปหน้าศาลากลาง"           # K00 changed on its first row...
    clash = [*newer[0][:2], "ชำรุด", *newer[0][3:]]  # ...and contradicted on a later one
    newer[1][2] = "ชำรุด"                       # K01 changed plainly
    fresh = ["K09", 9, "ใช้งานได้", "จุดใหม่", "ถนนใหม่", "ทางแยก", 15.0, 102.0, "สภ."]
    fresh_clash = [*fresh[:2], "ชำรุด", *fresh[3:]]
    report = do_import(db, write_xlsx(tmp_path / "v2.xlsx", header,
                                      [*newer, clash, fresh, fresh_clash]))
    assert report["cameras"] == {"new": 0, "changed": 1, "unchanged": 2, "removed": 0}
    assert [c["camera_id"] for c in report["changes"]] == ["K01"]
    assert sorted(r["row"] for r in report["rejected"]) == [2, 6, 7, 8]
    after = cameras(db)
    assert after["K00"] == before["K00"]  # neither changed nor marked removed
    assert "K09" not in after
    assert after["K01"]["registry_status"] == "ชำรุด"


def test_rows_without_id_or_name_are_rejected(db, tmp_path):
    rows = korat_rows(2) + [[3, "ใช้งานได้", "", "", "ทางแยก", 14.97, 102.1, "สภ."]]
    report = do_import(db, write_xlsx(tmp_path / "n.xlsx", REAL_HEADER, rows))
    assert report["cameras"]["new"] == 2
    assert report["rejected"][0]["row"] == 4


def test_mapping_override_and_unknown_columns_kept_raw(db, tmp_path):
    header = ["จุด", "พิกัด Y", "พิกัด X", "หมายเหตุ"]
    rows = [["แยกประตูชุมพล", "14.9736", "102.0979", "ติดตั้ง 2566"]]
    path = write_xlsx(tmp_path / "o.xlsx", header, rows)
    layout = analyse(path, ImportOptions())
    assert layout.mapping.get("site_name") is None
    report = do_import(db, path, columns={"site_name": "จุด"})
    assert report["mapping"] == {"site_name": "จุด", "lat": "พิกัด Y", "lon": "พิกัด X"}
    cam = camera_db.get_camera(db, next(iter(cameras(db))), with_secrets=True)
    # The whole original row is kept, unknown column included, under the file's headers.
    assert camera_db.raw_record(db, cam["camera_id"]) == dict(zip(header, rows[0]))
    # A change in an unmapped column is a change too.
    rows[0][3] = "ย้าย 2568"
    report = do_import(db, write_xlsx(tmp_path / "o2.xlsx", header, rows), columns={"site_name": "A"})
    assert report["changes"][0]["fields"] == ["other_columns"]
    assert camera_db.raw_record(db, cam["camera_id"])["หมายเหตุ"] == "ย้าย 2568"


def test_original_row_stays_as_the_file_had_it_when_the_registry_renames_the_camera(db, tmp_path):
    header = ["จุด", "พิกัด Y", "พิกัด X", "หน่วยงาน", "หมายเหตุ"]
    rows = [["แยกประตูชุมพล", "14.9736", "102.0979", "สภ.เมือง", "ติดตั้ง 2566"]]
    do_import(db, write_xlsx(tmp_path / "o.xlsx", header, rows), columns={"site_name": "จุด"})
    camera_id = next(iter(cameras(db)))
    with db.conn:
        sync_db.upsert_pulled_cameras(db, [{"camera_id": camera_id, "site_name": "แยกชุมพล (ใหม่)",
                                            "agency": "เทศบาลนคร"}])
    cam = camera_db.get_camera(db, camera_id)
    assert (cam["site_name"], cam["agency"]) == ("แยกชุมพล (ใหม่)", "เทศบาลนคร")
    assert camera_db.raw_record(db, camera_id) == dict(zip(header, rows[0]))


def test_second_sheet_is_found_and_sheet_can_be_named(db, tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", REAL_HEADER, korat_rows(2),
                      extra_sheets={"สรุป": [["สรุปจำนวนกล้อง"], ["รวม", 2]]})
    assert do_import(db, path)["sheet"] == "กล้อง"
    assert do_import(db, path, sheet=" กล้อง ", dry_run=True)["cameras"]["unchanged"] == 2


def test_dry_run_changes_nothing_and_counts_the_same(db, tmp_path):
    path = write_xlsx(tmp_path / "k.xlsx", REAL_HEADER, korat_rows(5))
    dry = do_import(db, path, dry_run=True)
    assert dry["cameras"]["new"] == 5 and cameras(db) == {}
    assert import_db.rows_imports(db) == []
    real = do_import(db, path)
    assert real["cameras"] == dry["cameras"]
    history = import_db.rows_imports(db)
    assert history[0]["new_count"] == 5 and history[0]["sha256"] == real["sha256"]


def test_data_starting_lower_in_the_sheet_keeps_excel_row_numbers(db, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for c, h in enumerate(REAL_HEADER, 1):
        ws.cell(row=5, column=c, value=h)
    for r, values in enumerate(korat_rows(2), 6):
        for c, v in enumerate(values, 1):
            ws.cell(row=r, column=c, value=v)
    ws.cell(row=7, column=6, value="abc")
    path = tmp_path / "low.xlsx"
    wb.save(path)
    report = do_import(db, path)
    assert report["header_row"] == 5
    assert [w["row"] for w in report["warnings"]] == [7]


def test_demo_seeded_cameras_are_marked_removed_not_deleted(db, tmp_path):
    from survey_node import demo

    demo.seed_demo(db, count=10, streams_port=1)
    report = do_import(db, write_xlsx(tmp_path / "k.xlsx", REAL_HEADER, korat_rows(2)),
                       remove_missing=True)
    assert report["cameras"]["removed"] == 10
    assert len(cameras(db)) == 12


@pytest.mark.parametrize("writer", [write_xlsx, write_csv])
def test_progress_moves_forward_to_the_end(db, tmp_path, writer):
    path = writer(tmp_path / f"p.{'xlsx' if writer is write_xlsx else 'csv'}", REAL_HEADER,
                  korat_rows(6000))
    seen = []
    run_import(db, path, ImportOptions(), progress=lambda f, m: seen.append(f), work_dir=tmp_path)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert len({round(f, 1) for f in seen}) >= 4  # the bar moves while rows are read


def test_staging_left_by_a_killed_import_is_cleaned_by_the_next(db, tmp_path):
    import os

    stale = tmp_path / "import-dead"
    stale.mkdir()
    (stale / "staging.db").write_bytes(b"x" * 100)
    os.utime(stale, (1, 1))
    fresh = tmp_path / "import-running"
    fresh.mkdir()
    do_import(db, write_xlsx(tmp_path / "k.xlsx", REAL_HEADER, korat_rows(2)))
    assert not stale.exists() and fresh.exists()  # a concurrent run's staging is left alone


def test_nearest_first_follows_positions_across_reimports(db, tmp_path):
    from survey_node.geo import distance_m

    header = ["รหัสกล้อง", *REAL_HEADER]
    rows = [[f"K{i:02d}", *r] for i, r in enumerate(korat_rows(40))]

    def check_nearest(points):
        placed = [c for c in cameras(db).values() if c["registered_lat"] is not None]
        for lat, lon in points:
            got = [c["camera_id"] for c in camera_db.rows_nearest(db, lat, lon, limit=10)]
            brute = sorted(placed, key=lambda c: distance_m(lat, lon, c["registered_lat"],
                                                            c["registered_lon"]))
            assert got == [c["camera_id"] for c in brute[:10]]

    do_import(db, write_xlsx(tmp_path / "v1.xlsx", header, rows))
    check_nearest([(14.975, 102.098), (15.0, 102.12)])
    newer = [list(r) for r in rows]
    newer[3][6:8] = [15.0512, 102.2034]        # moved far from the others
    newer[5][2] = "ชำรุด"                       # status only: stays where it was
    newer[7][6:8] = ["", ""]                    # position dropped from the registry
    report = do_import(db, write_xlsx(tmp_path / "v2.xlsx", header, newer))
    assert report["cameras"] == {"new": 0, "changed": 3, "unchanged": 37, "removed": 0}
    assert [c["camera_id"] for c in camera_db.rows_nearest(db, 15.0512, 102.2034, limit=1)] \
        == ["K03"]
    check_nearest([(14.975, 102.098), (15.05, 102.2), (14.99, 102.11)])
    again = do_import(db, write_xlsx(tmp_path / "v3.xlsx", header, newer))
    assert again["cameras"]["unchanged"] == 40
    check_nearest([(15.05, 102.2), (14.98, 102.1)])


def test_a_district_file_keeps_the_other_districts_and_says_what_removal_would_hide(
        db, config, tmp_path):
    from survey_node import accounts

    for name in ("surveyor", "surveyor2"):
        accounts.add_user(db, config.security, name=name, role="surveyor", pin="482913")
    """Importing one district's file into a whole province marked every other camera removed
    and emptied the surveyors' worklists. Now they stay unless removal is asked for, and the
    report says how many the file lacks, how many are in the survey set or surveyed."""
    from survey_node import demo
    from survey_node import survey as survey_svc

    demo.seed_demo(db, count=60, streams_port=1)
    demo.prepare_selection(db)
    one = db.execute("SELECT camera_id FROM assignments ORDER BY camera_id LIMIT 1").fetchone()[0]
    owner = db.execute("SELECT user_name FROM assignments WHERE camera_id = ?", [one]).fetchone()[0]
    survey_svc.start_or_resume(db, config, camera_id=one,
                               user={"name": owner, "role": "surveyor"})
    report = do_import(db, write_xlsx(tmp_path / "korat.xlsx", REAL_HEADER, korat_rows(3)))
    assert report["cameras"]["removed"] == 0
    missing = report["missing"]
    assert missing["count"] == 60 and missing["outside_file_districts"] == 60
    assert missing["selected"] >= 1 and missing["surveyed"] == 1
    assert db.execute("SELECT count(*) FROM cameras WHERE removed = 1").fetchone()[0] == 0
    # A count confirmed earlier that no longer holds is refused, changing nothing.
    from survey_node.errors import BadInput

    with pytest.raises(BadInput, match="59"):
        do_import(db, write_xlsx(tmp_path / "korat2.xlsx", REAL_HEADER, korat_rows(3)),
                  remove_missing=True, expected_removals=59)
    assert db.execute("SELECT count(*) FROM cameras WHERE removed = 1").fetchone()[0] == 0


def test_undo_puts_back_changed_removed_and_added_cameras(db, tmp_path):
    from survey_node.errors import Conflict
    from survey_node.inventory.importer import undo_import

    rows = korat_rows(4)
    do_import(db, write_xlsx(tmp_path / "v1.xlsx", REAL_HEADER, rows))
    before = {c["camera_id"]: {k: c[k] for k in ("site_name", "registry_status", "removed")}
              for c in cameras(db).values()}
    newer = [list(r) for r in rows[:3]]
    newer[0][1] = "ชำรุด"
    newer.append([9, "ใช้งานได้", "แยกจอหอ", "ถนนมิตรภาพ", "ทางแยก", 15.03, 102.12, "สภ.จอหอ"])
    report = do_import(db, write_xlsx(tmp_path / "v2.xlsx", REAL_HEADER, newer),
                       remove_missing=True)
    assert report["cameras"] == {"new": 1, "changed": 1, "unchanged": 2, "removed": 1}
    with pytest.raises(Conflict):
        undo_import(db, report["import_id"] - 1, actor="admin")  # not the latest
    counts = undo_import(db, report["import_id"], actor="admin")
    assert counts == {"restored": 1, "deleted": 1, "kept_removed": 0, "back": 1}
    after = {c["camera_id"]: {k: c[k] for k in ("site_name", "registry_status", "removed")}
             for c in cameras(db).values()}
    assert after == before
    with pytest.raises(Conflict):
        undo_import(db, report["import_id"], actor="admin")  # once only
