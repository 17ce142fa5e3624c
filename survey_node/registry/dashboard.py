"""The central registry's dashboard: what every node has sent and where review stands, per
node and per district, with the stream checks and the surveys per day.

The 20 % target lives on the nodes (each draws its own set), so this page counts surveys
received and decided rather than progress against the target. The database does the
counting (db/dashboard.py keeps the counts as rows change): a national registry's million
surveys are neither loaded nor counted per page view.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from .. import dashboard as node_dashboard
from ..db import audit, transaction
from ..diskspace import is_disk_full
from ..thaidate import BANGKOK, to_bangkok
from .db import dashboard as dash_db
from .service import Registry

STATES = ("pending", "approved", "rejected", "resurvey")


def compute(registry: Registry, *, today: dt.date | None = None) -> dict:
    end = today or dt.datetime.now(BANGKOK).date()
    # A day early: a Bangkok day starts at 17:00 UTC the day before.
    since = (end - dt.timedelta(days=node_dashboard.DAYS)).isoformat()
    with registry.db() as db:
        _fold(db)
        by_node = dash_db.rows_node_counts(db)
        by_amphoe = dash_db.rows_amphoe_counts(db)
        hours = dash_db.rows_completions_by_hour(db, since)
    states, verdicts = Counter(), Counter()
    nodes: dict[tuple, Counter] = {}
    amphoes: dict[tuple, Counter] = {}
    for r in by_node:
        states[r["state"]] += r["n"]
        verdicts[r["verdict"] or None] += r["n"]
        nodes.setdefault((r["node_id"], r["node_id"]), Counter())[r["state"]] += r["n"]
    for r in by_amphoe:
        amphoes.setdefault((r["amphoe_code"] or "", r["amphoe_name"] or ""),
                           Counter())[r["state"]] += r["n"]
    return {
        "total": sum(states.values()),
        "states": states,
        "nodes": _groups(nodes),
        "amphoes": _groups(amphoes),
        **node_dashboard.stream_summary_of(verdicts),
        "per_day": node_dashboard.per_day_of(_bangkok_days(hours), today=end),
    }


def recount(registry: Registry, *, actor: str = "cli") -> int:
    """Count the dashboard's figures again from the surveys themselves, in one transaction
    (after rows were restored or edited by hand, which the counting triggers do not see);
    returns the surveys counted. Safe while nodes sync: they wait for the few seconds it
    takes on a million surveys."""
    with registry.db() as db, transaction(db):
        total = dash_db.rebuild_counts(db)
        audit(db, actor=actor, action="registry.recount", entity="dashboard",
              detail={"surveys": total})
    return total


def _fold(db) -> None:
    """Fold the count tables that have grown long; a full disk leaves them as they are
    (the sums are the same, only slower: the page still reads on a full disk)."""
    for table in dash_db.tables_to_fold(db):
        try:
            with transaction(db):
                dash_db.fold_counts(db, table)
        except Exception as exc:
            if not is_disk_full(exc):
                raise


def _bangkok_days(hours: list[dict]) -> Counter:
    """Completions per Bangkok day from counts per hour of each survey's own time zone."""
    days: Counter = Counter()
    for r in hours:
        offset = (r["tail"] or "").lstrip(".0123456789")  # the offset, without a fraction
        try:
            at = to_bangkok(f"{r['hour']}:00:00{offset}")
        except (TypeError, ValueError):
            continue  # not a time a node writes: not counted on any day
        days[at.date()] += r["n"]
    return days


def _groups(groups: dict[tuple, Counter]) -> list[dict]:
    """Counts per review state for each group, largest group first."""
    return sorted(({"code": code, "name": name, "total": sum(c.values()),
                    **{state: c.get(state, 0) for state in STATES}}
                   for (code, name), c in groups.items()),
                  key=lambda g: (-g["total"], g["code"]))
