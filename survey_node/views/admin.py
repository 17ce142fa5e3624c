"""Admin pages: users and the node's settings (import and selection have their own)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import accounts, node_settings
from ..app import get_config, get_db
from ..db import users as user_db
from ..errors import SurveyNodeError
from ..inventory.places import province_choices
from . import require_role

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
