"""The parent side of a check: start the probe child, enforce the deadline, collect events.

FFmpeg can block inside a C call where no timeout reaches and ffprobe ignores SIGTERM, so
the only deadline that always holds is killing the child's whole process group with
SIGKILL. The probe runs in its own session for that reason; OpenCV's memory never lives
in the web server either.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

from .urls import InvalidStreamUrl, mask_text, mask_url, validate_url
from .verdict import VERDICTS, picture_verdict

# The keys of `check-stream --json` and of a job's result, in this order.
RESULT_KEYS = ("verdict", "error", "connect_ms", "first_frame_ms", "codec", "width", "height",
               "fps", "bitrate_kbps", "keyframe_interval_s", "luma", "contrast",
               "frozen_score", "blur_score", "snapshot_sha256", "url", "elapsed_ms")
VIEW_KEYS = ("view_change", "view_features", "view_structure", "view_shift", "view_inliers",
             "view_error")
MAX_TIMEOUT_S = 300.0
PROBE_COMMAND = (sys.executable, "-m", "survey_node.streamcheck.probe")


@dataclass
class ProbeResult:
    verdict: str
    url: str  # masked
    error: str | None = None
    connect_ms: int | None = None
    first_frame_ms: int | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None  # the camera's, from the stream's timestamps
    bitrate_kbps: int | None = None
    keyframe_interval_s: float | None = None
    luma: float | None = None
    contrast: float | None = None
    frozen_score: float | None = None
    blur_score: float | None = None
    elapsed_ms: int = 0
    frames: int = 0
    probe_version: str | None = None
    snapshot_sha256: str | None = None
    # Against an earlier snapshot of the camera (viewchange.py), when one was given.
    view_change: float | None = None
    view_features: float | None = None
    view_structure: float | None = None
    view_shift: float | None = None
    view_inliers: int | None = None
    view_error: str | None = None
    view_reference_sha256: str | None = None
    view_reference_at: str | None = None
    snapshot_jpeg: bytes | None = field(default=None, repr=False)

    def public(self) -> dict:
        data = asdict(self)
        return {key: data[key] for key in RESULT_KEYS}


def check_timeout(timeout_s: float | None, settings) -> float:
    value = settings.timeout_s if timeout_s is None else float(timeout_s)
    if not 0.5 <= value <= MAX_TIMEOUT_S:
        raise InvalidStreamUrl("The check timeout must be between 0.5 and %(max)s seconds",
                               max=int(MAX_TIMEOUT_S))
    return value


def run_probe(url: str, settings, *, timeout_s: float | None = None, on_event=None,
              keep_warm: bool = False, reference_path: str | None = None) -> ProbeResult:
    """One check of `url`, finished (verdict and all) within the timeout; never raises for
    a bad URL or a bad stream: those are verdicts.

    With `keep_warm` (the web server), the check uses a probe process started earlier
    (OpenCV already imported, ~0.2-0.3 s saved on the first frame) and starts the next
    one when it is done. Each process still serves exactly one check.

    `reference_path`: an earlier snapshot of the camera; the child scores how much the
    view changed against it (after its result, so an overrun loses only the score).
    """
    started = time.monotonic()
    masked = mask_url(url or "")
    try:
        url = validate_url(url)
        timeout = check_timeout(timeout_s, settings)
    except InvalidStreamUrl as exc:
        return ProbeResult(verdict="invalid_url", url=masked, error=exc.line(), elapsed_ms=0)
    deadline = started + timeout
    request = {
        "url": url, "transport": settings.transport, "start": started,
        "connect_deadline": started + min(settings.connect_timeout_s, timeout),
        # The child plans to be done half a second before it would be killed.
        "deadline": deadline - min(0.5, timeout / 4),
        "read_timeout_s": min(settings.read_timeout_s, timeout),
        "sample_s": settings.sample_seconds, "ffprobe": settings.ffprobe,
        "jpeg_quality": settings.jpeg_quality, "reference_path": reference_path,
    }
    try:
        events, killed = _run_child(_take_child(keep_warm), request, deadline, on_event)
    finally:
        if keep_warm:
            _refill_standby()
    result = _assemble(events, killed, masked, settings)
    if reference_path and result.snapshot_jpeg and result.view_change is None \
            and not result.view_error:
        result.view_error = "the deadline came before the view was compared"
    if result.error:
        result.error = mask_text(result.error, url)
    result.elapsed_ms = round((time.monotonic() - started) * 1000)
    return result


def _spawn() -> subprocess.Popen:
    env = dict(os.environ, OPENCV_LOG_LEVEL="ERROR", OPENCV_FFMPEG_LOGLEVEL="-8",
               PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        list(PROBE_COMMAND),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        # FFmpeg's log may print the URL with its password: it is never kept.
        stderr=subprocess.DEVNULL, start_new_session=True, env=env, close_fds=True,
    )


_standby_lock = threading.Lock()
_standby: subprocess.Popen | None = None


def _take_child(keep_warm: bool) -> subprocess.Popen:
    global _standby
    if keep_warm:
        with _standby_lock:
            proc, _standby = _standby, None
        if proc is not None:
            if proc.poll() is None:
                return proc
            _kill_group(proc)
            proc.stdout.close()
    return _spawn()


def _refill_standby() -> None:
    global _standby
    with _standby_lock:
        if _standby is None or _standby.poll() is not None:
            _standby = _spawn()


@atexit.register
def _stop_standby() -> None:
    global _standby
    with _standby_lock:
        proc, _standby = _standby, None
    if proc is not None:
        _kill_group(proc)


def _run_child(proc: subprocess.Popen, request: dict, deadline: float,
               on_event) -> tuple[list[dict], bool]:
    events: list[dict] = []
    killed = False
    try:
        proc.stdin.write((json.dumps(request) + "\n").encode())
        proc.stdin.close()
        buffer = b""
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    killed = True
                    break
                if not sel.select(timeout=left):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    event = _parse(line)
                    if event:
                        events.append(event)
                        if on_event:
                            on_event(event)
    except BrokenPipeError:
        pass
    finally:
        _kill_group(proc)
        proc.stdout.close()
    return events, killed


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the probe and anything it started (ffprobe), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed child always ends
        pass


def _parse(line: bytes) -> dict | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "event" in event else None


def _assemble(events: list[dict], killed: bool, masked: str, settings) -> ProbeResult:
    found: dict = {}
    for event in events:
        found.update({k: v for k, v in event.items() if v is not None and k != "event"})
    final = next((e for e in events if e["event"] == "result"), None)
    opened = any(e["event"] == "opened" for e in events)
    got_frame = any(e["event"] == "first_frame" for e in events)
    result = ProbeResult(verdict="unsupported", url=masked)
    for key in ("connect_ms", "first_frame_ms", "codec", "width", "height", "fps",
                "bitrate_kbps", "keyframe_interval_s", "luma", "contrast", "frozen_score",
                "blur_score", "frames", "probe_version", *VIEW_KEYS):
        if key in found:
            setattr(result, key, found[key])
    if final is None:
        if killed:
            result.verdict = "no_frames" if opened and not got_frame else "timeout"
            result.error = ("no picture before the deadline" if opened
                            else "no answer before the deadline")
            if got_frame:  # frames came, then the stream stalled past the deadline
                result.verdict, result.error = "frozen", "the stream stalled"
        else:
            result.error = "the probe ended without a result"
        return result
    if final.get("snapshot_jpeg"):
        result.snapshot_jpeg = base64.b64decode(final["snapshot_jpeg"])
    result.error = final.get("error")
    verdict = final.get("verdict")
    if verdict is None:
        verdict = picture_verdict(final, settings)
    result.verdict = verdict if verdict in VERDICTS else "unsupported"
    return result
