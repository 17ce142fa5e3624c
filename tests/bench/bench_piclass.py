"""The node's main flows in a Raspberry Pi 4-class box, each against itself unconstrained.

Flows (issue 15): server start (to the first /healthz answer), a survey save (the tablet's
PUT of answers and of a position, client outside the box as a tablet is), a 20,000-row
import, a 50-survey sync (the registry outside the box, as it is at the office) and a 4 MP
H.265 stream check (camera server outside the box), whose CPU seconds are also set against
FFmpeg demuxing the same stream for the same time (`-c copy -f null`), in the box too. Every flow runs as its own process tree, once
unconstrained and once inside the box (tests/bench/piclass.py says which quota and why);
the ratio is pi-class time / unconstrained time, measured in the same run.

This reports; it has no bar of its own, except that every flow must still succeed in the box.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.bench import piclass

IMPORT_ROWS = 20_000
SYNC_SURVEYS = 50
SAVES = 30
CLI = [sys.executable, "-m", "survey_node"]


def _clean_env() -> dict:
    from survey_node import config as config_mod

    return {k: v for k, v in os.environ.items() if not k.startswith(config_mod.ENV_PREFIX)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(argv: list[str], box: piclass.PiBox | None, *, timeout: float = 600,
              env: dict | None = None) -> tuple[float, float, str]:
    """Run a command to its end: (wall s, CPU s of its whole tree, stdout); fails loudly."""
    cpu = _children_cpu()
    start = time.perf_counter()
    out = subprocess.run(argv, preexec_fn=box.enter if box else None, capture_output=True,
                         text=True, timeout=timeout, env=env or _clean_env())
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... exited {out.returncode}:"
                           f" {out.stderr.strip()[-300:]}")
    return wall, _children_cpu() - cpu, out.stdout


class Server:
    """`survey-node serve` in (or out of) the box; `started_s` is spawn to first /healthz."""

    def __init__(self, data_dir: Path, box: piclass.PiBox | None) -> None:
        from tests.live import free_port

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        start = time.perf_counter()
        self.process = subprocess.Popen(
            [*CLI, "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
             "--port", str(self.port)], preexec_fn=box.enter if box else None,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_clean_env())
        deadline = start + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.perf_counter() > deadline:
                self.stop()
                raise RuntimeError("server did not answer /healthz within 120 s")
            time.sleep(0.01)
        self.started_s = time.perf_counter() - start

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


# -- flows: each returns (seconds, extra text) ------------------------------------------------

def flow_start(demo: Path, work: Path, box) -> tuple[float, str]:
    runs = []
    for n in range(3):
        data = shutil.copytree(demo, work / f"start-{n}")
        server = Server(data, box)
        runs.append(server.started_s)
        server.stop()
    return statistics.median(runs), "median of 3"


def flow_save(demo: Path, work: Path, box) -> tuple[float, str]:
    from tests.bench.bench_worklist import _login

    data = shutil.copytree(demo, work / "save")
    pins = {u["name"]: u["pin"] for u in json.loads((data / "demo-users.json").read_text())}
    server = Server(data, box)
    try:
        session = _login(server.base, "surveyor", pins["surveyor"])
        items = session.get(f"{server.base}/api/v1/worklist?show=all&limit=5",
                            timeout=10).json()["items"]
        answer = session.post(f"{server.base}/api/v1/cameras/{items[0]['camera_id']}/survey",
                              timeout=10)
        if answer.status_code != 200:
            raise RuntimeError(f"could not start a survey: {answer.text[:200]}")
        survey = answer.json()
        url = f"{server.base}/api/v1/surveys/{survey['id']}"
        lat, lon = items[0]["registered_lat"], items[0]["registered_lon"]
        times = []
        for n in range(SAVES):
            start = time.perf_counter()
            session.put(f"{url}/answers", json={"notes": f"บันทึกครั้งที่ {n}",
                                                "checklist": {"exists": "yes"}},
                        timeout=30).raise_for_status()
            session.put(f"{url}/position", json={"source": "manual", "reason": "bench",
                                                 "fix": {"lat": lat + n * 1e-6, "lon": lon}},
                        timeout=30).raise_for_status()
            times.append(time.perf_counter() - start)
    finally:
        server.stop()
    return statistics.median(times), f"median of {SAVES} (answers + position)"


def flow_import(xlsx: Path, work: Path, box) -> tuple[float, str]:
    data = work / "import"
    run_timed([*CLI, "init", "--data-dir", str(data)], None)
    env = {**_clean_env(), "SURVEY_NODE_NODE__PROVINCE_CODE": "30"}
    wall, _, out = run_timed([*CLI, "import", str(xlsx), "--data-dir", str(data), "--json"],
                             box, env=env)
    report = json.loads(out)
    if report["cameras"]["new"] != IMPORT_ROWS:
        raise RuntimeError(f"import took {report['cameras']['new']} of {IMPORT_ROWS} rows")
    return wall, f"{IMPORT_ROWS} rows"


def flow_sync(node_copy: Path, work: Path, box) -> tuple[float, str]:
    from survey_node import config as config_mod
    from tests.sync_helpers import add_token, running_registry

    node = config_mod.load(shutil.copytree(node_copy, work / "sync-node"))
    with running_registry(work / "sync-registry") as url:
        add_token(work / "sync-registry", node)
        wall, _, out = run_timed([*CLI, "sync", "--data-dir", str(node.data_dir),
                                  "--registry", url, "--json"], box)
    summary = json.loads(out)
    if summary["surveys_acknowledged"] != SYNC_SURVEYS:
        raise RuntimeError(f"sync acknowledged {summary['surveys_acknowledged']}")
    return wall, f"{SYNC_SURVEYS} surveys x 3 photos"


def flow_stream(url: str, work: Path, box) -> tuple[float, str]:
    """A 4 MP H.265 15 fps check (Hikvision's main-stream path, PCMU audio beside it)."""
    data = work / "node"
    run_timed([*CLI, "init", "--data-dir", str(data)], None)
    wall, cpu, out = run_timed([*CLI, "check-stream", url, "--data-dir", str(data), "--json"],
                               box, timeout=120)
    result = json.loads(out)
    if result["verdict"] != "ok" or result["codec"] != "hevc":
        raise RuntimeError(f"stream check said {result['verdict']} ({result['error']})")
    # FFmpeg only demuxing the same stream for as long as the check sampled, in the same box.
    seconds = max(1.0, (result.get("elapsed_ms") or 3000) / 1000)
    _, copy_cpu, _ = run_timed(["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url,
                                "-map", "0:v", "-c", "copy", "-t", f"{seconds:.1f}", "-f",
                                "null", "-"], box, timeout=120)
    return wall, (f"fps {result['fps']}, {result.get('bitrate_kbps')} kbit/s; CPU {cpu:.2f} s"
                  f" vs ffmpeg -c copy {copy_cpu:.2f} s = {cpu / max(copy_cpu, 0.01):.1f}x")


FLOWS = (("server start", "start"), ("survey save", "save"), ("import", "import"),
         ("sync", "sync"), ("stream check", "stream"))


def main() -> None:
    why_not = piclass.available()
    if why_not:
        print(f"   SKIPPED: {why_not}; run as root on a machine with cgroup v1 or v2")
        return
    from tests.bench.bench_import import make_file
    from tests.sync_helpers import make_node

    print(f"   profile: {piclass.describe()}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="bench-piclass-"))
    try:
        demo = root / "demo"
        run_timed([*CLI, "demo", "--no-serve", "--data-dir", str(demo)], None)
        xlsx = root / "registry.xlsx"
        make_file(xlsx, rows=IMPORT_ROWS)
        node = make_node(root / "sync-source", "bench-pi", surveys=SYNC_SURVEYS,
                         photos_per_survey=3, photo_bytes=300 * 1024)
        from tests.streams import RTSP_PASSWORD, RTSP_USER, RtspServer, clip_dir

        cameras = RtspServer(user=RTSP_USER, password=RTSP_PASSWORD, digest=True,
                             clips=clip_dir())
        stream_url = cameras.url("Streaming/Channels/101", user=RTSP_USER,
                                 password=RTSP_PASSWORD)
        inputs = {"start": demo, "save": demo, "import": xlsx, "sync": node.data_dir,
                  "stream": stream_url}
        runners = {"start": flow_start, "save": flow_save, "import": flow_import,
                   "sync": flow_sync, "stream": flow_stream}
        print(f"   {'flow':14s} {'unconstrained':>14s} {'pi-class':>10s} {'ratio':>6s}"
              f" {'peak MB':>8s}  note", flush=True)
        for label, key in FLOWS:
            free_s, _ = runners[key](inputs[key], _fresh(root, f"{key}-free"), None)
            with piclass.PiBox() as box:
                pi_s, note = runners[key](inputs[key], _fresh(root, f"{key}-pi"), box)
                peak = box.peak_memory_mb()
            print(f"   {label:14s} {_fmt(free_s):>14s} {_fmt(pi_s):>10s}"
                  f" {pi_s / free_s:5.1f}x {peak or 0:8.0f}  {note}", flush=True)
        cameras.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _fresh(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir()
    return path


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    main()
