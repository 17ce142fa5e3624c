"""The `fake` camera: renders a synthetic JPEG (the demo and tests; there is no Pi camera here).

The picture is plainly synthetic (a labelled test card with the time), so it can never
be mistaken for real evidence.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools

from PIL import Image, ImageDraw

from .camera import Camera, Probe


class FakeCamera(Camera):
    name = "fake"

    def __init__(self, width: int = 1600, height: int = 1200) -> None:
        self.width, self.height = width, height
        self._count = itertools.count(1)

    def probe(self) -> Probe:
        return Probe(True, f"synthetic {self.width}x{self.height} test card (demo)")

    def capture(self) -> bytes:
        n = next(self._count)
        img = Image.linear_gradient("L").resize((self.width, self.height)).convert("RGB")
        draw = ImageDraw.Draw(img)
        bars = ((200, 40, 40), (40, 160, 60), (40, 70, 200), (230, 200, 40), (240, 240, 240))
        step = self.width // len(bars)
        for i, colour in enumerate(bars):
            draw.rectangle([i * step, 0, (i + 1) * step, self.height // 4], fill=colour)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        draw.text((40, self.height // 2), f"SYNTHETIC TEST PICTURE #{n}  {stamp}",
                  fill=(255, 255, 0))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85)
        return out.getvalue()
