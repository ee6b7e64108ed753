"""Date ranges (read once per string, the same answer every time), instants, and the hub's ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from hub.fhir import dates
from hub.fhir.store import new_id


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("2026", "2026-01-01T00:00:00+00:00", "2026-12-31T23:59:59.999999+00:00"),
        ("2024-02", "2024-02-01T00:00:00+00:00", "2024-02-29T23:59:59.999999+00:00"),
        ("2026-11-15", "2026-11-15T00:00:00+00:00", "2026-11-15T23:59:59.999999+00:00"),
        ("2026-11-15T08:30:00+08:00", "2026-11-15T00:30:00+00:00", "2026-11-15T00:30:00.999999+00:00"),
        ("2026-11-15T08:30:00.25Z", "2026-11-15T08:30:00.250000+00:00", "2026-11-15T08:30:00.259999+00:00"),
    ],
)
def test_ranges_are_the_same_read_again(value, low, high):
    for _ in range(2):  # the second answer comes from the cache
        got = dates.parse_range(value)
        assert (got[0].isoformat(), got[1].isoformat()) == (low, high)


@pytest.mark.parametrize("value", ["2026-13-01", "15/11/2026", "", None, 2026, ["2026"], {"y": 2026}])
def test_what_is_not_a_date_is_refused_every_time(value):
    for _ in range(2):
        with pytest.raises(dates.BadDate):
            dates.parse_range(value)


def test_instant_is_utc_with_milliseconds():
    t = datetime(2026, 11, 23, 8, 30, 1, 123456, tzinfo=UTC)
    assert dates.instant(t) == dates.instant(t) == "2026-11-23T08:30:01.123Z"


def test_new_ids_are_random_uuids_spelled_as_uuid4_does():
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for i in ids:
        u = uuid.UUID(i)
        assert str(u) == i and u.version == 4 and u.variant == uuid.RFC_4122
