"""The admin's basemap page: upload the province's MBTiles, see its coverage, refuse bad files."""

from __future__ import annotations

import zipfile

import pytest

from tests.conftest import AuthActions
from tests.mbtiles_files import BOX, tile_xy, write_mbtiles

JSON = {"Accept": "application/json", "Content-Type": "application/octet-stream"}


def _upload(client, path, name=None):
    return client.post("/admin/basemap", data=path.read_bytes(),
                       headers={**JSON, "X-Filename": name or path.name})


@pytest.fixture
def admin(client):
    AuthActions(client).login("admin")
    return client


def test_an_uploaded_basemap_is_served_and_its_coverage_shown(admin, config, db, tmp_path):
    path = write_mbtiles(tmp_path / "samutprakan.mbtiles")
    response = _upload(admin, path)
    assert response.status_code == 201, response.get_json()
    info = response.get_json()
    assert info["format"] == "png" and (info["min_zoom"], info["max_zoom"]) == (10, 12)
    page = admin.get("/admin/basemap").get_data(as_text=True)
    assert 'data-testid="basemap-info"' in page and "สมุทรปราการ" in page
    assert f'data-bounds="{",".join(map(str, BOX))}"' in page
    x, y = tile_xy(13.6, 100.6, 12)
    tile = admin.get(f"/tiles/12/{x}/{y}.png")
    assert tile.status_code == 200 and tile.data.startswith(b"\x89PNG")
    # The worklist now draws it.
    assert 'data-basemap="1"' in admin.get("/worklist").get_data(as_text=True)
    logged = db.execute("SELECT count(*) FROM audit_log WHERE action = 'settings.basemap'")
    assert logged.fetchone()[0] == 1


@pytest.mark.parametrize("kind, says", [
    ("zip", "ไม่ใช่ไฟล์ MBTiles"), ("vector", "pbf"), ("empty-tiles", "ไม่มีภาพแผนที่"),
    ("text", "ไม่ใช่ไฟล์ MBTiles")])
def test_a_bad_file_is_one_line_and_the_old_basemap_stays(admin, config, tmp_path, kind, says):
    assert _upload(admin, write_mbtiles(tmp_path / "good.mbtiles")).status_code == 201
    bad = tmp_path / f"bad-{kind}.mbtiles"
    if kind == "zip":
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr("tiles/12/1/1.png", b"x")
    elif kind == "vector":
        write_mbtiles(bad, fmt="pbf")
    elif kind == "empty-tiles":
        write_mbtiles(bad, zooms=())
    else:
        bad.write_text("not a map", encoding="utf-8")
    response = _upload(admin, bad)
    body = response.get_json()
    assert response.status_code == 400 and says in body["message"], body
    assert "\n" not in body["message"]
    maps = sorted(p.name for p in (config.data_dir / "maps").iterdir())
    assert maps == ["basemap.mbtiles"]  # the good one, nothing half-written beside it
    assert "สมุทรปราการ" in admin.get("/admin/basemap").get_data(as_text=True)


def test_a_basemap_over_the_limit_is_refused_while_it_streams(admin, app, config, tmp_path):
    config.web.max_basemap_mb = 1
    big = write_mbtiles(tmp_path / "big.mbtiles")
    import sqlite3

    with sqlite3.connect(big) as conn:  # 2 MB of photo-like tiles' worth
        conn.execute("INSERT INTO metadata VALUES ('description', ?)", ["ก" * (1 << 20)])
    assert big.stat().st_size > 1 << 20
    response = _upload(admin, big)
    assert response.status_code == 413, response.get_json()
    assert not (config.data_dir / "maps").exists() or not list((config.data_dir / "maps").iterdir())


def test_only_the_admin_reaches_the_basemap(client, tmp_path):
    AuthActions(client).login("surveyor")
    assert client.get("/admin/basemap").status_code == 403
    response = _upload(client, write_mbtiles(tmp_path / "m.mbtiles"))
    assert response.status_code == 403
