"""The child process that reads a large registry file while the importer writes it.

Normalising rows is pure Python and writing them is SQLite work that needs the GIL for
every row it binds, so in one process they take turns. Here the child
(``survey_node.inventory.reader_process``) reads and normalises (``reading.read_file``)
and sends each event down its stdout; the parent writes the batches as they arrive. A
100,000-row file imports about 1.4x faster on two cores. The admin page and the CLI
always read in a child (a file must not be able to take them down); a library caller's
small files are read in-process, where starting a Python costs more than it saves.

The child also analyses an upload for the admin page (``analyse_in_child``): the web
process never opens a spreadsheet itself, it only receives the small layout.

The child gets a deadline (``READ_DEADLINE_S``, or the analysis deadline) after which its
process group is killed, and an address-space limit (RLIMIT_AS). Either, or a signal,
fails the import with one clear line as a :class:`ReaderKilled`, which the importer turns
into a quarantine of the file. A child that dies otherwise fails the import too, with its
stderr in the server log.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
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

from ..errors import BadInput, Conflict, SurveyNodeError
from .reader_process import receive, send
from .text import N_

if TYPE_CHECKING:
    from .options import ImportOptions

log = logging.getLogger(__name__)
CHILD_MIN_BYTES = 1 << 20   # a file this big or bigger is read in a child process
READ_DEADLINE_S = 30 * 60   # 100,000 rows take ~2 s here; a slow SD card is slower
EXIT_WAIT_S = 5
PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size
LAYOUT_MAX_BYTES = 8 << 20  # an analysis answer: headers and five sample rows
ANALYSIS_QUEUE_S = 30       # an upload waits this long for the one before it
_ANALYSES = threading.BoundedSemaphore(1)


@dataclass(frozen=True)
class ReaderLimits:
    """What the reader child may take: address space and time (config [imports])."""

    memory_mb: int = 1024
    analyse_s: float = 120.0
    read_s: float | None = None  # None: READ_DEADLINE_S as it is when the read starts


class ReaderKilled(BadInput):
    """The reader child was stopped by its memory limit, its deadline or a signal: the
    file is what killed it (see quarantine)."""


def read_events(path: Path, options: ImportOptions, *, child: bool | None = None,
                limits: ReaderLimits | None = None):
    """`read_file`'s events, read in a child process when `child` (default: a big file).

    Returns an iterable with ``close()``; the child starts at once, so it loads the
    workbook while the caller does other work.
    """
    if child is None:
        child = Path(path).stat().st_size >= CHILD_MIN_BYTES
    if child:
        limits = limits or ReaderLimits()
        return _ChildReader(Path(path), options, "read", limits.memory_mb,
                            limits.read_s or READ_DEADLINE_S)
    from .reading import read_file

    return read_file(Path(path), options)


def analyse_in_child(path: Path, options: ImportOptions, limits: ReaderLimits | None = None):
    """`reading.analyse` run in a reader child under the memory limit and the analysis
    deadline: the caller (the web process) only receives the small layout."""
    from .reading import Layout

    limits = limits or ReaderLimits()
    # One at a time: two readers of big files at once could together exhaust a small
    # node's memory, and the kernel's victim (a reader) would quarantine a good file.
    if not _ANALYSES.acquire(timeout=ANALYSIS_QUEUE_S):
        raise Conflict("Another upload is being checked; try again in a moment")
    try:
        reader = _ChildReader(Path(path), options, "analyse", limits.memory_mb,
                              limits.analyse_s, max_bytes=LAYOUT_MAX_BYTES)
        try:
            for event in reader:
                if event[0] == "layout":
                    return Layout(**event[1])
            raise reader.failure()
        finally:
            reader.close()
    finally:
        _ANALYSES.release()


class _ChildReader:
    def __init__(self, path: Path, options: ImportOptions, mode: str, memory_mb: int,
                 deadline_s: float, max_bytes: int | None = None):
        self.name = options.display_name or path.name
        self.deadline_s = deadline_s
        self.mode = mode
        self.max_bytes = max_bytes
        self.out_of_memory = None
        self.memory_mb = memory_mb
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
        self.timer = threading.Timer(deadline_s, self._stop)
        self.timer.daemon = True
        self.timer.start()
        try:
            send(self.proc.stdin, (str(path), dataclasses.asdict(options), mode, memory_mb))
            self.proc.stdin.close()
        except OSError:  # it died already: __iter__ says how
            pass

    def _stop(self) -> None:
        self.timed_out.set()
        _kill(self.proc)

    def __iter__(self) -> Iterator[tuple]:
        while True:
            event = receive(self.proc.stdout, self.max_bytes)
            if event is None:  # ended, or cut short
                break
            if event[0] == "error":
                raise BadInput(event[1], **event[2])
            if event[0] == "out_of_memory":
                self.out_of_memory = event[1]
                break
            yield event
            if event[0] in ("end", "layout"):
                return
        raise self.failure()

    def failure(self) -> SurveyNodeError:
        """Why the child ended without its answer: a ReaderKilled when the file killed it."""
        stopped_here = False
        try:
            self.proc.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:  # it went on after its answer was refused
            stopped_here = True
            _kill(self.proc)
        if self.timed_out.is_set():
            if self.mode == "read":
                return ReaderKilled(N_("Reading %(file)s took longer than %(minutes)s minutes;"
                                    " it was stopped and nothing was imported"), file=self.name,
                                    minutes=max(1, round(self.deadline_s / 60)))
            return ReaderKilled(N_("Reading %(file)s took longer than %(seconds)s seconds; it was"
                                " stopped and nothing was imported"), file=self.name,
                                seconds=max(1, round(self.deadline_s)))
        code = self.proc.returncode
        self.stderr.seek(0)
        details = self.stderr.read()[-4000:].decode("utf-8", "replace")
        if self.out_of_memory or (code is not None and code < 0
                                  and b"memory allocation" in details.encode()):
            # Explained by the line the caller gets; the child's own words only when asked.
            log.warning("registry reader of %s ran out of memory (%s MB)", self.name,
                        self.memory_mb)
            log.debug("its stderr:\n%s", details)
            return ReaderKilled(N_("Reading %(file)s needed more than %(mb)s MB of memory; it was"
                                " stopped and nothing was imported"), file=self.name,
                                mb=self.out_of_memory or self.memory_mb)
        if code is not None and code < 0 and not stopped_here:
            log.warning("registry reader of %s killed by signal %s", self.name, -code)
            log.debug("its stderr:\n%s", details)
            return ReaderKilled(N_("The reader of %(file)s was killed by signal %(signal)s;"
                                " nothing was imported"), file=self.name,
                                signal=_signal_name(-code))
        log.error("registry reader process failed:\n%s", details)
        return SurveyNodeError("The reader of %(file)s stopped unexpectedly; nothing was"
                               " imported (details are in the log)", file=self.name)

    def close(self) -> None:
        self.timer.cancel()
        _kill(self.proc)
        self.proc.stdout.close()
        self.stderr.close()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


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
