"""Whether a PNG's pixel data is all there, judged before Pillow decodes it.

Pillow stops decoding a PNG when its zlib stream ends and keeps the rows it never received
as black: a file whose IHDR claims 4000x3000 with ten rows of data behind it (or one cut
short and closed again by a tool) would be stored as a black photo. The stream is inflated
here once, a bounded piece at a time, counting bytes without keeping them, and compared
with what IHDR's size, depth, colour type and interlacing require.
"""

from __future__ import annotations

import math
import struct
import zlib

PIECE = 1 << 20  # inflated bytes per step: the count costs this much memory, not the image
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: first column, first row, column step, row step.
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2))


class Incomplete(ValueError):
    """The pixel data is shorter than IHDR requires, or not a valid zlib stream."""


def expected_bytes(width: int, height: int, depth: int, colour: int, interlaced: bool) -> int:
    """Bytes the inflated data must hold: each row's filter byte plus its packed pixels."""
    bits = CHANNELS.get(colour, 4) * depth
    if not interlaced:
        return height * (1 + math.ceil(width * bits / 8))
    total = 0
    for x0, y0, dx, dy in ADAM7:
        cols = math.ceil((width - x0) / dx) if width > x0 else 0
        rows = math.ceil((height - y0) / dy) if height > y0 else 0
        if cols and rows:
            total += rows * (1 + math.ceil(cols * bits / 8))
    return total


def check_complete(data: bytes) -> None:
    """Raise Incomplete unless the IDAT stream inflates to at least what IHDR requires."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise Incomplete("no IHDR")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    need = expected_bytes(width, height, depth, colour, bool(interlace))
    inflater = zlib.decompressobj()
    view = memoryview(data)  # chunks are read in place, not copied out of the upload
    got = 0
    pos = 8
    while pos + 8 <= len(data) and got < need:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IEND":
            break
        if kind == b"IDAT":
            pending = view[pos + 8:pos + 8 + length]
            try:
                while pending and got < need:
                    got += len(inflater.decompress(pending, PIECE))
                    pending = inflater.unconsumed_tail
            except zlib.error:
                raise Incomplete("the pixel data is not a valid zlib stream") from None
        pos += 12 + length
    if got < need:
        raise Incomplete(f"{got} of {need} bytes of pixel data")
