"""The probe: one stream check in a child process (``python -m survey_node.streamcheck.probe``).

The parent writes one JSON request line on stdin (the URL travels there, never on the
command line where `ps` would show its password) and reads JSON event lines on stdout:
``{"event": "opened", ...}``, ``{"event": "first_frame", ...}``, ``{"event": "sampling",
"progress": p}`` and finally ``{"event": "result", ...}``. The parent kills this process
group with SIGKILL at its hard deadline; the plan below finishes before it.

Times are absolute CLOCK_MONOTONIC values, which parent and child share on Linux.
connect_ms is how long the successful open took; first_frame_ms runs from the start of that
open to the first decoded frame (process start-up shows only in the parent's elapsed_ms).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import time
from urllib.parse import urlsplit

from .classify import classify_open_failure
from .urls import mask_text, protocol_whitelist, scheme_of

PROBE_VERSION = "1"
# At most this many frames per second are analysed (all are decoded and counted for fps).
ANALYSE_FPS = 8.0


def capture_options(url: str, transport: str, fast: bool) -> str:
    """OPENCV_FFMPEG_CAPTURE_OPTIONS: read by OpenCV at each open, replacing its defaults.

    analyzeduration 0 + probesize 32 cut a local RTSP first frame from ~2 s to ~0.3 s.
    """
    options = [("protocol_whitelist", protocol_whitelist(url))]
    if scheme_of(url).startswith("rtsp"):
        options.append(("rtsp_transport", transport))
    if fast:
        options += [("analyzeduration", "0"), ("probesize", "32")]
    return "|".join(f"{k};{v}" for k, v in options)


def fourcc_name(value: float) -> str | None:
    code = int(value)
    if code <= 0:
        return None
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ").lower()
    return {"avc1": "h264", "h264": "h264", "hev1": "hevc", "hvc1": "hevc", "h265": "hevc",
            "mjpg": "mjpeg", "jpeg": "mjpeg"}.get(text, text or None)


class Probe:
    def __init__(self, request: dict, emit) -> None:
        self.url = request["url"]
        self.transport = request.get("transport", "tcp")
        self.start = request["start"]
        self.connect_deadline = request["connect_deadline"]
        self.deadline = request["deadline"]
        self.read_timeout = float(request["read_timeout_s"])
        self.sample_s = float(request["sample_s"])
        self.ffprobe = request.get("ffprobe") or "ffprobe"
        self.jpeg_quality = int(request.get("jpeg_quality", 85))
        self.emit = emit
        self.opened_at = self.start

    def run(self) -> dict:
        host = urlsplit(self.url).hostname or ""
        try:
            socket.getaddrinfo(host, None)
        except (socket.gaierror, UnicodeError) as exc:
            return {"verdict": "dns", "error": f"host not found: {exc.strerror or exc}"}
        import cv2

        cap, opened_in = self.open(cv2, fast=True)
        if cap is None:
            failure = self.explain_failure(opened_in)
            if failure["verdict"] is not None:
                return failure
            cap, opened_in = self.open(cv2, fast=False)  # ffprobe read it: probe fully
            if cap is None:
                return {"verdict": "unsupported", "error": "OpenCV could not decode the stream"}
        try:
            return self.sample(cv2, cap)
        finally:
            cap.release()

    def open(self, cv2, *, fast: bool):
        budget = self.connect_deadline - time.monotonic()
        if budget <= 0.05:
            return None, 0.0
        os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = capture_options(
            self.url, self.transport, fast)
        began = time.monotonic()
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(budget * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000),
        ])
        took = time.monotonic() - began
        if not cap.isOpened():
            cap.release()
            return None, took
        self.opened_at = began
        self.emit(event="opened", connect_ms=round(took * 1000),
                  codec=fourcc_name(cap.get(cv2.CAP_PROP_FOURCC)),
                  width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) or None,
                  height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) or None)
        return cap, took

    def explain_failure(self, open_took: float) -> dict:
        remaining = self.connect_deadline - time.monotonic()
        if remaining < 0.3:  # the open used up its time: the endpoint did not answer
            return {"verdict": "timeout", "error": "no answer before the connect deadline"}
        found = classify_open_failure(self.url, ffprobe=self.ffprobe, transport=self.transport,
                                      budget_s=min(remaining, self.deadline - time.monotonic()))
        if found["verdict"] is None:
            return {"verdict": None}
        stream = (found["streams"] or [{}])[0]
        return {"verdict": found["verdict"], "error": found["error"],
                "codec": stream.get("codec_name"), "width": stream.get("width"),
                "height": stream.get("height")}

    def sample(self, cv2, cap) -> dict:
        from .metrics import FrameStats

        ok, frame = cap.read()
        if not ok or frame is None:
            return {"verdict": "no_frames", "error": "the stream opened but sent no picture"}
        first = time.monotonic()
        height, width = frame.shape[:2]
        self.emit(event="first_frame", first_frame_ms=round((first - self.opened_at) * 1000),
                  width=width,
                  height=height)
        stats = FrameStats()
        stats.add(frame)
        last_frame, last_analysed = frame, first
        # Stop early enough that a last slow read still ends before the parent's deadline
        # (a read stuck longer than that gets the probe killed: the parent says "frozen").
        end = min(first + self.sample_s, self.deadline - min(self.read_timeout, 0.5) - 0.2)
        grabbed, last_grab, stalled = 1, first, False
        stall_after = self.read_timeout * 0.75
        next_report = first + 0.5
        while time.monotonic() < end:
            before = time.monotonic()
            ok = cap.grab()
            now = time.monotonic()
            # A stalled stream hands back its buffered frames at once, then each read
            # blocks for the read timeout and may still report success: watch the clock.
            if not ok or now - before >= stall_after:
                stalled = True
                break
            grabbed, last_grab = grabbed + 1, now
            if now - last_analysed >= 1.0 / ANALYSE_FPS:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    stats.add(frame)
                    last_frame, last_analysed = frame, now
            if now >= next_report:
                share = min(1.0, (now - first) / self.sample_s)
                self.emit(event="sampling", progress=round(share, 2))
                next_report = now + 0.5
        span = last_grab - first
        fps = round((grabbed - 1) / span, 2) if grabbed > 1 and span > 0 else None
        ok, jpeg = cv2.imencode(".jpg", last_frame, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        return {
            "verdict": None,  # the parent decides, with the thresholds from the config
            "error": (f"the stream stalled after {grabbed} frame(s)" if stalled
                      else None if stats.frames > 1
                      else "the deadline left no time to sample: motion not judged"),
            "stalled": stalled, "frames": grabbed, "fps": fps,
            "width": width, "height": height,
            "snapshot_jpeg": base64.b64encode(jpeg.tobytes()).decode("ascii") if ok else None,
            **stats.summary(),
        }


def main() -> int:
    def emit(**event) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    # OpenCV is imported before the request arrives: a probe started ahead of time (the
    # web server keeps one waiting) has it ready when the check begins.
    import cv2  # noqa: F401

    line = sys.stdin.readline()
    if not line.strip():  # the parent went away before it needed this probe
        return 0
    request = json.loads(line)
    try:
        result = Probe(request, emit).run()
    except Exception as exc:  # noqa: BLE001 - reported to the parent as the check's error
        result = {"verdict": "unsupported",
                  "error": mask_text(f"probe failed: {type(exc).__name__}: {exc}",
                                     request.get("url", ""))[:200]}
    emit(event="result", probe_version=PROBE_VERSION, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
