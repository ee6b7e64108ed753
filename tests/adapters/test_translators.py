"""Translating processes: a large payload's pieces parsed, mapped and validated in other processes
while the intake stores -- with the outcomes, piece by piece, of translating them in the intake's
own process; a resend translates nothing; processes that die leave the work to the intake."""

from __future__ import annotations

import gc
import os
import signal

import orjson
import pytest

from hub.ingest import service
from hub.ingest.service import GROUP_PIECES, Intake
from tests.adapters.conftest import count
from tests.adapters.test_groups import bundle

FAMILIES = "王李张刘陈杨黄赵吴周"
PIECES = 2 * GROUP_PIECES + 20  # three groups: the first translated here, the others elsewhere


def payload(tag: str) -> tuple[bytes, dict[int, str]]:
    """NDJSON of ``PIECES`` Bundles: some people twice, one line that is not JSON, one Bundle whose
    Observation is invalid, and one line sent twice. ``{position: what is special there}``."""
    lines, special = [], {}
    for n in range(PIECES):
        mrn = f"{tag}-{n % 97}"  # positions 97.. are people met before
        # Other tags are other people: another family name, born in other years.
        family, year = FAMILIES[ord(tag) % len(FAMILIES)], 1930 + 10 * (ord(tag) % 6) + n % 10
        b = bundle(mrn, family, "芳" if n % 2 else "伟", f"{year}-03-0{1 + n % 9}", [5.0 + n / 10])
        b["entry"][1]["fullUrl"] = f"urn:uuid:o-{mrn}-{n}"  # the same person's later results are new
        if n == 60:
            lines.append(b'{"resourceType": "Bundle", "id": "%s", "entry": [}' % tag.encode())
            special[n] = "not JSON"
            continue
        if n == 2 * GROUP_PIECES + 5:
            b["entry"][1]["resource"]["status"] = "finished-ish"
            special[n] = "invalid status"
        lines.append(orjson.dumps(b))
    lines[110] = lines[5]
    special[110] = "the same bytes as line 6"
    return b"\n".join(lines), special


def outcomes(summary, tag: str) -> list[tuple]:
    return [
        (r.outcome, r.link, r.records, r.stage, r.element, (r.reason or "").replace(tag, "*"))
        for r in summary.results
    ]


@pytest.fixture
def submitted(monkeypatch):
    """The pieces sent to translating processes (counted, then sent as before)."""
    sent = []
    submit = service.Translators.submit

    def counting(self, fmt, pieces):
        sent.extend(p.source for p in pieces)
        return submit(self, fmt, pieces)

    monkeypatch.setattr(service.Translators, "submit", counting)
    return sent


def test_translated_elsewhere_the_outcomes_are_those_of_translating_here(hub, submitted):
    here_payload, special = payload("H")
    elsewhere_payload, _ = payload("E")
    here = Intake(hub, "yuxi-first").run("fhir", here_payload, "here.ndjson")
    with Intake(hub, "yuxi-first", translators=1) as intake:
        elsewhere = intake.run("fhir", elsewhere_payload, "elsewhere.ndjson")
    assert submitted  # the groups after the first went to the process
    # Sources count from 1: the second and third groups, but for the line the first group had.
    assert {int(s.split("#")[1]) for s in submitted} == set(range(GROUP_PIECES + 1, PIECES + 1)) - {111}
    assert outcomes(elsewhere, "E") == outcomes(here, "H")
    by_position = elsewhere.results
    assert by_position[60].outcome == "quarantined" and by_position[60].stage == "parse"
    bad = by_position[2 * GROUP_PIECES + 5]
    assert bad.outcome == "quarantined" and bad.stage == "validate" and "status" in (bad.element or "")
    assert by_position[110].outcome == "duplicate"
    assert by_position[100].link == "matched"  # a person of the first group, met again
    assert (elsewhere.stored, elsewhere.quarantined, elsewhere.duplicate) == (PIECES - 3, 2, 1)
    assert sorted(special) == [60, 2 * GROUP_PIECES + 5, 110]


def test_a_resend_translates_nothing(hub, submitted):
    data, _ = payload("R")
    with Intake(hub, "yuxi-first", translators=1) as intake:
        first = intake.run("fhir", data, "r.ndjson")
        observations = count(hub, "Observation")
        sent = len(submitted)
        again = intake.run("fhir", data, "r.ndjson")
    assert first.stored == PIECES - 3
    assert (again.stored, again.quarantined, again.duplicate) == (0, 0, PIECES)
    assert len(submitted) == sent
    assert count(hub, "Observation") == observations


def test_processes_that_die_leave_the_translation_to_the_intake(hub):
    data, _ = payload("K")
    with Intake(hub, "yuxi-first", translators=1) as intake:
        translators = intake.translators()
        translators.warm("fhir", [])
        for pid in list(translators._pool._processes):
            os.kill(pid, signal.SIGKILL)
        summary = intake.run("fhir", data, "k.ndjson")
    assert (summary.stored, summary.quarantined, summary.duplicate) == (PIECES - 3, 2, 1)
    assert count(hub, "Patient") >= 97


def test_cli_translators_option(app, hub, tmp_path):
    folder = tmp_path / "his"
    folder.mkdir()
    data, _ = payload("C")
    (folder / "results.ndjson").write_bytes(data)
    (folder / "one.json").write_bytes(orjson.dumps(bundle("C-solo", "李", "娜", "1970-01-01", [4.4])))
    runner = app.test_cli_runner()
    try:
        first = runner.invoke(args=["ingest", "run", "yuxi-first", "fhir", str(folder), "--translators", "1"])
    finally:
        gc.unfreeze()  # the command freezes the start-up heap; the rest of the session is collected as usual
    assert first.exit_code == 0, first.output
    assert f"2 files: {PIECES + 1} read, {PIECES - 2} stored" in first.output, first.output
    assert "2 quarantined" in first.output and "finished-ish" in first.output
    again = runner.invoke(args=["ingest", "run", "yuxi-first", "fhir", str(folder), "--translators", "0"])
    assert f"{PIECES + 1} read, 0 stored (0 records)" in again.output, again.output
    refused = runner.invoke(args=["ingest", "run", "yuxi-first", "fhir", str(folder), "--translators", "-1"])
    assert refused.exit_code != 0 and "--translators" in refused.output
