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


def exif_orientation_entry(kind: int, count: int, value: bytes) -> bytes:
    """EXIF whose only entry is an Orientation of any TIFF type and count, written by hand
    (Pillow writes only a well-formed SHORT): ASCII "6", a LONG, three SHORTs..."""
    entry = struct.pack("<HHI", 0x0112, kind, count) + value.ljust(4, b"\0")[:4]
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + struct.pack("<H", 1) + entry + bytes(4)


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


def heic_huge_grid(rows: int, columns: int) -> bytes:
    """An iPhone-shaped HEIC whose grid is rows x columns of its six 512 px tiles, each used
    again and again: a file of a few KB that decodes to rows*512 x columns*512 pixels, while
    its `ispe` still says 1536x1024 (what a header check sees)."""
    from tests import phone_photos
    from survey_node import heif_box

    data = phone_photos.iphone_heic((1536, 1024), 1)
    meta = next((p, e) for k, p, e in heif_box._boxes(data, 0, len(data)) if k == b"meta")
    children = {k: (p, e) for k, p, e in heif_box._boxes(data, meta[0] + 4, meta[1])}
    idat, iref, iloc = children[b"idat"], children[b"iref"], children[b"iloc"]
    grid = bytes([0, 0, rows - 1, columns - 1]) + struct.pack(">HH", columns * 512, rows * 512)
    assert data[idat[0]:idat[1]][:4] == bytes([0, 0, 1, 2]) and idat[1] - idat[0] == 8
    # iref (version 0): dimg from item 1 to tiles 2..7 becomes rows*columns references.
    body = data[iref[0]:iref[1]]
    dimg = body.index(b"dimg")
    tiles = rows * columns
    refs = struct.pack(">HH", 1, tiles) + b"".join(struct.pack(">H", 2 + i % 6)
                                                   for i in range(tiles))
    old_len = struct.unpack(">I", body[dimg - 4:dimg])[0]
    new_dimg = struct.pack(">I", 8 + len(refs)) + b"dimg" + refs
    body = body[:dimg - 4] + new_dimg + body[dimg - 4 + old_len:]
    grow = len(body) - (iref[1] - iref[0])
    out = bytearray(data[:iref[0]] + body + data[iref[1]:])
    out[iref[0] - 8:iref[0] - 4] = struct.pack(">I", len(body) + 8)
    out[meta[0] - 8:meta[0] - 4] = struct.pack(">I", meta[1] - meta[0] + 8 + grow)
    out[idat[0]:idat[1]] = grid
    _shift_iloc(out, iloc, grow)
    return bytes(out)


def _shift_iloc(out: bytearray, iloc: tuple[int, int], grow: int) -> None:
    """Move every file-offset extent (construction method 0) by `grow` bytes."""
    pos = iloc[0]
    version = out[pos]
    sizes, more = out[pos + 4], out[pos + 5]
    offset_size, length_size, base_size = sizes >> 4, sizes & 15, more >> 4
    index_size = more & 15 if version in (1, 2) else 0
    pos += 6
    count_size = 2 if version < 2 else 4
    count = int.from_bytes(out[pos:pos + count_size], "big")
    pos += count_size
    for _ in range(count):
        pos += count_size  # item id
        method = 0
        if version in (1, 2):
            method = int.from_bytes(out[pos:pos + 2], "big") & 15
            pos += 2
        pos += 2  # data reference index
        base = int.from_bytes(out[pos:pos + base_size], "big")
        if method == 0 and base_size:
            out[pos:pos + base_size] = (base + grow).to_bytes(base_size, "big")
        pos += base_size
        extents = int.from_bytes(out[pos:pos + 2], "big")
        pos += 2
        for _ in range(extents):
            pos += index_size
            offset = int.from_bytes(out[pos:pos + offset_size], "big")
            if method == 0 and not base_size:
                out[pos:pos + offset_size] = (offset + grow).to_bytes(offset_size, "big")
            pos += offset_size + length_size


def heic_declaring(width: int, height: int) -> bytes:
    """The same HEIC with its primary image's `ispe` rewritten."""
    from tests import phone_photos

    data = phone_photos.iphone_heic((1536, 1024), 1)
    real = b"ispe" + bytes(4) + struct.pack(">II", 1536, 1024)
    assert data.count(real) == 1
    return data.replace(real, b"ispe" + bytes(4) + struct.pack(">II", width, height))
