"""The OAuth side of the hub (SMART Backend Services, AUTH-02): token endpoint, discovery, JWKS.

``POST /auth/token`` is authlib's authorization server with one grant, ``client_credentials``,
and one client authentication method, ``private_key_jwt`` (RFC 7523 as profiled by SMART):

* the assertion is signed RS384 or ES384 (nothing else: not HS256, not ``none``) by the key of
  the client's registered JWKS that has the header's ``kid`` (exactly one key must match);
* ``iss`` = ``sub`` = client_id, ``aud`` = this token endpoint's URL, ``exp`` at most five minutes
  ahead (and, when ``iat`` is given, at most five minutes after it), a ``jti`` never seen before
  for that ``iss`` (kept in ``auth_jti`` until the assertion has expired);
* a ``jku`` header must equal the client's registered JWKS URL.

The access token is a JWT (``typ: at+jwt``) signed by the hub key (``hub.auth.keys``); it lives
``ACCESS_TOKEN_SECONDS`` (at most 300) and comes without a refresh token. Errors are RFC 6749
JSON (``{"error": ..., "error_description": ...}``), not OperationOutcomes.

Every token issued and every request refused is reported to
``app.extensions["xietong_auth"].on_event(kind, detail)`` (kinds ``token-issued`` and
``token-refused``), for the audit trail. Tokens and assertions are never logged or reported:
only their ``jti``.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import Blueprint, Flask, current_app, jsonify, request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import delete, select

from hub.api import urls
from hub.auth import clients as registry
from hub.auth.bearer import ACCESS_TOKEN_TYP, bearer_token, principal_from_token
from hub.auth.keys import LazyHubKeys
from hub.auth.principal import Principal
from hub.auth.scopes import Scope, ScopeError, format_scopes, parse_scopes
from hub.auth.tables import auth_jti
from hub.errors import Conflict

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS384", "ES384")
_KTY = {"RS384": "RSA", "ES384": "EC"}
MAX_ASSERTION_SECONDS = 300  # SMART: exp no more than five minutes in the future
EXP_LEEWAY = 5  # clock skew allowed on that limit
CLOCK_LEEWAY = 30  # clock skew allowed on exp (expired) / nbf / iat (in the future)
JTI_PURGE_SECONDS = 60
CAPABILITIES = ["client-confidential-asymmetric", "permission-v2"]


@dataclass
class AuthState:
    """What the auth part keeps per app: ``app.extensions["xietong_auth"]``.

    ``on_event(kind, detail)`` may be replaced by the audit trail; ``keys`` is the hub signing key
    (also at ``app.extensions["xietong_keys"]``), read or created on first use.
    """

    app: Flask
    keys: LazyHubKeys
    server: AuthorizationServer | None = None
    on_event: Callable[[str, dict], None] = field(default=lambda kind, detail: None)
    _last_purge: float = 0.0

    @property
    def hub(self):
        return self.app.extensions["xietong"]

    def emit(self, kind: str, detail: dict) -> None:
        self.on_event(kind, detail)


def state(app: Flask | None = None) -> AuthState:
    return (app or current_app).extensions["xietong_auth"]


# ---------------------------------------------------------------------------------- URLs


def hub_base_url() -> str:
    """The hub's public base URL: PUBLIC_BASE_URL, or else the one this request came in on."""
    configured = current_app.extensions["xietong"].config.PUBLIC_BASE_URL
    return configured.rstrip("/") if configured else urls.root_url()


def token_endpoint_url() -> str:
    return hub_base_url() + "/auth/token"


def fhir_base_url() -> str:
    return hub_base_url() + "/fhir"


def smart_security() -> dict:
    """``CapabilityStatement.rest.security``: SMART on FHIR, with the OAuth endpoints (SMART App Launch
    2.x, "Conformance": the oauth-uris extension and the SMART-on-FHIR service code)."""
    return {
        "cors": False,
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ],
                "text": "OAuth2 client_credentials with private_key_jwt (SMART Backend Services)",
            }
        ],
        "extension": [
            {
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [{"url": "token", "valueUri": token_endpoint_url()}],
            }
        ],
        "description": "Every interaction needs a bearer token from the token endpoint (system/ scopes, "
        "SMART v2) or a signed-in session; see /.well-known/smart-configuration.",
    }


# ----------------------------------------------------------------- client authentication


class PrivateKeyJwt(JWTBearerClientAssertion):
    """``private_key_jwt`` as SMART Backend Services profiles RFC 7523."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, auth: AuthState):
        super().__init__(validate_jti=True, leeway=CLOCK_LEEWAY)
        self.auth = auth

    def get_audiences(self):
        return [token_endpoint_url()]

    def __call__(self, query_client, req):
        form = req.form
        if request.args.get("client_assertion") is not None:
            raise InvalidRequestError("send client_assertion in the POST body, never in the URL")
        atype, assertion = form.get("client_assertion_type"), form.get("client_assertion")
        if not atype and not assertion:
            raise InvalidClientError(
                description="client authentication is required: client_assertion_type="
                f"{ASSERTION_TYPE} and client_assertion=<a JWT signed with the client's key>"
            )
        if atype != ASSERTION_TYPE:
            raise InvalidClientError(description=f"client_assertion_type must be {ASSERTION_TYPE}")
        if not assertion or len(form.getlist("client_assertion")) != 1:
            raise InvalidClientError(description="exactly one client_assertion is required")

        headers, claims = _unverified(assertion)
        if headers is None:
            raise InvalidClientError(description="the client_assertion is not a signed JWT")
        alg = headers.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidClientError(
                description=f"assertion alg {_quote(alg)} is not accepted; sign with RS384 or ES384"
            )
        kid = headers.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidClientError(description="the assertion header has no kid")
        sub, iss = claims.get("sub"), claims.get("iss")
        if not isinstance(sub, str) or not sub:
            raise InvalidClientError(description="the assertion has no sub (the client_id)")
        if iss != sub:
            raise InvalidClientError(description="the assertion iss and sub must both be the client_id")

        client = query_client(sub)
        if client is None:
            raise InvalidClientError(description="the client is not registered with this hub")
        jku = headers.get("jku")
        if jku is not None and jku != client.jwks_url:
            raise InvalidClientError(description="the assertion jku is not the client's registered JWKS URL")
        key = _client_key(client, kid, alg)
        verified = self.process_assertion_claims(assertion, key, alg)
        if not client.enabled:  # said only to a caller that holds the client's key
            raise InvalidClientError(description="the client is disabled")
        req.client = client
        req.assertion_jti = verified["jti"]
        return self.authenticate_client(client)

    def process_assertion_claims(self, assertion, key, alg=None):
        try:
            token = jwt.decode(assertion, key, algorithms=[alg] if alg else list(ALGORITHMS))
        except JoseError as exc:
            raise InvalidClientError(
                description=f"the assertion signature does not verify ({_desc(exc)})"
            ) from None
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims):
        exp, iat = claims.get("exp"), claims.get("iat")
        if _number(exp):
            if exp > time.time() + MAX_ASSERTION_SECONDS + EXP_LEEWAY:
                raise InvalidClientError(description="the assertion exp is more than 5 minutes in the future")
            if _number(iat) and exp - iat > MAX_ASSERTION_SECONDS:
                raise InvalidClientError(description="the assertion lives longer than 5 minutes (exp - iat)")
        jti = claims.get("jti")
        if isinstance(jti, str) and len(jti) > 200:
            raise InvalidClientError(description="the assertion jti is longer than 200 characters")
        super().verify_claims(claims)

    def validate_jti(self, claims, jti):
        """Record (iss, jti) in auth_jti; False if it is there already (a replay)."""
        db = self.auth.hub.db
        now = datetime.now(UTC)
        expires = datetime.fromtimestamp(math.ceil(claims["exp"]) + CLOCK_LEEWAY, UTC)
        purge = time.monotonic() - self.auth._last_purge > JTI_PURGE_SECONDS
        try:
            with db.write() as conn:
                if purge:
                    conn.execute(delete(auth_jti).where(auth_jti.c.expires_at < now))
                seen = conn.execute(
                    select(auth_jti.c.jti).where(auth_jti.c.iss == claims["iss"], auth_jti.c.jti == jti)
                ).first()
                if seen is not None:
                    return False
                conn.execute(auth_jti.insert().values(iss=claims["iss"], jti=jti, expires_at=expires))
        except Conflict:  # the same (iss, jti) inserted concurrently
            return False
        if purge:
            self.auth._last_purge = time.monotonic()
        return True


def _client_key(client, kid: str, alg: str):
    """The one registered key with this kid and the key type of alg; InvalidClientError otherwise."""
    try:
        keys = registry.client_keys(client)
        found = [k for k in keys.keys if k.kid == kid and k.key_type == _KTY[alg]]
        if not found and client.jwks_url:  # the client may have rotated its published keys
            keys = registry.client_keys(client, refresh=True)
            found = [k for k in keys.keys if k.kid == kid and k.key_type == _KTY[alg]]
    except registry.ClientKeyError as exc:
        raise InvalidClientError(description=_ascii(f"the client's keys cannot be had: {exc}")) from None
    if not found:
        raise InvalidClientError(
            description=f"no registered {_KTY[alg]} key of the client has kid {_quote(kid)}"
        )
    if len(found) > 1:
        raise InvalidClientError(description=f"more than one registered key has kid {_quote(kid)}")
    return found[0]


def _unverified(assertion: str) -> tuple[dict | None, dict]:
    """Header and claims of a compact JWS, not verified (for routing and for refusal reports)."""
    try:
        obj = jws.extract_compact(assertion.encode("ascii"))
        claims = json.loads(obj.payload)
        headers = obj.headers()
    except Exception:  # anything at all: the caller treats it as "not a JWT"
        return None, {}
    if not isinstance(claims, dict) or not isinstance(headers, dict):
        return None, {}
    return headers, claims


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _desc(exc: JoseError) -> str:
    return _ascii(exc.description or exc.error or type(exc).__name__)


def _quote(value) -> str:
    return "'" + _ascii(str(value))[:80] + "'"


def _ascii(text: str) -> str:
    """RFC 6749 error_description characters only (%x20-21 / %x23-5B / %x5D-7E)."""
    return "".join(ch if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\' else "?" for ch in text)


# --------------------------------------------------------------------------------- grant


def granted_scopes(client: registry.Client, requested: str | None) -> tuple[Scope, ...]:
    """Requested scopes the client is registered for; all of its scopes if none are requested."""
    if requested is None or not requested.strip():
        return client.scopes
    try:
        wanted = parse_scopes(requested)
    except ScopeError as exc:
        raise InvalidScopeError(_ascii(str(exc))) from None
    refused = [s for s in wanted if not any(r.covers(s) for r in client.scopes)]
    if refused:
        raise InvalidScopeError(_ascii(f"not registered for this client: {format_scopes(refused)}"))
    return wanted


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

    def validate_requested_scope(self):
        granted_scopes(self.request.client, self.request.payload.scope)

    def create_token_response(self):
        # authlib's version logs the token at DEBUG level; the hub never logs a token.
        token = self.generate_token(scope=self.request.payload.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class _FormPayload(FlaskOAuth2Payload):
    @property
    def data(self):
        return self._request.form  # the POST body only, never the query string


class _TokenRequest(FlaskOAuth2Request):
    def __init__(self, req, uri: str):
        OAuth2Request.__init__(self, method=req.method, uri=uri, headers=req.headers)
        self._request = req
        self.payload = _FormPayload(req)
        self.assertion_jti = None


class _Server(AuthorizationServer):
    def create_oauth2_request(self, req):
        return _TokenRequest(request, token_endpoint_url())


def _make_server(app: Flask, auth: AuthState) -> AuthorizationServer:
    def query_client(client_id):
        with auth.hub.db.read() as conn:
            return registry.get_client(conn, client_id)

    def save_token(token, req):
        claims = json.loads(jws.extract_compact(token["access_token"].encode()).payload)
        client = req.client
        auth.emit(
            "token-issued",
            {
                "client_id": client.client_id,
                "client_name": client.name,
                "organization": client.organization_id,
                "role": client.role,
                "jti": claims["jti"],
                "scope": claims["scope"],
                "expires_at": datetime.fromtimestamp(claims["exp"], UTC).isoformat(),
                "assertion_jti": getattr(req, "assertion_jti", None),
                "remote_addr": request.remote_addr,
            },
        )

    def generate(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=False):
        lifetime = auth.hub.config.ACCESS_TOKEN_SECONDS
        granted = format_scopes(granted_scopes(client, scope))
        now = int(time.time())
        claims = {
            "iss": hub_base_url(),
            "sub": client.client_id,
            "client_id": client.client_id,
            "aud": fhir_base_url(),
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "scope": granted,
            "org": client.organization_id,
            "role": client.role,
        }
        access_token = auth.keys.sign(claims, {"typ": ACCESS_TOKEN_TYP})
        return {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": lifetime,
            "scope": granted,
        }

    server = _Server()
    server.init_app(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", generate)
    server.register_client_auth_method("private_key_jwt", PrivateKeyJwt(auth))
    server.register_grant(ClientCredentialsGrant)
    return server


# --------------------------------------------------------------------------------- views


@bp.post("/auth/token")
def token():
    auth = state()
    try:
        response = auth.server.create_token_response()
    except InsecureTransportError:
        response = auth.server.handle_error_response(
            None,
            InsecureTransportError(
                description="tokens are only issued over https (set PUBLIC_BASE_URL to the https URL)"
            ),
        )
    except OAuth2Error as exc:
        response = auth.server.handle_error_response(None, exc)
    if response.status_code != 200:
        body = response.get_json(silent=True) or {}
        if body.get("error") == "invalid_client" and request.headers.get("Authorization"):
            # RFC 6749 5.2: a client that authenticated with the Authorization header gets 401
            response.status_code = 401
            scheme = request.headers["Authorization"].split(" ", 1)[0][:20] or "Bearer"
            response.headers["WWW-Authenticate"] = f'{scheme} error="invalid_client"'
        _, claims = _unverified(request.form.get("client_assertion") or "")
        auth.emit(
            "token-refused",
            {
                "client_id": _claim(claims, "sub"),
                "assertion_jti": _claim(claims, "jti"),
                "error": body.get("error"),
                "description": body.get("error_description"),
                "remote_addr": request.remote_addr,
            },
        )
    return response


def _claim(claims: dict, name: str) -> str | None:
    value = claims.get(name)
    return value[:200] if isinstance(value, str) else None


@bp.get("/.well-known/smart-configuration")
@bp.get("/fhir/.well-known/smart-configuration")
def smart_configuration():
    from hub.fhir.registry import TYPES

    base = hub_base_url()
    scopes = [f"system/{t}.{ops}" for t in ["*", *sorted(TYPES)] for ops in ("cruds", "rs")]
    response = jsonify(
        {
            "issuer": base,
            "jwks_uri": base + "/auth/jwks",
            "token_endpoint": base + "/auth/token",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
            "scopes_supported": scopes,
            "capabilities": CAPABILITIES,
        }
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/auth/jwks")
def jwks():
    response = jsonify(state().keys.public_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# ------------------------------------------------------------------ for the protected API


def authenticate_request() -> Principal:
    """The Principal of the current request's bearer token (``Unauthorized`` if there is none).

    Checks the token's audience (this hub's FHIR base URL) and issuer (this hub).
    """
    auth = state()
    token = bearer_token(request.headers.get("Authorization"))
    return principal_from_token(auth.hub.db, auth.keys, token, fhir_base_url(), issuer=hub_base_url())


def register(app: Flask) -> AuthState:
    """Register the blueprint and the authorization server on ``app`` (idempotent)."""
    auth = app.extensions.get("xietong_auth")
    if auth is None:
        keys = app.extensions.get("xietong_keys")
        if not isinstance(keys, LazyHubKeys):
            keys = LazyHubKeys(app.extensions["xietong"].config.INSTANCE_PATH)
            app.extensions["xietong_keys"] = keys
        auth = AuthState(app, keys)
        auth.server = _make_server(app, auth)
        app.extensions["xietong_auth"] = auth
    if "auth" not in app.blueprints:
        app.register_blueprint(bp)
    return auth
