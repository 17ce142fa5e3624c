"""Where the central registry keeps its data: a small interface with an embedded default.

The registry's services only need two things from a store:

* ``connect()``: a database connection that the ``survey_node.registry.db`` SQL modules
  run on (today sqlite-utils over SQLite in WAL mode);
* ``objects``: an evidence object store with ``has``, ``put_stream`` and ``open``.

The default, :class:`EmbeddedStore`, is one SQLite file plus a content-addressed folder in
the registry's data dir, so ``survey-node registry serve --data-dir DIR`` starts with one
command. At national scale a PostgreSQL database (the same SQL modules ported) and an
S3-compatible bucket (an ``ObjectStore`` whose ``put_stream`` uploads to a temporary key
and copies to the hash key once verified) can replace it without touching the services
or the HTTP API. That replacement is not built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Iterable, Protocol

from sqlite_utils import Database

from .db.migrations import connect_registry
from ..errors import NotFound
from ..evidence import EvidenceStore
from .. import db as database

CHUNK = 1 << 20


class ObjectStore(Protocol):
    def has(self, sha256: str) -> bool: ...

    def put_stream(self, sha256: str, chunks: Iterable[bytes], limit: int) -> int: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def discard(self, sha256: str) -> None: ...


class FileObjectStore:
    """Evidence files under ``<root>/ab/abcdef...``, written atomically after the hash checks."""

    def __init__(self, root: str | os.PathLike) -> None:
        self._files = EvidenceStore(root)  # same layout and path checks as a node's store

    def has(self, sha256: str) -> bool:
        return self._files.exists(sha256)

    def path(self, sha256: str) -> Path:
        return self._files.path(sha256)

    def open(self, sha256: str) -> BinaryIO:
        path = self._files.path(sha256)
        if not path.exists():
            raise NotFound("Evidence %(sha)s is not in the registry", sha=sha256[:12])
        return open(path, "rb")

    def discard(self, sha256: str) -> None:
        """Remove a file no database row names (its row could not be written)."""
        self._files.path(sha256).unlink(missing_ok=True)

    def put_stream(self, sha256: str, chunks: Iterable[bytes], limit: int) -> int:
        """Store streamed bytes under `sha256` if they hash to it; return their size.

        A file under a hash name is always complete and verified, whatever interrupts
        the upload (the same atomic writer as a node's evidence store).
        """
        return self._files.put_stream(sha256, chunks, max_bytes=limit)


class EmbeddedStore:
    """SQLite file + evidence folder in the registry's data dir."""

    def __init__(self, data_dir: str | os.PathLike) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / "registry.db"
        self.objects = FileObjectStore(self.data_dir / "evidence")
        self._ready = False

    def prepare(self) -> None:
        """Create the folders and apply migrations once, before serving."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        connect_registry(self.db_path).close()
        self._ready = True

    def connect(self) -> Database:
        if not self._ready:
            self.prepare()
        return database.connect(self.db_path, migrate=False)
