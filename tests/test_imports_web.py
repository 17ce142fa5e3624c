"""The admin's registry import pages, through Flask's test client (jobs run in a real thread)."""

import io
import time

import pytest

from survey_node.db import cameras as camera_db
from tests.registry_files import REAL_HEADER, TITLE_ROWS, korat_rows, write_xlsx


def upload(client, path, name=None):
    with open(path, "rb") as fh:
        data = {"file": (io.BytesIO(fh.read()), name or path.name)}
    return client.post("/admin/import/", data=data, content_type="multipart/form-data")


def wait_for_job(client, job_url):
    """Poll the job the way the page does, until it ends (bounded)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(job_url + ".json").get_json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.05)
    pytest.fail("import job did not finish")


@pytest.fixture
def admin(client, auth):
    auth.login("admin")
    return client


def test_only_admins_reach_the_import_pages(client, auth):
    auth.login("surveyor")
    assert client.get("/admin/import/").status_code == 403
    auth.logout()
    assert client.get("/admin/import/").status_code == 302  # to the login page


@pytest.mark.parametrize("reader", ["in-process", "child process"])
def test_upload_check_preview_import_and_report(admin, db, tmp_path, monkeypatch, reader):
    if reader == "child process":  # as a big file is read
        from survey_node.inventory import worker
        monkeypatch.setattr(worker, "CHILD_MIN_BYTES", 0)
    rows = korat_rows(5)
    rows[2][5] = "ไม่ทราบ"                                   # a warning on Excel row 7
    rows[3][5] = rows[3][6] = ""                             # no position on Excel row 8
    rows.append([6, "ใช้งานได้", "", "", "", 14.9, 102.1, ""])  # rejected: Excel row 10
    path = write_xlsx(tmp_path / "โคราช.xlsx", REAL_HEADER, rows, title_rows=TITLE_ROWS)

    response = upload(admin, path)
    assert response.status_code == 302
    mapping_url = response.headers["Location"]
    page = admin.get(mapping_url).get_data(as_text=True)
    assert 'value="4"' in page                               # the header row it found
    assert "แยกประตูชุมพล" in page                           # sample values
    assert 'value="site_name" selected' in page

    token = mapping_url.rstrip("/").rsplit("/", 1)[-1]
    form = {"shown_sheet": "กล้อง", "sheet": "กล้อง", "shown_header_row": "4", "header_row": "4",
            "crs": "", "action": "preview"}
    form.update({f"col-{i}": f for i, f in enumerate(
        ["seq", "registry_status", "site_name", "place_name", "place_type", "lat", "lon", "agency"])})
    response = admin.post(f"/admin/import/upload/{token}", data=form)
    job_url = response.headers["Location"]
    status = wait_for_job(admin, job_url)
    assert status["state"] == "done"
    preview = admin.get(job_url).get_data(as_text=True)
    assert 'data-testid="count-new">5<' in preview
    assert camera_db.count_cameras(db) == 0                  # a preview changes nothing

    response = admin.post(f"/admin/import/upload/{token}/run", data={"action": "import"})
    status = wait_for_job(admin, response.headers["Location"])
    assert status["state"] == "done" and "/admin/import/" in status["done_url"]
    report = admin.get(status["done_url"]).get_data(as_text=True)
    assert "รายงานการนำเข้า" in report                       # Thai first
    assert "<td>10</td>" in report and "<td>7</td>" in report  # row numbers people see
    assert "<td>8</td><td>พิกัด</td>" in report                # which field, in Thai too
    assert "ไม่มีรหัสกล้องและไม่มีชื่อ" in report           # the rejection, in Thai
    assert camera_db.count_cameras(db) == 5
    history = admin.get("/admin/import/").get_data(as_text=True)
    assert "โคราช.xlsx" in history


def test_correcting_the_mapping_makes_an_unknown_file_importable(admin, db, tmp_path):
    path = write_xlsx(tmp_path / "odd.xlsx", ["จุด", "พิกัด Y", "พิกัด X"],
                      [["แยกประตูชุมพล", "14.9736", "102.0979"]])
    mapping_url = upload(admin, path).headers["Location"]
    page = admin.get(mapping_url).get_data(as_text=True)
    assert 'data-testid="mapping-missing"' in page and "disabled" in page
    token = mapping_url.rsplit("/", 1)[-1]
    admin.post(f"/admin/import/upload/{token}", data={
        "shown_sheet": "กล้อง", "sheet": "กล้อง", "shown_header_row": "1", "header_row": "1",
        "crs": "", "action": "save", "col-0": "site_name", "col-1": "lat", "col-2": "lon"})
    page = admin.get(mapping_url).get_data(as_text=True)
    assert 'data-testid="mapping-missing"' not in page
    response = admin.post(f"/admin/import/upload/{token}/run", data={"action": "import"})
    assert wait_for_job(admin, response.headers["Location"])["state"] == "done"
    assert camera_db.count_cameras(db) == 1


def test_a_broken_upload_gets_one_thai_line_and_changes_nothing(admin, db, tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    response = upload(admin, path)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-testid="upload-error"' in page and "ไม่ใช่ไฟล์ตาราง" in page
    assert camera_db.count_cameras(db) == 0
    assert not list((tmp_path / "node" / "uploads").iterdir())  # a refused file is not kept


def test_a_file_failing_during_import_leaves_the_job_failed_and_nothing_imported(admin, db, tmp_path):
    path = write_xlsx(tmp_path / "header-only.xlsx", REAL_HEADER, [])
    mapping_url = upload(admin, path).headers["Location"]
    token = mapping_url.rsplit("/", 1)[-1]
    response = admin.post(f"/admin/import/upload/{token}/run", data={"action": "import"})
    status = wait_for_job(admin, response.headers["Location"])
    assert status["state"] == "failed" and "header-only.xlsx" in status["error"]
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="job-error"' in page
    assert camera_db.count_cameras(db) == 0


def test_a_running_import_reports_its_progress_from_memory(admin, db):
    # While an import writes it holds the database's write lock, so its progress cannot go
    # through the jobs table: the page reads it from the server's memory.
    from survey_node.db import jobs as job_db
    from survey_node.inventory import uploads

    job_id = job_db.insert_job(db, "registry_import", params={"file": "k.xlsx"})
    job_db.update_job(db, job_id, state="running")
    uploads._LIVE[job_id] = (0.42, "Reading rows")
    try:
        status = admin.get(f"/admin/import/jobs/{job_id}.json").get_json()
    finally:
        uploads._LIVE.pop(job_id)
    assert status["state"] == "running" and status["progress"] == 0.42
    assert status["message"] == "กำลังอ่านแถวข้อมูล"  # the message id, translated
    status = admin.get(f"/admin/import/jobs/{job_id}.json").get_json()
    assert status["progress"] == 0  # nothing in memory: what the table says


def test_the_survey_page_shows_the_registry_row_without_its_secrets(client, auth, db, tmp_path):
    from survey_node.inventory.importer import ImportOptions, run_import

    header = ["รหัสกล้อง", "ชื่อจุดติดตั้ง", "ละติจูด", "ลองจิจูด", "URL", "หมายเหตุ", "แผนที่"]
    row = ["K-7", "แยกประตูชุมพล", 14.9736, 102.0979, "rtsp://admin:s3cret@10.0.0.5/live",
           "ติดตั้งหน้าร้านสะดวกซื้อ", "http://viewer:pw2@maps.example/k7"]
    run_import(db, write_xlsx(tmp_path / "k.xlsx", header, [row]),
               ImportOptions(default_province="30", columns={"stream_url": "URL"}))
    auth.login("surveyor")
    page = client.get("/survey/K-7").get_data(as_text=True)
    assert 'data-testid="registry-row"' in page and "แถวเดิมในไฟล์ทะเบียน" in page
    assert "หมายเหตุ" in page and "ติดตั้งหน้าร้านสะดวกซื้อ" in page  # a column no field took
    assert "http://viewer:***@maps.example/k7" in page
    assert "s3cret" not in page and "pw2" not in page


def test_the_province_setting_is_the_admins_and_refuses_a_wrong_name_in_thai(client, auth, config, db):
    from survey_node import config as config_mod

    auth.login("surveyor")
    assert client.post("/admin/settings", data={"province": "11"}).status_code == 403
    auth.logout()
    auth.login("admin")
    wrong = client.post("/admin/settings", data={"province": "Atlantis"})
    assert wrong.status_code == 400 and "Atlantis ไม่ใช่จังหวัดของไทย" in wrong.get_data(as_text=True)
    assert config_mod.load(config.data_dir).node.province_code == ""
    assert client.post("/admin/settings", data={"province": "สมุทรปราการ"}).status_code == 302
    assert config_mod.load(config.data_dir).node.province_code == "11"
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "สมุทรปราการ" in page
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log")]
    assert any("province" in a or "setting" in a for a in actions), actions


@pytest.mark.parametrize("quoted", [False, True], ids=["long-cell", "quote-left-open"])
def test_a_csv_cell_over_the_field_limit_is_one_line_on_the_web_and_the_cli(
        admin, db, tmp_path, cli, quoted):
    """A 2 MB cell (a document pasted into a cell, or a quote never closed) was a 500 on the
    web and a traceback on the CLI."""
    path = tmp_path / "registry.csv"
    cell = ('"' if quoted else "") + "ก" * (2 << 20)
    path.write_text("รหัส,ชื่อจุดติดตั้ง,ละติจูด,ลองจิจูด\nNMA-1,แยกโคราช,14.97,102.1\n"
                    f"NMA-2,{cell},14.98,102.2\n", encoding="utf-8")
    response = upload(admin, path)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-testid="upload-error"' in page and "registry.csv" in page
    assert "ยาวเกิน 1,048,576 ตัวอักษร" in page and "Traceback" not in page
    assert camera_db.count_cameras(db) == 0
    result = cli("import", "--data-dir", tmp_path / "node", path, "--dry-run")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "registry.csv line 3 has a cell longer than 1,048,576 characters" in result.output


def _import_file(admin, path, *, confirm: int | None = None, removal: str | None = None):
    """Upload, preview and import `path` as the admin page does; returns (preview page,
    report page). With `confirm`, the preview's removal box is ticked for that count; with
    `removal` too, that choice of a partial file's preview is picked."""
    mapping_url = upload(admin, path).headers["Location"]
    token = mapping_url.rstrip("/").rsplit("/", 1)[-1]
    response = admin.post(f"/admin/import/upload/{token}/run", data={"action": "preview"})
    job_url = response.headers["Location"]
    assert wait_for_job(admin, job_url)["state"] == "done"
    preview = admin.get(job_url).get_data(as_text=True)
    data = {"action": "import"}
    if confirm is not None and removal:
        data.update(removal=removal, expected_removals=str(confirm),
                    expected_covered=str(confirm))
    elif confirm is not None:
        data.update(remove_missing="1", expected_removals=str(confirm))
    response = admin.post(f"/admin/import/upload/{token}/run", data=data)
    status = wait_for_job(admin, response.headers["Location"])
    assert status["state"] == "done", status
    return preview, admin.get(status["done_url"]).get_data(as_text=True), status


def test_a_partial_file_cannot_empty_the_worklists_and_an_import_can_be_undone(
        admin, db, config, tmp_path):
    from survey_node import accounts, demo

    accounts.add_user(db, config.security, name="surveyor2", role="surveyor", pin="482913")
    demo.seed_demo(db, count=30, streams_port=1)
    demo.prepare_selection(db)
    before = {r[0]: r[1] for r in db.execute("SELECT camera_id, site_name FROM cameras")}
    preview, report, _ = _import_file(admin, write_xlsx(tmp_path / "korat.xlsx", REAL_HEADER,
                                                        korat_rows(3)))
    # The preview puts the 30 missing cameras first, in a warning, with the work they hold.
    warning = preview.index('data-testid="missing-warning"')
    assert warning < preview.index('data-testid="counts"')
    assert "30 กล้อง" in preview[warning:warning + 600]
    # A file of another place: "update only" is offered first and is the default.
    assert 'data-testid="removal-choice"' in preview
    assert 'value="none" checked' in preview
    # Importing without ticking it keeps them all.
    assert db.execute("SELECT count(*) FROM cameras WHERE removed = 1").fetchone()[0] == 0
    assert camera_db.count_cameras(db) == 33
    # Undo: the three added cameras go, the registry is as before; audited.
    import_id = int(report.split('action="/admin/import/')[1].split("/undo")[0])
    done = admin.post(f"/admin/import/{import_id}/undo")
    assert done.status_code == 302
    after = {r[0]: r[1] for r in db.execute("SELECT camera_id, site_name FROM cameras")}
    assert after == before
    assert 'data-testid="import-undone"' in admin.get(f"/admin/import/{import_id}").get_data(
        as_text=True)
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'cameras.import_undo'"
                      ).fetchone()[0] == 1


def test_removals_need_the_box_ticked_and_selected_cameras_stay_flagged(
        admin, client, db, config, tmp_path, auth):
    rows = korat_rows(4)
    _import_file(admin, write_xlsx(tmp_path / "v1.xlsx", REAL_HEADER, rows))
    gone = db.execute("SELECT camera_id FROM cameras WHERE site_name = ?",
                      [rows[3][2]]).fetchone()[0]
    db.execute("INSERT INTO assignments (camera_id, user_name, how, assigned_by, assigned_at)"
               " VALUES (?, 'surveyor', 'hand', 'admin', '2026-12-01T00:00:00Z')", [gone])
    db.conn.commit()
    remaining = rows[:3]  # the file no longer lists the fourth camera
    _, report, status = _import_file(admin, write_xlsx(tmp_path / "v2.xlsx", REAL_HEADER,
                                                       remaining), confirm=1)
    assert 'data-testid="removed"' in report
    assert db.execute("SELECT removed FROM cameras WHERE camera_id = ?", [gone]).fetchone()[0] == 1
    # The surveyor still has it, flagged, and its page says so.
    auth.login("surveyor")
    mine = client.get("/api/v1/worklist?show=mine").get_json()
    flagged = [i for i in mine["items"] if i["camera_id"] == gone]
    assert flagged and flagged[0]["removed"] == 1
    assert 'data-testid="camera-removed"' in client.get(f"/survey/{gone}").get_data(as_text=True)


def test_a_file_of_one_agency_removes_only_inside_its_own_area(admin, db, tmp_path):
    rows = korat_rows(5)  # two agencies: the police and the city
    _import_file(admin, write_xlsx(tmp_path / "all.xlsx", REAL_HEADER, rows))
    police = [r for r in rows if r[7].startswith("สภ.")]
    gone_police = police[-1]
    preview, report, status = _import_file(
        admin, write_xlsx(tmp_path / "police.xlsx", REAL_HEADER, police[:-1]),
        confirm=1, removal="covered")
    # The preview saw a file of part of the registry and said how much lies outside it.
    assert 'data-testid="removal-choice"' in preview and 'data-testid="removal-covered"' in preview
    assert "2 กล้องเป็นของหน่วยงานที่ไฟล์นี้ไม่มี" in preview
    removed = {r[0] for r in db.execute("SELECT site_name FROM cameras WHERE removed = 1")}
    # Only the police camera the police file dropped; the city's cameras stay.
    assert removed == {gone_police[2]}
    assert db.execute("SELECT count(*) FROM cameras WHERE removed = 0").fetchone()[0] == 4
    assert 'data-testid="removed"' in report


def test_a_partial_preview_refuses_a_covered_count_that_has_changed(admin, db, tmp_path):
    rows = korat_rows(5)
    _import_file(admin, write_xlsx(tmp_path / "all.xlsx", REAL_HEADER, rows))
    police = [r for r in rows if r[7].startswith("สภ.")]
    mapping_url = upload(admin, write_xlsx(tmp_path / "police.xlsx", REAL_HEADER,
                                           police[:-1])).headers["Location"]
    token = mapping_url.rstrip("/").rsplit("/", 1)[-1]
    response = admin.post(f"/admin/import/upload/{token}/run",
                          data={"action": "import", "removal": "covered",
                                "expected_removals": "3", "expected_covered": "7"})
    status = wait_for_job(admin, response.headers["Location"])
    assert status["state"] == "failed"
    assert db.execute("SELECT count(*) FROM cameras WHERE removed = 1").fetchone()[0] == 0


def test_the_mapping_preview_never_shows_stream_passwords(admin, tmp_path):
    header = [*REAL_HEADER, "ลิงก์กล้อง", "รหัสผ่าน"]
    rows = [[*r, f"rtsp://admin:Hik{n}Secret@10.30.0.{n}:554/Streaming/Channels/101", f"Pw{n}x!"]
            for n, r in enumerate(korat_rows(3), 1)]
    path = write_xlsx(tmp_path / "with-streams.xlsx", header, rows, title_rows=TITLE_ROWS)
    page = admin.get(upload(admin, path).headers["Location"]).get_data(as_text=True)
    assert "10.30.0.1" in page  # the address is shown, so the column can be mapped
    for n in (1, 2, 3):
        assert f"Hik{n}Secret" not in page and f"Pw{n}x!" not in page
    assert "admin:***@" in page
