"""The whole life of an upward and a downward referral across three institutions, over HTTP."""

from __future__ import annotations

from tests.referrals.conftest import BUSINESS, DECLINE, OUTPUT, contract, package


def _status(x, who, task):
    return x.read(who, task)["status"]


def _actions(x, who, task):
    r = x.call(who, "GET", f"/fhir/Task/{task}/$available-actions")
    assert r.status_code == 200, r.get_json()
    return {p["part"][0]["valueCode"] for p in r.get_json()["parameter"] if p["name"] == "action"}


def test_upward_then_downward_closes_the_loop(three):
    x = three
    contract(x, "p")
    sr, task = x.refer("c", "t", priority="urgent")
    t = x.read("c", task)
    assert t["status"] == "requested" and t["owner"]["reference"] == f"Organization/{x.orgs['t']}"
    assert t["requester"]["reference"] == f"Organization/{x.orgs['c']}"
    assert t["restriction"]["period"]["end"]
    assert _actions(x, "c", task) == {"cancel"}
    # The requester reading it does not acknowledge it; the owner opening it does, once.
    assert _status(x, "c", task) == "requested"
    assert _status(x, "t", task) == "received"
    assert x.read("t", task)["meta"]["versionId"] == "2"
    assert _actions(x, "t", task) == {"accept", "decline", "redirect", "request-info"}
    # More information, then the requester answers and the clock resumes.
    r = x.op("t", task, "request-info", [{"name": "question", "valueString": "请补充近三个月血压记录"}])
    assert r.status_code == 200, r.get_json()
    t = x.read("c", task)
    assert t["businessStatus"]["coding"][0] == {
        "system": BUSINESS,
        "code": "awaiting-information",
        "display": "待补充资料",
    }
    assert _actions(x, "c", task) == {"cancel", "provide-info"}
    comms = x.call("c", "GET", f"/fhir/Communication?part-of=Task/{task}").get_json()
    assert comms["total"] == 1
    r = x.op(
        "c", task, "provide-info", [{"name": "answer", "valueString": "近三个月血压 150-170/95-105 mmHg"}]
    )
    assert r.status_code == 200, r.get_json()
    assert "businessStatus" not in x.read("t", task)
    # Accept with an appointment; the patient's letter says where and when.
    appt = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": "2026-11-25T09:30:00+08:00",
        "end": "2026-11-25T09:45:00+08:00",
        "participant": [{"actor": {"reference": f"Patient/{x.patient}"}, "status": "accepted"}],
    }
    r = x.op(
        "t",
        task,
        "accept",
        [{"name": "appointment", "resource": appt}, {"name": "note", "valueString": "心内科"}],
    )
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["parameter"][0]["resource"]
    assert out["status"] == "accepted"
    assert out["output"][0]["type"]["coding"][0] == {"system": OUTPUT, "code": "appointment"}
    pdf = x.call("c", "GET", f"/referrals/{task}/letter.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and b"STSong-Light" in pdf.data
    assert x.call("x", "GET", f"/referrals/{task}/letter.pdf").status_code == 404
    # Seen, then completed: at a tertiary hospital only with the whole return package.
    assert x.op("t", task, "start").status_code == 200
    r = x.op("t", task, "complete", package(x)[:1])
    assert r.status_code == 422, r.get_json()
    assert "return package" in r.get_json()["issue"][0]["diagnostics"]
    assert _status(x, "t", task) == "in-progress"  # nothing half-done
    r = x.op("t", task, "complete", package(x))
    assert r.status_code == 200, r.get_json()
    done = x.read("c", task)
    assert done["status"] == "completed"
    kinds = [o["type"]["coding"][0]["code"] for o in done["output"]]
    assert {"summary", "medication", "care-plan"} <= set(kinds)
    summary = next(o for o in done["output"] if o["type"]["coding"][0]["code"] == "summary")
    assert x.call("c", "GET", f"/fhir/{summary['valueReference']['reference']}").status_code == 200
    assert x.call("c", "GET", f"/fhir/ServiceRequest/{sr}").get_json()["status"] == "completed"
    assert _actions(x, "t", task) == set()

    # Downward: the tertiary hospital sends the patient home; no performer: the family doctor's centre.
    dsr, dtask = x.refer("t", None, direction="down", based_on=sr)
    d = x.read("p", dtask)
    assert d["owner"]["reference"] == f"Organization/{x.orgs['p']}" and d["status"] == "received"
    assert x.call("p", "GET", f"/fhir/ServiceRequest/{dsr}").get_json()["basedOn"][0]["reference"] == (
        f"ServiceRequest/{sr}"
    )
    assert x.op("p", dtask, "accept").status_code == 200
    assert x.op("p", dtask, "start").status_code == 200
    r = x.op("p", dtask, "complete", package(x)[:1])
    assert r.status_code == 200, r.get_json()  # a primary centre closes a downward referral with its note

    stats = x.call("regulator", "GET", "/stats/referrals").get_json()
    assert stats["byDirection"] == {"up": 1, "down": 1, "lateral": 0}
    assert stats["loopClosure"] == {"upwardAccepted": 1, "returned": 1, "rate": 1.0}
    assert stats["timeToAcceptHours"]["n"] == 2
    mine = x.call("c", "GET", "/stats/referrals").get_json()
    assert mine["organization"] == x.orgs["c"] and mine["submitted"] == 1
    assert x.call("c", "GET", f"/stats/referrals?organization={x.orgs['t']}").status_code == 403


def test_decline_with_advice_counts_apart(three):
    x = three
    _, task = x.refer("c", "t")
    r = x.op("t", task, "decline", [{"name": "reason", "valueCode": "advice-given"}])
    assert r.status_code == 400 and "note" in r.get_json()["issue"][0]["diagnostics"]
    r = x.op(
        "t",
        task,
        "decline",
        [
            {"name": "reason", "valueCoding": {"system": DECLINE, "code": "advice-given"}},
            {"name": "note", "valueString": "建议基层调整降压方案：加用氢氯噻嗪，两周后复查"},
        ],
    )
    assert r.status_code == 200, r.get_json()
    t = x.read("c", task)
    assert t["status"] == "rejected" and t["statusReason"]["coding"][0]["code"] == "advice-given"
    advice = [p for p in r.get_json()["parameter"] if p["name"] == "communication"][0]["resource"]
    assert advice["recipient"][0]["reference"] == f"Organization/{x.orgs['c']}"
    assert x.call("c", "GET", f"/fhir/Communication/{advice['id']}").status_code == 200
    stats = x.call("regulator", "GET", "/stats/referrals").get_json()
    assert stats["outcomes"]["adviceOnly"] == 1 and stats["outcomes"]["declined"] == 0


def test_decline_needs_a_coded_reason(three):
    x = three
    _, task = x.refer("c", "t")
    assert x.op("t", task, "decline").status_code == 400
    r = x.op("t", task, "decline", [{"name": "reason", "valueCodeableConcept": {"text": "太忙"}}])
    assert r.status_code == 422 and "decline-reason" in r.get_json()["issue"][0]["diagnostics"]
    r = x.op("t", task, "decline", [{"name": "reason", "valueCode": "capacity"}])
    assert r.status_code == 200
    sr = x.read("c", task)["focus"]["reference"]
    assert x.call("c", "GET", f"/fhir/{sr}").get_json()["status"] == "revoked"
    stats = x.call("regulator", "GET", "/stats/referrals").get_json()
    assert stats["outcomes"]["declined"] == 1
