"""kubectl events' table: Kind/name objects, LAST SEEN as its getInterval words it, oldest first."""

from __future__ import annotations

import pytest

from tui.commands.events import (
    _field_selector,
    _print_object,
    _wanted_types,
    event_time,
    header,
    last_seen,
    row,
)

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def ts(ago: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(NOW - ago, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_last_seen_and_rows_as_kubectl_events() -> None:
    once = {"metadata": {"namespace": "default"}, "type": "Normal", "reason": "Scheduled", "count": 1,
            "firstTimestamp": ts(120), "lastTimestamp": ts(120), "message": "Successfully assigned default/web to n1 ",
            "involvedObject": {"kind": "Pod", "name": "web"}}
    again = dict(once, reason="BackOff", type="Warning", count=4, firstTimestamp=ts(600), lastTimestamp=ts(30))
    series = dict(once, eventTime=ts(300), series={"count": 7, "lastObservedTime": ts(5)})
    assert [last_seen(e, NOW) for e in (once, again, series)] == ["2m", "30s (x4 over 10m)", "5s (x7 over 5m)"]
    assert row(once, False, NOW) == "2m\tNormal\tScheduled\tPod/web\tSuccessfully assigned default/web to n1"
    assert row(once, True, NOW).startswith("default\t2m\t")
    assert header(True) == "NAMESPACE\tLAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE"
    assert sorted([again, once, series], key=event_time) == [once, again, series]  # by the last time seen


def test_for_and_types_are_checked_as_kubectl_checks_them() -> None:
    assert _field_selector("deploy/web") == ("involvedObject.kind=Deployment,involvedObject.apiVersion=apps/v1,"
                                             "involvedObject.name=web")
    with pytest.raises(ValueError, match="^error: --for must be in resource/name form$"):
        _field_selector("web")
    assert _wanted_types(["Warning,normal", "Warning"]) == ["Warning", "normal"]
    with pytest.raises(ValueError, match="^error: valid --types are Normal or Warning$"):
        _wanted_types(["Error"])


def test_watched_events_print_one_by_one_as_kubectl_events_w(capsys: pytest.CaptureFixture[str]) -> None:
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "reason": "Started", "count": 1}
    _print_object(ev, "yaml", first=True)
    _print_object(ev, "yaml", first=False)
    out = capsys.readouterr().out
    assert out.startswith("apiVersion: v1\n") and out.count("---\n") == 1 and "EventList" not in out
    _print_object(ev, "json", first=True)
    assert capsys.readouterr().out.startswith('{\n    "kind": "Event",\n    "apiVersion": "v1",\n')
