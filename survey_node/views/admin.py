"""Admin pages: users (later issues add import, selection and settings here)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import accounts
from ..app import get_config, get_db
from ..db import users as user_db
from ..errors import SurveyNodeError
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
