"""Handing each surveyor their share: a whole amphoe, or cameras picked by hand."""

from __future__ import annotations

from sqlite_utils import Database

from .. import db as database
from ..db import cameras as camera_db
from ..db import selection as sel_db
from ..db import users as user_db
from ..errors import BadInput, Conflict, NotFound
from .runs import active_run, require_role

MAX_IDS = 5000


def _surveyor(db: Database, name: str) -> dict:
    target = user_db.get_user_by_name(db, (name or "").strip())
    if not target or not target["active"]:
        raise NotFound("No active user %(name)s", name=name)
    return target


def assign_amphoe(db: Database, amphoe_code: str, to: str, *, user: dict) -> int:
    """Assign every selected camera of an amphoe to one person; returns how many."""
    require_role(user, "supervisor")
    target = _surveyor(db, to)
    run = active_run(db)
    if run is None:
        raise Conflict("There is no survey set yet: form it before assigning")
    ids = sel_db.selected_ids_in_amphoe(db, run["id"], (amphoe_code or "").strip())
    if not ids:
        raise NotFound("No selected camera in amphoe %(code)s", code=amphoe_code)
    with database.transaction(db):
        sel_db.upsert_assignments(db, ids, user_name=target["name"], how="amphoe",
                                  actor=user["name"])
        database.audit(db, actor=user["name"], action="assignment.amphoe", entity="amphoe",
                       entity_id=amphoe_code, detail={"to": target["name"], "cameras": len(ids)})
    return len(ids)


def assign_cameras(db: Database, camera_ids: list[str], to: str, *, user: dict) -> int:
    require_role(user, "supervisor")
    target = _surveyor(db, to)
    ids = _known_ids(db, camera_ids)
    with database.transaction(db):
        sel_db.upsert_assignments(db, ids, user_name=target["name"], how="hand",
                                  actor=user["name"])
        database.audit(db, actor=user["name"], action="assignment.hand", entity="user",
                       entity_id=target["name"], detail={"cameras": ids})
    return len(ids)


def unassign(db: Database, camera_ids: list[str], *, user: dict) -> int:
    require_role(user, "supervisor")
    ids = _known_ids(db, camera_ids)
    with database.transaction(db):
        removed = sel_db.delete_assignments(db, ids)
        database.audit(db, actor=user["name"], action="assignment.clear", entity="cameras",
                       detail={"cameras": ids, "removed": removed})
    return removed


def _known_ids(db: Database, camera_ids: list[str]) -> list[str]:
    ids = list(dict.fromkeys(c.strip() for c in camera_ids if c and c.strip()))
    if not ids:
        raise BadInput("Give at least one camera id")
    if len(ids) > MAX_IDS:
        raise BadInput("At most %(max)s cameras at a time", max=MAX_IDS)
    for cid in ids:
        if camera_db.get_camera(db, cid) is None:
            raise NotFound("Camera %(id)s is not in the registry", id=cid)
    return ids


def parse_ids(text: str) -> list[str]:
    """Camera ids typed or pasted: separated by spaces, commas or new lines."""
    return [p for p in (text or "").replace(",", " ").split() if p]
