"""Hardware behind small interfaces: one module per device type, backends chosen by config.

Hardware libraries are imported inside their backend, so a missing one is reported as a
state ("not available"), never a crash at import time.
"""

from __future__ import annotations

from ..config import Config


def build_gps(config: Config, *, demo: bool = False):
    """The GPS reader for this config (not started). The demo always replays its walk."""
    gps = config.gps
    common = {"stale_seconds": gps.stale_s}
    if demo or gps.backend == "replay":
        from .gps_replay import ReplayReader

        return ReplayReader(gps.replay_file or None, **common)
    from .gps_gpsd import GpsdReader

    return GpsdReader(gps.host, gps.port, timeout=gps.timeout_s, **common)


def build_camera(config: Config, *, demo: bool = False):
    cam = config.camera
    backend = "fake" if demo and cam.backend == "none" else cam.backend
    if backend == "fake":
        from .camera_fake import FakeCamera

        return FakeCamera()
    if backend == "opencv":
        from .camera_opencv import OpenCvCamera

        return OpenCvCamera(cam.device, timeout=cam.timeout_s)
    if backend == "picamera2":
        from .camera_picamera2 import Picamera2Camera

        return Picamera2Camera(timeout=cam.timeout_s)
    from .camera import NoCamera

    return NoCamera()


def build_devices(config: Config, *, demo: bool = False) -> dict:
    """The device backends for this config; the GPS reader is started.

    The demo uses the replay GPS (a walk in Samut Prakan) and the fake camera.
    """
    return {"gps": build_gps(config, demo=demo).start(), "camera": build_camera(config, demo=demo)}
