"""`survey-node doctor` checks for the stream check: ffprobe and OpenCV are there."""

from __future__ import annotations

import shutil
import subprocess
import sys

from ..doctor import Check, check

IMPORT_DEADLINE_S = 30


@check
def streamcheck_tools(config) -> Check:
    ffprobe = shutil.which(config.streamcheck.ffprobe)
    if not ffprobe:
        return Check("streamcheck", "fail", f"{config.streamcheck.ffprobe} not found",
                     "Install ffmpeg (apt-get install ffmpeg): it explains failed stream checks.",
                     "ติดตั้ง ffmpeg (apt-get install ffmpeg)"
                     " เพื่อให้บอกสาเหตุเมื่อตรวจสตรีมไม่ผ่าน")
    try:
        done = subprocess.run([sys.executable, "-c", "import cv2; print(cv2.__version__)"],
                              capture_output=True, text=True, timeout=IMPORT_DEADLINE_S,
                              check=False)
    except subprocess.TimeoutExpired:
        done = None
    if done is None or done.returncode != 0:
        return Check("streamcheck", "fail", "OpenCV cannot be imported",
                     "Reinstall the package (opencv-python-headless).",
                     "ติดตั้งแพ็กเกจใหม่ (opencv-python-headless)")
    return Check("streamcheck", "ok", f"ffprobe {ffprobe}, OpenCV {done.stdout.strip()},"
                 f" {config.streamcheck.max_concurrent} check(s) at once")
