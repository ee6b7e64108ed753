"""``flask ingest ...``: bulk intake of files and folders, the mappings, and the quarantine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from tqdm import tqdm

from adapters.mapping import load_all
from hub.errors import HubError

from . import service

SUFFIXES = {
    "fhir": (".json", ".ndjson"),
    "hl7v2": (".hl7", ".txt", ".er7", ".hl7v2"),
    "csv": (".csv", ".txt"),
}


# One process stores; the others (at most 4) translate the pieces ahead of it (``hub.ingest.translators``).
DEFAULT_TRANSLATORS = min(max((os.cpu_count() or 1) - 1, 0), 4)


def _files(paths: tuple[Path, ...], fmt: str) -> list[Path]:
    out = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES[fmt])
        else:
            out.append(path)
    return out


def register_cli(app: Flask) -> None:
    group = AppGroup("ingest", help="Adapter intake: files and folders, mappings, the quarantine.")

    @group.command("run")
    @click.argument("institution")
    @click.argument("fmt", type=click.Choice(sorted(service.ADAPTERS)))
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
    @click.option(
        "--translators",
        type=click.IntRange(0, 16),
        default=DEFAULT_TRANSLATORS,
        show_default=True,
        help="Processes that parse, map and validate the pieces of a large file while this one "
        "stores (0: all in this process).",
    )
    def run(institution, fmt, paths, translators):
        """Ingest files or folders for INSTITUTION (a mapping key such as tonghai-county, or an
        Organization id). Running the same files again stores nothing twice."""
        hub = current_app.extensions["xietong"]
        try:
            intake = service.Intake(hub, institution, translators=translators)
        except HubError as exc:
            raise click.ClickException(str(exc)) from None
        service.freeze_startup_heap()
        files = _files(paths, fmt)
        bar = tqdm(total=len(files), unit="file", disable=None, file=sys.stderr)

        def payloads():  # read as the intake reaches them: a file counts once it is read
            for f in files:
                yield f.read_bytes(), str(f)
                bar.update()

        def progress(summary):
            r = summary.results[-1]
            if r.outcome == "quarantined":
                bar.write(
                    f"quarantined #{r.quarantine_id} {r.source}: [{r.stage}] {r.element or ''} {r.reason}"
                )
            bar.set_postfix(stored=summary.stored, quarantined=summary.quarantined, refresh=False)

        with intake:
            total = intake.run_files(fmt, payloads(), progress)
        bar.close()
        click.echo(
            f"{len(files)} files: {total.read} read, {total.stored} stored ({total.records} records), "
            f"{total.duplicate} already stored, {total.linked} linked to known patients, "
            f"{total.new_patients} new patients, {total.review} for review, {total.quarantined} quarantined"
        )
        for (system, code), n in sorted(total.unmapped.items()):
            click.echo(f"unmapped code {system}|{code}: {n}")

    @group.command("mappings")
    @click.option("--reload", is_flag=True, help="Replace the stored ConceptMaps with the files' versions.")
    def mappings(reload):
        """Store every institution's code maps as ConceptMaps (readable at /fhir/ConceptMap)."""
        hub = current_app.extensions["xietong"]
        for key in load_all():
            try:
                _, m = service.find_institution(hub, key)
            except HubError as exc:
                click.echo(f"{key}: skipped ({exc})")
                continue
            service.load_code_maps(hub, m, reload=reload)
            click.echo(f"{key}: {len(m.code_maps)} ConceptMaps " + ("reloaded" if reload else "stored"))

    @group.command("quarantine")
    @click.argument("institution", required=False)
    @click.option("--status", default="open", help="open, replayed, discarded or all")
    def quarantine(institution, status):
        """List the quarantine (of one institution, or of all)."""
        hub = current_app.extensions["xietong"]
        org = service.find_institution(hub, institution)[0] if institution else None
        for e in service.list_quarantine(hub, org, None if status == "all" else status, limit=10_000):
            where = f"[{e['stage']}] {e['element'] or ''}"
            click.echo(f"#{e['id']} {e['status']} {e['format']} {e['source']} {where}: {e['reason']}")

    @group.command("replay")
    @click.argument("ids", nargs=-1, type=int)
    @click.option("--institution", help="Replay every open entry of this institution.")
    def replay(ids, institution):
        """Replay quarantined entries with the institution's current mapping."""
        hub = current_app.extensions["xietong"]
        if institution:
            org = service.find_institution(hub, institution)[0]
            ids = [e["id"] for e in service.list_quarantine(hub, org, "open", limit=100_000)]
        done = 0
        for qid in ids:
            r = service.replay(hub, qid)
            done += r.outcome == "stored"
            click.echo(
                f"#{qid}: {r.outcome}" + (f" [{r.stage}] {r.element or ''} {r.reason}" if r.reason else "")
            )
        click.echo(f"{done} of {len(ids)} replayed and stored")

    @group.command("mllp")
    @click.argument("institution")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=2575, show_default=True, type=int)
    def mllp(institution, host, port):
        """Listen for INSTITUTION's HL7 v2 messages over MLLP and answer each with its ACK."""
        from .mllp import MllpServer

        server = MllpServer(current_app.extensions["xietong"], institution, (host, port))
        service.freeze_startup_heap()
        click.echo(f"MLLP for {institution} on {host}:{server.server_address[1]}")
        try:
            server.serve_forever()
        finally:
            server.server_close()

    app.cli.add_command(group)
