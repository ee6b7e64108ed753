"""What the store holds: resource types and their search parameters, as data.

Everything else is generated from this module: the tables (``hub.models``), the index extraction
(``hub.fhir.extract``), the query builder's knowledge of a parameter, and the CapabilityStatement.
Nothing keeps a second list that could drift.

A parameter's ``paths`` are simple FHIRPath-like element paths relative to the resource:
``name.given``; ``effective[x]`` for a choice element; ``telecom[system=phone]`` keeps only the
repeats whose ``system`` is ``phone``. Reference parameters may restrict the target type.

Per type, two parameters may be *hot*: ``patient_param`` is kept in the type's ``patient``
column (the patient compartment, used by nearly every clinical query), ``date_param`` in
``date_low``/``date_high`` (the type's default sort date, also copied into each token row so that
``code=S|C&_sort=-date`` is served by one index).

A type may keep its token and reference parameters in its own row instead (``codes_in_row``): the
``codes`` column holds each token's two hashes (with and without its system), the ``refs`` column
each reference's two (with and without the target's type), and searches test the row's lists. That
is for the audit trail, written on every audited request: an AuditEvent then costs no ``idx_token``
rows (about six, each three B-tree entries, which were half of its insert) and no ``idx_ref`` rows
(seven to fourteen, each two B-tree entries). Its codes (type, subtype, action, outcome, purpose)
are few and common and are searched next to a patient, date, agent or entity condition, so
``codes`` has no index; ``refs`` has a GIN index on PostgreSQL (an agent or entity alone narrows a
regulator's search), whose pending list takes a new row's keys in one append.
"""

from __future__ import annotations

from dataclasses import dataclass

TOKEN, STRING, DATE, REFERENCE, URI = "token", "string", "date", "reference", "uri"

# Reference parameters that match ``Patient`` only.
PATIENT = ("Patient",)


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    paths: tuple[str, ...]
    targets: tuple[str, ...] = ()  # reference: allowed target types ((): any)
    doc: str = ""


@dataclass(frozen=True)
class ResourceType:
    name: str
    params: dict[str, Param]
    patient_param: str | None = None
    date_param: str | None = None
    notes: str = ""
    codes_in_row: bool = False  # tokens and references in the row (``codes``, ``refs``), not idx_ tables

    @property
    def table(self) -> str:
        return "res_" + self.name.lower()

    def param(self, name: str) -> Param | None:
        return self.params.get(name) or COMMON_PARAMS.get(name)


def tok(name, *paths, doc=""):
    return Param(name, TOKEN, paths, doc=doc)


def st(name, *paths, doc=""):
    return Param(name, STRING, paths, doc=doc)


def dt(name, *paths, doc=""):
    return Param(name, DATE, paths, doc=doc)


def ref(name, *paths, targets=(), doc=""):
    return Param(name, REFERENCE, paths, tuple(targets), doc=doc)


def uri(name, *paths, doc=""):
    return Param(name, URI, paths, doc=doc)


# Parameters every type has; _id and _lastUpdated are columns of every table.
COMMON_PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        tok("_id", "id"),
        dt("_lastUpdated", "meta.lastUpdated"),
        tok("_tag", "meta.tag"),
        tok("_security", "meta.security"),
        uri("_profile", "meta.profile"),
    )
}
COLUMN_PARAMS = frozenset({"_id", "_lastUpdated"})


def _type(name, *params, patient=None, date=None, notes="", codes_in_row=False):
    by_name = {p.name: p for p in params}
    for hot in (patient, date):
        if hot is not None and hot not in by_name:
            raise ValueError(f"{name}: hot parameter {hot} is not declared")
    return ResourceType(name, by_name, patient, date, notes, codes_in_row)


def _patient_ref(*paths):
    return ref("patient", *paths, targets=PATIENT)


_TYPES = [
    _type(
        "Patient",
        tok("identifier", "identifier"),
        st("name", "name"),
        st("family", "name.family"),
        st("given", "name.given"),
        dt("birthdate", "birthDate"),
        tok("gender", "gender"),
        tok("phone", "telecom[system=phone]"),
        tok("email", "telecom[system=email]"),
        tok("telecom", "telecom"),
        st("address", "address"),
        st("address-city", "address.city"),
        tok("active", "active"),
        ref("organization", "managingOrganization", targets=("Organization",)),
        ref("general-practitioner", "generalPractitioner"),
        ref("link", "link.other"),
        date="birthdate",
    ),
    _type(
        "Organization",
        tok("identifier", "identifier"),
        st("name", "name", "alias"),
        tok("type", "type"),
        ref("partof", "partOf", targets=("Organization",)),
        tok("active", "active"),
        st("address", "address"),
    ),
    _type(
        "Practitioner",
        tok("identifier", "identifier"),
        st("name", "name"),
        st("family", "name.family"),
        st("given", "name.given"),
        tok("gender", "gender"),
        tok("phone", "telecom[system=phone]"),
        tok("active", "active"),
    ),
    _type(
        "PractitionerRole",
        tok("identifier", "identifier"),
        ref("practitioner", "practitioner", targets=("Practitioner",)),
        ref("organization", "organization", targets=("Organization",)),
        tok("specialty", "specialty"),
        tok("role", "code"),
        ref("service", "healthcareService", targets=("HealthcareService",)),
        tok("active", "active"),
    ),
    _type(
        "HealthcareService",
        tok("identifier", "identifier"),
        st("name", "name"),
        ref("organization", "providedBy", targets=("Organization",)),
        tok("service-type", "type"),
        tok("specialty", "specialty"),
        tok("service-category", "category"),
        tok("active", "active"),
    ),
    _type(
        "Location",
        tok("identifier", "identifier"),
        st("name", "name", "alias"),
        ref("organization", "managingOrganization", targets=("Organization",)),
        tok("status", "status"),
    ),
    _type(
        "OrganizationAffiliation",
        tok("identifier", "identifier"),
        ref("primary-organization", "organization", targets=("Organization",)),
        ref("participating-organization", "participatingOrganization", targets=("Organization",)),
        tok("role", "code"),
        tok("specialty", "specialty"),
        tok("active", "active"),
        dt("date", "period"),
        date="date",
    ),
    _type("Endpoint", tok("identifier", "identifier"), ref("organization", "managingOrganization")),
    _type(
        "RelatedPerson",
        tok("identifier", "identifier"),
        _patient_ref("patient"),
        st("name", "name"),
        patient="patient",
    ),
    _type(
        "Encounter",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("status", "status"),
        tok("class", "class"),
        tok("type", "type"),
        dt("date", "period"),
        ref("service-provider", "serviceProvider", targets=("Organization",)),
        ref("participant", "participant.individual"),
        ref("episode-of-care", "episodeOfCare", targets=("EpisodeOfCare",)),
        ref("based-on", "basedOn", targets=("ServiceRequest",)),
        tok("reason-code", "reasonCode"),
        patient="patient",
        date="date",
    ),
    _type(
        "EpisodeOfCare",
        tok("identifier", "identifier"),
        _patient_ref("patient"),
        ref("organization", "managingOrganization", targets=("Organization",)),
        tok("type", "type"),
        tok("status", "status"),
        dt("date", "period"),
        ref("care-manager", "careManager"),
        ref("team", "team", targets=("CareTeam",)),
        patient="patient",
        date="date",
    ),
    _type(
        "Condition",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("code", "code"),
        tok("category", "category"),
        tok("clinical-status", "clinicalStatus"),
        tok("verification-status", "verificationStatus"),
        dt("recorded-date", "recordedDate"),
        dt("onset-date", "onset[x]"),
        ref("encounter", "encounter", targets=("Encounter",)),
        ref("asserter", "asserter"),
        patient="patient",
        date="recorded-date",
    ),
    _type(
        "Observation",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("code", "code"),
        tok("component-code", "component.code"),
        tok("category", "category"),
        tok("status", "status"),
        dt("date", "effective[x]"),
        ref("performer", "performer"),
        ref("based-on", "basedOn"),
        ref("encounter", "encounter", targets=("Encounter",)),
        ref("specimen", "specimen", targets=("Specimen",)),
        ref("derived-from", "derivedFrom"),
        ref("has-member", "hasMember"),
        tok("value-concept", "valueCodeableConcept"),
        patient="patient",
        date="date",
    ),
    _type(
        "DiagnosticReport",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("code", "code"),
        tok("category", "category"),
        tok("status", "status"),
        dt("date", "effective[x]"),
        dt("issued", "issued"),
        ref("performer", "performer"),
        ref("based-on", "basedOn"),
        ref("result", "result", targets=("Observation",)),
        ref("encounter", "encounter", targets=("Encounter",)),
        ref("imaging-study", "imagingStudy", targets=("ImagingStudy",)),
        patient="patient",
        date="date",
    ),
    _type(
        "ImagingStudy",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("status", "status"),
        tok("modality", "series.modality"),
        dt("started", "started"),
        ref("basedon", "basedOn"),
        ref("encounter", "encounter", targets=("Encounter",)),
        patient="patient",
        date="started",
    ),
    _type(
        "Media",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("status", "status"),
        dt("created", "created[x]"),
        patient="patient",
        date="created",
    ),
    _type(
        "Specimen",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        tok("type", "type"),
        dt("collected", "collection.collected[x]"),
        patient="patient",
        date="collected",
    ),
    _type(
        "DocumentReference",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("type", "type"),
        tok("category", "category"),
        tok("status", "status"),
        dt("date", "date"),
        ref("author", "author"),
        ref("custodian", "custodian", targets=("Organization",)),
        ref("encounter", "context.encounter"),
        ref("related", "context.related"),
        patient="patient",
        date="date",
    ),
    _type(
        "Composition",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        tok("type", "type"),
        tok("status", "status"),
        dt("date", "date"),
        ref("author", "author"),
        patient="patient",
        date="date",
    ),
    _type(
        "MedicationRequest",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("status", "status"),
        tok("intent", "intent"),
        tok("code", "medicationCodeableConcept"),
        ref("medication", "medicationReference", targets=("Medication",)),
        dt("authoredon", "authoredOn"),
        ref("requester", "requester"),
        ref("encounter", "encounter", targets=("Encounter",)),
        patient="patient",
        date="authoredon",
    ),
    _type("Medication", tok("identifier", "identifier"), tok("code", "code"), tok("status", "status")),
    _type(
        "Immunization",
        tok("identifier", "identifier"),
        _patient_ref("patient"),
        tok("vaccine-code", "vaccineCode"),
        tok("status", "status"),
        dt("date", "occurrence[x]"),
        ref("performer", "performer.actor"),
        patient="patient",
        date="date",
    ),
    _type(
        "Procedure",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("code", "code"),
        tok("status", "status"),
        dt("date", "performed[x]"),
        ref("performer", "performer.actor"),
        ref("encounter", "encounter", targets=("Encounter",)),
        ref("based-on", "basedOn"),
        patient="patient",
        date="date",
    ),
    _type(
        "AllergyIntolerance",
        tok("identifier", "identifier"),
        _patient_ref("patient"),
        tok("code", "code"),
        tok("clinical-status", "clinicalStatus"),
        tok("verification-status", "verificationStatus"),
        tok("category", "category"),
        tok("criticality", "criticality"),
        dt("date", "recordedDate"),
        ref("recorder", "recorder"),
        patient="patient",
        date="date",
    ),
    _type(
        "Goal",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        tok("lifecycle-status", "lifecycleStatus"),
        tok("category", "category"),
        dt("start-date", "start[x]"),
        patient="patient",
        date="start-date",
    ),
    _type(
        "ServiceRequest",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("status", "status"),
        tok("intent", "intent"),
        tok("category", "category"),
        tok("code", "code"),
        tok("priority", "priority"),
        tok("reason-code", "reasonCode"),
        ref("requester", "requester"),
        ref("performer", "performer"),
        dt("authored", "authoredOn"),
        dt("occurrence", "occurrence[x]"),
        ref("based-on", "basedOn"),
        ref("replaces", "replaces", targets=("ServiceRequest",)),
        tok("requisition", "requisition"),
        ref("encounter", "encounter", targets=("Encounter",)),
        ref("supporting-info", "supportingInfo"),
        patient="patient",
        date="authored",
    ),
    _type(
        "Task",
        tok("identifier", "identifier"),
        _patient_ref("for"),
        ref("subject", "for"),
        tok("status", "status"),
        tok("business-status", "businessStatus"),
        tok("intent", "intent"),
        tok("priority", "priority"),
        tok("code", "code"),
        ref("owner", "owner"),
        ref("requester", "requester"),
        ref("focus", "focus"),
        ref("based-on", "basedOn"),
        ref("part-of", "partOf", targets=("Task",)),
        tok("group-identifier", "groupIdentifier"),
        dt("authored-on", "authoredOn"),
        dt("modified", "lastModified"),
        dt("period", "executionPeriod"),
        ref("encounter", "encounter", targets=("Encounter",)),
        patient="patient",
        date="authored-on",
    ),
    _type(
        "Communication",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("status", "status"),
        tok("category", "category"),
        ref("based-on", "basedOn"),
        ref("part-of", "partOf"),
        ref("sender", "sender"),
        ref("recipient", "recipient"),
        dt("sent", "sent"),
        ref("encounter", "encounter", targets=("Encounter",)),
        patient="patient",
        date="sent",
    ),
    _type(
        "CommunicationRequest",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        tok("status", "status"),
        ref("requester", "requester"),
        ref("recipient", "recipient"),
        dt("authored", "authoredOn"),
        patient="patient",
        date="authored",
    ),
    _type(
        "Schedule",
        tok("identifier", "identifier"),
        ref("actor", "actor"),
        tok("service-type", "serviceType"),
        tok("specialty", "specialty"),
        tok("active", "active"),
        dt("date", "planningHorizon"),
        date="date",
    ),
    _type(
        "Slot",
        tok("identifier", "identifier"),
        ref("schedule", "schedule", targets=("Schedule",)),
        tok("status", "status"),
        tok("service-type", "serviceType"),
        tok("specialty", "specialty"),
        dt("start", "start"),
        date="start",
    ),
    _type(
        "Appointment",
        tok("identifier", "identifier"),
        _patient_ref("participant.actor"),
        ref("actor", "participant.actor"),
        ref("practitioner", "participant.actor", targets=("Practitioner",)),
        ref("slot", "slot", targets=("Slot",)),
        tok("status", "status"),
        tok("service-type", "serviceType"),
        tok("specialty", "specialty"),
        dt("date", "start"),
        ref("based-on", "basedOn", targets=("ServiceRequest",)),
        patient="patient",
        date="date",
    ),
    _type(
        "Consent",
        tok("identifier", "identifier"),
        _patient_ref("patient"),
        tok("status", "status"),
        tok("category", "category"),
        tok("scope", "scope"),
        tok("purpose", "provision.purpose"),
        ref("organization", "organization", targets=("Organization",)),
        ref("actor", "provision.actor.reference"),
        dt("date", "dateTime"),
        dt("period", "provision.period"),
        patient="patient",
        date="date",
    ),
    _type(
        "CareTeam",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        ref("participant", "participant.member"),
        tok("status", "status"),
        tok("category", "category"),
        dt("date", "period"),
        ref("organization", "managingOrganization", targets=("Organization",)),
        patient="patient",
        date="date",
    ),
    _type(
        "CarePlan",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        ref("subject", "subject"),
        tok("status", "status"),
        tok("intent", "intent"),
        tok("category", "category"),
        dt("date", "period"),
        ref("based-on", "basedOn", targets=("CarePlan",)),
        ref("care-team", "careTeam", targets=("CareTeam",)),
        ref("encounter", "encounter", targets=("Encounter",)),
        patient="patient",
        date="date",
    ),
    _type(
        "Coverage",
        tok("identifier", "identifier"),
        _patient_ref("beneficiary"),
        tok("status", "status"),
        ref("payor", "payor"),
        patient="patient",
    ),
    _type(
        "Claim",
        tok("identifier", "identifier"),
        _patient_ref("patient"),
        tok("status", "status"),
        tok("use", "use"),
        dt("created", "created"),
        ref("provider", "provider"),
        patient="patient",
        date="created",
    ),
    _type(
        "ExplanationOfBenefit",
        tok("identifier", "identifier"),
        _patient_ref("patient"),
        tok("status", "status"),
        dt("created", "created"),
        ref("claim", "claim", targets=("Claim",)),
        ref("provider", "provider"),
        patient="patient",
        date="created",
    ),
    _type(
        "Device",
        tok("identifier", "identifier"),
        _patient_ref("patient"),
        tok("type", "type"),
        tok("status", "status"),
        ref("organization", "owner", targets=("Organization",)),
        patient="patient",
    ),
    _type(
        "Provenance",
        _patient_ref("target"),
        ref("target", "target"),
        ref("agent", "agent.who"),
        tok("agent-type", "agent.type"),
        ref("entity", "entity.what"),
        dt("recorded", "recorded"),
        tok("activity", "activity"),
        patient="patient",
        date="recorded",
    ),
    _type(
        "AuditEvent",
        _patient_ref("entity.what"),
        dt("date", "recorded"),
        ref("agent", "agent.who"),
        st("agent-name", "agent.name"),
        ref("entity", "entity.what"),
        tok("type", "type"),
        tok("subtype", "subtype"),
        tok("action", "action"),
        tok("outcome", "outcome"),
        ref("source", "source.observer"),
        tok("purpose", "purposeOfEvent"),
        patient="patient",
        date="date",
        codes_in_row=True,
    ),
    _type(
        "Subscription",
        tok("status", "status"),
        tok("type", "channel.type"),
        uri("url", "channel.endpoint"),
        st("criteria", "criteria"),
    ),
    _type(
        "SubscriptionTopic",
        uri("url", "url"),
        tok("status", "status"),
        st("title", "title"),
    ),
    _type("Binary", tok("contenttype", "contentType")),
    _type(
        "Questionnaire",
        uri("url", "url"),
        tok("identifier", "identifier"),
        tok("status", "status"),
        st("name", "name"),
        st("title", "title"),
    ),
    _type(
        "QuestionnaireResponse",
        tok("identifier", "identifier"),
        _patient_ref("subject"),
        uri("questionnaire", "questionnaire"),
        tok("status", "status"),
        dt("authored", "authored"),
        patient="patient",
        date="authored",
    ),
    *(
        _type(
            name,
            uri("url", "url"),
            tok("identifier", "identifier"),
            tok("version", "version"),
            st("name", "name"),
            st("title", "title"),
            tok("status", "status"),
            notes="conformance resource",
        )
        for name in ("ConceptMap", "CodeSystem", "ValueSet", "StructureDefinition")
    ),
]

TYPES: dict[str, ResourceType] = {t.name: t for t in _TYPES}


def resource_type(name: str) -> ResourceType | None:
    return TYPES.get(name)
