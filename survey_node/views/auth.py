"""Login with user name + PIN, logout, and the language switch."""

from __future__ import annotations

import logging

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from .. import accounts
from ..context import LANGUAGES, get_config, get_db
from ..db import users as user_db
from ..diskspace import is_disk_full
from ..errors import SurveyNodeError
from ..shared_pages import safe_next

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if g.get("user"):
            return redirect(url_for("cameras.index"))
        return render_template("login.html", name="", error=None)
    name = request.form.get("name", "")
    pin = request.form.get("pin", "")
    try:
        user = accounts.authenticate(get_db(), get_config().security, name=name, pin=pin,
                                     client=request.remote_addr or "unknown")
    except SurveyNodeError as exc:
        status = exc.status if exc.status in (400, 429) else 400
        return render_template("login.html", name=name, error=exc.line(gettext)), status
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    session["user_id"] = user["id"]
    session["v"] = user["session_version"]
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
def logout():
    if g.get("user") is not None:  # every copy of this cookie ends too, not only this one
        try:
            user_db.end_sessions(get_db(), g.user["id"], actor=g.user["name"])
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            # This browser's cookie still ends below; copies of it end at the next logout
            # or PIN change once there is room (logged, so an admin can see it happened).
            log.warning("disk full: logout of %s ended this browser's session only",
                        g.user["name"])
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next") or request.referrer))
