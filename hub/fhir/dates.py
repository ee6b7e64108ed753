"""FHIR date, dateTime and instant values as UTC ranges ``[low, high]`` (both inclusive).

A partial value is the whole range it names: ``2016`` is 2016-01-01T00:00 to 2016-12-31T23:59:59.999999.
A value without a zone (a date, or a dateTime to the day) is read in UTC.
"""

from __future__ import annotations

import calendar
import functools
import re
from datetime import UTC, datetime, timedelta, timezone

UTC = UTC
MIN = datetime(1, 1, 1, tzinfo=UTC)
MAX = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

_RE = re.compile(
    r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})"
    r"(T(?P<H>\d{2})(:(?P<M>\d{2})(:(?P<S>\d{2})(?P<f>\.\d+)?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class BadDate(ValueError):
    pass


def parse_range(value: str) -> tuple[datetime, datetime]:
    """The UTC range a FHIR date/dateTime/instant string covers."""
    if not isinstance(value, str):
        raise BadDate(f"'{value}' is not a FHIR date, dateTime or instant")
    return _parse_range(value)


# A feed's records share their dates (a lab run's results, a day's visits): each string is read once.
@functools.lru_cache(maxsize=4096)
def _parse_range(value: str) -> tuple[datetime, datetime]:
    m = _RE.match(value.strip())
    if not m:
        raise BadDate(f"'{value}' is not a FHIR date, dateTime or instant")
    g = m.groupdict()
    try:
        y = int(g["y"])
        if g["m"] is None:
            return datetime(y, 1, 1, tzinfo=UTC), datetime(y, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        mo = int(g["m"])
        if g["d"] is None:
            last = calendar.monthrange(y, mo)[1]
            return (datetime(y, mo, 1, tzinfo=UTC), datetime(y, mo, last, 23, 59, 59, 999999, tzinfo=UTC))
        d = int(g["d"])
        tz = _zone(g["tz"])
        if g["H"] is None:
            low = datetime(y, mo, d, tzinfo=tz)
            return _utc(low), _utc(low + timedelta(days=1, microseconds=-1))
        hour = int(g["H"])
        if g["M"] is None:
            low = datetime(y, mo, d, hour, tzinfo=tz)
            step = timedelta(hours=1)
        elif g["S"] is None:
            low = datetime(y, mo, d, hour, int(g["M"]), tzinfo=tz)
            step = timedelta(minutes=1)
        elif g["f"] is None:
            low = datetime(y, mo, d, hour, int(g["M"]), int(g["S"]), tzinfo=tz)
            step = timedelta(seconds=1)
        else:
            digits = g["f"][1:]
            micro = int((digits + "000000")[:6])
            low = datetime(y, mo, d, hour, int(g["M"]), int(g["S"]), micro, tzinfo=tz)
            step = timedelta(microseconds=10 ** max(0, 6 - len(digits)))
        return _utc(low), _utc(low + step - timedelta(microseconds=1))
    except OverflowError:
        # The last instants of year 9999 in a zone west of UTC: past what a datetime holds.
        return (MAX, MAX) if int(g["y"]) > 9000 else (MIN, MIN)
    except ValueError as exc:
        raise BadDate(f"'{value}' is not a valid date: {exc}") from None


def _utc(t: datetime) -> datetime:
    try:
        return t.astimezone(UTC)
    except OverflowError:
        return MAX if t.year > 9000 else MIN


def _zone(tz: str | None) -> timezone:
    if tz is None or tz == "Z":
        return UTC
    sign = 1 if tz[0] == "+" else -1
    hours, minutes = int(tz[1:3]), int(tz[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def period_range(period: dict) -> tuple[datetime, datetime] | None:
    start, end = period.get("start"), period.get("end")
    if start is None and end is None:
        return None
    low = parse_range(start)[0] if start else MIN
    high = parse_range(end)[1] if end else MAX
    if low > high:
        raise BadDate(f"the period starts ({start}) after it ends ({end}) (FHIR invariant per-1)")
    return low, high


def now_utc() -> datetime:
    """Now, to the millisecond (what meta.lastUpdated can say)."""
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


@functools.lru_cache(maxsize=256)  # the records of one write share their time
def instant(t: datetime) -> str:
    """A FHIR instant in UTC with milliseconds."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
