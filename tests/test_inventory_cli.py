"""`survey-node import` / `export` from the command line, and the corpus of broken files."""

import json
import zipfile

import pytest

from survey_node import db as database
from tests.registry_files import REAL_HEADER, TITLE_ROWS, korat_rows, write_csv, write_xlsx

JSON_KEYS = {"file", "sha256", "sheet", "rows_read", "cameras", "rejected", "warnings", "mapping",
             "notes", "missing"}


def test_import_json_has_exactly_the_promised_shape(cli, data_dir, tmp_path):
    rows = korat_rows(4) + [[5, "ใช้งานได้", "", "", "", "", "", ""]]
    rows[1][5] = "abc"
    path = write_xlsx(tmp_path / "korat.xlsx", REAL_HEADER, rows, title_rows=TITLE_ROWS)
    result = cli("import", "--data-dir", data_dir, path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == JSON_KEYS
    assert report["cameras"] == {"new": 4, "changed": 0, "unchanged": 0, "removed": 0}
    assert report["rows_read"] == 5 and report["sheet"] == "กล้อง" and len(report["sha256"]) == 64
    assert report["rejected"] == [{"row": 9, "reason": report["rejected"][0]["reason"]}]
    assert set(report["warnings"][0]) == {"row", "field", "reason"}
    assert report["warnings"][0]["row"] == 6 and report["warnings"][0]["field"] == "lat"
    assert report["mapping"]["site_name"] == "ชื่อจุดติดตั้ง"


def test_import_text_report_and_dry_run(cli, data_dir, tmp_path):
    path = write_csv(tmp_path / "korat.csv", REAL_HEADER, korat_rows(3), encoding="cp874")
    dry = cli("import", "--data-dir", data_dir, path, "--dry-run")
    assert dry.exit_code == 0 and "3 new" in dry.output and "dry run" in dry.output
    real = cli("import", "--data-dir", data_dir, path)
    assert "3 new" in real.output and "recorded" in real.output
    again = cli("import", "--data-dir", data_dir, path)
    assert "0 new, 0 changed, 3 unchanged, 0 removed" in again.output


def test_an_agency_file_keeps_the_others_and_removes_only_inside_its_area(cli, data_dir,
                                                                          tmp_path):
    rows = korat_rows(5)
    assert cli("import", "--data-dir", data_dir,
               write_xlsx(tmp_path / "all.xlsx", REAL_HEADER, rows)).exit_code == 0
    police = [r for r in rows if r[7].startswith("สภ.")]
    part = write_xlsx(tmp_path / "police.xlsx", REAL_HEADER, police[:-1])
    kept = cli("import", "--data-dir", data_dir, part)
    assert "3 cameras are not in the file and were kept" in kept.output
    assert "2 outside its agencies" in kept.output and "only the 1 inside its area" in kept.output
    scoped = cli("import", "--data-dir", data_dir, part, "--remove-missing", "--only-file-area")
    assert scoped.exit_code == 0, scoped.output
    assert "1 removed from the registry" in scoped.output
    assert "2 cameras outside the file's area were kept" in scoped.output
    db = database.connect(data_dir / "survey.db")
    try:
        gone = [r[0] for r in db.execute("SELECT site_name FROM cameras WHERE removed = 1")]
    finally:
        db.close()
    assert gone == [police[-1][2]]


def test_mapping_file_round_trips_the_reported_mapping(cli, data_dir, tmp_path):
    header = ["จุด", "พิกัด Y", "พิกัด X"]
    path = write_xlsx(tmp_path / "o.xlsx", header, [["แยกประตูชุมพล", "14.9736", "102.0979"]])
    refused = cli("import", "--data-dir", data_dir, path)
    assert refused.exit_code == 2 and "no camera id or name column" in refused.output
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"site_name": "จุด"}, ensure_ascii=False), encoding="utf-8")
    result = cli("import", "--data-dir", data_dir, path, "--mapping", mapping, "--json")
    assert result.exit_code == 0, result.output
    reported = json.loads(result.output)["mapping"]
    mapping.write_text(json.dumps({"header_row": 1, "mapping": reported}, ensure_ascii=False))
    again = cli("import", "--data-dir", data_dir, path, "--mapping", mapping, "--json")
    assert json.loads(again.output)["cameras"]["unchanged"] == 1


@pytest.mark.parametrize("args, message", [
    (["--crs", "EPSG:3857"], "--crs EPSG:3857 is not one of"),
    (["--sheet", "ไม่มี"], "Sheet ไม่มี is not in"),
])
def test_bad_options_are_one_line(cli, data_dir, tmp_path, args, message):
    path = write_xlsx(tmp_path / "k.xlsx", REAL_HEADER, korat_rows(2))
    result = cli("import", "--data-dir", data_dir, path, *args)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_export_geojson(cli, data_dir, tmp_path):
    rows = korat_rows(3)
    rows[2][5] = ""
    cli("import", "--data-dir", data_dir, write_xlsx(tmp_path / "k.xlsx", REAL_HEADER, rows))
    out = tmp_path / "cameras.geojson"
    result = cli("export", "--data-dir", data_dir, "--format", "geojson", "--out", out)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 3
    by_site = {f["properties"]["site_name"]: f for f in data["features"]}
    chumphon = by_site["แยกประตูชุมพล"]
    assert chumphon["geometry"] == {"type": "Point", "coordinates": [102.0979, 14.9736]}
    for key in ("camera_id", "site_name", "place_name", "agency", "province_code", "amphoe_code",
                "tambon_code", "registered_lat", "registered_lon", "registry_status", "removed"):
        assert key in chumphon["properties"]
    assert by_site["แยกหัวรถไฟ"]["geometry"] is None
    assert "stream_url" not in chumphon["properties"]
    stdout = cli("export", "--data-dir", data_dir, "--format", "geojson")
    assert json.loads(stdout.stdout)["features"][0]["type"] == "Feature"


# -- broken files: each refused whole, with one line, and the database unchanged ------------

def _truncated_xlsx(path):
    write_xlsx(path.with_suffix(".full"), REAL_HEADER, korat_rows(50))
    data = path.with_suffix(".full").read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zip_not_xlsx(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")


BROKEN = {
    "empty.xlsx": (lambda p: p.write_bytes(b""), "is empty"),
    "photo.xlsx": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200)), "is not a spreadsheet"),
    "report.csv": (lambda p: p.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4), "is not a spreadsheet"),
    "binary.csv": (lambda p: p.write_bytes(bytes(range(256)) * 20), "is not a spreadsheet"),
    "truncated.xlsx": (_truncated_xlsx, "damaged or truncated"),
    "archive.xlsx": (_zip_not_xlsx, "is not a spreadsheet"),
    "fake.xls": (lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), "damaged or truncated"),
    "noheader.csv": (lambda p: p.write_text("a,b,c\n1,2,3\n", encoding="utf-8"), "no header row"),
    "noposition.csv": (lambda p: write_csv(p, ["รหัสกล้อง", "ชื่อจุดติดตั้ง", "หน่วยงาน"], [["A", "x", "y"]]),
                       "no position columns"),
    "noname.csv": (lambda p: write_csv(p, ["ละติจูด", "ลองจิจูด", "สถานะ"], [["14.9", "102.1", "ok"]]),
                   "no camera id or name column"),
    "headeronly.xlsx": (lambda p: write_xlsx(p, REAL_HEADER, [], title_rows=TITLE_ROWS), "no camera rows"),
    "totalsonly.xlsx": (lambda p: write_xlsx(p, REAL_HEADER, [[], ["รวม", "", "", "", "", "", "", "0"]]),
                        "no camera rows"),
    "allrejected.xlsx": (lambda p: write_xlsx(p, REAL_HEADER, [[1, "ใช้งานได้", "", "", "", 14.9, 102.1, ""]]),
                         "every camera row was rejected (first: row 2"),
    "badbytes.csv": (lambda p: p.write_bytes(",".join(REAL_HEADER).encode() + b"\n"
                                             + b"1,x,y,z,w,14.9,102.1,a\n" * 60000
                                             + b"2,\xff\xfe\xfa,y,z,w,14.9,102.1,a\n"),
                     "line 60002 is neither UTF-8 nor Thai"),
}


@pytest.fixture
def loaded(cli, data_dir, tmp_path):
    """A node that already holds an import, so 'unchanged' means something."""
    path = write_xlsx(tmp_path / "first.xlsx", REAL_HEADER, korat_rows(5))
    assert cli("import", "--data-dir", data_dir, path).exit_code == 0
    return data_dir


def _snapshot(data_dir):
    db = database.connect(data_dir / "survey.db")
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("cameras", "imports", "audit_log")}
    finally:
        db.close()


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_is_refused_whole(cli, loaded, tmp_path, name):
    make, message = BROKEN[name]
    path = tmp_path / name
    make(path)
    before = _snapshot(loaded)
    result = cli("import", "--data-dir", loaded, path)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in result.output
    assert _snapshot(loaded) == before
    assert not list((loaded / "tmp").iterdir())  # no staging file left behind


def test_missing_file(cli, data_dir, tmp_path):
    result = cli("import", "--data-dir", data_dir, tmp_path / "nope.xlsx")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_every_command_option_has_help():
    from survey_node.cli import main

    for name in ("import", "export"):
        command = main.commands[name]
        assert command.help
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.name}"


def test_export_takes_properties_from_other_areas(db, tmp_path, monkeypatch):
    """How a later area (the 20 % set, surveys) adds its fields to the same export."""
    import io

    from survey_node import exports

    with database.transaction(db):
        from survey_node.db import cameras as camera_db

        camera_db.insert_cameras(db, [{"camera_id": "A"}, {"camera_id": "B"}])
    monkeypatch.setattr(exports, "PROPERTY_SOURCES", [
        lambda _db: ({"A": {"selected": True}}, {"selected": False})])
    out = io.StringIO()
    assert exports.export(db, "geojson", out) == 2
    props = {f["id"]: f["properties"] for f in json.loads(out.getvalue())["features"]}
    assert props["A"]["selected"] is True and props["B"]["selected"] is False


def test_import_says_which_province_it_inferred(cli, data_dir, tmp_path):
    from tests.registry_files import MESSY_HEADER, MESSY_TITLE, messy_province_rows

    rows, _ = messy_province_rows(30)
    path = write_xlsx(tmp_path / "spk.xlsx", MESSY_HEADER, rows, title_rows=MESSY_TITLE)
    result = cli("import", "--data-dir", data_dir, path, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if "inferred" in ln]
    assert lines == [lines[0]] and lines[0].startswith(
        "Province สมุทรปราการ (11) inferred from title row 1 and the place columns")
    as_json = json.loads(cli("import", "--data-dir", data_dir, path, "--json").output)
    assert as_json["notes"] == lines
    assert "several provinces" not in result.output


def test_init_sets_the_province_by_name_or_code_and_refuses_a_wrong_one(cli, tmp_path):
    from survey_node import config as config_mod

    wrong = cli("init", "--province", "Atlantis", "--data-dir", tmp_path / "bad")
    assert wrong.exit_code == 2 and "Atlantis is not a Thai province" in wrong.output
    assert len(wrong.output.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()  # nothing made
    for given in ("Samut Prakan", "สมุทรปราการ", "11"):
        root = tmp_path / f"node-{len(given)}"
        made = cli("init", "--province", given, "--data-dir", root)
        assert made.exit_code == 0, made.output
        assert config_mod.load(root).node.province_code == "11"
