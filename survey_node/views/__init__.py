"""Blueprints per area, registered on the node's app with the guard every route passes
and the one error handler (views/guard.py)."""

from __future__ import annotations

from flask import Flask

from . import (admin, api, auth, cameras, dashboard, devices, exports, imports, review,
               selection, streamcheck, survey_api, survey_devices, survey_pages, sync)
from .guard import handle_error, require_login, security_headers


def register_blueprints(app: Flask) -> None:
    for module in (auth, cameras, admin, imports, api, devices, selection, streamcheck,
                   survey_api, survey_devices, survey_pages, sync, review, dashboard, exports):
        app.register_blueprint(module.bp)
    app.before_request(require_login)
    app.register_error_handler(Exception, handle_error)
    app.after_request(security_headers)
