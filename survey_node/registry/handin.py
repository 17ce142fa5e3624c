"""The province's hand-in files from the central registry: every survey the nodes sent, with
the registry's own camera entry and the decision in force, in the same columns (Thai
headers, พ.ศ. dates) as a node's export, plus the node each survey came from.

A node exports what it surveyed; the registry is where a province with several survey
teams gets one file for all of them.
"""

from __future__ import annotations

import json
import os

from .db import review as rr_db
from ..errors import BadInput
from ..exports import HANDIN_COLUMNS, atomic_output, write_csv, write_xlsx
from .service import Registry

FORMATS = ("xlsx", "csv")
COLUMNS = [*HANDIN_COLUMNS, ("node_id", "เครื่องสำรวจ (โหนด)", lambda r: r["node_id"])]
_CAMERA_TEXT = ("site_name", "place_name", "place_type", "agency", "province_name",
                "amphoe_name", "tambon_name", "brand", "model", "resolution", "registry_status")
_CHECK = ("width", "height", "fps", "bitrate_kbps", "keyframe_interval_s", "connect_ms", "luma",
          "onvif_manufacturer", "onvif_model", "onvif_serial", "onvif_mac", "clock_drift_s",
          "view_change")


def records(registry: Registry, *, status: str = "all") -> list[dict]:
    """One hand-in record per survey held, in the shape `exports.HANDIN_COLUMNS` reads."""
    if status not in rr_db.STATUS_SQL:
        raise BadInput("Status %(status)r is not one of %(known)s", status=status,
                       known=", ".join(rr_db.STATUS_SQL))
    with registry.db() as db:
        return [_record(held) for held in rr_db.iter_registry_handin(db, status=status)]


def _record(held: dict) -> dict:
    entry = held["record"]
    fields = entry.get("fields") or {}
    camera = held["camera"]
    new_camera = fields.get("new_camera") or {}
    if isinstance(new_camera, str):
        new_camera = json.loads(new_camera or "{}")
    checklist = fields.get("checklist") or {}
    if isinstance(checklist, str):
        checklist = json.loads(checklist or "{}")
    check = entry.get("stream_check") or {}
    found = {key: camera.get(key) or new_camera.get(key) or "" for key in _CAMERA_TEXT}
    found.update({f"check_{key}": check.get(key) for key in _CHECK})
    found.update(
        camera_id=held["camera_id"] or "", node_id=held["node_id"], survey_id=held["id"],
        registered_lat=_number(camera.get("registered_lat")),
        registered_lon=_number(camera.get("registered_lon")),
        # Nodes send the surveys of the cameras chosen for the 20 % set, and new ones.
        selected=True, survey_state="synced", review_state=held["decision"],
        review_reason=held["decision_reason"], reviewer=held["decided_by"],
        reviewed_at=held["decided_at"], checklist=checklist,
        photos=sum(1 for e in entry.get("evidence") or [] if e.get("role") not in ("snapshot", "view_reference")),
        **{key: fields.get(key) for key in ("lat", "lon", "eph", "distance_m", "position_source",
                                            "sats_used", "stream_verdict", "surveyor",
                                            "completed_at", "notes", "eph_source",
                                            "found_stream_url")})
    return found


def _number(value):
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):  # a registry file's text that is no number
        return None


def export_file(registry: Registry, fmt: str, out: str | os.PathLike, *,
                status: str = "all") -> int:
    """Write the hand-in file of the surveys with `status`; returns how many rows it has."""
    if fmt not in FORMATS:
        raise BadInput("Unknown export format %(format)s (known: %(known)s)", format=fmt,
                       known=", ".join(FORMATS))
    found = records(registry, status=status)
    for r in found:
        r["view_moved_at"] = registry.config.streamcheck.view_change_moved
    with atomic_output(out) as tmp:
        if fmt == "xlsx":
            write_xlsx(tmp, found, {}, COLUMNS)
        else:
            write_csv(tmp, found, COLUMNS)
    return len(found)
