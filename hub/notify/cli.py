"""``flask notify worker`` (the delivery worker) and ``flask notify topics`` (store the topics)."""

from __future__ import annotations

import signal

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from hub.auth.principal import system
from hub.notify import topics


def register_cli(app: Flask) -> None:
    notify = AppGroup("notify", help="Notifications: topic-based Subscriptions and their delivery.")

    @notify.command("worker")
    @click.option("--threads", type=int, default=None, help="deliveries in parallel (default: config)")
    def worker(threads):
        """Deliver notifications until stopped (SIGINT/SIGTERM). Run as many as you like."""
        from dataclasses import replace

        from hub.notify.delivery import Settings, Worker

        hub = current_app.extensions["xietong"]
        settings = Settings.of(hub.config)
        if threads:
            settings = replace(settings, threads=threads)
        w = Worker(hub.db, settings)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: w.stop(0))
        click.echo(f"delivering notifications ({settings.threads} in parallel); stop with Ctrl-C")
        w.run()

    @notify.command("topics")
    def store_topics():
        """Store the hub's SubscriptionTopics (idempotent), so that clients can read and search them."""
        n = load_topics(current_app.extensions["xietong"])
        click.echo(f"{n} SubscriptionTopic(s) stored")

    @notify.command("prune")
    @click.option("--days", type=click.IntRange(min=1), default=90, show_default=True)
    def prune(days):
        """Delete what every subscription has acknowledged, older than DAYS (fit for cron)."""
        from hub.notify.retention import prune as prune_outbox

        deliveries, events = prune_outbox(current_app.extensions["xietong"].db, days)
        click.echo(f"pruned {deliveries} acknowledged deliveries and {events} events older than {days} days")

    app.cli.add_command(notify)


def load_topics(hub) -> int:
    """Create or update each topic under its own id (a PUT per topic: running it again changes nothing
    but the version)."""
    for topic in topics.topics().values():
        res = dict(topic.resource)
        hub.fhir.update(system("notify-topics"), "SubscriptionTopic", res["id"], res)
    return len(topics.topics())
