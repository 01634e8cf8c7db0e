"""The resource quota controller (pkg/controller/resourcequota): each ResourceQuota's status.hard and status.used.

status.hard is the spec's; status.used is recounted from the namespace's objects with the admission's own
usage functions (control/api/resourcequota.py): pods that are Succeeded, Failed or past their deletion's grace
period use no compute. A quota is synced when it is new or its spec.hard changes (not when the admission
charges it), when an object it counts goes (a pod deleted or finished, a service or claim deleted or changed:
the quota monitor's replenishment), and every `resource_quota_sync` seconds for all quotas (the full resync).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from control.api import kinds
from control.api import resourcequota as rqs
from control.client import Client
from control.controllers.base import Controller, cancel_and_wait
from control.controllers.events import EventBroadcaster
from control.controllers.informers import BY_NAMESPACE, SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings

# The kinds whose objects the controller keeps in informers (so it hears them go); others named by a
# count/<resource>.<group> quota are listed when their quota syncs.
WATCHED = ("Pod", "Service", "PersistentVolumeClaim", "ConfigMap", "Secret", "ResourceQuota")


def hard_of(rq: dict) -> dict[str, str]:
    """status.hard as the controller writes it: spec.hard, each quantity canonical."""
    return rqs.to_strings(rqs.to_list((rq.get("spec") or {}).get("hard")))


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """quota.Equals: the same names with the same values, whatever their format."""
    la, lb = rqs.to_list(a), rqs.to_list(b)
    return la.keys() == lb.keys() and all(la[k].value == lb[k].value for k in la)


def needs_sync(rq: dict) -> bool:
    """A quota whose status does not yet show its spec.hard, or lacks the usage of one of them."""
    status = rq.get("status") or {}
    used = status.get("used") or {}
    return not _same(status.get("hard"), (rq.get("spec") or {}).get("hard")) or any(
        k not in used for k in (rq.get("spec") or {}).get("hard") or {})


class ResourceQuotaController(Controller):
    name = "resourcequota-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.inf = {k: informers.get(k) for k in WATCHED}
        self.inf["ResourceQuota"].add_handler(self.enqueue, self._quota_updated, None)
        self.inf["Pod"].add_handler(None, self._pod_updated, self._replenish)
        self.inf["Service"].add_handler(None, self._service_updated, self._replenish)
        self.inf["PersistentVolumeClaim"].add_handler(None, self._claim_updated, self._replenish)
        for kind in ("ConfigMap", "Secret", "ResourceQuota"):
            self.inf[kind].add_handler(None, None, self._replenish)

    # -- handlers -----------------------------------------------------------------------------------
    def _quota_updated(self, old: dict, new: dict) -> None:
        # the admission's charges change status.used only: no recount for those
        if not _same((old.get("spec") or {}).get("hard"), (new.get("spec") or {}).get("hard")) or needs_sync(new):
            self.enqueue(new)

    def _replenish(self, obj: dict) -> None:
        """Something the namespace's quotas may count is gone, or uses less: recount them."""
        ns = (obj.get("metadata") or {}).get("namespace") or ""
        for rq in self.inf["ResourceQuota"].by_index(BY_NAMESPACE, ns):
            self.enqueue(rq)

    def _pod_updated(self, old: dict, new: dict) -> None:
        now = time.time()
        if rqs.pod_counts(old, now) and not rqs.pod_counts(new, now):
            self._replenish(new)

    def _service_updated(self, old: dict, new: dict) -> None:
        if (old.get("spec") or {}).get("type") != (new.get("spec") or {}).get("type"):
            self._replenish(new)

    def _claim_updated(self, old: dict, new: dict) -> None:
        def storage(pvc: dict) -> Any:
            return (((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
        if storage(old) != storage(new):
            self._replenish(new)

    # -- sync ---------------------------------------------------------------------------------------
    async def _objects(self, info: kinds.KindInfo, ns: str) -> list[dict]:
        if info.kind in self.inf:
            return self.inf[info.kind].by_index(BY_NAMESPACE, ns)
        return list((await self.client.list(info.kind, ns))["items"])

    async def usage(self, rq: dict) -> dict[str, str]:
        """CalculateUsage: for each namespaced kind whose evaluator counts one of the quota's resources, the sum
        over the namespace's objects."""
        ns = rq["metadata"].get("namespace") or ""
        hard = (rq.get("spec") or {}).get("hard") or {}
        now = time.time()
        used: rqs.ResourceList = {}
        for info in kinds.KINDS.values():
            if info.namespaced and rqs.matching_resources(info, hard):
                used.update(rqs.usage_in(info, rq, await self._objects(info, ns), now))
        return rqs.to_strings(used)

    async def sync(self, key: Key) -> None:
        rq = self.inf["ResourceQuota"].get(*key)
        if rq is None:
            return
        status = rq.get("status") or {}
        hard = hard_of(rq)
        used = {k: v for k, v in {**(status.get("used") or {}), **await self.usage(rq)}.items() if k in hard}
        if _same(status.get("hard"), hard) and _same(status.get("used"), used) and status.get("hard") is not None:
            return
        try:
            await self.client.update_status(dict(rq, status={"hard": hard, "used": used}))
        except ApiError as e:
            if e.code != 404:  # a quota deleted meanwhile needs no status; a conflict is retried
                raise

    async def _resync(self) -> None:
        """The full resync: every quota recounted, every resource_quota_sync seconds."""
        while True:
            await asyncio.sleep(self.timings.resource_quota_sync)
            for rq in self.inf["ResourceQuota"].list():
                self.queue.add(key_of(rq))

    async def run(self) -> None:
        resync = asyncio.create_task(self._resync(), name=f"{self.name}-resync")
        try:
            await super().run()
        finally:
            await cancel_and_wait([resync])
