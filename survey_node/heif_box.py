"""Just enough of the HEIF/AVIF container (ISO BMFF boxes) to judge a phone photo before decoding.

libheif decodes the picture; this module answers three questions it does not answer for us:

* what the file is, from its `ftyp` brands (HEVC-coded HEIC, AV1-coded AVIF, or neither);
* whether the file is complete: an upload cut short still parses, and libheif fills the tiles
  of a grid image (every iPhone photo is a grid of 512x512 tiles) whose bytes are missing with
  flat green instead of failing, so the extents in `iloc` are checked against the real length;
* whether the primary image carries an `irot`/`imir` transform. libheif applies those on
  decode, and then the EXIF Orientation (iPhones write both, in agreement) must not be applied
  a second time. Some Android phones write only the EXIF Orientation; without a transform the
  EXIF tag is the only record of how the phone was held, and it is applied as for a JPEG.

Only box headers and small index tables are read; nothing is allocated by a size a box claims.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
AV1_BRANDS = {b"avif", b"avis"}
GENERIC_BRANDS = {b"mif1", b"msf1"}
TRANSFORMS = {b"irot", b"imir"}


class ContainerError(ValueError):
    """The box structure is inconsistent (`cut_short` when bytes are missing at the end)."""

    def __init__(self, reason: str, *, cut_short: bool = False) -> None:
        super().__init__(reason)
        self.cut_short = cut_short


@dataclass
class Layout:
    mime: str                   # image/heic, image/avif or image/heif
    primary_item: int | None
    transformed: bool           # the primary image has irot or imir
    size: tuple[int, int] | None = None  # the primary image's ispe (before any rotation)
    # The output size a grid or overlay primary image declares in its own body. libheif
    # allocates that before it compares the result with `ispe`: a few KB of tiles used again
    # and again can claim 16384 px under an ispe of 1536 (see photos.process).
    canvas: tuple[int, int] | None = None


def brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an `ftyp` box at the start, or an empty set."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        return set()
    size = min(struct.unpack(">I", data[:4])[0], len(data), 256)
    found = {data[8:12]}
    found.update(data[i:i + 4] for i in range(16, size - 3, 4))
    return found


def mime_of(data: bytes) -> str | None:
    """image/heic, image/avif or image/heif for a HEIF-family file, else None."""
    found = brands(data)
    if found & HEVC_BRANDS:
        return "image/heic"
    if found & AV1_BRANDS:
        return "image/avif"
    if found & GENERIC_BRANDS:
        return "image/heif"
    return None


def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, box end) for each box in data[start:end]."""
    while start < end:
        if end - start < 8:
            raise ContainerError("a box header is cut off", cut_short=end == len(data))
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        header = 8
        if size == 1:
            if end - start < 16:
                raise ContainerError("a box header is cut off", cut_short=end == len(data))
            size = struct.unpack(">Q", data[start + 8:start + 16])[0]
            header = 16
        elif size == 0:
            size = end - start
        if size < header:
            raise ContainerError(f"box {kind!r} has an impossible size")
        if start + size > end:
            raise ContainerError(f"box {kind!r} runs past the end of the file",
                                 cut_short=end == len(data))
        yield kind, start + header, start + size
        start += size


def _child(data: bytes, start: int, end: int, kind: bytes):
    for found, payload, box_end in _boxes(data, start, end):
        if found == kind:
            return payload, box_end
    return None


class _Reader:
    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def uint(self, size: int) -> int:
        if size == 0:
            return 0
        if self.pos + size > self.end:
            raise ContainerError("an index table is cut off")
        value = int.from_bytes(self.data[self.pos:self.pos + size], "big")
        self.pos += size
        return value


def inspect(data: bytes) -> Layout:
    """Check the container of a HEIF-family file; raise ContainerError when it is broken."""
    mime = mime_of(data) or "image/heif"
    # Only the boxes up to `meta` are walked: whether the file is complete is judged from the
    # item extents, as some phones append trailers after the last box that are not boxes.
    meta = None
    for kind, payload, box_end in _boxes(data, 0, len(data)):
        if kind == b"meta":
            meta = (payload, box_end)
            break
    if meta is None:
        raise ContainerError("there is no meta box")
    start, end = meta[0] + 4, meta[1]  # meta is a full box: skip version and flags
    primary = _primary_item(data, start, end)
    locations = _check_extents(data, start, end)
    properties = _properties_of(data, start, end, primary) if primary is not None else {}
    size = None
    if b"ispe" in properties:
        read = _Reader(data, *properties[b"ispe"])
        read.uint(4)  # version and flags
        size = (read.uint(4), read.uint(4))
    return Layout(mime=mime, primary_item=primary, transformed=bool(properties.keys() & TRANSFORMS),
                  size=size, canvas=_derived_size(data, start, end, primary, locations))


def _primary_item(data: bytes, start: int, end: int) -> int | None:
    found = _child(data, start, end, b"pitm")
    if found is None:
        return None
    read = _Reader(data, found[0], found[1])
    version = read.uint(1)
    read.uint(3)
    return read.uint(2 if version == 0 else 4)


def _check_extents(data: bytes, start: int, end: int) -> dict:
    """Every item stored in the file (construction method 0) must lie inside it.

    Returns {item id: (construction method, [(start, length), ...])}, starts counted from
    the file (method 0) or from the `idat` payload (method 1)."""
    locations: dict = {}
    found = _child(data, start, end, b"iloc")
    if found is None:
        raise ContainerError("there is no item location box")
    read = _Reader(data, found[0], found[1])
    version = read.uint(1)
    read.uint(3)
    sizes = read.uint(1)
    offset_size, length_size = sizes >> 4, sizes & 0x0F
    sizes = read.uint(1)
    base_size, index_size = sizes >> 4, (sizes & 0x0F) if version in (1, 2) else 0
    for _ in range(read.uint(2 if version < 2 else 4)):
        item_id = read.uint(2 if version < 2 else 4)
        method = read.uint(2) & 0x0F if version in (1, 2) else 0
        read.uint(2)  # data reference index
        base = read.uint(base_size)
        extents = []
        for _ in range(read.uint(2)):
            read.uint(index_size)
            offset, length = read.uint(offset_size), read.uint(length_size)
            if method == 0 and base + offset + length > len(data):
                raise ContainerError("image data lies past the end of the file", cut_short=True)
            extents.append((base + offset, length))
        locations[item_id] = (method, extents)
    return locations


def _item_type(data: bytes, start: int, end: int, item: int) -> bytes | None:
    """The 4-letter type of `item` from `iinf` (infe version 2 or 3)."""
    iinf = _child(data, start, end, b"iinf")
    if iinf is None:
        return None
    read = _Reader(data, *iinf)
    version = read.uint(1)
    read.uint(3)
    read.uint(2 if version == 0 else 4)  # entry count
    for kind, payload, box_end in _boxes(data, read.pos, iinf[1]):
        if kind != b"infe":
            continue
        entry = _Reader(data, payload, box_end)
        infe_version = entry.uint(1)
        entry.uint(3)
        if infe_version < 2:
            continue
        if entry.uint(2 if infe_version == 2 else 4) == item:
            entry.uint(2)  # protection index
            return entry.uint(4).to_bytes(4, "big")
    return None


def _derived_size(data: bytes, start: int, end: int, item: int | None,
                  locations: dict) -> tuple[int, int] | None:
    """The output size a `grid` or `iovl` primary item declares in its own body."""
    if item is None or item not in locations:
        return None
    kind = _item_type(data, start, end, item)
    if kind not in (b"grid", b"iovl"):
        return None
    method, extents = locations[item]
    if method == 1:
        idat = _child(data, start, end, b"idat")
        if idat is None:
            raise ContainerError("an item lies in a missing idat box")
        origin, limit = idat
    elif method == 0:
        origin, limit = 0, len(data)
    else:
        raise ContainerError(f"construction method {method} is not supported")
    if not extents:
        raise ContainerError("a derived image has no data")
    offset, length = extents[0]
    read = _Reader(data, origin + offset, min(origin + offset + length, limit))
    read.uint(1)  # version
    wide = read.uint(1) & 1  # 32-bit sizes
    if kind == b"grid":
        read.uint(2)  # rows - 1, columns - 1
    else:
        read.uint(8)  # the canvas fill colour (4 x 16 bits)
    return read.uint(4 if wide else 2), read.uint(4 if wide else 2)


def _properties_of(data: bytes, start: int, end: int, item: int) -> dict:
    """{type: (payload start, end)} of the properties associated with `item` (ipco + ipma)."""
    iprp = _child(data, start, end, b"iprp")
    if iprp is None:
        return {}
    ipco = _child(data, iprp[0], iprp[1], b"ipco")
    boxes = list(_boxes(data, *ipco)) if ipco else []
    result: dict = {}
    for kind, payload, box_end in _boxes(data, iprp[0], iprp[1]):
        if kind != b"ipma":
            continue
        read = _Reader(data, payload, box_end)
        version = read.uint(1)
        flags = read.uint(3)
        for _ in range(read.uint(4)):
            item_id = read.uint(2 if version < 1 else 4)
            for _ in range(read.uint(1)):
                index = read.uint(2) & 0x7FFF if flags & 1 else read.uint(1) & 0x7F
                if item_id == item and 0 < index <= len(boxes):
                    kind, payload, box_end = boxes[index - 1]
                    result.setdefault(kind, (payload, box_end))
    return result
