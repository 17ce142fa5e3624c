"""`registry serve --workers N`: N registry processes sharing one listening socket.

The parent binds the port once, applies the database's migrations once, then forks the
workers; each builds its own app, store and connection pool after the fork (a pool's
sockets and threads must never be shared between processes) and serves the inherited
socket with waitress. The kernel hands each new connection to one worker. The parent only
watches: a worker that dies is started again (after a pause, so a worker that cannot
start does not spin), and SIGTERM/SIGINT stop every worker within a deadline.

More than one worker is for a PostgreSQL database. An embedded SQLite registry takes one
writer at a time whatever runs it, so it is refused with one line instead of served by
processes that would only queue on the file's lock.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from typing import Callable

from ..config import Config
from ..errors import ConfigError

RESTART_PAUSE_S = 1.0
MAX_RESTART_PAUSE_S = 30.0
STEADY_S = 60.0  # a worker that ran this long before dying is restarted at once
STOP_DEADLINE_S = 15.0
BACKLOG = 512


def check_workers(config: Config, workers: int) -> None:
    if workers < 1:
        raise ConfigError("--workers must be 1 or more, not %(n)s", n=workers)
    if workers > 1 and not config.registry.database_url.strip():
        raise ConfigError("--workers %(n)s needs a PostgreSQL database ([registry] database_url):"
                          " an embedded SQLite registry takes one writer at a time", n=workers)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError("Cannot listen on %(host)s:%(port)s: %(error)s", host=host, port=port,
                          error=exc.strerror or str(exc)) from None
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def supervise(sock: socket.socket, workers: int, serve_one: Callable[[socket.socket], None],
              *, log: Callable[[str], None]) -> int:
    """Fork `workers` processes running `serve_one(sock)`; keep them running until a stop
    signal; return the exit status."""
    children: dict[int, int] = {}  # pid -> worker number
    started = [0.0] * workers
    pauses = [RESTART_PAUSE_S] * workers
    stopping = False

    def start(number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                serve_one(sock)
            except BaseException as exc:  # noqa: BLE001 - one line, then the parent restarts it
                print(f"registry worker {number}: {exc}", file=sys.stderr, flush=True)
                code = 1
            finally:
                os._exit(code)
        children[pid] = number
        started[number] = time.monotonic()

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for number in range(workers):
        start(number)
    log(f"{workers} registry workers: pids {' '.join(map(str, children))}")
    while not stopping:
        # Polled, not a blocking wait: Python retries a wait a signal interrupted (PEP 475),
        # so a blocking waitpid would never see the stop flag.
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.2)
            continue
        number = children.pop(pid, None)
        if number is None or stopping:
            continue
        if time.monotonic() - started[number] > STEADY_S:
            pauses[number] = RESTART_PAUSE_S
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        log(f"registry worker {number} (pid {pid}) {how};"
            f" starting it again in {pauses[number]:.0f} s")
        _sleep_unless(lambda: stopping, pauses[number])
        pauses[number] = min(pauses[number] * 2, MAX_RESTART_PAUSE_S)
        if not stopping:
            start(number)
    _stop_children(children)
    sock.close()
    return 0


def _sleep_unless(stopped: Callable[[], bool], seconds: float) -> None:
    end = time.monotonic() + seconds
    while not stopped() and time.monotonic() < end:
        time.sleep(0.1)


def _stop_children(children: dict[int, int]) -> None:
    for pid in children:
        _signal(pid, signal.SIGTERM)
    end = time.monotonic() + STOP_DEADLINE_S
    while children and time.monotonic() < end:
        for pid in list(children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                children.pop(pid)
        time.sleep(0.05)
    for pid in children:  # past the deadline: a worker stuck in a request goes now
        _signal(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
