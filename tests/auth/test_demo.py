"""The demo clients of ``make run``: registered once per seeded institution, usable end to end."""

from __future__ import annotations

import json
import stat

import pytest

import hub.seed
from hub import create_app
from hub.api.auth import register
from hub.auth import clients, demo_token
from hub.auth.bearer import principal_from_token
from hub.auth.demo import DEMO_CLIENTS, demo_directory, ensure_demo_clients
from hub.auth.principal import system
from hub.fhir import transaction
from tests.conftest import make_config


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(make_config(database_url, INSTANCE_PATH=str(tmp_path / "instance")))
    if "auth" not in app.blueprints:
        register(app)
    clients.register_cli(app)
    yield app
    app.extensions["xietong"].db.dispose()


@pytest.fixture
def seeded(app):
    transaction.process(
        app.extensions["xietong"].fhir, system("seed"), hub.seed.demo_alliance_bundle(), "http://x/fhir"
    )
    return app


def test_ensure_demo_clients_is_idempotent(seeded, db, tmp_path):
    first = ensure_demo_clients(seeded)
    assert [r["name"] for r in first] == list(DEMO_CLIENTS)
    assert all(r["status"] == "registered" for r in first), first
    with db.read() as conn:
        registered = clients.list_clients(conn)
    assert len(registered) == len(DEMO_CLIENTS)
    by_name = {r["name"]: r for r in first}
    county = by_name["county-1"]
    assert county["role"] == "institution" and county["organization_name"] == "通海县人民医院"
    assert "system/Patient.crus" in county["scopes"] and "system/Organization.rs" in county["scopes"]
    assert by_name["regulator"]["role"] == "regulator" and by_name["regulator"]["scopes"] == "system/*.rs"
    assert by_name["regulator"]["organization"] is None
    assert len({r["organization"] for r in first if r["role"] == "institution"}) == 6

    folder = demo_directory(seeded.extensions["xietong"].config.INSTANCE_PATH)
    for name in DEMO_CLIENTS:
        private = folder / f"{name}.jwk.json"
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
        assert "d" in json.loads(private.read_text())
        public = json.loads((folder / f"{name}.jwks.json").read_text())
        assert "d" not in public["keys"][0] and public["keys"][0]["crv"] == "P-384"

    second = ensure_demo_clients(seeded)
    assert all(r["status"] == "present" for r in second)
    assert [r["client_id"] for r in second] == [r["client_id"] for r in first]
    with db.read() as conn:
        assert len(clients.list_clients(conn)) == len(DEMO_CLIENTS)


def test_organizations_are_found_by_identifier(seeded, db):
    rows = {r["name"]: r for r in ensure_demo_clients(seeded)}
    org = seeded.extensions["xietong"].fhir.read(
        system("t"), "Organization", rows["township-2"]["organization"]
    )
    assert org.resource()["name"] == "华宁县盘溪镇卫生院"


def test_without_seed_only_the_regulator_is_registered(app):
    rows = ensure_demo_clients(app)
    assert [r["name"] for r in rows if r["status"] == "registered"] == ["regulator"]
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert len(skipped) == 6 and "flask seed" in skipped[0]["reason"]


def test_lost_client_record_keeps_the_name_and_replaces_keys(seeded, db):
    first = {r["name"]: r for r in ensure_demo_clients(seeded)}
    folder = demo_directory(seeded.extensions["xietong"].config.INSTANCE_PATH)
    (folder / "county-1.client.json").unlink()
    (folder / "county-1.jwk.json").unlink()
    again = {r["name"]: r for r in ensure_demo_clients(seeded)}
    assert again["county-1"]["status"] == "keys replaced"
    assert again["county-1"]["client_id"] == first["county-1"]["client_id"]
    with db.read() as conn:
        assert len(clients.list_clients(conn)) == len(DEMO_CLIENTS)


def test_cli_demo_command(seeded):
    result = seeded.test_cli_runner().invoke(args=["client", "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "county-1" in result.output and "registered" in result.output
    result = seeded.test_cli_runner().invoke(args=["client", "demo"], catch_exceptions=False)
    assert "registered" not in result.output and "present" in result.output


def test_demo_token_end_to_end(seeded, live_server, db, capsys):
    ensure_demo_clients(seeded)
    instance = seeded.extensions["xietong"].config.INSTANCE_PATH
    assert demo_token.main(["county-1", "--url", live_server, "--instance", instance]) == 0
    token = capsys.readouterr().out.strip()
    keys = live_server.app.extensions["xietong_auth"].keys  # the live hub signed it
    principal = principal_from_token(db, keys, token, audience=f"{live_server}/fhir")
    assert principal.name.startswith("county-1") and principal.role == "institution"

    body = demo_token.get_token("regulator", live_server, instance, scope="system/AuditEvent.rs")
    assert body["scope"] == "system/AuditEvent.rs" and body["expires_in"] <= 300
    with pytest.raises(SystemExit, match="no demo client 'nobody'"):
        demo_token.get_token("nobody", live_server, instance)
    with pytest.raises(SystemExit, match="invalid_scope"):
        demo_token.get_token("regulator", live_server, instance, scope="system/Patient.cruds")
