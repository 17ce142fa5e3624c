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


def receive(stream, max_bytes: int | None = None):
    """The next event, or None when the stream ended, was cut short or is bigger than
    `max_bytes` (the web process takes only small answers)."""
    head = stream.read(LENGTH.size)
    if len(head) < LENGTH.size:
        return None
    (size,) = LENGTH.unpack(head)
    if max_bytes is not None and size > max_bytes:
        return None
    blob = stream.read(size)
    if len(blob) < size:
        return None
    try:
        return marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return None


def limit_memory(megabytes: int | None) -> None:
    """RLIMIT_AS for this process: an allocation past it fails (calamine then aborts,
    Python raises MemoryError) instead of the machine swapping. And if the kernel must
    kill something for memory, let it be this reader rather than the web server."""
    import resource

    if megabytes:
        limit = int(megabytes) << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:  # not Linux, or not allowed: the limit above is what matters
        pass


def main() -> int:
    from ..errors import SurveyNodeError
    from .limits import SheetLimits
    from .readers import Workbook

    # This process lives for one file and makes no reference cycles worth collecting; the
    # collector's passes over its many row tuples took a tenth of its time.
    gc.disable()
    request = receive(sys.stdin.buffer)
    if request is None:
        return 2
    path, options, mode, memory_mb = request
    limit_memory(memory_mb)
    out = sys.stdout.buffer
    try:
        book = Workbook(Path(path), options["display_name"],
                        SheetLimits.from_dict(options.get("limits")))
        if mode == "analyse":
            from .reading import ImportOptions, layout_of

            send(out, ("layout", layout_of(book, ImportOptions(**options))))
        else:
            # Loading the sheet is most of the wait and calamine lets go of the GIL
            # meanwhile: the rest of the reader (geothai's tables, pyproj) is imported
            # beside it.
            loading = threading.Thread(target=book.preload, args=(options["sheet"],),
                                       daemon=True)
            loading.start()
            from .reading import ImportOptions, read_file

            loading.join()
            for event in read_file(Path(path), ImportOptions(**options), book=book):
                send(out, event)
                if event[0] != "progress":
                    out.flush()
    except SurveyNodeError as exc:
        send(out, ("error", exc.message, exc.params))
    except MemoryError:
        # What is left after the failed allocation is enough to say so; the parent
        # quarantines the file.
        send(out, ("out_of_memory", memory_mb))
    except BrokenPipeError:  # the parent gave up: nobody to tell
        return 1
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
