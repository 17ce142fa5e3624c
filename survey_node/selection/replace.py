"""Replacing a selected camera that cannot be surveyed, without bias.

A surveyor asks (with a reason); a supervisor confirms or rejects. On confirmation the next
unused camera in rank order from the same stratum takes the place (for a committee list:
the next on the reserve list from the same amphoe, else the next on the reserve list). Both
cameras stay in the set's record: the old one as `replaced` with `replaced_by`, the new one
with `replaces`, and the request keeps the reason.
"""

from __future__ import annotations

from sqlite_utils import Database

from .. import db as database
from ..db import selection as sel_db
from ..errors import BadInput, Conflict, Forbidden, NotFound
from .runs import REASONS, active_run, require_role


def _run_or_fail(db: Database) -> dict:
    run = active_run(db)
    if run is None:
        raise Conflict("There is no survey set yet")
    return run


def request_replacement(db: Database, *, camera_id: str, reason: str, note: str = "",
                        user: dict) -> int:
    require_role(user, "surveyor")
    camera_id = (camera_id or "").strip()
    note = (note or "").strip()[:500]
    if reason not in REASONS:
        raise BadInput("Reason %(reason)r is not one of %(reasons)s", reason=reason,
                       reasons=", ".join(REASONS))
    if reason == "other" and not note:
        raise BadInput("Say why in the note when the reason is 'other'")
    # Checks inside the write transaction: two taps on the button make one request.
    with database.transaction(db):
        run = _run_or_fail(db)
        entry = sel_db.get_selection(db, run["id"], camera_id)
        if entry is None or entry["status"] != "selected":
            raise NotFound("Camera %(id)s is not in the survey set", id=camera_id)
        if user["role"] == "surveyor":
            assigned = sel_db.get_assignment(db, camera_id)
            if not assigned or assigned["user_name"] != user["name"]:
                raise Forbidden("Camera %(id)s is not assigned to you", id=camera_id)
        if sel_db.get_open_replacement(db, run["id"], camera_id):
            raise Conflict("A replacement for camera %(id)s is already waiting for a supervisor",
                           id=camera_id)
        rid = sel_db.insert_replacement(db, {
            "run_id": run["id"], "camera_id": camera_id, "reason": reason, "note": note,
            "state": "requested", "requested_by": user["name"],
            "requested_at": database.now_iso(),
        })
        database.audit(db, actor=user["name"], action="selection.replace_request",
                       entity="camera", entity_id=camera_id,
                       detail={"replacement": rid, "run": run["id"], "reason": reason, "note": note})
    return rid


def decide_replacement(db: Database, replacement_id: int, *, confirm: bool, user: dict,
                       note: str = "") -> dict:
    """Confirm (swap in the next camera) or reject a request; returns the updated request."""
    require_role(user, "supervisor")
    note = (note or "").strip()[:500]
    with database.transaction(db):
        req = sel_db.get_replacement(db, replacement_id)
        if req is None:
            raise NotFound("No replacement request %(id)s", id=replacement_id)
        if req["state"] != "requested":
            raise Conflict("Replacement request %(id)s was already decided", id=replacement_id)
        run = _run_or_fail(db)
        if req["run_id"] != run["id"]:
            raise Conflict("Replacement request %(id)s belongs to an older survey set",
                           id=replacement_id)
        stamp = database.now_iso()
        if not confirm:
            sel_db.update_replacement(db, replacement_id, state="rejected", decided_by=user["name"],
                                      decided_at=stamp, decision_note=note)
            database.audit(db, actor=user["name"], action="selection.replace_reject",
                           entity="camera", entity_id=req["camera_id"],
                           detail={"replacement": replacement_id, "note": note})
            return sel_db.get_replacement(db, replacement_id)
        old = sel_db.get_selection(db, run["id"], req["camera_id"])
        new = sel_db.next_candidate(db, run["id"], old["stratum"])
        if new is None and run["method"] == "list":
            new = sel_db.next_candidate(db, run["id"], None)  # the reserve list, any amphoe
        if new is None:
            raise Conflict("No camera left to replace %(id)s in its stratum %(stratum)s",
                           id=req["camera_id"], stratum=old["stratum"])
        sel_db.update_selection(db, run["id"], old["camera_id"], status="replaced",
                                replaced_by=new["camera_id"])
        sel_db.update_selection(db, run["id"], new["camera_id"], status="selected",
                                replaces=old["camera_id"])
        assigned = sel_db.get_assignment(db, old["camera_id"])
        if assigned:  # the surveyor who could not survey the old one gets the new one
            sel_db.delete_assignments(db, [old["camera_id"]])
            sel_db.upsert_assignments(db, [new["camera_id"]], user_name=assigned["user_name"],
                                      how="replacement", actor=user["name"])
        sel_db.update_replacement(db, replacement_id, state="confirmed", decided_by=user["name"],
                                  decided_at=stamp, decision_note=note,
                                  replacement_camera_id=new["camera_id"])
        database.audit(db, actor=user["name"], action="selection.replace_confirm",
                       entity="camera", entity_id=old["camera_id"],
                       detail={"replacement": replacement_id, "run": run["id"],
                               "replaced_by": new["camera_id"], "stratum": old["stratum"],
                               "rank": new["rank"], "reserve": bool(new["reserve"]),
                               "reason": req["reason"], "note": note,
                               "assigned_to": assigned["user_name"] if assigned else None})
    return sel_db.get_replacement(db, replacement_id)
