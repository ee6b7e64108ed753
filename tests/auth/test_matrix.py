"""The authorization matrix: every route of the app x every kind of caller, against a record that
county hospital A holds about its patient; B is linked to that patient by a referral, C is not.

The matrix is checked against the app's route table: an endpoint that is not in it fails
``test_every_route_is_in_the_matrix``, so no new endpoint can escape.
"""

from __future__ import annotations

import pytest

from tests.auth.conftest import refer
from tests.factories import FHIR_JSON, observation

CALLERS = ("anonymous", "own", "linked", "unlinked", "regulator")
ANY = {c: 200 for c in CALLERS}


def _fhir(own, linked, unlinked, regulator, anonymous=401):
    return {
        "anonymous": anonymous,
        "own": own,
        "linked": linked,
        "unlinked": unlinked,
        "regulator": regulator,
    }


# (endpoint, method) -> (url, body or form, expected status per caller, what a listing must show)
# "sees": whether A's Observation appears in the answer (None: not a listing).
MATRIX = {
    ("fhir.metadata", "GET"): ("/fhir/metadata", None, ANY, None),
    ("fhir.read", "GET"): ("/fhir/Observation/{obs}", None, _fhir(200, 200, 404, 200), None),
    ("fhir.vread", "GET"): ("/fhir/Observation/{obs}/_history/1", None, _fhir(200, 200, 404, 200), None),
    ("fhir.instance_history", "GET"): (
        "/fhir/Observation/{obs}/_history",
        None,
        _fhir(200, 200, 404, 200),
        True,
    ),
    ("fhir.type_history", "GET"): ("/fhir/Observation/_history", None, _fhir(200, 200, 200, 200), True),
    ("fhir.system_history", "GET"): ("/fhir/_history", None, _fhir(403, 403, 403, 200), True),
    ("fhir.search", "GET"): ("/fhir/Observation?patient={pid}", None, _fhir(200, 200, 200, 200), True),
    ("fhir.search", "POST"): (
        "/fhir/Observation/_search",
        {"form": {"patient": "{pid}"}},
        _fhir(200, 200, 200, 200),
        True,
    ),
    ("fhir.create", "POST"): (
        "/fhir/Observation",
        {"json": "new-observation"},
        _fhir(201, 201, 404, 403),
        None,
    ),
    ("fhir.update", "PUT"): (
        "/fhir/Observation/{obs}",
        {"json": "the-observation"},
        _fhir(200, 403, 404, 403),
        None,
    ),
    ("fhir.conditional_update", "PUT"): (
        "/fhir/Observation?_id={obs}",
        {"json": "the-observation-no-id"},
        _fhir(200, 403, 404, 403),
        None,
    ),
    ("fhir.delete", "DELETE"): ("/fhir/Observation/{obs}", None, _fhir(405, 405, 405, 405), None),
    ("fhir.refused", "PATCH"): ("/fhir/Observation/{obs}", None, _fhir(405, 405, 405, 405), None),
    ("fhir.refused", "DELETE"): ("/fhir/Observation?_id={obs}", None, _fhir(405, 405, 405, 405), None),
    ("fhir.bundle", "POST"): ("/fhir", {"json": "batch-read"}, _fhir(200, 200, 200, 200), True),
    # No operation is called $unknown: the dispatcher says so, to every authenticated caller.
    ("fhir.operation", "GET"): ("/fhir/Observation/$unknown", None, _fhir(404, 404, 404, 404), None),
    ("fhir.operation", "POST"): (
        "/fhir/Observation/{obs}/$unknown",
        None,
        _fhir(404, 404, 404, 404),
        None,
    ),
    ("home.index", "GET"): ("/", None, ANY, None),
    ("audit.verify", "GET"): ("/audit/verify", None, _fhir(403, 403, 403, 200), None),
    ("audit.checkpoints", "GET"): ("/audit/checkpoints", None, _fhir(403, 403, 403, 200), None),
    # RFC 6749 5.2: invalid_client is 401 when the request carried an Authorization header.
    ("auth.token", "POST"): (
        "/auth/token",
        {"form": {"grant_type": "client_credentials"}},
        {**{c: 401 for c in CALLERS}, "anonymous": 400},
        None,
    ),
    ("auth.smart_configuration", "GET"): ("/.well-known/smart-configuration", None, ANY, None),
    ("auth.jwks", "GET"): ("/auth/jwks", None, ANY, None),
    ("login.login_form", "GET"): ("/login", None, ANY, None),
    ("login.login_submit", "POST"): (
        "/login",
        {"form": {"username": "x", "password": "y"}},
        {c: 400 for c in CALLERS},
        None,
    ),  # no CSRF token
    ("login.logout", "POST"): ("/logout", {"form": {}}, {c: 400 for c in CALLERS}, None),
    ("login.me", "GET"): ("/me", None, {c: 401 for c in CALLERS}, None),  # a token is not a session
    # ----- adapter intake (tests/adapters/test_api.py submits as the institution itself) -----
    # Only a machine client of the named institution submits; no caller here is Organization/nowhere.
    ("ingest.intake", "POST"): ("/ingest/nowhere/fhir", None, _fhir(403, 403, 403, 403), None),
    # Each institution works its own quarantine; the regulator reads all of it, changes none.
    ("ingest.quarantine_list", "GET"): ("/ingest/quarantine", None, _fhir(200, 200, 200, 200), None),
    ("ingest.quarantine_entry", "GET"): ("/ingest/quarantine/0", None, _fhir(404, 404, 404, 404), None),
    ("ingest.quarantine_replay", "POST"): (
        "/ingest/quarantine/0/replay",
        None,
        _fhir(404, 404, 404, 403),
        None,
    ),
    ("ingest.quarantine_discard", "POST"): (
        "/ingest/quarantine/0/discard",
        None,
        _fhir(404, 404, 404, 403),
        None,
    ),
    # --- referrals (hub/api/referrals.py) ---
    # The letter of a Task: A's Observation id names no Task, for anyone (a referral's own letter and
    # who may read it are tested in tests/referrals).
    ("referrals.referral_letter", "GET"): (
        "/referrals/{obs}/letter.pdf",
        None,
        _fhir(404, 404, 404, 404),
        None,
    ),
    # Every institution sees the statistics of its own referrals; regulators see everyone's.
    ("referrals.referral_stats", "GET"): ("/stats/referrals", None, _fhir(200, 200, 200, 200), None),
    # --- end referrals ---
}
SKIPPED = {("static", "GET"): "static files (none are served: the pages inline their styles)"}


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, rule.rule


def test_every_route_is_in_the_matrix(app):
    missing = [(e, m, r) for e, m, r in routes(app) if (e, m) not in MATRIX and (e, m) not in SKIPPED]
    assert not missing, f"routes with no authorization expectations: {missing}"
    stale = [k for k in MATRIX if k not in {(e, m) for e, m, _ in routes(app)}]
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


def _body(kind, x):
    obs = x["call"]("a", "GET", f"/fhir/Observation/{x['obs']}").get_json()
    return {
        "new-observation": observation(x["patient"]),
        "the-observation": {**obs, "status": "amended"},
        "the-observation-no-id": {k: v for k, v in {**obs, "status": "amended"}.items() if k != "id"},
        "batch-read": {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": f"Observation/{x['obs']}"}}],
        },
    }[kind]


@pytest.mark.parametrize("key", sorted(MATRIX), ids=lambda k: f"{k[0]}-{k[1]}")
def test_matrix(app, alliance, key):
    x = alliance
    refer(x)  # B is linked to A's patient; C is not
    url_t, payload, expected, sees = MATRIX[key]
    endpoint, method = key
    seen = {}
    for caller in CALLERS:
        url = url_t.format(obs=x["obs"], pid=x["patient"])
        kw = {}
        if payload and "json" in payload:
            kw["json"] = _body(payload["json"], x)
        if payload and "form" in payload:
            kw["data"] = {k: v.format(pid=x["patient"]) for k, v in payload["form"].items()}
            kw["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
        r = _call(app, x, caller, method, url, **kw)
        seen[caller] = r.status_code
        if r.status_code >= 400 and url.startswith("/fhir"):
            assert r.get_json()["resourceType"] == "OperationOutcome", (caller, r.data[:200])
        if sees is not None and r.status_code == 200:
            text = r.get_data(as_text=True)
            if key == ("fhir.bundle", "POST"):
                status = r.get_json()["entry"][0]["response"]["status"]
                visible = status.startswith("200")
            else:
                visible = f'"Observation/{x["obs"]}' in text or f'"id":"{x["obs"]}"' in text
            assert visible == (caller in ("own", "linked", "regulator")), (caller, "sees", visible)
    assert seen == expected, f"{endpoint} {method}: got {seen}"


def _call(app, x, caller, method, url, **kw):
    if caller == "anonymous":
        headers = {**FHIR_JSON, **kw.pop("headers", {})}
        return app.test_client().open(url, method=method, headers=headers, **kw)
    as_ = {"own": "a", "linked": "b", "unlinked": "c", "regulator": "regulator"}[caller]
    return x["call"](as_, method, url, **kw)
