"""What a request can reach: the node's config, its devices, one database connection and
the page's language.

Kept apart from the app factory (as Flask's tutorial keeps `get_db` in its own module) so
that views import these without importing `create_app`, and the factory can import the
views without a loop.
"""

from __future__ import annotations

from flask import current_app, g, has_request_context, session

from . import db as database
from .config import Config

LANGUAGES = ("th", "en")


def get_config() -> Config:
    return current_app.extensions["survey_config"]


def get_devices() -> dict:
    return current_app.extensions["survey_devices"]


def get_db():
    """One database connection per request, closed at teardown."""
    if "db" not in g:
        g.db = database.connect(get_config().db_path, migrate=False)
    return g.db


def close_db(exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def current_language() -> str:
    lang = session.get("lang") if has_request_context() else None
    return lang if lang in LANGUAGES else get_config().web.default_language
