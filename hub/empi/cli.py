"""``flask --app wsgi empi reindex``: rebuild the EMPI index from the stored Patients."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup


def register_cli(app: Flask) -> None:
    group = AppGroup("empi", help="The master patient index.")

    @group.command("reindex")
    def reindex():
        """Rebuild the index of every current Patient (after a restore, or a change of normalisation)."""
        from hub.empi.index import reindex_all

        hub = current_app.extensions["xietong"]
        with hub.db.write() as conn:
            n = reindex_all(conn)
        click.echo(f"{n} patients indexed")

    app.cli.add_command(group)
