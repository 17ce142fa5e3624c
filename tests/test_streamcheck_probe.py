"""Each kind of stream yields its verdict, within its deadline (real servers on 127.0.0.1)."""

import io
import subprocess
import sys
import time

import pytest
from PIL import Image

from survey_node.config import StreamCheckSection
from survey_node.streamcheck import run_probe
from survey_node.streamcheck.demo_streams import DemoStreams
from tests.streams import (  # noqa: F401 - fixtures
    RTSP_PASSWORD, RTSP_USER, mjpeg_server, rtsp_auth_server, rtsp_server, silent_port,
)

# Short windows keep the suite fast; the verdict rules are the same as with the defaults.
SETTINGS = StreamCheckSection(timeout_s=8.0, connect_timeout_s=2.0, read_timeout_s=1.5,
                              sample_seconds=1.0)
# The parent kills the probe at timeout_s; reaping and bookkeeping stay well inside this.
HARD_LIMIT_MS = (SETTINGS.timeout_s + 2) * 1000


def check(url, settings=SETTINGS):
    result = run_probe(url, settings)
    assert result.elapsed_ms < HARD_LIMIT_MS
    return result


def test_good_rtsp_stream_is_ok_with_metrics_and_snapshot(rtsp_server):
    result = check(rtsp_server.url("good"))
    assert result.verdict == "ok", result
    assert (result.codec, result.width, result.height) == ("h264", 640, 360)
    assert 5 < result.fps < 30
    assert result.connect_ms is not None and result.first_frame_ms is not None
    snapshot = Image.open(io.BytesIO(result.snapshot_jpeg))
    assert snapshot.format == "JPEG" and snapshot.size == (640, 360)


@pytest.mark.parametrize("path,verdict", [("black", "black"), ("frozen", "frozen"),
                                          ("no-such-path", "not_found")])
def test_rtsp_picture_and_path_problems(rtsp_server, path, verdict):
    assert check(rtsp_server.url(path)).verdict == verdict


def test_a_scheme_typed_in_capitals_still_opens(rtsp_server):
    result = check(rtsp_server.url("good").replace("rtsp://", "RTSP://"))
    assert result.verdict == "ok"


def test_rtsp_over_udp_works_too(rtsp_server):
    settings = StreamCheckSection(**{**vars(SETTINGS), "transport": "udp"})
    assert check(rtsp_server.url("good"), settings).verdict == "ok"


def test_rtsp_password_right_wrong_and_missing(rtsp_auth_server):
    right = check(rtsp_auth_server.url("good", user=RTSP_USER, password=RTSP_PASSWORD))
    assert right.verdict == "ok"
    wrong = check(rtsp_auth_server.url("good", user=RTSP_USER, password="guess"))
    assert wrong.verdict == "auth_failed"
    assert check(rtsp_auth_server.url("good")).verdict == "auth_failed"
    for result in (right, wrong):
        assert RTSP_PASSWORD not in repr(result.public()) and "guess" not in repr(result.public())
        assert result.url.startswith(f"rtsp://{RTSP_USER}:***@")


@pytest.mark.parametrize("kind,verdict", [
    ("good", "ok"), ("black", "black"), ("frozen", "frozen"), ("blurred", "blurred"),
    ("stall", "frozen"), ("dead", "timeout"), ("missing", "not_found"),
])
def test_mjpeg_streams(mjpeg_server, kind, verdict):
    result = check(mjpeg_server.url(kind))
    assert result.verdict == verdict, result
    if verdict in ("ok", "black", "frozen", "blurred"):
        assert result.codec == "mjpeg" and result.snapshot_jpeg


def test_http_basic_auth():
    with DemoStreams(credentials=("cam", "pw-123")) as streams:
        assert check(streams.url("good", user="cam", password="pw-123")).verdict == "ok"
        assert check(streams.url("good", user="cam", password="nope")).verdict == "auth_failed"


def test_closed_port_is_refused():
    with silent_port() as port:
        pass  # now closed: nothing listens there
    assert check(f"rtsp://127.0.0.1:{port}/x").verdict == "refused"


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_port_that_never_answers_times_out_at_the_connect_deadline(scheme):
    with silent_port() as port:
        result = check(f"{scheme}://127.0.0.1:{port}/x")
    assert result.verdict == "timeout"


HANGING_PROBE = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)   # like ffprobe: deaf to SIGTERM
helper = subprocess.Popen(["sleep", "120"])       # like ffprobe started by the probe
print('{"event": "opened", "connect_ms": 5, "helper": %d}' % helper.pid, flush=True)
time.sleep(120)
"""


def test_hard_deadline_kills_a_probe_that_hangs_and_its_children(monkeypatch):
    from survey_node.streamcheck import runner

    events = []
    monkeypatch.setattr(runner, "PROBE_COMMAND", (sys.executable, "-c", HANGING_PROBE))
    settings = StreamCheckSection(**{**vars(SETTINGS), "timeout_s": 1.0})
    result = runner.run_probe("rtsp://127.0.0.1:9/x", settings, on_event=events.append)
    assert result.verdict == "no_frames" and result.connect_ms == 5
    assert result.elapsed_ms < 3000
    helper = events[0]["helper"]
    for _ in range(100):  # SIGKILL is delivered at once; reaping by init may lag a little
        if _dead(helper):
            break
        time.sleep(0.05)
    assert _dead(helper)


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(") ", 1)[1].startswith("Z")  # a zombie awaiting its reaper
    except FileNotFoundError:
        return True


def test_file_url_is_invalid_without_a_probe(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    result = run_probe(f"file://{secret}", SETTINGS)
    assert result.verdict == "invalid_url" and result.snapshot_jpeg is None
    assert result.probe_version is None  # no child process was started


def test_hls_playlist_cannot_reach_a_local_file(tmp_path):
    from tests.conftest import require_system

    require_system("ffmpeg")
    video = tmp_path / "local.ts"  # a real, playable video: only the whitelist stops it
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=10", "-t", "2", "-c:v", "mpeg2video",
                    "-f", "mpegts", str(video)], check=True, timeout=60)
    playlist = (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n"
                f"file://{video}\n#EXT-X-ENDLIST\n").encode()
    with DemoStreams(extra={"/list.m3u8": ("application/vnd.apple.mpegurl", playlist)}) as web:
        result = check(f"http://127.0.0.1:{web.port}/list.m3u8")
    assert result.verdict == "unsupported"
    assert result.snapshot_jpeg is None and result.width is None
