"""Why an open failed: ask ffprobe, whose exit message names the reason OpenCV hides.

OpenCV's VideoCapture only says "not opened" for a wrong password, a wrong path and a
closed port alike. ffprobe prints "401 Unauthorized", "404 Not Found", "Connection
refused"... ``-timeout`` is in microseconds (RTSP and HTTP, ffmpeg 5.1; ``-stimeout`` is
gone). Without it ffprobe waits forever on a silent RTSP endpoint and it ignores SIGTERM,
so it always runs with a process deadline and is killed (SIGKILL) past it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

from .urls import mask_text, protocol_whitelist, scheme_of

# (pattern in ffprobe's message with the URL removed, verdict); first match wins.
RULES = (
    (re.compile(r"\b40[13]\b|Unauthorized|Forbidden|authorization failed", re.I), "auth_failed"),
    (re.compile(r"\b404\b|Not Found", re.I), "not_found"),
    (re.compile(r"Connection refused", re.I), "refused"),
    (re.compile(r"resolve hostname|Name or service not known|Temporary failure in name"
                r" resolution|No address associated", re.I), "dns"),
    (re.compile(r"timed out|Operation timed out|No route to host|Network is unreachable|"
                r"Host is down", re.I), "timeout"),
    (re.compile(r"not on whitelist|Protocol not found|Invalid data found|"
                r"could not find codec|Unsupported|not supported", re.I), "unsupported"),
)


def ffprobe_command(ffprobe: str, url: str, *, transport: str, timeout_s: float) -> list[str]:
    cmd = [ffprobe, "-hide_banner", "-v", "error", "-protocol_whitelist",
           protocol_whitelist(url), "-timeout", str(max(1, int(timeout_s * 1_000_000)))]
    if scheme_of(url).startswith("rtsp"):
        cmd += ["-rtsp_transport", transport]
    return cmd + ["-show_entries", "stream=codec_type,codec_name,width,height", "-of", "json",
                  url]


def classify_open_failure(url: str, *, ffprobe: str, transport: str, budget_s: float) -> dict:
    """Run ffprobe within `budget_s`; return {verdict, error, streams}.

    verdict is None when ffprobe could read the stream (OpenCV's fast open was the
    problem, so the caller may retry with default probing).
    """
    socket_timeout = max(0.2, budget_s - 0.3)
    cmd = ffprobe_command(ffprobe, url, transport=transport, timeout_s=socket_timeout)
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=max(0.3, budget_s), check=False)
    except subprocess.TimeoutExpired:  # run() has already SIGKILLed it
        return {"verdict": "timeout", "error": "no answer before the deadline", "streams": []}
    except OSError as exc:
        return {"verdict": "unsupported", "error": f"ffprobe could not run: {exc.strerror}",
                "streams": []}
    message = done.stderr.decode("utf-8", "replace")
    streams = _streams(done.stdout)
    video = [s for s in streams if s.get("codec_type") == "video"]
    if done.returncode == 0 and video:
        return {"verdict": None, "error": None, "streams": video}
    verdict = reason(message, url)
    if verdict == "unsupported" and scheme_of(url).startswith("rtsp") \
            and time.monotonic() - started >= socket_timeout * 0.9:
        # FFmpeg 5.1 reports an RTSP server that accepts and never answers, once its
        # socket timeout passes, as "Invalid data found": that is silence, not a format.
        return {"verdict": "timeout", "error": "no answer before the deadline", "streams": []}
    return {"verdict": verdict, "error": last_line(message, url), "streams": video}


def reason(message: str, url: str) -> str:
    text = message.replace(url, "")
    for pattern, verdict in RULES:
        if pattern.search(text):
            return verdict
    return "unsupported"


def last_line(message: str, url: str) -> str:
    """ffprobe's last message line, without the URL (it may hold a password)."""
    lines = [ln.strip() for ln in message.replace(url, "").splitlines() if ln.strip()]
    line = lines[-1] if lines else "the stream could not be opened"
    line = re.sub(r"^\[[^\]]*\]\s*", "", line).lstrip(": ").strip()
    return mask_text(line, url)[:200]


def _streams(stdout: bytes) -> list[dict]:
    try:
        return json.loads(stdout.decode("utf-8", "replace") or "{}").get("streams", [])
    except (ValueError, AttributeError):
        return []
