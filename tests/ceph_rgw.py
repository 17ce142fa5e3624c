"""A real Ceph RADOS Gateway on 127.0.0.1 for the tests: Debian's radosgw, ceph-mon and
ceph-osd, started as a throwaway one-node cluster.

One monitor and one OSD keeping its objects in memory (memstore: no disk to prepare),
pools of one copy, cephx off (the cluster is reachable from 127.0.0.1 only and lives as long
as the tests), and RGW's S3 frontend (beast) on a free port with one user whose keys the
tests hold. Every step has a deadline; a step that fails says which and shows the end of
that daemon's log. Stopping the cluster removes its directory.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.live import free_port, stop_process, wait_for_http

DAEMONS = ("ceph-mon", "ceph-osd", "radosgw", "monmaptool", "radosgw-admin", "ceph")
STEP_DEADLINE_S = 60.0
USER = "survey-tests"


def available() -> bool:
    return all(shutil.which(name) for name in DAEMONS)


def _config(root: Path, fsid: str, mon_port: int, rgw_port: int) -> str:
    return f"""[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{mon_port}
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
# With cephx off, msgr2's "secure" mode has no key: clients must accept crc.
ms mon client mode = crc secure
ms client mode = crc secure
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 1073741824
# The tests' disk may be fuller than a monitor likes; the cluster holds nothing lasting.
mon data avail warn = 1
mon data avail crit = 0
run dir = {root}/run
admin socket = {root}/run/$name.asok
log file = {root}/log/$name.log
[mon.a]
mon data = {root}/mon.a
[osd.0]
osd data = {root}/osd.0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw dns name = 127.0.0.1
"""


@contextlib.contextmanager
def running_ceph_rgw():
    """A one-node Ceph cluster with RGW until the block ends; yields an S3Server whose
    endpoint is RGW's S3 API and whose keys belong to a user made for the tests."""
    from tests.s3_server import REGION, S3Server

    root = Path(tempfile.mkdtemp(prefix="ceph-rgw-"))
    for sub in ("run", "log", "mon.a", "osd.0"):
        (root / sub).mkdir()
    conf = root / "ceph.conf"
    mon_port, rgw_port = free_port(), free_port()
    fsid = str(uuid.uuid4())
    conf.write_text(_config(root, fsid, mon_port, rgw_port))
    daemons: list[subprocess.Popen] = []

    def run(*args: str) -> str:
        try:
            done = subprocess.run([*args, "-c", str(conf)], capture_output=True, text=True,
                                  timeout=STEP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Ceph: `{' '.join(args)}` did not end within"
                               f" {STEP_DEADLINE_S:.0f}s\n{_logs(root)}") from None
        if done.returncode != 0:
            raise RuntimeError(f"Ceph: `{' '.join(args)}` failed ({done.returncode}):"
                               f" {done.stderr.strip()[-1500:]}\n{_logs(root)}")
        return done.stdout

    def start(*args: str) -> None:
        # -f: in the foreground (this process owns it and stops it), logging to its file.
        daemons.append(subprocess.Popen([*args, "-f", "-c", str(conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    try:
        subprocess.run(["monmaptool", "--create", "--fsid", fsid, "--addv", "a",
                        f"[v2:127.0.0.1:{mon_port}]", str(root / "monmap")],
                       check=True, capture_output=True, timeout=STEP_DEADLINE_S)
        run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(root / "monmap"))
        start("ceph-mon", "-i", "a")
        osd_id = run("ceph", "--connect-timeout", "20", "osd", "create").strip()
        run("ceph-osd", "--mkfs", "-i", osd_id)
        start("ceph-osd", "-i", osd_id)
        _wait(lambda: json.loads(run("ceph", "--connect-timeout", "10", "osd", "stat",
                                     "-f", "json")).get("num_up_osds") == 1,
              "the OSD to come up", root)
        start("radosgw", "-n", "client.rgw")
        endpoint = f"http://127.0.0.1:{rgw_port}"
        try:
            wait_for_http(endpoint + "/", deadline_s=STEP_DEADLINE_S, process=daemons[-1])
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"Ceph: RGW did not answer: {exc}\n{_logs(root)}") from None
        access_key, secret_key = "rgw-test-" + uuid.uuid4().hex[:8], uuid.uuid4().hex
        run("radosgw-admin", "user", "create", f"--uid={USER}", f"--display-name={USER}",
            f"--access-key={access_key}", f"--secret-key={secret_key}")
        yield S3Server(endpoint, access_key_id=access_key, secret_access_key=secret_key,
                       region=REGION, name="Ceph RGW", stores_checksums=False)
    finally:
        for process in reversed(daemons):
            stop_process(process)
        shutil.rmtree(root, ignore_errors=True)


def _wait(ready, what: str, root: Path) -> None:
    end = time.monotonic() + STEP_DEADLINE_S
    while time.monotonic() < end:
        if ready():
            return
        time.sleep(0.5)
    raise RuntimeError(f"Ceph: waited {STEP_DEADLINE_S:.0f}s for {what}\n{_logs(root)}")


def _logs(root: Path) -> str:
    tails = []
    for log in sorted((root / "log").glob("*.log")):
        text = log.read_text(errors="replace")[-800:]
        tails.append(f"--- {log.name}\n{text}")
    return "\n".join(tails)
