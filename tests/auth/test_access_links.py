"""The access links of new records: written with them, as ``links_of`` derives them, on both
databases; on PostgreSQL in the records' own create statement, not a statement of their own."""

from __future__ import annotations

from sqlalchemy import select

from hub.auth.tables import access_link
from hub.auth.tenancy import links_of, org_resolver
from hub.fhir.registry import TYPES
from hub.fhir.store import Store
from tests.factories import patient

CLINIC = "link-clinic"
HOSPITAL = "link-hospital"


def _held_by(p: dict, org: str, value: str) -> dict:
    """``p`` with an MRN assigned by ``org``: the Patient derives a link for it."""
    ident = {"system": f"http://xietong.example/fhir/sid/mrn/{org}", "value": value}
    p["identifier"].append(ident | {"assigner": {"reference": f"Organization/{org}"}})
    return p


def _role(org: str) -> dict:
    return {
        "resourceType": "PractitionerRole",
        "active": True,
        "organization": {"reference": f"Organization/{org}"},
    }


def _task(pid: str, requester: str, owner: str) -> dict:
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "authoredOn": "2026-11-01T08:00:00+08:00",
        "for": {"reference": f"Patient/{pid}"},
        "requester": {"reference": requester},
        "owner": {"reference": owner},
    }


def _links(conn, source_type: str, source_id: str) -> set[tuple]:
    a = access_link.c
    rows = conn.execute(
        select(a.organization_id, a.patient_id, a.purposes, a.valid_from, a.valid_to).where(
            a.source_type == source_type, a.source_id == source_id
        )
    )
    return {tuple(r) for r in rows}


def _expected(conn, rtype: str, body: dict) -> set[tuple]:
    return {
        (x.organization, x.patient, " ".join(x.purposes), x.valid_from, x.valid_to)
        for x in links_of(rtype, body, org_resolver(conn))
    }


def _own_statements(statements: list[str]) -> list[str]:
    """Statements that write access links and nothing else."""
    return [s for s in statements if "access_link" in s and "INSERT INTO res_" not in s]


def test_a_created_patients_links_are_written_with_it(db, statements):
    p = _held_by(_held_by(patient(), CLINIC, "C-1"), HOSPITAL, "H-1")
    with db.write() as conn:
        stored = Store(db, conn).create(TYPES["Patient"], p, tenant=CLINIC)
    with db.read() as conn:
        body = Store(db, conn).read(TYPES["Patient"], stored.id).resource()
        got = _links(conn, "Patient", stored.id)
        assert got == _expected(conn, "Patient", body)
    assert {x[0] for x in got} == {CLINIC, HOSPITAL} and {x[1] for x in got} == {stored.id}
    if db.is_sqlite:
        return
    assert _own_statements(statements) == []  # on PostgreSQL: in the create's one statement


def test_records_created_together_have_their_links(db, statements):
    """``create_many``: each record's own links, none of another's, and a Task's links name the
    institution of a PractitionerRole created in the same call."""
    with db.write() as conn:
        store = Store(db, conn)
        role = store.create(TYPES["PractitionerRole"], _role(HOSPITAL), tenant=HOSPITAL)
        made = store.create_many(
            [
                (TYPES["Patient"], _held_by(patient(mrn="M-1"), CLINIC, "C-2"), "links-p1"),
                (TYPES["Patient"], _held_by(patient(mrn="M-2", family="王"), HOSPITAL, "H-2"), "links-p2"),
                (TYPES["PractitionerRole"], _role(CLINIC), "links-role"),
                (
                    TYPES["Task"],
                    _task("links-p1", "PractitionerRole/links-role", f"PractitionerRole/{role.id}"),
                    "links-task",
                ),
                (
                    TYPES["Observation"],
                    {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"text": "血压"},
                        "subject": {"reference": "Patient/links-p1"},
                    },
                    None,
                ),
            ],
            tenant=CLINIC,
        )
    assert [s.type for s in made] == ["Patient", "Patient", "PractitionerRole", "Task", "Observation"]
    with db.read() as conn:
        store = Store(db, conn)
        for s in made:
            body = store.read(TYPES[s.type], s.id).resource()
            assert _links(conn, s.type, s.id) == _expected(conn, s.type, body), s.type
        assert {x[:2] for x in _links(conn, "Patient", "links-p1")} == {(CLINIC, "links-p1")}
        assert {x[:2] for x in _links(conn, "Patient", "links-p2")} == {(HOSPITAL, "links-p2")}
        # requester through the role made in the same call, owner through the one made before it
        assert {x[:2] for x in _links(conn, "Task", "links-task")} == {
            (CLINIC, "links-p1"),
            (HOSPITAL, "links-p1"),
        }
        assert _links(conn, "Observation", made[-1].id) == set()
    if not db.is_sqlite:
        assert _own_statements(statements) == []


def test_records_of_two_types_with_one_id_keep_their_own_links(db):
    """Ids are unique within a type only: a Task and an Observation created together under one id
    are two records, and the Task's links come from the Task, not from the record after it."""
    with db.write() as conn:
        store = Store(db, conn)
        role = store.create(TYPES["PractitionerRole"], _role(HOSPITAL), tenant=HOSPITAL)
        p = store.create(TYPES["Patient"], _held_by(patient(mrn="M-3"), CLINIC, "C-3"), tenant=CLINIC)
        observation = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "血糖"},
            "subject": {"reference": f"Patient/{p.id}"},
        }
        task = _task(p.id, f"PractitionerRole/{role.id}", f"PractitionerRole/{role.id}")
        made = store.create_many(
            [(TYPES["Task"], task, "one-id"), (TYPES["Observation"], observation, "one-id")], tenant=CLINIC
        )
    assert [(s.type, s.id) for s in made] == [("Task", "one-id"), ("Observation", "one-id")]
    with db.read() as conn:
        store = Store(db, conn)
        assert store.read(TYPES["Task"], "one-id").resource()["owner"] == task["owner"]
        assert store.read(TYPES["Observation"], "one-id").resource()["code"] == {"text": "血糖"}
        got = _links(conn, "Task", "one-id")
        assert got == _expected(conn, "Task", store.read(TYPES["Task"], "one-id").resource())
        assert {x[:2] for x in got} == {(HOSPITAL, p.id)}
        assert _links(conn, "Observation", "one-id") == set()
