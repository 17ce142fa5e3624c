"""Stream check quality bars (issue 6), each against a baseline measured in the same run.

1. First frame of a live local RTSP stream vs ffprobe with default options reporting the
   same stream's codec and size: at least 4x sooner.
2. A silent endpoint reaches `timeout` within the connect deadline + 0.5 s (baseline:
   OpenCV with default options on the same endpoint, ~30 s).
3. The web server's memory grows by at most 5 MB over 50 checks run through its API.

Run with `make bench` (or `python -m tests.bench`). main() returns 0 when every bar holds.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from survey_node.config import StreamCheckSection
from survey_node.streamcheck import run_probe
from survey_node.streamcheck.demo_streams import DemoStreams
from tests.streams import RtspServer, free_port, rtsp_available, silent_port

RUNS = 5
MEMORY_CHECKS = 50
OPENCV_DEFAULT_CAP_S = 40

_OPENCV_DEFAULTS = """
import sys, time, cv2
start = time.monotonic()
cap = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG)
print(round(time.monotonic() - start, 2), cap.isOpened())
"""


def first_frame_vs_ffprobe(server: RtspServer) -> bool:
    url = server.url("good")
    settings = StreamCheckSection(sample_seconds=0.5)
    ours, theirs = [], []
    # As in the web server: a probe process waits ready (keep_warm), each serves one check.
    run_probe(url, settings, keep_warm=True)
    for _ in range(RUNS):
        time.sleep(0.5)  # let the next standby probe finish starting, as between real checks
        start = time.monotonic()
        seen = {}
        result = run_probe(url, settings, keep_warm=True, on_event=lambda e: seen.setdefault(
            e["event"], time.monotonic()))
        assert result.verdict == "ok", result
        ours.append(seen["first_frame"] - start)
        start = time.monotonic()
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                                "stream=codec_name,width,height", "-of", "json", url],
                               capture_output=True, timeout=60, check=True)
        theirs.append(time.monotonic() - start)
        assert json.loads(probe.stdout)["streams"][0]["width"] == result.width
    ratio = statistics.median(theirs) / statistics.median(ours)
    ok = ratio >= 4
    print(f"first frame (from the start of the check, web server path): median"
          f" {statistics.median(ours):.3f} s; ffprobe defaults: {statistics.median(theirs):.3f} s;"
          f" ratio {ratio:.1f}x (bar >= 4x) {'PASS' if ok else 'FAIL'}")
    return ok


def silent_endpoint(baseline: subprocess.Popen, port: int) -> bool:
    settings = StreamCheckSection()
    result = run_probe(f"rtsp://127.0.0.1:{port}/x", settings)
    limit = settings.connect_timeout_s + 0.5
    ok = result.verdict == "timeout" and result.elapsed_ms / 1000 <= limit
    try:
        out, _ = baseline.communicate(timeout=OPENCV_DEFAULT_CAP_S)
        base = float(out.split()[0])
    except subprocess.TimeoutExpired:
        baseline.kill()
        baseline.communicate()
        base = float(OPENCV_DEFAULT_CAP_S)
    print(f"silent endpoint: {result.verdict} after {result.elapsed_ms / 1000:.2f} s (bar <="
          f" {limit:.1f} s); OpenCV defaults gave up after {base:.1f} s;"
          f" ratio {base / (result.elapsed_ms / 1000):.1f}x {'PASS' if ok else 'FAIL'}")
    return ok


def server_memory(streams: DemoStreams) -> bool:
    import requests

    from survey_node import accounts
    from survey_node import db as database
    from survey_node.cli.core import init_data_dir
    from survey_node.db import cameras as camera_db

    with tempfile.TemporaryDirectory() as tmp:
        cfg, _, _ = init_data_dir(Path(tmp) / "node")
        db = database.connect(cfg.db_path)
        accounts.add_user(db, cfg.security, name="bench", role="admin", pin="975310")
        with database.transaction(db):
            camera_db.insert_cameras(db, [{"camera_id": "BENCH-1",
                                           "stream_url": streams.url("good")}])
        db.close()
        port = free_port()
        env = dict(os.environ, SURVEY_NODE_STREAMCHECK__SAMPLE_SECONDS="0.5")
        server = subprocess.Popen(
            [sys.executable, "-m", "survey_node", "serve", "--data-dir", str(cfg.data_dir),
             "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            http = requests.Session()
            for _ in range(100):
                try:
                    page = http.get(f"{base}/login", timeout=2)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            http.post(f"{base}/login", data={"name": "bench", "pin": "975310",
                                             "csrf_token": token}, timeout=10)
            page = http.get(f"{base}/cameras/BENCH-1/stream-check", timeout=10)
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)

            def one_round(n: int) -> None:
                polls = []
                for _ in range(n):
                    reply = http.post(f"{base}/api/v1/cameras/BENCH-1/stream-check",
                                      headers={"X-CSRFToken": token}, timeout=10)
                    polls.append(reply.json()["poll"])
                for url in polls:
                    for _ in range(600):
                        job = http.get(base + url, timeout=10).json()
                        if job["state"] in ("done", "failed"):
                            assert job["state"] == "done", job
                            break
                        time.sleep(0.1)

            for _ in range(3):  # warm-up: imports, caches, thread pools
                one_round(2)
            before = _rss_kb(server.pid)
            for _ in range(MEMORY_CHECKS // 2):
                one_round(2)
            after = _rss_kb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)
    growth_mb = (after - before) / 1024
    ok = growth_mb <= 5
    print(f"server memory over {MEMORY_CHECKS} checks: {before / 1024:.1f} -> {after / 1024:.1f}"
          f" MB, growth {growth_mb:+.2f} MB (bar <= 5 MB) {'PASS' if ok else 'FAIL'}")
    return ok


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> int:
    if not rtsp_available():
        print("SKIP: GStreamer RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0) missing")
        return 1
    results = []
    with silent_port() as port:
        # The ~30 s OpenCV-defaults baseline runs while the other measurements do.
        baseline = subprocess.Popen([sys.executable, "-c", _OPENCV_DEFAULTS,
                                     f"rtsp://127.0.0.1:{port}/x"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        server = RtspServer()
        try:
            results.append(first_frame_vs_ffprobe(server))
        finally:
            server.stop()
        results.append(silent_endpoint(baseline, port))
    with DemoStreams() as streams:
        results.append(server_memory(streams))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
