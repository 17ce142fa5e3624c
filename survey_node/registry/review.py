"""Supervisor review on the central registry, across every node's surveys.

The same decisions as on a node (:mod:`survey_node.review`), recorded through
:meth:`Registry.record_decision`, so each reaches its node on the next sync and reopens
the survey there. The one-camera view has the same shape as the node's, so one page
template serves both.
"""

from __future__ import annotations

import json

from .. import review as node_review
from ..config import Config
from .db import review as rr_db
from .db import surveys as survey_db
from ..errors import BadInput, Forbidden, NotFound
from ..streamcheck import viewscore
from ..survey import STREAM_ROLES
from .service import Registry

QUEUE_STATUSES = tuple(rr_db.STATUS_SQL)


def queue(registry: Registry, *, status: str = "pending", limit: int = 200, offset: int = 0,
          **filters: str) -> dict:
    if status not in QUEUE_STATUSES:
        raise BadInput("Status %(status)r is not one of %(known)s", status=status,
                       known=", ".join(QUEUE_STATUSES))
    with registry.db() as db:
        total, items = rr_db.rows_registry_queue(db, status=status, limit=limit, offset=offset,
                                                 **filters)
    return {"total": total, "items": items, "status": status, "filters": filters}


def choices(registry: Registry) -> dict:
    with registry.db() as db:
        return rr_db.rows_registry_choices(db)


def compare(registry: Registry, config: Config, survey_id: str) -> dict:
    with registry.db() as db:
        held = survey_db.get_registry_survey(db, survey_id)
        if held is None:
            raise NotFound("Survey %(survey_id)s is not in the registry", survey_id=survey_id)
        entry = json.loads(held["record"])
        camera = rr_db.get_camera_record(db, held["camera_id"])
        decisions = rr_db.rows_survey_decisions(db, survey_id)
        history = rr_db.rows_survey_history(db, survey_id)
    fields = entry.get("fields") or {}
    in_force = decisions[-1] if decisions and decisions[-1]["revision"] == held["revision"] else None
    survey = {**fields, "id": survey_id, "node_id": held["node_id"], "revision": held["revision"],
              "state": "synced", "updated_at": held["received_at"],
              "checklist": fields.get("checklist") or {},
              "review_state": in_force["state"] if in_force else None,
              "review_reason": in_force["reason"] if in_force else None}
    if isinstance(survey["checklist"], str):
        survey["checklist"] = json.loads(survey["checklist"] or "{}")
    if isinstance(survey.get("new_camera"), str):
        survey["new_camera"] = json.loads(survey["new_camera"])
    if camera is not None:
        camera = dict(camera)
        camera["has_stream"] = bool(camera.pop("stream_url", ""))  # a secret: never shown
        camera.pop("raw", None)
        camera.setdefault("camera_id", held["camera_id"])
        for key in ("registered_lat", "registered_lon"):  # a CSV import gives text
            camera[key] = _number(camera.get(key))
    evidence = entry.get("evidence") or []
    check = entry.get("stream_check")
    return {
        "survey": survey,
        "camera": camera,
        "differences": node_review.differences(camera, survey, check, config),
        "photos": [e for e in evidence if e.get("role") not in STREAM_ROLES],
        "snapshot": node_review.check_snapshot(evidence, check),
        "check": check,
        "view": viewscore.summary(check, config.streamcheck.view_change_moved),
        "gps": node_review.gps_quality(survey),
        "reviews": [{"decision": d["state"], "reason": d["reason"], "flags": d["flags"],
                     "reviewer": d["decided_by"], "decided_at": d["decided_at"],
                     "revision": d["revision"], "source": "registry"} for d in decisions],
        "history": history,
    }


def decide(registry: Registry, survey_id: str, *, user: dict, decision: str,
           reason: str = "", flags: list[str] | tuple = ()) -> dict:
    """A supervisor's decision on the registry; the survey's node pulls it on its next sync."""
    if not node_review.can_review(user):
        raise Forbidden("Only a supervisor can review surveys")
    reason = (reason or "").strip()
    if decision in node_review.DECISIONS and decision != "approved" and not reason:
        raise BadInput("Say why: the surveyor sees this reason")
    if len(reason) > node_review.MAX_REASON:
        raise BadInput("The reason is limited to 2,000 characters")
    return registry.record_decision(survey_id, state=decision, reason=reason,
                                    decided_by=user["name"], flags=list(flags))


def _number(value) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None
