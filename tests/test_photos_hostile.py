"""The image half of the hostile-file corpus, posted to the real server as a tablet would
(name IMG_xxxx.jpg, type image/jpeg): each is refused whole in one Thai line, or, where it
really is a photo, stored sanely; nothing else is stored, the server keeps answering and
its peak memory stays where small photos put it."""

from __future__ import annotations

import io
import struct
import subprocess
import zlib

import pytest
import requests
from PIL import Image

from survey_node import photos, png_data
from survey_node.errors import BadInput
from tests import hostile_images as hi
from tests import phone_photos
from tests.conftest import require_system
from tests.live import running_node
from tests.test_photos_memory import logged_in, server_pid, status_kb

DAMAGED = "เสียหาย อ่านไม่ได้"
# What the corpus may add to the server's peak RSS: none of it decodes more than a
# 1536x1024 picture. (A grid HEIC claiming 16384 px took libheif to +372 MB before the
# grid was checked.)
CORPUS_RSS_MB = 100


def _short_jpeg() -> bytes:
    data = hi.jpeg()
    return data[:len(data) * 6 // 10]


REFUSED = {
    "PNG bomb 12000x9000 in 330 KB": (hi.png(12000, 9000), 400, "12000x9000 พิกเซล"),
    "PNG whose IHDR claims rows it lacks": (hi.png(4000, 3000, value=90, data_rows=10), 400,
                                            DAMAGED),
    "PNG whose IHDR claims narrower rows": (hi.png(1000, 800, value=77, data_width=8000),
                                            400, DAMAGED),
    "PNG with a forged IHDR (bad CRC)": (hi.png(1000, 800, ihdr_crc=1234), 400, DAMAGED),
    "JPEG declaring 12000x9000": (hi.jpeg_declaring(12000, 9000), 400, "12000x9000 พิกเซล"),
    "JPEG declaring 8000x8000 over 64x48 of data": (hi.jpeg_declaring(8000, 8000), 400,
                                                     DAMAGED),
    "JPEG declaring 1200x900 over 64x48 of data": (hi.jpeg_declaring(1200, 900), 400, DAMAGED),
    "JPEG declaring 65000x65000": (hi.jpeg_declaring(65000, 65000), 400, "ใหญ่เกินกว่าจะเปิดได้"),
    "HEIC declaring 60000x60000": (hi.heic_declaring(60000, 60000), 400, "60000x60000 พิกเซล"),
    "HEIC grid of 31x32 reused tiles": (hi.heic_huge_grid(31, 32), 400, "16384x15872 พิกเซล"),
    "HEIC grid of 8x8 under a smaller ispe": (hi.heic_huge_grid(8, 8), 400, DAMAGED),
    "GIF named .jpg": (hi.gif(), 400, "ภาพเคลื่อนไหว GIF"),
    "PDF named .jpg": (hi.pdf(), 400, "เอกสาร PDF"),
    "HTML named .jpg": (hi.html(), 400, "หน้าเว็บ"),
    "ZIP named .jpg": (hi.zip_file(), 400, "ไฟล์ ZIP"),
    "ZIP+JPEG polyglot (ZIP first)": (hi.zip_file() + hi.jpeg(), 400, "ไฟล์ ZIP"),
    "truncated JPEG": (_short_jpeg(), 400, DAMAGED),
    "empty file": (b"", 400, "ไฟล์ว่าง"),
}
ACCEPTED = {
    "JPEG+ZIP polyglot": hi.jpeg(colour=(30, 60, 90)) + hi.zip_file(),
    "JPEG with a 60 KB maker note": hi.jpeg(exif=hi.exif_with(1, maker_note_bytes=60_000),
                                            colour=(60, 90, 30)),
    "HEIC with a 3 MB maker note": phone_photos.iphone_heic((1536, 1024), 1,
                                                           maker_note_bytes=3_000_000),
    "Orientation 9": hi.jpeg(exif=hi.exif_with(9), colour=(1, 2, 3)),
    "Orientation 0": hi.jpeg(exif=hi.exif_with(0), colour=(4, 5, 6)),
    "Orientation 65535": hi.jpeg(exif=hi.exif_with(65535), colour=(7, 8, 9)),
    "Orientation as text": hi.jpeg(exif=hi.exif_orientation_entry(2, 2, b"6"),
                                   colour=(10, 11, 12)),
    "Orientation claiming 2**31 values": hi.jpeg(
        exif=hi.exif_orientation_entry(3, 0x7FFFFFFF, struct.pack("<I", 100)),
        colour=(13, 14, 15)),
}


def test_the_image_corpus_against_the_real_server(data_dir, users, db):
    env = {"SURVEY_NODE_GPS__BACKEND": "replay"}
    with running_node(data_dir, env=env) as base:
        pid = server_pid(base)
        session = logged_in(base)
        warm = session.post(f"{base}/api/v1/photos", timeout=60,
                            files={"photo": ("warm.jpg", hi.jpeg(), "image/jpeg")})
        assert warm.status_code == 201, warm.text
        before_kb = status_kb(pid, "VmHWM")
        problems = []
        for number, (what, (data, status, thai)) in enumerate(REFUSED.items()):
            name = f"IMG_{1000 + number}.jpg"
            answer = session.post(f"{base}/api/v1/photos", timeout=60,
                                  files={"photo": (name, data, "image/jpeg")})
            message = answer.json().get("message", "") if answer.headers.get(
                "Content-Type", "").startswith("application/json") else answer.text[:200]
            if (answer.status_code != status or thai not in message or name not in message
                    or "\n" in message):
                problems.append(f"{what}: {answer.status_code} {message}")
            if requests.get(f"{base}/healthz", timeout=10).status_code != 200:
                problems.append(f"{what}: the server stopped answering")
        stored = {}
        for number, (what, data) in enumerate(ACCEPTED.items()):
            answer = session.post(f"{base}/api/v1/photos", timeout=60,
                                  files={"photo": (f"IMG_{2000 + number}.jpg", data,
                                                   "image/jpeg")})
            if answer.status_code != 201:
                problems.append(f"{what}: {answer.status_code} {answer.text[:200]}")
                continue
            stored[what] = session.get(f"{base}{answer.json()['url']}", timeout=10).content
        peak_kb = status_kb(pid, "VmHWM")
    assert not problems, "\n".join(problems)
    # Nothing but the accepted photos (and the warm-up) was stored.
    assert db.execute("select count(*) from evidence").fetchone()[0] == len(ACCEPTED) + 1
    assert peak_kb - before_kb <= CORPUS_RSS_MB * 1024, (
        f"the corpus took the server from {before_kb // 1024} to {peak_kb // 1024} MB")
    for what, data in stored.items():
        img = Image.open(io.BytesIO(data))
        assert img.format == "JPEG", what
        assert b"PK\x03\x04" not in data, what  # the ZIP half is not kept
        exif = img.getexif()
        assert 0x927C not in exif.get_ifd(0x8769), what  # no maker note: the node's EXIF only
        assert photos.read_exif(data)["orientation"] == 1, what
        if what.startswith("Orientation"):
            # A value that names no turn leaves the pixels as they are.
            assert img.size == (1200, 900), what
            assert img.getpixel((10, 10))[0] > 150, what  # the red corner is still top-left


# -- PNG data completeness, against other encoders' files ------------------------------


@pytest.mark.parametrize("mode", ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"))
@pytest.mark.parametrize("size", ((1, 1), (3, 5), (17, 9), (641, 480)))
def test_complete_pngs_of_every_mode_pass_the_data_check(mode, size):
    base = Image.effect_noise(size, 60)
    img = base.convert("I").convert("I;16") if mode == "I;16" else base.convert(mode)
    out = io.BytesIO()
    img.save(out, "PNG")
    png_data.check_complete(out.getvalue())


def _interlaced(tmp_path, img: Image.Image) -> bytes:
    """The picture as libpng writes an Adam7-interlaced PNG (optipng -i1)."""
    require_system("optipng")
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    img.save(src)
    subprocess.run(["optipng", "-quiet", "-i1", "-o1", "-out", str(dst), str(src)], check=True,
                   timeout=60)
    data = dst.read_bytes()
    assert data[28] == 1  # IHDR interlace method: Adam7
    return data


@pytest.mark.parametrize("mode,size", (("RGB", (1023, 767)), ("L", (5, 3)), ("RGBA", (9, 1)),
                                       ("P", (1, 9))))
def test_an_interlaced_png_is_stored_and_one_missing_its_last_rows_refused(tmp_path, mode, size):
    data = _interlaced(tmp_path, Image.effect_noise(size, 60).convert(mode))
    photo = photos.process(data, position=None, node_id="n", name="scan.png")
    assert (photo.width, photo.height) == size
    # The same file with its pixel data recompressed one byte short (other chunks kept).
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    short, idat_done = data[:8], False
    for kind, body in chunks:
        if kind != b"IDAT":
            short += hi.png_chunk(kind, body)
        elif not idat_done:
            short += hi.png_chunk(b"IDAT", zlib.compress(raw[:-1]))
            idat_done = True
    with pytest.raises(BadInput, match="damaged") as info:
        photos.process(short, position=None, node_id="n", name="scan.png")
    assert "\n" not in str(info.value)


# -- JPEG coded-data floor, against other encoders' files ------------------------------


def _pillow_jpeg(size, mode, *, flat, **kw):
    img = Image.new("RGB", size, (128, 128, 128)) if flat else Image.effect_noise(size, 50)
    out = io.BytesIO()
    img.convert(mode).save(out, "JPEG", **kw)
    return out.getvalue()


@pytest.mark.parametrize("size", ((1, 1), (7, 9), (4000, 3000)))
@pytest.mark.parametrize("flat", (True, False), ids=("flat", "texture"))
@pytest.mark.parametrize("options", (
    {"mode": "RGB", "subsampling": 0}, {"mode": "RGB", "subsampling": 2, "optimize": True},
    {"mode": "L", "optimize": True, "quality": 5}, {"mode": "CMYK"},
    {"mode": "RGB", "progressive": True}), ids=str)
def test_complete_jpegs_pass_the_coded_data_floor(size, flat, options):
    # A flat picture with optimised tables sits exactly on the floor (2 bits a block).
    options = dict(options)
    data = _pillow_jpeg(size, options.pop("mode"), flat=flat, **options)
    photo = photos.process(data, position=None, node_id="n")
    assert photo.width / photo.height == pytest.approx(size[0] / size[1], rel=0.02)


def test_opencv_and_ffmpeg_jpegs_pass_the_coded_data_floor(tmp_path):
    import cv2
    import numpy as np

    require_system("ffmpeg")
    files = {"opencv flat": cv2.imencode(".jpg", np.zeros((3000, 4000, 3), np.uint8))[1],
             "opencv grey q5": cv2.imencode(".jpg", np.full((2160, 3840), 255, np.uint8),
                                            [cv2.IMWRITE_JPEG_QUALITY, 5])[1]}
    files = {what: array.tobytes() for what, array in files.items()}
    for huffman in ("default", "optimal"):  # ffmpeg's mjpeg: standard or per-frame tables
        path = tmp_path / f"{huffman}.jpg"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "color=c=gray:s=3840x2160", "-frames:v", "1", "-c:v", "mjpeg",
                        "-huffman", huffman, "-q:v", "31", str(path)], check=True, timeout=60)
        files[f"ffmpeg {huffman} tables"] = path.read_bytes()
    for what, data in files.items():
        photo = photos.process(data, position=None, node_id="n", name=what)
        source = Image.open(io.BytesIO(data)).size
        assert photo.width / photo.height == pytest.approx(source[0] / source[1], rel=0.01)


def test_a_jpeg_cut_to_its_first_blocks_and_closed_again_is_refused():
    # A cut file with an end-of-image marker put back: libjpeg would fill the rest grey and
    # call it a photo. The floor (2-4 bits a block) catches a file holding far less data
    # than its blocks need, as here (1 %); a photo cut nearer its end stays undetected.
    data = _pillow_jpeg((2400, 1800), "RGB", flat=False, quality=90)
    cut = data[:len(data) // 100] + b"\xff\xd9"
    with pytest.raises(BadInput, match="damaged"):
        photos.process(cut, position=None, node_id="n", name="IMG_7.jpg")
