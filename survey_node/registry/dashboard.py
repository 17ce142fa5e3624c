"""The central registry's dashboard: what every node has sent and where review stands, per
node and per district, with the stream checks and the surveys per day.

The 20 % target lives on the nodes (each draws its own set), so this page counts surveys
received and decided rather than progress against the target.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from .. import dashboard as node_dashboard
from .db import review as rr_db
from .service import Registry

STATES = ("pending", "approved", "rejected", "resurvey")


def compute(registry: Registry, *, today: dt.date | None = None) -> dict:
    with registry.db() as db:
        held = list(rr_db.iter_registry_handin(db))
    fields = [h["record"].get("fields") or {} for h in held]
    return {
        "total": len(held),
        "states": Counter(h["decision"] or "pending" for h in held),
        "nodes": _groups(held, lambda h: (h["node_id"], h["node_id"])),
        "amphoes": _groups(held, lambda h: (h["camera"].get("amphoe_code") or "",
                                            h["camera"].get("amphoe_name") or "")),
        **node_dashboard.stream_summary(f.get("stream_verdict") for f in fields),
        "per_day": node_dashboard.per_day([f.get("completed_at") for f in fields], today=today),
    }


def _groups(held: list[dict], key) -> list[dict]:
    """Counts per review state for each group, largest group first."""
    groups: dict[tuple, Counter] = {}
    for h in held:
        groups.setdefault(key(h), Counter())[h["decision"] or "pending"] += 1
    return sorted(({"code": code, "name": name, "total": sum(c.values()),
                    **{state: c.get(state, 0) for state in STATES}}
                   for (code, name), c in groups.items()),
                  key=lambda g: (-g["total"], g["code"]))
