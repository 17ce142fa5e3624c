"""Hostile spreadsheets (issue 16, items 1 and 6): each is refused whole with one line
before python-calamine allocates from its claims, from the CLI (`import --dry-run`) and
from the admin page of a real server, which keeps answering with its peak memory bounded;
the upload's analysis runs in the reader child; a file that kills its reader is
quarantined, across a restart, and the CLI says so too."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from survey_node.db import cameras as camera_db
from survey_node.errors import BadInput
from survey_node.inventory import worker
from survey_node.inventory.importer import ImportOptions, run_import
from tests.conftest import PINS
from tests.hostile_sheets import CORPUS, build, registry, rewrite
from tests.live import free_port, wait_for_http
from tests.registry_files import REAL_HEADER, TITLE_ROWS, korat_rows

# The web process's peak resident memory (VmHWM) after every hostile upload: about 100 MB
# here (a node that has served the import pages and one good upload), whatever the files
# claim, because it never opens one. Before, the analysis ran in it: see the README.
WEB_PEAK_MB = 200
SHEET = "xl/worksheets/sheet1.xml"


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (INFO|WARNING) survey_node")


def one_line(text: str) -> str:
    """The one line said, besides the CLI's own log lines (a quarantine is logged)."""
    assert "Traceback" not in text and "rust" not in text, text
    lines = [line for line in text.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def in_child(monkeypatch):
    """Every file read in the reader child, as the admin page and the CLI read them (and
    so that a file that aborts its reader cannot abort the test run)."""
    monkeypatch.setattr(worker, "CHILD_MIN_BYTES", 0)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_reader_refuses_each_hostile_file_whole(name, db, tmp_path, in_child):
    path, fragment = build(name, tmp_path / "corpus")
    with pytest.raises(BadInput) as refused:
        run_import(db, path, ImportOptions(default_province="30"))
    assert fragment in one_line(refused.value.line())
    assert camera_db.count_cameras(db) == 0


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_cli_dry_run_refuses_each_hostile_file_in_one_line(name, data_dir, tmp_path):
    path, fragment = build(name, tmp_path / "corpus")
    # A process of its own: before the limits, the sparse file aborted the interpreter.
    done = subprocess.run([sys.executable, "-m", "survey_node", "import", str(path), "--dry-run",
                           "--data-dir", str(data_dir)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done
    assert fragment in one_line(done.stdout + done.stderr)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["sparse far cell", "memory hog"])
def test_a_committee_list_is_checked_before_calamine_too(name, tmp_path):
    """Read in the web process: the grid calamine would make is bounded as well."""
    if name == "memory hog":
        path, fragment = memory_hog(tmp_path), "CV190000"
    else:
        path, fragment = build(name, tmp_path / "corpus")[0], "XFD1048576"
    done = subprocess.run([sys.executable, "-c", (
        "import sys\nfrom survey_node.errors import BadInput\n"
        "from survey_node.selection.committee import read_rows\n"
        "try:\n    read_rows(sys.argv[1])\nexcept BadInput as exc:\n    print(exc.line())\n"),
        str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done
    assert fragment in one_line(done.stdout)


def test_a_real_registry_still_imports_with_the_checks(db, tmp_path, in_child):
    """Limits a real registry never hits: a 3,000-row police export with Excel's used
    range, shared strings and styled empty cells far right imports whole."""
    path = registry(tmp_path / "k.xlsx", rows=3000)
    rewrite(path, {SHEET: lambda xml: xml.replace(
        b"<sheetData>", b'<dimension ref="A1:Z3004"/><sheetData>', 1).replace(
        b"</row>", b'<c r="Z4" s="1"/></row>', 1)})
    report = run_import(db, path, ImportOptions(default_province="30"))
    assert report["cameras"]["new"] == 3000


# -- the web process -----------------------------------------------------------------------

@contextlib.contextmanager
def node_server(data_dir: Path, env: dict | None = None):
    """`survey-node serve` as a process of its own (its memory is what is measured)."""
    port = free_port()
    log = open(data_dir.parent / f"server-{port}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "survey_node", "serve", "--data-dir",
                             str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/healthz", process=proc)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def admin_session(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    session.post(f"{base}/login", data={"name": "admin", "pin": PINS["admin"],
                                        "csrf_token": token}, timeout=10)
    page = session.get(f"{base}/admin/import/", timeout=10).text  # the logged-in token
    session.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return session


def upload(session, base: str, path: Path, *, follow: bool = False):
    with open(path, "rb") as fh:
        return session.post(f"{base}/admin/import/", files={"file": (path.name, fh)},
                            data={"csrf_token": session.csrf}, timeout=120,
                            allow_redirects=follow)


def peak_mb(proc) -> float:
    status = Path(f"/proc/{proc.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def page_error(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert found, html[:2000]
    return found.group(1)


def test_every_hostile_upload_is_refused_in_thai_and_the_server_stays_small(
        data_dir, users, tmp_path):
    corpus = {name: build(name, tmp_path / "corpus" / str(i)) for i, name in enumerate(CORPUS)}
    with node_server(data_dir) as (base, proc):
        session = admin_session(base)
        good = registry(tmp_path / "good.xlsx")
        assert upload(session, base, good).status_code == 302  # the pages work, warmed up
        for name, (path, fragment) in corpus.items():
            response = upload(session, base, path)
            assert response.status_code == 400, name
            line = page_error(response.text, "upload-error")
            assert fragment in line, (name, line)
            assert re.search("[\u0e00-\u0e7f]", line.replace(path.name, "")), line  # Thai
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        assert peak_mb(proc) < WEB_PEAK_MB, peak_mb(proc)
    kept = sorted(p.name for p in (data_dir / "uploads").iterdir() if p.suffix != ".json")
    assert len(kept) == 1  # only the good upload: a refused file is not kept
    from survey_node import db as database

    db = database.connect(data_dir / "survey.db")
    assert camera_db.count_cameras(db) == 0
    db.close()


def memory_hog(folder: Path) -> Path:
    """Within every limit (two cells holding values, one at CV190000), but calamine's grid
    for it is 190,000 x 100 cells: 600 MB, past a 256 MB reader."""
    path = registry(folder / "hog.xlsx", rows=2)
    return rewrite(path, {SHEET: lambda xml: xml.replace(
        b"</sheetData>", b'<row r="190000"><c r="CV190000" t="n"><v>7</v></c></row></sheetData>')})


def test_a_file_that_kills_its_reader_is_quarantined_and_stays_so_after_a_restart(
        data_dir, users, tmp_path):
    path = memory_hog(tmp_path)
    env = {"SURVEY_NODE_IMPORTS__READER_MEMORY_MB": "256"}
    with node_server(data_dir, env) as (base, proc):
        session = admin_session(base)
        response = upload(session, base, path)
        assert response.status_code == 302
        page_url = base + response.headers["Location"]
        line = page_error(session.get(page_url, timeout=30).text, "mapping-error")
        assert "hog.xlsx" in line and "กักกัน" in line, line
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        assert peak_mb(proc) < WEB_PEAK_MB
        # Starting an import of it is refused the same way, not run.
        run = session.post(page_url + "/run", data={"action": "import",
                                                    "csrf_token": session.csrf}, timeout=30)
        assert "กักกัน" in page_error(run.text, "mapping-error")
    records = list((data_dir / "quarantine").glob("*.json"))
    assert len(records) == 1
    first = json.loads(records[0].read_text())
    with node_server(data_dir) as (base, proc):  # a restart, and no memory limit now
        session = admin_session(base)
        again = page_error(session.get(page_url.replace(page_url.split("/admin")[0], base),
                                       timeout=30).text, "mapping-error")
        assert "กักกัน" in again and first["at"] in again
        response = upload(session, base, path, follow=True)  # the same bytes, uploaded again
        assert "กักกัน" in page_error(response.text, "mapping-error")
        assert peak_mb(proc) < WEB_PEAK_MB  # it was not read in here either
    assert json.loads(records[0].read_text()) == first
    done = subprocess.run([sys.executable, "-m", "survey_node", "import", str(path), "--dry-run",
                           "--data-dir", str(data_dir)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "is quarantined" in one_line(done.stdout + done.stderr)


def test_the_cli_quarantines_a_file_that_kills_its_reader(data_dir, tmp_path):
    path = memory_hog(tmp_path)
    argv = [sys.executable, "-m", "survey_node", "import", str(path), "--dry-run", "--data-dir",
            str(data_dir)]
    env = {**os.environ, "SURVEY_NODE_IMPORTS__READER_MEMORY_MB": "256"}
    first = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert first.returncode == 2
    line = one_line(first.stdout + first.stderr)
    assert "is quarantined" in line and "256 MB" in line, line
    second = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2 and "is quarantined" in one_line(second.stdout + second.stderr)


def test_an_analysis_past_its_deadline_is_stopped_and_quarantined(config, tmp_path):
    from survey_node.inventory import uploads

    path = registry(tmp_path / "slow.xlsx")
    with open(path, "rb") as fh:
        token = uploads.save_upload(config, fh, "slow.xlsx")
    config.imports.analysis_timeout_s = 0.05  # less than a Python start-up
    with pytest.raises(BadInput, match="took longer than 1 seconds"):
        uploads.analyse_upload(config, token)
    config.imports.analysis_timeout_s = 60
    with pytest.raises(uploads.Quarantined):  # not read again, even with time to spare
        uploads.analyse_upload(config, token)


def test_the_web_process_never_opens_the_upload(config, tmp_path, monkeypatch):
    """The layout comes from a reader child, and is kept for the same choices."""
    from survey_node.inventory import readers, uploads

    started = []
    real_popen = worker.subprocess.Popen
    monkeypatch.setattr(worker.subprocess, "Popen",
                        lambda *a, **k: started.append(a[0]) or real_popen(*a, **k))
    monkeypatch.setattr(readers.Workbook, "__init__", lambda *a, **k: pytest.fail("opened here"))
    path = registry(tmp_path / "k.xlsx")
    with open(path, "rb") as fh:
        token = uploads.save_upload(config, fh, "k.xlsx")
    layout = uploads.analyse_upload(config, token)
    assert layout.header_row == 4 and layout.mapping["site_name"] == 2
    assert len(started) == 1
    assert uploads.analyse_upload(config, token).samples == layout.samples
    assert len(started) == 1  # the page opened again: no second read


# -- real files as other programs write them pass the checks --------------------------------

def libreoffice_ods(path: Path, rows: int) -> Path:
    """An .ods as LibreOffice saves it: each row padded with empty repeated cells to
    column 1024, and the sheet with one empty row repeated to row 1,048,576."""
    from tests.registry_files import write_ods

    write_ods(path, REAL_HEADER, korat_rows(rows), title_rows=TITLE_ROWS)
    pad_row = (b'<table:table-row table:number-rows-repeated="1048000"><table:table-cell'
               b' table:number-columns-repeated="1024"/></table:table-row>')
    return rewrite(path, {"content.xml": lambda xml: xml.replace(
        b"</table:table-row>", b'<table:table-cell table:number-columns-repeated="1016"/>'
        b"</table:table-row>").replace(b"</table:table>", pad_row + b"</table:table>")})


def prefixed_xlsx(path: Path, rows: int, extra: bytes = b"") -> Path:
    """An .xlsx as the .NET Open XML SDK writes it: every sheet element prefixed x:."""
    registry(path, rows=rows)

    def prefix(xml: bytes) -> bytes:
        xml = xml.replace(b"</sheetData>", extra + b"</sheetData>")
        xml = re.sub(rb"<(/?)(?!\?)([A-Za-z]+)([\s>/])", rb"<\1x:\2\3", xml)
        return xml.replace(b"<x:worksheet xmlns=", b"<x:worksheet xmlns:x=")
    return rewrite(path, {SHEET: prefix})


def shared_strings_xlsx(path: Path, rows: int) -> Path:
    """An .xlsx with a shared-strings table, as Excel and openpyxl's normal mode write."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "กล้อง"
    for r in [*TITLE_ROWS, REAL_HEADER, *korat_rows(rows)]:
        ws.append(r)
    wb.save(path)
    return path


@pytest.mark.parametrize("shape", ["libreoffice ods", "open xml sdk xlsx", "shared strings",
                                   "xls"])
def test_registries_as_real_programs_write_them_import_whole(shape, db, tmp_path, in_child):
    from tests.registry_files import write_xls

    path = {"libreoffice ods": lambda p: libreoffice_ods(p.with_suffix(".ods"), 500),
            "open xml sdk xlsx": lambda p: prefixed_xlsx(p, 500),
            "shared strings": lambda p: shared_strings_xlsx(p, 500),
            "xls": lambda p: write_xls(p.with_suffix(".xls"), REAL_HEADER, korat_rows(500),
                                       title_rows=TITLE_ROWS)}[shape](tmp_path / "k.xlsx")
    report = run_import(db, path, ImportOptions(default_province="30"))
    assert report["cameras"]["new"] == 500 and not report["rejected"]


def test_a_far_cell_in_a_prefixed_sheet_is_refused_too(db, tmp_path, in_child):
    path = prefixed_xlsx(tmp_path / "k.xlsx", 3,
                         b'<x:row r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>')
    with pytest.raises(BadInput, match="XFD1048576"):
        run_import(db, path, ImportOptions(default_province="30"))


def test_an_import_job_that_killed_its_reader_says_why_in_thai(client, auth, db):
    """What the job page shows when the import (not the analysis) killed the reader: the
    quarantine and its reason, both in Thai."""
    from survey_node.db import jobs as job_db
    from survey_node.inventory import quarantine
    from survey_node.inventory.worker import ReaderKilled
    from survey_node.inventory.text import N_

    killed = ReaderKilled(N_("Reading %(file)s needed more than %(mb)s MB of memory; it was"
                             " stopped and nothing was imported"), file="hog.xlsx", mb=1024)
    refused = quarantine.refusal({"file": "hog.xlsx", "at": "2026-12-03 09:00 UTC",
                                  "reason": {"message": killed.message, "params": killed.params}})
    job_id = job_db.insert_job(db, "registry_import", params={"file": "hog.xlsx"})
    job_db.update_job(db, job_id, state="failed", error=json.dumps(
        {"message": refused.message, "params": refused.params}, ensure_ascii=False))
    auth.login("admin")
    page = client.get(f"/admin/import/jobs/{job_id}").get_data(as_text=True)
    line = page_error(page, "job-error")
    assert "ถูกกักกันไว้" in line and "ต้องใช้หน่วยความจำเกิน 1024 MB" in line, line
    assert "{" not in line


@pytest.mark.parametrize(("cell", "refused"), [
    ("CV200000", False), ("CV200001", True), ("CW5", True), ("AAA5", True), ("cw5", True),
    ("CV0200000", False), ("A1999999", True)])
def test_the_limits_hold_exactly_at_their_edge(cell, refused, tmp_path):
    """A value at the last row and column allowed passes; one past either is refused
    (references written in lower case or with leading zeros are read as calamine reads them)."""
    from survey_node.inventory.limits import check_file

    path = registry(tmp_path / "edge.xlsx", rows=1)
    row = re.sub(r"^[A-Za-z]+0*", "", cell)
    rewrite(path, {SHEET: lambda xml: xml.replace(b"</sheetData>", (
        f'<row r="{row}"><c r="{cell}" t="n"><v>7</v></c></row></sheetData>').encode())})
    if refused:
        with pytest.raises(BadInput, match=f"cell {cell.upper()} is beyond the limit"):
            check_file(path, "xlsx", "edge.xlsx")
    else:
        check_file(path, "xlsx", "edge.xlsx")


def test_uploads_are_checked_one_at_a_time(client, auth, tmp_path, monkeypatch):
    """While one upload is being read, the next waits, then is told in Thai to try again
    (two big readers at once could exhaust a small node and get a good file quarantined)."""
    monkeypatch.setattr(worker, "ANALYSIS_QUEUE_S", 0.1)
    auth.login("admin")
    path = registry(tmp_path / "k.xlsx")
    assert worker._ANALYSES.acquire(timeout=1)  # another upload's reader is running
    try:
        with open(path, "rb") as fh:
            response = client.post("/admin/import/", data={"file": (fh, "k.xlsx")},
                                   content_type="multipart/form-data")
    finally:
        worker._ANALYSES.release()
    assert response.status_code == 409
    assert "ลองใหม่อีกสักครู่" in page_error(response.get_data(as_text=True), "upload-error")
    with open(path, "rb") as fh:
        response = client.post("/admin/import/", data={"file": (fh, "k.xlsx")},
                               content_type="multipart/form-data")
    assert response.status_code == 302  # and then it is


def test_a_csv_with_excels_trailing_empty_columns_imports(db, tmp_path, in_child):
    """Excel writes a delimiter for every formatted column of its used range: 300 empty
    fields after the data are no reason to refuse a registry."""
    from tests.registry_files import write_csv

    rows = [[*r, *([""] * 300)] for r in korat_rows(50)]
    path = write_csv(tmp_path / "k.csv", [*REAL_HEADER, *([""] * 300)], rows,
                     title_rows=TITLE_ROWS)
    report = run_import(db, path, ImportOptions(default_province="30"))
    assert report["cameras"]["new"] == 50 and not report["rejected"]
