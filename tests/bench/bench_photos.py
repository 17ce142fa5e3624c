"""Photo pipeline on a 12 MP JPEG and a 12 MP iPhone-shaped HEIC vs a bare Pillow decode +
encode of the same file.

Pipeline = sniff, decode, EXIF orientation, bound the long side to 2048 px, write EXIF,
encode, SHA-256, thumbnail (survey_node.photos.process). Target: ratio <= 1.5.
"""

from __future__ import annotations

import io
import statistics
import time

from PIL import Image, ImageDraw, ImageFilter

from survey_node import photos

RUNS = 7
FIX = {"lat": 13.5993, "lon": 100.5968, "alt": 2.5, "mode": 3, "hdop": 0.8, "eph": 4.2,
       "sats_used": 9, "time": "2026-11-25T03:04:05.500Z"}


def twelve_megapixel_jpeg() -> bytes:
    """4000x3000 with texture, so JPEG coding costs about what a real photo costs."""
    img = Image.effect_noise((4000, 3000), 40).convert("RGB")
    draw = ImageDraw.Draw(img)
    for i in range(0, 4000, 250):
        draw.rectangle([i, 0, i + 120, 3000], fill=((i * 7) % 255, 90, 160))
    img = img.filter(ImageFilter.GaussianBlur(1))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # a turned camera, as phones write it
    img.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def twelve_megapixel_heic() -> bytes:
    """The same texture as an iPhone stores it: 512 px tile grid, irot + EXIF Orientation 6."""
    from tests import phone_photos

    img = Image.open(io.BytesIO(twelve_megapixel_jpeg()))
    return phone_photos.iphone_heic(content=img.transpose(Image.Transpose.ROTATE_270),
                                    orientation=6, quality=75)


def bare(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data))
    img.load()
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def pipeline(data: bytes) -> bytes:
    return photos.process(data, position=FIX, node_id="bench").data


def timed_pair(first, second, data) -> tuple[float, float]:
    """Medians of interleaved runs, so load from other processes hits both alike."""
    a, b = [], []
    for _ in range(RUNS):
        for func, samples in ((first, a), (second, b)):
            start = time.perf_counter()
            func(data)
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(a), statistics.median(b)


def main() -> None:
    for label, data in (("JPEG", twelve_megapixel_jpeg()), ("HEIC", twelve_megapixel_heic())):
        pipeline(data)  # warm up
        base, ours = timed_pair(bare, pipeline, data)
        print(f"photos: 12 MP {label} ({len(data) / 1e6:.1f} MB), median of {RUNS}")
        print(f"  bare Pillow decode+encode  {base:8.1f} ms  (baseline)")
        print(f"  photo pipeline             {ours:8.1f} ms  ratio {ours / base:.2f}x"
              f"  (target <= 1.5x)")


if __name__ == "__main__":
    main()
