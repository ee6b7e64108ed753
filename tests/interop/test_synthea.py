"""The 30 Synthea patient Bundles (third-party, synthetic) loaded through ``POST /fhir``.

Each Bundle goes in as ONE transaction. Organization and Practitioner repeat across the Bundles
(shared/data/README.md), so the test makes them conditional (``ifNoneExist`` on their identifier)
before posting: loading all 30 creates each of them once. After each Bundle, searches by patient,
code and date must return exactly the entries that Bundle held; the expected answers are computed
here from the Bundle itself, with FHIR date semantics.

All 30 Bundles load on both backends (measured: about 13 s on SQLite and 18 s on PostgreSQL for
the loading, well under a minute), so no subset is taken.
"""

from __future__ import annotations

import collections
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import SHARED_DATA
from tests.factories import FHIR_JSON, LOINC

pytestmark = pytest.mark.interop

SYNTHEA = SHARED_DATA / "synthea"
SNOMED = "http://snomed.info/sct"
DEDUPED = ("Organization", "Practitioner")
MAX = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _bundle_paths():
    return sorted(SYNTHEA.glob("*.json"))


def _prepared(path) -> tuple[dict, list[tuple[str, str, str] | None]]:
    """The Bundle with ifNoneExist on Organization and Practitioner entries, and per entry the
    (type, system, value) it is deduplicated by (None for the others)."""
    bundle = json.loads(path.read_text(encoding="utf-8"))
    keys = []
    for e in bundle["entry"]:
        res = e["resource"]
        if res["resourceType"] in DEDUPED:
            ident = res["identifier"][0]
            e["request"]["ifNoneExist"] = f"identifier={ident['system']}|{ident['value']}"
            keys.append((res["resourceType"], ident["system"], ident["value"]))
        else:
            keys.append(None)
    return bundle, keys


# ----- FHIR date semantics: a value is the range it names, in UTC -----


def _range(value: str) -> tuple[datetime, datetime]:
    """The UTC range ``[low, high]`` of a FHIR date (YYYY-MM-DD) or a dateTime with seconds."""
    if "T" not in value:
        low = datetime.fromisoformat(value).replace(tzinfo=UTC)  # a date: the whole day, read in UTC
        return low, low + timedelta(days=1, microseconds=-1)
    low = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert low.tzinfo is not None, f"dateTime with a time but no zone: {value}"
    seconds = value.split("T", 1)[1][:8]
    fraction = value.split("T", 1)[1][8:].split("+")[0].split("-")[0].rstrip("Z")
    assert len(seconds) == 8, f"unexpected precision: {value}"
    step = timedelta(microseconds=10 ** (6 - len(fraction[1:]))) if fraction else timedelta(seconds=1)
    low = low.astimezone(UTC)
    return low, low + step - timedelta(microseconds=1)


def _period_range(period: dict) -> tuple[datetime, datetime]:
    low = _range(period["start"])[0] if period.get("start") else datetime.min.replace(tzinfo=UTC)
    high = _range(period["end"])[1] if period.get("end") else MAX
    return low, high


def _middle_day(ranges: list[tuple[datetime, datetime]]) -> str:
    """A search date in the middle of the patient's history: the UTC day of the median value."""
    lows = sorted(lo for lo, _ in ranges)
    return lows[len(lows) // 2].date().isoformat()


def _ge(ranges: dict[str, tuple[datetime, datetime]], day: str) -> set[str]:
    """``date=ge<day>``: the value's range ends at or after the start of the day."""
    start = _range(day)[0]
    return {i for i, (_lo, hi) in ranges.items() if hi >= start}


def _lt(ranges: dict[str, tuple[datetime, datetime]], day: str) -> set[str]:
    """``date=lt<day>``: the value's range starts before the start of the day."""
    start = _range(day)[0]
    return {i for i, (lo, _hi) in ranges.items() if lo < start}


# ----- the search side -----


def _search(client, rtype: str, params: dict) -> list[str]:
    r = client.get(f"/fhir/{rtype}", query_string={**params, "_count": "1000"})
    assert r.status_code == 200, (rtype, params, r.get_json())
    body = r.get_json()
    assert not [lk for lk in body["link"] if lk["relation"] == "next"], (rtype, params, "more than one page")
    return [e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == "match"]


def _check(failures: list[str], where: str, got: list[str], expected: set[str]) -> None:
    if len(got) != len(set(got)):
        failures.append(f"{where}: duplicates in {len(got)} matches")
    if set(got) != expected:
        failures.append(
            f"{where}: {len(got)} matches, expected {len(expected)} "
            f"(missing {sorted(expected - set(got))[:3]}, unexpected {sorted(set(got) - expected)[:3]})"
        )


def _check_searches(client, name: str, bundle: dict, new_id: dict[str, str], failures: list[str]) -> None:
    by_type = collections.defaultdict(list)
    for e in bundle["entry"]:
        by_type[e["resource"]["resourceType"]].append((new_id[e["fullUrl"]], e["resource"]))
    [(pid, _)] = by_type["Patient"]

    # Observation: by patient, by patient + code, by patient + date (ge and lt).
    obs = dict(by_type["Observation"])
    _check(
        failures, f"{name} Observation?patient", _search(client, "Observation", {"patient": pid}), set(obs)
    )
    _check(
        failures,
        f"{name} Observation?subject=Patient/",
        _search(client, "Observation", {"subject": f"Patient/{pid}"}),
        set(obs),
    )
    by_code = collections.defaultdict(set)
    for oid, res in obs.items():
        for c in res["code"]["coding"]:
            if c.get("system") == LOINC:
                by_code[c["code"]].add(oid)
    ranked = sorted(by_code, key=lambda c: (-len(by_code[c]), c))  # most frequent ... rarest
    for code in dict.fromkeys([ranked[0], ranked[len(ranked) // 2], ranked[-1]]):
        got = _search(client, "Observation", {"patient": pid, "code": f"{LOINC}|{code}"})
        _check(failures, f"{name} Observation?code={code}", got, by_code[code])
    obs_ranges = {oid: _range(res["effectiveDateTime"]) for oid, res in obs.items()}
    day = _middle_day(list(obs_ranges.values()))
    for prefix, expected in (("ge", _ge(obs_ranges, day)), ("lt", _lt(obs_ranges, day))):
        got = _search(client, "Observation", {"patient": pid, "date": prefix + day})
        _check(failures, f"{name} Observation?date={prefix}{day}", got, expected)
        assert 0 < len(expected) < len(obs), "the search date must split the history"
    # To the second, with the record's own zone: ge keeps the instant itself, gt does not.
    moment = sorted(res["effectiveDateTime"] for res in obs.values())[len(obs) // 2]
    lo, hi = _range(moment)
    for prefix, expected in (
        ("ge", {i for i, r in obs_ranges.items() if r[1] >= lo}),
        ("gt", {i for i, r in obs_ranges.items() if r[1] > hi}),
    ):
        got = _search(client, "Observation", {"patient": pid, "date": prefix + moment})
        _check(failures, f"{name} Observation?date={prefix}{moment}", got, expected)

    # Encounter: by patient, by patient + date (period).
    enc = dict(by_type["Encounter"])
    _check(failures, f"{name} Encounter?patient", _search(client, "Encounter", {"patient": pid}), set(enc))
    enc_ranges = {eid: _period_range(res["period"]) for eid, res in enc.items()}
    day = _middle_day(list(enc_ranges.values()))
    for prefix, expected in (("ge", _ge(enc_ranges, day)), ("lt", _lt(enc_ranges, day))):
        got = _search(client, "Encounter", {"patient": pid, "date": prefix + day})
        _check(failures, f"{name} Encounter?date={prefix}{day}", got, expected)

    # Condition: by patient, by patient + code, by patient + recorded-date.
    cond = dict(by_type["Condition"])
    _check(failures, f"{name} Condition?patient", _search(client, "Condition", {"patient": pid}), set(cond))
    if cond:
        first = next(c for c in next(iter(cond.values()))["code"]["coding"] if c.get("system") == SNOMED)
        expected = {
            cid
            for cid, res in cond.items()
            if any(c.get("system") == SNOMED and c["code"] == first["code"] for c in res["code"]["coding"])
        }
        got = _search(client, "Condition", {"patient": pid, "code": f"{SNOMED}|{first['code']}"})
        _check(failures, f"{name} Condition?code={first['code']}", got, expected)
        cond_ranges = {cid: _range(res["recordedDate"]) for cid, res in cond.items()}
        day = _middle_day(list(cond_ranges.values()))
        got = _search(client, "Condition", {"patient": pid, "recorded-date": "ge" + day})
        _check(failures, f"{name} Condition?recorded-date=ge{day}", got, _ge(cond_ranges, day))


def test_all_bundles_load_as_transactions_and_search_back(client):
    paths = _bundle_paths()
    assert len(paths) == 30
    seen: set[tuple[str, str, str]] = set()
    failures: list[str] = []
    for path in paths:
        bundle, keys = _prepared(path)
        r = client.post("/fhir", json=bundle, headers=FHIR_JSON)
        assert r.status_code == 200, (path.name, r.get_json())
        body = r.get_json()
        assert body["resourceType"] == "Bundle" and body["type"] == "transaction-response", path.name
        assert len(body["entry"]) == len(bundle["entry"]), path.name
        new_id = {}
        for i, (req, resp, key) in enumerate(zip(bundle["entry"], body["entry"], keys)):
            rtype = req["resource"]["resourceType"]
            # A repeated Organization/Practitioner matches its ifNoneExist: 200 and the existing id.
            expected = "200 OK" if key in seen else "201 Created"
            status = resp["response"]["status"]
            rt, rid, hist, _version = resp["response"]["location"].split("/")
            if status != expected or rt != rtype or hist != "_history":
                failures.append(
                    f"{path.name} entry {i} ({rtype}): {status} at {resp['response']['location']}"
                )
            new_id[req["fullUrl"]] = rid
            if key:
                seen.add(key)
        _check_searches(client, path.name, bundle, new_id, failures)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)

    def total(rtype: str) -> int:
        return client.get(f"/fhir/{rtype}?_summary=count").get_json()["total"]

    assert total("Patient") == len(paths)
    assert total("Organization") == len({k for k in seen if k[0] == "Organization"}) == 36
    assert total("Practitioner") == len({k for k in seen if k[0] == "Practitioner"}) == 36
