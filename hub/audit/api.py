"""``/audit``: the regulator checks the chain and exports the signed daily checkpoints.

``GET /audit/verify[?from_seq=N]``: recomputes the chain (``hub.audit.chain.verify``; from seq N
on, linking to the stored hash of N-1) and answers 200 whether it holds or not:
``{ok, checked, head_seq, first_broken_seq, reason, checked_at}``. The walk takes about 50 s per
million events on 2 cores (bench/audit_verify.py): a large chain is better checked from the last
checkpoint (``from_seq``) or with ``flask audit verify``.
``GET /audit/checkpoints[?since=YYYY-MM-DD]``: the stored checkpoints, oldest first, each with its
JWS (and ``signature_valid`` when the hub key is at hand).

Only regulators: the caller is ``flask.g.principal`` (set by the authentication hook of the app);
no principal is a 401, any other role a 403, both as OperationOutcomes.

Also here, for the views and hooks that write AuditEvents: ``request_meta()`` (what an AuditEvent
takes from the current request) and ``LoginAudit`` (the ``xietong_login`` hook that chains sign-in,
failure and sign-out events in the transaction that records them).
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request

from hub.api import urls
from hub.api.security import protect
from hub.audit import chain, events
from hub.audit.events import RequestMeta
from hub.auth.principal import Principal
from hub.errors import BadRequest, Forbidden, HubError, Unauthorized, outcome_for
from hub.fhir import dates

bp = Blueprint("audit", __name__, url_prefix="/audit")
protect(bp)


def register(app: Flask) -> None:
    """Register the blueprint (idempotent)."""
    if "audit" not in app.blueprints:
        app.register_blueprint(bp)


def _hub():
    return current_app.extensions["xietong"]


def _json(payload, status: int = 200, mimetype: str = "application/json") -> Response:
    return Response(orjson.dumps(payload), status=status, mimetype=mimetype)


def _regulator() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized(
            "the audit trail needs an access token (Authorization: Bearer …) or a signed-in session"
        )
    if not principal.is_regulator:
        raise Forbidden("only the regulator may verify the audit trail and export its checkpoints")
    return principal


@bp.errorhandler(HubError)
def _hub_error(err: HubError):
    body, status = outcome_for(err)
    return _json(body, status, "application/fhir+json")


@bp.get("/verify")
def verify():
    _regulator()
    raw = request.args.get("from_seq", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest(f"from_seq: '{raw[:20]}' is not a positive whole number", ["from_seq"])
    with chain.snapshot(_hub().db) as conn:
        head = chain.head_seq(conn)
        if int(raw) > head + 1:
            raise BadRequest(f"from_seq: the chain has {head} events", ["from_seq"])
        result = chain.verify(conn, int(raw))
    return _json({**result.as_dict(), "checked_at": dates.instant(dates.now_utc())})


@bp.get("/checkpoints")
def checkpoints():
    _regulator()
    since = request.args.get("since")
    if since is not None:
        try:
            dates.parse_range(since)
        except dates.BadDate:
            raise BadRequest(f"since: '{since[:40]}' is not a date (YYYY-MM-DD)", ["since"]) from None
    with _hub().db.read() as conn:
        cps = chain.list_checkpoints(conn, since)
    keys = current_app.extensions.get("xietong_keys")
    if keys is not None and hasattr(keys, "public_jwks"):
        check = chain.jws_verifier(keys.public_jwks())
        for cp in cps:
            cp["signature_valid"] = chain.verify_checkpoint(cp, check)
    return _json(cps)


# --------------------------------------------------------------------------- for writers


def request_meta() -> RequestMeta:
    """What an AuditEvent records of the current request: the caller's address, X-Request-Id, the
    hub's base URL (``PUBLIC_BASE_URL``, else as the caller addressed it)."""
    cfg = _hub().config
    base = cfg.PUBLIC_BASE_URL or urls.host_url()
    return RequestMeta(
        remote_addr=request.remote_addr,
        request_id=request.headers.get("X-Request-Id"),
        server_url=base.rstrip("/"),
    )


class LoginAudit:
    """The ``app.extensions["xietong_login"]`` hook (``hub.api.login``): each sign-in (outcome 0),
    failed sign-in (4, with the reason) and sign-out becomes a chained AuditEvent, written in the
    login's own transaction (``detail["conn"]``)."""

    def __init__(self, db, server_url: str | None = None):
        self.db = db
        self.server_url = server_url

    def on_event(self, kind: str, detail: dict) -> None:
        failed = kind == "login-failed"
        meta = RequestMeta(
            remote_addr=detail.get("remote_addr"),
            request_id=detail.get("request_id"),
            server_url=self.server_url,
            when=detail.get("at"),
        )
        event = events.login_event(
            detail.get("username") or "(none)",
            "4" if failed else "0",
            meta,
            organization=detail.get("organization"),
            role=detail.get("role"),
            outcome_desc=detail.get("reason") if failed else None,
            logout=kind == "logout",
        )
        chain.append(self.db, detail["conn"], event)
