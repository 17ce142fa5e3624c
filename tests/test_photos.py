"""The photo pipeline with generated pictures: orientation, size, PNG, non-images, EXIF."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from PIL import Image

from survey_node import photos
from survey_node.db import evidence as evidence_db
from survey_node.db import rows_audit
from survey_node.errors import BadInput
from survey_node.evidence import EvidenceStore
from tests import phone_photos

FIX = {"lat": 13.5993, "lon": 100.5968, "alt": 2.5, "mode": 3, "hdop": 0.8, "eph": 4.2,
       "sats_used": 9, "time": "2026-11-25T03:04:05.500Z"}


def jpeg(width, height, *, orientation=None, colour=(200, 30, 30)) -> bytes:
    img = Image.new("RGB", (width, height), (20, 20, 20))
    # A red block in the top-left corner tells which way is up after orientation.
    img.paste(colour, (0, 0, width // 4, height // 4))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    img.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def test_photo_is_bounded_stamped_and_hashed_last():
    taken = dt.datetime(2026, 11, 25, 3, 4, 6, tzinfo=dt.timezone.utc)
    photo = photos.process(jpeg(4000, 3000), taken_at=taken, position=FIX, node_id="node-t1")
    # libjpeg's 1/2 scale: 2000 px is within the 2048 px bound and spares a full decode.
    assert (photo.width, photo.height) == (2000, 1500)
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    read = photos.read_exif(photo.data)
    assert read["lat"] == pytest.approx(13.5993, abs=1e-6)
    assert read["lon"] == pytest.approx(100.5968, abs=1e-6)
    assert read["alt"] == pytest.approx(2.5) and read["h_error_m"] == pytest.approx(4.2)
    assert read["datetime_original"] == "2026:11:25 03:04:06"
    assert read["gps_date"] == "2026:11:25" and read["satellites"] == "9"
    assert read["node_id"] == "node-t1" and read["orientation"] == 1


def test_exif_orientation_is_applied_to_the_pixels():
    # Orientation 6: the camera was turned; the stored photo must stand upright.
    photo = photos.process(jpeg(1200, 800, orientation=6), position=None, node_id="n")
    img = Image.open(io.BytesIO(photo.data))
    assert img.size == (800, 1200)
    # The red block, top-left in the sensor's frame, is now at the top-right.
    r, g, b = img.getpixel((img.width - 20, 20))
    assert r > 150 and g < 80
    assert photos.read_exif(photo.data)["orientation"] == 1


@pytest.mark.parametrize("shape", ("landscape", "portrait"))
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_of_a_jpeg_stores_upright(orientation, shape):
    size = phone_photos.LANDSCAPE if shape == "landscape" else phone_photos.PORTRAIT
    photo = photos.process(phone_photos.jpeg(size, orientation), position=None, node_id="n")
    assert phone_photos.is_upright(photo.data, size) == ""
    assert photos.read_exif(photo.data)["orientation"] == 1


def test_huge_dimensions_are_scaled_down_and_absurd_ones_refused():
    for w, h in ((8000, 6000), (6000, 4000), (2100, 1000)):
        photo = photos.process(jpeg(w, h), position=None, node_id="n")
        assert 0.95 * 2048 <= max(photo.width, photo.height) <= 2048, (w, h)
        assert photo.width / photo.height == pytest.approx(w / h, rel=0.01)
    out = io.BytesIO()
    Image.new("RGB", (5000, 3000)).save(out, "PNG")
    assert (photos.process(out.getvalue(), position=None, node_id="n").width) == 2048
    out = io.BytesIO()
    Image.new("L", (12000, 12000)).save(out, "PNG")  # 144 MP: a decompression bomb on a Pi
    with pytest.raises(BadInput, match="12000x12000 pixels"):
        photos.process(out.getvalue(), position=None, node_id="n", name="bomb.png")


def test_png_with_transparency_becomes_a_jpeg_on_white():
    img = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    photo = photos.process(out.getvalue(), position=FIX, node_id="n")
    stored = Image.open(io.BytesIO(photo.data))
    assert stored.format == "JPEG" and stored.size == (300, 200)
    assert stored.getpixel((10, 10))[0] > 240  # transparent -> white, not black
    assert photo.source_mime == "image/png"


def test_webp_is_accepted():
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (1, 2, 3)).save(out, "WEBP")
    photo = photos.process(out.getvalue(), position=None, node_id="n")
    assert photo.source_mime == "image/webp" and Image.open(io.BytesIO(photo.data)).format == "JPEG"


@pytest.mark.parametrize("data,what", [
    (b"%PDF-1.7\n%...", "is a PDF document, not a photo"),
    (b"PK\x03\x04rest-of-a-zip", "is a ZIP or Office file, not a photo"),
    (b"<html><body>hi</body></html>", "is a web page or XML, not a photo"),
    (b"MZ\x90\x00 a program", "is not a photo (JPEG, PNG, WebP or HEIC)"),
    (b"", "is empty"),
])
def test_renamed_non_images_are_refused_in_one_line(data, what):
    with pytest.raises(BadInput) as info:
        photos.process(data, position=None, node_id="n", name="IMG_0001.jpg")
    line = str(info.value)
    assert line.startswith("IMG_0001.jpg ") and what in line and "\n" not in line


def test_truncated_jpeg_is_refused_as_damaged():
    data = jpeg(800, 600)[:2000]
    with pytest.raises(BadInput, match="damaged"):
        photos.process(data, position=None, node_id="n", name="cut.jpg")


def test_saved_photo_has_record_thumbnail_and_audit(db, config):
    store = EvidenceStore(config.evidence_dir)
    taken = dt.datetime.now(dt.timezone.utc)
    photo = photos.process(jpeg(3000, 2000), position=FIX, node_id="node-x", taken_at=taken)
    record = photos.save_photo(db, store, photo, source="upload", taken_at=taken, position=FIX,
                               node_id="node-x", actor="surveyor", original_name="a.jpg")
    assert record["width"] == 2048 and record["fix_mode"] == 3 and record["h_error_m"] == 4.2
    assert record["original_sha256"] and record["original_mime"] == "image/jpeg"
    assert store.verify(photo.sha256)
    thumb = Image.open(store.thumb_path(photo.sha256))
    assert max(thumb.size) == config.camera.thumb_size
    # The same photo again: one record, one audit line.
    photos.save_photo(db, store, photo, source="upload", taken_at=taken, position=FIX,
                      node_id="node-x", actor="surveyor")
    assert len(evidence_db.rows_evidence(db, [photo.sha256])) == 1
    assert len([a for a in rows_audit(db, entity="evidence")]) == 1


def test_thumbnails_are_rebuilt_when_lost(config):
    store = EvidenceStore(config.evidence_dir)
    photo = photos.process(jpeg(1000, 1000), position=None, node_id="n")
    store.put_bytes(photo.data)
    assert not store.thumb_path(photo.sha256).exists()
    assert photos.rebuild_thumbnails(store, 200) == 1
    assert max(Image.open(store.thumb_path(photo.sha256)).size) == 200
    store.thumb_path(photo.sha256).unlink()
    path = photos.thumbnail_path(store, photo.sha256, 200)
    assert path.exists()


def test_cli_rebuilds_thumbnails_and_finds_damaged_evidence(cli, data_dir, config):
    store = EvidenceStore(config.evidence_dir)
    photo = photos.process(jpeg(800, 600), position=None, node_id="n")
    store.put_bytes(photo.data)
    result = cli("evidence", "thumbnails", "--data-dir", data_dir, "--json")
    assert result.exit_code == 0 and '"thumbnails": 1' in result.output
    assert store.thumb_path(photo.sha256).exists()
    assert cli("evidence", "verify", "--data-dir", data_dir).exit_code == 0
    path = store.path(photo.sha256)
    path.chmod(0o644)
    path.write_bytes(photo.data[:-10])  # the SD card lost the end of the file
    result = cli("evidence", "verify", "--data-dir", data_dir)
    assert result.exit_code == 1 and photo.sha256 in result.output
