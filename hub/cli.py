"""Command-line interface: ``flask --app wsgi db upgrade``, ``seed``, ``load``."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import click
import orjson
from flask import Flask, current_app
from flask.cli import AppGroup
from tqdm import tqdm

from hub import migrate
from hub.auth.principal import system
from hub.errors import HubError


def register_cli(app: Flask) -> None:
    from hub.auth.user_cli import register_cli as register_user_cli

    register_user_cli(app)
    db_cli = AppGroup("db", help="Database schema (Alembic migrations).")

    @db_cli.command("upgrade")
    @click.argument("revision", default="head")
    def upgrade(revision):
        """Migrate the database up to REVISION (default: head)."""
        migrate.upgrade(_hub().config.DATABASE_URL, revision)
        click.echo(f"database at {revision}")

    @db_cli.command("downgrade")
    @click.argument("revision")
    def downgrade(revision):
        """Migrate the database down to REVISION ('base' removes every table)."""
        migrate.downgrade(_hub().config.DATABASE_URL, revision)
        click.echo(f"database at {revision}")

    @db_cli.command("current")
    def current():
        """Show the database's migration revision."""
        migrate.current(_hub().config.DATABASE_URL)

    app.cli.add_command(db_cli)

    @app.cli.command("seed")
    def seed():
        """Load the demo alliance (idempotent: running it again creates nothing twice)."""
        from hub.seed import demo_alliance_bundle

        result = _post_bundle(demo_alliance_bundle(today=datetime.date.today()))
        created = sum(1 for e in result["entry"] if e["response"]["status"].startswith("201"))
        click.echo(
            f"demo alliance: {created} resources created, {len(result['entry']) - created} already present"
        )

    @app.cli.command("load")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
    def load(paths):
        """Post FHIR transaction or batch Bundles (files, or folders of *.json) to the store."""
        files = [p for path in paths for p in (sorted(path.glob("*.json")) if path.is_dir() else [path])]
        failed = 0
        for f in tqdm(files, unit="bundle", disable=not sys.stderr.isatty()):
            try:
                _post_bundle(orjson.loads(f.read_bytes()))
            except (HubError, orjson.JSONDecodeError) as exc:
                failed += 1
                click.echo(f"{f}: {exc}", err=True)
        click.echo(f"{len(files) - failed} bundles loaded, {failed} refused")
        if failed:
            sys.exit(1)


def _hub():
    return current_app.extensions["xietong"]


def _post_bundle(bundle: dict) -> dict:
    from hub.fhir import bundles, transaction

    return orjson.loads(bundles.dumps(transaction.process(_hub().fhir, system("cli"), bundle, "urn:cli")))
