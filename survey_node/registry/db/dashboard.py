"""Registry SQL for the dashboard: counts grouped in the database, never every survey loaded.

A national registry holds a million surveys: the page asks for group counts (node x review
state x stream verdict, district x review state) and the completions of the last days per
hour, all from the indexed columns of migrations.r0760, and adds those up in Python.
"""

from __future__ import annotations

from sqlite_utils import Database

from ...db import rows


def rows_node_counts(db: Database) -> list[dict]:
    """Surveys per node, review state in force and stream verdict (`n` each); read from
    one index (node_id, review_state, stream_verdict)."""
    return rows(db, "SELECT node_id, review_state AS state, stream_verdict AS verdict,"
                    " count(*) AS n FROM surveys GROUP BY node_id, review_state, stream_verdict")


def rows_amphoe_counts(db: Database) -> list[dict]:
    """Surveys per district (the registry's camera entry; none when it has no entry) and
    review state in force."""
    return rows(db, "SELECT c.amphoe_code, c.amphoe_name, s.review_state AS state,"
                    " count(*) AS n FROM surveys s LEFT JOIN cameras c"
                    " ON c.camera_id = s.camera_id"
                    " GROUP BY c.amphoe_code, c.amphoe_name, s.review_state")


def rows_completions_by_hour(db: Database, since: str) -> list[dict]:
    """Completions at or after `since` (an ISO date) per hour of their own time zone:
    `hour` is 'YYYY-MM-DDTHH', `tail` what follows the seconds (fraction and offset)."""
    return rows(db, "SELECT substr(completed_at, 1, 13) AS hour, substr(completed_at, 20)"
                    " AS tail, count(*) AS n FROM surveys WHERE completed_at >= ?"
                    " GROUP BY substr(completed_at, 1, 13), substr(completed_at, 20)",
                [since])
