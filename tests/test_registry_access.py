"""Every route of the central registry needs its credentials: a node token for the sync API,
a supervisor's session for the review pages (a test walks the URL map)."""

import re

import pytest

from survey_node import config as config_mod
from survey_node.registry.app import create_registry_app

PUBLIC = {"static", "healthz", "readyz", "openapi", "registry_review.login", "home",
          "registry_review.set_language"}  # a redirect to the login, a language cookie

pytestmark = pytest.mark.usefixtures("registry_backend")


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


def test_a_nodes_token_reads_only_its_own_provinces_cameras(tmp_path, cli):
    from survey_node.registry.service import Registry

    registry = Registry(config_mod.load(tmp_path / "registry"))
    registry.import_cameras([
        {"camera_id": "KR-1", "site_name": "แยกโคราช", "province_code": "30"},
        {"camera_id": "CM-1", "site_name": "ประตูท่าแพ", "province_code": "50",
         "stream_url": "rtsp://admin:secret@10.50.0.1/1"}])
    client = create_registry_app(registry.config, registry=registry).test_client()
    made = cli("registry", "token", "add", "node-korat", "--province", "นครราชสีมา",
               "--data-dir", tmp_path / "registry")
    assert made.exit_code == 0, made.output
    korat = {"Authorization": "Bearer " + made.output.split()[-1]}
    mine = client.get("/api/v1/cameras?since=0", headers=korat)
    assert [c["camera_id"] for c in mine.json["cameras"]] == ["KR-1"]
    # Asking for another province is refused in one line, and shows none of its cameras.
    other = client.get("/api/v1/cameras?province=50&since=0", headers=korat)
    assert other.status_code == 403 and "30" in other.json["message"]
    assert "CM-1" not in other.get_data(as_text=True)
    # A node whose token named no province reads no province's cameras.
    bare = {"Authorization": "Bearer " + registry.add_token("node-old")}
    refused = client.get("/api/v1/cameras?since=0", headers=bare)
    assert refused.status_code == 403 and "--province" in refused.json["message"]
    assert "CM-1" not in refused.get_data(as_text=True)
