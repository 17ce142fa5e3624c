"""The child process that reads a large registry file while the importer writes it.

Normalising rows is pure Python and writing them is SQLite work that needs the GIL for
every row it binds, so in one process they take turns. Here the child
(``survey_node.inventory.reader_process``) reads and normalises (``reading.read_file``)
and sends each event down its stdout; the parent writes the batches as they arrive. A
100,000-row file imports about 1.4x faster on two cores. Small files are read in-process:
starting a Python costs more than it saves.

The child gets a deadline: at ``READ_DEADLINE_S`` its process group is killed and the
import fails with one clear line. A child that dies otherwise fails the import too, with
its stderr in the server log.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..errors import BadInput, SurveyNodeError
from .reader_process import receive, send

if TYPE_CHECKING:
    from .options import ImportOptions

log = logging.getLogger(__name__)
CHILD_MIN_BYTES = 1 << 20   # a file this big or bigger is read in a child process
READ_DEADLINE_S = 30 * 60   # 100,000 rows take ~2 s here; a slow SD card is slower
EXIT_WAIT_S = 5
PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size


def read_events(path: Path, options: ImportOptions, *, child: bool | None = None):
    """`read_file`'s events, read in a child process when `child` (default: a big file).

    Returns an iterable with ``close()``; the child starts at once, so it loads the
    workbook while the caller does other work.
    """
    if child is None:
        child = Path(path).stat().st_size >= CHILD_MIN_BYTES
    if child:
        return _ChildReader(Path(path), options)
    from .reading import read_file

    return read_file(Path(path), options)


class _ChildReader:
    def __init__(self, path: Path, options: ImportOptions):
        self.name = options.display_name or path.name
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH"))
                                            if p)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "survey_node.inventory.reader_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
            start_new_session=True)
        _widen_pipe(self.proc.stdout)
        self.timed_out = threading.Event()
        self.timer = threading.Timer(READ_DEADLINE_S, self._stop)
        self.timer.daemon = True
        self.timer.start()
        try:
            send(self.proc.stdin, (str(path), dataclasses.asdict(options)))
            self.proc.stdin.close()
        except OSError:  # it died already: __iter__ says how
            pass

    def _stop(self) -> None:
        self.timed_out.set()
        _kill(self.proc)

    def __iter__(self) -> Iterator[tuple]:
        while True:
            event = receive(self.proc.stdout)
            if event is None:  # ended, or cut short
                break
            if event[0] == "error":
                raise BadInput(event[1], **event[2])
            yield event
            if event[0] == "end":
                return
        if self.timed_out.is_set():
            raise BadInput("Reading %(file)s took longer than %(minutes)s minutes;"
                           " it was stopped and nothing was imported", file=self.name,
                           minutes=max(1, round(READ_DEADLINE_S / 60)))
        self.stderr.seek(0)
        log.error("registry reader process failed:\n%s",
                  self.stderr.read()[-4000:].decode("utf-8", "replace"))
        raise SurveyNodeError("The reader of %(file)s stopped unexpectedly; nothing was"
                              " imported (details are in the log)", file=self.name)

    def close(self) -> None:
        self.timer.cancel()
        _kill(self.proc)
        self.proc.stdout.close()
        self.stderr.close()


def _widen_pipe(stream) -> None:
    """Let the pipe hold a batch or two (it holds 64 KiB; a batch is about 0.5 MB), so the
    child goes on reading while the parent writes the batch before."""
    try:
        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (OSError, AttributeError):  # not Linux, or over /proc/sys/fs/pipe-max-size
        pass


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=EXIT_WAIT_S)
    except subprocess.TimeoutExpired:  # a zombie we cannot reap is not worth hanging for
        log.warning("registry reader process %s did not exit", proc.pid)
