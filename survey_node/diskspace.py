"""A full data disk: recognising it whatever raised it, and how much room is left.

A full disk reaches the code in several shapes: ``OSError`` with ENOSPC (EDQUOT under a
quota), SQLite's SQLITE_FULL ("database or disk is full"), and SQLITE_IOERR_SHMSIZE when
SQLite cannot grow its ``-shm`` file. Callers turn any of them into one
:class:`~survey_node.errors.DiskFull` line instead of a 500 or a traceback. No Flask here.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .i18n import N_

# What a user is told, on a page, in an API answer or an import job (one line).
NODE_DISK_FULL = N_("The node's disk is full, so nothing was saved. Free space by syncing and"
                    " archiving old evidence, then try again.")
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SQLITE_FULL_CODES = frozenset({sqlite3.SQLITE_FULL, 4874})  # 4874: SQLITE_IOERR_SHMSIZE
MB = 1024 * 1024


def is_disk_full(exc: BaseException | None) -> bool:
    """True when `exc` (or what it was raised from) means the disk has no room left."""
    for _ in range(4):  # a library may wrap the OS error once or twice
        if exc is None:
            return False
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) \
                in SQLITE_FULL_CODES:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@dataclass(frozen=True)
class Space:
    """Free space on the disk holding `path`, against the configured thresholds."""

    path: str
    free_bytes: int
    total_bytes: int
    level: str  # "ok", "warn" (below warn_free_mb) or "fail" (below fail_free_mb)

    @property
    def free_mb(self) -> float:
        return self.free_bytes / MB


def space_of(path: str | Path, *, warn_free_mb: int, fail_free_mb: int) -> Space:
    usage = shutil.disk_usage(path)
    if usage.free < fail_free_mb * MB:
        level = "fail"
    elif usage.free < warn_free_mb * MB:
        level = "warn"
    else:
        level = "ok"
    return Space(str(path), usage.free, usage.total, level)
