"""The home page: the province's cameras, with search and paging."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..app import get_config, get_db
from ..db import cameras as camera_db

bp = Blueprint("cameras", __name__)


@bp.get("/")
def index():
    search = request.args.get("q", "").strip()[:100]
    amphoe = request.args.get("amphoe", "").strip()[:10]
    page_size = get_config().web.page_size
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    db = get_db()
    total = camera_db.count_cameras(db, search=search, amphoe_code=amphoe)
    pages = max(1, -(-total // page_size))
    page = min(page, pages)
    cameras = camera_db.rows_cameras(db, search=search, amphoe_code=amphoe,
                                     limit=page_size, offset=(page - 1) * page_size)
    return render_template(
        "cameras.html", cameras=cameras, total=total, page=page, pages=pages,
        search=search, amphoe=amphoe, amphoes=camera_db.rows_amphoes(db),
    )
