"""Referral clocks: overdue acknowledgement and acceptance escalate, the clock pauses while
awaiting information, and a referral nobody acted on expires; the check runs from cron."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.config import Config, ConfigError
from hub.fhir.dates import now_utc
from hub.referrals.timers import tick
from tests.conftest import scalar
from tests.referrals.conftest import BUSINESS


def _business(task: dict) -> str | None:
    return (task.get("businessStatus") or {"coding": [{}]})["coding"][0].get("code")


def _desk_messages(x, task: str) -> list[dict]:
    r = x.call("t", "GET", f"/fhir/Communication?part-of=Task/{task}&recipient=Organization/{x.orgs['t']}")
    return [e["resource"] for e in r.get_json().get("entry", [])]


def test_overdue_referrals_escalate_once(three):
    x = three
    hub = x.app.extensions["xietong"]
    _, task = x.refer("c", "t", priority="urgent")  # urgent: 4 h to open, 24 h to accept
    start = now_utc()
    assert tick(hub, start + timedelta(hours=3)).as_dict() == {
        "expired": 0,
        "overdue_acknowledge": 0,
        "overdue_accept": 0,
    }
    result = tick(hub, start + timedelta(hours=5))
    assert result.overdue_acknowledge == [task]
    t = x.read("c", task)
    assert t["businessStatus"]["coding"][0]["system"] == BUSINESS and _business(t) == "overdue-acknowledge"
    assert tick(hub, start + timedelta(hours=5)).overdue_acknowledge == []  # once
    # The desk opens it: acknowledged at last; then acceptance runs late.
    assert x.read("t", task)["status"] == "received"
    assert _business(x.read("t", task)) is None
    messages = _desk_messages(x, task)
    assert len(messages) == 1 and messages[0]["priority"] == "urgent"
    assert tick(hub, start + timedelta(hours=25)).overdue_accept == [task]
    assert _business(x.read("t", task)) == "overdue-accept"
    assert len(_desk_messages(x, task)) == 2
    # Accepting clears it.
    assert x.op("t", task, "accept").status_code == 200
    assert _business(x.read("t", task)) is None
    stats = x.call("regulator", "GET", "/stats/referrals").get_json()
    assert stats["overdue"] == {"acknowledge": 1, "accept": 1}


def test_clock_pauses_while_awaiting_information(three, db):
    x = three
    hub = x.app.extensions["xietong"]
    _, task = x.refer("c", "t", priority="routine")  # 72 h to accept
    x.read("t", task)
    due = scalar(db, "SELECT accept_due_at FROM referral_clock WHERE task_id = :t", t=task)
    r = x.op("t", task, "request-info", [{"name": "question", "valueString": "请上传心电图"}])
    assert r.status_code == 200
    assert tick(hub, now_utc() + timedelta(hours=100)).overdue_accept == []  # paused
    assert x.op("c", task, "provide-info", [{"name": "answer", "valueString": "已上传"}]).status_code == 200
    later = scalar(db, "SELECT accept_due_at FROM referral_clock WHERE task_id = :t", t=task)
    assert later != due  # the clock resumed where it stopped: the due time moved by the pause
    assert tick(hub, now_utc() + timedelta(hours=100)).overdue_accept == [task]


def test_referral_expires_after_its_validity(three):
    x = three
    hub = x.app.extensions["xietong"]
    sr, task = x.refer("c", "t")
    _, accepted = x.refer("c", "t", reason="I20")
    assert x.op("t", accepted, "accept").status_code == 200
    assert tick(hub, now_utc() + timedelta(days=89)).expired == []
    result = tick(hub, now_utc() + timedelta(days=91))
    assert result.expired == [task]  # an accepted referral does not expire
    t = x.read("c", task)
    assert t["status"] == "cancelled" and _business(t) == "expired"
    assert t["statusReason"]["coding"][0]["code"] == "expired"
    assert x.call("c", "GET", f"/fhir/ServiceRequest/{sr}").get_json()["status"] == "revoked"
    assert tick(hub, now_utc() + timedelta(days=91)).expired == []
    stats = x.call("regulator", "GET", "/stats/referrals").get_json()
    assert stats["outcomes"]["expired"] == 1


def test_tick_command_for_cron(three):
    runner = three.app.test_cli_runner()
    result = runner.invoke(args=["referrals", "tick"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "expired=0 overdue_acknowledge=0 overdue_accept=0"


@pytest.mark.parametrize(
    "key,value",
    [
        ("REFERRAL_ACK_HOURS", "stat=1"),
        ("REFERRAL_ACCEPT_HOURS", "stat=1,asap=2,urgent=x,routine=4"),
        ("REFERRAL_ACCEPT_HOURS", "stat=1,asap=2,urgent=3,routine=0"),
        ("REFERRAL_VALIDITY_DAYS", "0"),
    ],
)
def test_timer_settings_are_checked_at_start_up(key, value):
    with pytest.raises(ConfigError):
        Config.from_env({key: value})


def test_in_process_scheduler_escalates_without_cron(database_url):
    """The embedded hub's own timer thread (REFERRAL_TICK_SECONDS) finds an overdue referral."""
    import time

    from hub import create_app
    from tests.conftest import make_config
    from tests.referrals.conftest import Alliance, three_institutions

    app = create_app(
        make_config(
            database_url, REFERRAL_TICK_SECONDS=1, REFERRAL_ACK_HOURS="stat=0.0003,asap=1,urgent=4,routine=24"
        )
    )
    try:
        x: Alliance = three_institutions(app)
        _, task = x.refer("c", "t", priority="stat")  # about a second to open it
        deadline = time.monotonic() + 60
        while _business(x.read("c", task)) != "overdue-acknowledge":
            assert time.monotonic() < deadline, "the timer thread never escalated"
            time.sleep(0.5)
    finally:
        app.extensions["xietong_referral_timer"].set()
        app.extensions["xietong"].db.dispose()
