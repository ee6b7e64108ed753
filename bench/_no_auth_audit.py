"""The hub with authentication and audit taken out: the "without" side of ``bench/auth_audit.py``.

    gunicorn ... bench._no_auth_audit:app                 # with the repository on PYTHONPATH (cwd)
    gunicorn ... bench._no_auth_audit:app_without_audit   # tokens as usual, only the audit taken out

The app is ``hub.create_app()`` as ``wsgi.py`` builds it; then, and only in this process:

- ``hub.api.security.authenticate`` (what ``protect()`` calls before every request of a protected
  blueprint, looked up by name at each call) returns a Principal built once at start-up: the one
  named by the request's ``X-Bench-As`` header among ``$XIETONG_BENCH_PRINCIPALS`` (JSON:
  ``{"a": {"organization": "...", "role": "institution", "scopes": "system/*.cruds"}, ...}``).
  No token is parsed or verified, no client is looked up. Tenancy still applies: the Principal is
  an institution's, so what it may read and write is filtered exactly as with a token.
- ``hub.audit.api.request_meta`` (what an AuditEvent records of the request, built per request by
  ``protect()``) returns an empty ``RequestMeta``.
- The audit recorder does nothing: ``hub.audit.recorder.record_write`` (imported by name inside
  ``Store._recorded`` at each write, so patched on the recorder module), ``record_access``
  (imported at module level by ``hub.fhir.service`` and ``hub.referrals.worklist``, so patched there
  too) and ``record_denied`` (imported inside the error handler at each refusal).

``app_without_audit`` takes out the audit alone: callers present real access tokens, verified as in
production (``bench/referrals.py`` uses it for the part of a worklist request that is not its audit).

``apply(principals)`` / ``restore()`` do the same in-process (the profile in ``bench/auth_audit.py``),
either part alone if asked.
"""

from __future__ import annotations

import json
import os

from flask import request

import hub.api.security as security
import hub.audit.api as audit_api
import hub.audit.recorder as recorder
import hub.fhir.service as service
import hub.referrals.worklist as worklist
from hub import create_app
from hub.audit.events import NO_REQUEST
from hub.auth.principal import Principal

ENV = "XIETONG_BENCH_PRINCIPALS"
HEADER = "X-Bench-As"

_ORIGINAL = {
    (security, "authenticate"): security.authenticate,
    (audit_api, "request_meta"): audit_api.request_meta,
    (recorder, "record_write"): recorder.record_write,
    (recorder, "record_access"): recorder.record_access,
    (recorder, "record_denied"): recorder.record_denied,
    (service, "record_access"): service.record_access,
    (worklist, "record_access"): worklist.record_access,
}


def principals_from(spec: dict) -> dict[str, Principal]:
    return {
        name: Principal(
            "client",
            f"bench-{name}",
            p.get("organization"),
            p.get("role", "institution"),
            tuple(p.get("scopes", "system/*.cruds").split()),
            jti=None,
            name=f"bench caller {name}",
        )
        for name, p in spec.items()
    }


def _nothing(*args, **kwargs) -> None:
    return None


def apply(principals: dict[str, Principal] | None, *, auth: bool = True, audit: bool = True) -> None:
    """Take authentication and/or audit out of this process's hub (every app in it)."""
    if auth:
        default = next(iter(principals.values()))

        def fixed_principal() -> Principal:
            return principals.get(request.headers.get(HEADER, ""), default)

        security.authenticate = fixed_principal
    if audit:
        audit_api.request_meta = lambda: NO_REQUEST
        recorder.record_write = _nothing
        recorder.record_access = _nothing
        recorder.record_denied = _nothing
        service.record_access = _nothing
        worklist.record_access = _nothing


def restore() -> None:
    for (module, name), fn in _ORIGINAL.items():
        setattr(module, name, fn)


_apps: dict = {}


def __getattr__(name: str):
    """``app`` and ``app_without_audit`` are built when gunicorn first asks for one, not when a
    benchmark imports this module."""
    if name not in ("app", "app_without_audit"):
        raise AttributeError(name)
    if name not in _apps:
        if name == "app":
            spec = json.loads(os.environ.get(ENV) or "{}")
            if not spec:
                raise RuntimeError(f'{ENV} must name the principals (JSON): {{"a": {{"organization": "…"}}}}')
            application = create_app()
            apply(principals_from(spec))
        else:
            application = create_app()
            apply(None, auth=False)
        _apps[name] = application
    return _apps[name]
