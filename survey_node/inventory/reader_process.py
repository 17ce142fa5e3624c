"""The reader process of a large import: ``python -m survey_node.inventory.reader_process``.

It reads a request (path, options) from stdin and writes ``reading.read_file``'s events
to stdout, each as its length and its marshal bytes (see ``send``). The parent side is
``survey_node.inventory.worker``. This module imports only what the child needs before
it starts loading the sheet: every module less is that much sooner.
"""

from __future__ import annotations

import gc
import marshal
import struct
import sys
import threading
from pathlib import Path

LENGTH = struct.Struct("<Q")


def send(out, event) -> None:
    """One event: its length, then its marshal bytes (marshal.load on a pipe makes a call
    per object it reads, which cost more than the rest of the transfer). Marshal is twice
    as fast as pickle for tuples of text, and safe here: both ends are this same Python."""
    blob = marshal.dumps(event)
    out.write(LENGTH.pack(len(blob)))
    out.write(blob)


def receive(stream):
    """The next event, or None when the stream ended or was cut short."""
    head = stream.read(LENGTH.size)
    if len(head) < LENGTH.size:
        return None
    (size,) = LENGTH.unpack(head)
    blob = stream.read(size)
    if len(blob) < size:
        return None
    try:
        return marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return None


def main() -> int:
    from ..errors import SurveyNodeError
    from .readers import Workbook

    # This process lives for one file and makes no reference cycles worth collecting; the
    # collector's passes over its many row tuples took a tenth of its time.
    gc.disable()
    request = receive(sys.stdin.buffer)
    if request is None:
        return 2
    path, options = request
    out = sys.stdout.buffer
    try:
        book = Workbook(Path(path), options["display_name"])
        # Loading the sheet is most of the wait and calamine lets go of the GIL meanwhile:
        # the rest of the reader (geothai's tables, pyproj) is imported beside it.
        loading = threading.Thread(target=book.preload, args=(options["sheet"],), daemon=True)
        loading.start()
        from .reading import ImportOptions, read_file

        loading.join()
        for event in read_file(Path(path), ImportOptions(**options), book=book):
            send(out, event)
            if event[0] != "progress":
                out.flush()
    except SurveyNodeError as exc:
        send(out, ("error", exc.message, exc.params))
    except BrokenPipeError:  # the parent gave up: nobody to tell
        return 1
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
