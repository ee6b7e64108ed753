"""Demo machine clients for ``make run``: one per seeded institution, plus the regulator.

``ensure_demo_clients(app)`` makes, once, an ES384 key pair per demo client in
``<INSTANCE_PATH>/demo-clients/`` (``<name>.jwk.json``: the private key, mode 0600;
``<name>.jwks.json``: the public JWKS; ``<name>.client.json``: the client_id and what was
registered) and registers the clients. Running it again registers nothing new. The institutions
are the Organizations of ``hub.seed``, found in the store by their 统一社会信用代码 identifier;
one that is not in the store (not seeded yet) is skipped.

``python -m hub.auth.demo_token <name>`` then gets an access token with such a key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask
from joserfc import jwk
from sqlalchemy import false, select

from hub.auth import clients as registry
from hub.auth.principal import INSTITUTION, REGULATOR

DIRECTORY = "demo-clients"
_CLINICAL = (
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "DiagnosticReport",
    "AllergyIntolerance",
    "MedicationRequest",
    "Procedure",
    "ServiceRequest",
    "Task",
    "DocumentReference",
    "Communication",
    "Appointment",
    "EpisodeOfCare",
    "CareTeam",
    "Consent",
)
_DIRECTORY = (
    "Organization",
    "OrganizationAffiliation",
    "HealthcareService",
    "Practitioner",
    "PractitionerRole",
)
INSTITUTION_SCOPES = " ".join(
    [f"system/{t}.crus" for t in _CLINICAL] + [f"system/{t}.rs" for t in _DIRECTORY]
)
REGULATOR_SCOPES = "system/*.rs"

# demo client name -> seeded institution key (hub.seed), or None for the alliance office's regulator
DEMO_CLIENTS: dict[str, str | None] = {
    "tertiary-1": "yuxi-first",
    "county-1": "tonghai-county",
    "county-2": "huaning-county",
    "community-1": "fenghuang-chc",
    "township-1": "yangguang-thc",
    "township-2": "panxi-thc",
    "regulator": None,
}


def demo_directory(instance_path: str | os.PathLike) -> Path:
    return Path(instance_path) / DIRECTORY


def ensure_demo_clients(app: Flask) -> list[dict]:
    """Register the demo clients that are missing; one dict per demo client (what to print)."""
    hub = app.extensions["xietong"]
    folder = demo_directory(hub.config.INSTANCE_PATH)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    out = []
    for name, org_key in DEMO_CLIENTS.items():
        if org_key is None:
            org_id, org_name, role, scopes = None, "alliance office", REGULATOR, REGULATOR_SCOPES
        else:
            org_id, org_name = _organization(hub, org_key)
            role, scopes = INSTITUTION, INSTITUTION_SCOPES
            if org_id is None:
                reason = f"{org_name} is not in the store (run flask seed first)"
                out.append({"name": name, "status": "skipped", "reason": reason, "client_id": None})
                continue
        out.append(_ensure(hub, folder, name, org_id, org_name, role, scopes))
    return out


def _ensure(hub, folder: Path, name: str, org_id, org_name, role, scopes) -> dict:
    key_file, jwks_file, info_file = (
        folder / f"{name}{ext}" for ext in (".jwk.json", ".jwks.json", ".client.json")
    )
    key = _key(key_file, jwks_file, name)
    public = {"keys": [{**key.as_dict(private=False), "alg": "ES384", "use": "sig"}]}
    label = f"{name} (demo) {org_name}"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    status = "present"
    with hub.db.write() as conn:
        client = registry.get_client(conn, info.get("client_id", ""))
        if client is None:  # lost the record, or a fresh database: find it by name, else register
            client = next((c for c in registry.list_clients(conn) if c.name == label), None)
            if client is not None:
                registry.rotate_keys(conn, client.client_id, jwks=public)
                status = "keys replaced"
            else:
                client_id = registry.add_client(conn, label, org_id, role, scopes, jwks=public)
                client = registry.get_client(conn, client_id)
                status = "registered"
    info = {
        "client_id": client.client_id,
        "name": name,
        "label": label,
        "organization": client.organization_id,
        "role": client.role,
        "scopes": client.scope_text,
        "key_file": str(key_file),
        "jwks_file": str(jwks_file),
    }
    _write(info_file, json.dumps(info, ensure_ascii=False, indent=2), 0o644)
    return {**info, "status": status, "organization_name": org_name}


def _key(key_file: Path, jwks_file: Path, name: str) -> jwk.ECKey:
    if key_file.exists():
        key = jwk.import_key(json.loads(key_file.read_text()))
    else:
        key = jwk.ECKey.generate_key("P-384", private=True, auto_kid=True)
        data = {**key.as_dict(private=True), "alg": "ES384", "use": "sig"}
        _write(key_file, json.dumps(data, indent=2), 0o600)
    public = {"keys": [{**key.as_dict(private=False), "alg": "ES384", "use": "sig"}]}
    _write(jwks_file, json.dumps(public, indent=2), 0o644)
    return key


def _write(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _organization(hub, org_key: str) -> tuple[str | None, str]:
    """The store id of a seeded institution (found by its USCC identifier), and its name."""
    from hub import seed
    from hub.models import resource_tables

    org = seed._ORG_BY_KEY[org_key]
    wanted = {"system": seed.SID_USCC, "value": seed._uscc(org)}
    table = resource_tables["Organization"]
    with hub.db.read() as conn:
        rows = conn.execute(select(table.c.fhir_id, table.c.body).where(table.c.deleted == false()))
        for fhir_id, body in rows:
            for ident in json.loads(body).get("identifier", []):
                if ident.get("system") == wanted["system"] and ident.get("value") == wanted["value"]:
                    return fhir_id, org.name
    return None, org.name


def format_demo_clients(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        if r.get("status") == "skipped":
            lines.append(f"  {r['name']:<12} skipped: {r['reason']}")
        else:
            org = f"Organization/{r['organization']}" if r["organization"] else "-"
            lines.append(
                f"  {r['name']:<12} {r['client_id']}  {r['role']:<11} {org:<45} "
                f"{r['organization_name']}  [{r['status']}]"
            )
    return "\n".join(lines)
