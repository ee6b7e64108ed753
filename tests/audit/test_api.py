"""``/audit/verify`` and ``/audit/checkpoints`` (regulators only), the login hook, and the CLI."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import g, request
from sqlalchemy import text

from hub.audit import api, chain
from hub.audit.chainer import Chainer, start_chainer
from hub.audit.cli import register_cli
from tests.audit import CLIENT, REGULATOR, LocalSigner, append_events, sample_event
from tests.conftest import scalar

PRINCIPALS = {"regulator": REGULATOR, "institution": CLIENT}


@pytest.fixture
def audit_app(app):
    """The app with the audit blueprint and CLI, a test signer as the hub key, and a stand-in for
    authentication: ``X-Test-Principal: regulator|institution`` sets ``g.principal``."""
    api.register(app)
    register_cli(app)
    app.extensions["xietong_keys"] = LocalSigner()

    @app.before_request
    def _principal():
        who = request.headers.get("X-Test-Principal")
        if who:
            g.principal = PRINCIPALS[who]

    return app


@pytest.fixture
def audit_client(audit_app):
    return audit_app.test_client()


def as_(who: str) -> dict:
    return {"X-Test-Principal": who}


def test_regulator_verifies_the_chain(audit_client, db):
    r = audit_client.get("/audit/verify", headers=as_("regulator"))
    assert r.status_code == 200 and r.get_json()["ok"] is True and r.get_json()["checked"] == 0
    append_events(db, 7)
    body = audit_client.get("/audit/verify", headers=as_("regulator")).get_json()
    assert {k: body[k] for k in ("ok", "checked", "head_seq", "first_broken_seq", "reason")} == {
        "ok": True,
        "checked": 7,
        "head_seq": 7,
        "first_broken_seq": None,
        "reason": None,
    }
    assert body["checked_at"].endswith("Z")
    part = audit_client.get("/audit/verify?from_seq=5", headers=as_("regulator")).get_json()
    assert (part["ok"], part["checked"]) == (True, 3)
    bad = audit_client.get("/audit/verify?from_seq=-1", headers=as_("regulator"))
    assert bad.status_code == 400 and bad.get_json()["issue"][0]["expression"] == ["from_seq"]
    assert audit_client.get("/audit/verify?from_seq=9", headers=as_("regulator")).status_code == 400
    assert audit_client.get("/audit/verify?from_seq=8", headers=as_("regulator")).get_json()["ok"] is True


def test_a_broken_chain_is_still_a_200_naming_the_link(audit_client, db):
    append_events(db, 5)
    with db.write() as conn:
        conn.execute(text("UPDATE audit_head SET seq = 2 WHERE id = 1"))
    r = audit_client.get("/audit/verify", headers=as_("regulator"))
    assert r.status_code == 200
    assert (r.get_json()["ok"], r.get_json()["first_broken_seq"]) == (False, 3)


def test_regulator_exports_checkpoints(audit_app, audit_client, db):
    append_events(db, 3)
    signer = audit_app.extensions["xietong_keys"]
    today = datetime.now(UTC).date()
    with db.write() as conn:
        chain.checkpoint(db, conn, today, signer.sign, now=datetime.now(UTC) + timedelta(days=1))
    r = audit_client.get("/audit/checkpoints", headers=as_("regulator"))
    assert r.status_code == 200
    (cp,) = r.get_json()
    assert (cp["day"], cp["seq"], cp["signature_valid"]) == (today.isoformat(), 3, True)
    assert chain.verify_checkpoint(cp, chain.jws_verifier(signer.public_jwks()))
    later = audit_client.get(
        f"/audit/checkpoints?since={today + timedelta(days=1)}", headers=as_("regulator")
    )
    assert later.get_json() == []
    bad = audit_client.get("/audit/checkpoints?since=yesterday", headers=as_("regulator"))
    assert bad.status_code == 400 and bad.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("path", ["/audit/verify", "/audit/checkpoints"])
def test_others_are_refused(audit_client, path):
    r = audit_client.get(path, headers=as_("institution"))
    assert r.status_code == 403
    assert r.get_json()["resourceType"] == "OperationOutcome"
    assert r.get_json()["issue"][0]["code"] == "forbidden"
    r = audit_client.get(path)
    assert r.status_code == 401
    assert r.get_json()["issue"][0]["code"] == "login"


def test_login_hook_chains_sign_ins(db):
    hook = api.LoginAudit(db, "https://hub.example.org")
    with db.write() as conn:
        detail = {"username": "li.na", "organization": "org-1", "role": "specialist", "reason": "ok"}
        hook.on_event("login-succeeded", {**detail, "remote_addr": "10.0.0.9", "conn": conn})
        hook.on_event(
            "login-failed", {**detail, "reason": "bad password", "remote_addr": "10.0.0.9", "conn": conn}
        )
        hook.on_event("logout", {**detail, "conn": conn})
    with db.read() as conn:
        bodies = [json.loads(b) for (b,) in conn.execute(text("SELECT body FROM res_auditevent"))]
    assert sorted((b["subtype"][0]["code"], b["outcome"]) for b in bodies) == [
        ("110122", "0"),
        ("110122", "4"),
        ("110123", "0"),
    ]
    assert scalar(db, "SELECT count(DISTINCT tenant) FROM res_auditevent") == 1
    assert chain.link_all(db) == 3
    with chain.snapshot(db) as conn:
        assert chain.verify(conn).checked == 3


def test_cli_verify_checkpoint_and_export(audit_app, db, tmp_path):
    runner = audit_app.test_cli_runner()
    append_events(db, 4)
    r = runner.invoke(args=["audit", "verify"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert (out["ok"], out["checked"], out["checkpoints"]) == (True, 4, 0)

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    r = runner.invoke(args=["audit", "checkpoint"])  # default: yesterday (UTC), before any event
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["day"] == yesterday.isoformat() and json.loads(r.output)["seq"] == 0
    r = runner.invoke(args=["audit", "checkpoint", "--day", datetime.now(UTC).date().isoformat()])
    assert r.exit_code == 1 and "has not ended" in r.output
    r = runner.invoke(args=["audit", "checkpoint", "--day", "22/11/2026"])
    assert r.exit_code == 2

    target = tmp_path / "checkpoints.json"
    r = runner.invoke(args=["audit", "export-checkpoints", str(target)])
    assert r.exit_code == 0 and "1 checkpoints" in r.output
    doc = json.loads(target.read_text())
    (cp,) = doc["checkpoints"]
    assert chain.verify_checkpoint(cp, chain.jws_verifier(doc["jwks"]))

    with db.write() as conn:
        conn.execute(text("UPDATE audit_head SET entry_hash = :h"), {"h": "b" * 64})
    r = runner.invoke(args=["audit", "verify"])
    assert r.exit_code == 1 and json.loads(r.output)["ok"] is False


def test_cli_chain_links_what_is_waiting(audit_app, db):
    runner = audit_app.test_cli_runner()
    append_events(db, 3, link=False)
    r = runner.invoke(args=["audit", "verify"])
    assert r.exit_code == 0 and (json.loads(r.output)["checked"], json.loads(r.output)["pending"]) == (0, 3)
    r = runner.invoke(args=["audit", "chain"])
    assert r.exit_code == 0 and "3 AuditEvents chained" in r.output
    r = runner.invoke(args=["audit", "verify"])
    assert (json.loads(r.output)["checked"], json.loads(r.output)["pending"]) == (3, 0)


def test_the_background_chainer_links_events_as_they_arrive(audit_app, db):
    """The thread each hub process runs (``wsgi.py`` starts it): events written while it runs end up
    chained, with nobody calling it; stopping it leaves nothing half-linked."""
    chainer = Chainer(db, 0.02).start()
    try:
        append_events(db, 5, link=False)
        with db.write() as conn:
            chain.append(db, conn, sample_event(50))
        deadline = time.monotonic() + 30  # a bound on the wait, not a speed requirement
        while scalar(db, "SELECT count(*) FROM audit_pending") and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        chainer.stop()
    assert scalar(db, "SELECT count(*) FROM audit_pending") == 0
    with chain.snapshot(db) as conn:
        assert chain.verify(conn) == chain.VerifyResult(True, 6, 6, None, None)


def test_cli_verify_fails_on_a_forged_checkpoint(audit_app, db):
    append_events(db, 2)
    forger = LocalSigner()  # not the hub's key
    with db.write() as conn:
        chain.checkpoint(
            db, conn, datetime.now(UTC).date(), forger.sign, now=datetime.now(UTC) + timedelta(days=1)
        )
    r = audit_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    out = json.loads(r.output)
    assert out["ok"] is True and out["checkpoints_not_verifying"] == [datetime.now(UTC).date().isoformat()]


def test_the_served_app_starts_its_chainer_at_its_first_request_not_before(app, db):
    """``wsgi.py`` calls ``start_chainer``: commands that load the app (``flask db upgrade``) run no
    chainer; the first request starts one, which then links what commands left waiting."""
    append_events(db, 2, link=False)
    start_chainer(app)
    assert "xietong_chainer" not in app.extensions
    app.test_client().get("/fhir/metadata")
    chainer = app.extensions["xietong_chainer"]
    try:
        deadline = time.monotonic() + 30  # a bound on the wait, not a speed requirement
        while scalar(db, "SELECT count(*) FROM audit_pending") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert scalar(db, "SELECT count(*) FROM audit_pending") == 0
        app.test_client().get("/fhir/metadata")
        assert app.extensions["xietong_chainer"] is chainer  # one per process
    finally:
        chainer.stop()
