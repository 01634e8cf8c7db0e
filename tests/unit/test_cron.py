"""Cron schedules as robfig/cron v3's ParseStandard reads them (control/api/cron.py): what is accepted, its
error words, and the next activation times, in UTC and across a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from control.api.cron import (
    ConstantDelaySchedule,
    CronError,
    load_location,
    parse_go_duration,
    parse_standard,
)


def ts(*a: int, tz=UTC) -> float:  # type: ignore[no-untyped-def]
    return datetime(*a, tzinfo=tz).timestamp()


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


NOW = ts(2026, 11, 27, 15, 40, 47)  # a Friday


@pytest.mark.parametrize(("spec", "expected"), [
    ("*/1 * * * *", "2026-11-27 15:41:00"),
    ("* * * * *", "2026-11-27 15:41:00"),
    ("0 * * * *", "2026-11-27 16:00:00"),
    ("*/15 * * * *", "2026-11-27 15:45:00"),
    ("5,50 * * * *", "2026-11-27 15:50:00"),
    ("10-20/5 16 * * *", "2026-11-27 16:10:00"),
    ("30 6-16/4 * * 1-5", "2026-11-30 06:30:00"),  # Monday
    ("0 0 * JAN MON", "2027-01-04 00:00:00"),
    ("5 4 * * sun", "2026-11-29 04:05:00"),
    ("0 0 13 * FRI", "2026-12-04 00:00:00"),  # both day fields restricted: either matches
    ("0 0 13 * *", "2026-12-13 00:00:00"),
    ("0 0 ? * *", "2026-11-28 00:00:00"),
    ("@yearly", "2027-01-01 00:00:00"),
    ("@annually", "2027-01-01 00:00:00"),
    ("@monthly", "2026-12-01 00:00:00"),
    ("@weekly", "2026-11-29 00:00:00"),
    ("@daily", "2026-11-28 00:00:00"),
    ("@midnight", "2026-11-28 00:00:00"),
    ("@hourly", "2026-11-27 16:00:00"),
    ("@every 90s", "2026-11-27 15:42:17"),
    ("@every 1h30m", "2026-11-27 17:10:47"),
    ("0 0 29 2 *", "2028-02-29 00:00:00"),
    ("0 0 31 2 *", None),  # accepted, never due (the controller reports InvalidSchedule)
])
def test_next(spec: str, expected: str | None) -> None:
    assert iso(parse_standard(spec).next(NOW)) == expected


def test_next_is_strictly_after() -> None:
    at = ts(2026, 11, 27, 15, 41, 0)
    assert iso(parse_standard("* * * * *").next(at)) == "2026-11-27 15:42:00"
    assert iso(parse_standard("* * * * *").next(at - 0.5)) == "2026-11-27 15:41:00"


def test_time_zones_and_daylight_saving() -> None:
    ny = ZoneInfo("America/New_York")
    sched = parse_standard("TZ=America/New_York 0 9 * * *")
    assert iso(sched.next(NOW)) == "2026-11-28 14:00:00"  # 09:00 EST
    # 2027-03-14: New York skips 02:00-03:00; 09:00 that day is EDT (13:00 UTC)
    assert iso(sched.next(ts(2027, 3, 14, 1, 0, tz=ny))) == "2027-03-14 13:00:00"
    # a daily 02:30 does not run on the day 02:30 does not exist: robfig's Next steps hours in absolute time
    assert iso(parse_standard("TZ=America/New_York 30 2 * * *").next(ts(2027, 3, 14, 0, 0, tz=ny))) \
        == "2027-03-15 06:30:00"
    assert iso(parse_standard("CRON_TZ=Asia/Tokyo 0 0 * * *").next(NOW)) == "2026-11-28 15:00:00"  # it is 00:40 in Tokyo


@pytest.mark.parametrize(("spec", "error"), [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("* 24 * * *", "end of range (24) above maximum (23): 24"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("0 0 * * 7", "end of range (7) above maximum (6): 7"),  # robfig v3: Sunday is 0 only
    ("abc * * * *", 'failed to parse int from abc: strconv.Atoi: parsing "abc": invalid syntax'),
    ("-1 * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax'),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("1/2/3 * * * *", "too many slashes: 1/2/3"),
    ("* * * FOO *", 'failed to parse int from FOO: strconv.Atoi: parsing "FOO": invalid syntax'),
    ("@foo", "unrecognized descriptor: @foo"),
    ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
    ("@every x", 'failed to parse duration @every x: time: invalid duration "x"'),
    ("@every 5y", 'failed to parse duration @every 5y: time: unknown unit "y" in duration "5y"'),
    ("TZ=Mars/Olympus * * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"),
])
def test_errors_are_robfig_crons(spec: str, error: str) -> None:
    with pytest.raises(CronError) as e:
        parse_standard(spec)
    assert str(e.value) == error


def test_every_rounds_to_whole_seconds() -> None:
    assert parse_standard("@every 1500ms") == ConstantDelaySchedule(1)
    assert parse_standard("@every 10ms") == ConstantDelaySchedule(1)
    assert parse_go_duration("1.5h") == 5400.0
    assert parse_go_duration("0") == 0.0


def test_load_location_is_go_s() -> None:
    assert load_location("") is UTC and load_location("UTC") is UTC
    assert load_location("Europe/Paris") == ZoneInfo("Europe/Paris")
    with pytest.raises(CronError, match="unknown time zone Nowhere/City"):
        load_location("Nowhere/City")


def test_a_midnight_that_daylight_saving_skips_west_of_utc() -> None:
    # Santiago and Havana move 00:00 to 01:00. Go's time.Date puts the missing midnight at 23:00 the day before
    # (it takes the offset in force after the change), robfig's Next then adds the hour back, so the day runs.
    # Resolving 00:00 with the offset before the change (01:00 that day) made Next subtract an hour and skip it.
    scl, hav = ZoneInfo("America/Santiago"), ZoneInfo("America/Havana")
    sunday_noon = parse_standard("TZ=America/Santiago 0 12 * * 0")
    assert iso(sunday_noon.next(ts(2024, 9, 2, 0, 0, tz=scl))) == "2024-09-08 15:00:00"  # 12:00 -03
    assert iso(parse_standard("TZ=America/Santiago 0 12 8 9 *").next(ts(2024, 9, 2, 0, 0, tz=scl))) \
        == "2024-09-08 15:00:00"
    assert iso(parse_standard("TZ=America/Havana 0 12 * * 0").next(ts(2024, 3, 4, 0, 0, tz=hav))) \
        == "2024-03-10 16:00:00"  # 12:00 CDT
    # east of UTC robfig does skip such a day (Beirut, last Sunday of March): the port keeps that too
    bei = ZoneInfo("Asia/Beirut")
    assert iso(parse_standard("TZ=Asia/Beirut 0 12 * * 0").next(ts(2024, 3, 25, 0, 0, tz=bei))) \
        == "2024-04-07 09:00:00"
