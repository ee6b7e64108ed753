"""Referral routes outside the FHIR operations: the patient's letter, the flow statistics, and
the hooks that send referral submissions and plain Task writes through the referral workflow."""

from __future__ import annotations

import re

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from hub.api.security import authenticate, protect
from hub.auth.tenancy import Policy
from hub.errors import BadRequest, Forbidden
from hub.fhir import bundles, dates
from hub.fhir.parse import parse_json
from hub.referrals import guard, letter, operations, service, stats, submit, timers

bp = Blueprint("referrals", __name__)
protect(bp)

TASK_PATH = re.compile(r"^/fhir/Task/([A-Za-z0-9\-.]{1,64})/?$")


def _hub():
    return current_app.extensions["xietong"]


@bp.get("/referrals/<task_id>/letter.pdf")
def referral_letter(task_id: str):
    pdf = letter.letter_for(_hub(), g.principal, task_id)
    return Response(
        pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="referral-{task_id}.pdf"'},
    )


@bp.get("/stats/referrals")
def referral_stats():
    principal = g.principal
    Policy(principal).require("Task", "search")
    org = request.args.get("organization") or None
    if not (principal.is_regulator or principal.is_admin or principal.kind == "system"):
        if org not in (None, principal.organization):
            raise Forbidden("an institution sees the statistics of its own referrals")
        org = principal.organization
    start, end = _when("from"), _when("to")
    with _hub().db.read() as conn:
        return jsonify(stats.referral_stats(conn, start, end, org))


def _when(name: str):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return dates.parse_range(raw)[0]
    except dates.BadDate as exc:
        raise BadRequest(f"{name}: {exc}", [name]) from None


# ----- the referral workflow in front of the generic FHIR routes -----


def _principal():
    if g.get("principal") is None:
        from hub.audit.api import request_meta
        from hub.audit.recorder import META_KEY

        principal = authenticate()
        principal.extra[META_KEY] = request_meta()
        g.principal = principal
    return g.principal


def _fhir_json(payload, status: int = 200) -> Response:
    return Response(
        bundles.dumps(payload), status=status, content_type="application/fhir+json; charset=utf-8"
    )


def _json_body() -> dict | None:
    if (request.mimetype or "") not in ("application/fhir+json", "application/json", "application/json+fhir"):
        return None  # the FHIR view answers 415
    return parse_json(request.get_data(cache=True))


def workflow_hooks():
    path, method = request.path, request.method
    if method == "POST" and path in ("/fhir", "/fhir/"):
        body = _json_body()
        if body is not None and submit.is_submission(body):
            answer, status = submit.submit(_hub(), _principal(), body, request.headers.get("Idempotency-Key"))
            return _fhir_json(answer, status)
        if isinstance(body, dict):
            for e in body.get("entry") or ():
                if not isinstance(e, dict):
                    continue
                req = e.get("request") or {}
                if req.get("method") == "POST":
                    guard.refuse_plain_create(e.get("resource"))
                elif req.get("method") == "PUT":
                    guard.check_bundle_put(_hub(), str(req.get("url", "")), e.get("resource"))
        return None
    if method == "POST" and path in ("/fhir/Task", "/fhir/Task/"):
        body = _json_body()
        if body is not None:
            guard.refuse_plain_create(body)
        return None
    m = TASK_PATH.match(path)
    if m is None:
        return None
    if method == "PUT":
        body = _json_body()
        if isinstance(body, dict) and body.get("resourceType") == "Task":
            task = guard.put(_hub(), _principal(), m.group(1), body)
            if task is not None:
                response = _fhir_json(task)
                response.headers["ETag"] = f'W/"{task["meta"]["versionId"]}"'
                return response
    elif method == "GET":
        service.opened(_hub(), _principal(), m.group(1))
    return None


def register(app: Flask) -> None:
    assert operations.available_actions  # the $operations are registered by importing the module
    app.register_blueprint(bp)
    app.before_request(workflow_hooks)
    timers.register_cli(app)
    stop = timers.start_scheduler(app)
    if stop is not None:
        app.extensions["xietong_referral_timer"] = stop
