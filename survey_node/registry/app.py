"""The central registry's HTTP API: a Flask app factory over the registry services.

Every endpoint but ``/healthz`` and ``/api/v1/openapi.json`` needs a node's bearer token.
Errors are one JSON object ``{"error": code, "message": one line, ...details}`` with the
matching status (400 bad input, 401 token, 403 wrong node, 404, 409 conflict, 413 too
large, 507 disk full with a Retry-After); never an HTML page, never a traceback.

The registry is meant to sit behind a TLS-terminating reverse proxy (README, "Central
registry"); it speaks plain HTTP itself.
"""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, g, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from .. import json_input
from ..config import Config
from ..db import ping
from ..diskspace import is_disk_full
from ..errors import BadInput, DiskFull, SurveyNodeError, TooLarge, message_of
from ..i18n import N_
from .openapi import openapi_document
from .service import MAX_MANIFEST_BYTES, Registry
from .views import install as install_review

log = logging.getLogger(__name__)
PUBLIC = {"healthz", "readyz", "openapi", "home"}
CHUNK = 1 << 20
REGISTRY_DISK_FULL = N_("The registry's disk is full, so nothing was stored; it asks to send"
                        " again later")
DISK_FULL_RETRY_AFTER_S = 60  # room comes back when a person frees it, not in seconds


def create_registry_app(config: Config, *, registry: Registry | None = None) -> Flask:
    app = Flask("survey_node.registry")
    registry = registry or Registry(config)
    registry.store.prepare()
    app.extensions["registry"] = registry
    # Held open so SQLite's -wal/-shm stay and the registry still reads on a full disk.
    app.extensions["registry_db_keeper"] = registry.store.hold()

    @app.before_request
    def _hold_one_connection():
        g.registry_connection = contextlib.ExitStack()
        g.registry_connection.enter_context(registry.one_connection())

    @app.teardown_request
    def _release_the_connection(_exc):
        held = g.pop("registry_connection", None)
        if held is not None:
            held.close()

    @app.before_request
    def _authenticate():
        g.node_id = None
        if request.endpoint in PUBLIC or request.endpoint is None or request.endpoint == "static" \
                or request.blueprint == "registry_review":
            return None  # the review pages log supervisors in with a session instead
        try:
            g.node_id = registry.authenticate(request.headers.get("Authorization"))
        except SurveyNodeError as exc:
            registry.note_refusal(None, f"{request.method} {request.path}: {exc.line()}")
            raise
        return None

    @app.get("/")
    def home():
        """A person who opens the registry's address lands on its review pages."""
        return redirect("/review/")

    @app.get("/healthz")
    def healthz():
        """Liveness: this process answers and reaches its database."""
        with registry.db() as db:
            ping(db)
        return jsonify(status="ok", role="registry")

    @app.get("/readyz")
    def readyz():
        """Readiness, for a proxy or load balancer: the database (with its schema up to
        date) and the evidence store both answer; 503 names the part that does not."""
        parts = registry.store.check()
        ready = all(v == "ok" for v in parts.values())
        return jsonify(status="ok" if ready else "unavailable", role="registry",
                       backend=registry.store.kind, **parts), 200 if ready else 503

    @app.get("/api/v1/openapi.json")
    def openapi():
        return jsonify(openapi_document())

    @app.post("/api/v1/batches")
    def post_batch():
        if (request.content_length or 0) > MAX_MANIFEST_BYTES:
            raise TooLarge("The manifest is larger than %(limit)s bytes", limit=MAX_MANIFEST_BYTES)
        manifest = _json_body()
        return jsonify(registry.receive_batch(g.node_id, manifest))

    @app.put("/api/v1/evidence/<sha256>")
    def put_evidence(sha256):
        stream = request.stream
        chunks = iter(lambda: stream.read(CHUNK), b"")
        return jsonify(registry.put_evidence(g.node_id, sha256, chunks, request.content_length))

    @app.post("/api/v1/batches/<batch_id>/commit")
    def commit(batch_id):
        return jsonify(registry.commit_batch(g.node_id, batch_id))

    @app.get("/api/v1/cameras")
    def cameras():
        return jsonify(registry.cameras_since(g.node_id, request.args.get("province", "").strip(),
                                              _since()))

    @app.get("/api/v1/decisions")
    def decisions():
        return jsonify(registry.decisions_since(g.node_id, request.args.get("node", "").strip(),
                                                _since()))

    @app.post("/api/v1/decisions")
    def post_decisions():
        """Review decisions made on the node (see Registry.receive_node_decisions)."""
        if (request.content_length or 0) > MAX_MANIFEST_BYTES:
            raise TooLarge("The manifest is larger than %(limit)s bytes", limit=MAX_MANIFEST_BYTES)
        return jsonify(registry.receive_node_decisions(g.node_id, _json_body()))

    @app.get("/api/v1/history")
    def history():
        """This node's sync history as the registry saw it."""
        return jsonify(events=registry.history(g.node_id))

    app.register_error_handler(Exception, _problem)

    install_review(app, config, registry)
    return app


def _json_body():
    try:
        return json_input.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadInput("The request body is not valid JSON") from None


def _since() -> int:
    raw = request.args.get("since", "0").strip() or "0"
    if not raw.isdigit():
        raise BadInput("since must be a whole number (the next_since of the last answer)")
    return int(raw)


def _problem(exc: Exception):
    if isinstance(exc, SurveyNodeError):
        # The English line for anyone, and the message id and its parameters for a node,
        # which shows them in its user's language.
        body = {"error": exc.code, "message": exc.line(), "translatable": message_of(exc),
                **getattr(exc, "extra", {})}
        response = jsonify(body)
        if getattr(exc, "retry_after", None):  # busy (database pool, bucket): ask again soon
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, exc.status
    if isinstance(exc, HTTPException):
        return jsonify(error=exc.name.lower().replace(" ", "_"),
                       message=exc.description or exc.name), exc.code or 400
    if is_disk_full(exc):
        # The writer removed its temp file and SQLite rolled back: nothing half-stored. The
        # node is told so (in words it can translate) and when to ask again, so it does not
        # resend whole files into a disk that stays full until someone frees it.
        log.warning("disk full on %s %s: %s", request.method, request.path, exc)
        full = DiskFull(REGISTRY_DISK_FULL)
        response = jsonify(error=full.code, message=full.line(), translatable=message_of(full))
        response.headers["Retry-After"] = str(DISK_FULL_RETRY_AFTER_S)
        return response, full.status
    log.exception("unhandled error on %s %s", request.method, request.path)
    return jsonify(error="internal", message="Internal error in the registry; it is logged"), 500
