"""JSON API under /api/ (later issues add the survey workflow here) and /healthz."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from .. import db as database
from ..context import get_config, get_db
from ..db import cameras as camera_db

bp = Blueprint("api", __name__)


@bp.get("/healthz")
def healthz():
    database.ping(get_db())
    return jsonify(status="ok", node=get_config().node.id)


@bp.get("/api/v1/me")
def me():
    user = g.user
    return jsonify(name=user["name"], display_name=user["display_name"], role=user["role"])


@bp.get("/api/v1/cameras")
def cameras():
    search = request.args.get("q", "").strip()[:100]
    try:
        limit = min(500, max(1, int(request.args.get("limit", "50"))))
        offset = min(10**9, max(0, int(request.args.get("offset", "0"))))
    except ValueError:
        return jsonify(error="bad_input", message="limit and offset must be whole numbers"), 400
    db = get_db()
    return jsonify(
        total=camera_db.count_cameras(db, search=search),
        cameras=camera_db.rows_cameras(db, search=search, limit=limit, offset=offset),
    )
