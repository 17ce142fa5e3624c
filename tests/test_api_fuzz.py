"""Fuzz the node's JSON API from its OpenAPI document (schemathesis): never a server error.

Runs against the real server in a subprocess, logged in as the demo surveyor, with CSRF on.
"""

import json
import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from survey_node.openapi import openapi_document

from .live import running_node


def _fuzzed_document() -> dict:
    document = openapi_document()
    # An average waits the seconds it is asked for (up to a minute): the fuzzer picks any
    # length the schema allows, but only short ones (and fewer examples, SLOW below), so
    # the run stays within seconds.
    for path in ("/api/v1/gps/average", "/api/v1/surveys/{survey_id}/position/fix"):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        body["schema"]["properties"]["seconds"]["maximum"] = 1.5
    return document


schema = schemathesis.openapi.from_dict(_fuzzed_document())
# One test per operation, each with its own id ("GET /api/v1/me"): schemathesis's own pytest
# items share one node id, which pytest-xdist counts as one test (24 of 25 went unrun).
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
SLOW = {"POST /api/v1/gps/average": 6}


@pytest.fixture(scope="module")
def logged_in(tmp_path_factory):
    from click.testing import CliRunner

    from survey_node.cli import main

    root = tmp_path_factory.mktemp("fuzz") / "node"
    CliRunner().invoke(main, ["demo", "--no-serve", "--data-dir", str(root)])
    pins = {u["name"]: u["pin"] for u in json.loads((root / "demo-users.json").read_text())}
    # No wired port: the fuzzed discover and stream-find calls must not probe this
    # machine's own LAN or put addresses on its Ethernet port.
    # The replay GPS and the fake camera, so averaging a position and taking a photo run
    # their handlers instead of answering "no device" (503) to every fuzzed request.
    env = {"SURVEY_NODE_WIRED__INTERFACE": "sn-nowire0",
           "SURVEY_NODE_GPS__BACKEND": "replay", "SURVEY_NODE_GPS__MIN_FIXES": "1",
           "SURVEY_NODE_GPS__EXTRA_WAIT_S": "0",
           "SURVEY_NODE_GPS__AVERAGE_S": "1", "SURVEY_NODE_CAMERA__BACKEND": "fake"}
    with running_node(root, env=env) as base:
        session = requests.Session()
        page = session.get(f"{base}/login", timeout=5).text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        session.post(f"{base}/login", data={"name": "surveyor", "pin": pins["surveyor"],
                                            "csrf_token": token}, timeout=5)
        assert session.get(f"{base}/api/v1/me", timeout=5).json()["name"] == "surveyor"
        # Logging in starts a new session with its own token: the login page's would have
        # every fuzzed POST and PUT refused by the CSRF check before its handler ran.
        session.headers["X-CSRFToken"] = _csrf_token(session, base)
        yield base, session


def _csrf_token(session, base) -> str:
    page = session.get(f"{base}/", timeout=5).text
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_api_never_answers_with_a_server_error(operation, logged_in):
    base, session = logged_in

    @given(case=operation.as_strategy())
    @settings(max_examples=SLOW.get(operation.label, 25), deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    def never_a_server_error(case):
        response = case.call(base_url=base, session=session, timeout=15)
        assert response.status_code < 500, (case.method, case.formatted_path,
                                            response.text[:300])
        if response.status_code >= 400:
            body = response.json()
            assert body["error"] and body["message"], body
            # Reached its handler: a refused token would make every case pass unexamined.
            assert body["error"] != "csrf", body

    never_a_server_error()


JSON_BODIES = [(method.upper(), path) for path, ops in openapi_document()["paths"].items()
               for method, op in ops.items()
               if isinstance(op, dict) and "application/json" in
               op.get("requestBody", {}).get("content", {})]


@pytest.mark.parametrize("method,path", JSON_BODIES, ids=[f"{m} {p}" for m, p in JSON_BODIES])
def test_a_body_nested_past_the_parsers_limit_is_bad_input(method, path, logged_in):
    # Python's JSON parser recurses per level: 100,000 `[` raise RecursionError, which
    # Flask's get_json(silent=True) does not catch. It must be malformed input (4xx, one
    # line), not a 500, on every endpoint that reads a JSON body.
    base, session = logged_in
    url = base + re.sub(r"\{[^}]+\}", "x", path)
    response = session.request(method, url, data=b"[" * 100_000, timeout=40,
                               headers={"Content-Type": "application/json"})
    body = response.json()
    assert body["error"] != "csrf", body
    assert 400 <= response.status_code < 500, (method, path, response.status_code,
                                               response.text[:300])
    assert body["error"] and body["message"] and "\n" not in body["message"], body

