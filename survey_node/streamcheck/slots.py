"""A limit on concurrent stream checks that holds across processes (web server and CLI).

Each running check holds an exclusive flock on one of N slot files in the data dir. The
kernel drops the lock when the holder dies, so a crash never leaks a slot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from ..errors import SurveyNodeError

POLL_S = 0.2


class ChecksBusy(SurveyNodeError):
    status = 503
    code = "busy"


class Slots:
    def __init__(self, directory: str | os.PathLike, count: int) -> None:
        self.directory = Path(directory)
        self.count = max(1, int(count))

    @contextlib.contextmanager
    def acquire(self, *, wait_s: float, on_wait=None):
        """Hold a free slot for the block; call `on_wait()` once if we must queue first."""
        self.directory.mkdir(parents=True, exist_ok=True)
        give_up = time.monotonic() + wait_s
        waited = False
        while True:
            fd = self._try_lock()
            if fd is not None:
                break
            if time.monotonic() >= give_up:
                raise ChecksBusy("Too many stream checks are running; try again in a minute")
            if not waited and on_wait:
                on_wait()
            waited = True
            time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _try_lock(self) -> int | None:
        for index in range(self.count):
            fd = os.open(self.directory / f"streamcheck-{index}.lock", os.O_RDWR | os.O_CREAT,
                         0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None
