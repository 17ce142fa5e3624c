"""HEIC/HEIF (and AVIF) photos from phones and tablets: upright, stamped, hashed, or refused.

The files are made here (tests/phone_photos.py): iPhone-shaped ones by pillow-heif (grid of
512x512 tiles, irot/imir AND EXIF Orientation, thumbnail, maker notes), Android-shaped ones
(EXIF Orientation only) by Debian's heif-enc, an encoder other than the one that reads them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct

import pillow_heif
import pytest
from PIL import Image, features

from survey_node import heif_box, photos
from survey_node.errors import BadInput
from survey_node.evidence import EvidenceStore
from tests import phone_photos as pp
from tests.conftest import require_system

FIX = {"lat": 13.7563, "lon": 100.5018, "alt": 4.0, "mode": 3, "hdop": 0.9, "eph": 3.5,
       "sats_used": 11, "time": "2026-11-25T03:04:05Z"}
SHAPES = {"landscape": pp.LANDSCAPE, "portrait": pp.PORTRAIT}


def stored(data, **kw):
    return photos.process(data, position=FIX, node_id="node-h1", name="IMG_4031.HEIC", **kw)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_iphone_heic_stores_upright_for_every_orientation(orientation, shape):
    data = pp.iphone_heic(SHAPES[shape], orientation)
    layout = heif_box.inspect(data)
    # The file is shaped like an iPhone's: a tile grid, and a transform besides the EXIF tag.
    assert pillow_heif.open_heif(data).info["tiling"]["tile_width"] == 512
    assert layout.transformed == (orientation != 1)
    photo = stored(data)
    assert pp.is_upright(photo.data, SHAPES[shape]) == ""  # not turned a second time
    assert Image.open(io.BytesIO(photo.data)).format == "JPEG"
    assert photos.read_exif(photo.data)["orientation"] == 1


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_android_heic_with_only_exif_orientation_stores_upright(orientation, shape):
    require_system("heif-enc")
    data = pp.android_heic(SHAPES[shape], orientation)
    assert not heif_box.inspect(data).transformed  # the phone wrote no irot/imir
    assert pp.is_upright(stored(data).data, SHAPES[shape]) == ""


def test_a_12_megapixel_iphone_portrait_with_60_kb_maker_notes():
    # Held upright: the sensor's 4032x3024 frame, irot 90 and EXIF Orientation 6.
    data = pp.iphone_heic((3024, 4032), 6, maker_note_bytes=60_000)
    layout = heif_box.inspect(data)
    assert layout.size == (4032, 3024) and layout.transformed
    taken = dt.datetime(2026, 11, 25, 3, 4, 6, tzinfo=dt.timezone.utc)
    photo = stored(data, taken_at=taken)
    assert (photo.width, photo.height) == (1536, 2048)
    assert pp.is_upright(photo.data, (1536, 2048)) == ""
    read = photos.read_exif(photo.data)
    # The node's EXIF, as for a JPEG: its GPS fix, UTC time and id, not the phone's.
    assert read["lat"] == pytest.approx(13.7563, abs=1e-6)
    assert read["lon"] == pytest.approx(100.5018, abs=1e-6)
    assert read["datetime_original"] == "2026:11:25 03:04:06" and read["node_id"] == "node-h1"
    assert read["software"].startswith("survey-node")
    assert photo.source_mime == "image/heic"
    assert photo.source_sha256 == hashlib.sha256(data).hexdigest()
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()


def test_a_heic_with_a_trailer_after_its_last_box_is_accepted():
    # Some phones append their own trailer (not an ISO box) after the picture data.
    data = pp.iphone_heic(pp.PORTRAIT, 6) + b"SEFH\x6b\x00\x00\x00" + bytes(300) + b"SEFT"
    assert pp.is_upright(stored(data).data, pp.PORTRAIT) == ""


def test_ten_bit_hdr_heic_is_stored_as_an_8_bit_jpeg():
    data = pp.iphone_heic(pp.PORTRAIT, 6, bit_depth=10)
    assert pillow_heif.open_heif(data).info["bit_depth"] == 10
    photo = stored(data)
    img = Image.open(io.BytesIO(photo.data))
    assert img.mode == "RGB" and pp.is_upright(photo.data, pp.PORTRAIT) == ""


def test_heic_with_alpha_is_flattened_on_white():
    scene = pp.scene(pp.LANDSCAPE, mode="RGBA")
    w, h = scene.size
    scene.paste((0, 0, 0, 0), (0, h // 2, w, h))  # the lower half is transparent
    photo = stored(pp.iphone_heic(pp.LANDSCAPE, 8, content=scene, alpha=True))
    img = Image.open(io.BytesIO(photo.data))
    assert img.size == pp.LANDSCAPE
    assert img.getpixel((w // 8, h // 8))[0] > 180  # red marker, top-left
    assert min(img.getpixel((w // 2, h - 20))) > 230  # transparent -> white, not black


def test_the_primary_image_is_stored_not_the_first_one():
    data = pp.iphone_heic(pp.PORTRAIT, 5, second_image=True)
    assert len(pillow_heif.open_heif(data)) == 2
    assert pp.is_upright(stored(data).data, pp.PORTRAIT) == ""


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
@pytest.mark.parametrize("orientation", (1, 6, 3))
def test_avif_is_accepted_and_upright(orientation):
    out = io.BytesIO()
    # Pillow writes EXIF Orientation as irot/imir (AVIF has no other), as libavif apps do.
    pp.sensor(pp.scene(pp.PORTRAIT), orientation).save(
        out, "AVIF", quality=60, exif=pp.phone_exif(orientation))
    photo = stored(out.getvalue())
    assert photo.source_mime == "image/avif"
    assert pp.is_upright(photo.data, pp.PORTRAIT) == ""


def test_saved_heic_records_the_original_hash_and_type(db, config):
    data = pp.iphone_heic(pp.PORTRAIT, 6)
    store = EvidenceStore(config.evidence_dir)
    taken = dt.datetime.now(dt.timezone.utc)
    photo = stored(data, taken_at=taken)
    record = photos.save_photo(db, store, photo, source="upload", taken_at=taken, position=FIX,
                               node_id="node-h1", actor="surveyor", original_name="IMG_4031.HEIC")
    assert record["original_sha256"] == hashlib.sha256(data).hexdigest()
    assert record["original_mime"] == "image/heic" and record["mime"] == "image/jpeg"
    assert record["original_name"] == "IMG_4031.HEIC"
    assert store.verify(photo.sha256)


# -- refused -----------------------------------------------------------------------------


def _one_line(data, what, name="IMG_4031.HEIC", **kw):
    with pytest.raises(BadInput) as info:
        photos.process(data, position=None, node_id="n", name=name, **kw)
    line = str(info.value)
    assert line.startswith(name + " ") and what in line and "\n" not in line, line
    return line


@pytest.mark.parametrize("keep", (0.98, 0.6, 0.2))
def test_a_heic_cut_short_is_refused_not_stored_with_green_tiles(keep):
    # Noise, so that the tiles' bytes fill most of the file and a cut lands inside them.
    noise = Image.effect_noise((1536, 1024), 80).convert("RGB")
    data = pp.iphone_heic(pp.LANDSCAPE, 6, content=noise, quality=80)
    _one_line(data[:int(len(data) * keep)], "is cut short")


@pytest.mark.parametrize("cut", (12, 40, 300))
def test_a_heic_cut_inside_its_header_is_refused(cut):
    data = pp.iphone_heic(pp.LANDSCAPE, 1)
    line = _one_line(data[:cut], "IMG_4031.HEIC")
    assert "cut short" in line or "damaged" in line


def test_a_heic_with_scrambled_tiles_or_header_is_refused():
    data = bytearray(pp.iphone_heic(pp.LANDSCAPE, 6))
    meta = data.find(b"meta")
    data[meta + 40:meta + 200] = bytes(160)
    _one_line(bytes(data), "damaged and cannot be read")
    _one_line(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\xde\xad" * 500,
              "IMG_4031.HEIC")


def _with_ispe(data: bytes, width: int, height: int) -> bytes:
    """Every `ispe` (image spatial extents) property rewritten to claim another size."""
    out, at = bytearray(data), 0
    while (at := out.find(b"ispe", at)) > 0:
        out[at + 8:at + 16] = struct.pack(">II", width, height)
        at += 4
    return bytes(out)


@pytest.mark.parametrize("width,height", ((9000, 9000), (30000, 30000), (65535, 65535)))
def test_a_heic_bomb_is_refused_from_its_header(width, height):
    bomb = _with_ispe(pp.iphone_heic(pp.LANDSCAPE, 1), width, height)
    _one_line(bomb, f"{width}x{height} pixels; the largest accepted is 64 megapixels")


def test_a_heic_lying_about_its_size_is_refused():
    # The header says 64x48 but the picture inside is 1536x1024: libheif refuses to decode
    # more than the header promised, so nothing larger than the checked size is allocated.
    _one_line(_with_ispe(pp.iphone_heic(pp.LANDSCAPE, 1, tile=0), 64, 48),
              "damaged and cannot be read")


def test_a_renamed_pdf_is_still_refused_by_its_content():
    _one_line(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3 a scanned form", "is a PDF document, not a photo")



def test_doctor_says_heic_photos_can_be_read_here(config):
    from survey_node import doctor

    found = {c.name: c for c in doctor.run_checks(config)}["photo_formats"]
    # The wheel's own libheif, with the HEVC decoder that iPhone photos need.
    assert found.status == "ok" and "HEIC: libheif" in found.detail
    assert "libde265" in found.detail or "ffmpeg" in found.detail
