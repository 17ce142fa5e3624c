"""The auditable sample: rank by SHA-256(seed ‖ camera_id), take ceil(fraction × N) per stratum.

Anyone can re-derive the set with nothing but the registry and the seed:
``printf '%s%s' "$SEED" "$CAMERA_ID" | sha256sum`` for every camera, sort each stratum by
the hex digest ascending (ties, which SHA-256 makes practically impossible, by camera id),
take the first ceil(fraction × N). The ranks past the quota are kept: they are the order in
which replacements are drawn.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from decimal import Decimal

from sqlite_utils import Database

from ..db import selection as sel_db
from ..errors import BadInput, Conflict
from .runs import N_, record_run, require_role

# The fields a sample can be stratified by, and the camera column each one reads.
STRATUM_FIELDS = {
    "province": "province_code",
    "amphoe": "amphoe_code",
    "tambon": "tambon_code",
    "agency": "agency",
    "place_type": "place_type",
}

# Names the pages show for the fields (translated there; listed here so babel extracts them).
FIELD_LABELS = (N_("province"), N_("amphoe"), N_("tambon"), N_("agency"), N_("place_type"))


def parse_by(text: str) -> list[str]:
    fields = [f.strip().lower() for f in (text or "").split(",") if f.strip()]
    if not fields:
        raise BadInput("--by needs at least one field: %(fields)s", fields=", ".join(STRATUM_FIELDS))
    for f in fields:
        if f not in STRATUM_FIELDS:
            raise BadInput("Unknown stratum field %(field)r: use %(fields)s", field=f,
                           fields=", ".join(STRATUM_FIELDS))
    if len(set(fields)) != len(fields):
        raise BadInput("A stratum field is repeated in %(by)r", by=text)
    return fields


def parse_fraction(value) -> Decimal:
    try:
        fraction = Decimal(str(value).strip())
    except ArithmeticError:
        raise BadInput("Fraction %(value)r is not a number", value=str(value)) from None
    if not fraction.is_finite() or not (0 < fraction <= 1):
        raise BadInput("Fraction %(value)s must be above 0 and at most 1", value=str(value))
    return fraction


def rank_hash(seed: str, camera_id: str) -> str:
    return hashlib.sha256((seed + camera_id).encode("utf-8")).hexdigest()


def quota_for(fraction: Decimal | float | str, n: int) -> int:
    """ceil(fraction × n) in decimal arithmetic: 0.7 × 10 is 7, not 8 (binary floats say 8)."""
    return math.ceil(Decimal(str(fraction)) * n)


def stratum_key(camera: dict, fields: list[str]) -> str:
    return json.dumps([camera.get(STRATUM_FIELDS[f]) or "" for f in fields], ensure_ascii=False)


def rank_cameras(cameras: list[dict], *, fraction, fields: list[str], seed: str) -> list[dict]:
    """Pure: every camera with its stratum, rank, hash and selected/candidate status."""
    strata: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for cam in cameras:
        strata[stratum_key(cam, fields)].append((rank_hash(seed, cam["camera_id"]), cam["camera_id"]))
    items = []
    for stratum, members in sorted(strata.items()):
        members.sort()
        take = quota_for(fraction, len(members))
        for i, (digest, camera_id) in enumerate(members, start=1):
            items.append({"camera_id": camera_id, "stratum": stratum, "rank": i, "hash": digest,
                          "status": "selected" if i <= take else "candidate"})
    return items


def draw_sample(db: Database, *, fraction, by: str | list[str], seed: str,
                only_with_stream: bool = False, user: dict, dry_run: bool = False,
                replace: bool = False) -> dict:
    """Draw and record the sample; returns the run (with `items` when dry_run)."""
    require_role(user, "admin")
    fraction = parse_fraction(fraction)
    fields = parse_by(by) if isinstance(by, str) else parse_by(",".join(by))
    seed = (seed or "").strip()
    if not seed:
        raise BadInput("A seed is needed (--seed): it is what lets anyone re-derive the set")
    if len(seed) > 200:
        raise BadInput("The seed is longer than 200 characters")
    cameras = sel_db.rows_eligible_cameras(db, only_with_stream=only_with_stream)
    if not cameras:
        raise Conflict("No cameras to sample from: import the registry first")
    items = rank_cameras(cameras, fraction=fraction, fields=fields, seed=seed)
    run = {
        "method": "sample",
        "fraction": float(fraction),
        "strata": fields,
        "seed": seed,
        "only_with_stream": int(bool(only_with_stream)),
        "counts": {
            "eligible": len(cameras),
            "selected": sum(1 for i in items if i["status"] == "selected"),
            "strata": len({i["stratum"] for i in items}),
        },
        "unmatched": [],
    }
    if dry_run:
        return {**run, "id": None, "created_by": user["name"], "created_at": None, "items": items}
    return record_run(db, run, items, actor=user["name"], action="selection.sample",
                      replace=replace)


def verify_run(db: Database, run: dict) -> list[str]:
    """Re-derive a sample run from its seed over the cameras it ranked; list the differences."""
    if run["method"] != "sample":
        raise BadInput("Run %(id)s is a committee list, not a sample: nothing to re-derive",
                       id=run["id"])
    stored = sel_db.rows_selection(db, run["id"])
    by_id = {s["camera_id"]: s for s in stored}
    # Rank within the stored strata: the registry may have changed since the draw.
    problems = []
    groups: dict[str, list[str]] = defaultdict(list)
    for s in stored:
        groups[s["stratum"]].append(s["camera_id"])
    for stratum, ids in groups.items():
        order = sorted(ids, key=lambda cid: (rank_hash(run["seed"], cid), cid))
        take = quota_for(run["fraction"], len(order))
        for i, cid in enumerate(order, start=1):
            s = by_id[cid]
            was_selected = s["status"] in ("selected", "replaced") and not s["replaces"]
            if s["rank"] != i or s["hash"] != rank_hash(run["seed"], cid) \
                    or was_selected != (i <= take):
                problems.append(f"{cid}: stored rank {s['rank']} ({s['status']}), re-derived"
                                f" rank {i} ({'selected' if i <= take else 'candidate'})")
    return problems
