"""The node's own camera behind a small interface; photos from the tablet need none.

A backend's :meth:`Camera.capture` returns encoded image bytes (JPEG) within its deadline
or raises :class:`~survey_node.errors.DeviceUnavailable`; :meth:`Camera.probe` says
whether the camera is there without taking a picture. Hardware libraries are imported
inside the backend modules, so a node without them still starts and says why.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..errors import DeviceUnavailable

BACKENDS = ("picamera2", "opencv", "fake", "none")


@dataclass
class Probe:
    available: bool
    detail: str


class Camera:
    name = "camera"

    def probe(self) -> Probe:
        raise NotImplementedError

    def capture(self) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device (a no-op for backends that open it per capture)."""


class NoCamera(Camera):
    """`none`: the node has no camera; photos come from the tablet's upload."""

    name = "none"

    def probe(self) -> Probe:
        return Probe(False, "no camera configured (photos come from the tablet)")

    def capture(self) -> bytes:
        raise DeviceUnavailable("This node has no camera: take the photo with the tablet")


def run_with_deadline(func, timeout: float, what: str):
    """Run a device call in a daemon thread; give up after `timeout` seconds.

    A C library stuck in a read cannot be interrupted from Python; the thread is left
    behind (daemon) and the caller gets a clear refusal instead of a hang.
    """
    result: dict = {}

    def target():
        try:
            result["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            result["error"] = exc

    thread = threading.Thread(target=target, name=f"camera-{what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise DeviceUnavailable("The camera did not answer within %(s)s s", s=timeout)
    if "error" in result:
        error = result["error"]
        if isinstance(error, DeviceUnavailable):
            raise error
        raise DeviceUnavailable("The camera failed: %(why)s", why=f"{type(error).__name__}: {error}")
    return result["value"]
