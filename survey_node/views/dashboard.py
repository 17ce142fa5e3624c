"""The supervisor's dashboard page (charts drawn on the server as SVG)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext
from markupsafe import Markup

from .. import dashboard as dashboard_svc
from ..context import get_config, get_db
from ..charts import progress_svg
from ..shared_pages import stream_charts
from .guard import needs

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
@needs("supervisor")
def index():
    data = dashboard_svc.compute(get_db(), get_config())
    labels = {"target": gettext("Target"), "selected": gettext("Selected"),
              "surveyed": gettext("Surveyed"), "approved": gettext("Approved")}
    charts = {
        level: Markup(progress_svg(data[level]["rows"], labels=labels, title=title))
        for level, title in (("amphoe", gettext("Progress per district against the target")),
                             ("agency", gettext("Progress per agency against the target")))
    }
    charts.update(stream_charts(data))
    return render_template("dashboard.html", data=data, charts=charts)
