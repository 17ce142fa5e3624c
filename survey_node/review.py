"""Supervisor review on the node: decisions on a completed survey and the side-by-side view.

A decision is one of approve, reject (with a reason) or send back for re-survey (with
instructions), plus flags that say what a CCTV reviewer found (camera moved, missing, new,
stream dead, picture obstructed). Reject and re-survey reopen the survey for its surveyor as
a draft with the next revision, the reason shown on their survey page and worklist (the
same rule the registry's decisions follow when sync brings them back). Every decision is a
row in `reviews` and an audit entry, written in one transaction.
"""

from __future__ import annotations

from sqlite_utils import Database

from .config import Config
from .db import audit, transaction
from .db import cameras as camera_db
from .db import reviews as review_db
from .db import surveys as survey_db
from .errors import BadInput, Conflict, Forbidden, NotFound
from .i18n import N_
from .streamcheck import viewscore
from .streamcheck.brands import match_brand
from .survey import STREAM_ROLES

DECISIONS = {
    "approved": N_("Approve"),
    "rejected": N_("Reject"),
    "resurvey": N_("Send back for re-survey"),
}
FLAGS = {
    "camera_moved": N_("Camera moved"),
    "camera_missing": N_("Camera missing"),
    "new_camera": N_("New camera (not in the registry)"),
    "stream_dead": N_("Stream dead"),
    "picture_obstructed": N_("Picture obstructed"),
}
REVIEWER_ROLES = ("supervisor", "admin")
QUEUE_STATUSES = tuple(review_db.QUEUE_STATUS_SQL)
MAX_REASON = 2000


def can_review(user: dict | None) -> bool:
    return bool(user) and user.get("role") in REVIEWER_ROLES


def decide(db: Database, survey_id: str, *, user: dict, decision: str, reason: str = "",
           flags: list[str] | tuple = ()) -> dict:
    """Record a supervisor's decision on the survey's current revision and apply it."""
    if not can_review(user):
        raise Forbidden("Only a supervisor can review surveys")
    if decision not in DECISIONS:
        raise BadInput("Decision %(decision)r is not one of %(known)s", decision=decision,
                       known=", ".join(DECISIONS))
    reason = (reason or "").strip()
    if decision != "approved" and not reason:
        raise BadInput("Say why: the surveyor sees this reason")
    if len(reason) > MAX_REASON:
        raise BadInput("The reason is limited to 2,000 characters")
    flags = list(dict.fromkeys(flags))
    for flag in flags:
        if flag not in FLAGS:
            raise BadInput("Review flag %(flag)r is not one of %(known)s", flag=flag,
                           known=", ".join(FLAGS))
    with transaction(db):
        survey = survey_db.get_survey(db, survey_id)
        if survey is None:
            raise NotFound("Survey %(survey_id)s does not exist", survey_id=survey_id)
        if survey["state"] not in ("complete", "synced"):
            raise Conflict("Survey %(survey_id)s is not complete: there is nothing to review yet",
                           survey_id=survey_id)
        review_db.insert_review(db, survey_id=survey_id, camera_id=survey["camera_id"],
                                revision=survey["revision"], decision=decision, reason=reason,
                                flags=flags, reviewer=user["name"])
        if decision == "approved":
            changes = {"review_state": "approved", "review_reason": reason or None}
        else:
            # Back to the surveyor: a draft again, with the next revision, unlocked.
            changes = {"review_state": decision, "review_reason": reason, "state": "draft",
                       "revision": survey["revision"] + 1, "completed_at": None,
                       "locked_by": None, "locked_at": None}
        survey_db.update_survey(db, survey_id, **changes)
        audit(db, actor=user["name"], action="survey.review", entity="survey",
              entity_id=survey_id, detail={"decision": decision, "reason": reason,
                                           "flags": flags, "revision": survey["revision"]})
    return survey_db.get_survey(db, survey_id)


def queue(db: Database, *, status: str = "pending", limit: int = 200, offset: int = 0,
          **filters: str) -> dict:
    if status not in QUEUE_STATUSES:
        raise BadInput("Status %(status)r is not one of %(known)s", status=status,
                       known=", ".join(QUEUE_STATUSES))
    total, items = review_db.rows_review_queue(db, status=status, limit=limit, offset=offset,
                                               **filters)
    return {"total": total, "items": items, "status": status, "filters": filters}


def compare(db: Database, config: Config, survey_id: str) -> dict:
    """Everything the one-camera review page shows: registry vs survey, evidence, history."""
    survey = survey_db.get_survey(db, survey_id)
    if survey is None:
        raise NotFound("Survey %(survey_id)s does not exist", survey_id=survey_id)
    camera = camera_db.get_camera(db, survey["camera_id"]) if survey["camera_id"] else None
    if camera:
        secret = camera_db.get_camera(db, survey["camera_id"], with_secrets=True)
        camera["has_stream"] = bool(secret["stream_url"])  # the URL itself stays hidden
    evidence = survey_db.rows_survey_evidence(db, survey_id)
    check = review_db.get_stream_check(db, survey["stream_check_id"])
    surveys = review_db.rows_camera_surveys(db, survey["camera_id"]) if camera else []
    ids = [s["id"] for s in surveys] or [survey_id]
    return {
        "survey": survey,
        "camera": camera,
        "differences": differences(camera, survey, check, config),
        "photos": [e for e in evidence if e["role"] not in STREAM_ROLES],
        "snapshot": check_snapshot(evidence, check),
        "check": check,
        "view": viewscore.summary(check, config.streamcheck.view_change_moved),
        "gps": gps_quality(survey),
        "reviews": review_db.rows_reviews(db, ids),
        "history": review_db.rows_history(db, ids),
    }


def check_snapshot(evidence: list[dict], check: dict | None) -> dict | None:
    """The snapshot of the check the survey kept (a survey re-done after a review holds
    the earlier visit's snapshot too)."""
    snapshots = [e for e in evidence if e.get("role") == "snapshot"]
    wanted = (check or {}).get("snapshot_sha256")
    return next((e for e in snapshots if e.get("sha256") == wanted),
                snapshots[-1] if snapshots else None)


def differences(camera: dict | None, survey: dict, check: dict | None, config: Config) -> list[dict]:
    """Rows of (label, registry value, surveyed value, differs) for the side-by-side table.

    Values are plain data; the page formats them. `differs` marks what a reviewer must look at.
    """
    cam = camera or {}
    answers = survey.get("checklist") or {}
    out = []

    def add(key, label, registered, surveyed, differs):
        out.append({"key": key, "label": label, "registered": registered,
                    "surveyed": surveyed, "differs": bool(differs)})

    reg_pos = (cam.get("registered_lat"), cam.get("registered_lon"))
    got_pos = (survey.get("lat"), survey.get("lon"))
    far = survey.get("distance_m") is not None \
        and survey["distance_m"] > config.survey.distance_warning_m
    add("position", N_("Position"), reg_pos if reg_pos[0] is not None else None,
        got_pos if got_pos[0] is not None else None,
        far or (reg_pos[0] is None) != (got_pos[0] is None))
    add("distance", N_("Distance from the registered position (m)"), None,
        survey.get("distance_m"), far)
    add("exists", N_("The camera is there"), N_("registered"), answers.get("exists"),
        answers.get("exists") == "no")
    add("working", N_("Working"), cam.get("registry_status") or None, answers.get("working"),
        answers.get("working") == "no")
    has_url = bool(cam.get("has_stream"))
    verdict = survey.get("stream_verdict")
    add("stream", N_("Video stream"), N_("registered") if has_url else None, verdict,
        verdict is not None and verdict != "ok")
    # A stream address found on site is a correction to the registry's (absent or wrong) one.
    found = survey.get("found_stream_url")
    add("stream_address", N_("Stream address"), N_("registered") if has_url else None, found,
        bool(found))
    view = viewscore.summary(check, config.streamcheck.view_change_moved)
    if view and view["score"] is not None:
        add("view_change", N_("View change against the earlier snapshot"), None,
            view["percent"], view["moved"])
    _identity_rows(add, cam, check or {})
    measured = f"{check['width']}×{check['height']}" if check and check.get("width") else None
    add("resolution", N_("Resolution"), cam.get("resolution") or None, measured,
        bool(measured and cam.get("resolution") and not _same_resolution(cam["resolution"], check)))
    add("obstructed", N_("The view is obstructed (trees, signs, dirt)"), None,
        answers.get("obstructed"), answers.get("obstructed") == "yes")
    add("moved", N_("The camera has been moved from the registered place"), None,
        answers.get("moved"), answers.get("moved") == "yes")
    add("damaged", N_("The camera or its housing is damaged"), None, answers.get("damaged"),
        answers.get("damaged") == "yes")
    return out


CLOCK_DRIFT_WARN_S = 60  # a camera clock a minute off already misleads a timeline


def _identity_rows(add, cam: dict, check: dict) -> None:
    """What the camera said over ONVIF against the registry's brand and model."""
    maker, model = check.get("onvif_manufacturer"), check.get("onvif_model")
    if not (maker or model or check.get("onvif_serial")):
        return
    reg_brand, reg_model = cam.get("brand") or None, cam.get("model") or None
    add("maker", N_("Maker"), reg_brand, maker,
        bool(reg_brand and maker) and _brand_differs(reg_brand, maker))
    add("model", N_("Model"), reg_model, model,
        bool(reg_model and model) and _model_differs(reg_model, model))
    add("serial", N_("Serial number"), None, check.get("onvif_serial"), False)
    add("firmware", N_("Firmware"), None, check.get("onvif_firmware"), False)
    add("mac", N_("MAC address"), None, check.get("onvif_mac"), False)
    drift = check.get("clock_drift_s")
    add("clock_drift", N_("Camera clock off by (s)"), None, drift,
        drift is not None and abs(drift) > CLOCK_DRIFT_WARN_S)


def _brand_differs(registered: str, said: str) -> bool:
    known = match_brand(registered), match_brand(said)
    if known[0] and known[1]:
        return known[0] != known[1]
    return _fold(registered) != _fold(said)


def _model_differs(registered: str, said: str) -> bool:
    # A registry cell often holds "HIKVISION DS-2CD2143G2-IU" or the model without its
    # suffix ("DS-2CD2143G2"): one containing the other is the same camera.
    # The maker's name in the cell ("HIKVISION", "ไฮค์วิชั่น") is not part of the model.
    a, b = (_fold(" ".join(w for w in text.split() if match_brand(w) is None))
            for text in (registered, said))
    return not (a and b and (a in b or b in a))


def _fold(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def gps_quality(survey: dict) -> dict:
    """The fix's quality facts and a plain verdict (good / fair / poor / none).

    A measured error (GST, the receiver's own) is judged in metres; gpsd's estimate from
    HDOP (eph_source "estimated": HDOP x 19 m, so 17 m for a good fix) is judged by HDOP and
    satellites instead. Rows from before eph_source was kept are judged by eph as before.
    """
    eph = survey.get("eph")
    mode = survey.get("fix_mode") or 0
    hdop, used = survey.get("hdop"), survey.get("sats_used") or 0
    if survey.get("lat") is None:
        grade = "none"
    elif survey.get("position_source") in ("manual", "tablet"):
        grade = "fair" if survey.get("position_source") == "tablet" else "poor"
    elif survey.get("fix_status") == "rtk_fixed" and mode >= 3:
        grade = "good"
    elif survey.get("eph_source") == "estimated":
        if hdop is not None and hdop <= 1.5 and used >= 6 and mode >= 3:
            grade = "good"
        elif hdop is not None and hdop <= 2.5 and mode >= 3:
            grade = "fair"
        else:
            grade = "poor"
    elif eph is None:
        grade = "poor"
    elif eph <= 5 and mode >= 3:
        grade = "good"
    elif eph <= 15:
        grade = "fair"
    else:
        grade = "poor"
    keys = ("position_source", "eph", "epv", "hdop", "pdop", "sats_used", "sats_seen",
            "fix_mode", "samples", "spread_m", "fix_time", "position_reason", "eph_source",
            "fix_status")
    return {"grade": grade, **{k: survey.get(k) for k in keys}}


def _same_resolution(registered: str, check: dict) -> bool:
    """A registry "1080p", "2MP" or "1920x1080" against the measured frame size."""
    text = registered.lower().replace(" ", "")
    w, h = check.get("width") or 0, check.get("height") or 0
    if f"{w}x{h}" in text.replace("×", "x"):
        return True
    if text.endswith("p") and text[:-1].isdigit():
        return int(text[:-1]) == h
    if text.endswith("mp"):
        try:
            return abs(float(text[:-2]) - w * h / 1e6) < 0.6
        except ValueError:
            return True
    return True  # a form we cannot read is not flagged as a difference
