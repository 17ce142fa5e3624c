"""What the node's app and the registry's review pages set up the same way: the templates,
sessions, Babel (Thai first), CSRF and the Jinja helpers; and who is logged in.

One place, so that the two products cannot drift apart on cookie flags, CSRF or language.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask, session
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from . import json_input
from .config import Config
from .context import current_language
from .db import users as user_db
from .templating import TRANSLATIONS_DIR, web_dir
from .thaidate import format_date


class InputJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies with json_input: a body nested too deeply is
    malformed JSON (400, or None from get_json(silent=True)), not a 500."""

    def loads(self, s, **kwargs):
        return json_input.loads(s, **kwargs)


def configure_web_app(app: Flask, config: Config, *, check_csrf: bool = True) -> None:
    """Templates, sessions, Babel, CSRF and the template helpers on `app`. With `check_csrf`
    off, CSRF is checked only where a view calls `protect()` (the registry's token API
    shares its app with the review pages; they call `app.extensions["csrf"].protect()`)."""
    root = web_dir()
    app.template_folder = str(root / "templates")
    app.static_folder = str(root / "static")
    app.config.update(
        SECRET_KEY=config.secret("flask_secret_key"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.web.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.web.session_hours),
        WTF_CSRF_CHECK_DEFAULT=check_csrf,
        WTF_CSRF_TIME_LIMIT=None,  # a form left open on a tablet all day must still submit
        BABEL_DEFAULT_LOCALE=config.web.default_language,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS_DIR),
    )
    app.extensions["survey_config"] = config
    app.json = InputJSONProvider(app)
    Babel(app, locale_selector=current_language)
    CSRFProtect(app)
    app.jinja_env.filters["thaidate"] = lambda v, with_time=False: format_date(
        v, current_language(), with_time=with_time)
    app.jinja_env.globals.update(current_language=current_language, node_config=config)


def session_user(db, key: str) -> dict | None:
    """The user this session belongs to (its id kept under `key`), or None; a session
    from before a PIN change or a removal is ended here."""
    user_id = session.get(key)
    if user_id is None:
        return None
    user = user_db.get_user(db, user_id)
    if user_db.session_is_current(user, session.get("v")):
        return user
    session.clear()
    return None
