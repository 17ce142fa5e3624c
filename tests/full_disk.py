"""A real small filesystem that tests fill to the last byte (a tmpfs mounted by root).

Faking ENOSPC would test what we think a full disk does; a tmpfs shows what it does:
SQLite's SQLITE_FULL (or SQLITE_IOERR_SHMSIZE), short writes, and which files can still
be created. Mounting needs root: on a developer's laptop the tests skip, under CI=true
(which runs as root) they must run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest


def _cannot(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"cannot mount a small tmpfs: {why}")
    pytest.skip(f"cannot mount a small tmpfs: {why} (run as root; CI does)")


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int = 8):
    """Mount a `size_mb` tmpfs at `path`; unmounted afterwards, even when the test fails."""
    if os.geteuid() != 0:
        _cannot("not root")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755",
                           "tmpfs", str(path)], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        _cannot(done.stderr.strip() or f"mount exited {done.returncode}")
    try:
        yield path
    finally:
        # Lazy: a server the test started may still hold a file open for a moment.
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


class Filler:
    """Fills a filesystem to its last byte with one file, and frees it again."""

    def __init__(self, root: Path) -> None:
        self.path = root / "filler.bin"

    def fill(self, *, leave: int = 0) -> int:
        """Write until the disk refuses even one byte, then give back `leave` bytes (room
        for small writes, not for big ones); returns the bytes the filler holds."""
        written = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 16, 4096, 512, 1):
                block = b"\0" * size
                while True:
                    try:
                        n = os.write(fd, block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
                    written += n
                    if n < size:
                        break
            if leave:
                os.ftruncate(fd, max(0, written - leave))
                written = max(0, written - leave)
        finally:
            os.close(fd)
        if not leave:
            assert free_bytes(self.path.parent) < 4096, "the disk is not full"
        return written

    def free(self) -> None:
        self.path.unlink(missing_ok=True)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def shrink_wal(db_path: Path) -> None:
    """Checkpoint and truncate the WAL, so the next write really needs new disk blocks
    (a big WAL left by earlier writes would otherwise take small writes in its old space)."""
    conn = sqlite3.connect(str(db_path), timeout=10)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "a reader kept the WAL from being truncated"
    finally:
        conn.close()


def files_under(root: Path) -> dict[str, int]:
    """Every file (relative path -> size), to show that nothing was added or left half-done."""
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def room_in_wal(db_path: Path, size: int = 1 << 20) -> None:
    """Leave SQLite `size` bytes of room inside its own files, for a disk then filled: small
    database writes fit (in the WAL and free pages) while any new file does not, as on a
    node whose database has been busy for a while."""
    conn = sqlite3.connect(str(db_path), timeout=10)
    try:
        conn.execute("CREATE TABLE _room (b BLOB)")
        conn.execute("INSERT INTO _room VALUES (zeroblob(?))", [size])
        conn.commit()
        conn.execute("DROP TABLE _room")
        conn.commit()
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        assert busy == 0, "a reader kept the WAL from restarting"
    finally:
        conn.close()
