"""Registry SQL for the dashboard: counts kept as the rows change, never every survey read.

A national registry holds a million surveys: counting them per page view takes seconds on
either engine. Triggers (migrations.r0770, pg_schema.p0003) append signed deltas to
`node_counts` (node x review state in force x stream verdict), `amphoe_counts` (district
of the registry's camera entry x review state) and `completion_counts` (completions per
hour of the survey's own time zone) as surveys, decisions and cameras change. The page
sums those rows; fold_counts turns each table's rows into one per key now and then. ''
stands for "none" in their keys.
"""

from __future__ import annotations

from sqlite_utils import Database

from ...db import rows
from .dialect import lock_table_writes

# Each count table and its key columns.
COUNT_TABLES = {
    "node_counts": "node_id, review_state, stream_verdict",
    "amphoe_counts": "amphoe_code, amphoe_name, review_state",
    "completion_counts": "hour, tail",
}
# A table with more rows than this is folded before the page sums it (a fold after a
# day's sync of a few thousand surveys takes a few milliseconds; 20,000 rows sum in ~10).
FOLD_ROWS = 20_000


def rows_node_counts(db: Database) -> list[dict]:
    """Surveys per node, review state in force and stream verdict ('' unchecked)."""
    return rows(db, "SELECT node_id, review_state AS state, stream_verdict AS verdict,"
                    " sum(n) AS n FROM node_counts"
                    " GROUP BY node_id, review_state, stream_verdict HAVING sum(n) > 0")


def rows_amphoe_counts(db: Database) -> list[dict]:
    """Surveys per district ('' when the camera has no registry entry) and review state."""
    return rows(db, "SELECT amphoe_code, amphoe_name, review_state AS state, sum(n) AS n"
                    " FROM amphoe_counts GROUP BY amphoe_code, amphoe_name, review_state"
                    " HAVING sum(n) > 0")


def rows_completions_by_hour(db: Database, since: str) -> list[dict]:
    """Completions from `since` (an ISO date) on, per hour of their own time zone: `hour`
    is 'YYYY-MM-DDTHH', `tail` what follows the seconds (a fraction, the offset)."""
    return rows(db, "SELECT hour, tail, sum(n) AS n FROM completion_counts WHERE hour >= ?"
                    " GROUP BY hour, tail HAVING sum(n) > 0", [since])


def tables_to_fold(db: Database) -> list[str]:
    return [t for t in COUNT_TABLES
            if db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] > FOLD_ROWS]


def fold_counts(db: Database, table: str) -> None:
    """One row per key with its sum, for the rows there now (call inside a transaction).

    The writers are held off meanwhile, so a delta committed during the fold is neither
    summed twice nor dropped; the new rows take ids above every folded one."""
    keys = COUNT_TABLES[table]
    lock_table_writes(db, table)
    top = db.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    if top is None:
        return
    db.execute(f"INSERT INTO {table} ({keys}, n) SELECT {keys}, sum(n) FROM {table}"
               f" WHERE id <= ? GROUP BY {keys} HAVING sum(n) != 0", [top])
    db.execute(f"DELETE FROM {table} WHERE id <= ?", [top])


# Every survey counted again, as the triggers would have: the migrations that add the
# counts run these once; a bulk copy made with the triggers off runs rebuild_counts.
REBUILD_SQL = (
    "DELETE FROM node_counts",
    "DELETE FROM amphoe_counts",
    "DELETE FROM completion_counts",
    "INSERT INTO node_counts (node_id, review_state, stream_verdict, n)"
    " SELECT node_id, review_state, coalesce(stream_verdict, ''), count(*) FROM surveys"
    " GROUP BY node_id, review_state, coalesce(stream_verdict, '')",
    "INSERT INTO amphoe_counts (amphoe_code, amphoe_name, review_state, n)"
    " SELECT coalesce(c.amphoe_code, ''), coalesce(c.amphoe_name, ''), s.review_state,"
    " count(*) FROM surveys s LEFT JOIN cameras c ON c.camera_id = s.camera_id"
    " GROUP BY coalesce(c.amphoe_code, ''), coalesce(c.amphoe_name, ''), s.review_state",
    "INSERT INTO completion_counts (hour, tail, n) SELECT substr(completed_at, 1, 13),"
    " substr(completed_at, 20), count(*) FROM surveys WHERE completed_at IS NOT NULL"
    " GROUP BY substr(completed_at, 1, 13), substr(completed_at, 20)",
)


def rebuild_counts(db: Database) -> int:
    """Count every survey again (call inside a transaction); returns the surveys counted.

    The writers of the surveys, the cameras and the counts are held off meanwhile (tables
    in the order a writer reaches them), so a survey committed during the count is counted
    once: by the rebuild, or by its trigger after it."""
    for table in ("surveys", "cameras", *COUNT_TABLES):
        lock_table_writes(db, table)
    for sql in REBUILD_SQL:
        db.execute(sql)
    return db.execute("SELECT coalesce(sum(n), 0) FROM node_counts").fetchone()[0]
