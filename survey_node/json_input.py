"""JSON that comes from outside (a request body, a batch or receipt file, a clerk's file).

Python's parser recurses once per nesting level, so a few thousand `[` in a row raise
RecursionError, which is not a ValueError: every `except ValueError` around `json.loads`,
and Flask's `get_json(silent=True)`, let it through as a traceback or a 500. Here it is the
JSONDecodeError (a ValueError) that those callers already turn into one clear line.
"""

from __future__ import annotations

import json


def loads(data: str | bytes, **kwargs):
    try:
        return json.loads(data, **kwargs)
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None
