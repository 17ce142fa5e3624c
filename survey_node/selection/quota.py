"""Progress against the 20 % target per province, amphoe and agency.

For each group: cameras registered, the target (ceil(target fraction × registered)),
selected, surveyed and approved, the shares, and the shortfall (target − selected, and
target − approved). The target fraction is the sample's fraction, or the configured one
for a committee list.
"""

from __future__ import annotations

from collections import defaultdict

from sqlite_utils import Database

from ..db import selection as sel_db
from ..errors import BadInput
from .runs import active_run
from .sample import quota_for
from ..db import reviews as review_db

LEVELS = {
    "province": ("province_code", "province_name"),
    "amphoe": ("amphoe_code", "amphoe_name"),
    "agency": ("agency", "agency"),
}


def surveyed_and_approved(db: Database) -> dict[str, tuple[bool, bool]]:
    """Per camera_id: (its latest survey is completed, that survey is approved).

    A survey sent back for re-survey or rejected is a draft again, so it counts as neither
    until the surveyor completes it anew.
    """

    out = {}
    for s in review_db.rows_latest_surveys(db):
        approved = s["review_state"] == "approved"
        out[s["camera_id"]] = (approved or s["state"] in ("complete", "synced"), approved)
    return out


def compute_quota(db: Database, *, level: str = "amphoe", default_fraction: float = 0.2) -> dict:
    if level not in LEVELS:
        raise BadInput("Quota level %(level)r is not one of %(levels)s", level=level,
                       levels=", ".join(LEVELS))
    run = active_run(db)
    fraction = run["fraction"] if run and run["method"] == "sample" else default_fraction
    progress = surveyed_and_approved(db)
    code_col, name_col = LEVELS[level]
    groups: dict[str, dict] = defaultdict(lambda: {"registered": 0, "selected": 0,
                                                   "surveyed": 0, "approved": 0})
    names: dict[str, str] = {}
    for cam in sel_db.rows_quota_cameras(db, run["id"] if run else None):
        key = cam[code_col] or ""
        names.setdefault(key, cam[name_col] or key)
        g = groups[key]
        g["registered"] += 1
        g["selected"] += cam["selected"]
        surveyed, approved = progress.get(cam["camera_id"], (False, False))
        g["surveyed"] += int(surveyed and cam["selected"])
        g["approved"] += int(approved and cam["selected"])
    out_rows = [_finish({"code": key, "name": names[key], **g}, fraction)
                for key, g in sorted(groups.items())]
    totals = {"registered": 0, "selected": 0, "surveyed": 0, "approved": 0}
    for r in out_rows:
        for k in totals:
            totals[k] += r[k]
    totals = _finish({"code": "", "name": "", **totals}, fraction)
    # The province's own target is ceil(f × N) over all; sums of per-group ceilings can be larger.
    return {"level": level, "fraction": fraction, "run_id": run["id"] if run else None,
            "rows": out_rows, "totals": totals}


def _finish(g: dict, fraction: float) -> dict:
    g["target"] = quota_for(fraction, g["registered"])
    g["selected_share"] = g["selected"] / g["registered"] if g["registered"] else 0.0
    g["approved_share"] = g["approved"] / g["registered"] if g["registered"] else 0.0
    g["shortfall"] = max(0, g["target"] - g["selected"])
    g["to_approve"] = max(0, g["target"] - g["approved"])
    return g
