"""Container logs in the CRI log format: the records the shim writes (time read, stream, full or partial
line), rotation between records, and reading them with kubectl logs' options (--timestamps, --since,
--since-time, --tail) as the kubelet's kuberuntime/logs does; old-format and damaged lines still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.runtime import crilog
from nodes.runtime.crilog import LogOptions
from nodes.runtime.shim import LogFile, records, stamp

T1 = "2026-11-27T13:10:01.000000001Z"
T2 = "2026-11-27T13:10:02.500000000Z"
T3 = "2026-11-27T13:10:03.000000000Z"


def rec(when: str, tag: str, content: str, stream: str = "stdout") -> bytes:
    return f"{when} {stream} {tag} {content}\n".encode()


def test_stamps_are_fixed_width_rfc3339nano_in_utc() -> None:
    assert stamp(1_795_785_001_123_456_789) == b"2026-11-27T13:10:01.123456789Z"
    assert stamp(1_795_785_001_000_000_000) == b"2026-11-27T13:10:01.000000000Z"  # zeros kept: stamps sort as text
    assert crilog.fixed_at(1_795_785_001.5) == "2026-11-27T13:10:01.500000000Z"


def test_a_read_becomes_full_records_and_a_partial_one_for_what_ends_mid_line() -> None:
    when = T1.encode()
    assert records(b"a\nb\n", when) == [rec(T1, "F", "a"), rec(T1, "F", "b")]
    assert records(b"a\nprompt> ", when) == [rec(T1, "F", "a"), rec(T1, "P", "prompt> ")]
    assert records(b"\n", when) == [rec(T1, "F", "")]
    # a line longer than the longest record is cut into partial records, the last one full
    assert records(b"abcdefg\n", when, longest=3) == [rec(T1, "P", "abc"), rec(T1, "P", "def"), rec(T1, "F", "g")]


def test_partial_records_make_one_line_with_the_time_of_its_first_part() -> None:
    data = rec(T1, "F", "one") + rec(T1, "P", "tw") + rec(T2, "P", "o a") + rec(T3, "F", "nd more") + rec(T3, "F", "x")
    assert crilog.text(data) == "one\ntwo and more\nx\n"
    assert crilog.render(data, LogOptions(timestamps=True), "") == f"{T1} one\n{T1} two and more\n{T3} x\n"
    # the output ends mid-line (a prompt): no newline is made up
    assert crilog.text(rec(T1, "F", "a") + rec(T2, "P", "> ")) == "a\n> "
    # stderr records read as stdout's (kubectl logs shows both)
    assert crilog.text(rec(T1, "F", "out") + rec(T2, "F", "err", stream="stderr")) == "out\nerr\n"


def test_since_keeps_lines_read_at_or_after_it_and_tail_counts_before_since() -> None:
    data = rec(T1, "F", "a") + rec(T2, "F", "b") + rec(T3, "F", "c")
    assert crilog.render(data, LogOptions(since=T2), "") == "b\nc\n"  # equal is not before: kept
    assert crilog.render(data, LogOptions(since=T3, timestamps=True), "") == f"{T3} c\n"
    assert crilog.render(data, LogOptions(since="2026-11-27T13:11:00.000000000Z"), "") == ""
    # as kuberuntime/logs: the last N lines of the log, then those of them not older than since
    assert crilog.render(data, LogOptions(tail=2), "") == "b\nc\n"
    assert crilog.render(data, LogOptions(tail=2, since=T1), "") == "b\nc\n"
    assert crilog.render(data, LogOptions(tail=1, since=T2), "") == "c\n"
    assert crilog.render(data, LogOptions(tail=2, since=T3), "") == "c\n"
    assert crilog.render(data, LogOptions(tail=0), "") == ""
    assert crilog.render(data, LogOptions(tail=5), "") == "a\nb\nc\n"
    # a line made of partial records counts once, whole
    split = rec(T1, "F", "a") + rec(T1, "P", "b") + rec(T2, "P", "c") + rec(T3, "F", "d")
    assert crilog.render(split, LogOptions(tail=1, timestamps=True), "") == f"{T1} bcd\n"


def test_since_of_takes_the_later_of_since_seconds_and_since_time() -> None:
    now = 1_795_785_010.0  # 2026-11-27T13:10:10Z
    assert crilog.since_of(5, None, now) == "2026-11-27T13:10:05.000000000Z"
    assert crilog.since_of(None, "2026-11-27T13:10:01Z", now) == "2026-11-27T13:10:01.000000000Z"
    assert crilog.since_of(5, "2026-11-27T13:10:08Z", now) == "2026-11-27T13:10:08.000000000Z"
    assert crilog.since_of(None, None, now) is None


def test_times_in_other_rfc3339_forms_are_read() -> None:
    assert crilog.fixed("2026-11-27T14:10:01.5+01:00") == "2026-11-27T13:10:01.500000000Z"
    assert crilog.fixed("2026-11-27T13:10:01Z") == "2026-11-27T13:10:01.000000000Z"
    data = b"2026-11-27T15:10:01.25+02:00 stdout F late\n" + rec(T1, "F", "early")
    assert crilog.render(data, LogOptions(timestamps=True), "") == \
        "2026-11-27T13:10:01.250000000Z late\n2026-11-27T13:10:01.000000001Z early\n"
    with pytest.raises(ValueError, match="cannot parse"):
        crilog.fixed("yesterday")


def test_an_old_format_log_and_a_damaged_line_are_read_as_they_are() -> None:
    old = b"hello from before\nno newline at the end"
    assert crilog.text(old) == "hello from before\nno newline at the end"
    # lines without a time get the fallback (the attempt's start, or the file's last change) ...
    assert crilog.render(old, LogOptions(timestamps=True), T1) == f"{T1} hello from before\n{T1} no newline at the end"
    assert crilog.render(old, LogOptions(since=T2), T1) == ""
    # ... or, after a record, the time of the record before them
    damaged = rec(T1, "F", "a") + rec(T2, "F", "b") + b"garbage without a head\n" + b"20xx-bad stdout F c\n" \
        + rec(T3, "X:y", "unknown tags read as full")
    assert crilog.render(damaged, LogOptions(timestamps=True), "") == (
        f"{T1} a\n{T2} b\n{T2} garbage without a head\n{T2} 20xx-bad stdout F c\n{T3} unknown tags read as full\n")
    assert crilog.render(damaged, LogOptions(since=T2), "") == \
        "b\ngarbage without a head\n20xx-bad stdout F c\nunknown tags read as full\n"
    assert crilog.text(b"") == ""


def test_a_follower_reads_on_from_an_offset_in_the_middle_of_a_line() -> None:
    data = rec(T1, "F", "a") + rec(T1, "P", "half ")
    offset = len(data)
    data += rec(T2, "F", "line") + rec(T3, "F", "next")
    assert crilog.continues(data, offset) and not crilog.continues(data, len(rec(T1, "F", "a"))) \
        and not crilog.continues(data, 0)
    # the start of the line was shown already, with its time: what continues it gets none
    assert crilog.render(data[offset:], LogOptions(timestamps=True), "", continued=True) == f"line\n{T3} next\n"
    # a record still being written is left for later
    assert crilog.complete(rec(T1, "F", "a") + b"2026-11-27T13:1") == len(rec(T1, "F", "a"))


def test_output_is_the_content_of_whole_records_as_an_attached_client_reads_it() -> None:
    data = rec(T1, "F", "a") + rec(T2, "P", "b") + rec(T3, "F", "c") + b"2026-11-27T13:10:03"
    content, rest = crilog.output(data)
    assert (content, rest) == (b"a\nbc\n", b"2026-11-27T13:10:03")
    content, rest = crilog.output(rest + b".000000000Z stdout F d\n")
    assert (content, rest) == (b"d\n", b"")


def test_the_log_file_rotates_between_records(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    log = LogFile(str(path), 300)
    log.open()
    try:
        for i in range(20):
            log.write(b"line %d of the container\n" % i, when=T1.encode())
        log.write(b"x" * 1000 + b"\n", when=T2.encode())  # longer than a file: cut into partial records
    finally:
        log.close()
    current, rotated = path.read_bytes(), (tmp_path / "0.log.1").read_bytes()
    assert len(current) <= 300 and len(rotated) <= 300
    for data in (current, rotated):  # whole records only: every line parses
        assert all(line.startswith(((T1 + " stdout ").encode(), (T2 + " stdout ").encode()))
                   for line in data.splitlines())
    assert crilog.text(current).endswith("x" * 10 + "\n")
