"""Files that killed their reader (memory limit, deadline, a signal) are quarantined.

Such a file would kill the next reader the same way, so it is recorded by its SHA-256
under ``<data dir>/quarantine/`` and refused at once afterwards, by the admin page (its
upload page says so instead of reading it again) and by the CLI, across restarts. An
admin who has a reason to try again deletes the record (the README says how).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from ..errors import BadInput, SurveyNodeError, message_of
from .text import N_

log = logging.getLogger(__name__)


def folder(data_dir: Path) -> Path:
    return Path(data_dir) / "quarantine"


def find(quarantine_dir: Path | None, sha256: str) -> dict | None:
    """The record of the file with this hash, or None."""
    if quarantine_dir is None or not sha256:
        return None
    path = Path(quarantine_dir) / f"{sha256}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # a damaged record still means the file was bad
        return {"file": "?", "at": "", "reason": {"message": "unknown", "params": {}}}


def anything_in(quarantine_dir: Path | None) -> bool:
    """Whether any file is quarantined (so hashing a file first can be skipped)."""
    try:
        return quarantine_dir is not None and any(Path(quarantine_dir).glob("*.json"))
    except OSError:
        return False


def mark(quarantine_dir: Path, sha256: str, file_name: str, why: SurveyNodeError) -> dict:
    folder_path = Path(quarantine_dir)
    folder_path.mkdir(parents=True, exist_ok=True)
    record = {"file": file_name, "sha256": sha256,
              "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "reason": message_of(why)}
    tmp = folder_path / f".{sha256}.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder_path / f"{sha256}.json")
    log.warning("quarantined %s (sha256 %s): %s", file_name, sha256, why.line())
    return record


class Quarantined(BadInput):
    """A file refused because it is quarantined."""


def refusal(record: dict, file_name: str | None = None) -> Quarantined:
    """The one line saying the file is quarantined, and why."""
    return Quarantined(N_("%(file)s is quarantined: it stopped its reader on %(when)s"
                       " (%(why)s); it is not read again"),
                       file=file_name or record.get("file", "?"),
                       when=record.get("at", ""), why=record.get("reason") or {})
