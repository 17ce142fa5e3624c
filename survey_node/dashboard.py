"""The supervisor's dashboard: progress against the quota, streams, failures, surveys per day.

Counts come from each camera's latest survey (a camera surveyed twice counts once); the
days are Bangkok days of each completion (a survey completed again after a re-survey
counts on both days, as work done).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlite_utils import Database

from .config import Config
from .db import reviews as review_db
from .selection import quota as quota_mod
from .thaidate import BANGKOK, to_bangkok

DAYS = 30


def compute(db: Database, config: Config, *, today: dt.date | None = None) -> dict:
    fraction = config.selection.target_fraction
    latest = [s for s in review_db.rows_latest_surveys(db)
              if s["state"] in ("complete", "synced") or s["review_state"] == "approved"]
    return {
        "amphoe": quota_mod.compute_quota(db, level="amphoe", default_fraction=fraction),
        "agency": quota_mod.compute_quota(db, level="agency", default_fraction=fraction),
        **stream_summary(s["stream_verdict"] for s in latest),
        "per_day": per_day(review_db.rows_completion_times(db), today=today),
        "review_states": Counter(s["review_state"] or "pending" for s in latest),
    }


def stream_summary(verdicts) -> dict:
    """How many streams were checked, how many work, and the failures, most common first."""
    return stream_summary_of(Counter(v for v in verdicts if v))


def stream_summary_of(counts: Counter) -> dict:
    """The same from counts per verdict (the registry counts them in SQL)."""
    counts = Counter({v: n for v, n in counts.items() if v})
    checked = sum(counts.values())
    return {
        "checked": checked,
        "working": counts.get("ok", 0),
        "working_share": counts.get("ok", 0) / checked if checked else None,
        "failures": sorted(((v, n) for v, n in counts.items() if v != "ok"),
                           key=lambda vn: (-vn[1], vn[0])),
    }


def per_day(times: list[str], *, today: dt.date | None = None, days: int = DAYS) -> list[tuple[dt.date, int]]:
    """Completions per Bangkok day over the last `days` days (zeros included), oldest first."""
    return per_day_of(Counter(to_bangkok(t).date() for t in times if t), today=today, days=days)


def per_day_of(counts: Counter, *, today: dt.date | None = None,
               days: int = DAYS) -> list[tuple[dt.date, int]]:
    """The same from completions counted per Bangkok day."""
    end = today or dt.datetime.now(BANGKOK).date()
    return [(end - dt.timedelta(days=i), counts.get(end - dt.timedelta(days=i), 0))
            for i in range(days - 1, -1, -1)]
