"""The evidence store survives kill -9 in the middle of writes: no partial file under a hash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from survey_node.evidence import EvidenceStore

WRITER = r"""
import os, sys
from survey_node.evidence import EvidenceStore
store = EvidenceStore(sys.argv[1])
n = 0
print("ready", flush=True)
while True:
    n += 1
    # 24 MB of distinct bytes per item: long enough that a kill usually lands mid-write.
    store.put_bytes(os.urandom(1 << 20) * 24 + n.to_bytes(8, "big"))
"""


def test_kill_9_during_writes_leaves_only_complete_files(tmp_path):
    root = tmp_path / "evidence"
    store = EvidenceStore(root)
    caught_mid_write = 0
    for round_no in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        # Kill when a write is under way (a temp file exists), later in each round so that
        # some writes complete too; poll rather than guess, the machine may be busy.
        deadline = time.monotonic() + 30
        while not list(root.glob("*/.tmp-*")) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05 * round_no * round_no)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        temporaries = list(root.glob("*/.tmp-*"))
        caught_mid_write += bool(temporaries)
        for sha256 in store.hashes():
            assert store.verify(sha256), f"round {round_no}: {sha256} is partial"
        store.remove_temporaries()
        assert not list(root.glob("*/.tmp-*"))
    # The test means something only if some kills really landed inside a write.
    assert caught_mid_write >= 1
    assert list(store.hashes())
