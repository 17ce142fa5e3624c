"""The guards every route passes (login, role), the one error handler (JSON under /api/,
a Thai page elsewhere) and the security headers of every answer."""

from __future__ import annotations

import functools
import logging

from flask import (g, jsonify, make_response, redirect, render_template, request,
                   url_for)
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..context import get_db
from ..diskspace import NODE_DISK_FULL, is_disk_full
from ..errors import Busy, SurveyNodeError
from ..webapp import session_user

log = logging.getLogger(__name__)

# Endpoints anyone may reach without a session.
PUBLIC_ENDPOINTS = {"auth.login", "auth.set_language", "api.healthz", "static"}
ROLE_RANK = {"surveyor": 1, "supervisor": 2, "admin": 3}


def wants_json() -> bool:
    # The API, and a page's own script that asks for JSON only (the basemap upload).
    return request.path.startswith("/api/") or request.headers.get("Accept") == "application/json"


def role_allows(user_role: str, needed: str) -> bool:
    return ROLE_RANK.get(user_role, 0) >= ROLE_RANK[needed]


def require_role(needed: str):
    """Blueprint guard: `bp.before_request(require_role("admin"))`."""

    def guard():
        user = g.get("user")
        if user is None or not role_allows(user["role"], needed):
            return refuse(403, "forbidden", gettext("You do not have permission for this page."))
        return None

    return guard


def needs(role: str):
    """Route guard: the page answers 403 below `role` (the services check again)."""

    def wrap(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if not role_allows(g.user["role"], role):
                return refuse(403, "forbidden", gettext("You do not have permission for this page."))
            return view(*args, **kwargs)

        return guarded

    return wrap


def require_login():
    g.user = session_user(get_db(), "user_id")
    if request.endpoint in PUBLIC_ENDPOINTS or g.user is not None:
        return None
    if request.endpoint is None:  # unknown URL: let the 404 handler answer
        return None
    if wants_json():
        return refuse(401, "login_required", gettext("Please log in."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def refuse(status: int, code: str, message: str, field: str | None = None):
    if wants_json():
        body = {"error": code, "message": message}
        if field:
            body["field"] = field
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def handle_error(exc: Exception):
    if isinstance(exc, SurveyNodeError):
        response = make_response(refuse(exc.status, exc.code, exc.line(gettext), exc.field))
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, CSRFError):
        return refuse(400, "csrf", gettext("This form has expired. Reload the page and try again."))
    if isinstance(exc, HTTPException):
        messages = {
            404: gettext("This page does not exist."),
            405: gettext("This action is not allowed here."),
            413: gettext("The file is too large."),
        }
        message = messages.get(exc.code or 0, gettext("The request could not be handled."))
        return refuse(exc.code or 400, exc.name.lower().replace(" ", "_"), message)
    if is_disk_full(exc):
        # Every writer removes its temp file and SQLite rolls the transaction back, so
        # nothing half-written is left; the user is told what to do, not "error 500".
        log.warning("disk full on %s %s: %s", request.method, request.path, exc)
        return refuse(507, "disk_full", gettext(NODE_DISK_FULL))
    log.exception("unhandled error on %s %s", request.method, request.path)
    return refuse(500, "internal", gettext("Something went wrong on the node. It has been logged."))


def security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'",
    )
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
