"""The worklist's SQL: which cameras a list shows (my assignments, the survey set in force,
or all), the user's filters, and the pages of it. The nearest-first order is
``cameras.rows_nearest``; what a list item says (distance, direction, badge) is
``survey_node.worklist``."""

from __future__ import annotations

from sqlite_utils import Database

from . import rows
from .cameras import PUBLIC_COLUMNS, search_clause

SHOWS = ("mine", "selected", "all")
_PUBLIC_C = ", ".join("c." + col for col in PUBLIC_COLUMNS.split(", "))


def worklist_scope(show: str, user_name: str, run_id: int | None) -> tuple[str, list]:
    """Which cameras a list shows: my assignments, the survey set `run_id`, or all."""
    if show == "mine":
        return "c.camera_id IN (SELECT camera_id FROM assignments WHERE user_name = ?)", [user_name]
    if show == "selected":
        return ("c.camera_id IN (SELECT camera_id FROM selection WHERE run_id = ?"
                " AND status = 'selected')", [run_id if run_id is not None else -1])
    return "", []


def worklist_filter(*, scope_sql: str = "", scope_params: list | None = None, amphoe: str = "",
                 search: str = "", state: str = "") -> tuple[str, list]:
    """One SQL condition on `c` from the scope and the user's filters.

    A camera a later import marked removed stays in my assignments and in the survey set
    (its work exists; the list flags it), and leaves only the list of all cameras."""
    clauses, params = [], []
    if scope_sql:
        clauses.append(f"({scope_sql})")
        params.extend(scope_params or [])
    else:
        clauses.append("c.removed = 0")
    if amphoe:
        clauses.append("c.amphoe_code = ?")
        params.append(amphoe)
    found = search_clause(search, "c")
    if found:
        clauses.append(found[0])
        params.extend(found[1])
    if state:
        latest = ("(SELECT {col} FROM surveys s WHERE s.camera_id = c.camera_id"
                  " ORDER BY s.created_at DESC, s.rowid DESC LIMIT 1)")
        if state == "todo":
            clauses.append("NOT EXISTS (SELECT 1 FROM surveys s WHERE s.camera_id = c.camera_id)")
        elif state in ("rejected", "resurvey", "approved"):
            clauses.append(f"{latest.format(col='review_state')} = ?")
            params.append(state)
        else:
            clauses.append(f"{latest.format(col='state')} = ?")
            params.append(state)
    return " AND ".join(clauses), params


def count_worklist(db: Database, where: str, params: list) -> tuple[int, int]:
    """(cameras, of them with a registered position) matching the filter."""
    total, positioned = db.execute(f"SELECT count(*), count(c.registered_lat) FROM cameras c"
                                   f" WHERE {where}", params).fetchone()
    return total, positioned


def rows_worklist(db: Database, where: str, params: list, *, limit: int, offset: int,
                  unpositioned_only: bool = False) -> list[dict]:
    """A page of the list in district and id order (no position to sort from, or the
    cameras without a registered position after the nearest ones)."""
    extra = " AND c.registered_lat IS NULL" if unpositioned_only else ""
    order = "c.camera_id" if unpositioned_only else "c.amphoe_code, c.camera_id"
    return rows(db, f"SELECT {_PUBLIC_C} FROM cameras c WHERE {where}{extra}"
                    f" ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset])
