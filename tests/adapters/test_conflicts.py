"""A piece whose transaction lost a race -- a concurrent transaction changed the hub Patient it links
to -- is stored again: not quarantined, not lost, not stored twice, and the Patient keeps what both
brought."""

from __future__ import annotations

import threading

import orjson

from hub.empi import resolve
from hub.ingest.service import Intake
from tests.adapters.conftest import resources
from tests.adapters.test_groups import bundle
from tests.empi.test_concurrency import _until_waiting_for_a_lock, run_together
from tests.factories import RESIDENT_ID, resident_id


def test_a_piece_that_lost_a_race_for_its_patient_is_stored_again(hub):
    rid = resident_id("1966-06-16")
    first = bundle("R-1", "孙", "丽", "1966-06-16", [5.5])
    first["entry"][0]["resource"]["identifier"].append({"system": RESIDENT_ID, "value": rid})
    intake = Intake(hub, "yuxi-first")
    s1 = intake.run("fhir", orjson.dumps(first), "first.json")
    assert s1.stored == 1
    patient_id = s1.results[0].patient_id
    # The same person by resident ID, from another feed of the institution, linked in a transaction
    # that stays open until the intake below waits for the Patient's row ...
    by_id_card = {
        "resourceType": "Patient",
        "identifier": [{"system": RESIDENT_ID, "value": rid}],
        "name": [{"family": "孙", "given": ["丽"]}],
        "gender": "female",
        "birthDate": "1966-06-16",
        "telecom": [{"system": "phone", "value": "13700000001"}],
    }
    # ... and the same MRN with another birth date (another EMPI turn) and another phone.
    later = bundle("R-1", "孙", "丽", "1966-07-16", [6.1])
    later["entry"][0]["resource"]["telecom"] = [{"system": "phone", "value": "13700000002"}]
    linked = threading.Event()
    errors, summaries = [], []

    def hold() -> None:
        try:
            with hub.db.write() as conn:
                assert resolve(conn, hub, by_id_card, intake.org_id).patient_id == patient_id
                linked.set()
                _until_waiting_for_a_lock(hub, timeout=10)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            linked.set()

    def ingest() -> None:
        linked.wait(timeout=10)
        try:
            summaries.append(Intake(hub, "yuxi-first").run("fhir", orjson.dumps(later), "later.json"))
        except Exception as exc:  # reported below
            errors.append(exc)

    run_together(hold, ingest)
    assert not errors, errors
    (summary,) = summaries
    assert (summary.stored, summary.quarantined) == (1, 0), summary.as_json()["results"]
    assert summary.results[0].patient_id == patient_id
    people = [p for p in resources(hub, "Patient") if any(i.get("value") == rid for i in p["identifier"])]
    assert [p["id"] for p in people] == [patient_id]  # one person, one Patient
    assert {"13700000001", "13700000002"} <= {t["value"] for t in people[0]["telecom"]}
    # The result sent again under its source key is an update of the one stored first.
    subject = f"Patient/{patient_id}"
    results = [o for o in resources(hub, "Observation") if o["subject"]["reference"] == subject]
    assert [o["valueQuantity"]["value"] for o in results] == [6.1]


def test_a_piece_that_keeps_losing_races_is_quarantined_and_the_load_goes_on(hub, monkeypatch):
    """Three lost races in a row (made here by a resolver that always finds its Patient changed):
    the piece is kept in the quarantine, to be replayed, and the pieces after it are stored."""
    from hub.empi import resolver
    from hub.errors import Conflict
    from hub.ingest import service
    from tests.adapters.test_groups import ndjson

    resolve_one, tries = resolver.Batch.resolve, []

    def losing(self, incoming, checked=False):
        if any(i.get("value") == "L-2" for i in incoming.get("identifier", [])):
            tries.append(1)
            raise Conflict("Patient/x was changed by a concurrent transaction", ["Patient"])
        return resolve_one(self, incoming, checked)

    monkeypatch.setattr(resolver.Batch, "resolve", losing)
    payload = ndjson(*(bundle(f"L-{k}", "钱", "芳", f"195{k}-01-01", [5.0 + k]) for k in (1, 2, 3)))
    s = Intake(hub, "yuxi-first").run("fhir", payload, "losing.ndjson")
    assert [r.outcome for r in s.results] == ["stored", "quarantined", "stored"]
    lost = s.results[1]
    assert lost.stage == "store" and f"tried {service.CONFLICT_ATTEMPTS} times" in lost.reason
    assert len(tries) == 1 + service.CONFLICT_ATTEMPTS  # in the group, then alone that often
    monkeypatch.setattr(resolver.Batch, "resolve", resolve_one)
    replayed = service.replay(hub, lost.quarantine_id)
    assert replayed.outcome == "stored"
