"""The printable A4 evidence sheet per camera (and a combined one for a district).

One Jinja template serves both the browser (print CSS, the page's own Print button) and
the CLI's PDF, which headless Chromium prints from the same HTML with the vendored Sarabun
font. Chromium rather than WeasyPrint: WeasyPrint's PDFs map Thai glyph clusters wrongly
(sara am, stacked tone marks), so text copied or extracted from them was wrong; Chromium's
are exact, and what the PDF shows is what the browser's print shows.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from sqlite_utils import Database

from . import review as review_svc
from .charts import mini_map_svg
from .config import Config
from .db import reviews as review_db
from .db import users as user_db
from .errors import BadInput, DeviceUnavailable
from .i18n import N_
from .survey import PHOTO_ROLES
from .templating import catalog, template_environment, web_dir
from .thaidate import BANGKOK

# Where a position came from, as an office reads it (the codes stay in the data).
POSITION_SOURCE_LABELS = {"gpsd": N_("the node's GPS"), "replay": N_("recorded GPS (demo)"),
                          "tablet": N_("the tablet's GPS"), "manual": N_("typed by hand")}
EPH_SOURCE_LABELS = {"gst": N_("measured by the receiver (GST)"),
                     "receiver": N_("measured by the receiver"),
                     "estimated": N_("estimated from HDOP, not measured")}

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--allow-file-access-from-files",
                  "--disable-extensions", "--mute-audio")


def sheet_data(db: Database, config: Config, survey_ids: list[str], labels: dict[str, str]) -> list[dict]:
    """What each sheet shows: the review page's data, the decision and a small map."""
    out = []
    names: dict[str, str] = {}

    def person(login: str | None) -> str:
        """A person by the name they are known by, not their login."""
        if not login:
            return ""
        if login not in names:
            user = user_db.get_user_by_name(db, login)
            names[login] = (user or {}).get("display_name") or login
        return names[login]

    for survey_id in survey_ids:
        view = review_svc.compare(db, config, survey_id)
        cam, s = view["camera"] or {}, view["survey"]
        view["decision"] = review_db.get_latest_review(db, survey_id)
        view["surveyor_name"] = person(s.get("surveyor"))
        view["reviewer_name"] = person((view["decision"] or {}).get("reviewer"))
        view["map_svg"] = mini_map_svg(
            (cam.get("registered_lat"), cam.get("registered_lon")) if cam else None,
            (s["lat"], s["lon"]), s["eph"], labels=labels)
        out.append(view)
    return out


def sheet_labels() -> dict:
    """The label tables the sheet template reads (the same for the browser and the PDF)."""
    import datetime as dt

    return {"flags": review_svc.FLAGS, "decisions": review_svc.DECISIONS,
            "photo_roles": PHOTO_ROLES, "position_sources": POSITION_SOURCE_LABELS,
            "eph_sources": EPH_SOURCE_LABELS, "printed_at": dt.datetime.now(BANGKOK)}


def write_pdf(db: Database, config: Config, survey_ids: list[str], out: Path, *,
              title_scope: str = "") -> None:
    """Render the sheets of these surveys to one PDF file at `out`."""
    if not survey_ids:
        raise BadInput("No surveyed camera matches: there is no evidence sheet to print")
    language = config.web.default_language
    translations = catalog(language)
    env = template_environment(language, translations)
    gettext = translations.gettext
    static = web_dir() / "static"
    store = config.evidence_dir
    with tempfile.TemporaryDirectory(prefix="sheets-", dir=config.data_dir) as tmp:
        labels = {"registered": gettext("Registered"), "surveyed": gettext("Surveyed")}
        html = env.get_template("exports/sheet.html").render(
            sheets=sheet_data(db, config, survey_ids, labels),
            title_scope=title_scope, for_pdf=True, node_config=config, **sheet_labels(),
            image_url=lambda sha: (store / sha[:2] / sha).resolve().as_uri(),
            static_url=lambda name: (static / name).resolve().as_uri())
        page = Path(tmp) / "sheets.html"
        page.write_text(html, encoding="utf-8")
        print_to_pdf(config, page, out, profile=Path(tmp) / "profile",
                     timeout=config.exports.pdf_timeout_s + 2 * len(survey_ids))


def print_to_pdf(config: Config, page: Path, out: Path, *, profile: Path, timeout: float) -> None:
    """Headless Chromium prints `page` to `out`; killed (whole process group) past `timeout`."""
    browser = shutil.which(config.exports.chromium) or (
        config.exports.chromium if os.path.exists(config.exports.chromium) else None)
    if browser is None:
        raise DeviceUnavailable("Chromium (%(name)s) is needed to print PDF sheets and is not "
                                "installed", name=config.exports.chromium)
    out = Path(out).resolve()
    out.unlink(missing_ok=True)
    cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
           f"--print-to-pdf={out}", page.resolve().as_uri()]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeviceUnavailable("Printing the PDF took longer than %(s)s s and was stopped",
                                s=int(timeout)) from None
    finally:
        # Never leave a browser (or one of its helper processes) behind.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        last = (err or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise DeviceUnavailable("Chromium could not print the PDF: %(why)s", why=last[0][:200])


def _register_doctor_check() -> None:
    from .doctor import Check, check

    @check
    def pdf_printer(config: Config) -> Check:
        """PDF evidence sheets need Chromium; the browser's own print works without it."""
        name = config.exports.chromium
        found = shutil.which(name) or (name if os.path.exists(name) else None)
        if found:
            return Check("pdf", "ok", f"{found} prints PDF evidence sheets")
        return Check("pdf", "warn", f"{name} not found: `export --format pdf` cannot print",
                     "Install chromium (apt-get install chromium), or print the sheets"
                     " from a browser.",
                     "ติดตั้ง chromium (apt-get install chromium) หรือสั่งพิมพ์แบบรายงานจากเบราว์เซอร์")


_register_doctor_check()
