"""A standard FHIR client library (fhirpy 2.3.1) against the hub on a real HTTP socket.

What fhirpy sends (read from its source, fhirpy/base/*.py): create is ``POST /Type`` and update
``PUT /Type/id`` with the JSON body; read is ``GET /Type/id``; a search set sends its parameters
as given plus ``_count`` (``limit``), ``_sort`` (``sort``); ``first()`` is ``_count=1``, ``get()``
``_count=2``; iteration and ``fetch_all()`` follow ``Bundle.link[next].url`` as an absolute URL,
which must start with the client's base URL; ``count()`` sends ``_count=0&_totalMethod=count`` and
reads ``Bundle.total``; ``SearchSet.update()`` is a conditional update ``PUT /Type?params``.
"""

from __future__ import annotations

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from tests.factories import FHIR_JSON, observation, organization, patient


@pytest.fixture
def fhir(live_server, live_headers):
    return SyncFHIRClient(url=live_server + "/fhir", extra_headers={**FHIR_JSON, **live_headers})


def _day(i: int) -> str:
    """Distinct, increasing effective times (one a day from 2024-01-01)."""
    return f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}T09:30:00+08:00"


def test_create_read_update_with_fhirpy(fhir):
    p = fhir.resource("Patient", **patient())
    p.save()
    assert p.id and p.meta.versionId == "1"
    got = fhir.reference("Patient", p.id).to_resource()
    assert got.name[0]["family"] == "张" and got.meta.versionId == "1"

    p.name[0]["family"] = "李"
    p.save()  # PUT Patient/id
    assert p.meta.versionId == "2"
    assert fhir.get("Patient", p.id)["name"][0]["family"] == "李"

    obs = fhir.resource("Observation", **observation(p.id, value=150.0))
    obs.save()
    back = fhir.get("Observation", obs.id)
    assert back["valueQuantity"]["value"] == 150.0
    assert back["subject"]["reference"] == f"Patient/{p.id}"
    assert obs.subject.to_resource().id == p.id  # fhirpy resolves the reference with a read

    with pytest.raises(ResourceNotFound):
        fhir.get("Patient", "no-such-patient")
    with pytest.raises(OperationOutcome):  # medical records are not deleted (405)
        obs.delete()


def test_search_sort_first_and_get(fhir):
    pid = fhir.resource("Patient", **patient()).save().id
    other = fhir.resource("Patient", **patient(family="王")).save().id
    for i, value in enumerate((120.0, 135.0, 150.0)):
        fhir.resource("Observation", **observation(pid, value=value, effective=_day(i))).save()
    fhir.resource("Observation", **observation(other)).save()

    newest_first = fhir.resources("Observation").search(patient=pid).sort("-date").fetch()
    assert [o.valueQuantity["value"] for o in newest_first] == [150.0, 135.0, 120.0]
    oldest_first = fhir.resources("Observation").search(subject=f"Patient/{pid}").sort("date").fetch()
    assert [o.valueQuantity["value"] for o in oldest_first] == [120.0, 135.0, 150.0]

    ss = fhir.resources("Observation").search(patient=pid, code="http://loinc.org|8480-6")
    assert ss.sort("-date").first().valueQuantity["value"] == 150.0
    assert len(ss.search(date__ge="2024-01-02").fetch()) == 2  # fhirpy's prefix syntax: date=ge...
    assert fhir.resources("Patient").search(family="王").get().id == other


def test_paging_through_45_observations_with_fhirpy(fhir):
    pid = fhir.resource("Patient", **patient()).save().id
    created = [
        fhir.resource("Observation", **observation(pid, value=float(i), effective=_day(i))).save().id
        for i in range(45)
    ]
    ss = fhir.resources("Observation").search(patient=pid).sort("-date").limit(20)

    first_page = ss.fetch_raw()
    assert len(first_page.entry) == 20
    [next_link] = [lk.url for lk in first_page.link if lk.relation == "next"]
    assert next_link.startswith(fhir.url + "/Observation?") and "_offset=20" in next_link

    everything = ss.fetch_all()  # follows the next links: 20 + 20 + 5
    ids = [o.id for o in everything]
    assert len(ids) == 45 and set(ids) == set(created)
    assert ids == list(reversed(created))  # newest first across page boundaries

    iterated = [o.id for o in ss]  # plain iteration pages the same way
    assert iterated == ids


def test_count_with_fhirpy(live_server, live_headers):
    """``count()`` sends ``_count=0&_totalMethod=count``. ``_totalMethod`` is not a FHIR parameter
    (an Aidbox one); the hub refuses unknown parameters unless the client asks for lenient
    handling (without it ``count()`` is a 400 "unknown search parameter '_totalMethod'"), so this
    client sends ``Prefer: handling=lenient``. ``_count=0`` must then answer with ``Bundle.total``
    (FHIR R4 search, _count: "if _count has the value 0, this shall be treated the same as
    _summary=count")."""
    fhir = SyncFHIRClient(
        url=live_server + "/fhir", extra_headers={**FHIR_JSON, **live_headers, "Prefer": "handling=lenient"}
    )
    pid = fhir.resource("Patient", **patient()).save().id
    for i in range(3):
        fhir.resource("Observation", **observation(pid, effective=_day(i))).save()
    assert fhir.resources("Observation").search(patient=pid).count() == 3


def test_conditional_update_with_fhirpy(fhir):
    ss = fhir.resources("Organization").search(identifier="http://xietong.example/fhir/sid/org|FP-1")
    org, created = ss.update(fhir.resource("Organization", **organization(code="FP-1")))
    assert created and org.meta.versionId == "1"
    again, created = ss.update(fhir.resource("Organization", **organization(code="FP-1", name="县医院")))
    assert not created and again.id == org.id and again.meta.versionId == "2"
    assert len(ss.fetch()) == 1
