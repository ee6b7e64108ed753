"""``hub.empi.resolver.Batch``: several records resolved in one transaction with one candidate query
give the outcomes ``resolve`` gives them one after the other, on both databases."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from adapters.tables import intake_ledger
from hub.db import Database, insert_later
from hub.empi import resolve
from hub.empi.resolver import Batch
from hub.empi.tables import empi_person
from hub.errors import Conflict, Unprocessable
from hub.fhir import dates
from hub.models import resource_tables
from tests.empi.test_resolve import _mrn, _read, _without_id_card
from tests.factories import patient


def _count(hub, rtype: str) -> int:
    t = resource_tables[rtype]
    with hub.db.read() as conn:
        return conn.execute(select(func.count()).select_from(t).where(t.c.deleted.is_(False))).scalar_one()


def _batch(hub, records: list[dict], org: str):
    with hub.db.write() as conn:
        batch = Batch(conn, hub, org)
        batch.prefetch(records)
        out = [batch.resolve(r) for r in records]
        batch.flush()
    return out


def test_two_records_of_one_person_in_a_batch_are_one_patient(app, client, orgs):
    hub = app.extensions["xietong"]
    patients = _count(hub, "Patient")
    first = _without_id_card(patient(family="李", given="晓明", mrn="A-1"))
    latin = _without_id_card(patient(mrn="B-1"))  # the same person in pinyin, another MRN
    latin["name"] = [{"text": "Xiaoming Lee"}]
    again = _without_id_card(patient(family="李", given="晓明", mrn="A-1", phone="13900002222"))
    new, linked, matched = _batch(hub, [first, latin, again], orgs["a"])
    assert new.outcome == "new"
    assert (linked.outcome, linked.patient_id) == ("linked", new.patient_id) and linked.provenance_id
    assert (matched.outcome, matched.patient_id) == ("matched", new.patient_id)
    assert _count(hub, "Patient") == patients + 1
    stored = _read(client, new.patient_id)
    assert {i["value"] for i in stored["identifier"]} == {"A-1", "B-1"}
    assert {t["value"] for t in stored["telecom"]} == {"13812345678", "13900002222"}
    # Made, then changed twice (the link, then the new phone): each a version, as one by one.
    assert stored["meta"]["versionId"] == "3"
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(empi_person)).scalar_one() == patients + 1
    # The index holds what the batch left: a later record finds the Patient by the MRN it gained.
    later = _without_id_card(patient(family="王", given="芳", mrn="B-1", birth_date="1950-01-01"))
    with hub.db.write() as conn:
        r = resolve(conn, hub, later, orgs["a"])
    assert (r.outcome, r.patient_id) == ("matched", new.patient_id)


def test_a_batch_mixing_a_new_a_known_and_a_review_person(app, client, orgs):
    hub = app.extensions["xietong"]
    known = patient(family="陈", given="静", gender="female", birth_date="1975-06-07", mrn="K-1")
    with hub.db.write() as conn:
        k = resolve(conn, hub, known, orgs["a"])
    assert k.outcome == "new"
    patients, tasks = _count(hub, "Patient"), _count(hub, "Task")

    stranger = _without_id_card(patient(family="赵", given="磊", birth_date="1988-08-08", mrn="N-1"))
    same_card = patient(  # the known person's resident ID number, another institution's MRN
        family="陈",
        given="静",
        gender="female",
        birth_date="1975-06-07",
        id_card=known["identifier"][0]["value"],
    )
    same_card["identifier"][1] = _mrn("b", "B-9")
    lookalike = _without_id_card(  # same name, birth date and sex, another phone: a person decides
        patient(
            family="陈", given="静", gender="female", birth_date="1975-06-07", mrn="R-1", phone="13911112222"
        )
    )
    new, matched, review = _batch(hub, [stranger, same_card, lookalike], orgs["b"])
    assert new.outcome == "new" and new.patient_id != k.patient_id
    assert (matched.outcome, matched.patient_id) == ("matched", k.patient_id)
    assert review.outcome == "review" and review.patient_id not in (k.patient_id, new.patient_id)
    assert _count(hub, "Patient") == patients + 2 and _count(hub, "Task") == tasks + 1
    task = client.get(f"/fhir/Task/{review.task_id}").get_json()
    assert task["for"]["reference"] == f"Patient/{review.patient_id}"
    assert task["input"][0]["valueReference"]["reference"] == f"Patient/{k.patient_id}"
    # The new patients are the institution's, audited as the EMPI's creates (one event each).
    with hub.db.read() as conn:
        t = resource_tables["Patient"]
        tenants = dict(
            conn.execute(
                select(t.c.fhir_id, t.c.tenant).where(t.c.fhir_id.in_([new.patient_id, review.patient_id]))
            ).all()
        )
        events = [
            orjson.loads(b) for b in conn.execute(select(resource_tables["AuditEvent"].c.body)).scalars()
        ]
    assert tenants == {new.patient_id: orgs["b"], review.patient_id: orgs["b"]}
    for pid in (new.patient_id, review.patient_id):
        creates = [
            e
            for e in events
            if e.get("subtype", [{}])[0].get("code") == "create"
            and any(
                (x.get("what") or {}).get("reference") == f"Patient/{pid}/_history/1" for x in e["entity"]
            )
        ]
        assert len(creates) == 1, creates


def test_a_record_refused_in_a_batch_refuses_alone(app, orgs):
    """A resident ID number the EMPI cannot accept raises where ``resolve`` would, the others of
    the batch unaffected until then."""
    hub = app.extensions["xietong"]
    good = _without_id_card(patient(family="孙", given="勇", mrn="G-1"))
    bad = patient(identifier=[{"system": "urn:oid:2.16.156.10011.1.3", "value": "110105194912310021"}])
    with hub.db.write() as conn:
        batch = Batch(conn, hub, orgs["a"])
        batch.prefetch([good, bad])
        assert batch.resolve(good).outcome == "new"
        with pytest.raises(Unprocessable):
            batch.resolve(bad)


def test_rows_inserted_at_the_end_of_a_transaction(app):
    """``insert_later``: rows asked for during the transaction are written with its last statement;
    rows asked for by a hook that runs after that are written at once; a duplicate key fails the
    transaction whole (409), as the insert would have where it was asked for."""
    hub = app.extensions["xietong"]

    def row(h: str) -> dict:
        return {
            "institution": "org-t",
            "format": "fhir",
            "content_hash": h,
            "source": "t",
            "outcome": "stored",
            "records": 0,
            "received_at": dates.now_utc(),
        }

    class Late:
        def __call__(self, conn):
            insert_later(conn, [(intake_ledger, [row("late")])])

    with hub.db.write() as conn:
        insert_later(conn, [(intake_ledger, [row("one"), row("two")])])
        Database.before_commit(conn, Late)
        with hub.db.read() as other:  # not written yet
            assert other.execute(select(func.count()).select_from(intake_ledger)).scalar_one() == 0
    with hub.db.read() as conn:
        assert sorted(conn.execute(select(intake_ledger.c.content_hash)).scalars()) == ["late", "one", "two"]
    with pytest.raises(Conflict), hub.db.write() as conn:
        insert_later(conn, [(intake_ledger, [row("three"), row("one")])])
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(intake_ledger)).scalar_one() == 3
