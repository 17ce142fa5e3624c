"""Big registry files are read in a child process (survey_node.inventory.worker) while the
importer writes: same result as reading in-process, errors as one line, a deadline."""

from __future__ import annotations

import pytest

from survey_node.db import cameras as camera_db
from survey_node.errors import BadInput, SurveyNodeError
from survey_node.inventory import worker
from survey_node.inventory.importer import ImportOptions, run_import
from tests.registry_files import REAL_HEADER, TITLE_ROWS, korat_rows, write_xlsx


@pytest.fixture
def in_child(monkeypatch):
    monkeypatch.setattr(worker, "CHILD_MIN_BYTES", 0)
    started = []
    real_popen = worker.subprocess.Popen

    def popen(*args, **kwargs):
        started.append(args[0])
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(worker.subprocess, "Popen", popen)
    return started


def do_import(db, path, **options):
    options.setdefault("default_province", "30")
    return run_import(db, path, ImportOptions(**options))


def test_child_reads_exactly_what_the_parent_would(db, tmp_path, in_child, data_dir):
    from survey_node import db as database

    rows = [*korat_rows(30), [99, *korat_rows(1)[0][1:]], ["รวม", "", "", "", "", "", "", ""]]
    path = write_xlsx(tmp_path / "k.xlsx", REAL_HEADER, rows, title_rows=TITLE_ROWS)
    progress = []
    in_child_report = run_import(db, path, ImportOptions(default_province="30"),
                                 progress=lambda f, m: progress.append(f))
    assert in_child, "the file was not read in a child process"
    other = database.connect(tmp_path / "other.db")
    worker.CHILD_MIN_BYTES = 1 << 40  # the same file read in-process
    in_process_report = do_import(other, path)
    for key in ("rows_read", "cameras", "rejected", "warnings", "mapping", "header_row"):
        assert in_child_report[key] == in_process_report[key], key
    assert in_child_report["cameras"]["new"] == 30
    assert [w["reason"] for w in in_child_report["warnings"]] == [
        f"exact duplicate of row {len(TITLE_ROWS) + 2}; folded", "total row; skipped"]
    mine = {c["camera_id"] for c in camera_db.rows_cameras(db, limit=100)}
    assert mine == {c["camera_id"] for c in camera_db.rows_cameras(other, limit=100)}
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_a_file_the_child_cannot_read_is_one_line_and_changes_nothing(db, tmp_path, in_child):
    path = write_xlsx(tmp_path / "none.xlsx", ["ก", "ข"], [["1", "2"]])
    with pytest.raises(BadInput, match="has no header row with known column names"):
        do_import(db, path)
    assert in_child
    assert camera_db.rows_cameras(db, limit=10) == []


def test_conflicting_rows_found_by_the_child_are_undone(db, tmp_path, in_child):
    header = ["รหัสกล้อง", *REAL_HEADER]
    rows = [[f"K{i:02d}", *r] for i, r in enumerate(korat_rows(3))]
    clash = [rows[0][0], rows[0][1], "ชำรุด", *rows[0][3:]]
    report = do_import(db, write_xlsx(tmp_path / "d.xlsx", header, [*rows, clash]))
    assert report["cameras"]["new"] == 2
    assert {r["row"] for r in report["rejected"]} == {2, 5}
    assert {c["camera_id"] for c in camera_db.rows_cameras(db, limit=10)} == {"K01", "K02"}


def test_a_child_past_its_deadline_is_stopped(db, tmp_path, in_child, monkeypatch):
    monkeypatch.setattr(worker, "READ_DEADLINE_S", 0.05)  # less than a Python start-up
    path = write_xlsx(tmp_path / "k.xlsx", REAL_HEADER, korat_rows(5))
    with pytest.raises(BadInput, match="took longer than 1 minutes; it was stopped"):
        do_import(db, path)
    assert camera_db.rows_cameras(db, limit=10) == []


def test_a_child_that_dies_fails_the_import_cleanly(db, tmp_path, in_child, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    # A module of the same name found first makes the child exit at once.
    (tmp_path / "sitecustomize.py").write_text("import os\nos._exit(3)\n")
    path = write_xlsx(tmp_path / "k.xlsx", REAL_HEADER, korat_rows(5))
    with pytest.raises(SurveyNodeError, match="stopped unexpectedly; nothing was imported"):
        do_import(db, path)
    assert camera_db.rows_cameras(db, limit=10) == []
