"""The token endpoint (SMART Backend Services, AUTH-02) through HTTP, and the access token it issues."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
import uuid

import pytest
from joserfc import jwk, jwt

from hub import create_app
from hub.api.auth import register
from hub.auth import clients
from hub.auth.bearer import bearer_token, principal_from_token
from hub.auth.keys import KEY_FILE, HubKeys
from hub.auth.principal import system
from hub.errors import Unauthorized
from tests.conftest import ROOT, make_config
from tests.factories import organization

TOKEN_URL = "http://localhost/auth/token"  # the Flask test client's host
FHIR_BASE = "http://localhost/fhir"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPES = "system/Patient.rs system/Observation.crus system/ServiceRequest.cruds"


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(make_config(database_url, INSTANCE_PATH=str(tmp_path / "instance")))
    if "auth" not in app.blueprints:
        register(app)
    clients.forget_keys()
    yield app
    app.extensions["xietong"].db.dispose()


@pytest.fixture
def events(app):
    seen: list[tuple[str, dict]] = []
    app.extensions["xietong_auth"].on_event = lambda kind, detail: seen.append((kind, detail))
    return seen


@pytest.fixture
def org_id(app):
    stored, _ = app.extensions["xietong"].fhir.create(system("test"), "Organization", organization())
    return stored.id


def ec_key() -> jwk.ECKey:
    return jwk.ECKey.generate_key("P-384", private=True, auto_kid=True)


def rsa_key(bits: int = 2048) -> jwk.RSAKey:
    return jwk.RSAKey.generate_key(bits, private=True, auto_kid=True)


def jwks(*keys) -> dict:
    return {"keys": [k.as_dict(private=False) for k in keys]}


def register_client(db, org_id, *keys, scopes=SCOPES, **kw) -> str:
    with db.write() as conn:
        if "jwks_url" in kw:
            return clients.add_client(conn, "Tonghai HIS", org_id, "institution", scopes, **kw)
        return clients.add_client(conn, "Tonghai HIS", org_id, "institution", scopes, jwks=jwks(*keys))


def assertion(client_id, key, *, alg=None, header=None, **claims) -> str:
    alg = alg or ("ES384" if isinstance(key, jwk.ECKey) else "RS384")
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": now + 240, "jti": str(uuid.uuid4())}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    head = {"alg": alg, "kid": key.kid, "typ": "JWT", **(header or {})}
    head = {k: v for k, v in head.items() if v is not None}
    return jwt.encode(head, body, key, algorithms=[alg])


def token_request(client, signed: str | None, scope: str | None = None, **extra):
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE}
    if signed is not None:
        form["client_assertion"] = signed
    if scope is not None:
        form["scope"] = scope
    form.update(extra)
    return client.post("/auth/token", data=form)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def refused(resp, error="invalid_client", text=None):
    assert resp.status_code in (400, 401), resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == error, body
    assert resp.content_type.startswith("application/json")
    assert resp.headers["Cache-Control"] == "no-store"
    assert "access_token" not in body
    if text:
        assert text in body["error_description"], body["error_description"]
    return body


def keys_of(app) -> HubKeys:
    return app.extensions["xietong_auth"].keys


# ------------------------------------------------------------------------------ issued


@pytest.mark.parametrize("kind", ["ES384", "RS384"])
def test_valid_assertion_gets_a_short_lived_token(app, client, db, org_id, events, kind):
    key = ec_key() if kind == "ES384" else rsa_key()
    client_id = register_client(db, org_id, key)
    resp = token_request(client, assertion(client_id, key))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and 0 < body["expires_in"] <= 300
    assert "refresh_token" not in body
    assert body["scope"] == SCOPES
    assert resp.headers["Cache-Control"] == "no-store"

    principal = principal_from_token(db, keys_of(app), body["access_token"], audience=FHIR_BASE)
    assert principal.kind == "client" and principal.id == client_id
    assert principal.organization == org_id and principal.role == "institution"
    assert principal.scopes == tuple(SCOPES.split()) and principal.name == "Tonghai HIS"
    assert principal.purpose == "treatment"

    claims = keys_of(app).verify(body["access_token"])
    assert claims["iss"] == "http://localhost" and claims["sub"] == client_id and claims["aud"] == FHIR_BASE
    assert (
        claims["exp"] - claims["iat"] <= 300 and claims["org"] == org_id and claims["role"] == "institution"
    )
    assert principal.jti == claims["jti"]
    # the audit hook hears of it, by jti, never the token
    assert [k for k, _ in events] == ["token-issued"]
    detail = events[0][1]
    assert detail["jti"] == claims["jti"] and detail["client_id"] == client_id
    assert body["access_token"] not in json.dumps(detail)


def test_requested_scopes_are_narrowed_and_checked(client, db, org_id):
    key = ec_key()
    client_id = register_client(db, org_id, key)
    resp = token_request(client, assertion(client_id, key), scope="system/Patient.r system/Observation.read")
    assert resp.status_code == 200
    assert resp.get_json()["scope"] == "system/Patient.r system/Observation.rs"

    body = refused(
        token_request(client, assertion(client_id, key), scope="system/Patient.cruds"), "invalid_scope"
    )
    assert "system/Patient.cruds" in body["error_description"]
    refused(token_request(client, assertion(client_id, key), scope="system/Encounter.rs"), "invalid_scope")
    refused(token_request(client, assertion(client_id, key), scope="system/Patient.dus"), "invalid_scope")
    refused(token_request(client, assertion(client_id, key), scope="user/Patient.rs"), "invalid_scope")


def test_wildcard_registration_grants_specific_requests(app, client, db):
    key = ec_key()
    with db.write() as conn:
        client_id = clients.add_client(conn, "监管", None, "regulator", "system/*.rs", jwks=jwks(key))
    resp = token_request(client, assertion(client_id, key), scope="system/AuditEvent.rs")
    assert resp.status_code == 200 and resp.get_json()["scope"] == "system/AuditEvent.rs"
    principal = principal_from_token(db, keys_of(app), resp.get_json()["access_token"], FHIR_BASE)
    assert principal.role == "regulator" and principal.organization is None and principal.is_regulator


# ------------------------------------------------------------------- refused assertions


def test_refused_assertions(client, db, org_id, events):
    key, other = ec_key(), ec_key()
    client_id = register_client(db, org_id, key)
    now = int(time.time())

    cases = {
        "forged signature (another key, same kid)": assertion(client_id, other, header={"kid": key.kid}),
        "expired": assertion(client_id, key, exp=now - 120),
        "exp more than 5 minutes ahead": assertion(client_id, key, exp=now + 330),
        "exp 301 s after iat": assertion(client_id, key, iat=now, exp=now + 301),
        "no exp": assertion(client_id, key, exp=None),
        "wrong aud": assertion(client_id, key, aud="http://localhost/fhir"),
        "iss is not sub": assertion(client_id, key, iss="someone-else"),
        "no jti": assertion(client_id, key, jti=None),
        "unknown client": assertion("no-such-client", key),
        "unknown kid": assertion(client_id, key, header={"kid": "not-registered"}),
        "jku not registered": assertion(client_id, key, header={"jku": "https://evil.example/jwks.json"}),
        "nbf in the future": assertion(client_id, key, nbf=now + 200),
    }
    for name, signed in cases.items():
        resp = token_request(client, signed)
        assert resp.status_code in (400, 401), name
        assert resp.get_json()["error"] == "invalid_client", (name, resp.get_json())
    assert [k for k, _ in events] == ["token-refused"] * len(cases)
    assert all(d["error"] == "invalid_client" for _, d in events)
    assert events[8][1]["client_id"] == "no-such-client"

    refused(token_request(client, assertion(client_id, key, exp=now + 330)), text="5 minutes")
    refused(token_request(client, assertion(client_id, key, aud="http://x/")), text="aud")


def test_exp_at_five_minutes_is_accepted(client, db, org_id):
    key = ec_key()
    client_id = register_client(db, org_id, key)
    now = int(time.time())
    assert token_request(client, assertion(client_id, key, iat=now, exp=now + 300)).status_code == 200


def test_replayed_jti_is_refused(client, db, org_id):
    key = ec_key()
    client_id = register_client(db, org_id, key)
    signed = assertion(client_id, key)
    assert token_request(client, signed).status_code == 200
    refused(token_request(client, signed), text="used before")
    # the same jti re-signed is a replay too; another client may use the same jti value
    jti = json.loads(base64.urlsafe_b64decode(signed.split(".")[1] + "==="))["jti"]
    refused(token_request(client, assertion(client_id, key, jti=jti)), text="used before")
    key2 = ec_key()
    other_id = register_client(db, org_id, key2)
    assert token_request(client, assertion(other_id, key2, jti=jti)).status_code == 200


def test_expired_jti_rows_are_purged(app, client, db, org_id):
    from datetime import UTC, datetime, timedelta

    from hub.auth.tables import auth_jti
    from tests.conftest import scalar

    key = ec_key()
    client_id = register_client(db, org_id, key)
    with db.write() as conn:
        conn.execute(
            auth_jti.insert().values(
                iss=client_id, jti="old", expires_at=datetime.now(UTC) - timedelta(hours=1)
            )
        )
    app.extensions["xietong_auth"]._last_purge = 0.0
    assert token_request(client, assertion(client_id, key)).status_code == 200
    assert scalar(db, "SELECT count(*) FROM auth_jti WHERE jti = 'old'") == 0
    assert scalar(db, f"SELECT count(*) FROM auth_jti WHERE iss = '{client_id}'") == 1


def test_hs256_and_none_are_refused(client, db, org_id):
    key = ec_key()
    client_id = register_client(db, org_id, key)
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": now + 200,
        "jti": str(uuid.uuid4()),
    }
    # HS256 "signed" with the public key as the secret: the classic algorithm-confusion attack
    secret = jwk.OctKey.import_key(json.dumps(key.as_dict(private=False)).encode())
    hs = jwt.encode({"alg": "HS256", "kid": key.kid}, claims, secret, algorithms=["HS256"])
    refused(token_request(client, hs), text="RS384 or ES384")
    unsigned = f"{b64({'alg': 'none', 'kid': key.kid})}.{b64(claims)}."
    refused(token_request(client, unsigned), text="RS384 or ES384")
    # an ES384 header over an RSA key of the client does not match any key either
    rsa = rsa_key()
    rsa_client = register_client(db, org_id, rsa)
    _, payload, sig = assertion(rsa_client, rsa).split(".")
    confused = f"{b64({'alg': 'ES384', 'kid': rsa.kid})}.{payload}.{sig}"
    refused(token_request(client, confused), text="no registered EC key")
    # RS256 (not a SMART algorithm) is refused although the key is registered
    refused(token_request(client, assertion(rsa_client, rsa, alg="RS256")), text="RS384 or ES384")


def test_disabled_client_is_refused(app, client, db, org_id):
    key = ec_key()
    client_id = register_client(db, org_id, key)
    token = token_request(client, assertion(client_id, key)).get_json()["access_token"]
    with db.write() as conn:
        clients.disable_client(conn, client_id)
    refused(token_request(client, assertion(client_id, key)), text="disabled")
    with pytest.raises(Unauthorized, match="disabled"):
        principal_from_token(db, keys_of(app), token, FHIR_BASE)
    with db.write() as conn:
        clients.enable_client(conn, client_id)
    assert token_request(client, assertion(client_id, key)).status_code == 200
    assert principal_from_token(db, keys_of(app), token, FHIR_BASE).id == client_id


def test_rotate_keys(client, db, org_id):
    old, new = ec_key(), rsa_key(3072)
    client_id = register_client(db, org_id, old)
    assert token_request(client, assertion(client_id, old)).status_code == 200
    with db.write() as conn:
        clients.rotate_keys(conn, client_id, jwks=jwks(new))
    refused(token_request(client, assertion(client_id, old)), text="kid")
    assert token_request(client, assertion(client_id, new)).status_code == 200


def test_request_shape_errors(client, db, org_id):
    key = ec_key()
    client_id = register_client(db, org_id, key)
    refused(token_request(client, None), text="client_assertion")
    refused(token_request(client, "not-a-jwt"), text="not a signed JWT")
    resp = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_assertion": assertion(client_id, key)},
    )
    refused(resp, text="client_assertion_type")
    resp = token_request(client, assertion(client_id, key), grant_type="authorization_code")
    refused(resp, "unsupported_grant_type")
    resp = client.post(
        "/auth/token?client_assertion=x",
        data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE},
    )
    refused(resp, "invalid_request")
    # a client that tried HTTP authentication gets 401 (RFC 6749 section 5.2)
    resp = client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic eDp5"}
    )
    assert resp.status_code == 401 and resp.get_json()["error"] == "invalid_client"
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_jwks_url_client_fetches_caches_and_checks_jku(client, db, org_id, monkeypatch):
    key = ec_key()
    url = "https://adapter.tonghai.example/.well-known/jwks.json"
    fetched = []

    def fake_fetch(u):
        fetched.append(u)
        return clients.validate_jwks(jwks(key)), 300

    monkeypatch.setattr(clients, "_fetch_jwks", fake_fetch)
    client_id = register_client(db, org_id, jwks_url=url)
    assert fetched == []  # registration does not fetch
    assert token_request(client, assertion(client_id, key, header={"jku": url})).status_code == 200
    assert token_request(client, assertion(client_id, key)).status_code == 200
    assert fetched == [url]  # cached
    refused(token_request(client, assertion(client_id, key, header={"jku": url + "?x"})), text="jku")
    # an unknown kid makes the hub look again (the client may have rotated its published keys)
    refused(token_request(client, assertion(client_id, ec_key())), text="kid")
    assert fetched == [url, url]


def test_jwks_url_that_cannot_be_fetched(client, db, org_id, monkeypatch):
    def down(url):
        raise clients.ClientKeyError("the JWKS URL cannot be fetched (ConnectTimeout)")

    monkeypatch.setattr(clients, "_fetch_jwks", down)
    client_id = register_client(db, org_id, jwks_url="https://down.example/jwks.json")
    refused(token_request(client, assertion(client_id, ec_key())), text="cannot be fetched")


def test_max_age_of_fetched_jwks():
    assert clients._max_age("") == 300
    assert clients._max_age("public, max-age=60") == 60
    assert clients._max_age("max-age=86400") == 300
    assert clients._max_age("no-store") == 0 and clients._max_age("no-cache, max-age=60") == 0


# ------------------------------------------------------------------------- the access token


def _issued(app, client, db, org_id) -> tuple[str, str]:
    key = ec_key()
    client_id = register_client(db, org_id, key)
    return client_id, token_request(client, assertion(client_id, key)).get_json()["access_token"]


def test_tampered_access_token_is_refused(app, client, db, org_id):
    _, token = _issued(app, client, db, org_id)
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "==="))
    claims["scope"] = "system/*.cruds"
    with pytest.raises(Unauthorized, match="does not verify"):
        principal_from_token(db, keys_of(app), f"{head}.{b64(claims)}.{sig}", FHIR_BASE)
    with pytest.raises(Unauthorized):
        principal_from_token(db, keys_of(app), f"{head}.{payload}.{sig[:-4]}AAAA", FHIR_BASE)


def test_expired_and_foreign_access_tokens_are_refused(app, client, db, org_id, tmp_path):
    client_id, token = _issued(app, client, db, org_id)
    claims = keys_of(app).verify(token)
    now = int(time.time())
    keys = keys_of(app)
    expired = keys.sign({**claims, "iat": now - 900, "exp": now - 600}, {"typ": "at+jwt"})
    with pytest.raises(Unauthorized, match="expired"):
        principal_from_token(db, keys, expired, FHIR_BASE)
    foreign = HubKeys.load(tmp_path / "elsewhere").sign(claims, {"typ": "at+jwt"})
    with pytest.raises(Unauthorized, match="key"):
        principal_from_token(db, keys, foreign, FHIR_BASE)
    with pytest.raises(Unauthorized):
        principal_from_token(db, keys, token, "http://other.example/fhir")
    with pytest.raises(Unauthorized, match="access token"):  # hub-signed, but not an access token
        principal_from_token(db, keys, keys.sign(claims), FHIR_BASE)
    too_long = keys.sign({**claims, "exp": now + 3600}, {"typ": "at+jwt"})
    with pytest.raises(Unauthorized, match="longer"):
        principal_from_token(db, keys, too_long, FHIR_BASE)
    with pytest.raises(Unauthorized, match="not registered"):
        principal_from_token(db, keys, keys.sign({**claims, "sub": "gone"}, {"typ": "at+jwt"}), FHIR_BASE)
    with db.read() as conn:  # a Connection works as well as the Database
        assert principal_from_token(conn, keys, token, FHIR_BASE).id == client_id


def test_bearer_header_parsing():
    assert bearer_token("Bearer a.b.c") == "a.b.c"
    assert bearer_token("bearer   a.b.c ") == "a.b.c"
    for bad in (None, "", "Basic eDp5", "Bearer", "Bearer a.b", "Bearer a.b.c d", "Bearer a.b.c!"):
        with pytest.raises(Unauthorized):
            bearer_token(bad)


# ------------------------------------------------------------------ discovery and the key


def test_smart_configuration_and_jwks(app, client):
    for path in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        conf = client.get(path).get_json()
        assert conf["token_endpoint"] == TOKEN_URL
        assert conf["grant_types_supported"] == ["client_credentials"]
        assert conf["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert conf["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
        assert {"client-confidential-asymmetric", "permission-v2"} <= set(conf["capabilities"])
        assert "system/*.rs" in conf["scopes_supported"]
    keys = client.get("/auth/jwks").get_json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "EC" and keys[0]["crv"] == "P-384"
    assert keys[0]["kid"] == keys_of(app).kid and "d" not in keys[0]


def test_public_base_url_sets_audience_and_issuer(database_url, tmp_path):
    base = "https://hub.yuxi.example"
    app = create_app(make_config(database_url, INSTANCE_PATH=str(tmp_path), PUBLIC_BASE_URL=base))
    try:
        register(app)
        register(app)  # idempotent
        db, client = app.extensions["xietong"].db, app.test_client()
        stored, _ = app.extensions["xietong"].fhir.create(system("test"), "Organization", organization())
        key = ec_key()
        client_id = register_client(db, stored.id, key)
        refused(token_request(client, assertion(client_id, key)), text="aud")
        resp = token_request(client, assertion(client_id, key, aud=f"{base}/auth/token"))
        assert resp.status_code == 200
        claims = app.extensions["xietong_auth"].keys.verify(resp.get_json()["access_token"])
        assert claims["iss"] == base and claims["aud"] == f"{base}/fhir"
        assert (
            client.get("/.well-known/smart-configuration").get_json()["token_endpoint"]
            == f"{base}/auth/token"
        )
    finally:
        app.extensions["xietong"].db.dispose()


def test_tokens_only_over_https_or_loopback(database_url, tmp_path):
    app = create_app(
        make_config(database_url, INSTANCE_PATH=str(tmp_path), PUBLIC_BASE_URL="http://hub.yuxi.example")
    )
    try:
        register(app)
        body = refused(token_request(app.test_client(), "a.b.c"), "insecure_transport")
        assert "https" in body["error_description"]
    finally:
        app.extensions["xietong"].db.dispose()


def test_hub_key_is_created_once_with_mode_0600(tmp_path):
    first = HubKeys.load(tmp_path)
    path = tmp_path / "keys" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert HubKeys.load(tmp_path).kid == first.kid
    token = first.sign({"sub": "x", "exp": int(time.time()) + 60})
    assert HubKeys.load(tmp_path).verify(token)["sub"] == "x"
    with pytest.raises(Unauthorized):
        first.verify(token, audience="http://x/fhir")


def test_hub_key_concurrent_first_use_makes_one_key(tmp_path):
    code = "import sys; from hub.auth.keys import HubKeys; print(HubKeys.load(sys.argv[1]).kid)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, env=env, cwd=ROOT
        )
        for _ in range(4)
    ]
    kids = {p.communicate(timeout=60)[0].decode().strip() for p in procs}
    assert len(kids) == 1 and all(p.returncode == 0 for p in procs)
    assert [p.name for p in (tmp_path / "keys").iterdir() if not p.name.startswith(".")] == [KEY_FILE]
    assert HubKeys.load(tmp_path).kid == kids.pop()
