"""The home page: the province's cameras, with search and paging.

`show` narrows the list: `mine` (cameras assigned to me, a surveyor's default),
`selected` (the survey set in force) or `all`.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from ..context import get_config, get_db
from ..db import cameras as camera_db
from ..db import selection as sel_db
from ..selection import active_run

bp = Blueprint("cameras", __name__)
SHOWS = ("mine", "selected", "all")


@bp.get("/")
def index():
    search = request.args.get("q", "").strip()[:100]
    amphoe = request.args.get("amphoe", "").strip()[:10]
    show = request.args.get("show", "")
    if show not in SHOWS:
        show = "mine" if g.user["role"] == "surveyor" else "all"
    page_size = get_config().web.page_size
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    db = get_db()
    run = active_run(db)
    narrow = {"selected_run": (run["id"] if run else -1) if show == "selected" else None,
              "assigned_to": g.user["name"] if show == "mine" else None}
    total = camera_db.count_cameras(db, search=search, amphoe_code=amphoe, **narrow)
    pages = max(1, -(-total // page_size))
    page = min(page, pages)
    cameras = camera_db.rows_cameras(db, search=search, amphoe_code=amphoe,
                                     limit=page_size, offset=(page - 1) * page_size, **narrow)
    flags = sel_db.flags_for_cameras(db, run["id"] if run else None,
                                     [c["camera_id"] for c in cameras])
    return render_template(
        "cameras.html", cameras=cameras, total=total, page=page, pages=pages,
        search=search, amphoe=amphoe, amphoes=camera_db.rows_amphoes(db),
        show=show, shows=SHOWS, flags=flags,
    )
