"""The Job controller (pkg/controller/job): run pods to completion, retry failures with back-off, finish.

NonIndexed and Indexed completion, podFailurePolicy, suspend, activeDeadlineSeconds, managedBy, and the
interim FailureTarget / SuccessCriteriaMet conditions before Failed / Complete (Kubernetes 1.31+). An Indexed
Job may also have backoffLimitPerIndex / maxFailedIndexes (each index retried on its own, with its own
back-off, and failed in status.failedIndexes) and a successPolicy (success once some indexes succeeded).
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass
from typing import Any

from control.api import meta
from control.api.defaults import JOB_CONTROLLER_UID, JOB_NAME, LEGACY_JOB_CONTROLLER_UID, LEGACY_JOB_NAME
from control.api.labels import from_label_selector
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers import job_failure_policy as failure_policy
from control.controllers import job_indexes
from control.controllers import job_success_policy as success_policy
from control.controllers.base import Controller
from control.controllers.events import NORMAL, WARNING, EventBroadcaster
from control.controllers.informers import SharedInformers
from control.informer import Key, key_of
from control.timings import Timings

# MaxPodCreateDeletePerSync
MAX_PODS_PER_SYNC = 500
# batch.JobControllerName: the spec.managedBy of the Jobs this controller syncs (and of those without one)
MANAGED_BY = "kubernetes.io/job-controller"


@dataclass
class PodCounts:
    active: int = 0
    ready: int = 0
    succeeded: int = 0
    failed: int = 0
    terminating: int = 0


def count_pods(pods: list[dict]) -> PodCounts:
    c = PodCounts()
    for p in pods:
        ph = cu.phase(p)
        if ph == "Succeeded":
            c.succeeded += 1
        elif ph == "Failed":
            c.failed += 1
        elif cu.is_terminating(p):
            c.terminating += 1
        else:
            c.active += 1
            if cu.is_pod_ready(p):
                c.ready += 1
    return c


def want_active(job: dict, active: int, succeeded: int) -> int:
    """How many pods should be running now (manageJob's wantActive)."""
    spec = job.get("spec") or {}
    if spec.get("suspend"):
        return 0
    parallelism = int(spec.get("parallelism") if spec.get("parallelism") is not None else 1)
    completions = spec.get("completions")
    if completions is None:
        # a work queue: once one pod succeeded, start no more, let the running ones finish
        return active if succeeded > 0 else parallelism
    return max(0, min(int(completions) - succeeded, parallelism))


def is_complete(job: dict, counts: PodCounts) -> bool:
    completions = (job.get("spec") or {}).get("completions")
    if completions is None:
        return counts.succeeded > 0 and counts.active == 0
    return counts.succeeded >= int(completions)


def exceeds_backoff_limit(job: dict, counts: PodCounts, pods: list[dict]) -> bool:
    """Failed pods beyond backoffLimit, or (OnFailure) as many container restarts as the limit."""
    spec = job.get("spec") or {}
    limit = int(spec.get("backoffLimit") if spec.get("backoffLimit") is not None else 6)
    if counts.failed > limit:
        return True
    template_spec = (spec.get("template") or {}).get("spec") or {}
    if template_spec.get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for p in pods:
        if cu.phase(p) not in ("Running", "Pending"):
            continue
        st = p.get("status") or {}
        for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
    return restarts > 0 if limit == 0 else restarts >= limit


def past_active_deadline(job: dict, now: float | None = None) -> bool:
    ads = (job.get("spec") or {}).get("activeDeadlineSeconds")
    start = meta.parse_time((job.get("status") or {}).get("startTime"))
    if ads is None or start is None:
        return False
    now = time.time() if now is None else now
    return now - start >= int(ads)


def failure_time(pod: dict) -> float | None:
    """When a failed pod finished: its containers' finishedAt, else its last condition change."""
    st = pod.get("status") or {}
    times = []
    for cs in st.get("containerStatuses") or []:
        t = meta.parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if t is not None:
            times.append(t)
    if not times:
        for c in st.get("conditions") or []:
            t = meta.parse_time(c.get("lastTransitionTime"))
            if t is not None:
                times.append(t)
    return max(times) if times else None


def backoff_remaining(failed_pods: list[dict], base: float, cap: float, now: float | None = None) -> float:
    """Seconds to wait before creating a replacement: base * 2^(failures-1), capped, from the last failure."""
    if not failed_pods:
        return 0.0
    last = max((failure_time(p) or 0.0) for p in failed_pods)
    if not last:
        return 0.0
    delay = min(base * (2 ** (len(failed_pods) - 1)), cap)
    now = time.time() if now is None else now
    return max(0.0, last + delay - now)


def finished_condition(job: dict) -> str | None:
    """IsJobFinished: the type of the Job's terminal condition (Complete or Failed), if it has one."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def managed_by_other(job: dict) -> str | None:
    """managedByExternalController: the spec.managedBy naming another controller (JobManagedBy), else None."""
    managed_by = (job.get("spec") or {}).get("managedBy")
    return str(managed_by) if managed_by and managed_by != MANAGED_BY else None


def only_replace_failed(job: dict) -> bool:
    """onlyReplaceFailedPods: a pod being deleted is replaced only once it has failed."""
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def _true_condition(job_status: dict, type_: str) -> dict | None:
    c = cu.condition(job_status, type_)
    return c if c is not None and c.get("status") == "True" else None


def _job_condition(type_: str, reason: str, message: str, status: str = "True") -> dict:
    now = meta.now()
    return {"type": type_, "status": status, "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message}


def ensure_condition(conditions: list[dict], type_: str, status: str, reason: str, message: str) -> tuple[list[dict], bool]:
    """ensureJobConditionStatus: set the condition of type_; a False one is never added, only turned to."""
    for i, c in enumerate(conditions):
        if c.get("type") == type_:
            if (c.get("status"), c.get("reason"), c.get("message")) == (status, reason, message):
                return conditions, False
            return [*conditions[:i], _job_condition(type_, reason, message, status), *conditions[i + 1:]], True
    if status == "False":
        return conditions, False
    return [*conditions, _job_condition(type_, reason, message, status)], True


# The interim condition a Job gets as soon as its fate is known, and the terminal one it gets once no pod of
# it is left terminating (Kubernetes 1.31+, JobManagedBy / JobPodReplacementPolicy).
TERMINAL_OF = {"FailureTarget": "Failed", "SuccessCriteriaMet": "Complete"}


@dataclass
class SyncState:
    """One sync's view of a Job and its pods (syncJobCtx)."""

    job: dict
    pods: list[dict]
    active_pods: list[dict]
    counts: PodCounts
    succeeded_indexes: job_indexes.Intervals
    failed_pods: list[dict]
    # backoffLimitPerIndex only: the failed indexes (None without it), and each index's last failed pod,
    # which its replacement's failure count and back-off come from
    failed_indexes: job_indexes.Intervals | None = None
    last_failed: dict[int, dict] | None = None


def job_state(job: dict, pods: list[dict]) -> SyncState:
    """Count a Job's pods: for an Indexed Job only pods with a valid index count, one success per index,
    and the succeeded indexes already in status.completedIndexes stay; failures an Ignore rule matches
    do not count."""
    spec = job.get("spec") or {}
    indexed = job_indexes.is_indexed(job)
    completions = int(spec.get("completions") or 0)

    def valid(p: dict) -> bool:
        ix = job_indexes.completion_index(p)
        return not indexed or (ix is not None and ix < completions)

    counts = count_pods(pods)
    active_pods = [p for p in pods if cu.is_pod_active(p)]
    failed_pods = [p for p in pods if cu.phase(p) == "Failed" and valid(p)]
    policy = spec.get("podFailurePolicy")
    counts.failed = sum(1 for p in failed_pods if failure_policy.match(policy, p).counts)
    state = SyncState(job, pods, active_pods, counts, [], failed_pods)
    if indexed:
        status = job.get("status") or {}
        state.succeeded_indexes = job_indexes.succeeded_indexes(status.get("completedIndexes"), pods, completions)
        counts.succeeded = job_indexes.total(state.succeeded_indexes)
        if job_indexes.has_backoff_limit_per_index(job):
            state.failed_indexes = job_indexes.failed_indexes(status.get("failedIndexes"), job, pods, completions)
            state.last_failed = job_indexes.last_failed_pods(job, pods, active_pods, state.succeeded_indexes,
                                                             state.failed_indexes)
    return state


def fail_job_message(job: dict, failed_pods: list[dict]) -> str | None:
    """getFailJobMessage: the message of the first failed pod that matches a FailJob rule."""
    policy = (job.get("spec") or {}).get("podFailurePolicy")
    for p in failed_pods:
        m = failure_policy.match(policy, p)
        if m.action == failure_policy.FAIL_JOB:
            return m.message
    return None


def finish_reason(job: dict, state: SyncState, now: float) -> dict | None:
    """The interim condition (FailureTarget) when the Job has failed: a FailJob rule, the backoff limit, the
    deadline, then (backoffLimitPerIndex) more failed indexes than maxFailedIndexes, or every index done and
    some failed."""
    status = job.get("status") or {}
    target = _true_condition(status, "FailureTarget")
    if target is not None:
        return target
    message = fail_job_message(job, state.failed_pods)
    if message is not None:
        return _job_condition("FailureTarget", "PodFailurePolicy", message)
    if exceeds_backoff_limit(job, state.counts, state.pods):
        return _job_condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    if past_active_deadline(job, now):
        return _job_condition("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline")
    if state.failed_indexes is not None:
        spec = job.get("spec") or {}
        failed = job_indexes.total(state.failed_indexes)
        max_failed = spec.get("maxFailedIndexes")
        if max_failed is not None and failed > int(max_failed):
            return _job_condition("FailureTarget", "MaxFailedIndexesExceeded",
                                  "Job has exceeded the specified maximal number of failed indexes")
        if failed > 0 and failed + job_indexes.total(state.succeeded_indexes) >= int(spec.get("completions") or 0):
            return _job_condition("FailureTarget", "FailedIndexes", "Job has failed indexes")
    return None


def success_policy_met(job: dict, state: SyncState) -> dict | None:
    """The interim SuccessCriteriaMet condition when an Indexed Job's successPolicy is met."""
    spec = job.get("spec") or {}
    if not job_indexes.is_indexed(job):
        return None
    message = success_policy.match(spec.get("successPolicy"), int(spec.get("completions") or 0), state.succeeded_indexes)
    return None if message is None else _job_condition("SuccessCriteriaMet", success_policy.REASON, message)


def indexes_past_backoff(indexes: list[int], last_failed: dict[int, dict], base: float, cap: float,
                         now: float) -> tuple[list[int], float]:
    """getPodCreationInfoForIndependentIndexes: of the indexes to start, those whose back-off is over; if
    none is, the shortest wait of the others."""
    ready, waits = [], []
    for ix in indexes:
        wait = job_indexes.remaining_backoff(last_failed.get(ix), base, cap, now)
        if wait == 0:
            ready.append(ix)
        else:
            waits.append(wait)
    return ready, (0.0 if ready or not waits else min(waits))


def pods_for_removal(job: dict, active_pods: list[dict], at_least: int) -> list[dict]:
    """activePodsForRemoval: for an Indexed Job first the pods with a repeated, invalid or missing index,
    then, to remove at least `at_least`, the least valuable of the rest."""
    remove: list[dict] = []
    left = active_pods
    if job_indexes.is_indexed(job):
        remove, left = job_indexes.duplicated_index_pods(active_pods, int((job.get("spec") or {}).get("completions") or 0))
    if len(remove) < at_least:
        remove += cu.pods_to_delete(left, active_pods, at_least - len(remove))
    return remove


class JobController(Controller):
    name = "job-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.job_informer = informers.get("Job")
        self.pod_informer = informers.get("Pod")
        self.expectations = cu.Expectations()
        self.job_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self._job_deleted)
        self.pod_informer.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)

    def _job_deleted(self, job: dict) -> None:
        self.expectations.delete(key_of(job))

    def _owner(self, pod: dict) -> dict | None:
        return cu.resolve_controller_ref(self.job_informer, "Job", pod)

    def _pod_added(self, pod: dict) -> None:
        job = self._owner(pod)
        if job is not None:
            if cu.is_terminating(pod):
                self.expectations.deletion_observed(key_of(job), cu.pod_key(pod))
            else:
                self.expectations.creation_observed(key_of(job))
            self.enqueue(job)
        elif meta.controller_of(pod) is None:
            for job in cu.selecting_owners(self.job_informer, pod, skip_empty=False):
                self.enqueue(job)

    def _pod_updated(self, old: dict, new: dict) -> None:
        job = self._owner(new)
        if job is not None:
            if cu.is_terminating(new) and not cu.is_terminating(old):
                self.expectations.deletion_observed(key_of(job), cu.pod_key(new))
            self.enqueue(job)
        old_job = self._owner(old)
        if old_job is not None and (job is None or key_of(old_job) != key_of(job)):
            self.enqueue(old_job)

    def _pod_deleted(self, pod: dict) -> None:
        job = self._owner(pod)
        if job is not None:
            self.expectations.deletion_observed(key_of(job), cu.pod_key(pod))
            self.enqueue(job)

    async def sync(self, key: Key) -> None:
        ns, name = key
        cached = self.job_informer.get(ns, name)
        if cached is None:
            self.expectations.delete(key)
            return
        if managed_by_other(cached) is not None:
            self.log.debug("job %s/%s: managed by %s, not synced", ns, name, managed_by_other(cached))
            return
        if finished_condition(cached) is not None:
            return
        job = copy.deepcopy(cached)
        spec = job.get("spec") or {}
        satisfied = self.expectations.satisfied(key)
        selector = from_label_selector(spec.get("selector"))
        pods = await cu.claim(self.client, job, selector, self.informers.claim_candidates(self.pod_informer, job))
        state = job_state(job, pods)
        counts = state.counts
        status: dict[str, Any] = copy.deepcopy(job.get("status") or {})
        job["status"] = status
        now = time.time()
        if not status.get("startTime") and not spec.get("suspend"):
            status["startTime"] = meta.now()

        # The Job's fate: once SuccessCriteriaMet, it only waits for its pods to go.
        finishing = _true_condition(status, "SuccessCriteriaMet") or finish_reason(job, state, now) or \
            success_policy_met(job, state)
        if finishing is None and spec.get("activeDeadlineSeconds") is not None and not spec.get("suspend"):
            start = meta.parse_time(status.get("startTime")) or now
            self.queue.add_after(key, max(0.0, start + float(spec["activeDeadlineSeconds"]) - now) + 0.05)

        suspend_changed = False
        if finishing is not None:
            await self._delete_pods(key, job, state.active_pods, counts)
            if not satisfied:
                finishing = None  # pods may be missing from the cache yet: decide on a later sync
        else:
            if satisfied:
                await self._manage(key, job, state)
            completions = spec.get("completions")
            if completions is None:
                complete = counts.succeeded > 0 and counts.active == 0
            else:
                complete = counts.succeeded >= int(completions) and counts.active == 0
            if complete:
                finishing = _job_condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods")
            elif satisfied:
                suspend_changed = self._suspend_condition(job, status)

        status.update(
            active=counts.active,
            ready=counts.ready,
            succeeded=counts.succeeded,
            failed=counts.failed,
            terminating=counts.terminating,
            uncountedTerminatedPods=status.get("uncountedTerminatedPods") or {},
        )
        if job_indexes.is_indexed(job):
            status["completedIndexes"] = job_indexes.format_intervals(state.succeeded_indexes)
            if state.failed_indexes is not None:
                status["failedIndexes"] = job_indexes.format_intervals(state.failed_indexes)
        if finishing is not None:
            self._finish(job, status, finishing, counts)
        if suspend_changed or status != (cached.get("status") or {}):
            await self.client.update_status(job)

    def _finish(self, job: dict, status: dict, interim: dict, counts: PodCounts) -> None:
        """Record the interim condition, and the terminal one once no pod is left terminating (enactJobFinished)."""
        conditions = list(status.get("conditions") or [])
        if _true_condition(status, interim["type"]) is None:
            conditions.append(interim)
        status["conditions"] = conditions
        if counts.terminating > 0:
            return
        final = _job_condition(TERMINAL_OF[interim["type"]], interim.get("reason", ""), interim.get("message", ""))
        status["conditions"], _ = ensure_condition(conditions, final["type"], "True", final["reason"], final["message"])
        if final["type"] == "Complete":
            status["completionTime"] = final["lastTransitionTime"]
            completions = (job.get("spec") or {}).get("completions")
            if completions is not None and counts.succeeded > int(completions):
                self.recorder.event(job, WARNING, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
            self.recorder.event(job, NORMAL, "Completed", "Job completed")
        else:
            self.recorder.event(job, WARNING, final["reason"], final["message"])

    def _suspend_condition(self, job: dict, status: dict) -> bool:
        """The Suspended condition and its events; resuming restarts the activeDeadlineSeconds clock."""
        conditions = list(status.get("conditions") or [])
        if (job.get("spec") or {}).get("suspend"):
            status["conditions"], changed = ensure_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended")
            if changed:
                self.recorder.event(job, NORMAL, "Suspended", "Job suspended")
            return changed
        status["conditions"], changed = ensure_condition(conditions, "Suspended", "False", "JobResumed", "Job resumed")
        if changed:
            self.recorder.event(job, NORMAL, "Resumed", "Job resumed")
            status["startTime"] = meta.now()
        if not status["conditions"]:
            del status["conditions"]
        return changed

    async def _manage(self, key: Key, job: dict, state: SyncState) -> None:
        """manageJob: delete pods beyond what should run (and an Indexed Job's repeated indexes), else create
        the missing ones after the failure back-off; counts.active and counts.terminating follow."""
        counts = state.counts
        spec = job.get("spec") or {}
        if spec.get("suspend"):
            await self._delete_pods(key, job, pods_for_removal(job, state.active_pods, counts.active), counts)
            return
        want = want_active(job, counts.active, counts.succeeded)
        victims = pods_for_removal(job, state.active_pods, max(0, counts.active - want))[:MAX_PODS_PER_SYNC]
        if victims:
            # deletions before creations: an Indexed Job repeating an index gets its new pod on a later sync
            await self._delete_pods(key, job, victims, counts)
            return
        terminating = counts.terminating if only_replace_failed(job) else 0
        diff = want - terminating - counts.active
        if diff <= 0:
            return
        if state.last_failed is None:
            # with backoffLimitPerIndex each index waits on its own, below
            failed = [p for p in state.pods if cu.phase(p) == "Failed"]
            wait = backoff_remaining(failed, self.timings.backoff_base, self.timings.backoff_max)
            if wait > 0:
                self.queue.add_after(key, wait)
                return
        diff = min(diff, MAX_PODS_PER_SYNC)
        template = copy.deepcopy(spec.get("template") or {})
        indexes: list[int] = []
        if job_indexes.is_indexed(job):
            indexes = job_indexes.first_pending_indexes(state.active_pods, state.succeeded_indexes, diff,
                                                        int(spec["completions"]), state.failed_indexes)
            if state.last_failed is not None:
                indexes, wait = indexes_past_backoff(indexes, state.last_failed, self.timings.backoff_base,
                                                     self.timings.backoff_max, time.time())
                if wait > 0:
                    self.queue.add_after(key, wait)
                    return
            diff = len(indexes)
            job_indexes.add_env(template)
        if diff <= 0:
            return
        if not spec.get("manualSelector"):
            labels = template.setdefault("metadata", {}).setdefault("labels", {})
            uid, jname = job["metadata"]["uid"], job["metadata"]["name"]
            for k, v in ((LEGACY_JOB_CONTROLLER_UID, uid), (JOB_CONTROLLER_UID, uid), (LEGACY_JOB_NAME, jname), (JOB_NAME, jname)):
                labels.setdefault(k, v)
        ref = meta.owner_ref(job, controller=True)
        job_name = job["metadata"]["name"]
        self.expectations.expect_creations(key, diff)

        async def create_one() -> None:
            if indexes:
                ix = indexes.pop(0)
                t = copy.deepcopy(template)
                job_indexes.set_index(t, job_name, ix)
                if state.last_failed is not None:
                    job_indexes.set_failure_counts(t, job, state.last_failed.get(ix))
                pod = cu.pod_from_template(t, job, ref, generate_name=job_indexes.generate_name(job_name, ix))
            else:
                pod = cu.pod_from_template(template, job, ref)
            await cu.create_pod(self.client, self.recorder, job, pod)

        done, err = await cu.create_pods(self.expectations, key, diff, create_one)
        counts.active += done
        if err is not None:
            raise err

    async def _delete_pods(self, key: Key, job: dict, pods: list[dict], counts: PodCounts) -> None:
        """Delete the pods; those deleted move from active (and ready) to terminating."""
        if not pods:
            return
        self.expectations.expect_deletions(key, [cu.pod_key(p) for p in pods])
        results = await asyncio.gather(
            *(cu.delete_pod(self.client, self.recorder, self.expectations, key, job, p) for p in pods), return_exceptions=True
        )
        for p, r in zip(pods, results, strict=True):
            if r is None:
                counts.active -= 1
                counts.terminating += 1
                counts.ready -= 1 if cu.is_pod_ready(p) else 0
        for r in results:
            if isinstance(r, BaseException):
                raise r
