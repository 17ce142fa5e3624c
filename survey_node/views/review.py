"""Supervisor review on the node: the queue, one camera side by side, the decision."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import review as review_svc
from .. import templating
from ..context import get_config, get_db
from ..db import reviews as review_db
from ..errors import SurveyNodeError
from ..i18n import N_
from ..mbtiles import MBTiles
from .guard import needs

bp = Blueprint("review", __name__, url_prefix="/review")

FILTERS = ("amphoe", "agency", "surveyor", "verdict")
PAGE = 100

# Audit actions the history names in words (others are shown as they are).
ACTIONS = {
    "survey.start": N_("Survey started"), "survey.open": N_("Survey opened"),
    "survey.position": N_("Position fixed"), "survey.photo_add": N_("Photo added"),
    "survey.photo_remove": N_("Photo removed"), "survey.stream_check": N_("Stream checked"),
    "survey.answers": N_("Answers saved"), "survey.complete": N_("Survey completed"),
    "survey.release": N_("Survey released"), "survey.review": N_("Review decision"),
    "survey.new_camera": N_("New camera reported"),
    "registry.received": N_("Received from the node"), "registry.decide": N_("Review decision"),
}


def verdict_label(verdict: str | None) -> str:
    """The stream check's short label for a verdict code, in the page's language."""
    return templating.verdict_label(verdict, gettext)


@bp.app_context_processor
def _template_helpers():
    return {"verdict_label": verdict_label}


def _evidence_url(sha256: str) -> str:
    return url_for("devices.evidence_file", sha256=sha256)


def queue_args() -> dict:
    args = {k: request.args.get(k, "").strip()[:200] for k in FILTERS}
    status = request.args.get("status", "pending")
    args["status"] = status if status in review_svc.QUEUE_STATUSES else "pending"
    return args


@bp.get("/")
@needs("supervisor")
def queue():
    db = get_db()
    args = queue_args()
    try:
        offset = max(0, int(request.args.get("offset", 0)))
    except ValueError:
        offset = 0
    result = review_svc.queue(db, limit=PAGE, offset=offset, **args)
    return render_template("review/queue.html", result=result, args=args, offset=offset,
                           page=PAGE, choices=review_db.rows_queue_choices(db),
                           statuses=review_svc.QUEUE_STATUSES, layout="base.html",
                           queue_endpoint="review.queue", survey_endpoint="review.survey",
                           on_registry=False, warn_m=get_config().survey.distance_warning_m)


@bp.get("/<survey_id>")
@needs("supervisor")
def survey(survey_id, error: str | None = None, status: int = 200):
    db, config = get_db(), get_config()
    view = review_svc.compare(db, config, survey_id)
    urls = {"queue": url_for("review.queue"),
            "decide": url_for("review.decide", survey_id=survey_id),
            "sheet": url_for("exports.sheet", survey_id=survey_id)}
    tiles = MBTiles.find(config.data_dir)
    return render_template("review/survey.html", view=view, error=error, layout="base.html",
                           urls=urls, image_url=_evidence_url,
                           decisions=review_svc.DECISIONS, flags=review_svc.FLAGS,
                           actions=ACTIONS, back=request.args.get("back", ""),
                           has_basemap=tiles is not None,
                           basemap_max_zoom=tiles.max_zoom() if tiles else None), status


@bp.post("/<survey_id>")
@needs("supervisor")
def decide(survey_id):
    return decide_from_form(
        lambda **kw: review_svc.decide(get_db(), survey_id, user=g.user, **kw),
        on_error=lambda line, status: survey(survey_id, error=line, status=status),
        queue_endpoint="review.queue")


def decide_from_form(decide_fn, *, on_error, queue_endpoint: str):
    """The decision form, for the node and the registry alike: decide, say so, go back.

    `decide_fn(decision=, reason=, flags=)` records it; `on_error(line, status)` shows the
    survey page again with the problem.
    """
    decision = request.form.get("decision", "")
    try:
        decide_fn(decision=decision,
                  reason=request.form.get("reason", "")[:review_svc.MAX_REASON + 1],
                  flags=request.form.getlist("flags")[:10])
    except SurveyNodeError as exc:
        return on_error(exc.line(gettext), exc.status)
    flash(gettext("Decision saved: %(decision)s.",
                  decision=gettext(review_svc.DECISIONS.get(decision, decision))))
    back = request.form.get("back", "")
    # Only a path on this site (the queue with its filters), never another site.
    if back.startswith(url_for(queue_endpoint)) and not back.startswith("//"):
        return redirect(back)
    return redirect(url_for(queue_endpoint))
