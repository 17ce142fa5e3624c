"""Registry SQL for the dashboard: counts kept as the rows change, never every survey read.

A national registry holds a million surveys: counting them per page view takes seconds on
either engine. Triggers (migrations.r0770, pg_schema.p0003) keep `survey_counts` (surveys
per node, district, review state in force and stream verdict) and `completion_counts`
(completions per node and hour of the survey's own time zone) as surveys, decisions and
cameras change; the page sums a few thousand of those rows. '' stands for "none" in their
keys. A range of rows copied in with the triggers off is counted again by rebuild_counts.
"""

from __future__ import annotations

from sqlite_utils import Database

from ...db import rows


def rows_node_counts(db: Database) -> list[dict]:
    """Surveys per node, review state in force and stream verdict ('' unchecked)."""
    return rows(db, "SELECT node_id, review_state AS state, stream_verdict AS verdict,"
                    " sum(n) AS n FROM survey_counts"
                    " GROUP BY node_id, review_state, stream_verdict HAVING sum(n) > 0")


def rows_amphoe_counts(db: Database) -> list[dict]:
    """Surveys per district of the registry's camera entry ('' without one) and review
    state in force."""
    return rows(db, "SELECT amphoe_code, amphoe_name, review_state AS state, sum(n) AS n"
                    " FROM survey_counts GROUP BY amphoe_code, amphoe_name, review_state"
                    " HAVING sum(n) > 0")


def rows_completions_by_hour(db: Database, since: str) -> list[dict]:
    """Completions from `since` (an ISO date) on, per hour of their own time zone: `hour`
    is 'YYYY-MM-DDTHH', `tail` what follows the seconds (a fraction, the offset)."""
    return rows(db, "SELECT hour, tail, sum(n) AS n FROM completion_counts WHERE hour >= ?"
                    " GROUP BY hour, tail HAVING sum(n) > 0", [since])


# Every survey counted again, as the triggers would have: the migrations that add the
# counts run these once; a bulk copy made with the triggers off runs rebuild_counts.
REBUILD_SQL = (
    "DELETE FROM survey_counts",
    "DELETE FROM completion_counts",
    "INSERT INTO survey_counts (node_id, amphoe_code, amphoe_name, review_state,"
    " stream_verdict, n) SELECT s.node_id, coalesce(c.amphoe_code, ''),"
    " coalesce(c.amphoe_name, ''), s.review_state, coalesce(s.stream_verdict, ''),"
    " count(*) FROM surveys s LEFT JOIN cameras c ON c.camera_id = s.camera_id"
    " GROUP BY s.node_id, coalesce(c.amphoe_code, ''), coalesce(c.amphoe_name, ''),"
    " s.review_state, coalesce(s.stream_verdict, '')",
    "INSERT INTO completion_counts (node_id, hour, tail, n) SELECT node_id,"
    " substr(completed_at, 1, 13), substr(completed_at, 20), count(*) FROM surveys"
    " WHERE completed_at IS NOT NULL GROUP BY node_id, substr(completed_at, 1, 13),"
    " substr(completed_at, 20)",
)


def rebuild_counts(db: Database) -> None:
    """Count every survey again (call inside a transaction)."""
    for sql in REBUILD_SQL:
        db.execute(sql)
