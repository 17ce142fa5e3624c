"""The child process that reads a large registry file while the importer writes it.

Normalising rows is pure Python and writing them is SQLite work that needs the GIL for
every row it binds, so in one process they take turns. Here the child reads and
normalises (``reading.read_file``) and sends each event, pickled, down its stdout; the
parent writes the batches as they arrive. A 100,000-row file imports about 1.4x faster
on two cores. Small files are read in-process: starting a Python costs more than it saves.

The child gets a deadline: at ``READ_DEADLINE_S`` its process group is killed and the
import fails with one clear line. A child that dies otherwise fails the import too, with
its stderr in the server log.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from ..errors import BadInput, SurveyNodeError
from .reading import ImportOptions, read_file

log = logging.getLogger(__name__)
CHILD_MIN_BYTES = 1 << 20   # a file this big or bigger is read in a child process
READ_DEADLINE_S = 30 * 60   # a million rows take a few minutes on a Pi 4
EXIT_WAIT_S = 5


def read_events(path: Path, options: ImportOptions, *,
                child: bool | None = None) -> Iterator[tuple]:
    """`read_file`'s events, read in a child process when `child` (default: big file)."""
    if child is None:
        child = Path(path).stat().st_size >= CHILD_MIN_BYTES
    return _child_events(Path(path), options) if child else read_file(Path(path), options)


def _child_events(path: Path, options: ImportOptions) -> Iterator[tuple]:
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "survey_node.inventory.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr, env=env, start_new_session=True)
        timed_out = threading.Event()

        def stop():
            timed_out.set()
            _kill(proc)

        timer = threading.Timer(READ_DEADLINE_S, stop)
        timer.daemon = True
        timer.start()
        try:
            pickle.dump((str(path), options), proc.stdin)
            proc.stdin.close()
            while True:
                try:
                    event = pickle.load(proc.stdout)
                except (EOFError, pickle.UnpicklingError):
                    break
                if event[0] == "error":
                    raise BadInput(event[1], **event[2])
                yield event
                if event[0] == "end":
                    return
            name = options.display_name or path.name
            if timed_out.is_set():
                raise BadInput("Reading %(file)s took longer than %(minutes)s minutes;"
                               " it was stopped and nothing was imported", file=name,
                               minutes=max(1, round(READ_DEADLINE_S / 60)))
            stderr.seek(0)
            log.error("registry reader process failed:\n%s",
                      stderr.read()[-4000:].decode("utf-8", "replace"))
            raise SurveyNodeError("The reader of %(file)s stopped unexpectedly; nothing was"
                                  " imported (details are in the log)", file=name)
        finally:
            timer.cancel()
            _kill(proc)
            proc.stdout.close()


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


def main() -> int:
    """Child side: read the request from stdin, send the events to stdout."""
    path, options = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    try:
        for event in read_file(Path(path), options):
            pickle.dump(event, out, protocol=pickle.HIGHEST_PROTOCOL)
            if event[0] != "progress":
                out.flush()
    except SurveyNodeError as exc:
        pickle.dump(("error", exc.message, exc.params), out)
    except BrokenPipeError:  # the parent gave up: nobody to tell
        return 1
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
