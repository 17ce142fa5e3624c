"""The `opencv` camera: a USB (UVC) camera through OpenCV's V4L2 capture."""

from __future__ import annotations

from ..errors import DeviceUnavailable
from .camera import Camera, Probe, run_with_deadline


class OpenCvCamera(Camera):
    name = "opencv"

    def __init__(self, device: int = 0, timeout: float = 5.0) -> None:
        self.device = device
        self.timeout = timeout

    def probe(self) -> Probe:
        try:
            import cv2  # noqa: F401 - only to see that it is there
        except ImportError as exc:
            return Probe(False, f"OpenCV is not installed ({exc})")
        from pathlib import Path

        node = Path(f"/dev/video{self.device}")
        if not node.exists():
            return Probe(False, f"no USB camera at {node}")
        return Probe(True, f"USB camera at {node}")

    def capture(self) -> bytes:
        return run_with_deadline(self._grab, self.timeout, "opencv")

    def _grab(self) -> bytes:
        import cv2

        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        try:
            if not cap.isOpened():
                raise DeviceUnavailable("No USB camera at /dev/video%(n)s", n=self.device)
            frame = None
            for _ in range(5):  # the first frames of a UVC camera are often dark
                ok, grabbed = cap.read()
                if ok:
                    frame = grabbed
            if frame is None:
                raise DeviceUnavailable("The USB camera gave no picture")
            ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not ok:
                raise DeviceUnavailable("The USB camera's picture could not be encoded")
            return encoded.tobytes()
        finally:
            cap.release()
