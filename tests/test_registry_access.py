"""Every route of the central registry needs its credentials: a node token for the sync API,
a supervisor's session for the review pages (a test walks the URL map)."""

import re

from survey_node import config as config_mod
from survey_node.sync.server import create_registry_app

PUBLIC = {"static", "healthz", "openapi", "registry_review.login"}


def _path(rule) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "a" * 64 if m.group(1) == "sha256" else "x",
                  rule.rule)


def test_every_registry_route_needs_a_token_or_a_session(tmp_path):
    app = create_registry_app(config_mod.load(tmp_path / "registry"))
    client = app.test_client()
    # A real form token (from the login page): a refusal must come from the missing login,
    # not from a missing CSRF token.
    page = client.get("/review/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_path(rule), method=method,
                                   headers={"Authorization": "Bearer nobody.nothing"},
                                   data={"csrf_token": token} if method == "POST" and
                                   not rule.rule.startswith("/api/") else None)
            if rule.rule.startswith("/api/"):
                assert response.status_code == 401, (rule.rule, method, response.status_code)
                assert response.json["error"]
            else:
                assert response.status_code in (302, 401, 403), (rule.rule, method)
                if response.status_code == 302:
                    assert "/review/login" in response.headers["Location"]
            checked += 1
    assert checked >= 10
