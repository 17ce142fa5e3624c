"""A Raspberry Pi 4-class box for benchmarks: a cgroup with a CPU quota and a memory limit.

Why these numbers (also in the README):
* CPU: a Pi 4's Cortex-A72 (1.5-1.8 GHz) runs single-threaded Python about 3x slower than one
  core of a current x86 server. The node's flows are a single Python thread plus at most one
  helper process (the stream-check probe, the import reader), so the quota that slows a single
  thread by that factor is what matters: 0.33 of one core. A CFS quota cannot slow one thread
  without also capping the sum, so work spread over two processes is judged more harshly than
  a 4-core Pi would: a pessimistic profile, on purpose.
* The quota is given in short periods (10 ms), so a throttled process waits at most a few ms
  at a time, as a slow CPU would; 100 ms periods would add 67 ms stalls that a Pi never has
  and turn read timeouts into false alarms.
* Memory: 1 GiB with no swap: a 2 GB Pi 4 once Raspberry Pi OS, gpsd, chrony, NetworkManager
  and the page cache have their share.

Processes enter the box from `preexec_fn` (before exec), so nothing runs unconstrained first;
their children inherit it. Works with cgroup v1 (`cpu` and `memory` controllers, as on this
machine) and cgroup v2; `available()` says why not where neither can be written (not root).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

CPU_SHARE = 0.33           # of one core
PERIOD_US = 10_000
MEMORY_BYTES = 1 << 30     # 1 GiB

ROOT = Path("/sys/fs/cgroup")


def describe() -> str:
    return (f"{CPU_SHARE:.2f} of one CPU core (CFS quota {round(PERIOD_US * CPU_SHARE)} us per"
            f" {PERIOD_US} us), {MEMORY_BYTES >> 20} MiB of memory, no swap")


class PiBox:
    """One cgroup (v1 pair or v2 directory) made on entry and removed on close."""

    def __init__(self) -> None:
        name = f"survey-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.v2 = (ROOT / "cgroup.controllers").exists()
        quota = round(PERIOD_US * CPU_SHARE)
        if self.v2:
            self.dirs = [ROOT / name]
            self.dirs[0].mkdir()
            (self.dirs[0] / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            (self.dirs[0] / "memory.max").write_text(str(MEMORY_BYTES))
            (self.dirs[0] / "memory.swap.max").write_text("0")
        else:
            cpu, mem = ROOT / "cpu" / name, ROOT / "memory" / name
            self.dirs = [cpu, mem]
            for path in self.dirs:
                path.mkdir()
            (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(quota))
            (mem / "memory.limit_in_bytes").write_text(str(MEMORY_BYTES))
            swap = mem / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(MEMORY_BYTES))
        self._procs = [str(d / "cgroup.procs") for d in self.dirs]

    def enter(self) -> None:
        """Move the calling process in (used as a Popen preexec_fn: plain writes only)."""
        pid = str(os.getpid())
        for procs in self._procs:
            with open(procs, "w") as fh:
                fh.write(pid)

    def peak_memory_mb(self) -> float | None:
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        path = self.dirs[-1] / name
        try:
            return int(path.read_text()) / 1e6
        except (OSError, ValueError):
            return None

    def reset_peak(self) -> None:
        if not self.v2:
            try:
                (self.dirs[-1] / "memory.max_usage_in_bytes").write_text("0")
            except OSError:
                pass

    def throttled_s(self) -> float | None:
        """Time the quota held the box back so far (a check that the quota really bites)."""
        try:
            stat = dict(line.split() for line in (self.dirs[0] / "cpu.stat").read_text()
                        .splitlines())
        except (OSError, ValueError):
            return None
        if "throttled_usec" in stat:
            return int(stat["throttled_usec"]) / 1e6
        if "throttled_time" in stat:
            return int(stat["throttled_time"]) / 1e9
        return None

    def close(self) -> None:
        # Every process must have left (exited) before its group can be removed.
        for path in self.dirs:
            try:
                path.rmdir()
            except OSError:
                pass

    def __enter__(self) -> "PiBox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def available() -> str | None:
    """None when a box can be made here, else the reason it cannot."""
    try:
        PiBox().close()
    except OSError as exc:
        return f"no writable cgroup cpu/memory controller ({exc.strerror}: {exc.filename})"
    return None
