"""Where the central registry keeps its data: two backends behind one small interface.

The registry's services only need three things from a store:

* ``connect()``: a database connection that the ``survey_node.registry.db`` SQL modules
  run on, and ``retryable``: the errors after which a whole write transaction is run again
  (another process wrote the same row first);
* ``objects``: an evidence object store with ``has``, ``put_stream``, ``open``, ``discard``;
* ``prepare()`` before serving (migrations) and ``check()`` for the readiness endpoint.

:class:`EmbeddedStore` (the default) is one SQLite file plus a content-addressed folder in
the registry's data dir, so ``survey-node registry serve --data-dir DIR`` starts with one
command. :class:`PostgresStore` is a national registry's: a PostgreSQL database through a
connection pool (``[registry] database_url``), shared by several registry processes.
Either takes either object store: the folder, or an S3-compatible bucket
(``[registry] evidence_url``, objects_s3.py). :func:`open_store` picks them from the config.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Protocol

from sqlite_utils import Database

from .. import config as config_mod
from .. import db as database
from ..config import Config
from ..errors import Busy, ConfigError, NotFound
from ..evidence import EvidenceStore
from .db.migrations import connect_registry

CHUNK = 1 << 20


class ObjectStore(Protocol):
    def has(self, sha256: str) -> bool: ...

    def put_stream(self, sha256: str, chunks: Iterable[bytes], limit: int) -> int: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def discard(self, sha256: str) -> None: ...

    def ping(self) -> None: ...

    def iter_hashes(self) -> Iterator[str]: ...

    def remove_temporaries(self, older_than_s: float = 0.0) -> int: ...


class FileObjectStore:
    """Evidence files under ``<root>/ab/abcdef...``, written atomically after the hash checks."""

    def __init__(self, root: str | os.PathLike) -> None:
        self._files = EvidenceStore(root)  # same layout and path checks as a node's store

    def has(self, sha256: str) -> bool:
        return self._files.exists(sha256)

    def ping(self) -> None:
        """Raise unless the folder can take files (readiness)."""
        self._files.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self._files.root, os.W_OK | os.X_OK):
            raise ConfigError("The evidence folder %(path)s is not writable",
                              path=str(self._files.root))

    def iter_hashes(self) -> Iterator[str]:
        """Every stored object's hash (a move to another store walks these)."""
        for sub in sorted(self._files.root.glob("??")):
            for path in sorted(sub.iterdir()):
                if len(path.name) == 64 and not path.name.startswith("."):
                    yield path.name

    def path(self, sha256: str) -> Path:
        return self._files.path(sha256)

    def remove_temporaries(self, older_than_s: float = 0.0) -> int:
        """Startup repair: partial files a killed upload left behind."""
        return self._files.remove_temporaries(older_than_s)

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
    """SQLite file + evidence folder (or a bucket) in the registry's data dir."""

    retryable: tuple = ()  # one writer at a time (BEGIN IMMEDIATE): nobody gets there first
    kind = "sqlite"

    def __init__(self, data_dir: str | os.PathLike, objects: ObjectStore | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / "registry.db"
        self.objects = objects or FileObjectStore(self.data_dir / "evidence")
        self._ready = False

    @property
    def location(self) -> str:
        return str(self.db_path)

    def hold(self) -> Database:
        """A connection a server keeps open for its life (see db.hold_open)."""
        return database.hold_open(self.connect())

    def check(self) -> dict[str, str]:
        return _readiness(self)

    def _check_database(self) -> None:
        db = self.connect()
        try:
            database.ping(db)
        finally:
            db.close()

    def close(self) -> None:
        """Nothing to release: connections are per request."""

    def migrate(self) -> None:
        """Create the folders and apply pending migrations."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        connect_registry(self.db_path).close()
        self._ready = True

    def prepare(self) -> None:
        """Apply migrations once, before serving."""
        if not self._ready:
            self.migrate()

    def connect(self) -> Database:
        if not self._ready:
            self.prepare()
        return database.connect(self.db_path, migrate=False)


class PostgresStore:
    """A PostgreSQL database (through a pool) and an object store; for several processes."""

    kind = "postgresql"

    def __init__(self, url: str, *, password: str | None, pool_size: int,
                 objects: ObjectStore) -> None:
        from .db import pg

        self.url, self._password, self._pool_size = url, password, pool_size
        self.objects = objects
        self.location = pg.redact(url)
        self.retryable = pg.RETRYABLE
        self._pool = None
        self._migrated = False
        self._lock = threading.Lock()

    def migrate(self) -> None:
        """Apply pending schema steps (whichever process gets the lock first); a wrong URL
        or password fails here, before the server listens."""
        from .db import pg, pg_schema

        try:
            pg_schema.migrate(self.url, password=self._password)
        except pg.DatabaseError as exc:
            raise self._unreachable(exc) from None
        self._migrated = True

    def prepare(self) -> None:
        """Migrate and open this process's pool (after any fork: see workers.py)."""
        from .db import pg

        with self._lock:
            if self._pool is not None:
                return
            if not self._migrated:
                self.migrate()
            try:
                self._pool = pg.open_pool(self.url, password=self._password,
                                          size=self._pool_size)
            except pg.DatabaseError as exc:
                raise self._unreachable(exc) from None

    def _unreachable(self, exc: Exception) -> ConfigError:
        return ConfigError("The registry's database %(url)s does not answer: %(error)s",
                           url=self.location, error=first_line(exc))

    def connect(self):
        from psycopg_pool import PoolTimeout

        from .db import pg

        if self._pool is None:
            self.prepare()
        try:
            conn = self._pool.getconn()
        except PoolTimeout:
            raise Busy("The registry's database gave no connection in time (all in use, or"
                       " it does not answer); try again in a moment") from None
        return pg.PgDatabase(conn, self._pool, self.location)

    def hold(self) -> None:
        return None  # the pool keeps its connections

    def check(self) -> dict[str, str]:
        return _readiness(self)

    def _check_database(self) -> None:
        """A new connection, not a pooled one: it proves the database takes connections
        now, and fails in the connect timeout instead of the pool's wait."""
        from .db import pg, pg_schema

        try:
            db = pg.connect_once(self.url, password=self._password)
        except pg.DatabaseError as exc:
            raise self._unreachable(exc) from None
        try:
            database.ping(db)
            pending = pg_schema.pending_steps(db)
        finally:
            db.close()
        if pending:
            raise ConfigError("The registry's database lacks schema steps %(steps)s",
                              steps=", ".join(pending))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


def open_store(config: Config) -> EmbeddedStore | PostgresStore:
    """The store the config names: PostgreSQL when `database_url` is set, else the
    embedded SQLite file; the bucket when `evidence_url` is set, else the folder."""
    section = config.registry
    if section.evidence_url:
        from .objects_s3 import S3ObjectStore

        objects = S3ObjectStore.from_config(config)
    else:
        objects = FileObjectStore(Path(config.data_dir) / "evidence")
    url = section.database_url.strip()
    if not url:
        return EmbeddedStore(config.data_dir, objects=objects)
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("[registry] database_url must be a postgresql:// URL, not %(url)r",
                          url=url.split("@")[-1])
    return PostgresStore(url, password=config_mod.read_optional_secret(
        config, "registry_db_password"), pool_size=section.db_pool_size, objects=objects)


def _readiness(store) -> dict[str, str]:
    """Readiness: "ok" or one line of what is wrong, for the database and the objects."""
    return {"database": _probe(store._check_database), "evidence": _probe(store.objects.ping)}


def _probe(check) -> str:
    try:
        check()
    except Exception as exc:  # readiness reports any failure as a line, never raises
        return first_line(exc)
    return "ok"


def first_line(exc: Exception) -> str:
    """One line of an error, for a message: a SurveyNodeError's own, else its first."""
    if hasattr(exc, "line"):
        return exc.line()
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
