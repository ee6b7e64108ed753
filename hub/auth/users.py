"""People's accounts (``auth_user``): creation, password checks with lockout, and their Principal.

Plain functions over a SQLAlchemy connection: no Flask. The caller owns the transaction
(``Database.write()`` for anything that changes a row, ``authenticate`` included).

Passwords are stored as argon2id hashes (``argon2.PasswordHasher`` with its RFC 9106 defaults) and
rehashed at the next successful sign-in when those parameters change. Policy (``check_password``):
at least ``MIN_PASSWORD_LENGTH`` characters, at most ``MAX_PASSWORD_LENGTH``, characters from at
least two of four classes (lower-case letters, upper-case letters, digits, anything else — CJK and
punctuation count as "anything else"), and not containing the user name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from hub.auth.principal import (
    FAMILY_DOCTOR,
    INSTITUTION_ADMIN,
    REFERRAL_DESK,
    REGULATOR,
    SPECIALIST,
    USER_ROLES,
    Principal,
)
from hub.auth.tables import auth_user
from hub.errors import BadRequest, Conflict, NotFound
from hub.models import resource_tables

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

# The hasher in use; tests may replace it with cheaper parameters. Hashes made with other
# parameters still verify, and are replaced at the next successful sign-in.
HASHER = PasswordHasher()

try:
    from zoneinfo import ZoneInfo

    CHINA_TZ: timezone | ZoneInfo = ZoneInfo("Asia/Shanghai")
except Exception:  # no tz database on this host: China has had no daylight saving since 1991
    CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

# ----- role -> SMART v2 user scopes -----
# What each kind of person may do, per resource type (c create, r read, u update, d delete,
# s search). Which rows they reach is tenancy's business (hub.auth.tenancy): these scopes only say
# which interactions on which types the role may attempt. Nobody signed in deletes anything.

_DIRECTORY = (
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "HealthcareService",
    "Location",
    "Schedule",
    "Slot",
    "Endpoint",
    "OrganizationAffiliation",
)
_TERMINOLOGY = ("CodeSystem", "ValueSet", "ConceptMap", "Questionnaire", "StructureDefinition")
_CLINICAL = (
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "DiagnosticReport",
    "ImagingStudy",
    "AllergyIntolerance",
    "Procedure",
    "MedicationRequest",
    "Medication",
    "Immunization",
    "DocumentReference",
    "Composition",
    "CarePlan",
    "CareTeam",
    "EpisodeOfCare",
    "Goal",
    "Consent",
    "Provenance",
    "ServiceRequest",
    "Task",
    "Appointment",
    "Specimen",
    "QuestionnaireResponse",
    "Communication",
    "Binary",
    "Media",
    "RelatedPerson",
    "Coverage",
)


def _scopes(read: tuple[str, ...], write: dict[str, str]) -> tuple[str, ...]:
    """``user/T.rs`` for every type read, overridden by the explicit permissions in ``write``."""
    perms = {t: "rs" for t in read}
    perms.update(write)
    return tuple(f"user/{t}.{p}" for t, p in sorted(perms.items()))


ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    # 转诊办 / referral desk: submits, triages and routes referrals, books joint-clinic slots,
    # records consent, attaches the clinical summary and prior results.
    REFERRAL_DESK: _scopes(
        _DIRECTORY + _TERMINOLOGY + _CLINICAL,
        {
            "ServiceRequest": "crus",
            "Task": "crus",
            "Appointment": "crus",
            "Consent": "crus",
            "DocumentReference": "crus",
            "Communication": "crus",
            "Binary": "cr",
        },
    ),
    # 专科医生 / specialist: triages and answers referrals, runs remote clinics, writes the consult
    # note or discharge summary and the care plan that goes down with the patient.
    SPECIALIST: _scopes(
        _DIRECTORY + _TERMINOLOGY + _CLINICAL,
        {
            "ServiceRequest": "crus",
            "Task": "crus",
            "Appointment": "rus",
            "Consent": "crus",
            "DocumentReference": "crus",
            "Composition": "crus",
            "CarePlan": "crus",
            "Communication": "crus",
            "Binary": "cr",
            "Slot": "rus",
        },
    ),
    # 家庭医生团队 / family-doctor team: their contracted residents' referrals, handoffs and
    # follow-ups; refer upward; record follow-up readings.
    FAMILY_DOCTOR: _scopes(
        _DIRECTORY + _TERMINOLOGY + _CLINICAL,
        {
            "ServiceRequest": "crus",
            "Task": "crus",
            "Appointment": "crus",
            "Consent": "crus",
            "CarePlan": "crus",
            "EpisodeOfCare": "crus",
            "CareTeam": "rus",
            "Observation": "crus",
            "DocumentReference": "crus",
            "Communication": "crus",
            "Binary": "cr",
        },
    ),
    # 机构管理员 / institution administrator: the institution's directory entries, schedules and
    # teams, and its own audit trail. No clinical records.
    INSTITUTION_ADMIN: _scopes(
        _TERMINOLOGY + ("AuditEvent",),
        {
            "Organization": "rus",
            "Practitioner": "crus",
            "PractitionerRole": "crus",
            "HealthcareService": "crus",
            "Location": "crus",
            "Endpoint": "crus",
            "Schedule": "crus",
            "Slot": "crus",
            "CareTeam": "crus",
            "OrganizationAffiliation": "rs",
        },
    ),
    # 卫健委 / alliance office: reads everything, writes nothing.
    REGULATOR: ("user/*.rs",),
}
if set(ROLE_SCOPES) != set(USER_ROLES):  # a role added to USER_ROLES needs its scopes here
    raise RuntimeError("ROLE_SCOPES does not cover USER_ROLES")

ROLE_LABELS = {
    REFERRAL_DESK: "转诊办 Referral desk",
    SPECIALIST: "专科医生 Specialist",
    FAMILY_DOCTOR: "家庭医生 Family doctor",
    INSTITUTION_ADMIN: "机构管理员 Institution administrator",
    REGULATOR: "监管 Regulator",
}

# ----- results and messages -----

MSG_BAD_CREDENTIALS = "用户名或密码错误 · Wrong user name or password."
MSG_DISABLED = (
    "该账户已停用，请联系本机构管理员 · This account is disabled; ask your institution's administrator."
)


def msg_locked(until: datetime) -> str:
    hhmm = until.astimezone(CHINA_TZ).strftime("%H:%M")
    return (
        f"登录失败次数过多，账户已锁定至 {hhmm}（北京时间） · "
        f"Too many failed sign-ins: account locked until {hhmm} (China Standard Time)."
    )


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    organization_id: str | None
    practitioner_role_id: str | None
    enabled: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    password_hash: str = ""

    def __repr__(self) -> str:  # never print the hash
        return f"User({self.id}, {self.username!r}, role={self.role!r}, org={self.organization_id!r})"

    @classmethod
    def from_row(cls, row: Any) -> User:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class UserResult:
    """What a sign-in attempt came to. ``reason``: ok | bad-credentials | locked | disabled."""

    ok: bool
    reason: str
    message: str
    user: User | None = None  # set for ok, locked and disabled; never for bad-credentials
    locked_until: datetime | None = None
    rehashed: bool = False


# ----- validation -----


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def check_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME_RE.match(name):
        raise BadRequest(
            "用户名须为 2–64 个字符：小写字母、数字和 . _ @ -，以字母或数字开头 · "
            f"user name {username!r} must be 2-64 characters of a-z, 0-9, '.', '_', '@', '-', "
            "starting with a letter or digit",
            ["username"],
        )
    return name


def _classes(password: str) -> int:
    found = set()
    for ch in password:
        if ch.isascii() and ch.islower():
            found.add("lower")
        elif ch.isascii() and ch.isupper():
            found.add("upper")
        elif ch.isdigit():
            found.add("digit")
        else:
            found.add("other")
    return len(found)


def check_password(password: str, username: str = "") -> None:
    """Raise ``BadRequest`` naming what is wrong with a new password."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(
            f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 · the password must be at least "
            f"{MIN_PASSWORD_LENGTH} characters long",
            ["password"],
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(
            f"密码最多 {MAX_PASSWORD_LENGTH} 个字符 · the password must be at most "
            f"{MAX_PASSWORD_LENGTH} characters long",
            ["password"],
        )
    if _classes(password) < 2:
        raise BadRequest(
            "密码须包含至少两类字符（小写字母、大写字母、数字、其他符号） · the password must mix at "
            "least two of: lower-case letters, upper-case letters, digits, other characters",
            ["password"],
        )
    name = normalize_username(username)
    if len(name) >= 3 and name in password.lower():
        raise BadRequest("密码不得包含用户名 · the password must not contain the user name", ["password"])


def _check_role(role: str) -> None:
    if role not in USER_ROLES:
        raise BadRequest(f"未知角色 · unknown role {role!r}; one of: {', '.join(USER_ROLES)}", ["role"])


def _live(conn: Connection, rtype: str, fid: str) -> dict | None:
    t = resource_tables[rtype]
    body = conn.execute(
        select(t.c.body).where(t.c.fhir_id == fid, t.c.deleted.is_(False))
    ).scalar_one_or_none()
    return None if body is None else orjson.loads(body)


def _check_organization(conn: Connection, role: str, organization_id: str | None) -> str | None:
    organization_id = (organization_id or "").strip() or None
    if organization_id is None:
        if role != REGULATOR:
            raise BadRequest(
                f"角色 {role} 须属于一个机构 · a {role} user must belong to an institution "
                "(give its Organization id)",
                ["organization_id"],
            )
        return None
    if _live(conn, "Organization", organization_id) is None:
        raise BadRequest(
            f"机构不存在 · there is no Organization/{organization_id} in the hub", ["organization_id"]
        )
    return organization_id


def _check_practitioner_role(conn: Connection, prid: str | None, organization_id: str | None) -> str | None:
    prid = (prid or "").strip() or None
    if prid is None:
        return None
    found = _live(conn, "PractitionerRole", prid)
    if found is None:
        raise BadRequest(
            f"执业角色不存在 · there is no PractitionerRole/{prid} in the hub", ["practitioner_role_id"]
        )
    ref = (found.get("organization") or {}).get("reference")
    if ref and organization_id and ref.rsplit("/", 1)[-1] != organization_id:
        raise BadRequest(
            f"执业角色不属于该机构 · PractitionerRole/{prid} is at {ref}, not Organization/{organization_id}",
            ["practitioner_role_id"],
        )
    return prid


# ----- reading -----


def get_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(auth_user).where(auth_user.c.username == normalize_username(username))).first()
    return None if row is None else User.from_row(row)


def get_user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(auth_user).where(auth_user.c.id == user_id)).first()
    return None if row is None else User.from_row(row)


def list_users(conn: Connection, organization_id: str | None = None) -> list[User]:
    q = select(auth_user).order_by(auth_user.c.organization_id, auth_user.c.username)
    if organization_id is not None:
        q = q.where(auth_user.c.organization_id == organization_id)
    return [User.from_row(r) for r in conn.execute(q)]


def _require(conn: Connection, username: str) -> User:
    user = get_user(conn, username)
    if user is None:
        raise NotFound(f"没有该用户 · there is no user {normalize_username(username)!r}")
    return user


# ----- changing -----


def add_user(
    conn: Connection,
    username: str,
    display_name: str,
    password: str,
    role: str,
    organization_id: str | None,
    practitioner_role_id: str | None = None,
    now: datetime | None = None,
) -> User:
    """Create an account. Raises ``BadRequest`` naming the field at fault, ``Conflict`` if taken."""
    name = check_username(username)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 200:
        raise BadRequest(
            "姓名须为 1–200 个字符 · the display name must be 1-200 characters", ["display_name"]
        )
    _check_role(role)
    check_password(password, name)
    org = _check_organization(conn, role, organization_id)
    prid = _check_practitioner_role(conn, practitioner_role_id, org)
    if get_user(conn, name) is not None:
        raise Conflict(f"用户名已被使用 · the user name {name!r} is already taken", ["username"])
    conn.execute(
        auth_user.insert().values(
            username=name,
            display_name=display_name,
            password_hash=HASHER.hash(password),
            role=role,
            organization_id=org,
            practitioner_role_id=prid,
            failed_attempts=0,
            locked_until=None,
            enabled=True,
            created_at=now or datetime.now(UTC),
            last_login_at=None,
        )
    )
    return _require(conn, name)


def set_password(conn: Connection, username: str, password: str) -> User:
    """Replace the password (policy checked). Ends the user's existing sessions; does not unlock."""
    user = _require(conn, username)
    check_password(password, user.username)
    conn.execute(
        update(auth_user).where(auth_user.c.id == user.id).values(password_hash=HASHER.hash(password))
    )
    return _require(conn, user.username)


def disable_user(conn: Connection, username: str) -> User:
    user = _require(conn, username)
    conn.execute(update(auth_user).where(auth_user.c.id == user.id).values(enabled=False))
    return _require(conn, user.username)


def enable_user(conn: Connection, username: str) -> User:
    """Enable the account and clear any lock and failure count."""
    user = _require(conn, username)
    conn.execute(
        update(auth_user)
        .where(auth_user.c.id == user.id)
        .values(enabled=True, locked_until=None, failed_attempts=0)
    )
    return _require(conn, user.username)


# ----- signing in -----

_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    """A hash made with the current parameters, so that unknown names cost what known ones do."""
    global _dummy
    if _dummy is None or _dummy[0] is not HASHER:
        _dummy = (HASHER, HASHER.hash("xietong-no-such-user-0"))
    return _dummy[1]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(
    conn: Connection,
    username: str,
    password: str,
    now: datetime,
    max_failures: int,
    lockout_seconds: int,
) -> UserResult:
    """Check a sign-in attempt and record its effect on the account.

    - unknown user or wrong password: the same message (and the same argon2 work);
    - a wrong password counts a failure; the ``max_failures``-th locks the account for
      ``lockout_seconds`` (a lock that has run out starts a new count);
    - while locked, every attempt is refused with the time the lock ends, the right password too,
      and attempts do not count (nor extend the lock);
    - a disabled account with the right password is told it is disabled;
    - success clears the count and the lock, sets ``last_login_at``, and rehashes the password if
      the hasher's parameters changed.
    Run it inside a write transaction.
    """
    if now.tzinfo is None:
        raise ValueError("authenticate() needs an aware datetime")
    password = password if isinstance(password, str) else ""
    user = get_user(conn, username) if normalize_username(username) else None
    if user is None:
        _verify(_dummy_hash(), password)
        return UserResult(False, "bad-credentials", MSG_BAD_CREDENTIALS)
    matches = _verify(user.password_hash, password)
    if user.is_locked(now):
        return UserResult(False, "locked", msg_locked(user.locked_until), user, user.locked_until)
    if not matches:
        return _failed(conn, user, now, max_failures, lockout_seconds)
    if not user.enabled:
        return UserResult(False, "disabled", MSG_DISABLED, user)
    values: dict[str, Any] = {"failed_attempts": 0, "locked_until": None, "last_login_at": now}
    rehashed = HASHER.check_needs_rehash(user.password_hash)
    if rehashed:
        values["password_hash"] = HASHER.hash(password)
    conn.execute(update(auth_user).where(auth_user.c.id == user.id).values(**values))
    return UserResult(True, "ok", "", get_user_by_id(conn, user.id), rehashed=rehashed)


def _failed(
    conn: Connection, user: User, now: datetime, max_failures: int, lockout_seconds: int
) -> UserResult:
    restart = user.locked_until is not None  # an expired lock: this failure is the first of a new round
    count = conn.execute(
        update(auth_user)
        .where(auth_user.c.id == user.id)
        .values(
            failed_attempts=1 if restart else auth_user.c.failed_attempts + 1,
            locked_until=None,
        )
        .returning(auth_user.c.failed_attempts)
    ).scalar_one()
    if max_failures > 0 and count >= max_failures:
        until = now + timedelta(seconds=lockout_seconds)
        conn.execute(update(auth_user).where(auth_user.c.id == user.id).values(locked_until=until))
        return UserResult(False, "locked", msg_locked(until), get_user_by_id(conn, user.id), until)
    return UserResult(False, "bad-credentials", MSG_BAD_CREDENTIALS)


# ----- the principal -----


def principal_for(user_row: Any) -> Principal:
    """The Principal a signed-in person acts as (a ``User`` or an ``auth_user`` row)."""
    role = user_row.role
    prid = user_row.practitioner_role_id
    return Principal(
        kind="user",
        id=user_row.username,
        organization=user_row.organization_id,
        role=role,
        scopes=ROLE_SCOPES.get(role, ()),
        name=user_row.display_name,
        extra={
            "user_id": user_row.id,
            "practitioner_role": prid,
            # SMART's fhirUser, bound to the PractitionerRole the person acts as (IH-02).
            "fhir_user": f"PractitionerRole/{prid}" if prid else None,
        },
    )
