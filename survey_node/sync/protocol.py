"""The sync manifest, shared by the node (which builds it) and the registry (which checks it).

A manifest is one JSON object::

    {"protocol": 1, "node_id": "...", "batch_id": "<uuid>", "created_at": "...",
     "surveys": [{"id": "<uuid>", "revision": 3, "fields": {...}, "evidence": [...],
                  "stream_check": {...} | null, "content_sha256": "<hex>"}]}

Each survey entry carries the SHA-256 of its own canonical JSON (sorted keys, no spaces,
UTF-8) without the ``content_sha256`` key. That hash is what makes a resend idempotent:
same id + revision + content hash is a no-op, same id + revision with another hash is a
conflict. Validation raises :class:`BadInput` naming the field that is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid

from ..errors import BadInput
from ..streamcheck.urls import MAX_URL_LENGTH, mask_url

PROTOCOL_VERSION = 1
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

# Survey columns that travel (state, locks and sync bookkeeping stay on the node; review
# fields are the registry's to decide).
SURVEY_FIELDS = (
    "camera_id", "new_camera", "surveyor", "lat", "lon", "alt", "eph", "epv", "hdop", "pdop",
    "sats_used", "sats_seen", "fix_mode", "samples", "spread_m", "position_source",
    "position_reason", "fix_time", "fix_system_time", "distance_m", "checklist", "notes",
    "stream_check_id", "stream_verdict", "created_at", "completed_at",
    # Where eph came from (gst / receiver / estimated) and the fix status (dgps, rtk_*): the
    # registry's reviewer judges a fix by them, as the node's does. Optional on arrival, so a
    # batch from a node older than them still reads.
    "eph_source", "fix_status",
    # A stream address found on site (masked: the password never leaves the node) and how
    # (the maker's key, "onvif"...): a correction to the registry's address. Optional too.
    "found_stream_url", "found_stream_via",
)
NAME_FIELDS = ("eph_source", "fix_status", "found_stream_via")  # lower-case names only
MASKED_URL_FIELDS = ("found_stream_url",)
NAME_RE = re.compile(r"^[a-z_]{1,32}$")
EVIDENCE_FIELDS = ("sha256", "role", "kind", "mime", "bytes", "width", "height", "taken_at",
                   "lat", "lon")
_SCALAR = (str, int, float, bool, type(None))
MAX_STREAM_CHECK_CHARS = 20_000


def canonical_json(value) -> bytes:
    """The one byte form both sides hash: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def content_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "content_sha256"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def survey_entry(survey: dict, evidence: list[dict], stream_check: dict | None) -> dict:
    """A manifest entry for one survey row (as `db.surveys.get_survey` returns it)."""
    entry = {
        "id": survey["id"],
        "revision": int(survey["revision"]),
        "fields": {k: survey.get(k) for k in SURVEY_FIELDS},
        "evidence": sorted(({k: e.get(k) for k in EVIDENCE_FIELDS} for e in evidence),
                           key=lambda e: e["sha256"]),
        "stream_check": stream_check,
    }
    entry["content_sha256"] = content_hash(entry)
    return entry


def new_manifest(node_id: str, batch_id: str, created_at: str, entries: list[dict]) -> dict:
    return {"protocol": PROTOCOL_VERSION, "node_id": node_id, "batch_id": batch_id,
            "created_at": created_at, "surveys": entries}


def manifest_hashes(manifest: dict) -> list[str]:
    """Every evidence hash the manifest references, sorted, once each."""
    return sorted({e["sha256"] for s in manifest["surveys"] for e in s["evidence"]})


def validate_manifest(manifest, *, max_surveys: int) -> dict:
    """Check a manifest from the wire; return it, or raise BadInput saying where it is wrong."""
    if not isinstance(manifest, dict):
        raise BadInput("The manifest must be a JSON object")
    if manifest.get("protocol") != PROTOCOL_VERSION:
        raise BadInput("Manifest protocol %(got)r is not supported (expected %(want)s)",
                       got=manifest.get("protocol"), want=PROTOCOL_VERSION)
    _id(manifest.get("node_id"), "node_id")
    _uuid(manifest.get("batch_id"), "batch_id")
    _text(manifest.get("created_at"), "created_at", 40)
    surveys = manifest.get("surveys")
    if not isinstance(surveys, list) or not surveys:
        raise BadInput("Manifest field surveys must be a non-empty list")
    if len(surveys) > max_surveys:
        raise BadInput("A batch holds at most %(max)s surveys, this one %(count)s",
                       max=max_surveys, count=len(surveys))
    seen = set()
    for index, entry in enumerate(surveys):
        where = f"surveys[{index}]"
        _survey(entry, where)
        if entry["id"] in seen:
            raise BadInput("Manifest %(where)s: survey %(id)s appears twice", where=where,
                           id=entry["id"])
        seen.add(entry["id"])
    return manifest


def _survey(entry, where: str) -> None:
    if not isinstance(entry, dict):
        raise BadInput("Manifest %(where)s must be an object", where=where)
    extra = set(entry) - {"id", "revision", "fields", "evidence", "stream_check",
                          "content_sha256"}
    if extra:
        raise BadInput("Manifest %(where)s has unknown keys %(keys)s", where=where,
                       keys=", ".join(sorted(extra)))
    _uuid(entry.get("id"), f"{where}.id")
    revision = entry.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
        raise BadInput("Manifest %(where)s.revision must be a whole number from 1",
                       where=where)
    fields = entry.get("fields")
    if not isinstance(fields, dict) or set(fields) - set(SURVEY_FIELDS):
        raise BadInput("Manifest %(where)s.fields must be an object of known survey fields",
                       where=where)
    for key, value in fields.items():
        if key in ("checklist", "new_camera"):
            if value is not None and not isinstance(value, dict):
                raise BadInput("Manifest %(where)s.fields.%(key)s must be an object",
                               where=where, key=key)
        elif not isinstance(value, _SCALAR):
            raise BadInput("Manifest %(where)s.fields.%(key)s must be a plain value",
                           where=where, key=key)
        elif key in NAME_FIELDS and value is not None and not (
                isinstance(value, str) and NAME_RE.match(value)):
            raise BadInput("Manifest %(where)s.fields.%(key)s must be a short name",
                           where=where, key=key)
        elif key in MASKED_URL_FIELDS and value is not None and not (
                isinstance(value, str) and 0 < len(value) <= MAX_URL_LENGTH + 100
                and mask_url(value) == value):
            # A node that leaked a password would hand it to every registry reader.
            raise BadInput("Manifest %(where)s.fields.%(key)s must be a masked stream address",
                           where=where, key=key)
    evidence = entry.get("evidence")
    if not isinstance(evidence, list):
        raise BadInput("Manifest %(where)s.evidence must be a list", where=where)
    for i, item in enumerate(evidence):
        spot = f"{where}.evidence[{i}]"
        if not isinstance(item, dict) or set(item) - set(EVIDENCE_FIELDS):
            raise BadInput("Manifest %(where)s must be an object of known evidence fields",
                           where=spot)
        if not SHA256_RE.match(str(item.get("sha256", ""))):
            raise BadInput("Manifest %(where)s.sha256 is not a SHA-256 hash", where=spot)
        size = item.get("bytes")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadInput("Manifest %(where)s.bytes must be a whole number", where=spot)
        _text(item.get("role"), f"{spot}.role", 40)
    check = entry.get("stream_check")
    if check is not None and (not isinstance(check, dict)
                              or len(canonical_json(check)) > MAX_STREAM_CHECK_CHARS):
        raise BadInput("Manifest %(where)s.stream_check must be a small object", where=where)
    if entry.get("content_sha256") != content_hash(entry):
        raise BadInput("Manifest %(where)s.content_sha256 does not match its content",
                       where=where)


def _text(value, where: str, limit: int) -> None:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadInput("Manifest field %(where)s must be text of 1 to %(limit)s characters",
                       where=where, limit=limit)


def _id(value, where: str) -> None:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise BadInput("Manifest field %(where)s must be an id (letters, digits, . _ -)",
                       where=where)


def _uuid(value, where: str) -> None:
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise BadInput("Manifest field %(where)s must be a UUID", where=where) from None
    if not isinstance(value, str):
        raise BadInput("Manifest field %(where)s must be a UUID", where=where)
