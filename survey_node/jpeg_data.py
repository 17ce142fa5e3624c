"""Whether a sequential JPEG carries enough coded data for the size its frame header claims.

libjpeg meets an early end-of-image marker with a warning, fills the rest of the picture
with grey and Pillow reports success: a 700-byte file claiming 8000x8000 pixels would be
stored as a grey photo after a 64-megapixel-sized decode. Every 8x8 block of a Huffman-coded
sequential scan needs at least one DC code and one AC code (an end-of-block counts), each
at least as long as the shortest code of its table, so a scan's coded bytes have a hard
floor; a scan below it is certainly incomplete. The floor is a lower bound for any real
encoder's output (it assumes the smallest blocks possible), so it never refuses a complete
photo. It catches a header claiming far more pixels than the data can carry (the bomb-like
lie), not every cut: a photo cut near its end still has more bytes than the floor.
Progressive and arithmetic-coded files are not judged (end-of-band runs code many blocks
in a few bits).
"""

from __future__ import annotations

import math
import struct

SEQUENTIAL_HUFFMAN = {0xC0, 0xC1}  # baseline and extended sequential
OTHER_FRAMES = {0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RSTn: no length field


class Incomplete(ValueError):
    """A scan holds fewer coded bytes than its blocks need."""


def _shortest_code(counts: bytes) -> int:
    """The length of the shortest code of a Huffman table (its 16 code-length counts)."""
    for length, count in enumerate(counts, start=1):
        if count:
            return length
    return 1


def check_complete(data: bytes) -> None:
    """Raise Incomplete when a sequential Huffman scan is shorter than its floor."""
    if data[:2] != b"\xff\xd8":
        return
    tables: dict[tuple[int, int], int] = {}  # (class, id) -> shortest code length
    blocks: dict[int, int] = {}              # component id -> its 8x8 blocks
    sequential = False
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return  # not where a marker should be: leave it to the decoder
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in STANDALONE:
            pos += 2
            continue
        if marker == 0xD9:
            return
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        body = data[pos + 4:pos + 2 + length]
        if marker == 0xC4:
            _read_tables(body, tables)
        elif marker in SEQUENTIAL_HUFFMAN:
            blocks = _component_blocks(body)
            sequential = bool(blocks)
        elif marker in OTHER_FRAMES:
            return
        elif marker == 0xDA:
            end = _scan_end(data, pos + 2 + length)
            if sequential:
                _check_scan(body, end - (pos + 2 + length), blocks, tables)
            pos = end
            continue
        pos += 2 + length


def _read_tables(body: bytes, tables: dict) -> None:
    at = 0
    while at + 17 <= len(body):
        kind, ident = body[at] >> 4, body[at] & 0x0F
        counts = body[at + 1:at + 17]
        tables[(kind, ident)] = _shortest_code(counts)
        at += 17 + sum(counts)


def _component_blocks(body: bytes) -> dict[int, int]:
    if len(body) < 6:
        return {}
    height, width, count = struct.unpack(">HHB", body[1:6])
    if not height or not width:  # height 0: given later by a DNL marker
        return {}
    comps = [body[6 + 3 * i:9 + 3 * i] for i in range(count) if len(body) >= 9 + 3 * i]
    if not comps:
        return {}
    h_max = max(c[1] >> 4 for c in comps) or 1
    v_max = max(c[1] & 0x0F for c in comps) or 1
    result = {}
    for ident, sampling, _ in comps:
        cw = math.ceil(width * (sampling >> 4) / h_max)
        ch = math.ceil(height * (sampling & 0x0F) / v_max)
        result[ident] = math.ceil(cw / 8) * math.ceil(ch / 8)
    return result


def _scan_end(data: bytes, start: int) -> int:
    """Where the entropy-coded data that starts at `start` ends (the next real marker)."""
    at = start
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= len(data):
            return len(data)
        following = data[at + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            at += 1 if following == 0xFF else 2
            continue
        return at


def _check_scan(body: bytes, coded_bytes: int, blocks: dict, tables: dict) -> None:
    if not body:
        return
    floor_bits = 0
    for i in range(body[0]):
        if len(body) < 3 + 2 * i:
            return
        ident, selectors = body[1 + 2 * i], body[2 + 2 * i]
        per_block = tables.get((0, selectors >> 4), 1) + tables.get((1, selectors & 0x0F), 1)
        floor_bits += blocks.get(ident, 0) * per_block
    if coded_bytes * 8 < floor_bits:
        raise Incomplete(f"{coded_bytes} coded bytes; the blocks need {math.ceil(floor_bits / 8)}")
