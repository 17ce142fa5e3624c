"""The committee's list: ids, rows matched by site name + position, reserve list."""

import json

import openpyxl
import pytest

from survey_node import db as database
from survey_node.db import selection as sel_db
from survey_node.errors import BadInput, Forbidden
from survey_node.selection import committee, replace
from tests.selection_fixtures import ADMIN, SUPERVISOR, SURVEYOR, seed_strata


@pytest.fixture
def cams(db):
    return seed_strata(db, {"1101": 10, "1102": 10})


def write_xlsx(path, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path


def test_a_list_of_ids_with_unknown_ones_reports_their_rows(db, cams, tmp_path):
    path = tmp_path / "committee.csv"
    path.write_text("รหัสกล้อง\nA1101-001\nA1101-999\n\nA1102-004\nXYZ\n", encoding="utf-8-sig")
    run = committee.import_list(db, path, user=ADMIN)
    assert {r["camera_id"] for r in sel_db.rows_selection(db, run["id"], status="selected")} \
        == {"A1101-001", "A1102-004"}
    assert [(u["row"], u["params"]) for u in run["unmatched"]] == [
        (3, {"id": "A1101-999"}), (6, {"id": "XYZ"})]
    assert committee.unmatched_line(run["unmatched"][0]) == "list row 3: unknown camera id A1101-999"
    entry = database.rows_audit(db, entity="selection_run")[0]
    detail = json.loads(entry["detail"])
    assert entry["action"] == "selection.list" and detail["unmatched_rows"] == [3, 6]
    assert detail["source_sha256"] == run["source_sha256"]


def test_xlsx_rows_match_by_site_name_within_30_m(db, cams, tmp_path):
    # A title row above the header, as committee sheets have; Thai digits in one position.
    path = write_xlsx(tmp_path / "list.xlsx", [
        ["รายชื่อกล้องที่คณะทำงานเลือก"],
        [],
        ["ลำดับ", "ชื่อจุดติดตั้ง", "ละติจูด", "ลองจิจูด"],
        [1, "site 1101 3", 13.503, 100.5001],         # ~11 m away: match
        [2, "site 1101 4", "๑๓.๕๐๔", "๑๐๐.๕"],          # Thai digits: match
        [3, "site 1101 5", 13.506, 100.5],            # ~110 m from its camera: no match
        [4, "ไม่มีชื่อนี้", 13.5, 100.5],
        [5, "", "", ""],                              # numbered but empty: reported
        [6, "site 1102 2", 100.5, 13.502],            # lat/lon swapped: still a match
        [7, "site 1102 3", "13°30'10.8\"N", "100°30'00\"E"],  # DMS, as surveyors write it
    ])
    run = committee.import_list(db, path, user=ADMIN)
    chosen = [r["camera_id"] for r in sel_db.rows_selection(db, run["id"], status="selected")]
    assert sorted(chosen) == ["A1101-003", "A1101-004", "A1102-002", "A1102-003"]
    assert [u["row"] for u in run["unmatched"]] == [6, 7, 8]
    assert "within 30 m" in committee.unmatched_line(run["unmatched"][0])


def test_an_id_column_wins_and_duplicates_are_reported(db, cams, tmp_path):
    path = write_xlsx(tmp_path / "list.xlsx", [
        ["camera_id", "site_name", "lat", "lon"],
        ["A1101-002", "whatever", "", ""],
        ["a1101-002", "", "", ""],
        ["", "site 1102 7", 13.507, 100.5],
    ])
    run = committee.import_list(db, path, user=ADMIN)
    assert run["counts"]["selected"] == 2
    assert run["unmatched"][0]["row"] == 3 and "already on row 2" in committee.unmatched_line(run["unmatched"][0])


def test_a_reserve_list_replaces_in_its_order_same_amphoe_first(db, cams, tmp_path, users):
    main = tmp_path / "main.csv"
    main.write_text("A1101-001\nA1102-001\n", encoding="utf-8")
    reserve = tmp_path / "reserve.csv"
    reserve.write_text("A1102-009\nA1101-008\nA1101-007\n", encoding="utf-8")
    run = committee.import_list(db, main, reserve=reserve, user=ADMIN)
    assert run["counts"] == {"selected": 2, "reserve": 3, "unmatched": 0, "strata": 2}
    rid = replace.request_replacement(db, camera_id="A1101-001", reason="removed", user=SUPERVISOR)
    req = replace.decide_replacement(db, rid, confirm=True, user=SUPERVISOR)
    assert req["replacement_camera_id"] == "A1101-008"  # first reserve in the same amphoe
    rid = replace.request_replacement(db, camera_id="A1101-008", reason="no_access", user=SUPERVISOR)
    assert replace.decide_replacement(db, rid, confirm=True, user=SUPERVISOR)[
        "replacement_camera_id"] == "A1101-007"
    rid = replace.request_replacement(db, camera_id="A1101-007", reason="no_access", user=SUPERVISOR)
    # no reserve left in 1101: the next on the reserve list, whatever its amphoe
    assert replace.decide_replacement(db, rid, confirm=True, user=SUPERVISOR)[
        "replacement_camera_id"] == "A1102-009"


def test_a_list_matching_nothing_is_refused_whole(db, cams, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("NOPE-1\nNOPE-2\n", encoding="utf-8")
    with pytest.raises(BadInput, match="no row matches"):
        committee.import_list(db, path, user=ADMIN)
    assert sel_db.get_active_run(db) is None


def test_unreadable_files_say_which(db, cams, tmp_path):
    bad = tmp_path / "list.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(BadInput, match="list.xlsx cannot be read"):
        committee.import_list(db, bad, user=ADMIN)
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(BadInput, match="use an .xlsx"):
        committee.import_list(db, pdf, user=ADMIN)


def test_cp874_csv_is_read(db, cams, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes("ชื่อจุดติดตั้ง,ละติจูด,ลองจิจูด\nsite 1101 1,13.501,100.5\n".encode("cp874"))
    run = committee.import_list(db, path, user=ADMIN)
    assert run["counts"]["selected"] == 1


def test_a_surveyor_cannot_load_a_list(db, cams, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("A1101-001\n", encoding="utf-8")
    with pytest.raises(Forbidden):
        committee.import_list(db, path, user=SURVEYOR)
