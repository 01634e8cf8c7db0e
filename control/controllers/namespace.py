"""The namespace controller (pkg/controller/namespace): empty a Terminating namespace, then let it go.

`kubectl delete namespace x` leaves x Terminating (deletionTimestamp, status.phase Terminating) while it
has content. This controller deletes every namespaced object in it, waits until they are really gone
(pods terminate gracefully), then drops the `kubernetes` finalizer, which lets the server delete it.
"""

from __future__ import annotations

import copy

from control.api import kinds
from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import SharedInformers
from control.errors import ApiError
from control.informer import Key
from control.timings import Timings

FINALIZER = "kubernetes"
# Workloads first so their controllers stop replacing pods; Events last so that deletions are recorded.
DELETE_ORDER = ("CronJob", "Deployment", "DaemonSet", "StatefulSet", "Job", "ReplicaSet", "Pod", "ControllerRevision", "Service",
                "Endpoints", "EndpointSlice", "Lease", "Event")


def deletion_order() -> list[str]:
    """Every namespaced kind, the known ones in DELETE_ORDER, anything else before Events."""
    namespaced = [k.kind for k in kinds.KINDS.values() if k.namespaced]
    known = [k for k in DELETE_ORDER if k in namespaced and k != "Event"]
    rest = [k for k in namespaced if k not in DELETE_ORDER]
    return known + rest + (["Event"] if "Event" in namespaced else [])


class NamespaceController(Controller):
    name = "namespace-controller"
    workers = 2

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.ns_informer = informers.get("Namespace")
        self.ns_informer.add_handler(self._changed, lambda old, new: self._changed(new))
        self._polls: dict[str, int] = {}

    def _changed(self, ns: dict) -> None:
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            self.enqueue(ns)

    async def sync(self, key: Key) -> None:
        name = key[1]
        ns = self.ns_informer.get(None, name)
        if ns is None or not (ns.get("metadata") or {}).get("deletionTimestamp"):
            self._polls.pop(name, None)
            return
        remaining = await self.delete_content(name)
        if remaining:
            # Content takes its time (graceful pod termination): look again soon, backing off a little.
            n = self._polls.get(name, 0)
            self._polls[name] = n + 1
            self.queue.add_after(key, min(0.1 * (2 ** min(n, 5)), 2.0))
            return
        self._polls.pop(name, None)
        await self.finalize(ns)

    async def delete_content(self, namespace: str) -> int:
        """Delete what is in the namespace; the number of objects still there (terminating ones included)."""
        remaining = 0
        for kind in deletion_order():
            try:
                items = (await self.client.list(kind, namespace))["items"]
            except ApiError as e:
                if e.code == 404:
                    continue
                raise
            for obj in items:
                remaining += 1
                md = obj.get("metadata") or {}
                if md.get("deletionTimestamp"):
                    continue
                try:
                    await self.client.delete(kind, md["name"], namespace, propagation_policy="Background")
                except ApiError as e:
                    if e.code != 404:
                        raise
        return remaining

    async def finalize(self, ns: dict) -> None:
        """Remove the `kubernetes` finalizer; the server deletes a Terminating namespace that has none left."""
        name = ns["metadata"]["name"]
        new = copy.deepcopy(ns)
        new.setdefault("spec", {})["finalizers"] = [f for f in (new["spec"].get("finalizers") or []) if f != FINALIZER]
        try:
            await self.client.update(new)
        except ApiError as e:
            if e.code == 404:
                return
            if e.code != 409:
                raise
        # This server keeps a Namespace's spec on update (no /finalize subresource), and deletes an empty
        # Terminating namespace on a plain delete: so ask again, now that nothing is left in it.
        try:
            await self.client.delete("Namespace", name, None)
        except ApiError as e:
            if e.code != 404:
                raise
