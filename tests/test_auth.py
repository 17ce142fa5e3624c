"""Login, sessions, roles and the PIN rate limit, through the real app."""

import re

import pytest

from survey_node import accounts
from survey_node.errors import BadInput, TooManyAttempts

from .conftest import PINS

# Endpoints a visitor may reach without logging in.
PUBLIC = {"auth.login", "auth.set_language", "api.healthz", "static"}


def _sample_path(rule) -> str:
    """A concrete URL for a rule, filling each <converter:arg> with a plausible value."""
    def fill(match):
        converter = match.group(1) or ""
        return "1" if converter.startswith("int") else "x" * 64 if "sha" in match.group(2) else "x"
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_but_public_ones_needs_a_session(app, client):
    checked = 0
    for rule, method in _routes(app):
        if rule.endpoint in PUBLIC:
            continue
        response = client.open(_sample_path(rule), method=method)
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401, (rule.rule, method, response.status_code)
            assert response.json["error"] == "login_required"
        else:
            assert response.status_code == 302, (rule.rule, method, response.status_code)
            assert "/login" in response.headers["Location"]
        checked += 1
    assert checked >= 3


def test_admin_routes_need_admin(app, client, auth):
    auth.login("surveyor")
    admin_rules = [(r, m) for r, m in _routes(app) if r.rule.startswith("/admin")]
    assert admin_rules
    for rule, method in admin_rules:
        response = client.open(_sample_path(rule), method=method)
        assert response.status_code == 403, (rule.rule, method)
    auth.logout()
    auth.login("admin")
    assert client.get("/admin/users").status_code == 200


def test_login_then_home_lists_cameras(client, auth):
    response = auth.login("surveyor")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "กล้อง" in page  # Thai by default


def test_wrong_pin_is_refused_in_thai(client):
    response = client.post("/login", data={"name": "surveyor", "pin": "000000"})
    assert response.status_code == 400
    assert "ชื่อผู้ใช้หรือ PIN ไม่ถูกต้อง" in response.get_data(as_text=True)


def test_five_wrong_pins_lock_the_user_even_with_the_right_pin(client):
    for _ in range(4):
        client.post("/login", data={"name": "surveyor", "pin": "000000"})
    fifth = client.post("/login", data={"name": "surveyor", "pin": "000000"})
    assert fifth.status_code == 429
    assert "ใส่ PIN ผิดเกินกำหนด" in fifth.get_data(as_text=True)
    right = client.post("/login", data={"name": "surveyor", "pin": PINS["surveyor"]})
    assert right.status_code == 429
    assert client.get("/").status_code == 302  # still not logged in


def test_lockout_is_per_client_too(db, config, users):
    # Guessing across user names from one client is also stopped.
    for name in ["a1", "a2", "a3", "a4"]:
        with pytest.raises(BadInput):
            accounts.authenticate(db, config.security, name=name, pin="1", client="10.0.0.9")
    with pytest.raises(TooManyAttempts):
        accounts.authenticate(db, config.security, name="a5", pin="1", client="10.0.0.9")
    with pytest.raises(TooManyAttempts):
        accounts.authenticate(db, config.security, name="admin", pin=PINS["admin"],
                              client="10.0.0.9")
    # Another tablet is not affected.
    user = accounts.authenticate(db, config.security, name="admin", pin=PINS["admin"],
                                 client="10.0.0.10")
    assert user["role"] == "admin"


def test_login_is_audited(db, config, users):
    accounts.authenticate(db, config.security, name="supervisor", pin=PINS["supervisor"],
                          client="127.0.0.1")
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert "user.login" in actions and actions.count("user.add") == 3


def test_logout_ends_the_session(client, auth):
    auth.login("surveyor")
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_next_parameter_cannot_leave_the_node(client):
    response = client.post("/login?next=https://evil.example/", data={
        "name": "surveyor", "pin": PINS["surveyor"]})
    assert response.headers["Location"] == "/"


def test_api_errors_are_json_and_pages_are_thai(client, auth):
    auth.login("surveyor")
    api = client.get("/api/v1/nope")
    assert api.status_code == 404 and api.json["error"] == "not_found"
    page = client.get("/nope")
    assert page.status_code == 404 and "ไม่พบหน้านี้" in page.get_data(as_text=True)


def test_bad_paging_input_is_not_a_500(client, auth):
    auth.login("surveyor")
    assert client.get("/?page=abc").status_code == 200
    bad = client.get("/api/v1/cameras?limit=lots")
    assert bad.status_code == 400 and "limit" in bad.json["message"]


def test_csrf_is_enforced_when_enabled(config, users):
    from survey_node.app import create_app

    app = create_app(config, testing=True)  # CSRF on, as in production
    client = app.test_client()
    response = client.post("/login", data={"name": "surveyor", "pin": PINS["surveyor"]})
    assert response.status_code == 400
    assert "หมดอายุ" in response.get_data(as_text=True)


def test_admin_adds_a_user_and_bad_input_is_one_thai_line(client, auth):
    auth.login("admin")
    ok = client.post("/admin/users", data={"name": "somchai", "display_name": "สมชาย",
                                           "role": "surveyor", "pin": "5678"})
    assert ok.status_code == 302
    bad = client.post("/admin/users", data={"name": "somsri", "role": "surveyor", "pin": "12"})
    assert bad.status_code == 400
    assert "PIN ต้องเป็นตัวเลข" in bad.get_data(as_text=True)


def test_english_switch(client, auth):
    auth.login("surveyor")
    client.post("/language", data={"lang": "en", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "Cameras" in page and "Log out" in page


def _at(minutes: float):
    import datetime as dt

    return dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=minutes)


def _try(db, config, pin, minutes, client="10.0.0.7"):
    return accounts.authenticate(db, config.security, name="admin", pin=pin, client=client,
                                 now=_at(minutes))


def test_a_lockout_decays_and_stray_wrong_pins_do_not_lock_for_good(db, config, users):
    for _ in range(4):
        with pytest.raises(BadInput):
            _try(db, config, "0000", 0)
    with pytest.raises(TooManyAttempts):
        _try(db, config, "0000", 0)
    with pytest.raises(TooManyAttempts):  # locked: even the right PIN
        _try(db, config, PINS["admin"], 4)
    # Then one wrong PIN every five minutes for two hours: counted within a window, so
    # the admin is never locked out again.
    for step in range(1, 25):
        with pytest.raises(BadInput):
            _try(db, config, "0000", 5 * step + 0.5)
    assert _try(db, config, PINS["admin"], 125)["name"] == "admin"


def test_lockouts_back_off_while_the_guessing_goes_on(db, config, users):
    def burst(minutes):
        for _ in range(4):
            with pytest.raises(BadInput):
                _try(db, config, "0000", minutes)
        with pytest.raises(TooManyAttempts) as locked:
            _try(db, config, "0000", minutes)
        return locked.value.params["minutes"]

    assert burst(0) == 5
    assert burst(5.1) == 10   # right after the first lock ended: twice as long
    assert burst(15.2) == 20
    assert burst(35.3) == 40
    assert burst(75.4) == 60  # capped at max_lockout_minutes
    # A quiet window after the lock ends forgets the back-off.
    assert burst(135.4 + 16) == 5


def test_a_cookie_saved_before_logout_no_longer_opens_a_session(app, client, auth):
    auth.login("surveyor")
    saved = client.get_cookie("session").value
    assert client.get("/").status_code == 200
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", saved)
    assert thief.get("/").status_code == 302
    assert thief.get("/api/v1/me").status_code == 401


def test_a_new_pin_ends_the_users_sessions(app, client, auth, db):
    from werkzeug.security import generate_password_hash

    from survey_node.db import users as user_db

    auth.login("surveyor")
    assert client.get("/api/v1/me").status_code == 200
    user_db.update_user(db, "surveyor", actor="admin", pin_hash=generate_password_hash("999999"))
    assert client.get("/api/v1/me").status_code == 401
    assert auth.login("surveyor", "999999").status_code == 302
    assert client.get("/api/v1/me").status_code == 200
