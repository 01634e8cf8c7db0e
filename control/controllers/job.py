"""The Job controller (pkg/controller/job): run pods to completion, retry failures with back-off, finish."""

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
from control.controllers.base import Controller
from control.controllers.events import NORMAL, WARNING, EventBroadcaster
from control.controllers.informers import SharedInformers
from control.informer import Key, key_of
from control.timings import Timings

# MaxPodCreateDeletePerSync
MAX_PODS_PER_SYNC = 500


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
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def _job_condition(type_: str, reason: str, message: str) -> dict:
    now = meta.now()
    return {"type": type_, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message}


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
        if finished_condition(cached) is not None:
            return
        job = copy.deepcopy(cached)
        spec = job.get("spec") or {}
        satisfied = self.expectations.satisfied(key)
        selector = from_label_selector(spec.get("selector"))
        pods = await cu.claim(self.client, job, selector, self.informers.claim_candidates(self.pod_informer, job))
        counts = count_pods(pods)
        status: dict[str, Any] = copy.deepcopy(job.get("status") or {})
        now = time.time()
        if not status.get("startTime") and not spec.get("suspend"):
            status["startTime"] = meta.now()
            job["status"] = status
            if spec.get("activeDeadlineSeconds") is not None:
                self.queue.add_after(key, float(spec["activeDeadlineSeconds"]) + 0.05)
        active_pods = [p for p in pods if cu.is_pod_active(p)]
        finished: dict | None = None
        if exceeds_backoff_limit(job, counts, pods):
            finished = _job_condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif past_active_deadline(job, now):
            finished = _job_condition("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
        if finished is None and is_complete(job, counts):
            finished = _job_condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods")
        if finished is not None:
            if active_pods:
                await self._delete_pods(key, job, active_pods)
                counts.terminating += counts.active
                counts.active = counts.ready = 0
        elif satisfied:
            counts.active = await self._manage(key, job, counts, active_pods, pods)
        status.update(
            active=counts.active,
            ready=counts.ready,
            succeeded=counts.succeeded,
            failed=counts.failed,
            terminating=counts.terminating,
            uncountedTerminatedPods=status.get("uncountedTerminatedPods") or {},
        )
        if finished is not None:
            status["conditions"] = [*(status.get("conditions") or []), finished]
            if finished["type"] == "Complete":
                status["completionTime"] = meta.now()
                self.recorder.event(job, NORMAL, "Completed", "Job completed")
            else:
                self.recorder.event(job, WARNING, finished["reason"], finished["message"])
        if status != (cached.get("status") or {}):
            job["status"] = status
            await self.client.update_status(job)

    async def _manage(self, key: Key, job: dict, counts: PodCounts, active_pods: list[dict], pods: list[dict]) -> int:
        want = want_active(job, counts.active, counts.succeeded)
        active = counts.active
        if active > want:
            victims = cu.pods_to_delete(active_pods, active_pods, min(active - want, MAX_PODS_PER_SYNC))
            await self._delete_pods(key, job, victims)
            return active - len(victims)
        if active >= want:
            return active
        failed = [p for p in pods if cu.phase(p) == "Failed"]
        wait = backoff_remaining(failed, self.timings.backoff_base, self.timings.backoff_max)
        if wait > 0:
            self.queue.add_after(key, wait)
            return active
        n = min(want - active, MAX_PODS_PER_SYNC)
        self.expectations.expect_creations(key, n)
        template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
        if not (job.get("spec") or {}).get("manualSelector"):
            labels = template.setdefault("metadata", {}).setdefault("labels", {})
            uid, jname = job["metadata"]["uid"], job["metadata"]["name"]
            for k, v in ((LEGACY_JOB_CONTROLLER_UID, uid), (JOB_CONTROLLER_UID, uid), (LEGACY_JOB_NAME, jname), (JOB_NAME, jname)):
                labels.setdefault(k, v)
        ref = meta.owner_ref(job, controller=True)

        async def create_one() -> None:
            await cu.create_pod(self.client, self.recorder, job, cu.pod_from_template(template, job, ref))

        done, err = await cu.create_pods(self.expectations, key, n, create_one)
        if err is not None:
            raise err
        return active + done

    async def _delete_pods(self, key: Key, job: dict, pods: list[dict]) -> None:
        self.expectations.expect_deletions(key, [cu.pod_key(p) for p in pods])
        results = await asyncio.gather(
            *(cu.delete_pod(self.client, self.recorder, self.expectations, key, job, p) for p in pods), return_exceptions=True
        )
        for r in results:
            if isinstance(r, Exception):
                raise r
