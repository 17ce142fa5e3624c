"""Peak memory of the photo pipeline per picture type, measured, against the estimate the
decode budget reserves (survey_node.photo_memory.decode_cost).

Each photo is decoded in a fresh process whose peak RSS is reset just before
`photos.process` (/proc/self/clear_refs), so the number is what one decode adds. The
estimate must be >= the measurement (tests/test_photos_memory.py fails otherwise); the
ratio shows how much of the budget it wastes. The constants in photo_memory came from
these numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests import hostile_images, phone_photos
from tests.test_photos_memory import KINDS, MEASURE, _texture

MB = 1024 * 1024
LARGE = {
    "png 64 MP (the red-team file)": lambda: hostile_images.png(8000, 8000),
    "heic 48 MP iPhone grid": lambda: phone_photos.iphone_heic(
        content=_texture((8064, 6048)), orientation=1, quality=50),
}


def measure(data: bytes) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo"
        path.write_bytes(data)
        out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                             text=True, timeout=300, check=True)
    return json.loads(out.stdout)


def main() -> None:
    print(f"  {'picture':34} {'measured':>9} {'estimate':>9}  ratio")
    for kind, make in {**KINDS, **LARGE}.items():
        result = measure(make())
        peak, estimate = result["peak"] / MB, result["estimate"] / MB
        print(f"  {kind:34} {peak:7.0f} MB {estimate:7.0f} MB  {estimate / peak:.2f}x")


if __name__ == "__main__":
    main()
