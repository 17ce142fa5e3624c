"""The central registry's review pages: login, the queue across all nodes, one survey, decide.

Mounted on the registry's API app by :func:`install`. The API authenticates nodes by bearer
token; these pages authenticate supervisors by session (user name + PIN, the registry's own
users), with CSRF tokens on every form. The one-survey page is the node's template.
"""

from __future__ import annotations

import functools

from flask import (Blueprint, Flask, abort, current_app, g, redirect, render_template,
                   request, send_file, session, url_for)
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError

from .. import accounts
from .. import config as config_mod
from .. import review as node_review
from ..webapp import configure_web_app, session_user
from ..db import users as user_db
from ..errors import SurveyNodeError
from ..evidence import SHA256_RE
from . import review as registry_review
from ..shared_pages import (ACTIONS, decide_from_form, safe_next, send_written, stream_charts,
                            verdict_label)
from ..context import LANGUAGES, get_config
from . import dashboard as registry_dashboard
from . import handin
from ..thaidate import BANGKOK

bp = Blueprint("registry_review", __name__, url_prefix="/review")
# The node's login page, in the registry's layout.
_LOGIN_PAGE = {"layout": "registry/base.html", "subtitle": lazy_gettext("Central registry")}
FILTERS = ("node", "amphoe", "agency", "surveyor", "verdict")
PAGE = 100


def install(app: Flask, config, registry) -> None:
    """Add the review pages to the registry's app, set up as the node's app is (webapp.py);
    CSRF is checked by the pages' own guard, since the node API beside them uses tokens."""
    config_mod.ensure_secrets(config)
    configure_web_app(app, config, check_csrf=False)
    app.jinja_env.globals.update(verdict_label=verdict_label)
    app.register_blueprint(bp)


def _registry():
    return current_app.extensions["registry"]


@bp.before_request
def _login_and_csrf():
    with _registry().db() as db:
        g.user = session_user(db, "registry_user")
    if request.method == "POST":
        current_app.extensions["csrf"].protect()
    if g.user is None and request.endpoint not in ("registry_review.login",
                                                   "registry_review.set_language"):
        return redirect(url_for("registry_review.login", next=request.full_path.rstrip("?")))
    return None


def needs_reviewer(view):
    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if not node_review.can_review(g.user):
            return _page_error(403, gettext("You do not have permission for this page."))
        return view(*args, **kwargs)

    return guarded


@bp.errorhandler(SurveyNodeError)
def _service_error(exc: SurveyNodeError):
    return _page_error(exc.status, exc.line(gettext))


@bp.errorhandler(CSRFError)
def _csrf_error(_exc):
    return _page_error(400, gettext("This form has expired. Reload the page and try again."))


def _page_error(status: int, message: str):
    return render_template("registry/error.html", status=status, message=message), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", name="", error=None, **_LOGIN_PAGE)
    name = request.form.get("name", "")
    try:
        with _registry().db() as db:
            user = accounts.authenticate(db, get_config().security, name=name,
                                         pin=request.form.get("pin", ""),
                                         client=request.remote_addr or "unknown")
    except SurveyNodeError as exc:
        status = exc.status if exc.status in (400, 429) else 400
        return render_template("login.html", name=name, error=exc.line(gettext),
                               **_LOGIN_PAGE), status
    session.clear()
    session["registry_user"] = user["id"]
    session["v"] = user["session_version"]
    target = request.args.get("next", "")
    if not (target.startswith("/review") and not target.startswith("//")):
        target = url_for("registry_review.queue")
    return redirect(target)


@bp.post("/language")
def set_language():
    """Thai or English, for this browser (the login page has the switch too)."""
    if request.form.get("lang") in LANGUAGES:
        session["lang"] = request.form["lang"]
    target = safe_next(request.form.get("next"), "registry_review.queue")
    return redirect(target if target.startswith("/review") else url_for("registry_review.queue"))


@bp.post("/logout")
def logout():
    if g.user is not None:
        with _registry().db() as db:
            user_db.end_sessions(db, g.user["id"], actor=g.user["name"])
    session.clear()
    return redirect(url_for("registry_review.login"))


@bp.get("/")
@needs_reviewer
def queue():
    args = {k: request.args.get(k, "").strip()[:200] for k in FILTERS}
    status = request.args.get("status", "pending")
    args["status"] = status if status in registry_review.QUEUE_STATUSES else "pending"
    try:
        offset = max(0, int(request.args.get("offset", 0)))
    except ValueError:
        offset = 0
    result = registry_review.queue(_registry(), limit=PAGE, offset=offset, **args)
    return render_template("review/queue.html", result=result, args=args, offset=offset,
                           page=PAGE, choices=registry_review.choices(_registry()),
                           statuses=registry_review.QUEUE_STATUSES,
                           layout="registry/base.html", queue_endpoint="registry_review.queue",
                           survey_endpoint="registry_review.survey", on_registry=True,
                           warn_m=None)


@bp.get("/<survey_id>")
@needs_reviewer
def survey(survey_id, error: str | None = None, status: int = 200):
    view = registry_review.compare(_registry(), get_config(), survey_id)
    urls = {"queue": url_for("registry_review.queue"),
            "decide": url_for("registry_review.decide", survey_id=survey_id), "sheet": None}
    return render_template(
        "review/survey.html", view=view, error=error, layout="registry/base.html", urls=urls,
        image_url=lambda sha: url_for("registry_review.evidence", sha256=sha),
        decisions=node_review.DECISIONS, flags=node_review.FLAGS, actions=ACTIONS,
        back=request.args.get("back", ""), has_basemap=False), status


@bp.post("/<survey_id>")
@needs_reviewer
def decide(survey_id):
    return decide_from_form(
        lambda **kw: registry_review.decide(_registry(), survey_id, user=g.user, **kw),
        on_error=lambda line, status: survey(survey_id, error=line, status=status),
        queue_endpoint="registry_review.queue")


@bp.get("/dashboard")
@needs_reviewer
def dashboard():
    data = registry_dashboard.compute(_registry())
    return render_template("registry/dashboard.html", data=data, charts=stream_charts(data))


@bp.get("/export.<any(xlsx, csv):fmt>")
@needs_reviewer
def export(fmt):
    """The province's hand-in file of the surveys in the queue's current tab."""
    from datetime import datetime

    status = request.args.get("status", "all")
    status = status if status in registry_review.QUEUE_STATUSES else "all"
    name = f"cctv-province-{status}-{datetime.now(BANGKOK).strftime('%Y%m%d')}.{fmt}"
    return send_written(lambda path: handin.export_file(_registry(), fmt, path, status=status),
                        fmt, name, get_config().data_dir)


@bp.get("/evidence/<sha256>")
@needs_reviewer
def evidence(sha256):
    if not SHA256_RE.match(sha256):
        abort(404)
    store = _registry().store.objects
    if not store.has(sha256):
        abort(404)
    # through the store interface (not a path), so an object store can replace the files
    response = send_file(store.open(sha256), mimetype="image/jpeg", max_age=3600,
                         etag=sha256, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

