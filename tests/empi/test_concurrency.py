"""Two institutions sending the same new person at the same moment make one hub Patient."""

from __future__ import annotations

import functools
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

    run_together(*(functools.partial(send, k) for k in ("a", "b")))
    assert not errors, errors
    outcomes = sorted(r.outcome for r in results.values())
    assert outcomes == ["linked", "new"], results
    assert results["a"].patient_id == results["b"].patient_id
    total = client.get("/fhir/Patient?_summary=count").get_json()["total"]
    assert total == 1


def test_two_links_to_one_patient_at_once_lose_nothing(app, client, orgs):
    """Two transactions link records of one stored person through different identifiers and birth
    dates (so they do not take the same turn). The second merged what it brings into the version it
    read, which the first changed meanwhile: on PostgreSQL it is refused (409, nothing written) and
    sent again, instead of writing over what the first added; SQLite's single writer runs them one
    after the other. Either way the Patient keeps both."""
    import time

    from tests.factories import RESIDENT_ID, resident_id

    hub = app.extensions["xietong"]
    rid = resident_id("1975-05-05")
    stored = _resolve_alone(
        hub,
        patient(family="钱", given="进", birth_date="1975-05-05", id_card=rid, mrn="Q-1"),
        orgs["a"],
    )
    by_id_card = _without_id_card(
        patient(family="钱", given="进", birth_date="1975-05-05", phone="13900000001")
    )
    by_id_card["identifier"] = [{"system": RESIDENT_ID, "value": rid}, _mrn("a", "A-5")]
    by_mrn = _without_id_card(
        patient(family="钱", given="进", birth_date="1975-06-06", phone="13900000002", mrn="Q-1")
    )
    by_mrn["identifier"].append(_mrn("b", "B-5"))
    first_linked, second_started = threading.Event(), threading.Event()
    attempts, errors, results = [], [], {}

    def first() -> None:
        try:
            with hub.db.write() as conn:
                results["first"] = resolve(conn, hub, by_id_card, orgs["a"])
                first_linked.set()
                second_started.wait(timeout=10)
                _until_waiting_for_a_lock(hub, timeout=10)
        except Exception as exc:  # reported below
            errors.append(exc)
            first_linked.set()

    def second() -> None:
        first_linked.wait(timeout=10)
        try:
            for _ in range(3):
                attempts.append(time.monotonic())
                try:
                    with hub.db.write() as conn:
                        second_started.set()
                        results["second"] = resolve(conn, hub, by_mrn, orgs["b"])
                    return
                except Conflict:
                    continue
        except Exception as exc:  # reported below
            errors.append(exc)

    run_together(first, second)
    assert not errors, errors
    assert results["first"].patient_id == results["second"].patient_id == stored.patient_id
    if not hub.db.is_sqlite:
        assert len(attempts) == 2  # refused once, stored when sent again
    body = client.get(f"/fhir/Patient/{stored.patient_id}").get_json()
    values = {i["value"] for i in body["identifier"]}
    assert {"A-5", "B-5", "Q-1"} <= values
    assert {"13900000001", "13900000002"} <= {t["value"] for t in body["telecom"]}


def run_together(*functions, timeout: float = 60) -> None:
    """Each function in a thread of its own, all started, then all waited for."""
    threads = [threading.Thread(target=f) for f in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)


def _resolve_alone(hub, record, org):
    with hub.db.write() as conn:
        return resolve(conn, hub, record, org)


def _until_waiting_for_a_lock(hub, timeout: float) -> None:
    """PostgreSQL: until another backend of this database waits for a lock (the second transaction,
    on the Patient row this one changed). SQLite: the second waits to begin; a moment suffices."""
    import time

    if hub.db.is_sqlite:
        time.sleep(0.3)
        return
    deadline = time.monotonic() + timeout
    with hub.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        while time.monotonic() < deadline:
            waiting = c.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).scalar_one()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never waited for the Patient row")
