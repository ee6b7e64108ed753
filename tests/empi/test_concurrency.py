"""Two institutions sending the same new person at the same moment make one hub Patient."""

from __future__ import annotations

import threading

from hub.empi import resolve
from hub.errors import Conflict
from tests.empi.test_resolve import _mrn, _without_id_card
from tests.factories import patient


def test_simultaneous_records_of_one_person_make_one_patient(app, client, orgs):
    hub = app.extensions["xietong"]
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def send(org_key: str) -> None:
        record = _without_id_card(patient(family="赵", given="敏", gender="female"))
        record["identifier"] = [_mrn(org_key, f"{org_key.upper()}-1")]
        try:
            barrier.wait(timeout=10)
            for _ in range(3):  # a deadlock or serialisation loss is a 409: the client retries
                try:
                    with hub.db.write() as conn:
                        results[org_key] = resolve(conn, hub, record, orgs[org_key])
                    return
                except Conflict:
                    continue
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    outcomes = sorted(r.outcome for r in results.values())
    assert outcomes == ["linked", "new"], results
    assert results["a"].patient_id == results["b"].patient_id
    total = client.get("/fhir/Patient?_summary=count").get_json()["total"]
    assert total == 1
