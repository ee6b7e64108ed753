"""``flask --app wsgi audit verify | checkpoint [--day YYYY-MM-DD] | export-checkpoints FILE``."""

from __future__ import annotations

import sys
import time as time_mod
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
import orjson
from flask import Flask, current_app
from flask.cli import AppGroup

from hub.audit import chain
from hub.fhir import dates


def register_cli(app: Flask) -> None:
    audit_cli = AppGroup("audit", help="The audit trail: verify the hash chain, sign and export checkpoints.")

    @audit_cli.command("verify")
    @click.option("--from-seq", default=1, show_default=True, help="Start the walk at this seq.")
    def verify_cmd(from_seq: int):
        """Recompute the chain and check the checkpoints' signatures; exit 1 if anything is broken."""
        db = _db()
        with chain.snapshot(db) as conn:
            result = chain.verify(conn, from_seq)
            cps = chain.list_checkpoints(conn)
        out = {**result.as_dict(), "checked_at": dates.instant(dates.now_utc())}
        keys = _keys(create=False)
        bad = []
        if keys is not None:
            check = chain.jws_verifier(keys.public_jwks())
            bad = [cp["day"] for cp in cps if not chain.verify_checkpoint(cp, check)]
            out["checkpoints"] = len(cps)
            out["checkpoints_not_verifying"] = bad
        click.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        if not result.ok or bad:
            sys.exit(1)

    @audit_cli.command("chain")
    @click.option("--follow", is_flag=True, help="Keep linking new events as they arrive.")
    @click.option("--interval", default=1.0, show_default=True, help="Seconds between looks, with --follow.")
    def chain_cmd(follow: bool, interval: float):
        """Link AuditEvents waiting to be chained (fit for cron; the hub processes also do it)."""
        from hub.audit.chainer import Chainer

        chainer = Chainer(_db(), interval)
        linked = chainer.run_once()
        click.echo(f"{linked} AuditEvents chained")
        if not follow:
            return
        try:
            while True:
                time_mod.sleep(interval)
                n = chainer.run_once()
                if n:
                    click.echo(f"{n} AuditEvents chained")
        except KeyboardInterrupt:
            pass

    @audit_cli.command("checkpoint")
    @click.option("--day", default=None, help="The UTC day to close (YYYY-MM-DD); default: yesterday (UTC).")
    def checkpoint_cmd(day: str | None):
        """Sign and store the checkpoint of a day (the chain's head as of the end of that UTC day)."""
        try:
            when = date.fromisoformat(day) if day else datetime.now(UTC).date() - timedelta(days=1)
        except ValueError:
            raise click.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--day") from None
        db = _db()
        keys = _keys(create=True)
        try:
            with db.write() as conn:
                cp = chain.checkpoint(db, conn, when, keys.sign)
        except (ValueError, chain.AuditChainError) as exc:
            click.echo(f"no checkpoint: {exc}", err=True)
            sys.exit(1)
        click.echo(orjson.dumps(cp, option=orjson.OPT_INDENT_2).decode())

    @audit_cli.command("export-checkpoints")
    @click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
    @click.option("--since", default=None, help="Only checkpoints of this day (YYYY-MM-DD) and later.")
    def export_cmd(file: Path, since: str | None):
        """Write every checkpoint (with its JWS) and the hub's public JWKS to FILE (JSON)."""
        with _db().read() as conn:
            cps = chain.list_checkpoints(conn, since)
        keys = _keys(create=False)
        doc = {
            "exported_at": dates.instant(dates.now_utc()),
            "jwks": keys.public_jwks() if keys is not None else None,
            "checkpoints": cps,
        }
        file.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        click.echo(f"{len(cps)} checkpoints written to {file}")

    app.cli.add_command(audit_cli)


def _db():
    return current_app.extensions["xietong"].db


def _keys(create: bool):
    """The hub signing key: ``app.extensions["xietong_keys"]``, else loaded from the instance folder
    (created there if ``create``; without it, None when there is no key yet)."""
    keys = current_app.extensions.get("xietong_keys")
    if keys is not None:
        return keys
    from hub.auth.keys import KEY_FILE, HubKeys

    instance = current_app.extensions["xietong"].config.INSTANCE_PATH
    if not create and not (Path(instance) / "keys" / KEY_FILE).exists():
        return None
    return HubKeys.load(instance)
