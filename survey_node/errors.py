"""The few exception classes the services raise.

A service says *what* went wrong in one English line (the message id) with named
parameters; the web layer translates the message id through the Babel catalog (Thai by
default) and the CLI prints it as is. Nothing here knows about Flask.
"""

from __future__ import annotations


class SurveyNodeError(Exception):
    """Base class: a problem a user can understand and act on."""

    status = 400
    code = "error"
    field: str | None = None  # the input the problem is about, for a client to point at

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(self.line())

    def at(self, field: str) -> "SurveyNodeError":
        """The same error, naming the request field it is about (``raise BadInput(...).at(
        "reason")``): an API answer carries it so the page shows the line by that control."""
        self.field = field
        return self

    def line(self, translate=None) -> str:
        """The one-line message, optionally through a gettext-like `translate`.

        A parameter given as a list holds message ids too: each is translated and they
        are joined with "; " (e.g. the things a survey still lacks). One given as
        ``{"message": id, "params": {...}}`` is a whole message of its own (e.g. what the
        central registry answered), translated the same way.
        """
        text = translate(self.message) if translate else self.message
        params = {key: _param(value, translate) for key, value in self.params.items()}
        try:
            return text % params if params else text
        except (KeyError, ValueError, TypeError):
            return self.message


def _param(value, translate):
    if isinstance(value, (list, tuple)):
        return "; ".join((translate(v) if translate else v) for v in value)
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        nested_id = value["message"]  # (a variable: the catalog extractor reads literals)
        return SurveyNodeError(nested_id, **(value.get("params") or {})).line(translate)
    return value


def message_of(exc: SurveyNodeError) -> dict:
    """The error as JSON-safe data another process can translate and show:
    ``{"message": id, "params": {...}}`` (see `line`)."""
    return {"message": exc.message,
            "params": {k: v if isinstance(v, (int, float, list, dict)) or v is None else str(v)
                       for k, v in exc.params.items()}}


class BadInput(SurveyNodeError):
    """The user gave something we cannot use (a file, a field, an argument)."""

    status = 400
    code = "bad_input"


class NotFound(SurveyNodeError):
    status = 404
    code = "not_found"


class Conflict(SurveyNodeError):
    status = 409
    code = "conflict"


class Forbidden(SurveyNodeError):
    status = 403
    code = "forbidden"


class TooManyAttempts(SurveyNodeError):
    status = 429
    code = "too_many_attempts"


class ConfigError(SurveyNodeError):
    """The config file or an environment override is wrong."""

    status = 500
    code = "config"


class DeviceUnavailable(SurveyNodeError):
    """A device (GPS, camera) is not there or not answering; a state, shown to the user."""

    status = 503
    code = "device_unavailable"


class Unauthorized(SurveyNodeError):
    """A request without valid credentials (the registry's bearer tokens)."""

    status = 401
    code = "unauthorized"


class TooLarge(SurveyNodeError):
    """Something bigger than the configured limit (an upload, a batch)."""

    status = 413
    code = "too_large"


class DiskFull(SurveyNodeError):
    """The data disk has no room left for what was being written (nothing was kept)."""

    status = 507
    code = "disk_full"


class Busy(SurveyNodeError):
    """The node cannot take this now (its memory budget is in use); the client retries.

    `retry_after` (seconds) becomes the answer's Retry-After header."""

    status = 503
    code = "busy"

    def __init__(self, message: str, *, retry_after: int = 5, **params: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **params)
