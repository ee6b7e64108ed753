"""Search semantics: token, string, date, reference, _id, _lastUpdated, paging, sort, include, totals."""

from __future__ import annotations

import pytest

from tests.factories import FHIR_JSON, LOINC, condition, observation, organization, patient, resident_id


def post(client, rtype, resource):
    r = client.post(f"/fhir/{rtype}", json=resource, headers=FHIR_JSON)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def ids(client, url):
    r = client.get(url)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["type"] == "searchset"
    return [e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == "match"]


@pytest.fixture
def people(client):
    return {
        "zhang": post(
            client,
            "Patient",
            patient(family="张", given="伟", birth_date="1980-02-03", mrn="M1", phone="13800000001"),
        ),
        "li": post(
            client,
            "Patient",
            patient(
                family="李",
                given="娜",
                gender="female",
                birth_date="1992-07-15",
                mrn="M2",
                phone="13800000002",
            ),
        ),
        "smith": post(
            client,
            "Patient",
            patient(
                family="Müller",
                given="Zoë",
                gender="female",
                birth_date="1975",
                mrn="M3",
                phone="13800000003",
                id_card=resident_id("19750101"),
            ),
        ),
    }


def test_token_searches(client, people):
    sys = "http://xietong.example/fhir/sid/mrn/county-1"
    assert ids(client, f"/fhir/Patient?identifier={sys}|M1") == [people["zhang"]]
    assert ids(client, "/fhir/Patient?identifier=M2") == [people["li"]]  # code without system
    assert ids(client, "/fhir/Patient?identifier=|M2") == []  # explicitly no system
    assert set(ids(client, f"/fhir/Patient?identifier={sys}|M1,{sys}|M2")) == {people["zhang"], people["li"]}
    assert set(ids(client, "/fhir/Patient?gender=female")) == {people["li"], people["smith"]}
    assert ids(client, "/fhir/Patient?gender:not=female") == [people["zhang"]]
    assert ids(client, "/fhir/Patient?phone=13800000002") == [people["li"]]
    assert ids(client, "/fhir/Patient?gender=female&identifier=M1") == []


def test_string_searches(client, people):
    assert ids(client, "/fhir/Patient?family=张") == [people["zhang"]]
    assert ids(client, "/fhir/Patient?name=娜") == [people["li"]]  # given name, prefix of a name part
    assert ids(client, "/fhir/Patient?family=mul") == [people["smith"]]  # case and accent insensitive
    assert ids(client, "/fhir/Patient?given=zoe") == [people["smith"]]
    assert ids(client, "/fhir/Patient?family:exact=Müller") == [people["smith"]]
    assert ids(client, "/fhir/Patient?family:exact=müller") == []
    assert ids(client, "/fhir/Patient?family:contains=ll") == [people["smith"]]
    assert ids(client, "/fhir/Patient?address-city=杭州") != []


@pytest.mark.parametrize(
    "query, expected",
    [
        ("birthdate=1980-02-03", {"zhang"}),
        ("birthdate=1980", {"zhang"}),
        ("birthdate=eq1980-02", {"zhang"}),
        ("birthdate=lt1980", {"smith"}),
        ("birthdate=le1980-02-03", {"zhang", "smith"}),
        ("birthdate=gt1980-02-03", {"li"}),
        ("birthdate=ge1980-02-03", {"zhang", "li"}),
        ("birthdate=ne1980-02-03", {"li", "smith"}),
        ("birthdate=sa1975", {"zhang", "li"}),
        ("birthdate=eb1992-07-15", {"zhang", "smith"}),
        ("birthdate=ge1975-06-01", {"zhang", "li", "smith"}),  # 1975 as a range overlaps June 1975
        ("birthdate=eq1975-06-01", set()),  # but is not contained in that day
        ("birthdate=ge1980&birthdate=lt1990", {"zhang"}),
    ],
)
def test_date_prefixes(client, people, query, expected):
    assert set(ids(client, f"/fhir/Patient?{query}")) == {people[k] for k in expected}


def test_reference_searches_and_lastupdated(client, people):
    zid = people["zhang"]
    o1 = post(client, "Observation", observation(zid, effective="2020-05-01T08:00:00+08:00"))
    o2 = post(client, "Observation", observation(zid, code="8462-4", effective="2023-01-01T08:00:00Z"))
    post(client, "Observation", observation(people["li"]))
    assert set(ids(client, f"/fhir/Observation?patient={zid}")) == {o1, o2}
    assert set(ids(client, f"/fhir/Observation?patient=Patient/{zid}")) == {o1, o2}
    assert set(ids(client, f"/fhir/Observation?subject=Patient/{zid}")) == {o1, o2}
    assert set(ids(client, f"/fhir/Observation?subject:Patient={zid}")) == {o1, o2}
    assert ids(client, f"/fhir/Observation?patient=Group/{zid}") == []
    assert ids(client, f"/fhir/Observation?patient={zid}&code={LOINC}|8462-4") == [o2]
    assert ids(client, f"/fhir/Observation?patient={zid}&date=ge2021") == [o2]
    assert ids(client, f"/fhir/Observation?patient={zid}&date=2020-05-01") == [o1]
    assert ids(client, f"/fhir/Observation?_id={o1},{o2}&patient={zid}&_sort=date") == [o1, o2]
    assert ids(client, "/fhir/Observation?_lastUpdated=gt2000-01-01&_count=1") != []
    assert ids(client, "/fhir/Observation?_lastUpdated=lt2000-01-01") == []
    assert ids(client, "/fhir/Observation?category=vital-signs&status=final&_count=100").__len__() == 3


def test_count_paging_links_and_totals(client, people):
    zid = people["zhang"]
    made = [post(client, "Observation", observation(zid, effective=f"2021-01-{d:02d}")) for d in range(1, 8)]
    seen, url, pages = [], f"/fhir/Observation?patient={zid}&_count=3&_sort=date", 0
    while url:
        body = client.get(url).get_json()
        seen += [e["resource"]["id"] for e in body.get("entry", [])]
        links = {link["relation"]: link["url"] for link in body["link"]}
        if pages:
            assert "previous" in links
        url = links.get("next", "").replace("http://localhost", "")
        pages += 1
    assert pages == 3 and seen == made
    body = client.get(f"/fhir/Observation?patient={zid}&_count=3").get_json()
    assert "total" not in body  # not computed unless asked (count(*) is O(matches))
    assert client.get(f"/fhir/Observation?patient={zid}&_count=3&_total=accurate").get_json()["total"] == 7
    summary = client.get(f"/fhir/Observation?patient={zid}&_summary=count").get_json()
    assert summary["total"] == 7 and "entry" not in summary
    last = client.get(f"/fhir/Observation?patient={zid}&_count=3&_offset=6").get_json()
    assert last["total"] == 7  # known for free on the last page


def test_sort(client, people):
    assert ids(client, "/fhir/Patient?_sort=birthdate") == [people["smith"], people["zhang"], people["li"]]
    assert ids(client, "/fhir/Patient?_sort=-birthdate") == [people["li"], people["zhang"], people["smith"]]
    # by code point of the normalised name: müller < 张 (U+5F20) < 李 (U+674E)
    assert ids(client, "/fhir/Patient?_sort=family") == [people["smith"], people["zhang"], people["li"]]
    assert ids(client, "/fhir/Patient?_sort=-_lastUpdated")[0] == people["smith"]
    assert client.get("/fhir/Patient?_sort=gender").status_code == 400


def test_sort_by_the_types_date_walks_codes_in_date_order_missing_last(client, people):
    """A token search sorted by the type's date is walked from the token index in date order, one
    walk per code, merged; records without the date follow in both directions, also when a page
    starts past the dated ones; a record with two of the codes is listed once."""
    zid = people["zhang"]
    made = []
    for i, (day, code) in enumerate(
        [(5, "A"), (1, "B"), (3, "A"), (4, "B"), (2, "A"), (None, "A"), (None, "B")]
    ):
        obs = observation(zid, code=f"walk-{code}", effective=f"2021-02-{day:02d}" if day else None)
        if day is None:
            del obs["effectiveDateTime"]
        if i == 2:  # both codes
            obs["code"]["coding"].append({"system": LOINC, "code": "walk-B"})
        made.append(post(client, "Observation", obs))
    dated = [made[i] for i in (1, 4, 2, 3, 0)]  # by day
    undated = [made[5], made[6]]  # by creation
    for query, expected in (
        ("code=walk-A,walk-B&_sort=date", dated + undated),
        ("code=walk-A,walk-B&_sort=-date", dated[::-1] + undated[::-1]),
        ("code=walk-B,walk-A&_sort=date", dated + undated),
        ("code=walk-A&_sort=-date", [made[0], made[2], made[4], made[5]]),
        (f"code={LOINC}|walk-B&_sort=date", [made[1], made[2], made[3], made[6]]),
        (f"patient={zid}&code=walk-A,walk-B&status=final&_sort=date", dated + undated),
        (f"patient={zid}&_id={','.join(made)}&_sort=-date", dated[::-1] + undated[::-1]),
    ):
        assert ids(client, f"/fhir/Observation?{query}") == expected, query
        for size in (2, 3):
            seen, url = [], f"/fhir/Observation?{query}&_count={size}"
            while url:
                body = client.get(url).get_json()
                seen += [e["resource"]["id"] for e in body.get("entry", [])]
                url = {link["relation"]: link["url"] for link in body["link"]}.get("next", "")
                url = url.replace("http://localhost", "")
            assert seen == expected, (query, size)
        # a page that starts past every dated record
        tail = ids(client, f"/fhir/Observation?{query}&_count=1&_offset={len(expected) - 1}")
        assert tail == expected[-1:], query
        assert ids(client, f"/fhir/Observation?{query}&_offset={len(expected)}") == []


def test_include_and_revinclude(client, people):
    org = post(client, "Organization", organization())
    zid = people["zhang"]
    client.put(
        f"/fhir/Patient/{zid}",
        json={
            **patient(family="张", mrn="M1"),
            "id": zid,
            "managingOrganization": {"reference": f"Organization/{org}"},
        },
        headers=FHIR_JSON,
    )
    obs = post(client, "Observation", observation(zid))
    cond = post(client, "Condition", condition(zid))
    body = client.get(f"/fhir/Observation?_id={obs}&_include=Observation:patient").get_json()
    assert [(e["resource"]["resourceType"], e["search"]["mode"]) for e in body["entry"]] == [
        ("Observation", "match"),
        ("Patient", "include"),
    ]
    body = client.get(
        f"/fhir/Patient?_id={zid}&_include=Patient:organization"
        "&_revinclude=Observation:patient&_revinclude=Condition:subject"
    ).get_json()
    got = {(e["resource"]["resourceType"], e["resource"]["id"], e["search"]["mode"]) for e in body["entry"]}
    assert got == {
        ("Patient", zid, "match"),
        ("Organization", org, "include"),
        ("Observation", obs, "include"),
        ("Condition", cond, "include"),
    }
    assert client.get("/fhir/Patient?_include=Observation:patient").status_code == 400
    assert client.get("/fhir/Patient?_include=Patient:gender").status_code == 400


def test_unknown_parameters(client, people):
    r = client.get("/fhir/Patient?shoe-size=42")
    assert r.status_code == 400
    assert "shoe-size" in r.get_json()["issue"][0]["diagnostics"]
    r = client.get("/fhir/Patient?shoe-size=42&gender=male", headers={"Prefer": "handling=lenient"})
    assert r.status_code == 200
    body = r.get_json()
    assert [e["resource"]["id"] for e in body["entry"] if e["search"]["mode"] == "match"] == [people["zhang"]]
    assert any(e["search"]["mode"] == "outcome" for e in body["entry"])
    assert "shoe-size" not in body["link"][0]["url"]


@pytest.mark.parametrize(
    "query",
    [
        "birthdate=notadate",
        "birthdate=ap1980",
        "_count=-1",
        "_count=abc",
        "_count=100000",
        "identifier=a|b|c",
        "identifier=http://x|",
        "general-practitioner=Practitioner/1/2/3?x",
        "organization.name=x",
        "_total=maybe",
        "_summary=true",
        "_format=xml",
        "_include:iterate=Patient:link",
    ],
)
def test_bad_search_input_is_4xx(client, query):
    r = client.get(f"/fhir/Patient?{query}")
    assert 400 <= r.status_code < 500, query
    assert r.get_json()["resourceType"] == "OperationOutcome"


def test_post_search_and_unknown_type(client, people):
    r = client.post("/fhir/Patient/_search", data={"family": "李"})
    assert [e["resource"]["id"] for e in r.get_json()["entry"]] == [people["li"]]
    assert client.get("/fhir/Spaceship?name=x").status_code == 404


def test_search_does_not_see_old_versions(client, people):
    zid = people["zhang"]
    client.put(f"/fhir/Patient/{zid}", json={**patient(family="王", mrn="M1"), "id": zid}, headers=FHIR_JSON)
    assert ids(client, "/fhir/Patient?family=张") == []
    assert ids(client, "/fhir/Patient?family=王") == [zid]
