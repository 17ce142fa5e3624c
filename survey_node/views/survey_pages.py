"""The surveyor's pages: the worklist (list + map) and the survey of one camera.

The pages are thin: they render the frame and the registry data; the live parts (GPS,
photos, stream check, autosave) talk to the JSON API in survey_api.py.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext

from .. import survey as survey_svc
from .. import worklist as worklist_svc
from ..context import get_config, get_db
from ..templating import web_dir
from ..db import cameras as camera_db
from ..db import surveys as survey_db
from ..errors import SurveyNodeError
from ..mbtiles import MBTiles
from ..streamcheck.brands import BRANDS, DEFAULT_BRAND, match_brand

bp = Blueprint("survey_pages", __name__)


@bp.get("/worklist")
def worklist():
    default_show = "mine" if g.user["role"] == "surveyor" else "selected"
    tiles = MBTiles.find(get_config().data_dir)
    return render_template("survey/worklist.html", amphoes=camera_db.rows_amphoes(get_db()),
                           default_show=default_show, has_basemap=tiles is not None,
                           basemap_max_zoom=tiles.max_zoom() if tiles else None)


@bp.get("/survey/<camera_id>")
def survey_page(camera_id):
    db = get_db()
    camera = camera_db.get_camera(db, camera_id)
    if camera is None:
        abort(404)
    latest = survey_db.get_open_survey_for_camera(db, camera_id)
    has_stream = bool(camera_db.get_camera(db, camera_id, with_secrets=True)["stream_url"]
                      or (latest and latest.get("found_stream_url")))
    refusal = survey_svc.owner_refusal(db, camera_id, g.user)
    return render_template("survey/survey.html", camera=camera,
                           blocked=refusal.line(gettext) if refusal else None,
                           checklist=survey_svc.CHECKLIST, photo_roles=survey_svc.PHOTO_ROLES,
                           has_stream=has_stream, stream_brands=BRANDS,
                           brand_guess=match_brand(camera.get("brand")) or DEFAULT_BRAND,
                           distance_warning_m=get_config().survey.distance_warning_m,
                           registry_row=worklist_svc.registry_row(db, camera_id))


@bp.route("/new-camera", methods=["GET", "POST"])
def new_camera():
    """Report a camera found on site that the registry does not have, then survey it."""
    form = {k: request.form.get(k, "").strip() for k in ("site_name", "agency", "description")}
    if request.method == "GET":
        return render_template("survey/new_camera.html", form=form, error=None)
    try:
        survey = survey_svc.report_new_camera(get_db(), get_config(), user=g.user, **form)
    except SurveyNodeError as exc:
        return render_template("survey/new_camera.html", form=form,
                               error=exc.line(gettext)), exc.status
    return redirect(url_for("survey_pages.new_camera_survey", survey_id=survey["id"]))


@bp.get("/surveys/<survey_id>")
def new_camera_survey(survey_id):
    """The survey page of a camera that is not in the registry."""
    survey = survey_svc.get(get_db(), survey_id)  # NotFound -> a Thai 404 page
    if survey["camera_id"]:
        return redirect(url_for("survey_pages.survey_page", camera_id=survey["camera_id"]))
    return render_template("survey/survey.html", camera=None, new_camera=survey["new_camera"],
                           survey_id=survey_id, checklist=survey_svc.CHECKLIST,
                           photo_roles=survey_svc.PHOTO_ROLES, has_stream=False,
                           distance_warning_m=get_config().survey.distance_warning_m)


@bp.get("/sw.js")
def service_worker():
    """The survey page's offline shell (web/static/js/sw.js), served from the root so its
    scope covers /survey/ pages; never cached itself, so a new version takes over."""

    response = send_file(web_dir() / "static" / "js" / "sw.js", mimetype="text/javascript",
                         max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/tiles/<int:z>/<int:x>/<int:y>.png")
def tile(z, x, y):
    """Offline basemap tiles from an MBTiles file in the data dir (never from the internet)."""
    tiles = MBTiles.find(get_config().data_dir)
    data = tiles.tile(z, x, y) if tiles else None
    if data is None:
        abort(404)
    import io

    response = send_file(io.BytesIO(data), mimetype=tiles.mimetype, max_age=86400)
    return response
