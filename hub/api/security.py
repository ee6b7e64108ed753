"""Who is calling: every request to a protected blueprint gets ``g.principal`` or a 401."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from hub.audit.recorder import META_KEY
from hub.auth.principal import Principal
from hub.errors import Forbidden, Unauthorized


def authenticate() -> Principal:
    """The caller: a bearer token (machine client), else a signed-in person's session."""
    if request.headers.get("Authorization"):
        from hub.api.auth import authenticate_request

        return authenticate_request()
    login = current_app.extensions.get("xietong_login")
    if login is not None:
        from hub.api.login import csrf_valid, current_user_principal

        user = current_user_principal()
        if user is not None:
            if request.method not in ("GET", "HEAD", "OPTIONS") and not csrf_valid():
                raise Forbidden(
                    "a signed-in session must send its CSRF token (X-CSRF-Token header) with writes"
                )
            return user
    raise Unauthorized(
        "this endpoint needs an access token (Authorization: Bearer …, from POST /auth/token) "
        "or a signed-in session"
    )


# Readable by anyone: what the server can do (SMART discovery starts there).
PUBLIC_ENDPOINTS = frozenset({"fhir.metadata"})


def protect(bp: Blueprint) -> None:
    @bp.before_request
    def _require_principal():
        if request.endpoint in PUBLIC_ENDPOINTS or g.get("principal") is not None:
            return
        from hub.audit.api import request_meta  # the audit blueprint is protected by this module

        principal = authenticate()
        # What the audit trail records of this request (address, X-Request-Id) travels with its caller.
        principal.extra[META_KEY] = request_meta()
        g.principal = principal
