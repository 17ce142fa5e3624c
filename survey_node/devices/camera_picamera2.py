"""The `picamera2` camera: the Raspberry Pi camera module.

picamera2 comes from Raspberry Pi OS (python3-picamera2; the node's venv sees system
site packages), so it is imported only here, and its absence is a state, not a crash.
"""

from __future__ import annotations

import io
import threading

from ..errors import DeviceUnavailable
from .camera import Camera, Probe, run_with_deadline


class Picamera2Camera(Camera):
    name = "picamera2"

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._cam = None
        self._lock = threading.Lock()  # one capture at a time on the one sensor

    def probe(self) -> Probe:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            return Probe(False, f"picamera2 is not installed (apt install python3-picamera2): {exc}")
        try:
            cameras = Picamera2.global_camera_info()
        except Exception as exc:  # noqa: BLE001 - libcamera errors vary by OS release
            return Probe(False, f"libcamera failed: {exc}")
        if not cameras:
            return Probe(False, "no camera module detected (check the ribbon cable)")
        return Probe(True, f"camera module {cameras[0].get('Model', '?')}")

    def capture(self) -> bytes:
        return run_with_deadline(self._grab, self.timeout, "picamera2")

    def _grab(self) -> bytes:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise DeviceUnavailable("picamera2 is not installed on this node") from None
        with self._lock:
            if self._cam is None:
                cam = Picamera2()
                cam.configure(cam.create_still_configuration())
                cam.start()
                self._cam = cam
            out = io.BytesIO()
            self._cam.capture_file(out, format="jpeg")
            return out.getvalue()

    def close(self) -> None:
        with self._lock:
            if self._cam is not None:
                try:
                    self._cam.stop()
                    self._cam.close()
                finally:
                    self._cam = None
