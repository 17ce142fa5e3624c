"""Stream checks on the web: start one for a camera, poll its job, see past checks.

The POST only records a job and returns; the check runs in a background thread whose
child process does the work, so no request waits on a camera. URLs are shown masked;
an admin may ask for the original (`?reveal=1`), which is audited.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, render_template, request, url_for
from flask_babel import gettext

from ..context import get_config, get_db
from ..db import cameras as camera_db
from ..db import jobs as job_db
from ..db import streamchecks as check_db
from ..errors import Forbidden, NotFound
from ..evidence import EvidenceStore
from .. import stream_check as service
from ..stream_find import JOB_KIND as FIND_KIND
from ..streamcheck.verdict import EXPLANATIONS, LABELS
from .guard import role_allows

bp = Blueprint("streamcheck", __name__)


@bp.get("/cameras/<camera_id>/stream-check")
def page(camera_id):
    db = get_db()
    camera = camera_db.get_camera(db, camera_id)
    if camera is None:
        raise NotFound("Camera %(camera_id)s is not in the registry", camera_id=camera_id)
    checks = [present_check(c) for c in check_db.rows_stream_checks(db, camera_id=camera_id)]
    labels = {"connect_ms": gettext("Connect time"),
              "first_frame_ms": gettext("First picture after"), "codec": gettext("Codec"),
              "width": gettext("Width"), "height": gettext("Height"),
              "fps": gettext("Frames per second"), "bitrate_kbps": gettext("Bitrate"),
              "keyframe_interval_s": gettext("Keyframe every"),
              "luma": gettext("Brightness (0-255)"), "contrast": gettext("Contrast (0-255)"),
              "frozen_score": gettext("Change between frames"),
              "blur_score": gettext("Sharpness")}
    return render_template("streamcheck.html", camera=camera, checks=checks,
                           metric_labels=labels)


@bp.post("/api/v1/cameras/<camera_id>/stream-check")
def start(camera_id):
    job_id = service.start_camera_check(get_config(), get_db(), camera_id,
                                        actor=g.user["name"])
    return jsonify(job_id=job_id, state="queued",
                   poll=url_for(".job", job_id=job_id)), 202


@bp.get("/api/v1/jobs/<job_id>")
def job(job_id):
    found = job_db.get_job(get_db(), job_id)
    if found is None or not _may_see(found):
        raise NotFound("Job %(job_id)s does not exist", job_id=job_id[:40])
    result = found["result"]
    if result and found["kind"] == service.JOB_KIND:
        result = present_check(result)
        if result.get("check_id") is not None:
            _maybe_reveal(result, result["check_id"])
    elif result and found["kind"] == FIND_KIND:
        result = present_find(result)
    return jsonify(id=found["id"], kind=found["kind"], state=found["state"],
                   progress=found["progress"],
                   message=_translate(found["message"]),
                   error=_translate(found["error"]) or None,
                   result=result)


@bp.get("/api/v1/stream-checks/<int:check_id>")
def check(check_id):
    found = check_db.get_stream_check(get_db(), check_id)
    if found is None:
        raise NotFound("Stream check %(id)s does not exist", id=check_id)
    result = present_check(found)
    _maybe_reveal(result, check_id)
    return jsonify(result)


@bp.get("/api/v1/stream-checks/<int:check_id>/snapshot.jpg")
def snapshot(check_id):
    found = check_db.get_stream_check(get_db(), check_id)
    if found is None or not found["snapshot_sha256"]:
        raise NotFound("Stream check %(id)s has no snapshot", id=check_id)
    data = EvidenceStore(get_config().evidence_dir).read_bytes(found["snapshot_sha256"])
    return Response(data, mimetype="image/jpeg",
                    headers={"Cache-Control": "private, max-age=86400"})


def present_check(check: dict) -> dict:
    """A check for the page or the API: masked URL, translated verdict, snapshot link."""
    data = dict(check)
    if "url_masked" in data:
        data["url"] = data.pop("url_masked")
    verdict = data.get("verdict")
    data["label"] = gettext(LABELS[verdict]) if verdict in LABELS else verdict
    data["explanation"] = gettext(EXPLANATIONS[verdict]) if verdict in EXPLANATIONS else ""
    check_id = data.get("check_id", data.get("id"))
    if data.get("snapshot_sha256") and check_id is not None:
        data["snapshot_url"] = url_for("streamcheck.snapshot", check_id=check_id)
    return data


def present_find(result: dict) -> dict:
    """A stream search's progress or outcome: one translated line per try."""
    data = dict(result)
    data["tries"] = [{**t, "label": gettext(LABELS[t["verdict"]]) if t.get("verdict") in LABELS
                      else t.get("verdict"),
                      "explanation": gettext(EXPLANATIONS[t["verdict"]])
                      if t.get("verdict") in EXPLANATIONS else ""}
                     for t in data.get("tries") or []]
    verdict = data.get("verdict")
    if verdict:
        data["label"] = gettext(LABELS[verdict]) if verdict in LABELS else verdict
        data["explanation"] = gettext(EXPLANATIONS[verdict]) if verdict in EXPLANATIONS else ""
    return data


def _maybe_reveal(result: dict, check_id: int) -> None:
    if request.args.get("reveal") != "1":
        return
    if not role_allows(g.user["role"], "admin"):
        raise Forbidden("Only an admin may see a stream's password")
    result["url_unmasked"] = check_db.get_stream_check_secret_url(
        get_db(), check_id, actor=g.user["name"])


def _translate(message_id: str | None) -> str:
    """A stored message id in the user's language (ids are marked where they are made)."""
    return gettext(message_id) if message_id else ""


def _may_see(found: dict) -> bool:
    return found["created_by"] == g.user["name"] or role_allows(g.user["role"], "supervisor")
