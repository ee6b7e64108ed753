"""Callers for tests: real clients with real key pairs, tokens from the real token endpoint."""

from __future__ import annotations

from joserfc import jwk

from hub.auth import clients
from hub.auth.demo_token import token_form

BASE = "http://localhost"


def register_client(app, organization=None, role="institution", scopes="system/*.cruds", name="test client"):
    """A client registered with a fresh EC P-384 key pair: ``(client_id, private key)``."""
    key = jwk.ECKey.generate_key("P-384", private=True)
    key.ensure_kid()
    public = {"keys": [key.as_dict(private=False)]}
    with app.extensions["xietong"].db.write() as conn:
        client_id = clients.add_client(conn, name, organization, role, scopes, jwks=public)
    return client_id, key


def token(app, client_id, key, scope=None, base=BASE) -> str:
    form = token_form(client_id, key, f"{base}/auth/token", scope)
    r = app.test_client().post("/auth/token", data=form, base_url=base)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["access_token"]


def bearer(
    app, organization=None, role="institution", scopes="system/*.cruds", scope=None, base=BASE
) -> dict:
    """``{"Authorization": "Bearer …"}`` for a new client of ``organization`` with ``role``."""
    client_id, key = register_client(app, organization, role, scopes)
    return {"Authorization": f"Bearer {token(app, client_id, key, scope, base)}"}
