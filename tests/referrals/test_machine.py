"""The state machine table against DESIGN §4, pair by pair (no I/O)."""

from __future__ import annotations

import itertools

import pytest

from hub.referrals import machine
from hub.referrals.machine import HUB, OWNER, REQUESTER, Caller, Refused, State

# DESIGN §4 restated by hand: (status, awaiting information, action, side) -> new status.
LEGAL = {
    ("requested", False, "accept", OWNER): "accepted",
    ("received", False, "accept", OWNER): "accepted",
    ("received", True, "accept", OWNER): "accepted",
    ("requested", False, "decline", OWNER): "rejected",
    ("received", False, "decline", OWNER): "rejected",
    ("received", True, "decline", OWNER): "rejected",
    ("requested", False, "cancel", REQUESTER): "cancelled",
    ("received", False, "cancel", REQUESTER): "cancelled",
    ("received", True, "cancel", REQUESTER): "cancelled",
    ("accepted", False, "cancel", REQUESTER): "cancelled",
    ("accepted", True, "cancel", REQUESTER): "cancelled",
    ("in-progress", False, "cancel", REQUESTER): "cancelled",
    ("accepted", False, "cancel", OWNER): "cancelled",
    ("accepted", True, "cancel", OWNER): "cancelled",
    ("in-progress", False, "cancel", OWNER): "cancelled",
    ("received", False, "redirect", OWNER): "rejected",
    ("received", True, "redirect", OWNER): "rejected",
    ("accepted", False, "redirect", OWNER): "rejected",
    ("accepted", True, "redirect", OWNER): "rejected",
    ("received", False, "request-info", OWNER): None,
    ("accepted", False, "request-info", OWNER): None,
    ("received", True, "provide-info", REQUESTER): None,
    ("accepted", True, "provide-info", REQUESTER): None,
    ("accepted", False, "start", OWNER): "in-progress",
    ("accepted", True, "start", OWNER): "in-progress",
    ("in-progress", False, "complete", OWNER): "completed",
}
# Awaiting information exists only while received or accepted.
STATES = [(s, a) for s in machine.STATUSES for a in (False, True) if not a or s in ("received", "accepted")]


@pytest.mark.parametrize(
    "status,awaiting,action,side",
    [
        (s, a, act, side)
        for (s, a), act, side in itertools.product(STATES, machine.OPERATIONS, (REQUESTER, OWNER))
    ],
)
def test_every_pair(status, awaiting, action, side):
    state, caller = State(status, awaiting), Caller(frozenset({side}), "institution")
    expected = LEGAL.get((status, awaiting, action, side), "refused")
    if expected == "refused":
        with pytest.raises(Refused) as exc:
            machine.decide(state, action, caller)
        assert status in exc.value.message  # the refusal names the current state
        legal_elsewhere = any(k[:3] == (status, awaiting, action) for k in LEGAL)
        assert exc.value.kind == ("caller" if legal_elsewhere else "state")
    else:
        assert machine.decide(state, action, caller).target == expected


def test_available_is_the_table():
    for (status, awaiting), side in itertools.product(STATES, (REQUESTER, OWNER)):
        got = {
            t.action
            for t in machine.available(State(status, awaiting), Caller(frozenset({side}), "institution"))
        }
        want = {k[2] for k in LEGAL if k[:2] == (status, awaiting) and k[3] == side}
        assert got == want, (status, awaiting, side)


def test_roles_and_the_hub():
    received = State("received")
    desk = Caller(frozenset({OWNER}), "referral-desk")
    assert machine.decide(received, "accept", desk).target == "accepted"
    family = Caller(frozenset({OWNER}), "family-doctor")
    with pytest.raises(Refused) as exc:
        machine.decide(received, "accept", family)
    assert exc.value.kind == "caller" and "family-doctor" in exc.value.message
    hub = Caller(frozenset({HUB}), "admin")
    assert machine.decide(State("requested"), "expire", hub).target == "cancelled"
    assert machine.decide(State("in-progress"), "cancel", hub).target == "cancelled"
    with pytest.raises(Refused):
        machine.decide(State("requested"), "expire", Caller(frozenset({OWNER, REQUESTER}), "institution"))
    with pytest.raises(Refused) as exc:
        machine.decide(State("completed"), "fly", hub)
    assert exc.value.kind == "state"


def test_request_status_projection():
    assert machine.request_status("completed", "complete") == "completed"
    assert machine.request_status("rejected", "decline") == "revoked"
    assert machine.request_status("rejected", "redirect") is None  # the next Task carries the request
    assert set(machine.REQUEST_STATUS) == set(machine.STATUSES) - {"draft"}


def test_the_readme_shows_the_table():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert machine.markdown_table() in readme
