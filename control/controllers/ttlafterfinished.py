"""The TTL-after-finished controller (pkg/controller/ttlafterfinished): delete finished Jobs whose
spec.ttlSecondsAfterFinished has passed, in the foreground so that the garbage collector takes their pods first.

A Job not yet expired is requeued for the time it has left; nothing polls.
"""

from __future__ import annotations

import time

from control.api import meta
from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import SharedInformers
from control.errors import ApiError
from control.informer import Key
from control.timings import Timings


def finish_time(job: dict) -> float | None:
    """jobFinishTime: when the Job's Complete or Failed condition turned True."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return meta.parse_time(c.get("lastTransitionTime"))
    return None


def needs_cleanup(job: dict) -> bool:
    """A finished Job with a TTL, not already being deleted."""
    md = job.get("metadata") or {}
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    return ttl is not None and not md.get("deletionTimestamp") and finish_time(job) is not None


def time_left(job: dict, now: float | None = None) -> float | None:
    """Seconds until the Job expires (<= 0: expired); None when it needs no clean-up."""
    if not needs_cleanup(job):
        return None
    finished = finish_time(job)
    assert finished is not None
    now = time.time() if now is None else now
    return finished + int((job.get("spec") or {})["ttlSecondsAfterFinished"]) - now


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.job_informer = informers.get("Job")
        self.job_informer.add_handler(self._job_changed, lambda old, new: self._job_changed(new), None)

    def _job_changed(self, job: dict) -> None:
        if needs_cleanup(job):
            self.enqueue(job)

    async def sync(self, key: Key) -> None:
        ns, name = key
        job = self.job_informer.get(ns, name)
        if job is None or not self._expired(key, job):
            return
        # The cached TTL may be stale: check the Job as it is now before deleting it.
        try:
            fresh = await self.client.get("Job", name, ns)
        except ApiError as e:
            if e.code == 404:
                return
            raise
        if not self._expired(key, fresh):
            return
        self.log.info("ttl-after-finished: deleting Job %s/%s", ns, name)
        try:
            await self.client.delete("Job", name, ns, propagation_policy="Foreground",
                                     preconditions={"uid": fresh["metadata"]["uid"]})
        except ApiError as e:
            if e.code != 404:
                raise

    def _expired(self, key: Key, job: dict) -> bool:
        """processTTL: whether the TTL has passed; if not, come back when it will have."""
        left = time_left(job)
        if left is None:
            return False
        if left > 0:
            self.queue.add_after(key, left)
            return False
        return True
