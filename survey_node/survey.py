"""The survey of one camera: start or resume, position, photos, stream check, checklist, complete.

Every change is saved as it happens (there is no "unsaved" state to lose when a tablet
sleeps). A survey is locked to the surveyor who has it open, so two tablets on one node
cannot overwrite each other; the lock lapses after ``survey.lock_minutes`` without a
change, and a supervisor can take it over. A change to a completed (or synced) survey
reopens it as a draft with the next revision, so the registry receives it again.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlite_utils import Database

from .config import Config
from .db import audit, now_iso, transaction
from .db import cameras as camera_db
from .db import evidence as evidence_db
from .db import selection as selection_db
from .db import surveys as survey_db
from .diskspace import is_disk_full
from .errors import BadInput, Conflict, Forbidden, NotFound, SurveyNodeError
from .geo import distance_m
from .i18n import N_

# The condition checklist: key -> label (message id). All answers are yes / no / unknown.
CHECKLIST = {
    "exists": N_("The camera is there"),
    "working": N_("The camera is working (lights, moving, recording)"),
    "damaged": N_("The camera or its housing is damaged"),
    "obstructed": N_("The view is obstructed (trees, signs, dirt)"),
    "moved": N_("The camera has been moved from the registered place"),
    "powered": N_("The camera has power"),
    "agency_sign": N_("A sign shows the owning agency"),
}
REQUIRED_ANSWERS = ("exists", "working")
ANSWERS = ("yes", "no", "unknown")
PHOTO_ROLES = {
    "camera": N_("The camera"),
    "installation": N_("Its pole or installation"),
    "label": N_("Its label or asset tag"),
    "other": N_("Other"),
}
# Evidence that is not a photo of this visit: the stream's snapshot, and the earlier
# snapshot the view-change score compared it with.
VIEW_REFERENCE_ROLE = "view_reference"
STREAM_ROLES = ("snapshot", VIEW_REFERENCE_ROLE)
POSITION_SOURCES = ("gpsd", "replay", "tablet", "manual")
SURVEYOR_ROLES_THAT_OVERRIDE = ("supervisor", "admin")


def start_or_resume(db: Database, config: Config, *, camera_id: str, user: dict) -> dict:
    """The camera's open survey (taking its lock), or a new draft."""
    camera = camera_db.get_camera(db, camera_id)
    if camera is None:
        raise NotFound("Camera %(camera_id)s is not in the registry", camera_id=camera_id)
    try:
        return _start_or_resume(db, config, camera_id, user)
    except Exception as exc:
        survey = survey_db.get_open_survey_for_camera(db, camera_id) if is_disk_full(exc) \
            else None
        if survey is None:
            raise  # a new survey needs room: the user is told the disk is full
        # Reopening one's survey is reading it: on a full disk it is shown without
        # refreshing its tablet lock (the next save that fits refreshes it).
        _check_owner(db, camera_id, survey, user)  # (another tablet's live lock: Conflict
        return get(db, survey["id"])  # came before any write was tried)


def owner_refusal(db: Database, camera_id: str, user: dict) -> SurveyNodeError | None:
    """Why this user may not survey this camera (assigned to someone else, or another
    surveyor's survey), or None: the page says so at once instead of asking and failing."""
    try:
        _check_owner(db, camera_id, survey_db.get_open_survey_for_camera(db, camera_id), user)
    except Forbidden as exc:
        return exc
    return None


def _start_or_resume(db: Database, config: Config, camera_id: str, user: dict) -> dict:
    with transaction(db):
        survey = survey_db.get_open_survey_for_camera(db, camera_id)
        _check_owner(db, camera_id, survey, user)
        if survey is None:
            survey_id = str(uuid.uuid4())
            survey_db.insert_survey(db, {
                "id": survey_id, "node_id": config.node.id, "camera_id": camera_id,
                "surveyor": user["name"], "state": "draft", "revision": 1,
                "locked_by": user["name"], "locked_at": now_iso(),
            })
            audit(db, actor=user["name"], action="survey.start", entity="survey",
                  entity_id=survey_id, detail={"camera_id": camera_id})
            return _with_evidence(db, survey_db.get_survey(db, survey_id))
        return _with_evidence(db, _take_lock(db, config, survey, user))


def get(db: Database, survey_id: str) -> dict:
    survey = survey_db.get_survey(db, survey_id)
    if survey is None:
        raise NotFound("Survey %(survey_id)s does not exist", survey_id=survey_id)
    return _with_evidence(db, survey)


def _with_evidence(db: Database, survey: dict) -> dict:
    survey["evidence"] = survey_db.rows_survey_evidence(db, survey["id"])
    return survey


def set_position(db: Database, config: Config, survey_id: str, *, user: dict, fix: dict,
                 source: str, reason: str = "") -> dict:
    """Record the position fixed on site; the distance from the registered one is kept."""
    if source not in POSITION_SOURCES:
        raise BadInput("Position source %(source)r is not one of %(known)s", source=source,
                       known=", ".join(POSITION_SOURCES))
    lat, lon = _coordinate(fix.get("lat"), "lat", -90, 90), _coordinate(fix.get("lon"), "lon", -180, 180)
    reason = (reason or "").strip()
    if source == "manual" and not reason:
        raise BadInput("A position typed by hand needs a reason").at("reason")
    with transaction(db):
        survey = _editable(db, config, survey_id, user)
        camera = camera_db.get_camera(db, survey["camera_id"]) if survey["camera_id"] else None
        distance = None
        if camera and camera["registered_lat"] is not None:
            distance = round(distance_m(lat, lon, camera["registered_lat"],
                                        camera["registered_lon"]), 1)
        changes = {k: fix.get(k) for k in survey_db.POSITION_FIELDS if k in fix}
        # Where the error figure came from is the node's own statement about its GPS; a
        # tablet's or a typed position carries none.
        node_gps = source in ("gpsd", "replay")
        changes["eph_source"] = (fix.get("eph_source") if node_gps and fix.get("eph_source")
                                 in ("gst", "receiver", "estimated") else None)
        changes["fix_status"] = (str(fix["fix_status"])[:20] if node_gps
                                 and fix.get("fix_status") else None)
        changes.update(lat=lat, lon=lon, position_source=source, position_reason=reason or None,
                       distance_m=distance, fix_system_time=fix.get("fix_system_time") or now_iso())
        survey = _save(db, survey, user, "survey.position", changes,
                       detail={"source": source, "distance_m": distance})
        return _with_evidence(db, survey)


def check_editable(db: Database, config: Config, survey_id: str, *, user: dict) -> dict:
    """Refuse early (before a slow step such as GPS averaging) when the survey is not ours."""
    with transaction(db):
        return _editable(db, config, survey_id, user)


def add_photo(db: Database, config: Config, survey_id: str, *, user: dict, sha256: str,
              role: str) -> dict:
    if role not in PHOTO_ROLES:
        raise BadInput("Photo role %(role)r is not one of %(known)s", role=role,
                       known=", ".join(PHOTO_ROLES))
    if evidence_db.get_evidence(db, sha256) is None:
        raise NotFound("Evidence %(sha)s is not on this node", sha=sha256[:12])
    with transaction(db):
        survey = _editable(db, config, survey_id, user)
        if survey_db.insert_survey_evidence(db, survey_id, sha256, role, user["name"]):
            survey = _save(db, survey, user, "survey.photo_add", {},
                           detail={"sha256": sha256, "role": role})
        return _with_evidence(db, survey)


def remove_photo(db: Database, config: Config, survey_id: str, *, user: dict, sha256: str) -> dict:
    with transaction(db):
        survey = _editable(db, config, survey_id, user)
        if survey_db.delete_survey_evidence(db, survey_id, sha256):
            survey = _save(db, survey, user, "survey.photo_remove", {},
                           detail={"sha256": sha256})
        return _with_evidence(db, survey)


def record_stream_check(db: Database, config: Config, survey_id: str, *, user: dict,
                        check_id: int, verdict: str, snapshot_sha256: str | None = None,
                        reference_sha256: str | None = None) -> dict:
    """Keep a check with the survey. `reference_sha256`: the earlier snapshot its view was
    compared with; it goes with the survey's evidence, so the registry's reviewer sees both
    pictures even when the earlier one never reached it."""
    with transaction(db):
        survey = _editable(db, config, survey_id, user)
        _attach_snapshots(db, survey_id, user, snapshot_sha256, reference_sha256)
        survey = _save(db, survey, user, "survey.stream_check",
                       {"stream_check_id": check_id, "stream_verdict": verdict},
                       detail={"check_id": check_id, "verdict": verdict})
        return _with_evidence(db, survey)


def record_found_stream(db: Database, config: Config, survey_id: str, *, user: dict,
                        masked_url: str, check_id: int, via: str, verdict: str,
                        snapshot_sha256: str | None = None,
                        reference_sha256: str | None = None) -> dict:
    """Keep a stream address found on site (and the check that proved it) with the survey.

    Only the masked form is a survey field (it travels to the registry as a correction);
    the address itself stays in the stream check's row.
    """
    with transaction(db):
        survey = _editable(db, config, survey_id, user)
        _attach_snapshots(db, survey_id, user, snapshot_sha256, reference_sha256)
        survey = _save(db, survey, user, "survey.stream_found",
                       {"found_stream_url": masked_url, "found_stream_check_id": check_id,
                        "found_stream_via": via, "stream_check_id": check_id,
                        "stream_verdict": verdict},
                       detail={"check_id": check_id, "url": masked_url, "via": via,
                               "verdict": verdict})
        return _with_evidence(db, survey)


def _attach_snapshots(db: Database, survey_id: str, user: dict, snapshot: str | None,
                      reference: str | None) -> None:
    if snapshot:
        survey_db.insert_survey_evidence(db, survey_id, snapshot, "snapshot", user["name"])
    if reference and evidence_db.get_evidence(db, reference) is not None:
        survey_db.insert_survey_evidence(db, survey_id, reference, VIEW_REFERENCE_ROLE,
                                         user["name"])


def save_answers(db: Database, config: Config, survey_id: str, *, user: dict,
                 checklist: dict | None = None, notes: str | None = None,
                 position_reason: str | None = None) -> dict:
    """Checklist answers, notes, and why the camera is far from its registered position."""
    changes: dict = {}
    if position_reason is not None:
        if len(position_reason) > 500:
            raise BadInput("The reason is limited to 500 characters").at("position_reason")
        changes["position_reason"] = position_reason.strip() or None
    if checklist is not None:
        if not isinstance(checklist, dict):
            raise BadInput("The checklist must be a set of answers")
        for key, value in checklist.items():
            if key not in CHECKLIST:
                raise BadInput("Checklist item %(key)r does not exist", key=key)
            if value not in ANSWERS:
                raise BadInput("Checklist answer %(value)r for %(key)s is not yes, no or unknown",
                               value=value, key=key)
    if notes is not None:
        if len(notes) > 4000:
            raise BadInput("Notes are limited to 4,000 characters").at("notes")
        changes["notes"] = notes
    with transaction(db):
        survey = _editable(db, config, survey_id, user)
        if checklist is not None:
            changes["checklist"] = {**survey["checklist"], **checklist}
        survey = _save(db, survey, user, "survey.answers", changes,
                       detail={"checklist": checklist or {}})
        return _with_evidence(db, survey)


def missing_for_completion(db: Database, config: Config, survey: dict) -> list[str]:
    """What a surveyor still has to do before a survey can be completed (message ids)."""
    missing = []
    if survey["lat"] is None:
        missing.append(N_("Fix the position"))
    elif (survey["distance_m"] or 0) > config.survey.distance_warning_m \
            and not survey["position_reason"]:
        missing.append(N_("Say why the camera is far from its registered position"))
    roles = {e["role"] for e in survey_db.rows_survey_evidence(db, survey["id"])}
    if "camera" not in roles:
        missing.append(N_("Take a photo of the camera"))
    camera = camera_db.get_camera(db, survey["camera_id"], with_secrets=True) \
        if survey["camera_id"] else None
    if camera and (camera["stream_url"] or survey.get("found_stream_url")) \
            and not survey["stream_verdict"]:
        missing.append(N_("Run the stream check"))
    for key in REQUIRED_ANSWERS:
        if survey["checklist"].get(key) not in ANSWERS:
            missing.append(CHECKLIST[key])
    return missing


def complete(db: Database, config: Config, survey_id: str, *, user: dict) -> dict:
    with transaction(db):
        survey = _editable(db, config, survey_id, user)
        missing = missing_for_completion(db, config, survey)
        if missing:
            raise BadInput("Not complete yet: %(missing)s", missing=missing).at("complete")
        # A survey sent back (rejected / re-survey) goes back into the review queue; the
        # decision itself stays in the reviews table and the audit log.
        cleared = {"review_state": None, "review_reason": None} \
            if survey["review_state"] in ("rejected", "resurvey") else {}
        done = survey_db.update_survey(db, survey_id, state="complete", completed_at=now_iso(),
                                       locked_by=None, locked_at=None, **cleared)
        audit(db, actor=user["name"], action="survey.complete", entity="survey",
              entity_id=survey_id, detail={"revision": survey["revision"]})
        return _with_evidence(db, done)


def release(db: Database, survey_id: str, *, user: dict) -> None:
    """Let go of a survey's lock (the surveyor leaves it, or a supervisor frees it)."""
    with transaction(db):
        survey = survey_db.get_survey(db, survey_id)
        if survey is None:
            raise NotFound("Survey %(survey_id)s does not exist", survey_id=survey_id)
        if survey["locked_by"] not in (None, user["name"]) \
                and user["role"] not in SURVEYOR_ROLES_THAT_OVERRIDE:
            raise Forbidden("This survey is open by %(name)s", name=survey["locked_by"])
        survey_db.update_survey(db, survey_id, locked_by=None, locked_at=None)
        audit(db, actor=user["name"], action="survey.release", entity="survey",
              entity_id=survey_id)


# -- internals -----------------------------------------------------------------------


def _coordinate(value, name: str, low: float, high: float) -> float:
    """A typed latitude or longitude as a number; the refusal names the field in words
    (the surveyor typed into "ละติจูด", not "lat") and quotes what was typed."""
    latitude = name == "lat"
    if value is None or (isinstance(value, str) and not value.strip()):
        if latitude:
            raise BadInput("Type the latitude, a number such as 13.7563").at(name)
        raise BadInput("Type the longitude, a number such as 100.5018").at(name)
    typed = str(value).strip()[:40]
    try:
        number = float(typed) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None:
        if latitude:
            raise BadInput("Latitude \"%(value)s\" is not a number", value=typed).at(name)
        raise BadInput("Longitude \"%(value)s\" is not a number", value=typed).at(name)
    if not (low <= number <= high):
        if latitude:
            raise BadInput("Latitude %(value)s is not between -90 and 90", value=typed).at(name)
        raise BadInput("Longitude %(value)s is not between -180 and 180", value=typed).at(name)
    return number


def _check_owner(db: Database, camera_id: str | None, survey: dict | None, user: dict) -> None:
    """A surveyor works on their own surveys and on the cameras assigned to them.

    A camera assigned to nobody is open to any surveyor (the first one owns its survey);
    supervisors and admins may take over any survey.
    """
    if user.get("role") in SURVEYOR_ROLES_THAT_OVERRIDE:
        return
    assigned = selection_db.get_assignment(db, camera_id) if camera_id else None
    assignee = assigned["user_name"] if assigned else None
    if assignee == user["name"] or (survey is not None and survey["surveyor"] == user["name"]):
        return
    if assignee is not None:
        raise Forbidden("Camera %(camera_id)s is assigned to %(name)s: ask a supervisor to"
                        " reassign it", camera_id=camera_id, name=assignee)
    if survey is not None:
        raise Forbidden("This survey belongs to %(name)s", name=survey["surveyor"])


def _lock_is_live(config: Config, survey: dict, now: dt.datetime) -> bool:
    if not survey["locked_by"] or not survey["locked_at"]:
        return False
    locked_at = dt.datetime.fromisoformat(survey["locked_at"])
    return now - locked_at < dt.timedelta(minutes=config.survey.lock_minutes)


def _take_lock(db: Database, config: Config, survey: dict, user: dict) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    holder = survey["locked_by"]
    if holder and holder != user["name"] and _lock_is_live(config, survey, now):
        raise Conflict("This survey is open by %(name)s on another tablet", name=holder)
    locked = survey_db.update_survey(db, survey["id"], locked_by=user["name"],
                                     locked_at=now_iso())
    if holder != user["name"]:
        audit(db, actor=user["name"], action="survey.open", entity="survey",
              entity_id=survey["id"], detail={"previous_holder": holder})
    return locked


def _editable(db: Database, config: Config, survey_id: str, user: dict) -> dict:
    survey = survey_db.get_survey(db, survey_id)
    if survey is None:
        raise NotFound("Survey %(survey_id)s does not exist", survey_id=survey_id)
    if survey["review_state"] == "approved":
        raise Conflict("This survey has been approved and can no longer change")
    _check_owner(db, survey["camera_id"], survey, user)
    return _take_lock(db, config, survey, user)


def _save(db: Database, survey: dict, user: dict, action: str, changes: dict, *,
          detail: dict) -> dict:
    """Apply a change; reopen a completed survey as a draft with the next revision. Returns
    the survey as it now is (read back by the UPDATE itself)."""
    if survey["state"] in ("complete", "synced"):
        changes = {**changes, "state": "draft", "revision": survey["revision"] + 1,
                   "completed_at": None}
        detail = {**detail, "reopened_revision": survey["revision"] + 1}
    changes["locked_at"] = now_iso()
    saved = survey_db.update_survey(db, survey["id"], **changes)
    audit(db, actor=user["name"], action=action, entity="survey", entity_id=survey["id"],
          detail=detail)
    return saved


def report_new_camera(db: Database, config: Config, *, user: dict, site_name: str,
                      description: str = "", agency: str = "") -> dict:
    """A camera found on site that is not in the registry: a survey with no camera_id."""
    site_name = (site_name or "").strip()
    if not site_name:
        raise BadInput("Give the new camera's site name")
    if len(site_name) > 200 or len(description) > 2000 or len(agency) > 200:
        raise BadInput("The new camera's description is too long")
    survey_id = str(uuid.uuid4())
    report = {"site_name": site_name, "description": description.strip(), "agency": agency.strip()}
    with transaction(db):
        survey_db.insert_survey(db, {
            "id": survey_id, "node_id": config.node.id, "camera_id": None,
            "new_camera": report, "surveyor": user["name"], "state": "draft", "revision": 1,
            "locked_by": user["name"], "locked_at": now_iso(),
        })
        audit(db, actor=user["name"], action="survey.new_camera", entity="survey",
              entity_id=survey_id, detail=report)
    return get(db, survey_id)


EMPTY_EXPORT_PROPERTIES = {
    "survey_state": "todo", "surveyed_lat": None, "surveyed_lon": None, "position_error_m": None,
    "distance_from_registered_m": None, "stream_verdict": None, "photos": 0, "completed_at": None,
}


def export_properties(db: Database) -> tuple[dict[str, dict], dict]:
    """The survey fields of each camera's newest survey, for the exports."""
    found = {}
    for s in survey_db.rows_latest_survey_summary(db):
        found[s["camera_id"]] = {
            "survey_state": s["review_state"] or s["state"], "surveyed_lat": s["lat"],
            "surveyed_lon": s["lon"], "position_error_m": s["eph"],
            "distance_from_registered_m": s["distance_m"], "stream_verdict": s["stream_verdict"],
            "photos": s["photos"], "completed_at": s["completed_at"],
        }
    return found, EMPTY_EXPORT_PROPERTIES
