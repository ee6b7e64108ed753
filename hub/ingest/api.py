"""``/ingest``: institutions' systems push records through the adapters; people work the quarantine.

``POST /ingest/{institution}/{format}`` takes the payload as sent (FHIR JSON, HL7 v2 with or without
MLLP framing, CSV in the institution's encoding) from a machine client of that institution, and
answers with what became of each piece. HL7 v2 senders that ask for ``x-application/hl7-v2+er7``
get the ACK of every message instead (MLLP-framed when they sent frames).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from hub.api.security import protect
from hub.auth.principal import ADMIN, INSTITUTION, REGULATOR
from hub.errors import Forbidden

from . import service

bp = Blueprint("ingest", __name__, url_prefix="/ingest")
protect(bp)
HL7_MEDIA = "x-application/hl7-v2+er7"


def _hub():
    return current_app.extensions["xietong"]


def _writer():
    p = g.principal
    if p.role == REGULATOR:
        raise Forbidden("regulators read; they do not submit or change records")
    return p


@bp.post("/<institution>/<fmt>")
def intake(institution: str, fmt: str):
    p = _writer()
    service.adapter_for(fmt)
    if p.kind != "client" or p.role != INSTITUTION or p.organization != institution:
        raise Forbidden(
            f"only a machine client of Organization/{institution} submits its records "
            f"(this token is for {'Organization/' + p.organization if p.organization else 'no institution'})"
        )
    summary = service.Intake(_hub(), institution, p).run(
        fmt, request.get_data(), f"{request.path} {_request_id()}"
    )
    if fmt == "hl7v2" and HL7_MEDIA in request.headers.get("Accept", ""):
        acks = [r.ack for r in summary.results if r.ack]
        framed = request.get_data()[:1] == b"\x0b"
        body = "".join(f"\x0b{a}\x1c\r" for a in acks) if framed else "".join(acks)
        return Response(body.encode("utf-8"), 200, content_type=f"{HL7_MEDIA}; charset=utf-8")
    return jsonify(summary.as_json())


def _request_id() -> str:
    return request.headers.get("X-Request-Id", "")[:64]


def _scope() -> str | None:
    """Whose quarantine the caller works: its own institution's; the alliance office sees all."""
    p = g.principal
    if p.role in (REGULATOR, ADMIN) and p.organization is None:
        return request.args.get("institution")
    if p.organization is None:
        raise Forbidden("the quarantine belongs to an institution; this caller acts for none")
    return p.organization


@bp.get("/quarantine")
def quarantine_list():
    scope = _scope()
    status = request.args.get("status", "open")
    entries = service.list_quarantine(_hub(), scope, None if status == "all" else status)
    return jsonify({"entries": entries, "count": len(entries)})


@bp.get("/quarantine/<int:qid>")
def quarantine_entry(qid: int):
    row = service.quarantined(_hub(), qid, _scope() if g.principal.organization else None)
    out = {k: v for k, v in row._asdict().items() if k != "raw"}
    out["received_at"] = row.received_at.isoformat()
    out["resolved_at"] = row.resolved_at.isoformat() if row.resolved_at else None
    out["raw"] = bytes(row.raw).decode("utf-8", "replace")
    return jsonify(out)


@bp.post("/quarantine/<int:qid>/replay")
def quarantine_replay(qid: int):
    p = _writer()
    org = p.organization if p.role != ADMIN else None
    result = service.replay(_hub(), qid, org, p if p.role == INSTITUTION else None)
    return jsonify(result.as_json())


@bp.post("/quarantine/<int:qid>/discard")
def quarantine_discard(qid: int):
    p = _writer()
    service.discard(_hub(), qid, p.organization if p.role != ADMIN else None)
    return jsonify({"id": qid, "status": "discarded"})
