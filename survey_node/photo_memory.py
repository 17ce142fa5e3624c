"""How much memory decoding a photo takes, and a budget that bounds all decodes at once.

The pixel bound (`camera.max_pixels`) stops one absurd picture; it does not stop eight
legitimate-sized ones at once: a 186 KB PNG of 8000x8000 pixels costs about 340 MB while it
is decoded, bounded and re-encoded, and four waitress threads decoding such files together
took the node past 2.6 GB. So every decode first reserves its estimated cost from one
budget per process; a photo that does not fit waits (in arrival order) for a bounded time
and is then answered "busy, try again", and one that could never fit is refused at once.

The estimate comes from the header only (size after libjpeg's draft scale, Pillow's mode)
and from costs measured with `python -m tests.bench photo_memory` (peak RSS of a fresh
process around `photos.process`): Pillow keeps RGB in 4 bytes per pixel, converting a mode
makes a second copy, flattening alpha a third, the two-pass bicubic resize an intermediate
of about one byte per source pixel, and the decoders of WebP, HEIC and AVIF hold buffers
of their own. tests/test_photos_memory.py checks that the estimate is never below what a
decode really takes.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import ctypes.util
import math
import threading
import time

from .errors import Busy, TooLarge

MB = 1024 * 1024
# Bytes per pixel of Pillow's in-memory modes (3-band modes are stored in 4 bytes).
PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
# Decoder buffers besides Pillow's image, bytes per decoded pixel (measured, rounded up):
# libwebp's animation decoder keeps its RGBA canvas and hands Pillow a copy of it; libheif
# and libavif keep their decoded planes until Pillow has copied them.
DECODER_BYTES = {"image/jpeg": 0.5, "image/png": 0.2, "image/webp": 11.5,
                 "image/heic": 2.5, "image/heif": 2.5, "image/avif": 4.5}
RESIZE_BYTES = 1.0   # the horizontal pass's intermediate, per source pixel (upper bound)
OUTPUT_BYTES = 8.0   # per stored pixel: the bounded image, the thumbnail's copy, the encoder
# The sums above came within 3-5 % of the measured peaks here; allocator rounding and other
# builds of the libraries (a Pi's aarch64 wheels) get this much room.
MARGIN = 1.1
RETRY_AFTER_S = 5
M_MMAP_THRESHOLD = -3        # glibc's mallopt parameter
MMAP_THRESHOLD = 4 * MB


def return_large_frees_to_os() -> bool:
    """Make every large allocation its own mapping, unmapped when freed (glibc only).

    glibc raises its mmap threshold each time a mapped block is freed (up to 32 MB), after
    which Pillow's 16 MB image blocks come from the request threads' malloc arenas, and a
    freed arena is not given back: eight 64 MP PNGs decoded one at a time, each in another
    waitress thread, left the process at 1.35 GB with a 400 MB budget. A fixed threshold
    turns that adjustment off (tests/test_photos_memory.py measures the server's peak).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # not glibc: its allocator has no such adjustment
        return False


def decode_cost(*, mime: str, mode: str, size: tuple[int, int], has_alpha: bool,
                max_long_side: int) -> int:
    """Peak bytes `photos.process` needs for a picture of this type, mode and decoded size."""
    width, height = size
    pixels = width * height
    per_pixel = PIXEL_BYTES.get(mode, 4) + DECODER_BYTES.get(mime, 4.0)
    if mode != "RGB":
        per_pixel += 4  # the RGB(A) copy made by the conversion
    if has_alpha or mode in ALPHA_MODES:
        per_pixel += 4  # the white canvas the alpha is flattened on
    if max(size) > max_long_side:
        per_pixel += RESIZE_BYTES
        scale = max_long_side / max(size)
        out_pixels = max(1, round(width * scale)) * max(1, round(height * scale))
    else:
        out_pixels = pixels
    return math.ceil((pixels * per_pixel + out_pixels * OUTPUT_BYTES) * MARGIN)


class DecodeBudget:
    """Memory for photo decodes, shared by every request thread of a process.

    Reservations are granted in arrival order: a large photo at the head is not starved by
    small ones behind it, and no one waits longer than `wait_s`.
    """

    def __init__(self, total_bytes: int, wait_s: float) -> None:
        self.total = total_bytes
        self.wait_s = wait_s
        self._free = total_bytes
        self._cond = threading.Condition()
        self._queue: collections.deque = collections.deque()

    @property
    def in_use(self) -> int:
        with self._cond:
            return self.total - self._free

    @contextlib.contextmanager
    def reserve(self, cost: int, *, name: str):
        """Hold `cost` bytes of the budget for the duration of the block."""
        if cost > self.total:
            raise TooLarge("%(name)s needs about %(need)s MB of memory to decode; this node"
                           " decodes photos within %(budget)s MB: send a smaller photo",
                           name=name, need=math.ceil(cost / MB), budget=self.total // MB)
        ticket = object()
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            self._queue.append(ticket)
            try:
                while self._queue[0] is not ticket or self._free < cost:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Busy("The node is busy with other photos: send %(name)s again"
                                   " in a few seconds", name=name, retry_after=RETRY_AFTER_S)
                    self._cond.wait(left)
                self._free -= cost
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may fit now
        try:
            yield
        finally:
            with self._cond:
                self._free += cost
                self._cond.notify_all()
