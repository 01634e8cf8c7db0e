"""The CronJob controller (pkg/controller/cronjob, ControllerV2): a Job per scheduled time, from the job template.

Each sync works out the most recent scheduled time not yet run (robfig/cron's Next, control/api/cron.py),
creates the Job `NAME-<scheduled time in minutes since the epoch>` for it unless the concurrency policy,
the starting deadline or `suspend` says no, keeps `status.active`, `lastScheduleTime` and
`lastSuccessfulTime`, deletes the oldest finished Jobs beyond the history limits, and puts the key back
in the queue for the next scheduled time (plus 100 ms), so it wakes up when there is work and not before.

The Job's name is the guard against running a time twice: after a restart, or when the status write that
followed a create was lost, the create answers AlreadyExists and the Job is (re)entered in `status.active`.
The clock is `self.now` (time.time), which the unit tests replace.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from control.api import cron, meta
from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import NORMAL, WARNING, EventBroadcaster
from control.controllers.informers import BY_CONTROLLER, SharedInformers
from control.errors import ApiError
from control.informer import Key
from control.timings import Timings

SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1  # nextScheduleDelta: wake a little after the time, in case clocks differ
TOO_MANY_MISSED = 100
NONE_MISSED, FEW_MISSED, MANY_MISSED = "none", "few", "many"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- schedule arithmetic (utils.go) -----------------------------------------------------------------


def rfc1123z(t: float) -> str:
    """Go's time.RFC1123Z of t in UTC: 'Fri, 27 Nov 2026 15:41:00 +0000' (the MissSchedule event's words)."""
    d = datetime.fromtimestamp(t, UTC)
    return f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year} {d:%H:%M:%S} +0000"


def rfc3339_in(t: float, zone_name: str) -> str:
    """Go's time.RFC3339 of t in a zone ("" is UTC): '2026-11-27T15:41:00Z', '2026-11-27T10:41:00-05:00'."""
    d = datetime.fromtimestamp(t, cron.load_location(zone_name))
    offset = d.utcoffset()
    if not offset:
        return d.strftime("%Y-%m-%dT%H:%M:%SZ")
    return d.isoformat(timespec="seconds")


def format_schedule(cj: dict) -> tuple[str, bool]:
    """formatSchedule: the schedule with the timeZone as a TZ= prefix; True when the schedule has its own TZ."""
    spec = cj.get("spec") or {}
    schedule = str(spec.get("schedule") or "")
    if "TZ" in schedule:
        return schedule, True
    tz = spec.get("timeZone")
    if tz is not None:
        try:
            cron.load_location(tz)
        except cron.CronError:
            return schedule, False
        return f"TZ={tz} {schedule}", False
    return schedule, False


def most_recent_schedule_time(cj: dict, now: float, sched: cron.Schedule,
                              include_deadline: bool) -> tuple[float, float | None, str]:
    """mostRecentScheduleTime: (the last schedule or creation time, the most recent time a Job is due or
    None, how many times were missed: none, few or many (over 100)). Raises CronError for a schedule whose
    times are less than a second apart (a date that never comes, such as 31 February)."""
    md, st, spec = cj.get("metadata") or {}, cj.get("status") or {}, cj.get("spec") or {}
    earliest = meta.parse_time(md.get("creationTimestamp")) or 0.0
    last = meta.parse_time(st.get("lastScheduleTime"))
    if last is not None:
        earliest = last
    deadline_seconds = spec.get("startingDeadlineSeconds")
    if include_deadline and deadline_seconds is not None:
        # the controller is not going to schedule anything before this
        earliest = max(earliest, now - float(deadline_seconds))
    t1 = sched.next(earliest)
    if t1 is not None and now < t1:
        return earliest, None, NONE_MISSED
    t2 = sched.next(t1) if t1 is not None else None
    if t1 is not None and t2 is not None and now < t2:
        return earliest, t1, NONE_MISSED
    between = round(t2 - t1) if t1 is not None and t2 is not None else 0
    if between < 1:
        raise cron.CronError("time difference between two schedules is less than 1 second")
    assert t1 is not None
    missed = int(now - t1) // between + 1
    # jump close to now, then let the schedule find the exact times (irregular ones such as 30 6-16/4 * * 1-5)
    potential = t1 + (missed - 2) * between
    most_recent: float | None = None
    t = sched.next(potential)
    while t is not None and t <= now:
        most_recent = t
        t = sched.next(t)
    kind = MANY_MISSED if missed > TOO_MANY_MISSED else FEW_MISSED if missed > 0 else NONE_MISSED
    return earliest, most_recent, kind


def next_schedule_time(cj: dict, now: float, sched: cron.Schedule) -> tuple[float | None, bool]:
    """nextScheduleTime: the time a Job is due now (or None), and whether over 100 times were missed
    (only the most recent of them runs). Raises CronError as most_recent_schedule_time."""
    _, most_recent, missed = most_recent_schedule_time(cj, now, sched, True)
    if most_recent is None or most_recent > now:
        return None, False
    return most_recent, missed == MANY_MISSED


def next_schedule_delay(cj: dict, now: float, sched: cron.Schedule) -> float | None:
    """nextScheduleTimeDuration: seconds until the next scheduled time, plus 100 ms; None if there is none."""
    try:
        earliest, most_recent, missed = most_recent_schedule_time(cj, now, sched, False)
    except cron.CronError:
        most_recent = now
    else:
        if most_recent is None:
            most_recent = earliest if missed == NONE_MISSED else now
    nxt = sched.next(most_recent)
    if nxt is None:
        return None
    return nxt + NEXT_SCHEDULE_DELTA - now


def job_name(cj: dict, scheduled: float) -> str:
    """getJobName: NAME-<scheduled time in minutes since the epoch>, the same for every try at that time."""
    return f"{cj['metadata']['name']}-{int(scheduled) // 60}"


def job_from_template(cj: dict, scheduled: float) -> dict:
    """getJobFromTemplate2: the template's labels and annotations, the scheduled-timestamp annotation (in the
    CronJob's time zone), the CronJob as controller, and a copy of the template's Job spec."""
    template = (cj.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = rfc3339_in(scheduled, (cj.get("spec") or {}).get("timeZone") or "")
    md: dict[str, Any] = {
        "name": job_name(cj, scheduled),
        "namespace": cj["metadata"].get("namespace"),
        "labels": dict(tmeta.get("labels") or {}),
        "annotations": annotations,
        "ownerReferences": [meta.owner_ref(cj, controller=True)],
    }
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": copy.deepcopy(template.get("spec") or {})}


def finished_type(job: dict) -> str | None:
    """getFinishedStatus: Complete or Failed when that condition is True, else None."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def job_ref(job: dict) -> dict:
    """An ObjectReference to a Job, as status.active holds them."""
    md = job["metadata"]
    ref = {"kind": "Job", "namespace": md.get("namespace"), "name": md["name"], "uid": md.get("uid"),
           "apiVersion": "batch/v1"}
    if md.get("resourceVersion"):
        ref["resourceVersion"] = md["resourceVersion"]
    return ref


def _start_key(job: dict) -> tuple:
    """byJobStartTime: oldest start first, Jobs not started last, names break ties."""
    start = meta.parse_time((job.get("status") or {}).get("startTime"))
    return (start is None, start or 0.0, job["metadata"]["name"])


def _in_active(cj: dict, uid: str) -> bool:
    return any(r.get("uid") == uid for r in (cj.get("status") or {}).get("active") or [])


def _delete_from_active(cj: dict, uid: str) -> None:
    st = cj.setdefault("status", {})
    st["active"] = [r for r in st.get("active") or [] if r.get("uid") != uid]
    if not st["active"]:
        del st["active"]  # omitempty: kubectl shows no `active: []`


class CronJobController(Controller):
    name = "cronjob-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.now: Callable[[], float] = time.time
        self.cj_informer = informers.get("CronJob")
        self.job_informer = informers.get("Job")
        self.cj_informer.add_handler(self.enqueue, self._cronjob_updated, None)
        self.job_informer.add_handler(self._job_added, self._job_updated, self._job_deleted)

    # -- handlers -----------------------------------------------------------------------------------
    def _owner(self, job: dict) -> dict | None:
        ref = meta.controller_of(job)
        if ref is None or ref.get("kind") != "CronJob":
            return None
        cj = self.cj_informer.get(job["metadata"].get("namespace"), ref.get("name", ""))
        if cj is None or cj["metadata"].get("uid") != ref.get("uid"):
            return None
        return cj

    def _job_added(self, job: dict) -> None:
        cj = self._owner(job)
        if cj is not None:
            self.enqueue(cj)

    def _job_updated(self, old: dict, new: dict) -> None:
        if (old.get("metadata") or {}).get("resourceVersion") == (new.get("metadata") or {}).get("resourceVersion"):
            return
        if meta.controller_of(old) != meta.controller_of(new):
            cj = self._owner(old)
            if cj is not None:
                self.enqueue(cj)
        self._job_added(new)

    def _job_deleted(self, job: dict) -> None:
        self._job_added(job)

    def _cronjob_updated(self, old: dict, new: dict) -> None:
        """updateCronJob: a new schedule or zone is looked at when it is next due; any other change now."""
        ospec, nspec = old.get("spec") or {}, new.get("spec") or {}
        if ospec.get("schedule") != nspec.get("schedule") or ospec.get("timeZone") != nspec.get("timeZone"):
            try:
                sched = cron.parse_standard(format_schedule(new)[0])
            except cron.CronError:
                self.recorder.event(new, WARNING, "UnParseableCronJobSchedule",
                                    f"unparseable schedule for cronjob: {nspec.get('schedule')}")
                return
            delay = next_schedule_delay(new, self.now(), sched)
            self.enqueue_after(new, delay if delay is not None else 0.0)
            return
        self.enqueue(new)

    # -- sync ---------------------------------------------------------------------------------------
    def jobs_of(self, cj: dict) -> list[dict]:
        """The Jobs this CronJob controls (getJobsToBeReconciled)."""
        uid = cj["metadata"].get("uid", "")
        return [j for j in self.job_informer.by_index(BY_CONTROLLER, uid)
                if (meta.controller_of(j) or {}).get("kind") == "CronJob"]

    async def sync(self, key: Key) -> None:
        ns, name = key
        cached = self.cj_informer.get(ns, name)
        if cached is None:
            return
        jobs = self.jobs_of(cached)
        cj = copy.deepcopy(cached)
        cleaned = await self.cleanup_finished_jobs(cj, jobs)
        sync_error: Exception | None = None
        try:
            requeue, changed = await self.sync_cronjob(cj, jobs)
        except ApiError as e:
            requeue, changed, sync_error = None, True, e
        if cleaned or changed:
            if (cj.get("status") or {}) != (cached.get("status") or {}):
                await self.client.update_status(cj)
        if requeue is not None:
            self.queue.add_after(key, max(requeue, 0.0))
        elif sync_error is not None:
            raise sync_error

    async def sync_cronjob(self, cj: dict, jobs: list[dict]) -> tuple[float | None, bool]:
        """syncCronJob: (seconds until the next look, or None; whether the status changed). Edits cj in place."""
        now = self.now()
        changed = False
        status = cj.setdefault("status", {})
        children = set()
        for j in jobs:
            uid = j["metadata"].get("uid", "")
            children.add(uid)
            found = _in_active(cj, uid)
            finished = finished_type(j)
            if not found and finished is None:
                fresh = await self.client.get("CronJob", cj["metadata"]["name"], cj["metadata"].get("namespace"))
                if _in_active(fresh, uid):
                    # our own status write, which the cache had not seen yet
                    cj["status"] = status = copy.deepcopy(fresh.get("status") or {})
                    cj["metadata"]["resourceVersion"] = fresh["metadata"].get("resourceVersion")
                    continue
                self.recorder.event(cj, WARNING, "UnexpectedJob",
                                    f"Saw a job that the controller did not create or forgot: {j['metadata']['name']}")
            elif found and finished is not None:
                _delete_from_active(cj, uid)
                self.recorder.event(cj, NORMAL, "SawCompletedJob",
                                    f"Saw completed job: {j['metadata']['name']}, status: {finished}")
                changed = True
            elif finished == "Complete":
                # a Job need not be active to count: its completion time is what lastSuccessfulTime shows
                done = (j.get("status") or {}).get("completionTime")
                last = status.get("lastSuccessfulTime")
                if done and (last is None or (meta.parse_time(done) or 0) > (meta.parse_time(last) or 0)):
                    status["lastSuccessfulTime"] = done
                    changed = True
        for ref in list((cj.get("status") or {}).get("active") or []):
            if ref.get("uid") in children:
                continue
            # the cache may be behind: ask the server before calling the Job missing
            try:
                await self.client.get("Job", ref.get("name", ""), ref.get("namespace") or cj["metadata"].get("namespace"))
            except ApiError as e:
                if e.code != 404:
                    raise
                self.recorder.event(cj, NORMAL, "MissingJob", f"Active job went missing: {ref.get('name')}")
                _delete_from_active(cj, ref.get("uid", ""))
                changed = True
        status = cj.setdefault("status", {})

        if cj["metadata"].get("deletionTimestamp"):
            return None, changed
        spec = cj.get("spec") or {}
        tz = spec.get("timeZone")
        if tz is not None:
            try:
                cron.load_location(tz)
            except cron.CronError as e:
                self.recorder.event(cj, WARNING, "UnknownTimeZone", f'invalid timeZone: "{tz}": {e}')
                return None, changed
        if spec.get("suspend"):
            return None, changed
        schedule, own_tz = format_schedule(cj)
        if own_tz:
            self.recorder.event(cj, WARNING, "UnsupportedSchedule",
                                f'CRON_TZ or TZ used in schedule "{schedule}" is not officially supported, see '
                                "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details")
        try:
            sched = cron.parse_standard(schedule)
        except cron.CronError as e:
            self.recorder.event(cj, WARNING, "UnparseableSchedule", f'unparseable schedule: "{spec.get("schedule")}" : {e}')
            return None, changed
        try:
            scheduled, many_missed = next_schedule_time(cj, now, sched)
        except cron.CronError as e:
            self.recorder.event(cj, WARNING, "InvalidSchedule", f"invalid schedule: {spec.get('schedule')} : {e}")
            return None, changed
        if many_missed:
            self.recorder.event(cj, WARNING, "TooManyMissedTimes",
                                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
        if scheduled is None:
            return next_schedule_delay(cj, now, sched), changed
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + float(deadline) < now:
            self.recorder.event(cj, WARNING, "MissSchedule", f"Missed scheduled time to start a job: {rfc1123z(scheduled)}")
            return next_schedule_delay(cj, now, sched), changed
        name = job_name(cj, scheduled)
        active = status.get("active") or []
        if any(r.get("name") == name for r in active) or meta.parse_time(status.get("lastScheduleTime")) == scheduled:
            return next_schedule_delay(cj, now, sched), changed  # this time is already processed
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and active:
            self.recorder.event(cj, NORMAL, "JobAlreadyActive",
                                "Not starting job because prior execution is running and concurrency policy is Forbid")
            return next_schedule_delay(cj, now, sched), changed
        if policy == "Replace":
            for ref in list(active):
                try:
                    job = await self.client.get("Job", ref.get("name", ""), ref.get("namespace") or cj["metadata"].get("namespace"))
                except ApiError as e:
                    self.recorder.event(cj, WARNING, "FailedGet", f"Get job: {e.message}")
                    raise
                if not await self.delete_job(cj, job):
                    raise ApiError(500, "InternalError", f"could not replace job {ref.get('namespace')}/{ref.get('name')}")
                changed = True
        request = job_from_template(cj, scheduled)
        try:
            created = await self.client.create(request)
            self.recorder.event(cj, NORMAL, "SuccessfulCreate", f"Created job {created['metadata']['name']}")
        except ApiError as e:
            if e.code != 409 or e.reason != "AlreadyExists":
                if not (e.code == 403 and "being terminated" in e.message):
                    self.recorder.event(cj, WARNING, "FailedCreate", f"Error creating job: {e.message}")
                raise
            # created before, by us (then our status write was lost) or by someone else (then it is theirs)
            created = await self.client.get("Job", name, cj["metadata"].get("namespace"))
            ref = meta.controller_of(created) or {}
            if ref.get("uid") != cj["metadata"].get("uid") or _in_active(cj, created["metadata"].get("uid", "")):
                return None, changed
            self.log.info("job %s/%s already exists: it is entered in the CronJob's active list",
                          created["metadata"].get("namespace"), name)
        status.setdefault("active", []).append(job_ref(created))
        status["lastScheduleTime"] = meta.to_rfc3339(scheduled)
        return next_schedule_delay(cj, now, sched), True

    async def cleanup_finished_jobs(self, cj: dict, jobs: list[dict]) -> bool:
        """cleanupFinishedJobs: the oldest finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit go."""
        spec = cj.get("spec") or {}
        succeeded_limit, failed_limit = spec.get("successfulJobsHistoryLimit"), spec.get("failedJobsHistoryLimit")
        if succeeded_limit is None and failed_limit is None:
            return False
        changed = False
        for kind, limit in (("Complete", succeeded_limit), ("Failed", failed_limit)):
            if limit is None:
                continue
            done = sorted((j for j in jobs if finished_type(j) == kind), key=_start_key)
            for job in done[:max(0, len(done) - int(limit))]:
                if await self.delete_job(cj, job):
                    changed = True
        return changed

    async def delete_job(self, cj: dict, job: dict) -> bool:
        """deleteJob: the Job (in the background: the garbage collector takes its pods), then its active entry."""
        md = job["metadata"]
        try:
            await self.client.delete("Job", md["name"], md.get("namespace"), propagation_policy="Background")
        except ApiError as e:
            self.recorder.event(cj, WARNING, "FailedDelete", f"Deleted job: {e.message}")
            self.log.warning("deleting job %s/%s of cronjob %s: %s", md.get("namespace"), md["name"],
                             cj["metadata"]["name"], e.message)
            return False
        _delete_from_active(cj, md.get("uid", ""))
        self.recorder.event(cj, NORMAL, "SuccessfulDelete", f"Deleted job {md['name']}")
        return True
