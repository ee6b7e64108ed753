"""The chainer: a background thread that links waiting AuditEvents into the chain (``link_pending``).

Each hub process that serves requests runs one (``wsgi.py`` starts it); several processes take turns
on the chain head's lock, so running one per process is safe. A process that stops with events
waiting loses nothing: they stay in ``audit_pending`` until the next chainer, or
``flask audit chain``, links them.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from hub.audit.chain import link_pending
from hub.db import Database

log = logging.getLogger(__name__)


class Chainer:
    def __init__(self, db: Database, interval: float):
        self.db = db
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Link until nothing is waiting; the number linked."""
        total = 0
        while n := link_pending(self.db):
            total += n
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a lost connection or a lock timeout: try again at the next tick
                log.exception("audit chainer: linking failed; will retry")
            self._stop.wait(self.interval)

    def start(self) -> Chainer:
        self._thread = threading.Thread(target=self._loop, name="audit-chainer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def start_chainer(app: Flask) -> None:
    """Have this process run a chainer once it serves its first request (so that commands such as
    ``flask db upgrade``, which load the same app, start none), unless ``AUDIT_CHAIN_INTERVAL_MS`` is 0:
    then a separate ``flask audit chain --follow`` must run."""
    hub = app.extensions["xietong"]
    interval_ms = hub.config.AUDIT_CHAIN_INTERVAL_MS
    if interval_ms <= 0:
        return
    lock = threading.Lock()

    @app.before_request
    def _start_chainer_once():
        if "xietong_chainer" in app.extensions:
            return
        with lock:
            if "xietong_chainer" not in app.extensions:
                app.extensions["xietong_chainer"] = Chainer(hub.db, interval_ms / 1000).start()
