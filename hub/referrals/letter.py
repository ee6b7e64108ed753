"""The patient's printable referral letter (转诊单, 患者联): where to go, when, and why.

A PDF drawn with reportlab's built-in CID font STSong-Light (Adobe's Chinese font set, which every
PDF reader carries): Chinese text without shipping a font file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from hub.fhir import dates

FONT = "STSong-Light"
SHANGHAI = ZoneInfo("Asia/Shanghai")
_registered = False

DIRECTION_TEXT = {
    "up": "上转 (to a higher-level hospital)",
    "down": "下转 (back to primary care)",
    "lateral": "平转",
}
PRIORITY_TEXT = {"routine": "普通", "urgent": "加急", "asap": "尽快", "stat": "紧急"}
STATUS_TEXT = {
    "requested": "已提交，等待接收医院处理",
    "received": "接收医院已签收，正在审核",
    "accepted": "已接收",
    "in-progress": "就诊中",
    "completed": "已完成",
    "rejected": "未被接收",
    "cancelled": "已取消",
}


@dataclass
class LetterData:
    task_id: str
    status: str
    direction: str
    priority: str
    patient_name: str
    patient_gender: str
    patient_birth: str
    from_name: str
    to_name: str
    to_address: str
    to_phone: str
    reason: str
    when: str
    valid_until: str


def _font() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True


def local_time(instant: str | None) -> str:
    """An instant shown in Asia/Shanghai, minutes precision."""
    if not instant:
        return ""
    try:
        low = dates.parse_range(instant)[0]
    except dates.BadDate:
        return instant
    return low.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def render(d: LetterData) -> bytes:
    _font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"双向转诊单 {d.task_id}")
    c.setAuthor("协同医联体转诊平台")
    width, height = A4
    y = height - 25 * mm
    c.setFont(FONT, 20)
    c.drawCentredString(width / 2, y, "双向转诊单（患者联）")
    y -= 8 * mm
    c.setFont(FONT, 10)
    c.drawCentredString(width / 2, y, f"转诊编号 {d.task_id}")
    y -= 14 * mm
    rows = [
        ("患者姓名", d.patient_name),
        ("性别 / 出生日期", f"{d.patient_gender} / {d.patient_birth}"),
        ("转诊方向", DIRECTION_TEXT.get(d.direction, d.direction)),
        ("紧急程度", PRIORITY_TEXT.get(d.priority, d.priority)),
        ("转出机构", d.from_name),
        ("转入机构（请前往）", d.to_name),
        ("地址", d.to_address or "请向转入机构咨询"),
        ("联系电话", d.to_phone or "—"),
        ("就诊时间", d.when),
        ("转诊原因", d.reason),
        ("当前状态", STATUS_TEXT.get(d.status, d.status)),
        ("有效期至", d.valid_until),
    ]
    for label, value in rows:
        c.setFont(FONT, 12)
        c.drawString(25 * mm, y, label)
        for i, line in enumerate(_wrap(value or "", 28)):
            c.drawString(75 * mm, y - i * 6 * mm, line)
        y -= max(1, len(_wrap(value or "", 28))) * 6 * mm + 4 * mm
    y -= 6 * mm
    c.setFont(FONT, 10)
    for line in (
        "请携带本转诊单、身份证、医保卡及既往检查检验报告按时就诊。",
        "转诊单超过有效期未使用将自动失效；如需改期请联系转出机构。",
        "本转诊单由协同医联体转诊平台生成。",
    ):
        c.drawString(25 * mm, y, line)
        y -= 6 * mm
    c.showPage()
    c.save()
    return buf.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


GENDER = {"male": "男", "female": "女", "other": "其他", "unknown": "未知"}


def letter_for(hub, principal, task_id: str) -> bytes:
    """The letter of a referral Task the caller may read (every read audited like any other)."""
    from hub.errors import NotFound
    from hub.fhir.extract import parse_reference
    from hub.referrals import codes

    fhir = hub.fhir

    def get(ref: dict | None) -> dict:
        parsed = parse_reference((ref or {}).get("reference", ""))
        if not parsed:
            return {}
        try:
            return fhir.read(principal, parsed[0], parsed[1]).resource()
        except NotFound:
            return {}

    task = fhir.read(principal, "Task", task_id).resource()
    if not codes.claims(task, codes.TASK_PROFILE):
        raise NotFound(f"Task/{task_id} is not a referral; it has no referral letter")
    sr = get(task.get("focus"))
    patient = get(task.get("for"))
    owner = get(task.get("owner"))
    requester = get(task.get("requester"))
    when = "请等待转入机构通知就诊时间"
    for out in task.get("output") or ():
        kind = codes.code_in(out.get("type"), codes.OUTPUT_TYPE)
        if kind == "appointment":
            appt = get(out.get("valueReference"))
            if appt.get("start"):
                when = local_time(appt["start"])
        elif kind == "proposed-date":
            when = local_time(out.get("valueDateTime")) + "（建议日期）"
    name = next((n for n in patient.get("name") or () if n.get("text") or n.get("family")), {})
    address = next(iter(owner.get("address") or ()), {})
    phone = next((t.get("value") for t in owner.get("telecom") or () if t.get("system") == "phone"), "")
    reasons = [
        cc.get("text")
        or "；".join(f"{c.get('code')} {c.get('display', '')}".strip() for c in cc.get("coding") or ())
        for cc in sr.get("reasonCode") or ()
    ]
    data = LetterData(
        task_id=task_id,
        status=task.get("status", ""),
        direction=codes.ext_code(sr, codes.DIRECTION) or "",
        priority=sr.get("priority", "routine"),
        patient_name=name.get("text") or (name.get("family", "") + "".join(name.get("given") or ())),
        patient_gender=GENDER.get(patient.get("gender", "unknown"), ""),
        patient_birth=patient.get("birthDate", ""),
        from_name=requester.get("name", ""),
        to_name=owner.get("name", ""),
        to_address=address.get("text") or "".join(address.get("line") or ()),
        to_phone=phone,
        reason="；".join(r for r in reasons if r),
        when=when,
        valid_until=local_time(((task.get("restriction") or {}).get("period") or {}).get("end")),
    )
    return render(data)
