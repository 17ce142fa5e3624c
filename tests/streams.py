"""Real stream servers on 127.0.0.1 for tests and benchmarks.

* :class:`RtspServer` - GStreamer's gst-rtsp-server (tests/servers/rtsp_server.py) run
  under Debian's /usr/bin/python3 as a subprocess, with or without basic auth.
* the HTTP MJPEG server is the one the demo ships (survey_node.streamcheck.demo_streams).
* :func:`silent_port` - a port that accepts connections and never answers.

The pytest fixtures below are imported by the test modules that use them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import selectors
import socket
import subprocess
import time
from pathlib import Path

import pytest

from survey_node.streamcheck.demo_streams import DemoStreams
from tests.live import stop_process

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SCRIPT = Path(__file__).resolve().parent / "servers" / "rtsp_server.py"
RTSP_USER, RTSP_PASSWORD = "surveyor", "s3cret-Pa55"
START_DEADLINE_S = 15
CLIP_DEADLINE_S = 300

# The 4 MP H.265 main streams, encoded once (x265 cannot keep up live at 2560x1440 on two
# cores) and kept in a cache directory between runs. Each clip starts LEAD_S into a group
# of pictures, with the frames before its next keyframe kept, as a client joining a live
# camera sees it: nothing can be decoded until the keyframe comes.
# name: (fps, keyframe interval in frames, seconds played)
CLIPS = {
    "hik-main.mkv": (15, 60, 12.0),    # Hikvision /Streaming/Channels/101: keyframe every 4 s
    "dahua-main.mkv": (10, 20, 10.0),  # Dahua main stream: keyframe every 2 s
}
CLIP_SIZE = (2560, 1440)
LEAD_S = 1.5


def clip_dir() -> Path:
    """Where the clips are (made on first use); SURVEY_NODE_TEST_CACHE moves it."""
    spec = repr((CLIPS, CLIP_SIZE, LEAD_S)).encode()
    root = Path(os.environ.get("SURVEY_NODE_TEST_CACHE")
                or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                / "survey-node-tests")
    folder = root / f"clips-{hashlib.sha256(spec).hexdigest()[:12]}"
    if all((folder / name).exists() for name in CLIPS):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, (fps, gop, seconds) in CLIPS.items():
        if (folder / name).exists():
            continue
        # Per-process names, then one atomic rename: two test workers may make it at once.
        full, part = folder / f"full-{os.getpid()}-{name}", folder / f"part-{os.getpid()}-{name}"
        width, height = CLIP_SIZE
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
             f"testsrc2=size={width}x{height}:rate={fps}", "-f", "lavfi", "-i",
             "sine=frequency=440:sample_rate=16000", "-t", str(seconds + LEAD_S),
             "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
             "-x265-params", f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:"
                             "open-gop=0:log-level=error", "-b:v", "2500k",
             "-c:a", "pcm_s16le", "-ac", "1", str(full)],
            check=True, timeout=CLIP_DEADLINE_S, stdin=subprocess.DEVNULL)
        # -copyinkf keeps the frames before the first keyframe after the cut.
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(full), "-ss", str(LEAD_S),
                        "-c", "copy", "-copyinkf", str(part)],
                       check=True, timeout=60, stdin=subprocess.DEVNULL)
        full.unlink()
        os.replace(part, folder / name)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rtsp_available() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0');"
         " from gi.repository import GstRtspServer"],
        capture_output=True, timeout=20, check=False)
    return probe.returncode == 0


class RtspServer:
    """gst-rtsp-server on a free port; `url(path, user, password)` builds stream URLs."""

    def __init__(self, *, user: str | None = None, password: str | None = None,
                 digest: bool = False, clips: Path | None = None,
                 scenes: Path | None = None) -> None:
        self.port = free_port()
        self.user, self.password = user, password
        cmd = [SYSTEM_PYTHON, str(RTSP_SCRIPT), "--port", str(self.port)]
        if user:
            cmd += ["--user", user, "--password", password or ""] + (
                ["--digest"] if digest else [])
        if clips:
            cmd += ["--clips", str(clips)]
        if scenes:
            cmd += ["--scenes", str(scenes)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        output = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline and b"READY" not in output:
                if sel.select(timeout=deadline - time.monotonic()):
                    chunk = os.read(self.proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    output += chunk
        if b"READY" not in output:
            self.stop()
            raise RuntimeError(f"RTSP test server did not start: {output.decode()[-500:]}")

    def url(self, path: str = "good", *, user: str | None = None,
            password: str | None = None) -> str:
        auth = f"{user}:{password}@" if user else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}/{path.lstrip('/')}"

    def stop(self) -> None:
        stop_process(self.proc, grace_s=5)
        self.proc.stdout.close()


@contextlib.contextmanager
def silent_port():
    """A listening port whose connections are accepted by the kernel and never answered."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def _require_rtsp() -> None:
    from tests.conftest import require_system

    require_system(SYSTEM_PYTHON, "ffprobe")
    if not rtsp_available():
        message = ("GStreamer RTSP server missing (python3-gi, gir1.2-gst-rtsp-server-1.0;"
                   " make test installs them as root)")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def rtsp_server():
    _require_rtsp()
    server = RtspServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rtsp_auth_server():
    _require_rtsp()
    server = RtspServer(user=RTSP_USER, password=RTSP_PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def camera_server():
    """Camera-shaped streams (Hikvision/Dahua paths, audio, 4 MP H.265, digest auth)."""
    _require_rtsp()
    from tests.conftest import require_system

    require_system("ffmpeg")
    server = RtspServer(user=RTSP_USER, password=RTSP_PASSWORD, digest=True, clips=clip_dir())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mjpeg_server():
    with DemoStreams() as streams:
        yield streams
