"""Photos shaped like phones' and tablets' files, made at test time (nothing is downloaded).

Every picture is an upright *scene* with two markers: red in the top-left corner, blue in the
top-right. A phone stores the sensor's pixels and records how it was held, so the files hold
the scene turned back into the sensor's frame plus the orientation; a stored photo is upright
when red is top-left and blue top-right again (that tells all eight orientations apart).

* iphone_heic: pillow-heif (bundled libheif + x265), as an iPhone writes: a grid of 512x512
  tiles, an `irot`/`imir` transform AND the same EXIF Orientation, a thumbnail, Apple maker
  notes of any size, optionally 10 bits, alpha or a second, non-primary image.
* android_heic: Debian's heif-enc (libheif 1.15, system x265: another build than the reader),
  as some Android phones write: the EXIF Orientation only, no transform.
"""

from __future__ import annotations

import io
import os
import subprocess
import tempfile

import numpy as np
import pillow_heif
from PIL import Image

RED, BLUE, DARK = (220, 30, 30), (30, 40, 220), (25, 25, 25)
# The transpose that brings an upright scene into the sensor's frame for each orientation
# (the inverse of the one a viewer applies).
TO_SENSOR = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
LANDSCAPE, PORTRAIT = (1536, 1024), (1024, 1536)


def scene(size, *, mode="RGB") -> Image.Image:
    width, height = size
    img = Image.new(mode, size, DARK + ((255,) if mode == "RGBA" else ()))
    img.paste(RED, (0, 0, width // 4, height // 4))
    img.paste(BLUE, (width - width // 4, 0, width, height // 4))
    return img


def sensor(img: Image.Image, orientation: int) -> Image.Image:
    return img.transpose(TO_SENSOR[orientation]) if orientation in TO_SENSOR else img.copy()


def phone_exif(orientation: int, *, make="Apple", model="iPhone 15 Pro",
               maker_note_bytes: int = 2000) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0131] = "17.5.1"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2026:11:20 09:15:02"   # the phone's own clock: the node's time is kept
    sub[0x927C] = b"Apple iOS\x00" + os.urandom(max(0, maker_note_bytes - 10))
    return exif.tobytes()


def iphone_heic(size=LANDSCAPE, orientation=1, *, tile=512, maker_note_bytes=2000,
                bit_depth=8, alpha=False, second_image=False, quality=60,
                content: Image.Image | None = None, preset: str | None = None) -> bytes:
    """A HEIC as an iPhone writes it (see the module's docstring). `preset`: x265's speed
    ("ultrafast" encodes 12 MP of noise in 3 s, not 20): how hard the encoder searches, not
    the file's shape, which stays a tiled HEVC grid any decoder reads the same way."""
    upright = content if content is not None else scene(size, mode="RGBA" if alpha else "RGB")
    pixels = sensor(upright, orientation)
    exif = phone_exif(orientation, maker_note_bytes=maker_note_bytes)
    out = io.BytesIO()
    options = {"exif": exif, "quality": quality, "tile_size": tile, "thumbnails": [256]}
    if preset:
        options["enc_params"] = {"preset": preset}
    if bit_depth > 8:
        wide = (np.asarray(pixels.convert("RGB"), dtype=np.uint16) * 257)
        heif = pillow_heif.from_bytes(mode="RGB;16", size=pixels.size, data=wide.tobytes())
        heif.save(out, **options)
    elif second_image:
        # A burst/edited pair: a full-blue decoy first, the real photo marked primary.
        decoy = pillow_heif.from_pillow(Image.new("RGB", (800, 600), BLUE))
        decoy.add_from_pillow(pixels)
        decoy.save(out, primary_index=1, **options)
    else:
        pillow_heif.from_pillow(pixels).save(out, **options)
    return out.getvalue()


def android_heic(size=LANDSCAPE, orientation=1, *, quality=60) -> bytes:
    """A HEIC with the EXIF Orientation only, written by Debian's heif-enc from a JPEG."""
    pixels = sensor(scene(size), orientation)
    with tempfile.TemporaryDirectory() as folder:
        source, target = os.path.join(folder, "in.jpg"), os.path.join(folder, "out.heic")
        pixels.save(source, "JPEG", quality=95,
                    exif=phone_exif(orientation, make="samsung", model="SM-S921B"))
        subprocess.run(["heif-enc", "-q", str(quality), "-o", target, source], check=True,
                       capture_output=True, timeout=120)
        with open(target, "rb") as fh:
            return fh.read()


def jpeg(size=LANDSCAPE, orientation=1) -> bytes:
    out = io.BytesIO()
    sensor(scene(size), orientation).save(out, "JPEG", quality=90,
                                          exif=phone_exif(orientation))
    return out.getvalue()


def is_upright(data: bytes, size) -> str:
    """'' when the stored picture shows the scene upright, else what is wrong."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if img.size != tuple(size):
        return f"size {img.size}, expected {tuple(size)}"
    w, h = img.size
    spots = {"top-left": ((w // 8, h // 8), RED), "top-right": ((w - w // 8, h // 8), BLUE),
             "bottom-left": ((w // 8, h - h // 8), DARK),
             "bottom-right": ((w - w // 8, h - h // 8), DARK)}
    for where, (xy, want) in spots.items():
        got = img.getpixel(xy)
        if max(abs(a - b) for a, b in zip(got, want)) > 40:
            return f"{where} is {got}, expected {want}"
    return ""
