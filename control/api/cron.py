"""Cron schedules as Kubernetes reads them: robfig/cron v3's ParseStandard and its Next, ported.

kube-apiserver validates `spec.schedule` and kube-controller-manager's CronJob controller computes its
start times with robfig/cron v3 (`cron.ParseStandard`), so what is accepted, what a bad schedule's error
says (it becomes `spec.schedule: Invalid value: "...": <error>`) and when a schedule fires follow that
library, not another cron: five fields (minute hour day-of-month month day-of-week) with `*`, `?`, lists,
ranges, steps and the names JAN-DEC and SUN-SAT (7 is not Sunday); the descriptors @yearly (@annually),
@monthly, @weekly, @daily (@midnight), @hourly and `@every <Go duration>`; a `TZ=` or `CRON_TZ=` prefix.
When both day fields are restricted a day matches either (crontab's rule), else both.

Times are POSIX seconds (floats); a schedule without a zone runs in the process' local zone, as the
controller's time.Local. A schedule that never fires (`0 0 31 2 *`) gives None, as Go's zero time.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class CronError(ValueError):
    """A schedule the parser refuses; str() is robfig/cron's message."""


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: tuple[tuple[str, int], ...] = ()


_SECONDS = _Bounds(0, 59)
_MINUTES = _Bounds(0, 59)
_HOURS = _Bounds(0, 23)
_DOM = _Bounds(1, 31)
_MONTHS = _Bounds(1, 12, tuple((n, i + 1) for i, n in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))))
_DOW = _Bounds(0, 6, tuple((n, i) for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))))

STAR_BIT = 1 << 63  # set when a field was `*` or `?`: the day fields then combine with AND


def _bits(low: int, high: int, step: int) -> int:
    out = 0
    for i in range(low, high + 1, step):
        out |= 1 << i
    return out


def _all(b: _Bounds) -> int:
    return _bits(b.low, b.high, 1) | STAR_BIT


# --- local zone -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def local_zone() -> tzinfo:
    """The zone Go's time.Local would be: $TZ, else /etc/localtime, else UTC."""
    tz = os.environ.get("TZ")
    if tz:
        try:
            return ZoneInfo(tz.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            return UTC
    try:
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f, key="Local")
    except (OSError, ValueError):
        return UTC


def load_location(name: str) -> tzinfo:
    """Go's time.LoadLocation: "" and "UTC" are UTC, "Local" the local zone, otherwise the IANA database.

    Raises CronError with Go's words ("unknown time zone NAME")."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return local_zone()
    if ".." in name or name.startswith(("/", "\\")):
        raise CronError("time: invalid location name")
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(f"unknown time zone {name}") from None


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# --- schedules --------------------------------------------------------------------------------------


def _offset_at(unix: float, loc: tzinfo) -> float:
    offset = datetime.fromtimestamp(unix, loc).utcoffset()
    return offset.total_seconds() if offset else 0.0


def _date(y: int, mo: int, d: int, h: int, mi: int, s: int, loc: tzinfo) -> datetime:
    """Go's time.Date: out-of-range months and days carry over; a wall time a DST change skips or repeats
    resolves as Go resolves it, not as zoneinfo's fold does: the offset in force at the wall time read as
    UTC, corrected once by the offset in force at the instant that gives. West of UTC a skipped midnight
    becomes 23:00 the day before (zoneinfo says 01:00), which robfig's Next counts on to keep the day."""
    y += (mo - 1) // 12
    mo = (mo - 1) % 12 + 1
    day = date(y, mo, 1) + timedelta(days=d - 1)
    unix = datetime(day.year, day.month, day.day, h, mi, s, tzinfo=UTC).timestamp()
    offset = _offset_at(unix, loc)
    if offset:
        offset = _offset_at(unix - offset, loc)
    return datetime.fromtimestamp(unix - offset, loc)


def _add(t: datetime, seconds: int) -> datetime:
    """Go's t.Add: absolute time, not wall clock (Python's aware + timedelta is wall clock)."""
    return datetime.fromtimestamp(t.timestamp() + seconds, t.tzinfo)


@dataclass(frozen=True)
class SpecSchedule:
    """A crontab line as bit sets, one per field (robfig/cron's SpecSchedule)."""

    second: int
    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    location: tzinfo | None = None  # None: the local zone

    def _day_matches(self, t: datetime) -> bool:
        dom_match = bool(1 << t.day & self.dom)
        dow_match = bool(1 << ((t.weekday() + 1) % 7) & self.dow)
        if self.dom & STAR_BIT or self.dow & STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def next(self, now: float) -> float | None:
        """The first activation strictly after `now`, or None if there is none within five years."""
        loc = self.location or local_zone()
        t = datetime.fromtimestamp(math.floor(now) + 1, loc)
        added = False
        year_limit = t.year + 5
        while True:  # robfig's WRAP label: a carried field makes the earlier ones be checked again
            if t.year > year_limit:
                return None
            wrapped = False
            while not 1 << t.month & self.month:
                if not added:
                    added = True
                    t = _date(t.year, t.month, 1, 0, 0, 0, loc)
                t = _date(t.year, t.month + 1, t.day, t.hour, t.minute, t.second, loc)
                if t.month == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self._day_matches(t):
                if not added:
                    added = True
                    t = _date(t.year, t.month, t.day, 0, 0, 0, loc)
                t = _date(t.year, t.month, t.day + 1, t.hour, t.minute, t.second, loc)
                # a DST change can move midnight: put the hour back to 0
                if t.hour != 0:
                    t = _add(t, (24 - t.hour) * 3600 if t.hour > 12 else -t.hour * 3600)
                if t.day == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not 1 << t.hour & self.hour:
                if not added:
                    added = True
                    t = _date(t.year, t.month, t.day, t.hour, 0, 0, loc)
                t = _add(t, 3600)
                if t.hour == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not 1 << t.minute & self.minute:
                if not added:
                    added = True
                    t = _add(t, -(int(t.timestamp()) % 60))
                t = _add(t, 60)
                if t.minute == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not 1 << t.second & self.second:
                if not added:
                    added = True
                t = _add(t, 1)
                if t.second == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            return t.timestamp()


@dataclass(frozen=True)
class ConstantDelaySchedule:
    """`@every <duration>`: a fixed interval of whole seconds (at least 1) from the time it is asked about."""

    delay: int

    def next(self, now: float) -> float | None:
        return float(math.floor(now) + self.delay)


Schedule = SpecSchedule | ConstantDelaySchedule


# --- parsing ----------------------------------------------------------------------------------------


def _parse_int(expr: str) -> int:
    # Go's strconv.Atoi: optional sign, ASCII digits only
    if not re.fullmatch(r"[+-]?[0-9]+", expr):
        what = "invalid syntax"
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": {what}')
    num = int(expr)
    if num < 0:
        raise CronError(f"negative number ({num}) not allowed: {expr}")
    return num


def _int_or_name(expr: str, b: _Bounds) -> int:
    for name, value in b.names:
        if expr.lower() == name:
            return value
    return _parse_int(expr)


def _range(expr: str, b: _Bounds) -> int:
    """number | number "-" number [ "/" number ], or `*` / `?` [ "/" number ]."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = b.low, b.high, STAR_BIT
    else:
        start = _int_or_name(low_and_high[0], b)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], b)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _parse_int(range_and_step[1])
        if single:  # "N/step" means "N-max/step"
            end = b.high
        if step > 1:
            extra = 0
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < b.low:
        raise CronError(f"beginning of range ({start}) below minimum ({b.low}): {expr}")
    if end > b.high:
        raise CronError(f"end of range ({end}) above maximum ({b.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _field(text: str, b: _Bounds) -> int:
    bits = 0
    for expr in (e for e in text.split(",") if e):
        bits |= _range(expr, b)
    return bits


_DESCRIPTORS = {
    "@yearly": (1 << 1, 1 << 1, STAR_BIT | _bits(0, 6, 1)),  # (dom, month, dow) at 00:00
    "@annually": (1 << 1, 1 << 1, STAR_BIT | _bits(0, 6, 1)),
    "@monthly": (1 << 1, _all(_MONTHS), _all(_DOW)),
    "@weekly": (_all(_DOM), _all(_MONTHS), 1 << 0),
    "@daily": (_all(_DOM), _all(_MONTHS), _all(_DOW)),
    "@midnight": (_all(_DOM), _all(_MONTHS), _all(_DOW)),
}


def _descriptor(spec: str, loc: tzinfo | None) -> Schedule:
    if spec == "@hourly":
        return SpecSchedule(1, 1, _all(_HOURS), _all(_DOM), _all(_MONTHS), _all(_DOW), loc)
    if spec in _DESCRIPTORS:
        dom, month, dow = _DESCRIPTORS[spec]
        return SpecSchedule(1, 1, 1, dom, month, dow, loc)
    every = "@every "
    if spec.startswith(every):
        try:
            seconds = parse_go_duration(spec[len(every):])
        except CronError as e:
            raise CronError(f"failed to parse duration {spec}: {e}") from None
        # robfig's Every: at least a second, and whole seconds only
        return ConstantDelaySchedule(max(1, int(seconds)))
    raise CronError(f"unrecognized descriptor: {spec}")


@lru_cache(maxsize=1024)
def parse_standard(spec: str) -> Schedule:
    """cron.ParseStandard: five fields or a descriptor, with an optional TZ=/CRON_TZ= prefix."""
    if not spec:
        raise CronError("empty spec string")
    loc: tzinfo | None = None
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        if space < 0:
            space = len(spec)
        name = spec[spec.index("=") + 1:space]
        try:
            loc = load_location(name)
        except CronError as e:
            raise CronError(f"provided bad location {name}: {e}") from None
        spec = spec[space:].strip()
    if spec.startswith("@"):
        return _descriptor(spec, loc)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    return SpecSchedule(
        second=_field("0", _SECONDS),
        minute=_field(fields[0], _MINUTES),
        hour=_field(fields[1], _HOURS),
        dom=_field(fields[2], _DOM),
        month=_field(fields[3], _MONTHS),
        dow=_field(fields[4], _DOW),
        location=loc,
    )


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration ("1h30m", "90s", "1.5h"), in seconds; its error words."""
    orig = text
    quoted = '"' + orig.replace("\\", "\\\\").replace('"', '\\"') + '"'
    sign = 1.0
    if text[:1] in ("-", "+"):
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise CronError(f"time: invalid duration {quoted}")
    total = 0.0
    while text:
        m = re.match(r"([0-9]*)(\.[0-9]*)?", text)
        assert m is not None
        whole, frac = m.group(1), m.group(2) or ""
        if not whole and len(frac) <= 1:
            raise CronError(f"time: invalid duration {quoted}")
        text = text[m.end():]
        u = re.match(r"[^0-9.]*", text)
        unit = u.group(0) if u else ""
        if not unit:
            raise CronError(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS:
            raise CronError(f'time: unknown unit "{unit}" in duration {quoted}')
        text = text[len(unit):]
        total += float((whole or "0") + (frac if len(frac) > 1 else "")) * _UNITS[unit]
    return sign * total
