"""Real stream servers on 127.0.0.1 for tests and benchmarks.

* :class:`RtspServer` - GStreamer's gst-rtsp-server (tests/servers/rtsp_server.py) run
  under Debian's /usr/bin/python3 as a subprocess, with or without basic auth.
* the HTTP MJPEG server is the one the demo ships (survey_node.streamcheck.demo_streams).
* :func:`silent_port` - a port that accepts connections and never answers.

The pytest fixtures below are imported by the test modules that use them.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import time
from pathlib import Path

import pytest

from survey_node.streamcheck.demo_streams import DemoStreams

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SCRIPT = Path(__file__).resolve().parent / "servers" / "rtsp_server.py"
RTSP_USER, RTSP_PASSWORD = "surveyor", "s3cret-Pa55"
START_DEADLINE_S = 15


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

    def __init__(self, *, user: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self.user, self.password = user, password
        cmd = [SYSTEM_PYTHON, str(RTSP_SCRIPT), "--port", str(self.port)]
        if user:
            cmd += ["--user", user, "--password", password or ""]
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
        return f"rtsp://{auth}127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
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
def mjpeg_server():
    with DemoStreams() as streams:
        yield streams
