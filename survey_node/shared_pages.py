"""What the node's pages and the registry's review pages share: the history's action names,
verdict labels, the decision form, the dashboard's stream charts, safe redirects and sending
a written file as a download. Both web layers import this; neither imports the other.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from flask import flash, redirect, request, send_file, url_for
from flask_babel import gettext
from markupsafe import Markup

from . import review as review_svc
from . import templating
from .charts import bars_svg, columns_svg, share_svg
from .context import current_language
from .errors import SurveyNodeError
from .i18n import N_
from .thaidate import THAI_MONTHS_SHORT

MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
        "kml": "application/vnd.google-earth.kml+xml", "evidence-zip": "application/zip"}

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


def safe_next(target: str | None, default_endpoint: str = "cameras.index") -> str:
    """Only a path on this node: never an absolute URL that leaves it."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//"):
            return target
    return url_for(default_endpoint)


def send_written(write, fmt: str, name: str, folder: Path):
    """Send the file `write(path)` makes, as a download; the file is gone once sent."""
    tmp = tempfile.NamedTemporaryFile(prefix="export-", dir=folder, delete=False)
    tmp.close()
    path = Path(tmp.name)
    try:
        write(path)
        sent = open(path, "rb")
    finally:
        path.unlink(missing_ok=True)  # an open handle keeps the bytes until they are sent
    return send_file(sent, mimetype=MIME[fmt], as_attachment=True, download_name=name,
                     max_age=0)
