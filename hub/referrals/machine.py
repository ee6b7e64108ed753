"""The referral state machine (DESIGN §4) as data, and the pure decision over it.

One table of transitions ``(from, action, to, side, roles, needs_reason)`` drives the operations,
``$available-actions``, the tests (every legal and every illegal pair) and the README's table.
Nothing here imports Flask or SQLAlchemy: a state, an action and a caller in, a decision out.
"""

from __future__ import annotations

from dataclasses import dataclass

# Sides of a referral: the institution that asked, the one that must act, and the hub itself
# (timers). The alliance office's admin may cancel, as the hub would.
REQUESTER, OWNER, HUB = "requester", "owner", "hub"

# Roles (hub.auth.principal): machine clients of an institution, and people at it.
INSTITUTION, DESK, SPECIALIST, FAMILY_DOCTOR, INSTITUTION_ADMIN = (
    "institution",
    "referral-desk",
    "specialist",
    "family-doctor",
    "institution-admin",
)
CLINICAL = (INSTITUTION, DESK, SPECIALIST, FAMILY_DOCTOR, INSTITUTION_ADMIN)
TRIAGE = (INSTITUTION, DESK, SPECIALIST)
ROUTING = (INSTITUTION, DESK)
TREATING = (INSTITUTION, SPECIALIST, DESK, FAMILY_DOCTOR)

OPEN = ("requested", "received", "accepted", "in-progress")
FINAL = ("completed", "rejected", "cancelled")
AWAITING = "awaiting-information"


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]  # Task.status values it leaves from
    action: str  # the operation name ($accept -> "accept"; "receive" and "expire" are the hub's)
    target: str | None  # the Task.status it leads to; None: the status stays
    sides: tuple[str, ...]
    roles: tuple[str, ...]  # roles on those sides that may do it (the hub side ignores roles)
    needs_reason: bool = False
    awaiting: bool | None = None  # True: only while awaiting information; False: only while not
    doc: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition(("requested",), "receive", "received", (OWNER,), CLINICAL, doc="the owner opens it"),
    Transition(
        ("requested", "received"), "accept", "accepted", (OWNER,), TRIAGE, doc="may attach an Appointment"
    ),
    Transition(("requested", "received"), "decline", "rejected", (OWNER,), TRIAGE, needs_reason=True),
    Transition(("requested", "received"), "cancel", "cancelled", (REQUESTER, HUB), CLINICAL),
    Transition(
        ("received", "accepted"),
        "redirect",
        "rejected",
        (OWNER,),
        ROUTING,
        doc="a new Task for the new owner",
    ),
    Transition(
        ("received", "accepted"), "request-info", None, (OWNER,), TRIAGE, needs_reason=True, awaiting=False
    ),
    Transition(("received", "accepted"), "provide-info", None, (REQUESTER,), CLINICAL, awaiting=True),
    Transition(("accepted",), "start", "in-progress", (OWNER,), TREATING, doc="patient seen / clinic held"),
    Transition(
        ("accepted", "in-progress"),
        "cancel",
        "cancelled",
        (REQUESTER, OWNER, HUB),
        CLINICAL,
        needs_reason=True,
    ),
    Transition(
        ("in-progress",), "complete", "completed", (OWNER,), TREATING, doc="output: the return package"
    ),
    Transition(("requested", "received"), "expire", "cancelled", (HUB,), (), doc="validity ran out"),
)

ACTIONS = tuple(dict.fromkeys(t.action for t in TRANSITIONS))
# What callers invoke as $operations (the hub's own actions are not offered).
OPERATIONS = tuple(a for a in ACTIONS if a not in ("receive", "expire"))
STATUSES = ("draft", *OPEN, *FINAL)


@dataclass(frozen=True)
class State:
    status: str
    awaiting: bool = False  # businessStatus awaiting-information


@dataclass(frozen=True)
class Caller:
    sides: frozenset[str]  # the caller's sides of this referral (may be empty)
    role: str


class Refused(Exception):
    """``kind`` "state": not possible from this state (409); "caller": not for this caller (403)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def _describe(state: State) -> str:
    return f"'{state.status}'" + (" (awaiting information)" if state.awaiting else "")


def _state_allows(t: Transition, state: State) -> bool:
    return state.status in t.sources and (t.awaiting is None or t.awaiting == state.awaiting)


def _caller_allows(t: Transition, caller: Caller) -> bool:
    if HUB in caller.sides and HUB in t.sides:
        return True
    return bool(caller.sides & set(t.sides) - {HUB}) and caller.role in t.roles


def decide(state: State, action: str, caller: Caller) -> Transition:
    """The transition ``caller`` makes by ``action`` from ``state``, or ``Refused``."""
    if action not in ACTIONS:
        raise Refused("state", f"'{action}' is not a referral action ({', '.join(OPERATIONS)})")
    candidates = [t for t in TRANSITIONS if t.action == action and _state_allows(t, state)]
    if not candidates:
        sources = sorted({s for t in TRANSITIONS if t.action == action for s in t.sources})
        raise Refused(
            "state",
            f"the referral Task is {_describe(state)}; ${action} is possible only from "
            f"{', '.join(sources)}" + _awaiting_note(action, state),
        )
    for t in candidates:
        if _caller_allows(t, caller):
            return t
    who = " or ".join(sorted({s for t in candidates for s in t.sides}))
    roles = sorted({r for t in candidates for r in t.roles})
    raise Refused(
        "caller",
        f"${action} on a {_describe(state)} referral is for the {who} side"
        + (f" ({', '.join(roles)})" if roles else "")
        + f"; you are {_sides_text(caller)} with role '{caller.role}'",
    )


def _awaiting_note(action: str, state: State) -> str:
    t = next((t for t in TRANSITIONS if t.action == action and t.awaiting is not None), None)
    if t is None or state.status not in t.sources:
        return ""
    return " while awaiting information" if t.awaiting else " while not awaiting information"


def _sides_text(caller: Caller) -> str:
    return "the " + " and ".join(sorted(caller.sides)) + " side" if caller.sides else "neither side"


def available(state: State, caller: Caller) -> list[Transition]:
    """What ``caller`` may do now (one entry per action), in table order."""
    out: dict[str, Transition] = {}
    for t in TRANSITIONS:
        if (
            t.action in OPERATIONS
            and t.action not in out
            and _state_allows(t, state)
            and _caller_allows(t, caller)
        ):
            out[t.action] = t
    return list(out.values())


# Hub state projects to FHIR through one table (STYLE 6): the ServiceRequest's status follows
# the Task's, except that a redirected Task hands the request on to the next one.
REQUEST_STATUS = {
    "requested": "active",
    "received": "active",
    "accepted": "active",
    "in-progress": "active",
    "completed": "completed",
    "rejected": "revoked",
    "cancelled": "revoked",
}


def request_status(task_status: str, action: str) -> str | None:
    if action in ("redirect", "request-info", "provide-info"):
        return None  # the request goes on
    return REQUEST_STATUS.get(task_status)


def markdown_table() -> str:
    """The transition table as the README shows it (a test keeps the two equal)."""
    lines = ["| from | action | to | side | roles | reason |", "| --- | --- | --- | --- | --- | --- |"]
    for t in TRANSITIONS:
        source = " \\| ".join(t.sources) + {True: " (awaiting information)", False: " (not awaiting)"}.get(
            t.awaiting, ""
        )
        lines.append(
            f"| {source} | `{t.action}` | {t.target or '(unchanged)'} | {', '.join(t.sides)} | "
            f"{', '.join(t.roles) or '—'} | {'required' if t.needs_reason else '—'} |"
        )
    return "\n".join(lines)
