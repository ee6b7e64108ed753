"""AuditEvents in IHE BALP shape, as plain dicts (FHIR R4B). Pure: no Flask, no database.

Every builder takes at most ONE patient (BALP: one AuditEvent per patient; a caller whose action
touched three patients calls it three times) and records identifiers and references only: the
query string of a search (base64, ``entity.query``), never its results; the access token's ``jti``
(``agent.policy`` = ``urn:ietf:params:oauth:jti:<jti>``), never the token.

Agents, per BALP (see ``hub.audit.codes`` for the sources):

* **The requestor** (``requestor = true``). A machine client (SMART Backend Services) is the
  ``Application`` agent (DCM 110150, OAUTHaccessTokenUse ``oClient``): ``who.identifier.value`` =
  client_id, ``network`` = the caller's address, ``policy`` = the token's jti, with the client's
  role and purpose of use (there is no human user in client_credentials, so the client is the
  requestor and carries what BALP puts on ``oUser`` otherwise). A signed-in person is the user
  agent (v3 IRCP for reads and searches, AUT for writes: BALP Read/Query/Create/Update/Delete),
  ``who.identifier`` = user name, ``name``, role, purposeOfUse, and no network (BALP: users are not
  network devices; the browser's address is on the client agent). A background job is an
  ``Application`` agent identified by the job's name.
* **The REST client and server** in the DICOM role ids BALP fixes per interaction (by the direction
  the request flows): read/vread/history: client 110152 Destination, server 110153 Source;
  search, create, update, patch, operations: client 110153 Source, server 110152 Destination;
  delete: client 110150 Application (for a machine client, the requestor agent itself), server
  ``provenance-participant-type#custodian``. The server agent is the hub: ``who`` =
  ``source.observer``.
* **The institution** the principal acts for. FHIR R4B ``AuditEvent.agent`` has no ``onBehalfOf``
  (it arrived in R5), and ``agent.location`` is a Location, not an Organization. So the
  institution is an agent of its own, v3 ParticipationType ``RESP`` (responsible party), ``who`` =
  ``Reference(Organization/<id>)``, ``requestor = false``: BALP's agent slicing is open and allows
  "user, app, organization agent(s)", and the registry's ``agent`` search parameter
  (``agent.who``) then finds every event of an institution with ``agent=Organization/<id>``.
  ``tenant_of(event)`` reads the tenant the event is stored under from that agent.

``source.observer`` is the hub (``HUB``), ``source.type`` Application Server.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from hub.audit import codes as c
from hub.auth.principal import Principal
from hub.fhir import dates

# The hub as an audit source (``source.observer``) and as the server agent of every event.
HUB = {
    "identifier": {"system": c.SID_HUB, "value": "xietong-hub"},
    "display": "协同医联体转诊平台 Xietong hub",
}
HUB_SITE = "xietong-hub"
MAX_TEXT = 200  # identifiers that come from outside (user names, client ids) are cut to this


@dataclass(frozen=True)
class RequestMeta:
    """What the audit trail takes from a request.

    ``remote_addr``: the caller's network address as the server saw it (IP or host name).
    ``request_id``: the ``X-Request-Id`` header, if any (BALP ``entity[transaction]``).
    ``server_url``: the hub's base URL as the caller used it; None: this machine's host name.
    ``when``: the time of the event (``recorded``); None: now.
    """

    remote_addr: str | None = None
    request_id: str | None = None
    server_url: str | None = None
    when: datetime | None = None


NO_REQUEST = RequestMeta()


# --------------------------------------------------------------------------- builders


def rest_event(
    principal: Principal,
    subtype: str,
    action: str | None = None,
    outcome: str = c.OUTCOME_SUCCESS,
    patient_id: str | None = None,
    entities: Iterable[str | dict] = (),
    query: str | bytes | None = None,
    request_meta: RequestMeta = NO_REQUEST,
    outcome_desc: str | None = None,
    operation_outcome: dict | None = None,
) -> dict:
    """A BALP RESTful AuditEvent (Read, Query, Create, Update, Delete, and their Patient* forms).

    ``subtype``: a restful-interaction code (``read``, ``search-type``, ``create`` ...); ``action``
    defaults from it (BALP: read R, search E, create C, update U, delete D). ``entities``: the
    resources acted on, as ``Type/id`` (or ``Type/id/_history/v``) references, or ready entity
    dicts. ``query``: the search request as received (``Observation?patient=123``), recorded base64
    in ``entity[query].query``; never pass results. ``operation_outcome``: for a failure, the
    OperationOutcome returned (contained, FHIR core "Access Denied" guidance).
    """
    if subtype not in c.RESTFUL_INTERACTIONS:
        raise ValueError(f"'{subtype}' is not a restful-interaction code")
    action = action or c.DEFAULT_ACTION[subtype]
    _check(action, outcome)
    client_type, server_type = _rest_roles(subtype)
    user_type = c.AUTHOR if subtype in c.WRITES else c.INFORMATION_RECIPIENT

    agents = _requestor_agents(principal, request_meta, user_type)
    if principal.kind == "user":
        agents.append(_agent(client_type, {"display": "web browser"}, network=request_meta.remote_addr))
    elif client_type != c.APPLICATION:  # a delete's client agent IS the Application agent
        agents.append(_agent(client_type, _who(principal), network=_caller_address(principal, request_meta)))
    agents.append(_agent(server_type, HUB, network=_server_address(request_meta)))
    agents.extend(_institution(principal.organization))

    ents: list[dict] = []
    if patient_id:
        ents.append(_patient_entity(patient_id))
    ents.extend(_data_entity(e) for e in entities)
    if query is not None:
        ents.append({"type": c.ENTITY_SYSTEM_OBJECT, "role": c.ROLE_QUERY, "query": _b64(query)})
    event = _event(
        c.TYPE_REST,
        [_restful(subtype)],
        action,
        outcome,
        outcome_desc,
        agents,
        ents,
        request_meta,
        purpose=principal.purpose,
    )
    if operation_outcome is not None:
        _attach_outcome(event, operation_outcome)
    return event


def login_event(
    username: str,
    outcome: str,
    request_meta: RequestMeta = NO_REQUEST,
    *,
    organization: str | None = None,
    role: str | None = None,
    display_name: str | None = None,
    outcome_desc: str | None = None,
    logout: bool = False,
) -> dict:
    """A person signing in (success or failure) or out: DCM 110114 User Authentication, subtype
    110122 Login / 110123 Logout, action E. The user name is what was typed (cut to 200
    characters), so that failures against unknown names are recorded too; never the password."""
    _check(c.ACTION_EXECUTE, outcome)
    user = {
        "type": {"coding": [c.HUMAN_USER]},
        "who": _identified(c.SID_USER, username, display_name),
        "requestor": True,
    }
    if display_name:
        user["name"] = display_name
    if role:
        user["role"] = [_role(role)]
    if request_meta.remote_addr:
        user["network"] = _network(request_meta.remote_addr)
    agents = [user, _agent(c.DESTINATION_ROLE, HUB, network=_server_address(request_meta))]
    agents.extend(_institution(organization))
    subtype = c.SUBTYPE_LOGOUT if logout else c.SUBTYPE_LOGIN
    return _event(
        c.TYPE_USER_AUTHENTICATION,
        [subtype],
        c.ACTION_EXECUTE,
        outcome,
        outcome_desc,
        agents,
        [],
        request_meta,
    )


def token_event(
    client_id: str,
    outcome: str,
    request_meta: RequestMeta = NO_REQUEST,
    *,
    jti: str | None = None,
    scope: str | None = None,
    requested_scope: str | None = None,
    organization: str | None = None,
    client_name: str | None = None,
    expires_in: int | None = None,
    outcome_desc: str | None = None,
) -> dict:
    """A machine client's access token issued or refused (BALP/IUA ITI-71 Get Access Token shape:
    DCM 110114 User Authentication, action E).

    The client agent (DCM 110150) carries ``who.identifier.value`` = client_id and, when a token
    was issued, ``policy`` = ``urn:ietf:params:oauth:jti:<jti>``. The token request is recorded as
    its grant type and requested scope only (never the client assertion), the response as the jti,
    the granted scope and the lifetime (never the token).
    """
    _check(c.ACTION_EXECUTE, outcome)
    client = _agent(c.APPLICATION, _identified(c.SID_CLIENT, client_id, client_name), requestor=True)
    if request_meta.remote_addr:
        client["network"] = _network(request_meta.remote_addr)
    if jti:
        client["policy"] = [_jti_policy(jti)]
    agents = [client, _agent(c.AUTHZ_SERVER, HUB, network=_server_address(request_meta))]
    agents.extend(_institution(organization))
    request = "grant_type=client_credentials"
    if requested_scope:
        request += "&scope=" + requested_scope
    ents: list[dict] = [{"type": c.ENTITY_SYSTEM_OBJECT, "role": c.ROLE_QUERY, "query": _b64(request)}]
    if jti:
        detail = []
        if scope is not None:
            detail.append({"type": "scope", "valueString": scope or "(none)"})
        if expires_in is not None:
            detail.append({"type": "expires_in", "valueString": str(expires_in)})
        response = {
            "type": c.ENTITY_SYSTEM_OBJECT,
            "role": c.ROLE_SECURITY_RESOURCE,
            "what": {"identifier": {"value": _jti_policy(jti)}},
        }
        if detail:
            response["detail"] = detail
        ents.append(response)
    return _event(
        c.TYPE_USER_AUTHENTICATION,
        [c.SUBTYPE_GET_ACCESS_TOKEN],
        c.ACTION_EXECUTE,
        outcome,
        outcome_desc,
        agents,
        ents,
        request_meta,
    )


def disclosure_pair(
    source_org: str,
    recipient_org: str,
    patient_id: str,
    entities: Iterable[str | dict],
    purpose: str,
    *,
    principal: Principal | None = None,
    request_meta: RequestMeta = NO_REQUEST,
    disclosure_id: str | None = None,
    outcome: str = c.OUTCOME_SUCCESS,
    outcome_desc: str | None = None,
) -> tuple[dict, dict]:
    """Records leaving ``source_org`` for ``recipient_org`` (AUD-02, BALP PrivacyDisclosure):
    ``(export_event, import_event)``, to be stored under the source and the recipient respectively
    (``tenant_of`` gives each its institution).

    Export: DCM 110106, action R; import: DCM 110107, action C; both subtype ISO 21089
    ``disclose``, ``purposeOfEvent`` = ``purpose`` (a hub purpose-of-use code, with its v3 code),
    the patient, the disclosed resources, and one disclosure-set entity whose identifier is the
    same in both events (``disclosure_id``, default a new ``urn:uuid``).

    Both institutions are hub tenants and the hub records both events, so BALP's ``val-audit-source``
    invariant (the audit source is the source agent of an export, the recipient agent of an
    import) is met by the hub being that agent; the institutions are then named by the agents
    BALP provides: the export's recipient is ``recipient_org`` and its custodian (SNOMED 159541003)
    ``source_org``; the import's source is ``source_org``, its custodian ``source_org`` and its
    responsible party ``recipient_org``. ``principal``, if given, is who asked (the requestor).
    """
    set_id = disclosure_id or f"urn:uuid:{uuid.uuid4()}"
    server = _server_address(request_meta)
    entities = list(entities)

    def requestor() -> list[dict]:
        return _requestor_agents(principal, request_meta, c.INFORMATION_RECIPIENT) if principal else []

    def ents() -> list[dict]:  # each event gets its own: nothing is shared between the two
        out = [_patient_entity(patient_id)]
        out.extend(_data_entity(e, role=c.ROLE_REPORT) for e in entities)
        out.append(
            {
                "type": dict(c.ENTITY_SYSTEM_OBJECT),
                "role": dict(c.ROLE_JOB),
                "what": {"identifier": {"system": c.SID_DISCLOSURE, "value": set_id}},
                "description": "disclosure set",
            }
        )
        return out

    recipient_address = request_meta.remote_addr or server
    export_agents = [
        _agent(c.SOURCE_ROLE, HUB, network=server),
        _agent(c.DESTINATION_ROLE, _org(recipient_org), network=recipient_address),
        _agent(c.CUSTODIAN, _org(source_org)),
        *requestor(),
    ]
    import_agents = [
        _agent(c.SOURCE_ROLE, _org(source_org), network=server),
        _agent(c.DESTINATION_ROLE, HUB, network=server),
        _agent(c.CUSTODIAN, _org(source_org)),
        *requestor(),
        *_institution(recipient_org),
    ]
    subtypes = [c.SUBTYPE_DISCLOSE]
    export = _event(
        c.TYPE_EXPORT,
        subtypes,
        c.ACTION_READ,
        outcome,
        outcome_desc,
        export_agents,
        ents(),
        request_meta,
        purpose=purpose,
    )
    imported = _event(
        c.TYPE_IMPORT,
        subtypes,
        c.ACTION_CREATE,
        outcome,
        outcome_desc,
        import_agents,
        ents(),
        request_meta,
        purpose=purpose,
    )
    return export, imported


def tenant_of(event: dict) -> str | None:
    """The institution an event is stored under: its responsible-party (RESP) agent's Organization,
    else (a disclosure export) its custodian's; None for events of the alliance office or the hub."""
    for wanted in (c.RESPONSIBLE_PARTY, c.CUSTODIAN):
        for agent in event.get("agent", ()):
            codings = (agent.get("type") or {}).get("coding", ())
            if any(x.get("system") == wanted["system"] and x.get("code") == wanted["code"] for x in codings):
                ref = (agent.get("who") or {}).get("reference", "")
                if ref.startswith("Organization/"):
                    return ref.split("/", 1)[1]
    return None


def patient_of(event: dict) -> str | None:
    """The id of the event's patient entity, if any."""
    for ent in event.get("entity", ()):
        if (ent.get("role") or {}).get("code") == c.ROLE_PATIENT["code"]:
            ref = (ent.get("what") or {}).get("reference", "")
            if ref.startswith("Patient/"):
                return ref.split("/", 1)[1]
    return None


# --------------------------------------------------------------------------- parts


def _event(
    type_: dict,
    subtypes: list[dict],
    action: str,
    outcome: str,
    outcome_desc: str | None,
    agents: list[dict],
    entities: list[dict],
    meta: RequestMeta,
    purpose: str | None = None,
) -> dict:
    event: dict = {
        "resourceType": "AuditEvent",
        "type": dict(type_),
        "subtype": [dict(s) for s in subtypes],
        "action": action,
        "recorded": dates.instant(meta.when or dates.now_utc()),
        "outcome": outcome,
    }
    if outcome_desc:
        event["outcomeDesc"] = outcome_desc[:1000]
    if purpose:
        event["purposeOfEvent"] = [c.purpose_of_use(purpose)]
    event["agent"] = agents
    event["source"] = {"site": HUB_SITE, "observer": dict(HUB), "type": [dict(c.SOURCE_APPLICATION_SERVER)]}
    ents = list(entities)
    if meta.request_id:
        ents.append(
            {"type": c.ENTITY_REQUEST_ID, "what": {"identifier": {"value": meta.request_id[:MAX_TEXT]}}}
        )
    if ents:
        event["entity"] = ents
    return event


def _check(action: str, outcome: str) -> None:
    if action not in c.ACTIONS:
        raise ValueError(f"'{action}' is not an audit-event-action code")
    if outcome not in c.OUTCOME_NAMES:
        raise ValueError(f"'{outcome}' is not an audit-event-outcome code (0, 4, 8, 12)")


def _rest_roles(subtype: str) -> tuple[dict, dict]:
    """(client agent type, server agent type) of a REST interaction, as BALP fixes them."""
    if subtype in c.READS:
        return c.DESTINATION_ROLE, c.SOURCE_ROLE
    if subtype == c.DELETE:
        return c.APPLICATION, c.CUSTODIAN_PARTICIPANT
    return c.SOURCE_ROLE, c.DESTINATION_ROLE


def _restful(subtype: str) -> dict:
    return c.coding(c.RESTFUL_INTERACTION, subtype, subtype)


def _requestor_agents(principal: Principal, meta: RequestMeta, user_type: dict) -> list[dict]:
    """The agent that asked: the Application agent of a machine client or background job, or the
    user agent of a signed-in person."""
    if principal.kind == "user":
        agent = _agent(user_type, _who(principal), requestor=True)
        if principal.name:
            agent["name"] = principal.name[:MAX_TEXT]
    else:
        agent = _agent(
            c.APPLICATION, _who(principal), requestor=True, network=_caller_address(principal, meta)
        )
    agent["role"] = [_role(principal.role)]
    if principal.jti:
        agent["policy"] = [_jti_policy(principal.jti)]
    if principal.purpose:
        agent["purposeOfUse"] = [c.purpose_of_use(principal.purpose)]
    return [agent]


def _who(principal: Principal) -> dict:
    system = {"client": c.SID_CLIENT, "user": c.SID_USER}.get(principal.kind, c.SID_JOB)
    return _identified(system, principal.id, principal.name)


def _identified(system: str, value: str, display: str | None = None) -> dict:
    who: dict = {"identifier": {"system": system, "value": str(value)[:MAX_TEXT]}}
    if display:
        who["display"] = display[:MAX_TEXT]
    return who


def _agent(type_: dict, who: dict, *, requestor: bool = False, network: str | None = None) -> dict:
    agent = {"type": {"coding": [dict(type_)]}, "who": dict(who), "requestor": requestor}
    if network:
        agent["network"] = _network(network)
    return agent


def _org(org_id: str) -> dict:
    return {"reference": f"Organization/{org_id}"}


def _institution(org_id: str | None) -> list[dict]:
    return [_agent(c.RESPONSIBLE_PARTY, _org(org_id))] if org_id else []


def _role(role: str) -> dict:
    return {"coding": [c.coding(c.HUB_ROLE, role)]}


def _caller_address(principal: Principal, meta: RequestMeta) -> str | None:
    # A background job runs inside the hub: its address is the hub's.
    if principal.kind == "system" and not meta.remote_addr:
        return _server_address(meta)
    return meta.remote_addr


def _server_address(meta: RequestMeta) -> str:
    return meta.server_url or _hostname()


_HOSTNAME: str | None = None


def _hostname() -> str:
    global _HOSTNAME
    if _HOSTNAME is None:
        _HOSTNAME = socket.gethostname() or "localhost"
    return _HOSTNAME


def _network(address: str) -> dict:
    address = address[:MAX_TEXT]
    return {"address": address, "type": _address_kind(address)}


@lru_cache(maxsize=1024)
def _address_kind(address: str) -> str:
    try:
        ipaddress.ip_address(address)
        return c.NETWORK_IP
    except ValueError:
        return c.NETWORK_URI if "://" in address else c.NETWORK_MACHINE_NAME


def _jti_policy(jti: str) -> str:
    """``urn:ietf:params:oauth:jti:<jti>``. Should a whole token ever be handed in as a jti (a JWT,
    or an opaque token longer than an id), only its last 32 characters are kept (BALP
    OAUTHaccessTokenUse, opaque tokens): the audit trail never holds a usable token."""
    if jti.count(".") >= 2 or len(jti) > 64:
        jti = jti[-32:]
    return c.JTI_PREFIX + jti


def _b64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def _patient_entity(patient_id: str) -> dict:
    return {
        "type": c.ENTITY_PERSON,
        "role": c.ROLE_PATIENT,
        "what": {"reference": f"Patient/{patient_id}"},
    }


def _data_entity(entity: str | dict, role: dict = c.ROLE_DOMAIN_RESOURCE) -> dict:
    if isinstance(entity, dict):
        return entity
    return {"type": c.ENTITY_SYSTEM_OBJECT, "role": role, "what": {"reference": entity}}


def _attach_outcome(event: dict, outcome: dict) -> None:
    """The OperationOutcome of a failure, contained and referenced from an entity."""
    oo = {**outcome, "id": "outcome"}
    event["contained"] = [oo]
    event.setdefault("entity", []).append(
        {"type": c.ENTITY_OPERATION_OUTCOME, "what": {"reference": "#outcome"}, "description": "outcome"}
    )
