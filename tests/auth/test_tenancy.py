"""Tenancy: own, linked and unlinked institutions, regulators; no leak through search, include,
revinclude, totals, history or error messages."""

from __future__ import annotations

from tests.auth.conftest import refer as _refer
from tests.factories import FHIR_JSON, observation, organization
from tests.principals import bearer


def _ids(r):
    assert r.status_code == 200, r.get_json()
    return {
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in r.get_json().get("entry", [])
        if e["search"]["mode"] != "outcome"
    }


def test_unlinked_institution_sees_nothing(alliance):
    x = alliance
    call, pid, oid = x["call"], x["patient"], x["obs"]
    assert call("a", "GET", f"/fhir/Patient/{pid}").status_code == 200
    for url in (
        f"/fhir/Patient/{pid}",
        f"/fhir/Observation/{oid}",
        f"/fhir/Observation/{oid}/_history/1",
        f"/fhir/Observation/{oid}/_history",
        f"/fhir/Patient/{pid}/_history",
    ):
        r = call("b", "GET", url)
        assert r.status_code == 404, url
        assert r.get_json()["issue"][0]["diagnostics"].endswith("is not known")  # no confirmation
    assert _ids(call("b", "GET", f"/fhir/Observation?patient={pid}")) == set()
    assert call("b", "GET", f"/fhir/Observation?patient={pid}&_summary=count").get_json()["total"] == 0
    assert _ids(call("b", "GET", "/fhir/Observation/_history")) == set()
    assert _ids(call("b", "GET", f"/fhir/Patient?_id={pid}&_revinclude=Observation:patient")) == set()
    assert call("b", "GET", "/fhir/_history").status_code == 403  # system history: regulators only


def test_referral_links_both_sides_and_only_them(alliance):
    x = alliance
    call, pid, oid = x["call"], x["patient"], x["obs"]
    sr, task = _refer(x)
    assert call("b", "GET", f"/fhir/Patient/{pid}").status_code == 200
    assert call("b", "GET", f"/fhir/Observation/{oid}").status_code == 200
    assert ("Observation", oid) in _ids(call("b", "GET", f"/fhir/Observation?patient={pid}"))
    assert call("b", "GET", f"/{'fhir/' + task}").status_code == 200
    # B includes the patient it may now see, and A's observation through _revinclude.
    got = _ids(call("b", "GET", f"/fhir/Patient?_id={pid}&_revinclude=Observation:patient"))
    assert got == {("Patient", pid), ("Observation", oid)}
    # C is in no link: still nothing, including through _include from B's side of the world.
    assert call("c", "GET", f"/fhir/Patient/{pid}").status_code == 404
    assert _ids(call("c", "GET", "/fhir/Task?_include=Task:patient")) == set()
    # B writes about P (a consult note) now that it may see P; C may not.
    note = observation(pid, code="8462-4")
    assert call("b", "POST", "/fhir/Observation", json=note).status_code == 201
    r = call("c", "POST", "/fhir/Observation", json=note)
    assert r.status_code == 404 and "not known to your institution" in r.get_json()["issue"][0]["diagnostics"]
    # B may read A's observation but not change it.
    body = call("b", "GET", f"/fhir/Observation/{oid}").get_json()
    r = call("b", "PUT", f"/fhir/Observation/{oid}", json={**body, "status": "amended"})
    assert r.status_code == 403


def test_closing_the_referral_ends_the_link(alliance):
    x = alliance
    call, pid = x["call"], x["patient"]
    _, task_ref = _refer(x)
    assert call("b", "GET", f"/fhir/Patient/{pid}").status_code == 200
    task = call("a", "GET", f"/fhir/{task_ref}").get_json()
    r = call("a", "PUT", f"/fhir/{task_ref}", json={**task, "status": "cancelled"})
    assert r.status_code == 200
    sr_ref = task["focus"]["reference"]
    sr = call("a", "GET", f"/fhir/{sr_ref}").get_json()
    assert call("a", "PUT", f"/fhir/{sr_ref}", json={**sr, "status": "revoked"}).status_code == 200
    assert call("b", "GET", f"/fhir/Patient/{pid}").status_code == 404


def consent_body(
    pid: str, custodian: str, recipient: str, purpose="TREAT", start="2020-01-01", end="2099-12-31"
) -> dict:
    """A PIPL privacy Consent (AUD-07) by which the patient lets ``recipient`` read their records,
    kept by ``custodian``, for ``purpose`` (v3-ActReason) from ``start`` to ``end``."""
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{pid}"},
        "organization": [{"reference": f"Organization/{custodian}"}],
        "policyRule": {"text": "PIPL separate consent"},
        "provision": {
            "type": "permit",
            "period": {"start": start, "end": end},
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                            }
                        ]
                    },
                    "reference": {"reference": f"Organization/{recipient}"},
                }
            ],
            "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose}],
        },
    }


def test_consent_links_for_its_purpose_and_period(alliance):
    x = alliance
    call, pid, orgs = x["call"], x["patient"], x["orgs"]
    consent = consent_body(pid, orgs["a"], orgs["c"])
    r = call("a", "POST", "/fhir/Consent", json=consent)
    assert r.status_code == 201, r.get_json()
    assert call("c", "GET", f"/fhir/Patient/{pid}").status_code == 200
    assert call("b", "GET", f"/fhir/Patient/{pid}").status_code == 404
    expired = {
        **r.get_json(),
        "provision": {**consent["provision"], "period": {"start": "2020-01-01", "end": "2021-01-01"}},
    }
    assert call("a", "PUT", f"/fhir/Consent/{expired['id']}", json=expired).status_code == 200
    assert call("c", "GET", f"/fhir/Patient/{pid}").status_code == 404


def test_worklist_shaped_searches_show_only_what_a_live_link_for_the_purpose_shows(alliance):
    """A Task page sorted by date (walked from the status index, the read filter probed per row),
    its includes, totals and the type's history: C sees A's Task about P only while a Consent
    links C to P for treatment; not for another purpose, not after the Consent's period."""
    x = alliance
    call, pid, orgs = x["call"], x["patient"], x["orgs"]
    task = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "for": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-11-01",
        "requester": {"reference": f"Organization/{orgs['a']}"},
        "owner": {"reference": f"Organization/{orgs['a']}"},
    }
    r = call("a", "POST", "/fhir/Task", json=task)
    assert r.status_code == 201, r.get_json()
    tid = r.get_json()["id"]
    undated = call("a", "POST", "/fhir/Task", json={k: v for k, v in task.items() if k != "authoredOn"})
    assert undated.status_code == 201
    tasks = {("Task", tid), ("Task", undated.get_json()["id"])}
    inc = "_include=Task:patient&_include=Task:requester"
    searches = [
        f"/fhir/Task?status=requested,received&_sort=authored-on&{inc}",
        f"/fhir/Task?status=requested&_sort=-authored-on&{inc}&_count=1",
        f"/fhir/Task?owner=Organization/{orgs['a']}&_sort=authored-on&{inc}",
        f"/fhir/Task?patient={pid}&_sort=-authored-on&{inc}",
    ]

    def c_sees():
        seen = [_ids(call("c", "GET", url)) for url in searches]
        history = call("c", "GET", "/fhir/Task/_history")
        assert history.status_code == 200
        seen.append(
            {
                (e["resource"]["resourceType"], e["resource"]["id"])
                for e in history.get_json().get("entry", [])
            }
        )
        totals = [
            call("c", "GET", "/fhir/Task?status=requested&_summary=count").get_json()["total"],
            call("c", "GET", "/fhir/Task?status=requested&_sort=authored-on&_total=accurate").get_json()[
                "total"
            ],
        ]
        reads = [call("c", "GET", f"/fhir/{ref}").status_code for ref in (f"Task/{tid}", f"Patient/{pid}")]
        return seen, totals, reads

    def consent(code, start, end):
        body = consent_body(pid, orgs["a"], orgs["c"], purpose=code, start=start, end=end)
        r = call("a", "POST", "/fhir/Consent", json=body)
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    nothing = ([set()] * (len(searches) + 1), [0, 0], [404, 404])
    assert c_sees() == nothing
    consent("HRESCH", "2020-01-01", "2099-12-31")  # statistics, not treatment
    assert c_sees() == nothing
    treat = consent("TREAT", "2020-01-01", "2099-12-31")
    seen, totals, reads = c_sees()
    patient, requester = ("Patient", pid), ("Organization", orgs["a"])
    assert seen[0] == tasks | {patient, requester}  # the positive control: the same queries can see
    assert len(seen[1]) == 3 and seen[1] < tasks | {patient, requester}
    assert seen[2] == seen[3] == tasks | {patient, requester}
    assert tasks <= seen[4]
    assert totals == [2, 2] and reads == [200, 200]
    ended = {
        **treat,
        "provision": {**treat["provision"], "period": {"start": "2020-01-01", "end": "2021-01-01"}},
    }
    assert call("a", "PUT", f"/fhir/Consent/{treat['id']}", json=ended).status_code == 200
    assert c_sees() == nothing


def test_includes_of_several_types_each_pass_their_own_read_filter(alliance):
    """The included records of every type come in one statement; each type keeps its own filter.
    C's own Task (about no patient) includes A's ServiceRequest about P, which C may not read, and
    Organization A, which every member may."""
    x = alliance
    call, orgs = x["call"], x["orgs"]
    sr, _ = _refer(x)
    task = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "focus": {"reference": sr},
        "authoredOn": "2026-11-02",
        "requester": {"reference": f"Organization/{orgs['a']}"},
        "owner": {"reference": f"Organization/{orgs['c']}"},
    }
    r = call("c", "POST", "/fhir/Task", json=task)
    assert r.status_code == 201, r.get_json()
    tid = r.get_json()["id"]
    url = f"/fhir/Task?_id={tid}&_include=Task:patient&_include=Task:focus&_include=Task:requester"
    mine, org_a = ("Task", tid), ("Organization", orgs["a"])
    assert _ids(call("regulator", "GET", url)) == {mine, tuple(sr.split("/")), org_a}  # the control
    assert _ids(call("c", "GET", url)) == {mine, org_a}
    assert _ids(call("a", "GET", url)) == set()  # C's Task about no patient is C's alone


def test_regulator_reads_everything_and_writes_nothing(alliance):
    x = alliance
    call, pid, oid = x["call"], x["patient"], x["obs"]
    assert call("regulator", "GET", f"/fhir/Observation/{oid}").status_code == 200
    assert ("Observation", oid) in _ids(call("regulator", "GET", f"/fhir/Observation?patient={pid}"))
    assert call("regulator", "GET", "/fhir/_history").status_code == 200
    r = call("regulator", "POST", "/fhir/Observation", json=observation(pid))
    assert r.status_code == 403 and "regulators read" in r.get_json()["issue"][0]["diagnostics"]


def test_directory_is_shared_but_changed_only_by_its_owner(alliance):
    x = alliance
    call, orgs = x["call"], x["orgs"]
    found = _ids(call("c", "GET", "/fhir/Organization?_count=50"))
    assert {("Organization", o) for o in orgs.values()} <= found
    own = call(
        "a", "POST", "/fhir/Organization", json=organization(name="县医院分院", code="T-a2")
    ).get_json()
    r = call("c", "PUT", f"/fhir/Organization/{own['id']}", json={**own, "name": "改"})
    assert r.status_code == 403


def test_scopes_limit_interactions(app, alliance):
    x = alliance
    reader = bearer(app, x["orgs"]["a"], scopes="system/Observation.rs system/Patient.rs")
    c = app.test_client()
    h = {**FHIR_JSON, **reader}
    assert c.get(f"/fhir/Observation/{x['obs']}", headers=h).status_code == 200
    r = c.post("/fhir/Observation", json=observation(x["patient"]), headers=h)
    assert r.status_code == 403 and "system/Observation.c" in r.get_json()["issue"][0]["diagnostics"]
    assert c.get("/fhir/Condition", headers=h).status_code == 403
    # Included types the scopes do not cover are left out, not leaked.
    got = _ids(
        c.get(
            f"/fhir/Patient?_id={x['patient']}&_revinclude=Observation:patient&_revinclude=Condition:patient",
            headers=h,
        )
    )
    assert ("Observation", x["obs"]) in got and not any(t == "Condition" for t, _ in got)


def test_no_token_is_401_with_a_challenge(app):
    r = app.test_client().get("/fhir/Patient")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.get_json()["resourceType"] == "OperationOutcome"
    r = app.test_client().get("/fhir/Patient", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401


def test_seeded_records_belong_to_their_institutions(app, db):
    from hub.auth.principal import system
    from hub.fhir import transaction
    from hub.seed import demo_alliance_bundle
    from tests.conftest import scalar

    transaction.process(
        app.extensions["xietong"].fhir, system("seed"), demo_alliance_bundle(), "http://x/fhir"
    )
    for table in ("res_patient", "res_observation", "res_encounter", "res_practitioner", "res_organization"):
        assert scalar(db, f"SELECT count(*) FROM {table} WHERE tenant IS NULL") <= (
            1 if table == "res_organization" else 0  # the alliance itself belongs to no member
        ), table
    # A member sees its own patients' records, and not another member's unlinked ones.
    org = scalar(db, "SELECT tenant FROM res_patient ORDER BY pid LIMIT 1")
    own = scalar(db, f"SELECT count(*) FROM res_observation WHERE tenant = '{org}'")
    c = app.test_client()
    h = bearer(app, org)
    got = c.get("/fhir/Observation?_summary=count", headers=h).get_json()["total"]
    assert got >= own > 0
    assert got < scalar(db, "SELECT count(*) FROM res_observation")


def test_an_institution_cannot_write_as_another(app, alliance):
    x = alliance
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "extension": [
                    {
                        "url": "http://xietong.example/fhir/StructureDefinition/entry-owner",
                        "valueReference": {"reference": f"Organization/{x['orgs']['b']}"},
                    }
                ],
                "resource": observation(x["patient"]),
                "request": {"method": "POST", "url": "Observation"},
            }
        ],
    }
    r = x["call"]("a", "POST", "/fhir", json=bundle)
    assert r.status_code == 403 and "writes its records as itself" in r.get_json()["issue"][0]["diagnostics"]
