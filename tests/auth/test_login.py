"""Signing in to the web UI: the page, CSRF, session rotation, logout, ``next``, roles, the key file."""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from flask import jsonify

from hub import create_app
from hub.api import login
from hub.api.login import register, require_role, safe_next
from hub.auth import users
from hub.auth.principal import REFERRAL_DESK, SPECIALIST, system
from tests.conftest import make_config
from tests.factories import organization

PASSWORD = "Jiangchuan-2026"
COOKIE = "xietong_session"


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    config = make_config(database_url, INSTANCE_PATH=str(tmp_path / "instance"), LOGIN_MAX_FAILURES=3)
    app = create_app(config)
    if "login" not in app.blueprints:
        register(app)

    @app.get("/_test/desk")
    @require_role(REFERRAL_DESK)
    def desk_only():
        from flask import g

        return jsonify(user=g.principal.id)

    @app.get("/_test/specialist")
    @require_role(SPECIALIST)
    def specialist_only():
        return "ok"

    yield app
    app.extensions["xietong"].db.dispose()


@pytest.fixture
def db(app):
    return app.extensions["xietong"].db


@pytest.fixture
def org(app):
    return app.extensions["xietong"].fhir.create(system("tests"), "Organization", organization())[0].id


@pytest.fixture
def user(db, org):
    with db.write() as conn:
        return users.add_user(conn, "zhangsan", "张医生", PASSWORD, REFERRAL_DESK, org)


@pytest.fixture
def client(app):
    return app.test_client()


def token_from(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, password=PASSWORD, username="zhangsan", next_url=None, token=None):
    form = {"username": username, "password": password, "csrf_token": token or token_from(client)}
    if next_url is not None:
        form["next"] = next_url
    return client.post("/login", data=form)


def cookie(client) -> str | None:
    c = client.get_cookie(COOKIE)
    return c.value if c else None


def session_of(app, value: str) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(value)


# ----- the page -----


def test_login_page(client):
    r = client.get("/login")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert '登录 <span class="en">Sign in</span>' in page and '<html lang="zh-CN">' in page
    assert 'name="username"' in page and 'type="password"' in page
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]{30,}">', page)
    assert "3 次" in page  # the lockout rule is stated
    assert r.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_login_and_me(client, user, org):
    r = sign_in(client)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    me = client.get("/me")
    assert me.status_code == 200
    body = me.get_json()
    assert body["username"] == "zhangsan" and body["name"] == "张医生"
    assert body["role"] == REFERRAL_DESK and body["organization"] == org
    assert "user/Task.crus" in body["scopes"] and body["csrf_token"]


def test_me_without_session_is_401(client):
    r = client.get("/me")
    assert r.status_code == 401 and r.get_json()["error"] == "login"


# ----- CSRF -----


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_the_right_csrf_token_is_400(client, user, token):
    token_from(client)  # the session has a token; the post does not carry it
    form = {"username": "zhangsan", "password": PASSWORD}
    if token is not None:
        form["csrf_token"] = token
    r = client.post("/login", data=form)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "安全令牌" in page and "CSRF token" in page
    assert client.get("/me").status_code == 401


def test_a_token_from_another_session_is_refused(app, user):
    other = app.test_client()
    stolen = token_from(other)
    victim = app.test_client()
    victim.get("/login")
    assert sign_in(victim, token=stolen).status_code == 400


def test_csrf_header_is_accepted(client, user):
    sign_in(client)
    token = client.get("/me").get_json()["csrf_token"]
    r = client.post("/logout", headers={"X-CSRF-Token": token})
    assert r.status_code == 303 and client.get("/me").status_code == 401


# ----- the session -----


def test_session_is_rotated_at_sign_in(app, client, user):
    before_token = token_from(client)
    before = cookie(client)
    assert sign_in(client, token=before_token).status_code == 303
    after = cookie(client)
    assert after and after != before
    data = session_of(app, after)
    assert data["uid"] == user.id and data["role"] == REFERRAL_DESK and data["org"] == user.organization_id
    assert data["sid"] and data["csrf"] != before_token
    # The pre-sign-in cookie (one an attacker may have planted) carries no sign-in.
    planted = app.test_client()
    planted.set_cookie(COOKIE, before)
    assert planted.get("/me").status_code == 401
    # The old token no longer works for the signed-in session.
    assert client.post("/logout", data={"csrf_token": before_token}).status_code == 400
    # Two sign-ins get different session ids.
    other = app.test_client()
    sign_in(other)
    assert session_of(app, cookie(other))["sid"] != data["sid"]


def test_cookie_flags(app, user):
    http = app.test_client()
    sign_in(http)
    header = next(h for h in http.get("/me").headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    expires = datetime.strptime(re.search(r"Expires=([^;]+)", header).group(1), "%a, %d %b %Y %H:%M:%S GMT")
    hours = (expires.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() / 3600
    assert 7.9 < hours <= 8.01
    https = app.test_client()
    https.get("/login", base_url="https://localhost")
    header = next(h for h in https.get("/login", base_url="https://localhost").headers.getlist("Set-Cookie"))
    assert "Secure" in header


def test_session_lapses_after_8_idle_hours(client, user, monkeypatch):
    sign_in(client)
    assert client.get("/me").status_code == 200
    later = int(time.time()) + 8 * 3600 + 5
    monkeypatch.setattr("itsdangerous.timed.TimestampSigner.get_timestamp", lambda self: later)
    assert client.get("/me").status_code == 401


def test_logout(app, client, user):
    sign_in(client)
    token = client.get("/me").get_json()["csrf_token"]
    assert client.post("/logout").status_code == 400  # no token
    assert client.get("/me").status_code == 200
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert cookie(client) is None
    assert client.get("/me").status_code == 401


# ----- failures -----


def test_wrong_password_and_unknown_user_give_the_same_page(client, user):
    wrong = sign_in(client, "wrong-password-1")
    unknown = sign_in(client, PASSWORD, username="nobody")
    assert wrong.status_code == unknown.status_code == 401
    for r in (wrong, unknown):
        page = r.get_data(as_text=True)
        assert "用户名或密码错误" in page and "Wrong user name or password" in page
    assert client.get("/me").status_code == 401


def test_empty_form_is_400(client, user):
    r = client.post("/login", data={"csrf_token": token_from(client), "username": "zhangsan"})
    assert r.status_code == 400 and "请输入用户名和密码" in r.get_data(as_text=True)


def test_lockout_through_the_form(client, user):
    for i in range(2):
        assert "Wrong user name" in sign_in(client, f"wrong-password-{i}").get_data(as_text=True)
    third = sign_in(client, "wrong-password-3").get_data(as_text=True)
    assert re.search(r"locked until \d\d:\d\d", third)
    right = sign_in(client)
    assert right.status_code == 401 and re.search(r"locked until \d\d:\d\d", right.get_data(as_text=True))
    assert client.get("/me").status_code == 401


# ----- next -----


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/fhir/metadata?x=1", "/fhir/metadata?x=1"),
        ("/worklist#top", "/worklist#top"),
        ("//evil.example", "/"),
        ("//evil.example/path", "/"),
        ("http://evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("", "/"),
        ("/login", "/"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


@pytest.mark.parametrize("target", ["//evil.example", "http://evil.example"])
def test_open_redirects_are_ignored(client, user, target):
    r = sign_in(client, next_url=target)
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_next_from_the_query_string_is_carried_by_the_form(client, user):
    page = client.get("/login?next=/fhir/metadata").get_data(as_text=True)
    assert 'name="next" value="/fhir/metadata"' in page
    evil = client.get("/login?next=//evil.example").get_data(as_text=True)
    assert 'name="next" value="/"' in evil
    r = sign_in(client, next_url="/fhir/metadata")
    assert r.headers["Location"] == "/fhir/metadata"


# ----- the account changes while the session lives -----


@pytest.mark.parametrize("change", ["disable", "password", "lock"])
def test_a_changed_account_ends_the_session(db, client, user, change):
    sign_in(client)
    assert client.get("/me").status_code == 200
    with db.write() as conn:
        if change == "disable":
            users.disable_user(conn, "zhangsan")
        elif change == "password":
            users.set_password(conn, "zhangsan", "Another-pass-99")
        else:
            for i in range(3):
                users.authenticate(conn, "zhangsan", f"wrong-{i}", datetime.now(UTC), 3, 900)
    assert client.get("/me").status_code == 401
    assert client.get("/_test/desk", headers={"Accept": "application/json"}).status_code == 401


# ----- roles -----


def test_require_role(app, client, user):
    anon = client.get("/_test/desk")
    assert anon.status_code == 303 and anon.headers["Location"] == "/login?next=/_test/desk"
    assert client.get("/_test/desk", headers={"Accept": "application/json"}).status_code == 401
    sign_in(client)
    assert client.get("/_test/desk").get_json() == {"user": "zhangsan"}
    page = client.get("/_test/specialist")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "专科医生" in text and "specialist" in text and "referral-desk" in text
    js = client.get("/_test/specialist", headers={"Accept": "application/json"})
    assert js.status_code == 403 and js.get_json()["needed_roles"] == [SPECIALIST]


def test_require_role_checks_its_roles():
    with pytest.raises(ValueError):
        require_role("nurse")
    with pytest.raises(ValueError):
        require_role()


# ----- the event hook -----


def test_login_events_reach_the_hook(app, client, user):
    seen = []

    class Recorder:
        def on_event(self, kind, detail):
            assert detail["conn"] is not None
            seen.append((kind, detail["username"], detail["reason"], detail["user_id"]))

    app.extensions["xietong_login"] = Recorder()
    sign_in(client, "wrong-password-1")
    sign_in(client, username="nobody")
    sign_in(client)
    client.post("/logout", data={"csrf_token": client.get("/me").get_json()["csrf_token"]})
    assert seen == [
        ("login-failed", "zhangsan", "bad-credentials", None),
        ("login-failed", "nobody", "bad-credentials", None),
        ("login-succeeded", "zhangsan", "ok", user.id),
        ("logout", "zhangsan", "ok", user.id),
    ]


# ----- the secret key -----


def test_secret_key_file(app, database_url, tmp_path):
    path = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert app.secret_key == path.read_text().strip() and len(app.secret_key) >= 32
    register(app)  # idempotent
    second = create_app(make_config(database_url, INSTANCE_PATH=str(tmp_path / "instance")))
    register(second)
    try:
        assert second.secret_key == app.secret_key  # every worker signs with the same key
    finally:
        second.extensions["xietong"].db.dispose()


def test_workers_starting_together_share_one_key(tmp_path):
    keys, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        keys.append(login.load_secret_key(tmp_path / "fresh"))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert sorted(p.name for p in (tmp_path / "fresh").iterdir()) == ["secret_key", "secret_key.lock"]


def test_a_truncated_key_file_is_an_error(tmp_path):
    (tmp_path / "secret_key").write_text("short")
    with pytest.raises(RuntimeError, match="too short"):
        login.load_secret_key(tmp_path)
