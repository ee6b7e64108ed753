"""Several pieces in one transaction, and several records in one write: the same outcome, rows,
index entries, history and audit as one at a time; a piece that fails is quarantined alone."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from adapters.tables import intake_ledger, intake_record
from hub.fhir.registry import TYPES
from hub.ingest.service import Intake, institution_principal
from hub.models import idx_date, idx_ref, idx_string, idx_token, resource_history, resource_tables
from tests.adapters.conftest import count, resources

MRN = "http://his.yuxi-first.example/fhir/sid/mrn"
LIS = "http://his.yuxi-first.example/fhir/CodeSystem/lis-item"


def bundle(
    mrn: str, family: str, given: str, birth: str, results: list[float], extra: dict | None = None
) -> dict:
    entries = [
        {
            "fullUrl": f"urn:uuid:p-{mrn}",
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": MRN, "value": mrn}],
                "name": [{"family": family, "given": [given]}],
                "gender": "female",
                "birthDate": birth,
            },
        }
    ]
    for k, value in enumerate(results):
        entries.append(
            {
                "fullUrl": f"urn:uuid:o-{mrn}-{k}",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": LIS, "code": "GLU"}], "text": "空腹血糖"},
                    "subject": {"reference": f"urn:uuid:p-{mrn}"},
                    "effectiveDateTime": "2026-11-15T08:30:00+08:00",
                    "valueQuantity": {"value": value, "unit": "mmol/L"},
                },
            }
        )
    if extra is not None:
        entries.append({"fullUrl": f"urn:uuid:x-{mrn}", "resource": extra})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def ndjson(*bundles: dict) -> bytes:
    return b"\n".join(orjson.dumps(b) for b in bundles) + b"\n"


def scalar(hub, q):
    with hub.db.read() as conn:
        return conn.execute(q).scalar_one()


def test_a_failing_piece_in_a_group_is_quarantined_alone(hub):
    flag = {
        "resourceType": "Flag",
        "status": "active",
        "code": {"text": "跌倒风险"},
        "subject": {"reference": "urn:uuid:p-G-2"},
    }
    payload = ndjson(
        bundle("G-1", "王", "芳", "1961-01-02", [5.1, 6.2]),
        bundle("G-2", "李", "娜", "1972-03-04", [7.3], extra=flag),  # a type the hub does not store
        bundle("G-3", "赵", "敏", "1983-05-06", [4.4, 5.5, 6.6]),
    )
    intake = Intake(hub, "yuxi-first")
    patients, observations = count(hub, "Patient"), count(hub, "Observation")
    s = intake.run("fhir", payload, "three.ndjson")
    assert [r.outcome for r in s.results] == ["stored", "quarantined", "stored"], s.as_json()
    assert s.results[1].stage == "store" and "Flag" in s.results[1].reason
    assert [r.records for r in s.results] == [2, 0, 3]
    # Nothing of the failed piece: neither its patient nor its records nor its intake rows.
    assert count(hub, "Patient") == patients + 2
    assert count(hub, "Observation") == observations + 5
    assert scalar(hub, select(func.count()).select_from(intake_record)) == 5
    with hub.db.read() as conn:
        ledger = sorted(conn.execute(select(intake_ledger.c.outcome, intake_ledger.c.records)).all())
    assert [tuple(r) for r in ledger] == [("quarantined", 0), ("stored", 2), ("stored", 3)]
    again = intake.run("fhir", payload, "three.ndjson")
    assert (again.duplicate, again.stored, again.quarantined) == (3, 0, 0)
    assert count(hub, "Observation") == observations + 5


def test_a_group_stores_what_pieces_one_by_one_store(hub):
    """The same Bundles as one payload (one group) and one payload each: the same outcomes, and per
    piece one AuditEvent for its records (entities: the patient and every record)."""
    people = [
        ("A", "王", "芳", "1961-01-02"),
        ("B", "李", "娜", "1972-03-04"),
        ("C", "赵", "敏", "1983-05-06"),
    ]
    grouped = Intake(hub, "yuxi-first").run(
        "fhir", ndjson(*(bundle(f"M-{k}", f, g, b, [5.0, 6.0]) for k, f, g, b in people)), "all.ndjson"
    )
    alone = [
        Intake(hub, "yuxi-first").run(
            "fhir",
            orjson.dumps(bundle(f"N-{k}", "欧阳", g + "华", f"{int(b[:4]) + 5}{b[4:]}", [5.0, 6.0])),
            f"{k}.json",
        )
        for k, f, g, b in people
    ]
    assert [(r.outcome, r.link, r.records) for r in grouped.results] == [
        (r.outcome, r.link, r.records) for s in alone for r in s.results
    ]
    events = [orjson.loads(b) for b in _bodies(hub, "AuditEvent")]
    for result in grouped.results + [r for s in alone for r in s.results]:
        about = [
            e
            for e in events
            if e.get("subtype", [{}])[0].get("code") == "create"
            and any(
                (x.get("what") or {}).get("reference") == f"Patient/{result.patient_id}"
                for x in e.get("entity", [])
            )
            and any("Observation/" in (x.get("what") or {}).get("reference", "") for x in e.get("entity", []))
        ]
        assert len(about) == 1, about
        assert sum("Observation/" in x["what"]["reference"] for x in about[0]["entity"]) == 2


def test_a_record_sent_again_in_the_same_group_is_updated_not_doubled(hub):
    first = bundle("U-1", "周", "杰", "1990-09-09", [5.0])
    first["entry"][1]["fullUrl"] = "http://his.yuxi-first.example/fhir/Observation/lab-77"
    second = orjson.loads(orjson.dumps(first))
    second["entry"][1]["resource"]["valueQuantity"]["value"] = 9.9
    observations = count(hub, "Observation")
    s = Intake(hub, "yuxi-first").run("fhir", ndjson(first, second), "twice.ndjson")
    assert [r.outcome for r in s.results] == ["stored", "stored"], s.as_json()
    assert count(hub, "Observation") == observations + 1
    row = _observation_from(hub, "fhir|http://his.yuxi-first.example/fhir/Observation/lab-77")
    assert row.version == 2 and orjson.loads(row.body)["valueQuantity"]["value"] == 9.9


def _observation_from(hub, source_key: str):
    """The version and body of the Observation that the record under ``source_key`` became."""
    with hub.db.read() as conn:
        fid = conn.execute(
            select(intake_record.c.fhir_id).where(intake_record.c.source_key == source_key)
        ).scalar_one()
        t = resource_tables["Observation"]
        return conn.execute(select(t.c.version, t.c.body).where(t.c.fhir_id == fid)).one()


def _bodies(hub, rtype):
    t = resource_tables[rtype]
    with hub.db.read() as conn:
        return list(conn.execute(select(t.c.body)).scalars())


def _observation(patient: str, value: float, code: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": "血糖"},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-11-15T08:30:00+08:00",
        "valueQuantity": {"value": value, "unit": "mmol/L"},
        "performer": [{"display": "检验科"}],
    }


def test_create_many_writes_what_create_writes(hub):
    """Rows, history, index rows and audited references: create_many as create one by one."""
    org = Intake(hub, "yuxi-first").org_id
    principal = institution_principal(org)
    obs = TYPES["Observation"]
    with hub.db.write() as conn:
        patient = hub.fhir.store(conn, principal).create(
            TYPES["Patient"], {"resourceType": "Patient", "name": [{"family": "钱", "given": ["敏"]}]}
        )
    items = [(patient.id, 5.5, "2345-7"), (patient.id, 6.6, "14771-0"), (patient.id, 7.7, "2345-7")]
    with hub.db.write() as conn:
        store = hub.fhir.store(conn, principal)
        one = [store.create(obs, _observation(*item), fid=f"one-{n}") for n, item in enumerate(items)]
    with hub.db.write() as conn:
        store = hub.fhir.store(conn, principal)
        many = store.create_many([(obs, _observation(*item), f"many-{n}") for n, item in enumerate(items)])
    assert [(s.version, s.tenant, s.patient, s.method) for s in one] == [
        (s.version, s.tenant, s.patient, s.method) for s in many
    ]

    def same(body: str, fid: str) -> dict:
        d = orjson.loads(body)
        assert d["id"] == fid and d["meta"]["versionId"] == "1"
        del d["id"], d["meta"]["lastUpdated"]
        return d

    t = resource_tables["Observation"]
    h = resource_history
    with hub.db.read() as conn:
        for a, b in zip(one, many, strict=True):
            rows = {
                s.id: conn.execute(
                    select(
                        t.c.pid,
                        t.c.version,
                        t.c.deleted,
                        t.c.tenant,
                        t.c.patient,
                        t.c.date_low,
                        t.c.date_high,
                        t.c.body,
                    ).where(t.c.fhir_id == s.id)
                ).one()
                for s in (a, b)
            }
            ra, rb = rows[a.id], rows[b.id]
            assert ra[1:6] == rb[1:6] and ra.date_high == rb.date_high
            assert same(ra.body, a.id) == same(rb.body, b.id)
            hist = {
                s.id: conn.execute(
                    select(h.c.version, h.c.res_type, h.c.method, h.c.deleted, h.c.body).where(
                        h.c.pid == rows[s.id].pid
                    )
                ).all()
                for s in (a, b)
            }
            assert (
                [r[:4] for r in hist[a.id]]
                == [r[:4] for r in hist[b.id]]
                == [(1, "Observation", "POST", False)]
            )
            assert hist[a.id][0].body == ra.body and hist[b.id][0].body == rb.body
            for table in (idx_token, idx_string, idx_date, idx_ref):
                cols = [c for c in table.c if c.name not in ("pid", "id")]
                got = {
                    s.id: sorted(
                        tuple(str(v) for v in r)
                        for r in conn.execute(select(*cols).where(table.c.pid == rows[s.id].pid))
                    )
                    for s in (a, b)
                }
                assert got[a.id] == got[b.id], table.name
    # Audit: one event per record one by one; one event for the patient's three records at once.
    events = [orjson.loads(b) for b in _bodies(hub, "AuditEvent")]

    def entities(prefix: str) -> list[list[str]]:
        out = []
        for e in events:
            refs = [(x.get("what") or {}).get("reference", "") for x in e.get("entity", [])]
            if any(r.startswith(f"Observation/{prefix}") for r in refs):
                out.append(sorted(refs))
        return out

    assert len(entities("one-")) == 3 and len(entities("many-")) == 1
    assert entities("many-")[0] == sorted(
        [f"Patient/{patient.id}"] + [f"Observation/{s.id}/_history/1" for s in many]
    )
    assert sorted(r for refs in entities("one-") for r in refs if r.startswith("Observation/")) == sorted(
        f"Observation/{s.id}/_history/1" for s in one
    )


def test_two_bundles_of_one_person_in_a_group_are_one_patient(hub):
    """The same person under two MRNs in one payload (one group): linked to ONE hub Patient, as the
    pieces one by one are; then a group of a new person, a known one and a look-alike for review."""
    phone = {"system": "phone", "value": "13900005555"}
    first = bundle("S-1", "钱", "芳", "1966-06-06", [5.1])
    second = bundle("S-2", "钱", "芳", "1966-06-06", [6.2])  # another MRN of the same person
    for b in (first, second):
        b["entry"][0]["resource"]["telecom"] = [phone]
    intake = Intake(hub, "yuxi-first")
    patients = count(hub, "Patient")
    s = intake.run("fhir", ndjson(first, second), "same-person.ndjson")
    assert [(r.outcome, r.link) for r in s.results] == [("stored", "new"), ("stored", "linked")], s.as_json()
    assert s.results[0].patient_id == s.results[1].patient_id
    assert count(hub, "Patient") == patients + 1
    hub_patient = next(p for p in resources(hub, "Patient") if p["id"] == s.results[0].patient_id)
    assert {i["value"] for i in hub_patient["identifier"]} == {"S-1", "S-2"}
    observations = [
        o
        for o in resources(hub, "Observation")
        if o["subject"]["reference"] == f"Patient/{hub_patient['id']}"
    ]
    assert len(observations) == 2

    known = bundle("S-3", "钱", "芳", "1966-06-06", [7.3])  # the known person again (a third MRN)
    known["entry"][0]["resource"]["telecom"] = [phone]
    lookalike = bundle("S-4", "钱", "芳", "1966-06-06", [8.4])  # same name, birth date, sex; no phone
    lookalike["entry"][0]["resource"]["telecom"] = [{"system": "phone", "value": "13700001234"}]
    stranger = bundle("S-5", "孙", "强", "1990-01-01", [4.0])
    tasks = count(hub, "Task")
    s = intake.run("fhir", ndjson(stranger, known, lookalike), "mixed.ndjson")
    assert [(r.outcome, r.link) for r in s.results] == [
        ("stored", "new"),
        ("stored", "linked"),
        ("stored", "review"),
    ], s.as_json()
    assert s.results[1].patient_id == hub_patient["id"]
    assert len({r.patient_id for r in s.results}) == 3
    assert count(hub, "Patient") == patients + 3 and count(hub, "Task") == tasks + 1
    again = intake.run("fhir", ndjson(stranger, known, lookalike), "mixed.ndjson")
    assert (again.duplicate, again.stored) == (3, 0)
    assert count(hub, "Patient") == patients + 3


def test_the_ledger_and_the_records_known_are_found_by_hash_and_key(hub):
    """``_priors``: the pieces received before by content hash, the records stored before by their key
    at the source -- this institution's and this format's only, unknown ones left out."""
    intake = Intake(hub, "yuxi-first")
    payload = orjson.dumps(bundle("P-1", "王", "芳", "1960-01-01", [5.1, 6.2]))
    [result] = intake.run("fhir", payload, "t").results
    assert result.outcome == "stored"
    with hub.db.read() as conn:
        rows = {r.source_key: r for r in conn.execute(select(intake_record))}
        digest = conn.execute(select(intake_ledger.c.content_hash)).scalar_one()
    keys = sorted(rows)
    assert len(keys) == 2
    other = Intake(hub, "tonghai-county")
    with hub.db.write() as conn:
        prior, known = intake._priors(
            conn, "fhir", {digest, "0" * 64}, [*keys, "fhir|urn:uuid:nothing", None]
        )
        assert set(prior) == {digest} and prior[digest].outcome == "stored"
        assert prior[digest].patient_id == result.patient_id
        assert known == {k: (rows[k].fhir_id, rows[k].content_hash) for k in keys}
        assert intake._priors(conn, "hl7v2", {digest}, []) == ({}, {})
        assert other._priors(conn, "fhir", {digest}, keys) == ({}, {})
        assert intake._priors(conn, "fhir", set(), []) == ({}, {})


def test_a_payload_of_several_groups_is_stored_in_order_as_one_group_after_another(hub):
    """More pieces than a group holds: each group stored after the one before it -- a piece received
    in an earlier group is a duplicate, a record sent in an earlier group is updated, a bad piece is
    quarantined alone, and every result comes back in the payload's order."""
    from hub.ingest.service import GROUP_PIECES

    n = GROUP_PIECES * 2 + 10
    bundles = [bundle(f"G-{k}", "孙", "丽", f"19{40 + k % 50}-02-03", [4.0 + k % 7]) for k in range(n)]
    bundles[GROUP_PIECES + 5] = bundles[3]  # the same bytes, a group later: a duplicate
    changed = orjson.loads(orjson.dumps(bundles[7]))
    changed["entry"][1]["resource"]["valueQuantity"]["value"] = 12.5
    bundles[2 * GROUP_PIECES + 1] = changed  # the same records, changed, two groups later: updated
    bad = orjson.loads(orjson.dumps(bundles[GROUP_PIECES + 9]))
    bad["entry"][1]["resource"]["status"] = "done"
    bundles[GROUP_PIECES + 9] = bad  # refused by validation: quarantined alone
    observations = count(hub, "Observation")
    seen = []
    s = Intake(hub, "yuxi-first").run(
        "fhir", ndjson(*bundles), "many.ndjson", progress=lambda x: seen.append(x.read)
    )
    assert [r.source for r in s.results] == [f"many.ndjson#{k + 1}" for k in range(n)]
    assert seen == list(range(1, n + 1))
    outcomes = {k: r.outcome for k, r in enumerate(s.results) if r.outcome != "stored"}
    assert outcomes == {GROUP_PIECES + 5: "duplicate", GROUP_PIECES + 9: "quarantined"}, s.as_json()
    assert s.results[GROUP_PIECES + 5].patient_id == s.results[3].patient_id
    assert s.results[2 * GROUP_PIECES + 1].patient_id == s.results[7].patient_id
    assert count(hub, "Observation") == observations + n - 3
    row = _observation_from(hub, "fhir|urn:uuid:o-G-7-0")
    assert row.version == 2 and orjson.loads(row.body)["valueQuantity"]["value"] == 12.5
    again = Intake(hub, "yuxi-first").run("fhir", ndjson(*bundles), "many.ndjson")
    assert {r.outcome for r in again.results} == {"duplicate"} and count(
        hub, "Observation"
    ) == observations + n - 3
