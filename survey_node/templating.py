"""The web templates and catalogs, for pages rendered outside a request.

The evidence sheets printed to PDF use the same template as the browser's sheet page. They
are rendered here with a plain Jinja environment and the Thai/English catalogs, not by
building the web app: printing must not depend on (or import) the app factory.
"""

from __future__ import annotations

from pathlib import Path

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .streamcheck.verdict import LABELS as VERDICT_LABELS
from .thaidate import format_date

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def web_dir() -> Path:
    """Templates and static files: inside the installed package, or web/ in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "web"
    return packaged if (packaged / "templates").is_dir() else here.parent / "web"


def verdict_label(verdict: str | None, gettext) -> str:
    """The stream check's short label for a verdict code, through `gettext`."""
    return gettext(VERDICT_LABELS[verdict]) if verdict in VERDICT_LABELS else (verdict or "")


def catalog(language: str) -> Translations:
    """The compiled catalog of `language` (English ids need none: they are the text)."""
    return Translations.load(str(TRANSLATIONS_DIR), [language], domain="messages")


def template_environment(language: str, translations: Translations) -> Environment:
    """The web templates in `language` (its `catalog`), with the filters and helpers the
    sheets use."""
    env = Environment(loader=FileSystemLoader(str(web_dir() / "templates")),
                      autoescape=select_autoescape(["html", "xml"]),
                      extensions=["jinja2.ext.i18n"])
    # New-style gettext, as Flask-Babel installs it: `_("… %(n)s", n=…)` formats and escapes.
    env.install_gettext_translations(translations, newstyle=True)
    env.filters["thaidate"] = lambda v, with_time=False: format_date(v, language,
                                                                     with_time=with_time)
    env.globals.update(current_language=lambda: language,
                       verdict_label=lambda v: verdict_label(v, translations.gettext))
    return env
