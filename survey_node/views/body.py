"""The one way views read a JSON request body, so every endpoint answers a broken one alike."""

from __future__ import annotations

from flask import request

from ..errors import BadInput


def json_object(*, optional: bool = False) -> dict:
    """The body as a JSON object. With `optional`, a request that sends none (no body, or
    a form) reads as {} and takes the defaults; a body that is sent but is not a JSON
    object is one BadInput line, never silently the defaults."""
    if optional and (not request.is_json or not request.get_data(cache=True)):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("The request body must be a JSON object")
    return body
