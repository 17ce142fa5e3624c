"""The Flask application factory: a thin skin over the services."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import db as database
from . import jobs
from .config import Config
from .context import close_db
from .diskspace import is_disk_full
from .views import register_blueprints
from .webapp import configure_web_app


class SQLiteIntConverter(IntegerConverter):
    """`<int:...>` limited to what an SQLite INTEGER holds."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


log = logging.getLogger(__name__)


def create_app(config: Config, *, devices: dict | None = None, testing: bool = False) -> Flask:
    """Build the node's web app.

    `devices` holds the hardware backends (gps, camera, ...) chosen from the config;
    tests and the demo pass fakes with the same interface.
    """
    app = Flask(__name__)
    configure_web_app(app, config)  # templates, static files, sessions, CSRF, Babel
    app.config.update(
        MAX_CONTENT_LENGTH=config.web.max_upload_mb * 1024 * 1024,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        TESTING=testing,
    )
    # Integers in URLs are row ids: one past SQLite's range is "not found", not a crash.
    app.url_map.converters["int"] = SQLiteIntConverter
    app.extensions["survey_devices"] = devices or {}
    app.teardown_appcontext(close_db)
    register_blueprints(app)

    # Migrations run here, once: a request's connection skips them (checking them cost a
    # third of a worklist request's time under load).
    startup_db = database.connect(config.db_path)
    try:
        repaired = jobs.reap_interrupted(startup_db)
    except Exception as exc:
        if not is_disk_full(exc):
            startup_db.close()
            raise
        # A node that starts on a full disk still serves pages (and a sync can free space).
        log.warning("disk full at startup: interrupted jobs are marked failed later")
        repaired = 0
    # Kept, not closed: it keeps SQLite's -wal/-shm files so pages still read on a full disk.
    app.extensions["survey_db_keeper"] = database.hold_open(startup_db)
    if repaired:
        log.warning("marked %d interrupted job(s) as failed", repaired)
    return app


