"""The surveyor's pages: the worklist (list + map) and the survey of one camera.

The pages are thin: they render the frame and the registry data; the live parts (GPS,
photos, stream check, autosave) talk to the JSON API in survey_api.py.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, send_file

from .. import survey as survey_svc
from ..app import get_config, get_db
from ..db import cameras as camera_db
from ..mbtiles import MBTiles

bp = Blueprint("survey_pages", __name__)


@bp.get("/worklist")
def worklist():
    default_show = "mine" if g.user["role"] == "surveyor" else "selected"
    return render_template("survey/worklist.html", amphoes=camera_db.rows_amphoes(get_db()),
                           default_show=default_show,
                           has_basemap=MBTiles.find(get_config().data_dir) is not None)


@bp.get("/survey/<camera_id>")
def survey_page(camera_id):
    db = get_db()
    camera = camera_db.get_camera(db, camera_id)
    if camera is None:
        abort(404)
    return render_template("survey/survey.html", camera=camera,
                           checklist=survey_svc.CHECKLIST, photo_roles=survey_svc.PHOTO_ROLES,
                           has_stream=bool(camera_db.get_camera(db, camera_id, with_secrets=True)
                                           ["stream_url"]),
                           distance_warning_m=get_config().survey.distance_warning_m)


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
