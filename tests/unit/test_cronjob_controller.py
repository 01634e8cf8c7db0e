"""The CronJob controller's decisions (control/controllers/cronjob.py), with an injected clock and a fake API:
what it creates and when, the concurrency policies, deadlines, missed times, history limits, and a Job
that already exists after a restart."""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import UTC, datetime
from typing import Any

from control.api import meta
from control.api.cron import parse_standard
from control.api.defaults import apply_defaults
from control.controllers.cronjob import (
    SCHEDULED_TIMESTAMP_ANNOTATION,
    CronJobController,
    job_name,
    most_recent_schedule_time,
    next_schedule_delay,
    rfc1123z,
)
from control.errors import ApiError


def ts(*a: int) -> float:
    return datetime(*a, tzinfo=UTC).timestamp()


CREATED = ts(2026, 11, 27, 15, 40, 47)


class FakeApi:
    """The few verbs the controller uses, over dicts."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict] = {}
        self.cronjob: dict | None = None
        self.deleted: list[str] = []
        self.status_writes: list[dict] = []
        self._uid = 0

    async def create(self, obj: dict) -> dict:
        name = obj["metadata"]["name"]
        if name in self.jobs:
            raise ApiError(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
        self._uid += 1
        obj = copy.deepcopy(obj)
        obj["metadata"].update(uid=f"job-uid-{self._uid}", resourceVersion=str(100 + self._uid))
        self.jobs[name] = obj
        return copy.deepcopy(obj)

    async def get(self, kind: str, name: str, namespace: str | None = "default") -> dict:
        if kind == "CronJob":
            assert self.cronjob is not None
            return copy.deepcopy(self.cronjob)
        if name not in self.jobs:
            raise ApiError(404, "NotFound", f'jobs.batch "{name}" not found')
        return copy.deepcopy(self.jobs[name])

    async def delete(self, kind: str, name: str, namespace: str | None = "default", *,
                     propagation_policy: str | None = None) -> dict:
        assert propagation_policy == "Background"
        self.jobs.pop(name)
        self.deleted.append(name)
        return {}

    async def update_status(self, obj: dict) -> dict:
        self.status_writes.append(copy.deepcopy(obj))
        return obj


def make_controller(now: float) -> tuple[CronJobController, FakeApi, list[tuple[str, str, str]]]:
    c = CronJobController.__new__(CronJobController)
    api = FakeApi()
    events: list[tuple[str, str, str]] = []
    c.client = api  # type: ignore[assignment]
    c.recorder = type("R", (), {"event": lambda self, obj, t, reason, msg: events.append((t, reason, msg))})()  # type: ignore[assignment]
    c.log = logging.getLogger("test.cronjob")
    c.now = lambda: now
    return c, api, events


def cronjob(schedule: str = "* * * * *", **spec: Any) -> dict:
    cj = {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "hello", "namespace": "default", "uid": "cj-uid", "resourceVersion": "7",
                     "creationTimestamp": meta.to_rfc3339(CREATED)},
        "spec": {"schedule": schedule, **spec, "jobTemplate": {
            "metadata": {"labels": {"team": "a"}, "annotations": {"note": "n"}},
            "spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                           "containers": [{"name": "c", "image": "busybox", "command": ["date"]}]}}}}},
        "status": {},
    }
    apply_defaults(cj)
    return cj


def finished(job: dict, kind: str, at: float) -> dict:
    job = copy.deepcopy(job)
    job["status"] = {"startTime": meta.to_rfc3339(at - 5), "conditions": [{"type": kind, "status": "True"}]}
    if kind == "Complete":
        job["status"]["completionTime"] = meta.to_rfc3339(at)
    return job


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_nothing_before_the_first_time_then_wakes_at_it() -> None:
    c, api, events = make_controller(ts(2026, 11, 27, 15, 40, 50))
    requeue, changed = run(c.sync_cronjob(cronjob(), []))
    assert not api.jobs and not changed and not events
    assert abs(requeue - 10.1) < 1e-6  # 15:41:00 plus nextScheduleDelta, not a poll


def test_creates_the_job_of_the_scheduled_minute() -> None:
    now = ts(2026, 11, 27, 15, 41, 0) + 0.1
    c, api, events = make_controller(now)
    cj = cronjob()
    requeue, changed = run(c.sync_cronjob(cj, []))
    name = f"hello-{int(ts(2026, 11, 27, 15, 41)) // 60}"
    assert name == "hello-29929901" and list(api.jobs) == [name]
    job = api.jobs[name]
    assert job["metadata"]["labels"] == {"team": "a"}
    assert job["metadata"]["annotations"] == {"note": "n", SCHEDULED_TIMESTAMP_ANNOTATION: "2026-11-27T15:41:00Z"}
    assert job["metadata"]["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello",
                                                   "uid": "cj-uid", "controller": True, "blockOwnerDeletion": True}]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]
    assert "backoffLimit" not in job["spec"]  # the Job is defaulted when the API server creates it
    assert changed and cj["status"]["lastScheduleTime"] == "2026-11-27T15:41:00Z"
    assert [(r["name"], r["uid"]) for r in cj["status"]["active"]] == [(name, "job-uid-1")]
    assert events == [("Normal", "SuccessfulCreate", f"Created job {name}")]
    assert abs(requeue - 60.0) < 1e-6
    # the same minute again: already processed, nothing more
    requeue, changed = run(c.sync_cronjob(cj, list(api.jobs.values())))
    assert len(api.jobs) == 1 and not changed and len(events) == 1


def test_scheduled_timestamp_annotation_is_in_the_time_zone() -> None:
    c, api, _ = make_controller(ts(2026, 11, 27, 14, 0, 0) + 0.5)
    cj = cronjob("0 9 * * *", timeZone="America/New_York")
    cj["metadata"]["creationTimestamp"] = "2026-11-27T13:00:00Z"
    run(c.sync_cronjob(cj, []))
    (job,) = api.jobs.values()
    assert job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION] == "2026-11-27T09:00:00-05:00"


def test_forbid_skips_while_a_job_runs_and_replace_replaces_it() -> None:
    now = ts(2026, 11, 27, 15, 42, 0) + 0.1
    for policy in ("Forbid", "Replace", "Allow"):
        c, api, events = make_controller(now)
        cj = cronjob(concurrencyPolicy=policy)
        cj["status"]["lastScheduleTime"] = "2026-11-27T15:41:00Z"
        old = run(api.create({"metadata": {"name": "hello-29929901", "namespace": "default"}}))
        cj["status"]["active"] = [{"kind": "Job", "name": old["metadata"]["name"], "namespace": "default",
                                   "uid": old["metadata"]["uid"]}]
        run(c.sync_cronjob(cj, [old]))
        if policy == "Forbid":
            assert list(api.jobs) == ["hello-29929901"]
            assert events == [("Normal", "JobAlreadyActive",
                               "Not starting job because prior execution is running and concurrency policy is Forbid")]
        elif policy == "Replace":
            assert api.deleted == ["hello-29929901"] and list(api.jobs) == ["hello-29929902"]
            assert events == [("Normal", "SuccessfulDelete", "Deleted job hello-29929901"),
                              ("Normal", "SuccessfulCreate", "Created job hello-29929902")]
            assert [r["name"] for r in cj["status"]["active"]] == ["hello-29929902"]
        else:
            assert sorted(api.jobs) == ["hello-29929901", "hello-29929902"]
            assert [r["name"] for r in cj["status"]["active"]] == ["hello-29929901", "hello-29929902"]


def test_suspend_and_a_starting_deadline() -> None:
    now = ts(2026, 11, 27, 15, 43, 30)
    c, api, events = make_controller(now)
    assert run(c.sync_cronjob(cronjob(suspend=True), [])) == (None, False)
    assert not api.jobs
    # 15:43:00 is 30 s late, its deadline 10 s: it is not run; the next look is at 15:44
    requeue, _ = run(c.sync_cronjob(cronjob(startingDeadlineSeconds=10), []))
    assert not api.jobs and abs(requeue - 30.1) < 1e-6
    requeue, _ = run(c.sync_cronjob(cronjob(startingDeadlineSeconds=60), []))
    assert list(api.jobs) == [job_name({"metadata": {"name": "hello"}}, ts(2026, 11, 27, 15, 43))]
    assert not events[:-1]


def test_too_many_missed_times_runs_only_the_latest() -> None:
    now = CREATED + 3 * 3600 + 5  # 180 minutes missed
    c, api, events = make_controller(now)
    cj = cronjob()
    run(c.sync_cronjob(cj, []))
    assert list(api.jobs) == [f"hello-{int(now) // 60}"]
    assert events[0] == ("Warning", "TooManyMissedTimes",
                         "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
    assert events[1][1] == "SuccessfulCreate"
    _, most_recent, missed = most_recent_schedule_time(cronjob(), CREATED + 300, parse_standard("* * * * *"), True)
    assert missed == "few" and most_recent == ts(2026, 11, 27, 15, 45)


def test_a_restart_does_not_run_a_time_twice() -> None:
    """The status write after a create was lost (a crash): the create answers AlreadyExists, and the Job
    that is there, ours, goes into status.active; no second Job, no second SuccessfulCreate."""
    now = ts(2026, 11, 27, 15, 41, 0) + 2
    c, api, events = make_controller(now)
    before = cronjob()
    run(c.sync_cronjob(copy.deepcopy(before), []))
    assert len(api.jobs) == 1 and len(events) == 1
    # a new controller, same clock, the CronJob as it was before the lost write; its informer has not
    # seen the Job yet either
    c2, _, events2 = make_controller(now + 1)
    c2.client = api  # type: ignore[assignment]
    cj = copy.deepcopy(before)
    run(c2.sync_cronjob(cj, []))
    assert len(api.jobs) == 1 and events2 == []
    assert [r["name"] for r in cj["status"]["active"]] == ["hello-29929901"]
    assert cj["status"]["lastScheduleTime"] == "2026-11-27T15:41:00Z"


def test_a_job_of_that_name_someone_else_owns_is_left_alone() -> None:
    c, api, events = make_controller(ts(2026, 11, 27, 15, 41, 0) + 1)
    run(api.create({"metadata": {"name": "hello-29929901", "namespace": "default"}}))
    cj = cronjob()
    assert run(c.sync_cronjob(cj, [])) == (None, False)
    assert "active" not in cj["status"] and events == []


def test_completed_jobs_leave_active_and_history_is_trimmed() -> None:
    now = ts(2026, 11, 27, 16, 0, 30)
    c, api, events = make_controller(now)
    cj = cronjob()
    cj["status"]["lastScheduleTime"] = "2026-11-27T16:00:00Z"
    jobs = []
    for i, minute in enumerate((50, 52, 54, 56, 58)):
        job = run(api.create({"metadata": {"name": f"hello-{i}", "namespace": "default",
                                           "ownerReferences": [{"kind": "CronJob", "uid": "cj-uid", "controller": True}]}}))
        jobs.append(finished(job, "Complete", ts(2026, 11, 27, 15, minute)))
    for i in (5, 6):
        job = run(api.create({"metadata": {"name": f"hello-{i}", "namespace": "default"}}))
        jobs.append(finished(job, "Failed", ts(2026, 11, 27, 15, 50 + i)))
    cj["status"]["active"] = [{"kind": "Job", "name": "hello-4", "uid": jobs[4]["metadata"]["uid"]}]
    assert run(c.cleanup_finished_jobs(cj, jobs))
    assert api.deleted == ["hello-0", "hello-1", "hello-5"]  # 3 successful and 1 failed are kept, the oldest go
    requeue, changed = run(c.sync_cronjob(cj, [j for j in jobs if j["metadata"]["name"] not in api.deleted]))
    assert changed and "active" not in cj["status"]
    assert cj["status"]["lastSuccessfulTime"] == "2026-11-27T15:56:00Z"  # the latest completion outside active
    assert ("Normal", "SawCompletedJob", "Saw completed job: hello-4, status: Complete") in events
    assert [e for e in events if e[1] == "SuccessfulDelete"] == [
        ("Normal", "SuccessfulDelete", f"Deleted job hello-{i}") for i in (0, 1, 5)]


def test_a_missing_active_job_is_dropped() -> None:
    c, api, events = make_controller(ts(2026, 11, 27, 15, 40, 50))
    cj = cronjob()
    cj["status"]["active"] = [{"kind": "Job", "name": "hello-1", "namespace": "default", "uid": "gone"}]
    _, changed = run(c.sync_cronjob(cj, []))
    assert changed and "active" not in cj["status"]
    assert events == [("Normal", "MissingJob", "Active job went missing: hello-1")]


def test_a_schedule_that_never_comes_and_a_bad_zone_are_events() -> None:
    c, api, events = make_controller(CREATED + 10)
    assert run(c.sync_cronjob(cronjob("0 0 31 2 *"), [])) == (None, False)
    assert events == [("Warning", "InvalidSchedule",
                       "invalid schedule: 0 0 31 2 * : time difference between two schedules is less than 1 second")]
    events.clear()
    run(c.sync_cronjob(cronjob(timeZone="Nowhere/City"), []))
    assert events == [("Warning", "UnknownTimeZone", 'invalid timeZone: "Nowhere/City": unknown time zone Nowhere/City')]


def test_every_and_the_wake_up_delay() -> None:
    sched = parse_standard("@every 2s")
    cj = cronjob("@every 2s")
    assert abs(next_schedule_delay(cj, CREATED + 0.5, sched) - 1.6) < 1e-6
    _, most_recent, _ = most_recent_schedule_time(cj, CREATED + 2.2, sched, True)
    assert most_recent == int(CREATED) + 2


def test_rfc1123z() -> None:
    assert rfc1123z(ts(2026, 11, 27, 15, 41)) == "Fri, 27 Nov 2026 15:41:00 +0000"
