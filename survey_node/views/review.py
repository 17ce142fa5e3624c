"""Supervisor review on the node: the queue, one camera side by side, the decision."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for

from .. import review as review_svc
from ..context import get_config, get_db
from ..db import reviews as review_db
from ..mbtiles import MBTiles
from ..shared_pages import ACTIONS, decide_from_form, verdict_label
from .guard import needs

bp = Blueprint("review", __name__, url_prefix="/review")

FILTERS = ("amphoe", "agency", "surveyor", "verdict")
PAGE = 100

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
