"""A Subscription resource in the Subscriptions Backport IG's R4B shape, read into what delivery needs.

    criteria                    the topic's canonical URL
    _criteria.extension         backport-filter-criteria: "Task?owner=Organization/x&status=accepted"
    channel.type                rest-hook
    channel.endpoint            where notification Bundles are POSTed
    channel.payload             application/fhir+json
    _payload.extension          backport-payload-content: empty | id-only | full-resource
    channel.header              "Name: value" headers sent with every notification
    channel.extension           backport-heartbeat-period, backport-timeout, backport-max-count

Pure: no Flask, no SQL. Anything else is a 422 naming the element.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from hub.errors import Unprocessable
from hub.notify import topics

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FILTER_CRITERIA = BACKPORT + "backport-filter-criteria"
PAYLOAD_CONTENT = BACKPORT + "backport-payload-content"
HEARTBEAT = BACKPORT + "backport-heartbeat-period"
TIMEOUT = BACKPORT + "backport-timeout"
MAX_COUNT = BACKPORT + "backport-max-count"
CONTENTS = ("empty", "id-only", "full-resource")
PAYLOAD_TYPES = ("application/fhir+json", "application/json")
ORG_FILTERS = ("owner", "requester")


@dataclass(frozen=True)
class SubscriptionSpec:
    topic: str
    status: str
    endpoint: str
    content: str
    headers: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    heartbeat_seconds: int | None = None
    timeout_seconds: int | None = None
    max_count: int | None = None


def _ext(element: dict | None, url: str) -> list[dict]:
    return [e for e in (element or {}).get("extension") or [] if e.get("url") == url]


def _one_int(element: dict | None, url: str, where: str, lo: int, hi: int) -> int | None:
    found = _ext(element, url)
    if not found:
        return None
    value = next((v for k, v in found[0].items() if k.startswith("value")), None)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise Unprocessable(f"{url.rsplit('/', 1)[1]} must be a whole number from {lo} to {hi}", [where])
    return value


QUERY_BASED = (
    "its criteria is a search, not a SubscriptionTopic: R4-style query-based Subscriptions are "
    "stored (valid R4B content) but not served; use the topic {topic}"
)


def topic_based(sub: dict) -> bool:
    """Topic-based (criteria a canonical URL), or an R4-style query (``Observation?code=…``)."""
    return urlsplit(sub.get("criteria") or "").scheme in ("http", "https")


def parse(sub: dict) -> SubscriptionSpec:
    known = topics.topics()
    topic = sub.get("criteria") or ""
    if topic not in known:
        raise Unprocessable(
            f"Subscription.criteria must be the canonical URL of a SubscriptionTopic of this hub "
            f"(one of: {', '.join(sorted(known))}), not {topic!r}",
            ["Subscription.criteria"],
        )
    channel = sub.get("channel") or {}
    if channel.get("type") != "rest-hook":
        raise Unprocessable(
            "only the rest-hook channel is offered (channel.type 'rest-hook')", ["Subscription.channel.type"]
        )
    endpoint = channel.get("endpoint") or ""
    if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).netloc:
        raise Unprocessable(
            "a rest-hook subscription needs an http(s) endpoint", ["Subscription.channel.endpoint"]
        )
    payload = channel.get("payload")
    if payload is not None and payload not in PAYLOAD_TYPES:
        raise Unprocessable(
            f"notifications are sent as application/fhir+json, not {payload}",
            ["Subscription.channel.payload"],
        )
    content = "id-only"
    found = _ext(channel.get("_payload"), PAYLOAD_CONTENT)
    if found:
        content = found[0].get("valueCode")
        if content not in CONTENTS:
            raise Unprocessable(
                f"backport-payload-content must be one of {', '.join(CONTENTS)}",
                ["Subscription.channel.payload.extension"],
            )
    filters: dict[str, list[str]] = {}
    allowed = known[topic].filters
    for ext in _ext(sub.get("_criteria"), FILTER_CRITERIA):
        _parse_filter(ext.get("valueString") or "", allowed, filters)
    headers = channel.get("header") or []
    for h in headers:
        if ":" not in h or "\n" in h or "\r" in h:
            raise Unprocessable(f"channel.header {h!r} is not 'Name: value'", ["Subscription.channel.header"])
    return SubscriptionSpec(
        topic=topic,
        status=sub.get("status") or "requested",
        endpoint=endpoint,
        content=content,
        headers=list(headers),
        filters=filters,
        heartbeat_seconds=_one_int(channel, HEARTBEAT, "Subscription.channel.extension", 1, 86400),
        timeout_seconds=_one_int(channel, TIMEOUT, "Subscription.channel.extension", 1, 120),
        max_count=_one_int(channel, MAX_COUNT, "Subscription.channel.extension", 1, 1000),
    )


def _parse_filter(text: str, allowed: frozenset[str], into: dict[str, list[str]]) -> None:
    where = ["Subscription.criteria.extension"]
    rtype, sep, query = text.partition("?")
    if rtype != "Task" or not sep or not query:
        raise Unprocessable(
            f"backport-filter-criteria {text!r} must read 'Task?parameter=value[&...]'", where
        )
    for param, value in parse_qsl(query, keep_blank_values=True):
        if param not in allowed:
            raise Unprocessable(
                f"the topic cannot filter by {param!r} (it can by: {', '.join(sorted(allowed))})", where
            )
        values = [v.strip() for v in value.split(",") if v.strip()]
        if not values:
            raise Unprocessable(f"filter {param} has no value", where)
        if param in ORG_FILTERS:
            values = [_org_id(v, param, where) for v in values]
        # Repeated parameters narrow: every one must hold; so keep their common values.
        into[param] = [v for v in values if v in into[param]] if param in into else values


def _org_id(value: str, param: str, where: list[str]) -> str:
    kind, sep, fid = value.rpartition("/")
    if sep and kind.rsplit("/", 1)[-1] != "Organization":
        raise Unprocessable(f"filter {param} takes an Organization (Organization/id), not {value!r}", where)
    return fid
