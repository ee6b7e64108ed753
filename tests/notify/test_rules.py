"""The pure parts: reading a Subscription, matching a Task change, the backoff (no I/O)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.errors import Unprocessable
from hub.notify import subscriptions, topics
from hub.notify.delivery import backoff
from tests.notify.conftest import subscription


def change(**kw) -> topics.TaskChange:
    base = dict(
        task_id="t1",
        version=2,
        method="PUT",
        status="accepted",
        previous_status="received",
        business_status=None,
        previous_business_status=None,
        owner_org="B",
        requester_org="A",
    )
    base.update(kw)
    return topics.TaskChange(**base)


def test_a_backport_subscription_is_read_with_its_filters():
    sub = subscription(
        "https://his.example/hook",
        "full-resource",
        ("Task?owner=Organization/B,Organization/C&status=accepted,rejected", "Task?owner=B"),
    )
    sub["channel"]["header"] = ["Authorization: Bearer abc"]
    spec = subscriptions.parse(sub)
    assert spec.content == "full-resource"
    assert spec.topic == topics.referral_topic_url()
    # Repeated criteria narrow: owner B (and C) and then owner B -> B.
    assert spec.filters == {"owner": ["B"], "status": ["accepted", "rejected"]}
    assert spec.headers == ["Authorization: Bearer abc"]
    default = subscriptions.parse(subscription("http://127.0.0.1:1/x"))
    assert default.content == "id-only" and default.filters == {}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, True),
        ({"owner": ["B"]}, True),
        ({"owner": ["C"]}, False),
        ({"requester": ["A"], "status": ["accepted"]}, True),
        ({"requester": ["A"], "status": ["rejected"]}, False),
        ({"business-status": ["overdue-accept"]}, False),
    ],
)
def test_filters_match_the_change(filters, expected):
    assert topics.matches(filters, change()) is expected


def test_business_status_and_header_rules():
    assert topics.business_status({"businessStatus": {"coding": [{"code": "expired"}]}}) == "expired"
    assert topics.business_status({"businessStatus": {"text": "待补充资料"}}) == "待补充资料"
    assert topics.business_status({}) is None
    sub = subscription("http://127.0.0.1:1/x")
    sub["channel"]["header"] = ["no colon here"]
    with pytest.raises(Unprocessable):
        subscriptions.parse(sub)
    sub = subscription("http://127.0.0.1:1/x", filters=("Task?status=",))
    with pytest.raises(Unprocessable):
        subscriptions.parse(sub)


def test_backoff_doubles_up_to_its_cap():
    delays = [backoff(n, 1000, 600) for n in range(1, 15)]
    for n, d in enumerate(delays[:9], start=1):
        assert timedelta(seconds=0.8 * 2 ** (n - 1)) <= d <= timedelta(seconds=2 ** (n - 1))
    assert all(timedelta(seconds=480) <= d <= timedelta(seconds=600) for d in delays[10:])
