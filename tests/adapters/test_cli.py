"""``flask ingest``: a folder in, a summary out; the same folder again stores nothing twice."""

from __future__ import annotations

import gc

from tests.adapters.conftest import count
from tests.adapters.test_hl7v2 import ORU, rid


def test_ingest_folder_summary_resume_and_replay(app, hub, tmp_path):
    folder = tmp_path / "lis"
    (folder / "2026-11").mkdir(parents=True)
    good = ORU.format(rid=rid())
    second = good.replace("TH-LIS-0001", "TH-LIS-0002").replace("A1001", "A1002")
    bad = good.replace("TH-LIS-0001", "TH-LIS-0003").replace("||7.8|", "||7..8|")
    (folder / "a.hl7").write_bytes(("\x0b" + good + "\x1c\r").encode())
    (folder / "2026-11" / "b.hl7").write_bytes((second + bad).replace("\r", "\n").encode("utf-8-sig"))
    (folder / "notes.md").write_text("not a message")
    runner = app.test_cli_runner()
    gc.unfreeze()
    try:
        first = runner.invoke(args=["ingest", "run", "tonghai-county", "hl7v2", str(folder)])
        # The start-up heap out of the collector's sight before the files are read.
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test session is collected as usual
    assert first.exit_code == 0, first.output
    assert "2 files: 3 read, 2 stored" in first.output and "1 quarantined" in first.output
    assert "OBX[1]-5" in first.output
    observations = count(hub, "Observation")
    again = runner.invoke(args=["ingest", "run", "tonghai-county", "hl7v2", str(folder)])
    assert "3 read, 0 stored (0 records), 3 already stored" in again.output, again.output
    assert count(hub, "Observation") == observations
    listing = runner.invoke(args=["ingest", "quarantine", "tonghai-county"])
    assert "OBX[1]-5" in listing.output and listing.output.count("\n") == 1
    qid = int(listing.output.split()[0].lstrip("#"))
    replay = runner.invoke(args=["ingest", "replay", str(qid)])
    assert f"#{qid}: quarantined" in replay.output and "0 of 1 replayed" in replay.output
    unknown = runner.invoke(args=["ingest", "run", "nowhere", "hl7v2", str(folder)])
    assert unknown.exit_code != 0 and "nowhere" in unknown.output


def test_mappings_command_stores_concept_maps(app, hub):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["ingest", "mappings"])
    assert out.exit_code == 0 and "yuxi-first: 3 ConceptMaps stored" in out.output, out.output
    assert count(hub, "ConceptMap") == 15
    assert "reloaded" in runner.invoke(args=["ingest", "mappings", "--reload"]).output
    assert count(hub, "ConceptMap") == 15
