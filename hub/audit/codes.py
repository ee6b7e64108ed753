"""Every code the audit trail writes, named once.

Sources (read for this module):

* IHE ITI Basic Audit Log Patterns (BALP) 1.1, https://profiles.ihe.net/ITI/BALP/, FSH sources in
  ``IHE/ITI.BasicAudit`` ``input/fsh/``: ``PatientRead.fsh``, ``PatientQuery.fsh``,
  ``PatientCreate.fsh``, ``PatientUpdate.fsh``, ``PatientDelete.fsh`` (agent types per RESTful
  interaction), ``Disclose.fsh`` (PrivacyDisclosure Source / Recipient), ``IUAaccessToken.fsh`` and
  the published ``IHE.BasicAudit.OAUTHaccessTokenUse.Comprehensive`` (client_id in
  ``agent.who.identifier.value``, the token's ``jti`` in ``agent.policy`` as
  ``urn:ietf:params:oauth:jti:<jti>``), ``IUAgetAccessToken.fsh`` (ITI-71 token issue),
  ``terms.fsh`` (``BasicAuditEntityType#XrequestId``).
* FHIR R4B AuditEvent and its bindings: ``audit-event-type``, ``restful-interaction``,
  ``audit-event-action``, ``audit-event-outcome`` (required), ``network-type`` (required),
  ``audit-entity-type``, ``object-role``, ``security-source-type``.
* DICOM PS3.16 CID 400-405 (audit event ids, role ids): 110150 Application, 110152 Destination Role
  ID, 110153 Source Role ID, 110106 Export, 110107 Import, 110110 Patient Record, 110114 User
  Authentication, 110122 Login, 110123 Logout.
* HL7 v3 ActReason (PurposeOfUse) and v3 ParticipationType; ISO 21089 lifecycle ``disclose``.
* The hub's purpose-of-use code system, ``fhir_profiles/CodeSystem-purpose-of-use.json``.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- code systems

DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
AUDIT_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
ISO_21089 = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"  # the v3 PurposeOfUse value set
SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
PROVENANCE_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
EXTRA_SECURITY_ROLE_TYPE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
SNOMED = "http://snomed.info/sct"
RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"
IHE_EVENT_TYPE = "urn:ihe:event-type-code"
# BALP's own code systems (terms.fsh; UserAgentTypes in the published IG).
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
BALP_USER_AGENT_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes"

# The hub's own systems (canonical base http://xietong.example/fhir).
HUB_CANONICAL = "http://xietong.example/fhir"
HUB_PURPOSE_OF_USE = f"{HUB_CANONICAL}/CodeSystem/purpose-of-use"
# The principal's role (hub.auth.principal CLIENT_ROLES / USER_ROLES). No CodeSystem resource is
# published for it yet (fhir_profiles/): the codes are the role names.
HUB_ROLE = f"{HUB_CANONICAL}/CodeSystem/principal-role"
SID_CLIENT = f"{HUB_CANONICAL}/sid/client-id"  # machine clients' client_id (auth_client)
SID_USER = f"{HUB_CANONICAL}/sid/user"  # people's user names (auth_user.username)
SID_JOB = f"{HUB_CANONICAL}/sid/system-job"  # background jobs (principal.system(name))
SID_HUB = f"{HUB_CANONICAL}/sid/system"  # the hub itself, as an audit source
SID_DISCLOSURE = "urn:ietf:rfc:3986"  # disclosure set ids are urn:uuid:...

JTI_PREFIX = "urn:ietf:params:oauth:jti:"  # BALP OAUTHaccessTokenUse: agent.policy (RFC 3553 URN)

# --------------------------------------------------------------------------- AuditEvent.type


def coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


TYPE_REST = coding(AUDIT_EVENT_TYPE, "rest", "Restful Operation")
TYPE_EXPORT = coding(DCM, "110106", "Export")
TYPE_IMPORT = coding(DCM, "110107", "Import")
TYPE_PATIENT_RECORD = coding(DCM, "110110", "Patient Record")
TYPE_USER_AUTHENTICATION = coding(DCM, "110114", "User Authentication")

# AuditEvent.subtype
SUBTYPE_LOGIN = coding(DCM, "110122", "Login")
SUBTYPE_LOGOUT = coding(DCM, "110123", "Logout")
SUBTYPE_GET_ACCESS_TOKEN = coding(IHE_EVENT_TYPE, "ITI-71", "Get Access Token")
SUBTYPE_DISCLOSE = coding(ISO_21089, "disclose", "Disclose Record Lifecycle Event")

# restful-interaction codes (FHIR R4B http://hl7.org/fhir/restful-interaction)
READ, VREAD, UPDATE, PATCH, DELETE = "read", "vread", "update", "patch", "delete"
HISTORY, HISTORY_INSTANCE, HISTORY_TYPE, HISTORY_SYSTEM = (
    "history",
    "history-instance",
    "history-type",
    "history-system",
)
CREATE, SEARCH, SEARCH_TYPE, SEARCH_SYSTEM = "create", "search", "search-type", "search-system"
CAPABILITIES, TRANSACTION, BATCH, OPERATION = "capabilities", "transaction", "batch", "operation"
RESTFUL_INTERACTIONS = frozenset(
    {
        READ,
        VREAD,
        UPDATE,
        PATCH,
        DELETE,
        HISTORY,
        HISTORY_INSTANCE,
        HISTORY_TYPE,
        HISTORY_SYSTEM,
        CREATE,
        SEARCH,
        SEARCH_TYPE,
        SEARCH_SYSTEM,
        CAPABILITIES,
        TRANSACTION,
        BATCH,
        OPERATION,
    }
)
SEARCHES = frozenset({SEARCH, SEARCH_TYPE, SEARCH_SYSTEM})
READS = frozenset({READ, VREAD, HISTORY, HISTORY_INSTANCE, HISTORY_TYPE, HISTORY_SYSTEM, CAPABILITIES})
WRITES = frozenset({CREATE, UPDATE, PATCH, DELETE})

# AuditEvent.action (audit-event-action, required binding)
ACTION_CREATE, ACTION_READ, ACTION_UPDATE, ACTION_DELETE, ACTION_EXECUTE = "C", "R", "U", "D", "E"
ACTIONS = frozenset({ACTION_CREATE, ACTION_READ, ACTION_UPDATE, ACTION_DELETE, ACTION_EXECUTE})
# BALP: Read R, Query E, Create C, Update/Patch U, Delete D; history reads; anything else executes.
DEFAULT_ACTION = {
    READ: ACTION_READ,
    VREAD: ACTION_READ,
    HISTORY: ACTION_READ,
    HISTORY_INSTANCE: ACTION_READ,
    HISTORY_TYPE: ACTION_READ,
    HISTORY_SYSTEM: ACTION_READ,
    CAPABILITIES: ACTION_READ,
    SEARCH: ACTION_EXECUTE,
    SEARCH_TYPE: ACTION_EXECUTE,
    SEARCH_SYSTEM: ACTION_EXECUTE,
    CREATE: ACTION_CREATE,
    UPDATE: ACTION_UPDATE,
    PATCH: ACTION_UPDATE,
    DELETE: ACTION_DELETE,
    TRANSACTION: ACTION_EXECUTE,
    BATCH: ACTION_EXECUTE,
    OPERATION: ACTION_EXECUTE,
}

# AuditEvent.outcome (audit-event-outcome, required binding)
OUTCOME_SUCCESS, OUTCOME_MINOR, OUTCOME_SERIOUS, OUTCOME_MAJOR = "0", "4", "8", "12"
OUTCOME_NAMES = {
    OUTCOME_SUCCESS: "Success",
    OUTCOME_MINOR: "Minor failure",  # e.g. refused (401/403/404 of something not visible), bad input
    OUTCOME_SERIOUS: "Serious failure",  # the action was not carried out (5xx)
    OUTCOME_MAJOR: "Major failure",  # the action made the system unavailable
}


def outcome_for_status(status: int) -> str:
    """The audit outcome of an HTTP status: 2xx/3xx success, 4xx minor, 5xx serious."""
    if status < 400:
        return OUTCOME_SUCCESS
    if status < 500:
        return OUTCOME_MINOR
    return OUTCOME_SERIOUS


# agent.network.type (network-type, required binding)
NETWORK_MACHINE_NAME, NETWORK_IP, NETWORK_URI = "1", "2", "5"

# --------------------------------------------------------------------------- agent.type

# DICOM role ids. BALP puts the client and the server of a REST call in these by the direction the
# *request* flows (PatientQuery.fsh note): read: client 110152, server 110153; search, create,
# update: client 110153, server 110152; delete: client 110150, server custodian.
APPLICATION = coding(DCM, "110150", "Application")
DESTINATION_ROLE = coding(DCM, "110152", "Destination Role ID")
SOURCE_ROLE = coding(DCM, "110153", "Source Role ID")
CUSTODIAN_PARTICIPANT = coding(PROVENANCE_PARTICIPANT_TYPE, "custodian", "Custodian")
# The person: information recipient for reads and searches, author for writes (BALP DataSources).
INFORMATION_RECIPIENT = coding(PARTICIPATION_TYPE, "IRCP", "information recipient")
AUTHOR = coding(PARTICIPATION_TYPE, "AUT", "author (originator)")
# The institution the principal acts for. R4B AuditEvent.agent has no onBehalfOf (R5 added it), so
# the institution is an agent of its own: v3 ParticipationType RESP "responsible party", who =
# Reference(Organization/...). BALP slicing is open ("may have user, app, organization agent(s)").
RESPONSIBLE_PARTY = coding(PARTICIPATION_TYPE, "RESP", "responsible party")
HUMAN_USER = coding(EXTRA_SECURITY_ROLE_TYPE, "humanuser", "human user")
AUTHZ_SERVER = coding(BALP_USER_AGENT_TYPE, "AuthzOauthService")  # IUAgetAccessToken.fsh
# PrivacyDisclosure (Disclose.fsh)
CUSTODIAN = coding(SNOMED, "159541003", "Record keeping/library clerk")
AUTHORIZER = coding(SNOMED, "429577009", "Patient Advocate")

# source.type
SOURCE_APPLICATION_SERVER = coding(SECURITY_SOURCE_TYPE, "4", "Application Server")

# --------------------------------------------------------------------------- entity

ENTITY_PERSON = coding(AUDIT_ENTITY_TYPE, "1", "Person")
ENTITY_SYSTEM_OBJECT = coding(AUDIT_ENTITY_TYPE, "2", "System Object")
ENTITY_REQUEST_ID = coding(BALP_ENTITY_TYPE, "XrequestId")
ENTITY_OPERATION_OUTCOME = coding(RESOURCE_TYPES, "OperationOutcome", "OperationOutcome")
ROLE_PATIENT = coding(OBJECT_ROLE, "1", "Patient")
ROLE_REPORT = coding(OBJECT_ROLE, "3", "Report")
ROLE_DOMAIN_RESOURCE = coding(OBJECT_ROLE, "4", "Domain Resource")
ROLE_SECURITY_RESOURCE = coding(OBJECT_ROLE, "13", "Security Resource")
ROLE_JOB = coding(OBJECT_ROLE, "20", "Job")
ROLE_QUERY = coding(OBJECT_ROLE, "24", "Query")

# --------------------------------------------------------------------------- purpose of use

# v3 ActReason (PurposeOfUse)
TREAT = coding(ACT_REASON, "TREAT", "treatment")
ETREAT = coding(ACT_REASON, "ETREAT", "Emergency Treatment")
HOPERAT = coding(ACT_REASON, "HOPERAT", "healthcare operations")
HCOMPL = coding(ACT_REASON, "HCOMPL", "health compliance")
HSYSADMIN = coding(ACT_REASON, "HSYSADMIN", "health system administration")
PERFMSR = coding(ACT_REASON, "PERFMSR", "performance measure")
PATRQT = coding(ACT_REASON, "PATRQT", "patient requested")

# The hub's codes (CodeSystem-purpose-of-use.json), each with its display and the v3 code it maps
# to for consumers that only know v3 (AUD-02: TREAT, or ETREAT for break-glass).
HUB_PURPOSES: dict[str, tuple[str, dict]] = {
    "treatment": ("诊疗", TREAT),
    "referral": ("双向转诊", TREAT),
    "consultation": ("远程会诊", TREAT),
    "result-recognition": ("检查检验结果互认", TREAT),
    "family-doctor": ("家庭医生签约服务", TREAT),
    "emergency": ("急救（紧急访问）", ETREAT),
    "regulator-audit": ("监管审计", HCOMPL),
    "statistics": ("统计与绩效考核", PERFMSR),
    "patient-request": ("患者本人查询", PATRQT),
    "operations": ("系统运维", HSYSADMIN),
}


def purpose_of_use(code: str) -> dict:
    """A CodeableConcept: the hub code, and the v3 PurposeOfUse code it maps to (if known)."""
    known = HUB_PURPOSES.get(code)
    if known is None:
        return {"coding": [coding(HUB_PURPOSE_OF_USE, code)]}
    display, v3 = known
    return {"coding": [coding(HUB_PURPOSE_OF_USE, code, display), dict(v3)]}
