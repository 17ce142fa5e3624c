"""Admin pages: users and the node's settings (import and selection have their own)."""

from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import accounts, basemap, node_settings
from ..context import get_config, get_db
from ..db import audit, transaction
from ..db import users as user_db
from ..errors import SurveyNodeError
from ..inventory.places import province_choices
from .guard import require_role

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_role("admin"))


@bp.get("/users")
def users():
    return render_template("admin/users.html", users=user_db.rows_users(get_db()), form={})


@bp.post("/users")
def add_user():
    form = {k: request.form.get(k, "") for k in ("name", "display_name", "role", "pin")}
    try:
        accounts.add_user(get_db(), get_config().security, name=form["name"],
                          display_name=form["display_name"], role=form["role"],
                          pin=form["pin"], actor=g.user["name"])
    except SurveyNodeError as exc:
        form["pin"] = ""
        return render_template("admin/users.html", users=user_db.rows_users(get_db()),
                               form=form, error=exc.line(gettext)), exc.status
    flash(gettext("User %(name)s added.", name=form["name"]))
    return redirect(url_for("admin.users"))


@bp.get("/settings")
def settings():
    return _settings_page(get_config().node.province_code)


@bp.post("/settings")
def save_settings():
    chosen = request.form.get("province", "")
    try:
        code = node_settings.set_province(get_config(), get_db(), chosen, actor=g.user["name"])
    except SurveyNodeError as exc:
        return _settings_page(get_config().node.province_code, error=exc.line(gettext),
                              status=exc.status)
    if code:
        flash(gettext("The node's province is now %(province)s.",
                      province=node_settings.province_label(code)))
    else:
        flash(gettext("The node has no province set: imports infer it from each file when they can."))
    return redirect(url_for("admin.settings"))


def _settings_page(code: str, *, error: str | None = None, status: int = 200):
    return render_template("admin/settings.html", current=code,
                           current_label=node_settings.province_label(code),
                           provinces=province_choices(), error=error), status


@bp.get("/basemap")
def basemap_page():
    cfg = get_config()
    found = basemap.current_basemap(cfg.data_dir)
    info, error = None, None
    if found is not None:
        try:
            info = basemap.describe(found)
        except SurveyNodeError as exc:
            error = exc.line(gettext)
    return render_template("admin/basemap.html", info=info, error=error,
                           max_mb=cfg.web.max_basemap_mb)


@bp.post("/basemap")
def upload_basemap():
    """The MBTiles file as the raw request body (the page's script sends it so, with
    progress); streamed to disk under its own limit, not the photo upload's."""
    cfg = get_config()
    limit = cfg.web.max_basemap_mb << 20
    request.max_content_length = limit + 1  # this route's own limit (Flask >= 3.1)
    from urllib.parse import unquote

    name = unquote(request.headers.get("X-Filename") or "basemap.mbtiles")[:200]
    stream = request.stream
    info = basemap.install_basemap(cfg.data_dir, iter(lambda: stream.read(1 << 20), b""),
                                   name=name, declared_bytes=request.content_length,
                                   max_bytes=limit)
    db = get_db()
    with transaction(db):
        audit(db, actor=g.user["name"], action="settings.basemap", entity="config",
              entity_id="basemap", detail={"name": name, **info.as_dict()})
    return jsonify(info.as_dict()), 201


@bp.post("/basemap/remove")
def remove_basemap():
    cfg = get_config()
    if basemap.remove_basemap(cfg.data_dir):
        db = get_db()
        with transaction(db):
            audit(db, actor=g.user["name"], action="settings.basemap_remove", entity="config",
                  entity_id="basemap")
        flash(gettext("The basemap was removed."))
    return redirect(url_for("admin.basemap_page"))
