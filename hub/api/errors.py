"""One place where failures become responses: OperationOutcomes under /fhir."""

from __future__ import annotations

import logging

from flask import Flask, g, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from hub.audit.writer import AuditWriteFailed
from hub.errors import HubError, Issue, operation_outcome, outcome_for

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}


def _fhir_path() -> bool:
    return request.path == "/fhir" or request.path.startswith("/fhir/")


def register(app: Flask) -> None:
    from hub.api.fhir_rest import fhir_response

    @app.errorhandler(HubError)
    def hub_error(err: HubError):
        body, status = outcome_for(err)
        if status in (401, 403) and request.path.startswith(("/fhir", "/audit")):
            _record_denied(app, body)
        response = fhir_response(body, status)
        if status == 401:  # RFC 6750 3
            response.headers["WWW-Authenticate"] = 'Bearer realm="xietong", error="invalid_token"'
        return response

    def _record_denied(app: Flask, body: dict) -> None:
        from hub.audit.api import request_meta
        from hub.audit.recorder import record_denied

        subtype = (
            {
                "GET": "search-type" if not request.view_args.get("fid") else "read",
                "POST": "create",
                "PUT": "update",
                "DELETE": "delete",
            }.get(request.method, "operation")
            if request.view_args is not None
            else "operation"
        )
        query = request.full_path if request.method == "GET" else None
        try:
            record_denied(
                app.extensions["xietong"].db, g.get("principal"), subtype, body, request_meta(), query
            )
        except Exception:  # the refusal stands even if its record cannot be written; say so loudly
            log.exception("could not record a refused request in the audit trail")

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if not _fhir_path():
            return err
        msg = {
            413: f"the request body is larger than this server accepts "
            f"({app.config['MAX_CONTENT_LENGTH']} bytes)",
            404: f"there is no FHIR endpoint at {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
        }.get(err.code, err.description)
        issue = Issue(msg, _HTTP_CODES.get(err.code, "processing"))
        return fhir_response(operation_outcome([issue]), err.code or 500)

    @app.errorhandler(DBAPIError)
    def database_error(err: DBAPIError):
        if not err.connection_invalidated:
            return unexpected(err)
        log.warning("database connection lost on %s %s: %s", request.method, request.path, err.orig)
        issue = Issue("the database is unavailable; nothing was stored, retry shortly", "transient")
        return fhir_response(operation_outcome([issue]), 503)

    @app.errorhandler(AuditWriteFailed)
    def audit_unwritten(err: AuditWriteFailed):
        log.warning("access record not committed on %s %s: %s", request.method, request.path, err)
        issue = Issue(
            "the record of this access could not be written, so the records are not returned; retry shortly",
            "transient",
        )
        return fhir_response(operation_outcome([issue]), 503)

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        issue = Issue(
            "internal error; the request was not carried out (nothing was stored)", "exception", "fatal"
        )
        if _fhir_path():
            return fhir_response(operation_outcome([issue]), 500)
        return "Internal Server Error", 500
