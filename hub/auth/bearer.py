"""Bearer access tokens issued by ``/auth/token``: from the Authorization header to a Principal."""

from __future__ import annotations

import re
import time

from hub.auth.clients import get_client
from hub.auth.keys import HubKeys
from hub.auth.principal import Principal
from hub.auth.scopes import ScopeError, parse_scopes
from hub.errors import Unauthorized

ACCESS_TOKEN_TYP = "at+jwt"  # RFC 9068: tells access tokens apart from anything else the hub signs
MAX_TOKEN_SECONDS = 300
_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def bearer_token(authorization_header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; ``Unauthorized`` otherwise."""
    if not authorization_header or not authorization_header.strip():
        raise Unauthorized("this request needs an access token: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized(f"the Authorization header must use the Bearer scheme, not '{scheme[:20]}'")
    token = token.strip()
    if not token or len(token) > 8192 or not _JWS.match(token):
        raise Unauthorized("the Authorization header does not carry a well-formed bearer token")
    return token


# A client sends the same token on every request for up to 5 minutes: its signature is verified once
# per process, and kept while it is valid. The client's registration is looked up again at most every
# CLIENT_RECHECK_SECONDS, so a disabled client is locked out within that time.
CLIENT_RECHECK_SECONDS = 5.0
_MAX_CACHED = 10_000
_verified_tokens: dict[tuple, dict] = {}
_clients: dict[str, tuple[float, object]] = {}


def _verified(keys: HubKeys, token: str, audience, issuer) -> dict:
    key = (id(keys), token, audience, issuer)
    claims = _verified_tokens.get(key)
    if claims is not None and claims["exp"] > time.time():
        return claims
    claims = keys.verify(token, audience, issuer=issuer, typ=ACCESS_TOKEN_TYP, max_lifetime=MAX_TOKEN_SECONDS)
    for name in ("sub", "jti", "scope"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise Unauthorized(f"the access token has no '{name}' claim")
    if len(_verified_tokens) >= _MAX_CACHED:
        now = time.time()
        for k in [k for k, c in list(_verified_tokens.items()) if c["exp"] <= now] or list(_verified_tokens):
            _verified_tokens.pop(k, None)
    _verified_tokens[key] = claims
    return claims


def _client(conn_or_db, client_id: str):
    cached = _clients.get(client_id)
    if cached is not None and time.monotonic() - cached[0] < CLIENT_RECHECK_SECONDS:
        return cached[1]
    if hasattr(conn_or_db, "read"):
        with conn_or_db.read() as conn:
            client = get_client(conn, client_id)
    else:
        client = get_client(conn_or_db, client_id)
    if len(_clients) >= _MAX_CACHED:
        _clients.clear()
    _clients[client_id] = (time.monotonic(), client)
    return client


def forget_clients() -> None:
    """Drop the cached registrations (after a client is disabled or changed in this process)."""
    _clients.clear()


def principal_from_token(conn_or_db, keys: HubKeys, token: str, audience: str | None = None, *, issuer=None):
    """Verify a hub-issued access token and return the client's Principal (``Unauthorized`` if not).

    ``conn_or_db`` is a SQLAlchemy Connection or a ``hub.db.Database``. ``audience`` (the hub's
    FHIR base URL) and ``issuer`` (the hub's base URL) are checked when given. The client must
    still be registered and enabled, and registered with the same institution and role; the
    token's scopes are narrowed to those the client is still registered with.
    """
    claims = _verified(keys, token, audience, issuer)
    client = _client(conn_or_db, claims["sub"])
    if client is None:
        raise Unauthorized("the access token's client is not registered (any more)")
    if not client.enabled:
        raise Unauthorized(f"client {client.client_id} is disabled")
    if claims.get("org") != client.organization_id or claims.get("role") != client.role:
        raise Unauthorized("the client's registration changed since this token was issued; get a new token")
    try:
        granted = parse_scopes(claims["scope"])
    except ScopeError:
        raise Unauthorized("the access token's scope is not valid") from None
    scopes = [s for s in granted if any(r.covers(s) for r in client.scopes)]
    purpose = claims.get("purpose", "treatment")
    return Principal(
        kind="client",
        id=client.client_id,
        organization=client.organization_id,
        role=client.role,
        scopes=tuple(str(s) for s in scopes),
        jti=claims["jti"],
        purpose=purpose if isinstance(purpose, str) and purpose else "treatment",
        name=client.name,
    )
