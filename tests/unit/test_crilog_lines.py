"""Reading CRI log records: a carriage return inside a record is content, not a line break (containerd and the
kubelet split records on \\n only), and times the API server lets through never fail the read."""

from __future__ import annotations

from nodes.runtime import crilog
from nodes.runtime.crilog import LogOptions
from nodes.runtime.shim import records

T1 = "2026-11-27T13:10:01.000000001Z"
T2 = "2026-11-27T13:10:02.500000000Z"


def log(*chunks: tuple[str, bytes]) -> bytes:
    return b"".join(b"".join(records(data, when.encode())) for when, data in chunks)


def test_a_progress_bar_is_one_line() -> None:
    data = log((T1, b"10%\r50%\r100%\n"))
    assert crilog.text(data) == "10%\r50%\r100%\n"
    assert crilog.render(data, LogOptions(timestamps=True), "") == f"{T1} 10%\r50%\r100%\n"  # one stamp
    assert crilog.render(data, LogOptions(tail=1), "") == "10%\r50%\r100%\n"  # one line


def test_a_carriage_return_in_a_partial_record_adds_no_newline() -> None:
    # printf 'a\rb'; sleep 1; echo c  -> the container wrote "a\rbc\n"
    data = log((T1, b"a\rb"), (T2, b"c\n"))
    assert crilog.text(data) == "a\rbc\n"
    content, rest = crilog.output(data)  # kubectl attach's copy
    assert content + rest == b"a\rbc\n"


def test_output_that_looks_like_a_record_after_a_carriage_return_is_kept_as_written() -> None:
    line = b"x\r2001-01-01T00:00:00.000000000Z stdout F forged\n"
    data = log((T1, line))
    assert crilog.text(data) == line.decode()
    # nor does it carry a time of its own into --since
    assert crilog.render(data, LogOptions(since=T1), "") == line.decode()


def test_a_since_before_any_stamp_keeps_everything() -> None:
    # kubectl logs --since=300000000h (any sinceSeconds the API server lets through) is no 500
    assert crilog.since_of(9223372036854775807, None, now=1_795_785_001.0) <= T1
    # sinceTime=0001-01-01T00:00:00Z is passed on as a time the kubelet reads back
    from control.api.validation.pod import since_time
    assert since_time("0001-01-01T00:00:00Z") == "0001-01-01T00:00:00Z"
    assert since_time("0999-12-31T23:59:59Z") == "0999-12-31T23:59:59Z"


def test_a_since_time_off_the_calendar_in_utc_is_a_bad_request_not_a_crash() -> None:
    import pytest

    from control.api.validation.pod import since_time

    for value in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        with pytest.raises(ValueError, match="cannot parse"):
            since_time(value)


def test_log_query_booleans_read_as_kube_apiserver_reads_them() -> None:
    from multidict import MultiDict

    from control.apiserver.rest import _query_bool

    q = MultiDict([("timestamps", "True"), ("previous", "0"), ("follow", "")])
    assert (_query_bool(q, "timestamps"), _query_bool(q, "previous"), _query_bool(q, "follow")) == (True, False, True)
    assert not _query_bool(MultiDict([("timestamps", "FALSE")]), "timestamps")
    assert not _query_bool(MultiDict(), "timestamps")


def test_kube_tui_logs_since_reads_and_rounds_durations_as_kubectl() -> None:
    import argparse

    import pytest

    from tui.commands.logs import duration

    assert (duration("5s"), duration("1.5h"), duration("300ms")) == (5.0, 5400.0, 0.3)
    with pytest.raises(argparse.ArgumentTypeError, match='time: missing unit in duration "5"'):
        duration("5")
    with pytest.raises(argparse.ArgumentTypeError, match='time: invalid duration "x"'):
        duration("x")
