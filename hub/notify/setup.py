"""Wiring into the app: the $operations, the CLI, and the in-process worker when configured."""

from __future__ import annotations

import atexit

from flask import Flask


def register(app: Flask) -> None:
    from hub.notify import operations  # noqa: F401  (registers $status and $events)
    from hub.notify.cli import register_cli

    register_cli(app)
    hub = app.extensions["xietong"]
    if hub.config.NOTIFY_IN_PROCESS:
        from hub.notify.delivery import Settings, Worker

        worker = Worker(hub.db, Settings.of(hub.config)).start()
        app.extensions["xietong_notify"] = worker
        atexit.register(worker.stop, 5)
