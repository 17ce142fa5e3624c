"""The content-addressed evidence store: every photo and snapshot stored once by SHA-256.

A file is written to a temporary name in the same directory, fsynced, renamed to its
hash and the directory fsynced, so a file under its hash is always complete, even after a
power cut in the middle of a write. Layout: ``<evidence dir>/ab/abcdef...`` (two-level
fan-out keeps directories small on an SD card).

Thumbnails are derived files under ``<evidence dir>/thumbs/ab/<sha256>.jpg``, named by the
hash of the item they show; they are written the same way but can always be rebuilt
(``survey_node.photos.rebuild_thumbnails``), so losing them loses nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

from .errors import BadInput, NotFound, TooLarge

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
THUMBS = "thumbs"


class EvidenceStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256 or ""):
            raise BadInput("%(value)r is not a SHA-256 hash", value=sha256)
        return self.root / sha256[:2] / sha256

    def thumb_path(self, sha256: str) -> Path:
        self.path(sha256)  # validates the hash
        return self.root / THUMBS / sha256[:2] / f"{sha256}.jpg"

    def put_thumbnail(self, sha256: str, data: bytes) -> Path:
        target = self.thumb_path(sha256)
        self._write_atomically(target, [data])
        return target

    def hashes(self):
        """Every stored item's hash (not thumbnails, not temporaries)."""
        if not self.root.exists():
            return
        for sub in sorted(self.root.iterdir()):
            if len(sub.name) == 2 and sub.is_dir():
                for item in sorted(sub.iterdir()):
                    if SHA256_RE.match(item.name):
                        yield item.name

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; return their SHA-256. Storing the same bytes twice is harmless."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        self._write_atomically(target, [data])
        return sha256

    def put_file(self, source: str | os.PathLike, expected_sha256: str | None = None) -> str:
        """Store a file's bytes, streaming; refuse it if it does not hash to `expected_sha256`."""
        digest = hashlib.sha256()
        with open(source, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        sha256 = digest.hexdigest()
        if expected_sha256 and sha256 != expected_sha256:
            raise BadInput("File hash %(got)s does not match %(want)s", got=sha256,
                           want=expected_sha256)
        target = self.path(sha256)
        if not target.exists():
            with open(source, "rb") as fh:
                self._write_atomically(target, iter(lambda: fh.read(1 << 20), b""))
        return sha256

    def read_bytes(self, sha256: str) -> bytes:
        path = self.path(sha256)
        if not path.exists():
            raise NotFound("Evidence %(sha)s is not on this node", sha=sha256[:12])
        return path.read_bytes()

    def verify(self, sha256: str) -> bool:
        """True when the stored bytes still hash to their name."""
        path = self.path(sha256)
        if not path.exists():
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest() == sha256

    def remove_temporaries(self, older_than_s: float = 0.0) -> int:
        """Startup repair: delete temp files a crash left behind (never a hashed file).

        `older_than_s` spares temp files another live process may still be writing.
        """
        removed = 0
        if not self.root.exists():
            return 0
        cutoff = time.time() - older_than_s
        for tmp in [*self.root.glob("*/.tmp-*"), *self.root.glob(f"{THUMBS}/*/.tmp-*")]:
            try:
                if older_than_s and tmp.stat().st_mtime > cutoff:
                    continue
            except FileNotFoundError:
                continue
            tmp.unlink(missing_ok=True)
            removed += 1
        return removed

    def put_stream(self, sha256: str, chunks, *, max_bytes: int) -> int:
        """Store streamed bytes under `sha256` only if they hash to it; return their size.

        For bytes from the network (a sync upload): hashed while they are written, refused
        past `max_bytes`, renamed under the hash only once verified.
        """
        target = self.path(sha256)
        digest, size = hashlib.sha256(), 0

        def counted():
            nonlocal size
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge("Evidence is larger than the registry's limit of"
                                   " %(limit)s bytes",
                                   limit=max_bytes)
                digest.update(chunk)
                yield chunk

        def verify():
            got = digest.hexdigest()
            if got != sha256:
                raise BadInput("Evidence bytes hash to %(got)s, not to %(want)s", got=got,
                               want=sha256)

        self._write_atomically(target, counted(), before_rename=verify)
        return size

    def _write_atomically(self, target: Path, chunks, *, before_rename=None) -> None:
        """Temp file, fsync, (check,) rename, fsync the directory: never a partial file."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            if before_rename is not None:
                before_rename()
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
