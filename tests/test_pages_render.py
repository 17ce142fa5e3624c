"""Every page without URL parameters renders for every role, in Thai and in English.

A message id with a bare "%" rendered in Thai (its translation has none) but was a 500 in
English; this walks the URL map so a new page is covered the day it is added."""

from __future__ import annotations

import pytest

from tests.conftest import AuthActions

SKIP = {"auth.logout", "static"}  # logout ends the session the walk needs


def _pages(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint in SKIP:
            continue
        if rule.rule.startswith("/api/") or rule.rule.endswith((".json", ".csv", ".xlsx")):
            continue
        yield rule.rule


@pytest.mark.parametrize("lang", ["th", "en"])
@pytest.mark.parametrize("role", ["surveyor", "supervisor", "admin"])
def test_every_page_renders_for_every_role_in_both_languages(app, client, role, lang):
    AuthActions(client).login(role)
    client.post("/language", data={"lang": lang, "next": "/"})
    broken, walked = [], 0
    for path in _pages(app):
        response = client.get(path)
        walked += 1
        if response.status_code >= 500 or response.status_code == 404:
            broken.append(f"{path}: {response.status_code}")
        elif response.status_code == 400:  # a download that needs its form's fields
            assert "Traceback" not in response.get_data(as_text=True), path
        elif response.status_code == 200 and response.mimetype == "text/html":
            page = response.get_data(as_text=True)
            assert f'lang="{lang}"' in page, path
    assert walked > 15
    assert broken == []
