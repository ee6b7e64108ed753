"""The hub's SubscriptionTopics (``fhir_profiles/SubscriptionTopic-*.json``) and what a Task change
means for them. Pure: no Flask, no SQL."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from hub.fhir import validation

REFERRAL_TOPIC_ID = "referral-task-status"


@dataclass(frozen=True)
class Topic:
    url: str
    resource: dict
    filters: frozenset[str]  # canFilterBy.filterParameter


@functools.cache
def _topics(base: str) -> dict[str, Topic]:
    out = {}
    for f in sorted(validation.PROFILES_DIR.glob("SubscriptionTopic-*.json")):
        text = f.read_text(encoding="utf-8").replace(validation.DEFAULT_CANONICAL_BASE, base)
        res = json.loads(text)
        out[res["url"]] = Topic(res["url"], res, frozenset(c["filterParameter"] for c in res["canFilterBy"]))
    return out


def topics() -> dict[str, Topic]:
    """canonical url -> Topic, under the deployment's canonical base."""
    return _topics(validation.canonical_base())


def referral_topic_url() -> str:
    return validation.canonical("SubscriptionTopic", REFERRAL_TOPIC_ID)


@dataclass(frozen=True)
class TaskChange:
    """What the referral topic reports about one Task write."""

    task_id: str
    version: int
    method: str  # POST | PUT
    status: str | None
    previous_status: str | None
    business_status: str | None
    previous_business_status: str | None
    owner_org: str | None
    requester_org: str | None


def business_status(task: dict) -> str | None:
    bs = task.get("businessStatus") or {}
    for coding in bs.get("coding") or []:
        if coding.get("code"):
            return coding["code"]
    return bs.get("text")


def reportable(created: bool, previous: tuple[str | None, str | None] | None, now: tuple) -> bool:
    """The topic's trigger: a Task created, or its status or businessStatus changed."""
    return created or previous is None or previous != now


def matches(filters: dict[str, list[str]], change: TaskChange) -> bool:
    """A subscription's filter criteria (all must hold; a parameter's values are alternatives)."""
    for param, values in filters.items():
        actual = {
            "owner": change.owner_org,
            "requester": change.requester_org,
            "status": change.status,
            "business-status": change.business_status,
        }[param]
        if actual not in values:
            return False
    return True
