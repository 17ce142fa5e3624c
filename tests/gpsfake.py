"""Real gpsd fed by gpsfake (Debian gpsd-clients), with NMEA logs written by the test.

`gpsfake -n` starts its own gpsd on the given port without waiting for a client; killing
gpsfake's process group stops that gpsd too. Logs are stamped with the current time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import threading
import time

from survey_node.devices.nmea import Epoch, offset, write_log

# Samut Prakan provincial hall, roughly: the fixed point of the tests.
SAMUT_PRAKAN = (13.59930, 100.59680)
SATS = (2, 5, 12, 13, 15, 18, 20, 24)  # 8 satellites: two GSV pages, ~1 epoch/s at -c 0.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def epochs(count: int, *, start: dt.datetime | None = None, lat=SAMUT_PRAKAN[0],
           lon=SAMUT_PRAKAN[1], north_step_m: float = 0.0, east_step_m: float = 0.0,
           **fields) -> list[Epoch]:
    start = start or dt.datetime.now(dt.timezone.utc)
    fields.setdefault("sats", SATS)
    fields.setdefault("hdop", 0.9)  # a cheap receiver under open sky (gpsd's eph: 17.1 m)
    out = []
    for i in range(count):
        la, lo = offset(lat, lon, north_step_m * i, east_step_m * i)
        out.append(Epoch(time=start + dt.timedelta(seconds=i), lat=la, lon=lo, **fields))
    return out


def wait_until(predicate, timeout: float = 30.0, step: float = 0.05):
    """Poll until predicate() is truthy; return its value or fail with a deadline.

    gpsfake feeds gpsd one sentence batch at a time from a pty; on a loaded 2-core host
    its first fix once took more than 15 s. A passing wait returns as soon as it can, so
    a generous deadline costs nothing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@contextlib.contextmanager
def gpsfake(tmp_path, log_epochs: list[Epoch], *, port: int | None = None, once: bool = False,
            cycle: float = 0.2, **log_options):
    """Run gpsfake on 127.0.0.1:port with the given epochs; yields the port.

    gpsfake paces the log by sentence (`cycle` seconds each): five sentences an epoch at
    0.2 s is the 1 Hz of a common receiver. `log_options` go to the NMEA writer (order,
    nmea410)."""
    port = port or free_port()
    path = tmp_path / f"gps-{port}.nmea"
    path.write_text(write_log(log_epochs, **log_options), encoding="ascii")
    args = ["gpsfake", "-n", "-q", "-c", str(cycle), "-P", str(port)]
    if once:
        args.append("-1")
    proc = subprocess.Popen([*args, str(path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, cwd=tmp_path)
    try:
        wait_until(lambda: _accepts(port), timeout=15)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@contextlib.contextmanager
def silent_server():
    """A TCP server that accepts connections and never says a word (a hung gpsd)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()
