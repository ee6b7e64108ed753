"""The HL7 v2 adapter on real-shaped LIS/HIS output: framing, batches, odd bytes, and the store."""

from __future__ import annotations

import pytest

from adapters import hl7v2
from adapters.mapping import load_all
from adapters.pipeline import Piece, Rejected
from hub.ingest.service import Intake
from tests.adapters.conftest import count, resources

LOINC = "http://loinc.org"
# 李秀兰 of the demo alliance: her resident ID card number and her MRN at 通海县人民医院.
ORU = (
    "MSH|^~\\&|THLIS|TONGHAI|XIETONG|YUXI|20261115093000||ORU^R01^ORU_R01|TH-LIS-0001|P|2.4|||AL|NE||"
    "UNICODE UTF-8\r"
    "PID|1||TH0107758^^^THHIS^MR~{rid}^^^CHNRIC^NNCHN||李^秀兰||19620218|F|||礼乐路8号^^通海县^云南省^652700^CN"
    "||13900001002~^PRN^PH^^^^^^^^^13900001003\r"
    "PV1|1|O|NK^^^TONGHAI||||||NK^内科^THKS||||||||||MZ260001\r"
    "OBR|1|A1001|LIS-889|ZH^生化组合^THLIS|||20261115080000|||||||||||||||20261115092000|||F\r"
    "OBX|1|NM|1001^空腹血糖^THLIS||7.8|mmol/L|3.9-6.1|H|||F|||20261115081500\r"
    "OBX|2|NM|1002^糖化血红蛋白^THLIS||6.9|%|4.0-6.0|H~A|||F\r"
    "OBX|3|ST|9999^尿常规备注^THLIS||蛋白\\T\\潜血 阴性||||||F\r"
    "OBX|4|NM|2002^血红蛋白^THLIS||||130-175||||F\r"
    "ZLS|1|仪器 AU5800|批号 2611\r"
)


def rid(app_hub=None) -> str:
    from hub.seed import _PEOPLE, _resident_id

    return _resident_id(next(p for p in _PEOPLE if p.key == "li-xiulan"))


def mapping():
    return load_all()["tonghai-county"].bound("org-tonghai")


def test_split_handles_mllp_batches_bom_and_lf():
    one = ORU.format(rid=rid()).encode()
    two = one.replace(b"TH-LIS-0001", b"TH-LIS-0002")
    lf = two.replace(b"\r", b"\n")
    batch = (
        b"\xef\xbb\xbfFHS|^~\\&|THLIS\nBHS|^~\\&|THLIS\n"
        + one.replace(b"\r", b"\r\n")
        + lf
        + b"BTS|2\nFTS|1\n"
    )
    pieces = list(hl7v2.split(batch, "f.hl7", mapping()))
    assert [p.raw.split(b"\r")[0].split(b"|")[9] for p in pieces] == [b"TH-LIS-0001", b"TH-LIS-0002"]
    framed = b"\x0b" + one + b"\x1c\r" + b"\x0b" + two + b"\x1c\r"
    assert len(list(hl7v2.split(framed, "mllp", mapping()))) == 2
    assert all(b"\n" not in p.raw and not p.raw.startswith(b"\xef") for p in pieces)


def test_translate_maps_codes_units_ranges_flags_and_escapes():
    unit = hl7v2.translate(Piece(ORU.format(rid=rid()).encode(), "t"), mapping())
    patient = unit.patients[0]
    assert patient["gender"] == "female" and patient["birthDate"] == "1962-02-18"
    assert patient["name"][0]["text"] == "李秀兰"
    systems = {i["system"] for i in patient["identifier"]}
    assert (
        "urn:oid:2.16.156.10011.1.3" in systems
        and "http://xietong.example/fhir/sid/mrn/tonghai-county" in systems
    )
    assert [t["value"] for t in patient["telecom"]] == ["13900001002", "13900001003"]  # repetition, XTN-12
    obs = [r.resource for r in unit.records if r.resource["resourceType"] == "Observation"]
    glucose = obs[0]
    assert glucose["code"]["coding"][0] == {
        "system": LOINC,
        "code": "14771-0",
        "display": "Fasting glucose [Moles/volume] in Serum or Plasma",
    }
    assert glucose["code"]["coding"][1]["code"] == "1001"  # the local coding stays
    assert str(glucose["valueQuantity"]["value"]) == "7.8" and glucose["valueQuantity"]["unit"] == "mmol/L"
    assert str(glucose["referenceRange"][0]["low"]["value"]) == "3.9"
    assert glucose["interpretation"][0]["coding"][0]["code"] == "H"
    assert glucose["effectiveDateTime"] == "2026-11-15T08:15:00+08:00"
    assert [f["coding"][0]["code"] for f in obs[1]["interpretation"]] == ["H", "A"]
    assert obs[2]["valueString"] == "蛋白&潜血 阴性"  # \T\ unescaped
    assert "valueQuantity" not in obs[3]  # an empty OBX-5 is no value, not a zero
    # 9999 is not in the map: kept as the local coding and reported, never guessed
    assert sorted((u.code, u.element) for u in unit.unmapped) == [("9999", "OBX[3]-3"), ("ZH", "OBR[1]-4")]
    assert any("ZLS" in n for n in unit.notes)
    report = next(r.resource for r in unit.records if r.resource["resourceType"] == "DiagnosticReport")
    assert len(report["result"]) == 4 and report["status"] == "final"


@pytest.mark.parametrize(
    "mutate, stage, element",
    [
        (lambda m: "garbage that is not HL7", "parse", "MSH"),
        (lambda m: m.replace("||7.8|", "||7,8 high|"), "map", "OBX[1]-5"),
        (lambda m: m.replace("MSH|", "MSH|").replace("ORU^R01^ORU_R01", "SIU^S12"), "map", "MSH-9"),
        (
            lambda m: m.replace("TH0107758^^^THHIS^MR~", "").replace("{rid}", "530423196202181235"),
            "validate",
            "PID-3",
        ),
        (lambda m: m.replace("|19620218|", "|19621318|"), "map", "PID-7"),
        (
            lambda m: m.replace("PID|1||TH0107758^^^THHIS^MR~{rid}^^^CHNRIC^NNCHN|", "PID|1|||"),
            "map",
            "PID-3",
        ),
        (lambda m: m.replace("||F|||20261115081500", "||Q|||20261115081500"), "map", "OBX[1]-11"),
    ],
)
def test_bad_messages_are_rejected_naming_the_element(mutate, stage, element):
    text = mutate(ORU).replace("{rid}", rid())
    with pytest.raises(Rejected) as info:
        hl7v2.translate(Piece(text.encode(), "t"), mapping())
    assert (info.value.stage, info.value.element) == (stage, element), info.value.reason


def test_gb18030_message_is_decoded_from_msh18():
    text = ORU.format(rid=rid()).replace("UNICODE UTF-8", "GB 18030-2000")
    unit = hl7v2.translate(Piece(text.encode("gb18030"), "t"), mapping())
    assert unit.patients[0]["name"][0]["text"] == "李秀兰"
    silent = ORU.format(rid=rid()).replace("UNICODE UTF-8", "")  # MSH-18 empty: the mapping's encoding
    unit = hl7v2.translate(Piece(silent.encode("gb18030"), "t"), mapping())
    assert unit.patients[0]["name"][0]["text"] == "李秀兰"
    assert hl7v2.translate(Piece(silent.encode(), "t"), mapping()).patients[0]["name"][0]["text"] == "李秀兰"


def test_ack_per_message():
    piece = Piece(ORU.format(rid=rid()).encode(), "t")
    ok = hl7v2.ack(None, "AA", None, piece)
    assert ok.split("\r")[1] == "MSA|AA|TH-LIS-0001"
    bad = hl7v2.ack(None, "AE", Rejected("map", "OBX-5 'x|y' is not a number", "OBX[1]-5"), piece)
    assert bad.split("\r")[1].startswith("MSA|AE|TH-LIS-0001|OBX-5 'x\\F\\y' is not a number")
    assert bad.split("\r")[2].startswith("ERR||OBX[1]-5|207")
    assert (
        hl7v2.ack(None, "AR", Rejected("parse", "no", "MSH"), Piece(b"\x00\x01", "t")).split("\r")[1]
        == "MSA|AR|"
    )


def test_oru_is_stored_linked_and_idempotent(hub):
    intake = Intake(hub, "tonghai-county")
    patients = count(hub, "Patient")
    payload = ORU.format(rid=rid()).encode()
    s = intake.run("hl7v2", payload, "lis.hl7")
    assert (s.read, s.stored, s.quarantined, s.linked) == (1, 1, 0, 1), s.as_json()
    assert s.records == 6  # the encounter, 4 observations and the report; nothing for the Z-segment
    assert count(hub, "Patient") == patients  # 李秀兰 is known: linked, not duplicated
    obs = resources(hub, "Observation")
    glucose = next(
        o
        for o in obs
        if o["code"]["coding"][0]["code"] == "14771-0"
        and "valueQuantity" in o
        and o["valueQuantity"]["unit"] == "mmol/L"
        and str(o["valueQuantity"]["value"]) == "7.8"
    )
    assert glucose["subject"]["reference"] == f"Patient/{s.results[0].patient_id}"
    again = intake.run("hl7v2", payload, "lis.hl7")
    assert (again.stored, again.duplicate) == (0, 1)
    # a corrected result (new control id, same order and item) updates the observation, no twin
    corrected = (
        payload.replace(b"TH-LIS-0001", b"TH-LIS-0002")
        .replace(b"||7.8|", b"||7.6|")
        .replace(b"||F|||2026", b"||C|||2026")
    )
    before = count(hub, "Observation")
    c = intake.run("hl7v2", corrected, "lis.hl7")
    assert c.stored == 1 and count(hub, "Observation") == before
    assert any(
        o.get("status") == "corrected" and str(o["valueQuantity"]["value"]) == "7.6"
        for o in resources(hub, "Observation")
        if "valueQuantity" in o
    )


def test_bad_messages_go_to_quarantine_with_nak(hub):
    intake = Intake(hub, "tonghai-county")
    good = ORU.format(rid=rid())
    bad = good.replace("TH-LIS-0001", "TH-LIS-0009").replace("||7.8|", "||seven|")
    s = intake.run("hl7v2", (good + bad + "not a message at all\r").encode(), "mixed.hl7")
    assert [r.outcome for r in s.results] == ["stored", "quarantined"]
    q = s.results[1]
    assert (
        q.element == "OBX[1]-5" and "not a number" in q.reason and q.ack.split("\r")[1].startswith("MSA|AE")
    )
    assert "MSA|AA|TH-LIS-0001" in s.results[0].ack
