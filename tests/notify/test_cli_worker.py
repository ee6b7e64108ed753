"""The CLI worker (``flask notify worker``) as a process of its own, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, TEST_INSTANCE
from tests.notify.conftest import subscription, wait_until


def test_the_cli_worker_delivers_and_stops_on_sigterm(database_url, alliance, tasks, receiver):
    r = alliance["call"]("b", "POST", "/fhir/Subscription", json=subscription(receiver.url))
    sub = r.get_json()["id"]
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        INSTANCE_PATH=TEST_INSTANCE,
        PUBLIC_BASE_URL="http://localhost",
        NOTIFY_RETRY_BASE_MS="20",
        NOTIFY_POLL_MS="20",
        PYTHONPATH=str(ROOT),
    )
    flask = str(Path(sys.executable).parent / "flask")
    proc = subprocess.Popen(
        [flask, "--app", "wsgi", "notify", "worker", "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        tid = tasks.create("requested")
        tasks.set(tid, "accepted")
        wait_until(
            lambda: [e[1:] for e in receiver.events(sub)] == [(tid, 1), (tid, 2)], "the CLI worker delivered"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    assert b"delivering notifications" in out
