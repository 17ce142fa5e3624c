"""Recording a selection run, and reading the set in force."""

from __future__ import annotations

import json

from sqlite_utils import Database

from .. import db as database
from ..db import selection as sel_db
from ..db import users as user_db
from ..errors import Conflict, Forbidden
from ..errors import NotFound

ROLE_RANK = {"surveyor": 1, "supervisor": 2, "admin": 3}


def N_(message: str) -> str:
    """Mark a message id for translation without translating it here (babel keyword)."""
    return message


# Why a selected camera cannot be surveyed (code -> message id; the UI shows it in Thai).
REASONS = {
    "not_found": N_("Camera not found on site"),
    "no_access": N_("Cannot get access"),
    "removed": N_("Camera has been removed"),
    "unsafe": N_("Unsafe to reach"),
    "duplicate": N_("Duplicate of another camera"),
    "other": N_("Other (see note)"),
}


def require_role(user: dict | None, needed: str) -> None:
    """Services check roles too, so a CLI or a future API cannot skip the web's guard."""
    if user is None or ROLE_RANK.get(user.get("role"), 0) < ROLE_RANK[needed]:
        raise Forbidden("This needs the %(role)s role", role=needed)


def user_for(db: Database, name: str) -> dict:
    """A CLI `--as NAME`: the named active user, or an error that names them."""

    user = user_db.get_user_by_name(db, name)
    if not user or not user["active"]:
        raise NotFound("No active user %(name)s", name=name)
    return user


def active_run(db: Database) -> dict | None:
    return sel_db.get_active_run(db)


def record_run(db: Database, run: dict, items: list[dict], *, actor: str, action: str,
               replace: bool = False) -> dict:
    """Store a run and its ranked cameras in one transaction, audited.

    A set already in force is only superseded when `replace` says so: the new set drops the
    assignments of cameras it no longer holds (a new set is new work), so it is deliberate.
    """
    with database.transaction(db):
        current = sel_db.get_active_run(db)
        if current is not None and not replace:
            raise Conflict("A survey set is already in force (run %(id)s): confirm that the"
                           " new set replaces it", id=current["id"])
        run_id = sel_db.insert_run(db, {**run, "created_by": actor})
        sel_db.insert_selection(db, run_id, items)
        dropped = sel_db.delete_assignments_outside_run(db, run_id)
        detail = {k: run.get(k) for k in ("method", "fraction", "strata", "seed",
                                          "only_with_stream", "source_file", "source_sha256",
                                          "reserve_file", "reserve_sha256", "counts")
                  if run.get(k) is not None}
        detail["unmatched_rows"] = [u["row"] for u in run.get("unmatched", [])]
        detail["assignments_dropped"] = dropped
        database.audit(db, actor=actor, action=action, entity="selection_run",
                       entity_id=run_id, detail=detail)
    return sel_db.get_run(db, run_id)


def describe_run(run: dict | None) -> str:
    """One English line saying how the set was formed (CLI output, reports)."""
    if run is None:
        return "no selection yet"
    counts = run["counts"]
    if run["method"] == "sample":
        stream = ", only cameras with a stream URL" if run["only_with_stream"] else ""
        return (f"run {run['id']}: sample of {run['fraction']:g} per stratum of "
                f"{','.join(run['strata'])}, seed {run['seed']!r}, rank = sha256(seed || camera_id)"
                f" ascending{stream}; {counts.get('selected', 0)} of {counts.get('eligible', 0)}"
                f" cameras in {counts.get('strata', 0)} strata; by {run['created_by']}"
                f" at {run['created_at']}")
    return (f"run {run['id']}: committee list {run['source_file']} (sha256 "
            f"{(run['source_sha256'] or '')[:12]}), {counts.get('selected', 0)} cameras,"
            f" {counts.get('reserve', 0)} in reserve, {len(run['unmatched'])} rows unmatched;"
            f" by {run['created_by']} at {run['created_at']}")


def geojson_properties(db: Database) -> dict[str, dict]:
    """Per camera_id, the GeoJSON properties the 20 % set adds to the export.

    Cameras not in the set in force are absent: the export uses
    ``props.get(camera_id, EMPTY_PROPERTIES)``.
    """
    run = active_run(db)
    if run is None:
        return {}
    out = {}
    for r in sel_db.rows_selection_flags(db, run["id"]):
        in_set = r["status"] in ("selected", "replaced")
        out[r["camera_id"]] = {
            "selected": r["status"] == "selected",
            "selection_rank": r["rank"] if in_set else None,
            "replaced_by": r["replaced_by"],
        }
    return out


EMPTY_PROPERTIES = {"selected": False, "selection_rank": None, "replaced_by": None}


def stratum_values(stratum: str) -> list[str]:
    return json.loads(stratum)
