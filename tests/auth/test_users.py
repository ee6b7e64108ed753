"""People's accounts: argon2id hashes, password policy, lockout, enabling, the Principal, the CLI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from hub import create_app
from hub.auth import users
from hub.auth.principal import REFERRAL_DESK, REGULATOR, SPECIALIST, USER_ROLES, system
from hub.auth.scopes import parse_scope
from hub.auth.user_cli import register_cli
from hub.errors import BadRequest, Conflict, NotFound
from hub.fhir.registry import TYPES
from hub.models import resource_tables
from tests.conftest import make_config
from tests.factories import organization

PASSWORD = "Jiangchuan-2026"
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)  # 14:00 in Beijing
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(users, "HASHER", FAST)
    app = create_app(make_config(database_url, INSTANCE_PATH=str(tmp_path / "instance")))
    if "user" not in app.cli.commands:
        register_cli(app)
    yield app
    app.extensions["xietong"].db.dispose()


@pytest.fixture
def db(app):
    return app.extensions["xietong"].db


def create(app, resource: dict) -> str:
    """Store a directory record as the hub itself (the FHIR API needs a signed-in caller)."""
    fhir = app.extensions["xietong"].fhir
    return fhir.create(system("tests"), resource["resourceType"], resource)[0].id


@pytest.fixture
def org(app):
    return create(app, organization())


def add(db, username="zhangsan", org_id=None, role=REFERRAL_DESK, password=PASSWORD, **kw):
    with db.write() as conn:
        return users.add_user(conn, username, "张医生", password, role, org_id, now=NOW, **kw)


def auth(db, password=PASSWORD, username="zhangsan", now=NOW, max_failures=3, lockout=900):
    with db.write() as conn:
        return users.authenticate(conn, username, password, now, max_failures, lockout)


def get(db, username="zhangsan"):
    with db.read() as conn:
        return users.get_user(conn, username)


# ----- creating accounts -----


def test_stores_an_argon2id_hash_with_the_default_parameters_never_the_password(db, org, monkeypatch):
    monkeypatch.setattr(users, "HASHER", PasswordHasher())
    user = add(db, org_id=org)
    stored = get(db).password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored and PASSWORD not in repr(user)
    assert user.username == "zhangsan" and user.organization_id == org and user.enabled
    assert user.failed_attempts == 0 and user.locked_until is None and user.created_at == NOW
    assert PasswordHasher().verify(stored, PASSWORD)


def test_username_is_normalised_and_unique(db, org):
    add(db, username="  ZhangSan ", org_id=org)
    assert get(db, "zhangsan").username == "zhangsan"
    with pytest.raises(Conflict, match="already taken"):
        add(db, username="ZHANGSAN", org_id=org)
    assert auth(db, username="ZhangSan").ok


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"role": "nurse"}, "role"),
        ({"username": "a"}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "-dash"}, "username"),
        ({"org_id": None}, "organization_id"),
        ({"org_id": "no-such-org"}, "organization_id"),
        ({"practitioner_role_id": "no-such-role"}, "practitioner_role_id"),
    ],
)
def test_bad_accounts_are_refused_naming_the_field(db, org, kwargs, field):
    kwargs = {"org_id": org, **kwargs}
    with pytest.raises(BadRequest) as exc:
        add(db, **kwargs)
    assert exc.value.expression == (field,)
    with db.read() as conn:
        assert users.list_users(conn) == []


def test_deleted_organization_is_refused(db, org):
    t = resource_tables["Organization"]
    with db.write() as conn:
        conn.execute(update(t).where(t.c.fhir_id == org).values(deleted=True))
    with pytest.raises(BadRequest, match=f"Organization/{org}"):
        add(db, org_id=org)


def test_regulator_needs_no_organization(db):
    user = add(db, username="wjw-audit", role=REGULATOR)
    assert user.organization_id is None


def test_practitioner_role_must_be_at_the_users_organization(app, db, org):
    other = create(app, organization(name="江川县人民医院", code="H0002"))
    here = create(
        app, {"resourceType": "PractitionerRole", "organization": {"reference": f"Organization/{org}"}}
    )
    there = create(
        app, {"resourceType": "PractitionerRole", "organization": {"reference": f"Organization/{other}"}}
    )
    bound = add(db, org_id=org, practitioner_role_id=here)
    assert bound.practitioner_role_id == here
    assert users.principal_for(bound).extra["fhir_user"] == f"PractitionerRole/{here}"
    with pytest.raises(BadRequest, match="not Organization/"):
        add(db, username="lisi", org_id=org, practitioner_role_id=there)


@pytest.mark.parametrize(
    "password, problem",
    [
        ("Short-1", "at least 10"),
        ("alllowercaseletters", "two of"),
        ("12345678901234", "two of"),
        ("医联体转诊平台登录密码", "two of"),  # CJK alone is one class
        ("zhangsan-2026-ok", "user name"),
        ("x" * 257 + "1", "at most"),
    ],
)
def test_password_policy(password, problem):
    with pytest.raises(BadRequest, match=problem):
        users.check_password(password, "zhangsan")


@pytest.mark.parametrize(
    "password", ["Jiangchuan-2026", "jiangchuan2026", "转诊平台password", "correct horse battery"]
)
def test_password_policy_accepts(password):
    users.check_password(password, "zhangsan")


# ----- signing in -----


def test_success_resets_failures_and_sets_last_login(db, org):
    add(db, org_id=org)
    assert auth(db, "wrong-password-1").reason == "bad-credentials"
    assert get(db).failed_attempts == 1
    result = auth(db, now=NOW + timedelta(minutes=1))
    assert result.ok and result.reason == "ok" and result.user.username == "zhangsan"
    user = get(db)
    assert user.failed_attempts == 0 and user.last_login_at == NOW + timedelta(minutes=1)


def test_wrong_password_and_unknown_user_look_the_same(db, org, monkeypatch):
    add(db, org_id=org)
    calls = []
    real_verify = FAST.verify

    class Counting(PasswordHasher):
        def verify(self, hash, password):
            calls.append(hash)
            return real_verify(hash, password)

    monkeypatch.setattr(users, "HASHER", Counting(time_cost=1, memory_cost=64, parallelism=1))
    wrong = auth(db, "wrong-password-1")
    unknown = auth(db, PASSWORD, username="nobody")
    assert not wrong.ok and not unknown.ok
    assert wrong.message == unknown.message == users.MSG_BAD_CREDENTIALS
    assert "用户名或密码错误" in wrong.message and "Wrong user name or password" in wrong.message
    assert wrong.reason == unknown.reason == "bad-credentials"
    assert wrong.user is None and unknown.user is None
    # Both ran argon2 once: the unknown name against a dummy hash of the same parameters.
    assert len(calls) == 2 and calls[1].startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert auth(db, "", username="").reason == "bad-credentials"


def test_lockout_after_max_failures_even_the_right_password_until_it_expires(db, org):
    add(db, org_id=org)
    for i in range(2):
        assert auth(db, f"wrong-password-{i}", now=NOW + timedelta(seconds=i)).reason == "bad-credentials"
    third = auth(db, "wrong-password-3", now=NOW + timedelta(seconds=2))
    assert third.reason == "locked" and not third.ok
    assert third.locked_until == NOW + timedelta(seconds=902)
    assert "locked until 14:15" in third.message and "锁定至 14:15" in third.message  # Asia/Shanghai
    user = get(db)
    assert user.failed_attempts == 3 and user.locked_until == NOW + timedelta(seconds=902)
    # Locked: the right password is refused, and attempts neither count nor extend the lock.
    for minutes in (1, 10, 15):
        refused = auth(db, now=NOW + timedelta(minutes=minutes))
        assert refused.reason == "locked" and "locked until 14:15" in refused.message
    auth(db, "wrong-password-4", now=NOW + timedelta(minutes=5))
    assert get(db).locked_until == NOW + timedelta(seconds=902)
    # Expired: the right password works and clears everything.
    ok = auth(db, now=NOW + timedelta(seconds=903))
    assert ok.ok
    user = get(db)
    assert user.failed_attempts == 0 and user.locked_until is None


def test_a_lock_that_ran_out_starts_a_new_count(db, org):
    add(db, org_id=org)
    for i in range(3):
        auth(db, f"wrong-password-{i}")
    after = NOW + timedelta(hours=1)
    assert auth(db, "wrong-password-x", now=after).reason == "bad-credentials"
    assert get(db).failed_attempts == 1 and get(db).locked_until is None
    assert auth(db, "wrong-password-y", now=after).reason == "bad-credentials"
    assert auth(db, "wrong-password-z", now=after).reason == "locked"


def test_enable_clears_the_lock(db, org):
    add(db, org_id=org)
    for i in range(3):
        auth(db, f"wrong-password-{i}")
    assert auth(db, now=NOW + timedelta(minutes=1)).reason == "locked"
    with db.write() as conn:
        user = users.enable_user(conn, "zhangsan")
    assert user.locked_until is None and user.failed_attempts == 0 and user.enabled
    assert auth(db, now=NOW + timedelta(minutes=1)).ok


def test_disabled_account(db, org):
    add(db, org_id=org)
    with db.write() as conn:
        assert not users.disable_user(conn, "zhangsan").enabled
    right = auth(db)
    assert right.reason == "disabled" and "disabled" in right.message and "已停用" in right.message
    assert auth(db, "wrong-password-1").message == users.MSG_BAD_CREDENTIALS
    with db.write() as conn:
        users.enable_user(conn, "zhangsan")
    assert auth(db).ok


def test_rehash_when_the_parameters_change(db, org, monkeypatch):
    add(db, org_id=org)
    old = get(db).password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1)
    monkeypatch.setattr(users, "HASHER", stronger)
    first = auth(db)
    assert first.ok and first.rehashed
    new = get(db).password_hash
    assert new != old and new.startswith("$argon2id$v=19$m=128,t=2,p=1$")
    second = auth(db)
    assert second.ok and not second.rehashed and get(db).password_hash == new


def test_set_password(db, org):
    add(db, org_id=org)
    with db.write() as conn, pytest.raises(BadRequest):
        users.set_password(conn, "zhangsan", "short")
    with db.write() as conn:
        users.set_password(conn, "zhangsan", "Another-pass-99")
    assert not auth(db).ok
    assert auth(db, "Another-pass-99").ok
    with db.write() as conn, pytest.raises(NotFound):
        users.set_password(conn, "nobody", "Another-pass-99")


def test_authenticate_needs_an_aware_time(db):
    with pytest.raises(ValueError):
        auth(db, now=datetime(2026, 1, 1))


# ----- the principal -----

SCOPE = re.compile(r"^user/(\*|[A-Z][A-Za-z]+)\.c?r?u?d?s?$")


def test_principal_of_a_user(db, org):
    user = add(db, org_id=org)
    p = users.principal_for(user)
    assert (p.kind, p.id, p.organization, p.role) == ("user", "zhangsan", org, REFERRAL_DESK)
    assert p.name == "张医生"
    assert {"user/ServiceRequest.crus", "user/Task.crus", "user/Patient.rs"} <= set(p.scopes)
    assert p.extra["user_id"] == user.id


def test_role_scopes_are_smart_v2_and_nobody_deletes():
    for role in USER_ROLES:
        scopes = users.ROLE_SCOPES[role]
        assert scopes, role
        for s in scopes:
            assert SCOPE.match(s), s
            assert str(parse_scope(s)) == s
            assert s.split("/")[1].split(".")[0] in (*TYPES, "*"), s
            assert "d" not in s.split(".", 1)[1], s
    assert users.ROLE_SCOPES[REGULATOR] == ("user/*.rs",)
    assert "user/Task.crus" in users.ROLE_SCOPES[SPECIALIST]
    admin = set(users.ROLE_SCOPES["institution-admin"])
    assert "user/Patient.rs" not in admin and "user/Practitioner.crus" in admin


# ----- the command line -----


def run(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=["user", *args], input=input)
    assert "Traceback" not in result.output
    return result


def test_cli_add_list_disable_enable(app, db, org):
    r = run(
        app,
        "add",
        "--username",
        "lisi",
        "--name",
        "李医生",
        "--role",
        "specialist",
        "--organization",
        org,
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    assert "user lisi added (specialist" in r.output
    assert auth(db, username="lisi").ok
    listed = run(app, "list")
    assert listed.exit_code == 0 and "lisi" in listed.output and "李医生" in listed.output
    assert "active" in listed.output
    assert run(app, "disable", "lisi").exit_code == 0
    assert "disabled" in run(app, "list").output
    assert auth(db, username="lisi").reason == "disabled"
    assert run(app, "enable", "lisi").exit_code == 0
    assert auth(db, username="lisi").ok


def test_cli_prompts_twice_hidden(app, db, org):
    r = run(
        app,
        "add",
        "--username",
        "wangwu",
        "--name",
        "王医生",
        "--role",
        "family-doctor",
        "--organization",
        org,
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output  # hidden input is not echoed
    assert "Repeat password" in r.output
    assert auth(db, username="wangwu").ok


def test_cli_set_password(app, db, org):
    add(db, org_id=org)
    r = run(app, "set-password", "zhangsan", "--password-stdin", input="Another-pass-99\n")
    assert r.exit_code == 0, r.output
    assert auth(db, "Another-pass-99").ok
    weak = run(app, "set-password", "zhangsan", "--password-stdin", input="weak\n")
    assert weak.exit_code == 1 and "at least 10" in weak.output


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--role", "nurse"], PASSWORD, "unknown role"),
        (["--organization", "no-such-org"], PASSWORD, "no Organization/no-such-org"),
        ([], "short", "at least 10"),
        ([], "", "no password on standard input"),
        (["--username", "bad name"], PASSWORD, "user name"),
    ],
)
def test_cli_errors_are_one_line_exit_1(app, org, args, stdin, message):
    base = {"--username": "lisi", "--name": "李医生", "--role": "specialist", "--organization": org}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for kv in base.items() for x in kv]
    r = run(app, "add", *flat, "--password-stdin", input=stdin + "\n")
    assert r.exit_code == 1
    assert message in r.output
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_cli_duplicate_and_unknown_users(app, db, org):
    add(db, org_id=org)
    r = run(
        app,
        "add",
        "--username",
        "zhangsan",
        "--name",
        "张医生",
        "--role",
        "specialist",
        "--organization",
        org,
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 1 and "already taken" in r.output
    for cmd in ("disable", "enable", "set-password"):
        r = run(app, cmd, "nobody")
        assert r.exit_code == 1 and "no user 'nobody'" in r.output, cmd
