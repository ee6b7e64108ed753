"""Translating processes: a large payload's pieces parsed, mapped and validated in other processes
while the intake stores -- with the outcomes, piece by piece, of translating them in the intake's
own process; a resend translates nothing; processes that die leave the work to the intake."""

from __future__ import annotations

import gc
import os
import re
import signal

import orjson
import pytest
from sqlalchemy import select

from adapters.tables import intake_record
from hub.fhir import dates
from hub.ingest import service
from hub.ingest.service import GROUP_PIECES, Intake
from hub.models import idx_date, idx_ref, idx_string, idx_token, resource_history, resource_tables
from tests.adapters.conftest import count
from tests.adapters.test_groups import bundle
from tests.factories import resident_id

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
        if n == GROUP_PIECES + 20:  # valid, but the store refuses it: made ahead, it cannot be
            del b["entry"][1]["resource"]["effectiveDateTime"]
            b["entry"][1]["resource"]["effectivePeriod"] = {"start": "2026-11-15", "end": "2026-11-14"}
            special[n] = "a period that ends before it starts"
        if n == 2 * GROUP_PIECES + 5:
            b["entry"][1]["resource"]["status"] = "finished-ish"
            special[n] = "invalid status"
        lines.append(orjson.dumps(b))
    lines[110] = lines[5]
    special[110] = "the same bytes as line 6"
    return b"\n".join(lines), special


def outcomes(summary, tag: str) -> list[tuple]:
    return [
        (r.outcome, r.link, r.records, r.stage, r.element, (r.reason or "").replace(f"{tag}-", "*-"))
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
    period = by_position[GROUP_PIECES + 20]
    assert period.outcome == "quarantined" and "starts (2026-11-15) after it ends" in period.reason
    assert (elsewhere.stored, elsewhere.quarantined, elsewhere.duplicate) == (PIECES - 4, 3, 1)
    assert sorted(special) == [60, GROUP_PIECES + 20, 2 * GROUP_PIECES + 5, 110]


def test_a_resend_translates_nothing(hub, submitted):
    data, _ = payload("R")
    with Intake(hub, "yuxi-first", translators=1) as intake:
        first = intake.run("fhir", data, "r.ndjson")
        observations = count(hub, "Observation")
        sent = len(submitted)
        again = intake.run("fhir", data, "r.ndjson")
    assert first.stored == PIECES - 4
    assert (again.stored, again.quarantined, again.duplicate) == (0, 0, PIECES)
    assert len(submitted) == sent
    assert count(hub, "Observation") == observations


def test_processes_that_die_leave_the_translation_to_the_intake(hub, caplog):
    data, _ = payload("K")
    with Intake(hub, "yuxi-first", translators=1) as intake:
        translators = intake.translators()
        translators.warm("fhir", [])
        for pid in list(translators._pool._processes):
            os.kill(pid, signal.SIGKILL)
        summary = intake.run("fhir", data, "k.ndjson")
    assert (summary.stored, summary.quarantined, summary.duplicate) == (PIECES - 4, 3, 1)
    assert count(hub, "Patient") >= 97
    assert "translating processes failed" in caplog.text  # said, and replaced


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
    assert f"2 files: {PIECES + 1} read, {PIECES - 3} stored" in first.output, first.output
    assert "3 quarantined" in first.output and "finished-ish" in first.output
    again = runner.invoke(args=["ingest", "run", "yuxi-first", "fhir", str(folder), "--translators", "0"])
    assert f"{PIECES + 1} read, 0 stored (0 records)" in again.output, again.output
    refused = runner.invoke(args=["ingest", "run", "yuxi-first", "fhir", str(folder), "--translators", "-1"])
    assert refused.exit_code != 0 and "--translators" in refused.output


def test_records_made_ahead_are_stored_as_records_made_here(hub):
    """The records a translating process made ready (``hub.ingest.premade``): the same rows, JSON,
    history and index rows as the records the intake makes itself, the real patient and time in
    place of the placeholders."""
    here, _ = payload("H")
    elsewhere, _ = payload("E")
    Intake(hub, "yuxi-first").run("fhir", here, "here.ndjson")
    with Intake(hub, "yuxi-first", translators=1) as intake:
        summary = intake.run("fhir", elsewhere, "elsewhere.ndjson")
    made = [r for r in summary.results[GROUP_PIECES:] if r.outcome == "stored"]
    assert len(made) > GROUP_PIECES  # the second and third groups, made ahead
    t, h = resource_tables["Observation"], resource_history
    with hub.db.read() as conn:
        stored = {
            r.source_key: r
            for r in conn.execute(
                select(intake_record.c.source_key, t).join(t, t.c.fhir_id == intake_record.c.fhir_id)
            )
        }
        for result in made:
            n = int(result.source.split("#")[1]) - 1
            mine, theirs = _key("E", n), _key("H", n)
            a, b = stored[mine], stored[theirs]
            same = ("version", "deleted", "tenant", "date_low", "date_high")
            assert [getattr(a, c) for c in same] == [getattr(b, c) for c in same]
            assert a.patient == result.patient_id
            body = orjson.loads(a.body)
            assert body["meta"]["lastUpdated"] == dates.instant(a.last_updated)
            assert body["subject"] == {"reference": f"Patient/{a.patient}"}
            assert _as_made_here(body, "E") == _as_made_here(orjson.loads(b.body), "H")
            history = conn.execute(select(h.c.version, h.c.method, h.c.body).where(h.c.pid == a.pid))
            assert [tuple(r) for r in history] == [(1, "POST", a.body)]
            assert _index_rows(conn, a) == _index_rows(conn, b)
    placeholders = re.compile(r"xt[0-9a-f]{24}-\d+-")
    assert not any(placeholders.search(r.body) for r in stored.values())


def _key(tag: str, n: int) -> str:
    """The source key of the Observation of line ``n`` of ``payload(tag)``."""
    return f"fhir|urn:uuid:o-{tag}-{n % 97}-{n}"


def _as_made_here(body: dict, tag: str) -> dict:
    """A stored Observation without what differs between two stores of it: id, time, patient."""
    body = {k: v for k, v in body.items() if k not in ("id", "subject")}
    body["meta"] = {k: v for k, v in body["meta"].items() if k != "lastUpdated"}
    return orjson.loads(orjson.dumps(body).decode().replace(f"o-{tag}-", "o-*-"))


def _index_rows(conn, row) -> dict:
    """A record's search-index rows, its patient's id written as ``P``."""
    out = {}
    for table in (idx_token, idx_string, idx_date, idx_ref):
        cols = [c for c in table.c if c.name not in ("pid", "id")]
        out[table.name] = sorted(
            tuple("P" if str(v) == row.patient else str(v) for v in r)
            for r in conn.execute(select(*cols).where(table.c.pid == row.pid))
        )
    return out


def test_a_record_made_ahead_that_was_stored_before_is_an_update(hub):
    data, _ = payload("U")
    lines = data.split(b"\n")
    n = 2 * GROUP_PIECES + 3  # in a group made ahead
    changed = orjson.loads(lines[n])
    changed["entry"][1]["resource"]["valueQuantity"]["value"] = 42.5
    lines[n] = orjson.dumps(changed)
    with Intake(hub, "yuxi-first", translators=1) as intake:
        intake.run("fhir", data, "first.ndjson")
        again = intake.run("fhir", b"\n".join(lines), "again.ndjson")
    assert (again.stored, again.duplicate) == (1, PIECES - 1)
    t = resource_tables["Observation"]
    with hub.db.read() as conn:
        row = conn.execute(
            select(t.c.version, t.c.body)
            .join(intake_record, intake_record.c.fhir_id == t.c.fhir_id)
            .where(intake_record.c.source_key == _key("U", n))
        ).one()
    assert row.version == 2 and orjson.loads(row.body)["valueQuantity"]["value"] == 42.5


CSV_HEADER = (
    "门诊号,身份证号,医保号,姓名,性别,出生日期,联系电话,"
    "检验单号,项目代码,项目名称,结果,单位,参考范围,异常标志,报告时间,诊断编码,诊断名称\r\n"
)


def csv_payload(tag: str) -> bytes:
    """``PIECES`` CSV rows of 40 people, three rows each in a row (most of them in the groups made
    ahead), each a result and the person's diagnosis: the rows after a person's first repeat the
    diagnosis as it was (the result and the diagnosis of a row share their subject in the unit the
    adapter makes)."""
    family, decade = FAMILIES[ord(tag) % len(FAMILIES)], 10 * (ord(tag) % 6)
    rows = []
    for k in range(PIECES):
        p = k // 3
        birth = f"{1930 + decade + p % 10}-0{1 + p // 10}-1{p % 10}"
        rid = resident_id(birth, seq=f"{p:03d}")
        rows.append(
            f"{tag}{p:04d},{rid},,{family}芳,女,{birth},1390000{p:04d},J{tag}{k:05d},XT,空腹血糖,"
            f"{5 + k / 10:.1f},mmol/L,3.9-6.1,,2026-11-15 08:30,002,糖尿病\r\n"
        )
    return (CSV_HEADER + "".join(rows)).encode("gb18030")


def test_csv_rows_translated_elsewhere_are_stored_as_here(hub):
    here = Intake(hub, "yangguang-thc").run("csv", csv_payload("H"), "here.csv")
    with Intake(hub, "yangguang-thc", translators=1) as intake:
        elsewhere = intake.run("csv", csv_payload("E"), "elsewhere.csv")
    assert outcomes(elsewhere, "E") == outcomes(here, "H")
    # A person's first row: the result and the diagnosis; later rows: the result (the diagnosis as
    # it was is the same record, not a new version).
    assert [r.records for r in elsewhere.results] == [2, 1, 1] * 40
    t = resource_tables["Condition"]
    with hub.db.read() as conn:
        assert set(conn.execute(select(t.c.version)).scalars()) == {1}


def test_running_processes_take_the_first_group_too(hub, submitted):
    with Intake(hub, "yuxi-first", translators=1) as intake:
        first = intake.run("fhir", payload("F")[0], "first.ndjson")
        assert "first.ndjson#1" not in submitted  # translated here while the processes started
        second = intake.run("fhir", payload("S")[0], "second.ndjson")
    assert "second.ndjson#1" in submitted  # the processes were running: the first group went too
    assert outcomes(second, "S") == outcomes(first, "F")
