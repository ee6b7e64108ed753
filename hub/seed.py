"""The demo alliance: one FHIR R4B ``transaction`` Bundle that seeds a working 医联体.

``demo_alliance_bundle(today)`` returns the Bundle as a plain dict. It is deterministic: no
randomness and no clock. Every date is either a fixed historical fact (birth dates, licence
dates, the alliance's founding) or derived from ``today`` (recent visits, the family-doctor
contracts), so a live demo passes ``today=datetime.date.today()`` and a test passes nothing
(``DEMO_TODAY``). Identifiers and ``fullUrl``s never depend on ``today``, so re-seeding on
another day finds what is already there (``ifNoneExist``) instead of creating it twice.

What is in it
-------------
* The alliance itself, 玉溪市第一人民医院医疗联合体, as an ``Organization`` of hub type
  ``medical-alliance``, and six member institutions: one tertiary hospital, two county
  hospitals, two township health centres and one urban community health service centre.
* Alliance membership is an ``OrganizationAffiliation`` (organization = the alliance,
  participatingOrganization = the member, code = ``lead`` or ``member``), **not**
  ``Organization.partOf``. ``partOf`` (0..1) is kept for the genuine administrative
  hierarchy: in a 紧密型县域医共体 the township health centres are run by their county
  hospital (县乡一体化), so they are ``partOf`` it; the county hospitals are not part of the
  tertiary hospital (they belong to their county), and a centre cannot be ``partOf`` both its
  county hospital and the alliance. An affiliation also carries what membership needs and
  ``partOf`` cannot: a role (lead vs member), a period and an identifier.
* ``HealthcareService``: five specialist departments and the referral desk (转诊服务中心) at
  the tertiary hospital, the 内科 of each county hospital (the county doctors' service), and
  one family-doctor team service (家庭医生团队服务) at each primary centre.
* 13 ``Practitioner``s, each with one ``PractitionerRole``; 8 synthetic ``Patient``s; two
  family-doctor contracts (``EpisodeOfCare`` + the team's ``CareTeam``); per patient one
  ``Encounter`` with ICD-10 ``Condition``s and LOINC ``Observation``s.

Places, people and identifiers
------------------------------
Place names are real GB/T 2260 divisions of 云南省玉溪市, because a 居民身份证号 only
validates when its six-digit address code is one that existed in the holder's birth year
(``stdnum.cn.ric``). That is also why older patients carry pre-1997 codes (玉溪地区 5324xx):
real ID numbers keep the code of the place and time of registration. The code each ID denotes
is recorded as the patient's birth place (core extension ``patient-birthPlace``); their home
address is where they live now. The institutions, their codes, the staff and the patients are
fictional; hospital names follow the national naming pattern (X县人民医院), so a name may
coincide with a real hospital, but no identifier here belongs to a real institution or person.
Mobile numbers use the 0000 blocks (e.g. 139 0000 1001) to look obviously made up.

Identifier systems (``http://xietong.example/fhir/sid/...`` where no national URI exists):
* 居民身份证号: ``urn:oid:2.16.156.10011.1.3`` (WS/T 500, CODE-02), type v2-0203 ``NNCHN``.
* 统一社会信用代码: ``sid/uscc`` (no OID documented). Public hospitals are 事业单位:
  ``12`` + registering region + 组织机构代码 (with its GB 11714 check) + the GB 32100 check.
* 医疗机构执业许可证登记号: ``sid/medical-institution-licence`` (组织机构代码 + region +
  经济类型 + WS 218 机构类别 + 分类管理代码, synthetic).
* 医保定点医疗机构代码 (fixmedins_code, CODE-04): ``sid/nhsa-fixmedins-code``.
* 医师/护士执业证书编码: ``sid/physician-licence``, ``sid/nurse-licence``; 国家医保医师代码:
  ``sid/nhsa-practitioner-code``.
* Each institution's MRN: ``sid/mrn/<org-key>``, type v2-0203 ``MR``.
* 医保人员编号 (the NHSA personal number, psn_no): ``sid/nhsa-psn-no``, type v2-0203 ``SN``.
* Local numbers that make re-seeding idempotent: ``sid/<kind>/<org-key>`` for staff numbers
  (``staff``), department codes (``department``), visit numbers (``visit``), diagnosis
  records (``diagnosis``), result numbers (``observation``), family-doctor teams
  (``fd-team``) and contracts (``fd-contract``); ``sid/alliance`` and
  ``sid/alliance-membership`` for the alliance.

Codes: diagnoses ICD-10 (``http://hl7.org/fhir/sid/icd-10-cn``); departments the national
医疗机构诊疗科目 classification (``urn:oid:2.16.156.10011.2.3.2.62``, CODE-03); results LOINC
with UCUM units. Fasting glucose is LOINC 14771-0 (moles/volume) because Chinese laboratories
report mmol/L; 2345-7 and 1558-6 are the mass-concentration (mg/dL) codes. Every resource is
tagged ``v3-ActReason#HTEST`` (test health data) so demo data can be told apart and removed.
"""

from __future__ import annotations

import datetime
import json
import sys
import uuid
from dataclasses import dataclass

from stdnum.cn import ric, uscc

CANONICAL = "http://xietong.example/fhir"
CS = f"{CANONICAL}/CodeSystem"
SID = f"{CANONICAL}/sid"

DEMO_TODAY = datetime.date(2026, 11, 16)
SEED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{CANONICAL}/seed/demo-alliance")

# Identifier systems
SID_RESIDENT_ID = "urn:oid:2.16.156.10011.1.3"
SID_USCC = f"{SID}/uscc"
SID_INSTITUTION_LICENCE = f"{SID}/medical-institution-licence"
SID_FIXMEDINS = f"{SID}/nhsa-fixmedins-code"
SID_PHYSICIAN_LICENCE = f"{SID}/physician-licence"
SID_NURSE_LICENCE = f"{SID}/nurse-licence"
SID_NHSA_PRACTITIONER = f"{SID}/nhsa-practitioner-code"
SID_NHSA_PSN = f"{SID}/nhsa-psn-no"
SID_ALLIANCE = f"{SID}/alliance"
SID_ALLIANCE_MEMBERSHIP = f"{SID}/alliance-membership"

# Code systems
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
ORG_ROLE = "http://hl7.org/fhir/organization-role"
HL7_PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
REFERRAL_METHOD = "http://terminology.hl7.org/CodeSystem/service-referral-method"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
BCP47 = "urn:ietf:bcp:47"
ICD10_CN = "http://hl7.org/fhir/sid/icd-10-cn"
DEPARTMENT_OID = "urn:oid:2.16.156.10011.2.3.2.62"
BIRTH_PLACE_EXT = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"

CS_INSTITUTION_LEVEL = f"{CS}/institution-level"
CS_INSTITUTION_GRADE = f"{CS}/institution-grade"
CS_ORGANIZATION_TYPE = f"{CS}/organization-type"
CS_ALLIANCE_ROLE = f"{CS}/alliance-role"
CS_SERVICE_CATEGORY = f"{CS}/service-category"
CS_SERVICE_TYPE = f"{CS}/service-type"
CS_PRACTITIONER_ROLE = f"{CS}/practitioner-role"
CS_QUALIFICATION = f"{CS}/practitioner-qualification"
CS_PROFESSIONAL_TITLE = f"{CS}/professional-title"
CS_CARE_TEAM_ROLE = f"{CS}/care-team-role"
CS_CARE_TEAM_CATEGORY = f"{CS}/care-team-category"
CS_EPISODE_TYPE = f"{CS}/episodeofcare-type"
FAMILY_DOCTOR_CONTRACT = "family-doctor-contract"

_TZ = "+08:00"  # Asia/Shanghai has no DST
_ALLIANCE_FOUNDED = datetime.date(2019, 7, 1)
_HTEST = {"system": ACT_REASON, "code": "HTEST", "display": "test health data"}


def mrn_system(org_key: str) -> str:
    """The MRN identifier system of one institution."""
    return f"{SID}/mrn/{org_key}"


def local_system(kind: str, org_key: str) -> str:
    """An institution-scoped local number system (visit numbers, staff numbers, ...)."""
    return f"{SID}/{kind}/{org_key}"


# --------------------------------------------------------------------------- institutions


@dataclass(frozen=True)
class _Org:
    key: str
    name: str
    name_en: str
    level: str  # tertiary | secondary | primary
    grade: str | None  # 3A = 三级甲等, 2A = 二级甲等; primary institutions are not graded
    uscc_region: str  # the registering authority's division
    district: str
    postal_code: str
    line: str
    phone: str
    org_code_body: str  # 8 characters of the 组织机构代码 before its check character
    category: str  # WS 218 卫生机构类别: A100 综合医院, B100 社区卫生服务中心, C200 乡镇卫生院
    fixmedins_seq: int
    part_of: str | None = None
    short_alias: str | None = None


_ORGS: tuple[_Org, ...] = (
    _Org(
        "yuxi-first",
        "玉溪市第一人民医院",
        "Yuxi First People's Hospital",
        "tertiary",
        "3A",
        "530400",
        "红塔区",
        "653100",
        "东风南路21号",
        "0877-2051000",
        "43170251",
        "A100",
        1,
        short_alias="玉溪一院",
    ),
    _Org(
        "tonghai-county",
        "通海县人民医院",
        "Tonghai County People's Hospital",
        "secondary",
        "2A",
        "530423",
        "通海县",
        "652700",
        "秀山街道礼乐路8号",
        "0877-3012120",
        "43180316",
        "A100",
        12,
    ),
    _Org(
        "huaning-county",
        "华宁县人民医院",
        "Huaning County People's Hospital",
        "secondary",
        "2A",
        "530424",
        "华宁县",
        "652800",
        "宁州街道东门路55号",
        "0877-5012120",
        "43190527",
        "A100",
        17,
    ),
    _Org(
        "fenghuang-chc",
        "红塔区凤凰街道社区卫生服务中心",
        "Fenghuang Subdistrict Community Health Service Centre, Hongta District",
        "primary",
        None,
        "530402",
        "红塔区",
        "653100",
        "凤凰街道凤凰路132号",
        "0877-2068301",
        "M5304021",
        "B100",
        205,
    ),
    _Org(
        "yangguang-thc",
        "通海县杨广镇卫生院",
        "Yangguang Town Health Centre, Tonghai County",
        "primary",
        None,
        "530423",
        "通海县",
        "652703",
        "杨广镇杨广街56号",
        "0877-3061120",
        "M5304232",
        "C200",
        331,
        part_of="tonghai-county",
    ),
    _Org(
        "panxi-thc",
        "华宁县盘溪镇卫生院",
        "Panxi Town Health Centre, Huaning County",
        "primary",
        None,
        "530424",
        "华宁县",
        "652801",
        "盘溪镇盘溪街102号",
        "0877-5031120",
        "M5304243",
        "C200",
        352,
        part_of="huaning-county",
    ),
)
_ORG_BY_KEY = {o.key: o for o in _ORGS}

DEMO_ORGANIZATIONS: list[tuple[str, str, str, str]] = [(o.key, o.name, o.name_en, o.level) for o in _ORGS]
"""The six member institutions as (key, name_zh, name_en, level)."""

DEMO_ALLIANCE = ("alliance", "玉溪市第一人民医院医疗联合体", "Yuxi First People's Hospital Medical Alliance")

_LEVEL_DISPLAY = {"tertiary": "三级医院", "secondary": "二级医院", "primary": "基层医疗卫生机构"}
_GRADE_DISPLAY = {"3A": "三级甲等", "2A": "二级甲等"}


def _gb11714_org_code(body: str) -> str:
    """组织机构代码: 8 characters plus the GB 11714-1997 check character."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, weights, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def _uscc(org: _Org) -> str:
    # 1 = registered by 机构编制 (public-sector unit registrar), 2 = 事业单位
    body = "12" + org.uscc_region + _gb11714_org_code(org.org_code_body)
    return uscc.validate(body + uscc.calc_check_digit(body))


def _institution_licence(org: _Org) -> str:
    # 组织机构代码 + 行政区划 + 经济类型 (11 国有全资) + 机构类别 + 分类管理 (1 非营利性)
    return f"{_gb11714_org_code(org.org_code_body)}{org.uscc_region}11{org.category}1"


def _fixmedins_code(org: _Org) -> str:
    return f"H{org.uscc_region}{org.fixmedins_seq:05d}"


# ------------------------------------------------------------------------------ services


@dataclass(frozen=True)
class _Service:
    key: str
    org: str
    name: str
    name_en: str
    category: str
    dept_code: str | None  # national 诊疗科目 code (CODE-03)
    dept_display: str | None
    local_code: str
    phone: str
    types: tuple[str, ...]


_SERVICE_CATEGORY = {
    "specialist-clinic": "专科诊疗",
    "referral-desk": "双向转诊服务",
    "family-doctor-team": "家庭医生签约服务",
}
_SERVICE_TYPE = {
    "outpatient": "门诊",
    "inpatient": "住院",
    "remote-joint-clinic": "远程联合门诊",
    "remote-consultation": "远程会诊",
    "imaging-diagnosis": "影像诊断",
    "referral-intake": "转诊受理",
    "family-doctor-contract": "家庭医生签约",
    "chronic-disease-follow-up": "慢病随访管理",
}
_SPECIALIST = ("outpatient", "inpatient", "remote-joint-clinic", "remote-consultation")
_FAMILY_DOCTOR = ("family-doctor-contract", "chronic-disease-follow-up")

_SERVICES: tuple[_Service, ...] = (
    _Service(
        "yuxi-first/cardiology",
        "yuxi-first",
        "心血管内科",
        "Cardiology",
        "specialist-clinic",
        "A03.04",
        "心血管内科专业",
        "0304",
        "0877-2051304",
        _SPECIALIST,
    ),
    _Service(
        "yuxi-first/endocrinology",
        "yuxi-first",
        "内分泌科",
        "Endocrinology",
        "specialist-clinic",
        "A03.07",
        "内分泌专业",
        "0307",
        "0877-2051307",
        _SPECIALIST,
    ),
    _Service(
        "yuxi-first/neurology",
        "yuxi-first",
        "神经内科",
        "Neurology",
        "specialist-clinic",
        "A03.03",
        "神经内科专业",
        "0303",
        "0877-2051303",
        _SPECIALIST,
    ),
    _Service(
        "yuxi-first/respiratory",
        "yuxi-first",
        "呼吸与危重症医学科",
        "Pulmonary and Critical Care Medicine",
        "specialist-clinic",
        "A03.01",
        "呼吸内科专业",
        "0301",
        "0877-2051301",
        _SPECIALIST,
    ),
    _Service(
        "yuxi-first/imaging",
        "yuxi-first",
        "影像科",
        "Medical Imaging",
        "specialist-clinic",
        "A32",
        "医学影像科",
        "3200",
        "0877-2051320",
        ("imaging-diagnosis", "remote-consultation"),
    ),
    _Service(
        "yuxi-first/referral-desk",
        "yuxi-first",
        "双向转诊服务中心",
        "Two-way Referral Desk",
        "referral-desk",
        None,
        None,
        "ZZ01",
        "0877-2051888",
        ("referral-intake",),
    ),
    _Service(
        "tonghai-county/internal-medicine",
        "tonghai-county",
        "内科",
        "Internal Medicine",
        "specialist-clinic",
        "A03",
        "内科",
        "0300",
        "0877-3012303",
        ("outpatient", "inpatient"),
    ),
    _Service(
        "huaning-county/internal-medicine",
        "huaning-county",
        "内科",
        "Internal Medicine",
        "specialist-clinic",
        "A03",
        "内科",
        "0300",
        "0877-5012303",
        ("outpatient", "inpatient"),
    ),
    _Service(
        "fenghuang-chc/family-doctor",
        "fenghuang-chc",
        "家庭医生团队服务",
        "Family doctor teams",
        "family-doctor-team",
        "A02",
        "全科医疗科",
        "0200",
        "0877-2068302",
        _FAMILY_DOCTOR,
    ),
    _Service(
        "yangguang-thc/family-doctor",
        "yangguang-thc",
        "家庭医生团队服务",
        "Family doctor teams",
        "family-doctor-team",
        "A02",
        "全科医疗科",
        "0200",
        "0877-3061121",
        _FAMILY_DOCTOR,
    ),
    _Service(
        "panxi-thc/family-doctor",
        "panxi-thc",
        "家庭医生团队服务",
        "Family doctor teams",
        "family-doctor-team",
        "A02",
        "全科医疗科",
        "0200",
        "0877-5031121",
        _FAMILY_DOCTOR,
    ),
)
_SERVICE_BY_KEY = {s.key: s for s in _SERVICES}


# ------------------------------------------------------------------------- practitioners


@dataclass(frozen=True)
class _Staff:
    key: str
    family: str
    given: str
    gender: str
    org: str
    service: str
    role: str  # hub practitioner-role code
    title: str  # professional-title code
    licence: str  # physician | assistant-physician | nurse
    licence_year: int
    seq: int
    staff_no: str


_ROLE = {
    "referral-coordinator": ("转诊专员", "nurse"),
    "specialist": ("专科医师", "doctor"),
    "county-physician": ("县级医院医师", "doctor"),
    "family-doctor": ("家庭医生", "doctor"),
    "nurse": ("护士", "nurse"),
    "public-health-physician": ("公共卫生医师", "doctor"),
}
_TITLE = {
    "chief-physician": "主任医师",
    "associate-chief-physician": "副主任医师",
    "attending-physician": "主治医师",
    "physician": "医师",
    "assistant-physician": "助理医师",
    "nurse-in-charge": "主管护师",
    "senior-nurse": "护师",
}
_LICENCE = {
    "physician": (SID_PHYSICIAN_LICENCE, "physician-licence", "医师执业证书"),
    "assistant-physician": (SID_PHYSICIAN_LICENCE, "assistant-physician-licence", "执业助理医师执业证书"),
    "nurse": (SID_NURSE_LICENCE, "nurse-licence", "护士执业证书"),
}

_STAFF: tuple[_Staff, ...] = (
    _Staff(
        "chen-jing",
        "陈",
        "静",
        "female",
        "yuxi-first",
        "yuxi-first/referral-desk",
        "referral-coordinator",
        "nurse-in-charge",
        "nurse",
        2009,
        1,
        "YX1021",
    ),
    _Staff(
        "li-jianguo",
        "李",
        "建国",
        "male",
        "yuxi-first",
        "yuxi-first/cardiology",
        "specialist",
        "chief-physician",
        "physician",
        1998,
        2,
        "YX0317",
    ),
    _Staff(
        "wang-haiyan",
        "王",
        "海燕",
        "female",
        "yuxi-first",
        "yuxi-first/endocrinology",
        "specialist",
        "associate-chief-physician",
        "physician",
        2004,
        3,
        "YX0452",
    ),
    _Staff(
        "zhao-ming",
        "赵",
        "明",
        "male",
        "yuxi-first",
        "yuxi-first/neurology",
        "specialist",
        "attending-physician",
        "physician",
        2011,
        4,
        "YX0688",
    ),
    _Staff(
        "sun-li",
        "孙",
        "丽",
        "female",
        "yuxi-first",
        "yuxi-first/respiratory",
        "specialist",
        "associate-chief-physician",
        "physician",
        2006,
        5,
        "YX0519",
    ),
    _Staff(
        "zhou-tao",
        "周",
        "涛",
        "male",
        "yuxi-first",
        "yuxi-first/imaging",
        "specialist",
        "attending-physician",
        "physician",
        2012,
        6,
        "YX0733",
    ),
    _Staff(
        "yang-zhiqiang",
        "杨",
        "志强",
        "male",
        "tonghai-county",
        "tonghai-county/internal-medicine",
        "county-physician",
        "attending-physician",
        "physician",
        2008,
        7,
        "TH0215",
    ),
    _Staff(
        "liu-yang",
        "刘",
        "洋",
        "female",
        "huaning-county",
        "huaning-county/internal-medicine",
        "county-physician",
        "associate-chief-physician",
        "physician",
        2003,
        8,
        "HN0108",
    ),
    _Staff(
        "huang-weidong",
        "黄",
        "卫东",
        "male",
        "fenghuang-chc",
        "fenghuang-chc/family-doctor",
        "family-doctor",
        "attending-physician",
        "physician",
        2007,
        9,
        "FH0012",
    ),
    _Staff(
        "zheng-xiaohong",
        "郑",
        "小红",
        "female",
        "fenghuang-chc",
        "fenghuang-chc/family-doctor",
        "nurse",
        "senior-nurse",
        "nurse",
        2015,
        10,
        "FH0027",
    ),
    _Staff(
        "wu-xiuying",
        "吴",
        "秀英",
        "female",
        "yangguang-thc",
        "yangguang-thc/family-doctor",
        "family-doctor",
        "attending-physician",
        "physician",
        2010,
        11,
        "YG0006",
    ),
    _Staff(
        "pu-chunmei",
        "普",
        "春梅",
        "female",
        "yangguang-thc",
        "yangguang-thc/family-doctor",
        "public-health-physician",
        "physician",
        "physician",
        2016,
        12,
        "YG0011",
    ),
    _Staff(
        "ma-jianhua",
        "马",
        "建华",
        "male",
        "panxi-thc",
        "panxi-thc/family-doctor",
        "family-doctor",
        "assistant-physician",
        "assistant-physician",
        2013,
        13,
        "PX0004",
    ),
)
_STAFF_BY_KEY = {s.key: s for s in _STAFF}


def _licence_number(s: _Staff) -> str:
    region = _ORG_BY_KEY[s.org].uscc_region
    if s.licence == "nurse":  # 12 digits: year of first registration, province, sequence
        return f"{s.licence_year}{region[:2]}{s.seq:06d}"
    level = "1" if s.licence == "physician" else "2"  # 执业医师 / 执业助理医师
    return f"{level}10{region}{s.seq:06d}"  # 10 = 临床 category


# ----------------------------------------------------------------------------- patients


@dataclass(frozen=True)
class _Condition:
    code: str
    display: str
    onset: str | None  # a year for chronic conditions; None = found at this visit
    chronic: bool = True


@dataclass(frozen=True)
class _Lab:
    code: str
    display: str
    text: str
    value: float
    unit: str
    low: float
    high: float


_FPG = ("14771-0", "Fasting glucose [Moles/volume] in Serum or Plasma", "空腹血糖", "mmol/L", 3.9, 6.1)
_HBA1C = ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "糖化血红蛋白", "%", 4.0, 6.0)


def _lab(kind: tuple, value: float) -> _Lab:
    code, display, text, unit, low, high = kind
    return _Lab(code, display, text, value, unit, low, high)


@dataclass(frozen=True)
class _Visit:
    org: str
    staff: str
    service: str
    days_ago: int
    hour: int
    text: str
    visit_no: str
    inpatient_days: int = 0  # > 0: an inpatient stay that ended days_ago


@dataclass(frozen=True)
class _Person:
    key: str
    family: str
    given: str
    gender: str
    birth: datetime.date
    id_region: str  # GB/T 2260 code valid in the birth year; recorded as the birth place
    birth_county: str
    id_seq: int  # odd = male, even = female (GB 11643)
    district: str
    postal_code: str
    line: str
    phone: str
    home_org: str
    mrns: tuple[tuple[str, str], ...]
    psn_no: str | None
    visit: _Visit
    conditions: tuple[_Condition, ...]
    bp: tuple[int, int]
    labs: tuple[_Lab, ...] = ()


_I10 = _Condition("I10", "原发性高血压", "2014")
_PEOPLE: tuple[_Person, ...] = (
    _Person(
        "zhang-wei",
        "张",
        "伟",
        "male",
        datetime.date(1958, 3, 14),
        "532424",
        "通海县",
        31,
        "红塔区",
        "653100",
        "凤凰街道凤凰路88号2幢3单元301室",
        "13900001001",
        "fenghuang-chc",
        (("fenghuang-chc", "FH20150412"), ("yuxi-first", "0008812305")),
        "53040000000081230501",
        _Visit(
            "fenghuang-chc",
            "huang-weidong",
            "fenghuang-chc/family-doctor",
            12,
            9,
            "高血压、糖尿病季度随访",
            "FH-MZ-26-004117",
        ),
        (_I10, _Condition("E11.9", "2型糖尿病", "2017")),
        (152, 94),
        (_lab(_FPG, 8.6), _lab(_HBA1C, 7.8)),
    ),
    _Person(
        "li-xiulan",
        "李",
        "秀兰",
        "female",
        datetime.date(1949, 11, 2),
        "532424",
        "通海县",
        22,
        "通海县",
        "652703",
        "杨广镇东营村委会下营村27号",
        "15800002002",
        "yangguang-thc",
        (("yangguang-thc", "YG00310"), ("tonghai-county", "TH0107758")),
        "53040000000010775802",
        _Visit(
            "yangguang-thc",
            "wu-xiuying",
            "yangguang-thc/family-doctor",
            20,
            10,
            "高血压随访，活动后气促加重",
            "YG-MZ-26-000894",
        ),
        (_Condition("I10", "原发性高血压", "2009"), _Condition("J44.9", "慢性阻塞性肺疾病", "2016")),
        (168, 98),
    ),
    _Person(
        "wang-jianjun",
        "王",
        "建军",
        "male",
        datetime.date(1966, 7, 21),
        "532425",
        "华宁县",
        57,
        "华宁县",
        "652801",
        "盘溪镇大龙潭村63号",
        "18700003003",
        "panxi-thc",
        (("panxi-thc", "PX00522"),),
        "53040000000000052203",
        _Visit(
            "panxi-thc",
            "ma-jianhua",
            "panxi-thc/family-doctor",
            7,
            9,
            "糖尿病随访，血糖控制不佳",
            "PX-MZ-26-000311",
        ),
        (_Condition("E11.9", "2型糖尿病", "2019"), _Condition("E78.5", "高脂血症", "2021")),
        (138, 86),
        (_lab(_FPG, 11.2), _lab(_HBA1C, 9.1)),
    ),
    _Person(
        "liu-fang",
        "刘",
        "芳",
        "female",
        datetime.date(1975, 5, 9),
        "532421",
        "玉溪县",
        46,
        "红塔区",
        "653100",
        "玉兴街道玉兴路216号5栋1单元602室",
        "13600004004",
        "yuxi-first",
        (("yuxi-first", "0009120447"),),
        "53040000000091204404",
        _Visit(
            "yuxi-first",
            "zhao-ming",
            "yuxi-first/neurology",
            9,
            10,
            "急性脑梗死住院治疗",
            "YX-ZY-26-012233",
            inpatient_days=11,
        ),
        (_Condition("I63.9", "脑梗死", None, chronic=False), _Condition("I10", "原发性高血压", "2020")),
        (146, 90),
    ),
    _Person(
        "chen-ming",
        "陈",
        "明",
        "male",
        datetime.date(1981, 12, 30),
        "532424",
        "通海县",
        13,
        "通海县",
        "652700",
        "秀山街道文庙街17号",
        "15100005005",
        "tonghai-county",
        (("tonghai-county", "TH0113520"),),
        None,
        _Visit(
            "tonghai-county",
            "yang-zhiqiang",
            "tonghai-county/internal-medicine",
            5,
            15,
            "反复胸闷，活动后加重",
            "TH-MZ-26-027801",
        ),
        (_Condition("I25.1", "冠状动脉粥样硬化性心脏病", "2025"), _Condition("I10", "原发性高血压", "2018")),
        (142, 92),
    ),
    _Person(
        "yang-li",
        "杨",
        "丽",
        "female",
        datetime.date(1998, 8, 17),
        "530424",
        "华宁县",
        8,
        "华宁县",
        "652800",
        "宁州街道朝阳路9号",
        "18200006006",
        "huaning-county",
        (("huaning-county", "HN0098215"),),
        None,
        _Visit(
            "huaning-county",
            "liu-yang",
            "huaning-county/internal-medicine",
            15,
            11,
            "心悸、多汗、体重下降",
            "HN-MZ-26-015320",
        ),
        (_Condition("E05.9", "甲状腺功能亢进症", None, chronic=False),),
        (128, 80),
    ),
    _Person(
        "zhao-guoqiang",
        "赵",
        "国强",
        "male",
        datetime.date(1953, 1, 26),
        "532422",
        "江川县",
        19,
        "江川区",
        "652600",
        "大街街道星云路31号",
        "13700007007",
        "yuxi-first",
        (("yuxi-first", "0009307716"),),
        "53040000000093077107",
        _Visit(
            "yuxi-first", "sun-li", "yuxi-first/respiratory", 30, 14, "体检发现右肺结节", "YX-MZ-26-188402"
        ),
        (_Condition("R91", "肺部影像学检查异常（肺结节）", None, chronic=False),),
        (134, 82),
    ),
    _Person(
        "zhou-min",
        "周",
        "敏",
        "female",
        datetime.date(1968, 4, 3),
        "532426",
        "易门县",
        64,
        "红塔区",
        "653100",
        "凤凰街道红塔大道145号1栋802室",
        "18800008008",
        "fenghuang-chc",
        (("fenghuang-chc", "FH20180923"),),
        "53040000000018092308",
        _Visit(
            "fenghuang-chc",
            "huang-weidong",
            "fenghuang-chc/family-doctor",
            3,
            9,
            "血压、血脂复查",
            "FH-MZ-26-004302",
        ),
        (_Condition("I10", "原发性高血压", "2019"), _Condition("E78.5", "高脂血症", "2022")),
        (144, 88),
    ),
)


def _resident_id(p: _Person) -> str:
    body = f"{p.id_region}{p.birth:%Y%m%d}{p.id_seq:03d}"
    return ric.validate(body + ric.calc_check_digit(body + "0"))


# -------------------------------------------------------------------- contracts and teams


@dataclass(frozen=True)
class _Team:
    key: str
    org: str
    name: str
    service: str
    members: tuple[tuple[str, tuple[str, ...]], ...]  # (staff key, care-team-role codes)


_CARE_TEAM_ROLE = {
    "team-lead": "团队长",
    "family-doctor": "家庭医生",
    "nurse": "护士",
    "public-health-physician": "公共卫生医师",
    "specialist": "专科医生",
}

_TEAMS: tuple[_Team, ...] = (
    _Team(
        "fenghuang-chc/huang-weidong",
        "fenghuang-chc",
        "黄卫东家庭医生团队",
        "fenghuang-chc/family-doctor",
        (
            ("huang-weidong", ("team-lead", "family-doctor")),
            ("zheng-xiaohong", ("nurse",)),
            ("li-jianguo", ("specialist",)),
        ),
    ),
    _Team(
        "yangguang-thc/wu-xiuying",
        "yangguang-thc",
        "吴秀英家庭医生团队",
        "yangguang-thc/family-doctor",
        (
            ("wu-xiuying", ("team-lead", "family-doctor")),
            ("pu-chunmei", ("public-health-physician",)),
            ("yang-zhiqiang", ("specialist",)),
        ),
    ),
)
_TEAM_BY_KEY = {t.key: t for t in _TEAMS}

# (patient, team, contract number, days before today the one-year term began)
_CONTRACTS: tuple[tuple[str, str, str, int], ...] = (
    ("zhang-wei", "fenghuang-chc/huang-weidong", "QY-530402-2026-00318", 130),
    ("li-xiulan", "yangguang-thc/wu-xiuying", "QY-530423-2026-00057", 200),
)


# ---------------------------------------------------------------------------- FHIR helpers


def _urn(key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(SEED_NAMESPACE, key)}"


def _coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _cc(*codings: dict, text: str | None = None) -> dict:
    out: dict = {"coding": list(codings)}
    if text:
        out["text"] = text
    return out


def _identifier(
    system: str,
    value: str,
    *,
    type_code: str | None = None,
    type_text: str | None = None,
    use: str | None = None,
    assigner: str | None = None,
) -> dict:
    out: dict = {}
    if use:
        out["use"] = use
    if type_code:
        out["type"] = _cc(_coding(V2_0203, type_code), text=type_text)
    out["system"] = system
    out["value"] = value
    if assigner:
        out["assigner"] = _org_ref(assigner)
    return out


def _at(day: datetime.date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00{_TZ}"


def _plus_one_year(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _resource(resource_type: str, **fields: object) -> dict:
    return {"resourceType": resource_type, "meta": {"tag": [dict(_HTEST)]}, "language": "zh-CN", **fields}


def _entry(key: str, resource: dict) -> dict:
    """A POST entry made conditional on the resource's first identifier."""
    ident = resource["identifier"][0]
    return {
        "fullUrl": _urn(key),
        "resource": resource,
        "request": {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": f"identifier={ident['system']}|{ident['value']}",
        },
    }


def _org_ref(org_key: str) -> dict:
    if org_key == "alliance":
        return {"reference": _urn("Organization/alliance"), "display": DEMO_ALLIANCE[1]}
    return {"reference": _urn(f"Organization/{org_key}"), "display": _ORG_BY_KEY[org_key].name}


def _role_ref(staff_key: str) -> dict:
    s = _STAFF_BY_KEY[staff_key]
    return {
        "reference": _urn(f"PractitionerRole/{staff_key}"),
        "display": f"{s.family}{s.given}（{_ORG_BY_KEY[s.org].name} {_ROLE[s.role][0]}）",
    }


def _service_ref(service_key: str) -> dict:
    s = _SERVICE_BY_KEY[service_key]
    return {
        "reference": _urn(f"HealthcareService/{service_key}"),
        "display": f"{_ORG_BY_KEY[s.org].name} {s.name}",
    }


def _patient_ref(p: _Person) -> dict:
    return {"reference": _urn(f"Patient/{p.key}"), "display": p.family + p.given}


def _dept(code: str, display: str) -> dict:
    return _cc(_coding(DEPARTMENT_OID, code, display), text=display)


def _address(*, district: str, line: str, postal_code: str, use: str | None = None) -> dict:
    out: dict = {}
    if use:
        out["use"] = use
    out.update(
        {
            "type": "physical",
            "text": f"云南省玉溪市{district}{line}",
            "line": [line],
            "city": "玉溪市",
            "district": district,
            "state": "云南省",
            "postalCode": postal_code,
            "country": "CN",
        }
    )
    return out


def _zh_name(family: str, given: str) -> dict:
    return {"use": "official", "text": family + given, "family": family, "given": [given]}


def _zh_cn() -> dict:
    return _cc(_coding(BCP47, "zh-CN", "Chinese (China)"), text="中文")


# ---------------------------------------------------------------------- resource builders


def _alliance() -> dict:
    key, name, name_en = DEMO_ALLIANCE
    resource = _resource(
        "Organization",
        identifier=[_identifier(SID_ALLIANCE, "YLT-530400-001", use="official")],
        active=True,
        type=[
            _cc(
                _coding(ORG_TYPE, "other", "Other"),
                _coding(CS_ORGANIZATION_TYPE, "medical-alliance", "医疗联合体"),
                text="医联体",
            )
        ],
        name=name,
        alias=["玉溪一院医联体", name_en],
        telecom=[{"system": "phone", "value": "0877-2051999", "use": "work"}],
        address=[_address(district="红塔区", line="东风南路21号（医联体办公室）", postal_code="653100")],
    )
    return _entry(f"Organization/{key}", resource)


def _organization(o: _Org) -> dict:
    types = [
        _cc(_coding(ORG_TYPE, "prov", "Healthcare Provider"), text="医疗机构"),
        _cc(_coding(CS_INSTITUTION_LEVEL, o.level, _LEVEL_DISPLAY[o.level])),
    ]
    if o.grade:
        types.append(_cc(_coding(CS_INSTITUTION_GRADE, o.grade, _GRADE_DISPLAY[o.grade])))
    resource = _resource(
        "Organization",
        identifier=[
            _identifier(SID_USCC, _uscc(o), type_code="TAX", type_text="统一社会信用代码", use="official"),
            _identifier(
                SID_INSTITUTION_LICENCE,
                _institution_licence(o),
                type_code="LN",
                type_text="医疗机构执业许可证登记号",
            ),
            _identifier(SID_FIXMEDINS, _fixmedins_code(o), type_code="PRN", type_text="医保定点医疗机构代码"),
        ],
        active=True,
        type=types,
        name=o.name,
        alias=[a for a in (o.short_alias, o.name_en) if a],
        telecom=[{"system": "phone", "value": o.phone, "use": "work"}],
        address=[_address(district=o.district, line=o.line, postal_code=o.postal_code, use="work")],
    )
    if o.part_of:
        resource["partOf"] = _org_ref(o.part_of)
    return _entry(f"Organization/{o.key}", resource)


def _affiliation(o: _Org) -> dict:
    role = "lead" if o.level == "tertiary" else "member"
    resource = _resource(
        "OrganizationAffiliation",
        identifier=[_identifier(SID_ALLIANCE_MEMBERSHIP, f"YLT-530400-001/{o.key}")],
        active=True,
        period={"start": _ALLIANCE_FOUNDED.isoformat()},
        organization=_org_ref("alliance"),
        participatingOrganization=_org_ref(o.key),
        code=[
            _cc(
                _coding(ORG_ROLE, "member", "Member"),
                _coding(CS_ALLIANCE_ROLE, role, "牵头医院" if role == "lead" else "成员单位"),
            )
        ],
    )
    return _entry(f"OrganizationAffiliation/{o.key}", resource)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _healthcare_service(s: _Service) -> dict:
    resource = _resource(
        "HealthcareService",
        identifier=[_identifier(local_system("department", s.org), s.local_code)],
        active=True,
        providedBy=_org_ref(s.org),
        category=[_cc(_coding(CS_SERVICE_CATEGORY, s.category, _SERVICE_CATEGORY[s.category]))],
        type=[_cc(_coding(CS_SERVICE_TYPE, t, _SERVICE_TYPE[t])) for t in s.types],
        name=s.name,
        comment=s.name_en,
        telecom=[{"system": "phone", "value": s.phone, "use": "work"}],
        communication=[_zh_cn()],
        referralMethod=[_cc(_coding(REFERRAL_METHOD, "elec", "Secure Messaging"), text="协同平台电子转诊")],
        appointmentRequired=s.category != "referral-desk",
        availableTime=[
            {"daysOfWeek": list(_WEEKDAYS), "availableStartTime": "08:00:00", "availableEndTime": "12:00:00"},
            {"daysOfWeek": list(_WEEKDAYS), "availableStartTime": "14:30:00", "availableEndTime": "17:30:00"},
        ],
    )
    if s.dept_code and s.dept_display:
        resource["specialty"] = [_dept(s.dept_code, s.dept_display)]
    return _entry(f"HealthcareService/{s.key}", resource)


def _practitioner(s: _Staff) -> dict:
    system, qual_code, qual_display = _LICENCE[s.licence]
    licence = _licence_number(s)
    identifiers = [_identifier(system, licence, type_code="LN", type_text=qual_display, use="official")]
    if s.licence != "nurse":
        region = _ORG_BY_KEY[s.org].uscc_region
        nhsa_code = f"D{region}{s.seq:06d}"
        identifiers.append(_identifier(SID_NHSA_PRACTITIONER, nhsa_code, type_text="国家医保医师代码"))
    resource = _resource(
        "Practitioner",
        identifier=identifiers,
        active=True,
        name=[_zh_name(s.family, s.given)],
        gender=s.gender,
        qualification=[
            {
                "identifier": [_identifier(system, licence)],
                "code": _cc(_coding(CS_QUALIFICATION, qual_code, qual_display)),
                "period": {"start": f"{s.licence_year}-07-01"},
                "issuer": {"display": "云南省卫生健康委员会"},
            },
            {"code": _cc(_coding(CS_PROFESSIONAL_TITLE, s.title, _TITLE[s.title]))},
        ],
        communication=[_zh_cn()],
    )
    return _entry(f"Practitioner/{s.key}", resource)


def _practitioner_role(s: _Staff) -> dict:
    display, hl7_code = _ROLE[s.role]
    service = _SERVICE_BY_KEY[s.service]
    resource = _resource(
        "PractitionerRole",
        identifier=[_identifier(local_system("staff", s.org), s.staff_no, type_code="EI", type_text="工号")],
        active=True,
        period={"start": f"{s.licence_year}-07-01"},
        practitioner={"reference": _urn(f"Practitioner/{s.key}"), "display": s.family + s.given},
        organization=_org_ref(s.org),
        code=[_cc(_coding(CS_PRACTITIONER_ROLE, s.role, display), _coding(HL7_PRACTITIONER_ROLE, hl7_code))],
        healthcareService=[_service_ref(s.service)],
        telecom=[{"system": "phone", "value": service.phone, "use": "work"}],
    )
    if service.dept_code and service.dept_display:
        resource["specialty"] = [_dept(service.dept_code, service.dept_display)]
    return _entry(f"PractitionerRole/{s.key}", resource)


def _patient(p: _Person, general_practitioner: str | None) -> dict:
    identifiers = [
        _identifier(
            SID_RESIDENT_ID, _resident_id(p), type_code="NNCHN", type_text="居民身份证", use="official"
        ),
    ]
    identifiers += [
        _identifier(mrn_system(org), mrn, type_code="MR", type_text="病案号", use="usual", assigner=org)
        for org, mrn in p.mrns
    ]
    if p.psn_no:
        identifiers.append(_identifier(SID_NHSA_PSN, p.psn_no, type_code="SN", type_text="医保人员编号"))
    resource = _resource(
        "Patient",
        extension=[
            {
                "url": BIRTH_PLACE_EXT,
                "valueAddress": {
                    "text": f"云南省{p.birth_county}",
                    "district": p.birth_county,
                    "state": "云南省",
                    "country": "CN",
                },
            }
        ],
        identifier=identifiers,
        active=True,
        name=[_zh_name(p.family, p.given)],
        telecom=[{"system": "phone", "value": p.phone, "use": "mobile", "rank": 1}],
        gender=p.gender,
        birthDate=p.birth.isoformat(),
        address=[_address(district=p.district, line=p.line, postal_code=p.postal_code, use="home")],
        communication=[{"language": _zh_cn(), "preferred": True}],
        managingOrganization=_org_ref(p.home_org),
    )
    if general_practitioner:
        resource["generalPractitioner"] = [_role_ref(general_practitioner)]
    return _entry(f"Patient/{p.key}", resource)


def _clinical(p: _Person, today: datetime.date) -> list[dict]:
    """The encounter, diagnoses and results a referral of this patient would carry."""
    v = p.visit
    org = _ORG_BY_KEY[v.org]
    service = _SERVICE_BY_KEY[v.service]
    day = today - datetime.timedelta(days=v.days_ago)
    enc_key = f"Encounter/{p.key}"
    cond_keys = [f"Condition/{p.key}/{c.code}" for c in p.conditions]

    admitted = day - datetime.timedelta(days=v.inpatient_days)
    if v.inpatient_days:
        period = {"start": _at(admitted, 16, 40), "end": _at(day, 10, 0)}
        enc_class = _coding(ACT_CODE, "IMP", "inpatient encounter")
    else:
        period = {"start": _at(day, v.hour, 5), "end": _at(day, v.hour, 35)}
        enc_class = _coding(ACT_CODE, "AMB", "ambulatory")
    encounter = _resource(
        "Encounter",
        identifier=[
            _identifier(local_system("visit", v.org), v.visit_no, type_code="VN", type_text="就诊号"),
        ],
        status="finished",
        **{"class": enc_class},
        type=[{"text": v.text}],
        serviceType=_dept(service.dept_code or "A03", service.dept_display or "内科"),
        subject=_patient_ref(p),
        participant=[
            {"type": [_cc(_coding(PARTICIPATION_TYPE, "ATND", "attender"))], "individual": _role_ref(v.staff)}
        ],
        period=period,
        diagnosis=[{"condition": {"reference": _urn(k)}, "rank": i} for i, k in enumerate(cond_keys, 1)],
        serviceProvider=_org_ref(v.org),
    )
    if v.inpatient_days:
        encounter["hospitalization"] = {
            "dischargeDisposition": _cc(_coding(DISCHARGE_DISPOSITION, "home", "Home"), text="出院回家")
        }
    entries = [_entry(enc_key, encounter)]

    for c, key in zip(p.conditions, cond_keys, strict=True):
        category = "problem-list-item" if c.chronic else "encounter-diagnosis"
        condition = _resource(
            "Condition",
            identifier=[_identifier(local_system("diagnosis", v.org), f"{v.visit_no}/{c.code}")],
            clinicalStatus=_cc(_coding(CONDITION_CLINICAL, "active")),
            verificationStatus=_cc(_coding(CONDITION_VERIFICATION, "confirmed")),
            category=[_cc(_coding(CONDITION_CATEGORY, category))],
            code=_cc(_coding(ICD10_CN, c.code, c.display), text=c.display),
            subject=_patient_ref(p),
            encounter={"reference": _urn(enc_key)},
            onsetDateTime=c.onset or admitted.isoformat(),
            recordedDate=day.isoformat(),
            asserter=_role_ref(v.staff),
        )
        entries.append(_entry(key, condition))

    measured = _at(day, v.hour, 10)
    sbp, dbp = p.bp
    bp = _resource(
        "Observation",
        identifier=[_identifier(local_system("observation", v.org), f"{v.visit_no}/BP")],
        status="final",
        category=[_cc(_coding(OBS_CATEGORY, "vital-signs", "Vital Signs"))],
        code=_cc(_coding(LOINC, "85354-9", "Blood pressure panel with all children optional"), text="血压"),
        subject=_patient_ref(p),
        encounter={"reference": _urn(enc_key)},
        effectiveDateTime=measured,
        issued=measured,
        performer=[_role_ref(v.staff), _org_ref(v.org)],
        component=[
            _bp_component("8480-6", "Systolic blood pressure", "收缩压", sbp, sbp >= 140),
            _bp_component("8462-4", "Diastolic blood pressure", "舒张压", dbp, dbp >= 90),
        ],
    )
    entries.append(_entry(f"Observation/{p.key}/BP", bp))

    for lab in p.labs:
        high = lab.value > lab.high
        obs = _resource(
            "Observation",
            identifier=[_identifier(local_system("observation", v.org), f"{v.visit_no}/{lab.code}")],
            status="final",
            category=[_cc(_coding(OBS_CATEGORY, "laboratory", "Laboratory"))],
            code=_cc(_coding(LOINC, lab.code, lab.display), text=lab.text),
            subject=_patient_ref(p),
            encounter={"reference": _urn(enc_key)},
            effectiveDateTime=_at(day, v.hour, 15),
            issued=_at(day, v.hour + 2, 30),
            performer=[_org_ref(org.key)],
            valueQuantity=_quantity(lab.value, lab.unit),
            interpretation=[_cc(_coding(INTERPRETATION, "H" if high else "N", "High" if high else "Normal"))],
            referenceRange=[
                {
                    "low": _quantity(lab.low, lab.unit),
                    "high": _quantity(lab.high, lab.unit),
                    "text": f"{lab.low}-{lab.high} {lab.unit}",
                }
            ],
        )
        entries.append(_entry(f"Observation/{p.key}/{lab.code}", obs))
    return entries


def _quantity(value: float | int, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _bp_component(code: str, display: str, text: str, value: int, high: bool) -> dict:
    return {
        "code": _cc(_coding(LOINC, code, display), text=text),
        "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        "interpretation": [_cc(_coding(INTERPRETATION, "H" if high else "N", "High" if high else "Normal"))],
    }


def _care_team(t: _Team) -> dict:
    resource = _resource(
        "CareTeam",
        identifier=[_identifier(local_system("fd-team", t.org), t.key.split("/", 1)[1])],
        status="active",
        category=[
            _cc(
                _coding(LOINC, "LA28865-6", "Longitudinal care-coordination focused care team"),
                _coding(CS_CARE_TEAM_CATEGORY, "family-doctor-team", "家庭医生团队"),
            )
        ],
        name=t.name,
        period={"start": "2021-03-01"},
        participant=[
            {
                "role": [_cc(_coding(CS_CARE_TEAM_ROLE, r, _CARE_TEAM_ROLE[r])) for r in roles],
                "member": _role_ref(staff),
                "onBehalfOf": _org_ref(_STAFF_BY_KEY[staff].org),
            }
            for staff, roles in t.members
        ],
        managingOrganization=[_org_ref(t.org)],
        telecom=[{"system": "phone", "value": _SERVICE_BY_KEY[t.service].phone, "use": "work"}],
    )
    return _entry(f"CareTeam/{t.key}", resource)


def _contract(patient: _Person, team: _Team, number: str, start: datetime.date) -> dict:
    lead = next(s for s, roles in team.members if "team-lead" in roles)
    resource = _resource(
        "EpisodeOfCare",
        identifier=[_identifier(local_system("fd-contract", team.org), number, type_text="签约协议编号")],
        status="active",
        statusHistory=[{"status": "active", "period": {"start": start.isoformat()}}],
        type=[_cc(_coding(CS_EPISODE_TYPE, FAMILY_DOCTOR_CONTRACT, "家庭医生签约服务"), text="家庭医生签约")],
        diagnosis=[
            {"condition": {"reference": _urn(f"Condition/{patient.key}/{c.code}")}, "rank": i}
            for i, c in enumerate((c for c in patient.conditions if c.chronic), 1)
        ],
        patient=_patient_ref(patient),
        managingOrganization=_org_ref(team.org),
        period={"start": start.isoformat(), "end": _plus_one_year(start).isoformat()},
        careManager=_role_ref(lead),
        team=[{"reference": _urn(f"CareTeam/{team.key}"), "display": team.name}],
    )
    return _entry(f"EpisodeOfCare/{patient.key}/{number}", resource)


# ------------------------------------------------------------------------------ public API


def demo_alliance_bundle(today: datetime.date | None = None) -> dict:
    """The demo alliance as one FHIR R4B ``transaction`` Bundle (a plain dict).

    ``today`` anchors the recent dates (visits, results, contract terms); it defaults to
    ``DEMO_TODAY`` so that two calls without it return equal Bundles.
    """
    today = today or DEMO_TODAY
    people = {p.key: p for p in _PEOPLE}
    contracted = {patient: _TEAM_BY_KEY[team] for patient, team, _, _ in _CONTRACTS}

    entries = [_alliance()]
    entries += [_organization(o) for o in _ORGS]
    entries += [_affiliation(o) for o in _ORGS]
    entries += [_healthcare_service(s) for s in _SERVICES]
    entries += [_practitioner(s) for s in _STAFF]
    entries += [_practitioner_role(s) for s in _STAFF]
    entries += [_care_team(t) for t in _TEAMS]
    for p in _PEOPLE:
        team = contracted.get(p.key)
        lead = next(s for s, roles in team.members if "team-lead" in roles) if team else None
        entries.append(_patient(p, lead))
    for patient, team, number, days in _CONTRACTS:
        start = today - datetime.timedelta(days=days)
        entries.append(_contract(people[patient], _TEAM_BY_KEY[team], number, start))
    for p in _PEOPLE:
        entries += _clinical(p, today)
    _mark_owners(entries)
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


OWNER_EXTENSION = "http://xietong.example/fhir/StructureDefinition/entry-owner"


def _mark_owners(entries: list[dict]) -> None:
    """Name on each entry the institution that holds the record (the tenant the hub stores it under):
    an Organization is its own; anything else belongs to the member institution it references, directly
    or through a PractitionerRole; a Practitioner to the institution of its role."""
    orgs = {_urn(f"Organization/{o.key}") for o in _ORGS}
    role_org = {}
    for e in entries:
        r = e["resource"]
        if r["resourceType"] == "PractitionerRole":
            role_org[e["fullUrl"]] = r["organization"]["reference"]
            role_org[r["practitioner"]["reference"]] = r["organization"]["reference"]

    def owner(e: dict) -> str | None:
        if e["fullUrl"] in orgs:
            return e["fullUrl"]
        if e["fullUrl"] in role_org:  # a Practitioner, or a PractitionerRole
            return role_org[e["fullUrl"]]
        for ref in _references(e["resource"]):
            if ref in orgs:
                return ref
            if ref in role_org:
                return role_org[ref]
        return None

    for e in entries:
        found = owner(e)
        if found:
            e["extension"] = [{"url": OWNER_EXTENSION, "valueReference": {"reference": found}}]


def _references(node):
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for v in node.values():
            yield from _references(v)
    elif isinstance(node, list):
        for v in node:
            yield from _references(v)


def main(argv: list[str] | None = None) -> int:
    """Print the Bundle as JSON: ``python -m hub.seed [YYYY-MM-DD]``."""
    args = sys.argv[1:] if argv is None else argv
    today = datetime.date.fromisoformat(args[0]) if args else None
    json.dump(demo_alliance_bundle(today), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
