"""The supervisor's dashboard page (charts drawn on the server as SVG)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext
from markupsafe import Markup

from .. import dashboard as dashboard_svc
from ..context import current_language, get_config, get_db
from ..charts import bars_svg, columns_svg, progress_svg, share_svg
from ..thaidate import THAI_MONTHS_SHORT
from .review import verdict_label
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


def stream_charts(data: dict) -> dict:
    """The charts a node's and the registry's dashboards share: working streams, the
    failures, surveys per day (from `dashboard.stream_summary` and `dashboard.per_day`)."""
    return {
        "share": Markup(share_svg(
            data["working_share"], title=gettext("Share of working streams"),
            caption=gettext("%(ok)s of %(n)s checked streams work", ok=data["working"],
                            n=data["checked"]))),
        "failures": Markup(bars_svg([(verdict_label(v), n, v) for v, n in data["failures"]],
                                    title=gettext("Stream check failures"))),
        "per_day": Markup(columns_svg([(_day(d), n) for d, n in data["per_day"]],
                                      title=gettext("Surveys completed per day"))),
    }


def _day(day) -> str:
    if current_language() == "th":
        return f"{day.day} {THAI_MONTHS_SHORT[day.month - 1]}"
    return day.strftime("%d %b")

