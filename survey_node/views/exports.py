"""Exports from the UI: the download page, and the printable evidence sheets."""

from __future__ import annotations


from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import exports as export_mod

from .. import sheets
from ..context import get_config, get_db
from ..db import cameras as camera_db
from ..errors import BadInput
from ..thaidate import BANGKOK
from ..shared_pages import MIME, send_written
from .guard import needs

bp = Blueprint("exports", __name__, url_prefix="/exports")

SUFFIX = {"xlsx": "xlsx", "csv": "csv", "geojson": "geojson", "kml": "kml", "evidence-zip": "zip"}
MAX_SHEETS = 500  # one district's worth; a bigger print job belongs to the CLI


@bp.get("/")
@needs("supervisor")
def index():
    return render_template("exports/index.html", formats=export_mod.FORMATS,
                           scopes=export_mod.SCOPES, amphoes=camera_db.rows_amphoes(get_db()))


@bp.get("/download")
@needs("supervisor")
def download():
    fmt, scope, amphoe = _args()
    if fmt == "pdf":  # in the browser the PDF is the print dialog of the sheets page
        return redirect(url_for("exports.district_sheets", scope=scope, amphoe=amphoe))
    if fmt not in MIME:
        raise BadInput("Unknown export format %(format)s (known: %(known)s)", format=fmt,
                       known=", ".join(export_mod.FORMATS))
    config = get_config()
    from datetime import datetime

    stamp = datetime.now(BANGKOK).strftime("%Y%m%d")
    name = f"cctv-{scope}{'-' + amphoe if amphoe else ''}-{stamp}.{SUFFIX[fmt]}"
    return send_written(
        lambda path: export_mod.export_file(get_db(), config, fmt, path, scope=scope,
                                            amphoe=amphoe),
        fmt, name, config.data_dir)


@bp.get("/sheet/<survey_id>")
@needs("supervisor")
def sheet(survey_id):
    return _render_sheets([survey_id], title_scope="")


@bp.get("/sheets")
@needs("supervisor")
def district_sheets():
    _fmt, scope, amphoe = _args()
    found = export_mod.records(get_db(), scope=scope, amphoe=amphoe)
    ids = [r["survey_id"] for r in found if r["survey_id"]][:MAX_SHEETS]
    if not ids:
        raise BadInput("No surveyed camera matches: there is no evidence sheet to print")
    return _render_sheets(ids, title_scope=amphoe)


def _render_sheets(ids: list[str], *, title_scope: str):
    labels = {"registered": gettext("Registered"), "surveyed": gettext("Surveyed")}
    return render_template(
        "exports/sheet.html", sheets=sheets.sheet_data(get_db(), get_config(), ids, labels),
        title_scope=title_scope, for_pdf=False, **sheets.sheet_labels(),
        image_url=lambda sha: url_for("devices.evidence_file", sha256=sha),
        static_url=lambda name: url_for("static", filename=name))


def _args() -> tuple[str, str, str]:
    fmt = request.args.get("format", "xlsx")
    scope = request.args.get("scope", "selected")
    if scope not in export_mod.SCOPES:
        raise BadInput("Export scope %(scope)r is not one of %(known)s", scope=scope,
                       known=", ".join(export_mod.SCOPES))
    return fmt, scope, request.args.get("amphoe", "").strip()[:100]
