"""GPS state, "fix position", photos (upload or the node's camera) and evidence files.

Evidence is served only to logged-in users (the app-wide login guard); a file never
changes under its hash, so it is cached privately for a year (ETag = the hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

from flask import Blueprint, current_app, g, jsonify, request, send_file, url_for
from flask_babel import gettext

from .. import photos, positioning
from ..context import get_config, get_db, get_devices
from ..db import evidence as evidence_db
from ..devices import build_camera, build_gps
from ..diskspace import is_disk_full
from ..errors import BadInput, DeviceUnavailable, NotFound
from ..evidence import EvidenceStore
from ..photo_memory import MB, DecodeBudget, return_large_frees_to_os
from .body import json_object

bp = Blueprint("devices", __name__)
STALE_TEMP_S = 600  # a temp file untouched this long belongs to a crashed writer
IMMUTABLE = "private, max-age=31536000, immutable"
MAX_AVERAGE_S = 60  # a request thread may wait this long at most


@bp.record_once
def _repair_store(state) -> None:
    """At app start: remove evidence temp files left by a crash (kill -9, power cut)."""
    config = state.app.extensions["survey_config"]
    removed = EvidenceStore(config.evidence_dir).remove_temporaries(older_than_s=STALE_TEMP_S)
    if removed:
        state.app.logger.warning("removed %d unfinished evidence file(s)", removed)


@bp.record_once
def _make_decode_budget(state) -> None:
    """One decode budget for the app: memory is the process's, whatever thread decodes;
    and freed decode buffers go back to the system, or the budget would bound nothing."""
    return_large_frees_to_os()
    camera_cfg = state.app.extensions["survey_config"].camera
    state.app.extensions["photo_budget"] = DecodeBudget(camera_cfg.decode_budget_mb * MB,
                                                        camera_cfg.decode_wait_s)


def gps_reader():
    """The app's GPS reader; built (and started) on first use when the app got none."""
    devices = get_devices()
    if "gps" not in devices:
        devices["gps"] = build_gps(get_config()).start()
    return devices["gps"]


def camera():
    devices = get_devices()
    if "camera" not in devices:
        devices["camera"] = build_camera(get_config())
    return devices["camera"]


def store() -> EvidenceStore:
    return EvidenceStore(get_config().evidence_dir)


@bp.get("/api/v1/gps")
def gps_state():
    """The live GPS state, whether the latest fix would count in an average and why not,
    and the averaging under way (the tablet shows what "fix position" is waiting for)."""
    reader = gps_reader()
    status = reader.status()
    body = status.as_dict(gettext)
    if status.fix is not None:
        why = positioning.Gate.from_config(get_config().gps).refusal(status.fix)
        body["good"] = why is None
        body["why"] = (None if why is None else
                       DeviceUnavailable(why["message"], **why["params"]).line(gettext))
    progress = reader.progress
    if progress and progress.get("waiting_id"):
        progress = dict(progress, waiting=DeviceUnavailable(
            progress["waiting_id"]["message"], **progress["waiting_id"]["params"]).line(gettext))
    body["averaging"] = ({k: v for k, v in progress.items() if k != "waiting_id"}
                         if progress else None)
    return jsonify(body)


@bp.post("/api/v1/gps/average")
def gps_average():
    cfg = get_config().gps
    raw = json_object(optional=True).get("seconds", request.form.get("seconds"))
    try:
        seconds = float(raw) if raw not in (None, "") else cfg.average_s
    except (TypeError, ValueError):
        raise BadInput("seconds: %(value)r is not a number", value=raw) from None
    if not 1 <= seconds <= MAX_AVERAGE_S:
        raise BadInput("seconds must be between 1 and %(max)s", max=MAX_AVERAGE_S)
    position = positioning.average_position(gps_reader(), seconds=seconds,
                                            min_fixes=cfg.min_fixes,
                                            gate=positioning.Gate.from_config(cfg),
                                            extra_wait_s=cfg.extra_wait_s)
    return jsonify(position.as_dict())


@bp.post("/api/v1/photos")
def photo_upload():
    """A photo from the tablet (multipart field `photo`) or, with source=camera, the node's."""
    cfg = get_config()
    if request.form.get("source") == "camera":
        device = camera()
        data, name, source = device.capture(), "", device.name
    else:
        upload = request.files.get("photo")
        if upload is None or not upload.filename:
            raise BadInput("Choose a photo to upload (field: photo)")
        limit = cfg.web.max_upload_mb * 1024 * 1024
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise BadInput("%(name)s is larger than %(mb)s MB", name=upload.filename,
                           mb=cfg.web.max_upload_mb)
        name, source = upload.filename, "upload"
        # The same bytes sent again (the tablet's outbox retrying after an answer it never
        # got): the photo made the first time, not a second copy.
        again = evidence_db.get_evidence_by_original(
            get_db(), hashlib.sha256(data).hexdigest(), cfg.node.id)
        if again is not None and store().exists(again["sha256"]):
            again["url"] = url_for("devices.evidence_file", sha256=again["sha256"])
            again["thumb_url"] = url_for("devices.evidence_thumb", sha256=again["sha256"])
            return jsonify(again), 200
    status = gps_reader().status()
    position = None
    taken_at = dt.datetime.now(dt.timezone.utc)
    late = _taken_earlier(request.form.get("taken_at"), taken_at)
    if late is not None:
        # Taken while the node could not be reached and sent now: the tablet's time of the
        # shot, and no node position (where the node is now is not where the photo was).
        taken_at, status = late, None
    if status is not None and status.fix is not None and status.state in ("fix_2d", "fix_3d"):
        fix = status.fix
        position = {"lat": fix.lat, "lon": fix.lon, "alt": fix.alt, "mode": fix.mode,
                    "eph": fix.eph, "hdop": fix.hdop, "sats_used": fix.sats_used,
                    "time": fix.gps_time}
    cam = cfg.camera
    photo = photos.process(data, max_long_side=cam.max_long_side, quality=cam.jpeg_quality,
                           max_pixels=cam.max_pixels, taken_at=taken_at, position=position,
                           node_id=cfg.node.id, name=name, thumb_size=cam.thumb_size,
                           budget=current_app.extensions["photo_budget"])
    record = photos.save_photo(get_db(), store(), photo, source=source, taken_at=taken_at,
                               position=position, node_id=cfg.node.id,
                               actor=g.user["name"], original_name=name)
    record["url"] = url_for("devices.evidence_file", sha256=photo.sha256)
    record["thumb_url"] = url_for("devices.evidence_thumb", sha256=photo.sha256)
    return jsonify(record), 201


LATE_AFTER_S = 60  # a photo the tablet kept longer than this was taken somewhere else


def _taken_earlier(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """The tablet's time of a photo it kept in its outbox, when it is plausibly earlier
    than now by more than a minute (and not more than a week: a tablet with a wrong clock
    gets the node's time instead)."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    age = (now - when).total_seconds()
    return when if LATE_AFTER_S < age < 7 * 86400 else None


@bp.get("/evidence/<sha256>")
def evidence_file(sha256: str):
    record = evidence_db.get_evidence(get_db(), sha256)
    path = store().path(sha256)
    if record is None or not path.exists():
        raise NotFound("Evidence %(sha)s is not on this node", sha=sha256[:12])
    return _immutable(send_file(path, mimetype=record["mime"], etag=sha256, conditional=True))


@bp.get("/evidence/<sha256>/thumb")
def evidence_thumb(sha256: str):
    if evidence_db.get_evidence(get_db(), sha256) is None:
        raise NotFound("Evidence %(sha)s is not on this node", sha=sha256[:12])
    size = get_config().camera.thumb_size
    try:
        path = photos.thumbnail_path(store(), sha256, size)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        # A page must still show its pictures on a full disk: made in memory, not kept.
        data = photos.thumbnail_from_bytes(store().read_bytes(sha256), size)
        return send_file(io.BytesIO(data), mimetype="image/jpeg")
    return _immutable(send_file(path, mimetype="image/jpeg", etag=f"{sha256}-thumb",
                                conditional=True))


def _immutable(response):
    response.headers["Cache-Control"] = IMMUTABLE
    return response
