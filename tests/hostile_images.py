"""Hostile and odd picture files, made at test time and small on disk.

PNGs are written chunk by chunk (zlib fed row by row), so a 64-megapixel bomb costs this
process a few kilobytes, not the 192 MB its pixels would, and its header can say anything.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image


def png_chunk(kind: bytes, payload: bytes, *, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + payload) if crc is None else crc
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", value)


def png(width: int, height: int, *, value: int = 0, alpha: bool = False,
        data_rows: int | None = None, data_width: int | None = None,
        ihdr_crc: int | None = None) -> bytes:
    """An 8-bit RGB (or RGBA) PNG of one colour. `data_rows`/`data_width` make the pixel
    data disagree with what IHDR declares (fewer rows, wider rows)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    row = b"\x00" + bytes([value]) * ((4 if alpha else 3) * (data_width or width))
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height if data_rows is None else data_rows)]
    parts.append(packer.flush())
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr, crc=ihdr_crc)
            + png_chunk(b"IDAT", b"".join(parts)) + png_chunk(b"IEND", b""))


def jpeg(width: int = 1200, height: int = 900, *, exif: bytes = b"",
         colour=(90, 140, 60)) -> bytes:
    img = Image.new("RGB", (width, height), colour)
    img.paste((200, 30, 30), (0, 0, width // 4, height // 4))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is rewritten to claim another size."""
    data = bytearray(jpeg(64, 48))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def exif_with(orientation=None, *, maker_note_bytes: int = 0) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if maker_note_bytes:
        exif.get_ifd(0x8769)[0x927C] = b"Nikon\x00" + bytes(range(256)) * (maker_note_bytes // 256)
    return exif.tobytes()


def gif() -> bytes:
    frames = [Image.new("P", (64, 64), i) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def zip_file(extra: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("evil.txt", "not a photo " * 100)
    return extra + out.getvalue()


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n"
            b"%%EOF\n")


def html() -> bytes:
    return b"\n  <!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n"


def heic_grid_declaring(width: int, height: int) -> bytes:
    """An iPhone-shaped HEIC (a grid of 512 px tiles) whose grid claims another output size
    while its `ispe` keeps the real one: libheif would allocate the claimed size."""
    from tests import phone_photos

    data = phone_photos.iphone_heic((1536, 1024), 1)
    # The grid item's body: version 0, flags 0 (16-bit sizes), 2 rows, 3 columns, 1536x1024.
    real = bytes([0, 0, 1, 2]) + struct.pack(">HH", 1536, 1024)
    assert data.count(real) == 1
    return data.replace(real, bytes([0, 0, 1, 2]) + struct.pack(">HH", width, height))


def heic_declaring(width: int, height: int) -> bytes:
    """The same HEIC with its primary image's `ispe` rewritten."""
    from tests import phone_photos

    data = phone_photos.iphone_heic((1536, 1024), 1)
    real = b"ispe" + bytes(4) + struct.pack(">II", 1536, 1024)
    assert data.count(real) == 1
    return data.replace(real, b"ispe" + bytes(4) + struct.pack(">II", width, height))
