"""``flask client add|disable|enable|rotate-key|list``, and the registry's validation."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwk

from hub import create_app
from hub.auth import clients
from hub.auth.principal import system
from tests.conftest import make_config
from tests.factories import organization


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(make_config(database_url, INSTANCE_PATH=str(tmp_path / "instance")))
    clients.register_cli(app)
    yield app
    app.extensions["xietong"].db.dispose()


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=["client", *args], catch_exceptions=False)

    return run


@pytest.fixture
def org_id(app):
    stored, _ = app.extensions["xietong"].fhir.create(system("test"), "Organization", organization())
    return stored.id


def key_file(tmp_path, name="k", key=None) -> tuple[str, jwk.Key]:
    key = key or jwk.ECKey.generate_key("P-384", private=True, auto_kid=True)
    path = tmp_path / f"{name}.jwks.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    return str(path), key


def _b64int(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def one_line_error(result, text):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert text in lines[0], lines[0]


def test_add_list_disable_enable_rotate(cli, db, org_id, tmp_path):
    path, _ = key_file(tmp_path)
    result = cli(
        "add",
        "--name",
        "通海县人民医院 HIS",
        "--organization",
        org_id,
        "--scopes",
        "system/Patient.read system/Observation.crus",
        "--jwks",
        path,
    )
    assert result.exit_code == 0, result.output
    client_id = result.output.strip()
    assert len(client_id) >= 22 and client_id.replace("-", "").replace("_", "").isalnum()
    with db.read() as conn:
        c = clients.get_client(conn, client_id)
    assert c.name == "通海县人民医院 HIS" and c.organization_id == org_id and c.role == "institution"
    assert c.scope_text == "system/Patient.rs system/Observation.crus" and c.enabled
    assert c.jwks["keys"][0]["kty"] == "EC" and c.jwks_url is None

    url = "https://regulator.yuxi.example/jwks.json"
    result = cli(
        "add", "--name", "卫健委监管", "--role", "regulator", "--scopes", "system/*.rs", "--jwks", url
    )
    assert result.exit_code == 0, result.output
    regulator_id = result.output.strip()

    listing = cli("list")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split() == ["CLIENT_ID", "NAME", "ROLE", "ORGANIZATION", "STATUS", "KEYS", "SCOPES"]
    assert any(client_id in ln and "institution" in ln and "inline (1 keys)" in ln for ln in lines)
    assert any(regulator_id in ln and url in ln and "system/*.rs" in ln for ln in lines)

    assert cli("disable", client_id).exit_code == 0
    assert "disabled" in next(ln for ln in cli("list").output.splitlines() if client_id in ln)
    with db.read() as conn:
        assert not clients.get_client(conn, client_id).enabled
    assert cli("enable", client_id).exit_code == 0
    with db.read() as conn:
        assert clients.get_client(conn, client_id).enabled

    new_path, new_key = key_file(tmp_path, "new", jwk.RSAKey.generate_key(2048, private=True, auto_kid=True))
    assert cli("rotate-key", client_id, "--jwks", new_path).exit_code == 0
    with db.read() as conn:
        assert clients.get_client(conn, client_id).jwks["keys"][0]["kid"] == new_key.kid
    assert cli("rotate-key", regulator_id, "--jwks", new_path).exit_code == 0
    with db.read() as conn:
        rotated = clients.get_client(conn, regulator_id)
    assert rotated.jwks_url is None and rotated.jwks["keys"][0]["kid"] == new_key.kid


def test_empty_list(cli):
    assert "no clients registered" in cli("list").output


def test_add_inline_json(cli, org_id):
    key = jwk.ECKey.generate_key("P-384", private=True, auto_kid=True)
    inline = json.dumps({"keys": [key.as_dict(private=False)]})
    result = cli(
        "add", "--name", "x", "--organization", org_id, "--scopes", "system/Task.cruds", "--jwks", inline
    )
    assert result.exit_code == 0, result.output


def test_add_refusals(cli, org_id, tmp_path):
    path, _ = key_file(tmp_path)

    def add(*extra, scopes="system/Patient.rs", jwks=path, org=org_id):
        args = ["add", "--name", "adapter", "--scopes", scopes, "--jwks", jwks]
        if org is not None:
            args += ["--organization", org]
        return cli(*args, *extra)

    one_line_error(add(org="no-such-org"), "there is no Organization/no-such-org")
    one_line_error(add(org=None), "needs --organization")
    one_line_error(add(scopes="system/Patient.dus"), "not a permission suffix")
    one_line_error(add(scopes="user/Patient.rs"), "system/ scopes only")
    one_line_error(add(scopes="system/Unicorn.rs"), "not a resource type")
    one_line_error(add(scopes=" "), "at least one scope")
    one_line_error(add("--role", "regulator", scopes="system/*.cruds", org=None), "reads and searches only")
    one_line_error(add(jwks=str(tmp_path / "missing.json")), "cannot read the JWKS file")
    one_line_error(add(jwks="ftp://x/jwks"), "cannot read the JWKS file")
    one_line_error(add(jwks="{not json"), "is not JSON")

    def keys(*entries):
        p = tmp_path / "bad.json"
        p.write_text(json.dumps({"keys": list(entries)}))
        return str(p)

    ec = jwk.ECKey.generate_key("P-384", private=True, auto_kid=True)
    one_line_error(add(jwks=keys(ec.as_dict(private=True))), "private key material")
    one_line_error(
        add(jwks=keys({k: v for k, v in ec.as_dict(private=False).items() if k != "kid"})), "no 'kid'"
    )
    p256 = jwk.ECKey.generate_key("P-256", private=True, auto_kid=True)
    one_line_error(add(jwks=keys(p256.as_dict(private=False))), "must be P-384")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()
    rsa1024 = {"kty": "RSA", "kid": "small", "n": _b64int(small.n), "e": _b64int(small.e)}
    one_line_error(add(jwks=keys(rsa1024)), "RSA key of 1024 bits; at least 2048")
    oct_key = jwk.OctKey.generate_key(256, auto_kid=True)
    one_line_error(add(jwks=keys(oct_key.as_dict(private=False))), "only RSA and EC P-384")
    one_line_error(
        add(jwks=keys(ec.as_dict(private=False), ec.as_dict(private=False))), "two keys have the kid"
    )
    one_line_error(add(jwks=keys()), "non-empty 'keys'")
    single = tmp_path / "single.json"
    single.write_text(json.dumps(ec.as_dict(private=False)))
    one_line_error(add(jwks=str(single)), "single JWK")


def test_unknown_client_ids(cli, tmp_path):
    path, _ = key_file(tmp_path)
    one_line_error(cli("disable", "nope"), "there is no client 'nope'")
    one_line_error(cli("enable", "nope"), "there is no client 'nope'")
    one_line_error(cli("rotate-key", "nope", "--jwks", path), "there is no client 'nope'")


def test_unmigrated_database_is_a_clear_error(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'empty.sqlite'}", INSTANCE_PATH=str(tmp_path)))
    try:
        clients.register_cli(app)
        result = app.test_cli_runner().invoke(args=["client", "list"], catch_exceptions=False)
        one_line_error(result, "flask db upgrade")
    finally:
        app.extensions["xietong"].db.dispose()


def test_register_cli_is_idempotent(app):
    clients.register_cli(app)
    assert "client" in app.cli.commands


def test_client_ids_never_start_with_a_dash():
    """A client id is passed to `client disable/rotate` on a command line: a leading "-" would make
    it an option (it happened: secrets.token_urlsafe draws "-" one time in 64)."""
    from hub.auth.clients import new_client_id

    assert not any(new_client_id().startswith("-") for _ in range(5000))
