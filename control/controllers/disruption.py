"""The disruption controller (pkg/controller/disruption): each PodDisruptionBudget's status.

For every budget: the pods its selector picks, how many should exist (expectedPods: the scale of their
controllers, or the number of pods for an integer minAvailable), how many must stay healthy
(desiredHealthy), how many are Ready now (currentHealthy, leaving out the pods an eviction has just taken,
status.disruptedPods), and so how many may be disrupted (disruptionsAllowed), with the DisruptionAllowed
condition. When a status cannot be computed the budget fails safe: no disruption allowed (SyncFailed).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from control.api import meta
from control.api import poddisruptionbudget as pdbs
from control.api.labels import format_label_selector
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import BY_NAMESPACE, SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings
from control.workqueue import WorkQueue, run_workers

# How long a pod an eviction took stays counted out before the controller decides it was not deleted after
# all (DeletionTimeout).
DELETION_TIMEOUT = 120.0
# Controllers with no scale of their own: a budget that counts by scale cannot cover their pods.
NO_SCALE = {"Job": "jobs.batch", "DaemonSet": "daemonsets.apps"}


class SyncFailed(Exception):
    """The budget's status cannot be computed: it fails safe (no disruption allowed)."""


def controller_ref(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


class DisruptionController(Controller):
    name = "disruption-controller"
    event_source = "controllermanager"  # what kube-controller-manager's disruption controller records as
    # A DisruptionTarget condition on a pod that was not deleted after this long is set back to False
    # (stalePodDisruptionTimeout): the eviction or preemption that put it there did not happen.
    stale_pod_disruption_timeout = 120.0

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.pdb_informer = informers.get("PodDisruptionBudget")
        self.pod_informer = informers.get("Pod")
        self.rs_informer = informers.get("ReplicaSet")
        self.deploy_informer = informers.get("Deployment")
        self.pdb_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pod_informer.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)
        self.stale_queue: WorkQueue[Key] = WorkQueue(f"{self.name}-stale", base_delay=0.005, max_delay=30.0)
        # a scale change moves expectedPods before any pod comes or goes
        for inf in (self.rs_informer, self.deploy_informer):
            inf.add_handler(on_add=self._owner_added, on_update=self._scale_changed)

    # -- handlers -----------------------------------------------------------------------------------
    def _budgets_for(self, pod: dict) -> list[dict]:
        ns = (pod.get("metadata") or {}).get("namespace") or ""
        return pdbs.matching(self.pdb_informer.by_index(BY_NAMESPACE, ns), pod)

    def _pod_changed(self, pod: dict) -> None:
        for pdb in self._budgets_for(pod):
            self.enqueue(pdb)
        self._watch_stale(pod)

    def _pod_updated(self, old: dict, new: dict) -> None:
        for k in {key_of(b) for b in self._budgets_for(old) + self._budgets_for(new)}:
            self.queue.add(k)
        self._watch_stale(new)

    # -- stale DisruptionTarget conditions ------------------------------------------------------------
    def _stale_in(self, pod: dict) -> float | None:
        """Seconds until the pod's DisruptionTarget=True condition is stale (<= 0: it is); None when it has
        none or is being deleted (canCleanupStalePodDisruption)."""
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            return None
        cond = next((c for c in (pod.get("status") or {}).get("conditions") or ()
                     if c.get("type") == pdbs.DISRUPTION_TARGET), None)
        if cond is None or cond.get("status") != "True":
            return None
        since = meta.parse_time(cond.get("lastTransitionTime")) if cond.get("lastTransitionTime") else None
        return self.stale_pod_disruption_timeout - (time.time() - since) if since is not None else 0.0

    def _watch_stale(self, pod: dict) -> None:
        left = self._stale_in(pod)
        if left is not None:
            self.stale_queue.add_after(key_of(pod), max(left, 0.0))

    async def sync_stale_pod(self, key: Key) -> None:
        """syncStalePodDisruption: DisruptionTarget back to False on a pod still not deleted."""
        pod = self.pod_informer.get(*key)
        if pod is None:
            return
        left = self._stale_in(pod)
        if left is None:
            return
        if left > 0:
            self.stale_queue.add_after(key, left)
            return
        cond = {"type": pdbs.DISRUPTION_TARGET, "status": "False", "lastTransitionTime": meta.now()}
        try:
            await self.client.patch("Pod", key[1], {"status": {"conditions": [cond]}}, key[0], subresource="status",
                                    patch_type="strategic")
        except ApiError as e:
            if e.code != 404:
                raise
        self.log.info("%s: %s/%s: reset its stale DisruptionTarget condition", self.name, key[0], key[1])

    async def run(self) -> None:
        try:
            await asyncio.gather(super().run(), run_workers(self.stale_queue, self.sync_stale_pod, 1,
                                                            on_error=self._on_error))
        finally:
            self.stale_queue.shutdown()

    def _owner_added(self, owner: dict) -> None:
        """A budget that could not find its pods' controller yet (SyncFailed) counts again once it is here."""
        for pdb in self.pdb_informer.by_index(BY_NAMESPACE, (owner.get("metadata") or {}).get("namespace") or ""):
            if any(c.get("reason") == pdbs.SYNC_FAILED for c in (pdb.get("status") or {}).get("conditions") or ()):
                self.enqueue(pdb)

    def _scale_changed(self, old: dict, new: dict) -> None:
        if (old.get("spec") or {}).get("replicas") != (new.get("spec") or {}).get("replicas"):
            for pdb in self.pdb_informer.by_index(BY_NAMESPACE, (new.get("metadata") or {}).get("namespace") or ""):
                self.enqueue(pdb)

    # -- sync ---------------------------------------------------------------------------------------
    async def sync(self, key: Key) -> None:
        ns, name = key
        pdb = self.pdb_informer.get(ns, name)
        if pdb is None:
            return
        try:
            await self._try_sync(pdb)
        except SyncFailed as e:
            self.log.warning("%s: %s/%s: %s", self.name, ns, name, e)
            await self._fail_safe(pdb, str(e))
            raise  # failSafe returns the error: the budget is tried again with back-off (its owner may be late)

    def _on_error(self, key: Key, e: Exception) -> None:
        if isinstance(e, SyncFailed):
            # sync() has said why on one line already: a budget that cannot be counted (its pods' Deployment
            # being deleted, a ReplicaSet not heard yet) is the normal weather of a cluster, not a crash to print
            # a traceback for; the key is retried with back-off all the same.
            self.log.debug("%s: sync %s/%s: %s (retrying)", self.name, key[0], key[1], e)
            return
        super()._on_error(key, e)

    def pods_for(self, pdb: dict) -> list[dict]:
        sel = pdbs.selector_of(pdb)
        if sel is None:
            return []
        ns = (pdb.get("metadata") or {}).get("namespace") or ""
        return [p for p in self.pod_informer.by_index(BY_NAMESPACE, ns)
                if sel.matches((p.get("metadata") or {}).get("labels") or {})]

    async def _try_sync(self, pdb: dict) -> None:
        pods = self.pods_for(pdb)
        if not pods:
            self.recorder.event(pdb, "Normal", "NoPods", "No matching pods found")
        try:
            expected, desired, unmanaged = self.expected_pod_count(pdb, pods)
        except SyncFailed as e:
            self.recorder.event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                                f"Failed to calculate the number of expected pods: {e}")
            raise
        if unmanaged:
            sel = format_label_selector((pdb.get("spec") or {}).get("selector"))
            self.recorder.event(pdb, "Warning", "UnmanagedPods", f"Pods selected by this PodDisruptionBudget (selector: "
                                f"{sel}) were found to be unmanaged. As a result, the status of the PDB cannot be "
                                "calculated correctly, which may result in undefined behavior. To account for these "
                                'pods please set ".spec.minAvailable" field of the PDB to an integer value.')
        now = time.time()
        disrupted, recheck = self.disrupted_pod_map(pods, pdb, now)
        healthy = count_healthy(pods, disrupted, now)
        await self._update_status(pdb, healthy, desired, expected, disrupted)
        if recheck is not None:
            self.enqueue_after(pdb, max(0.0, recheck - now))

    def expected_pod_count(self, pdb: dict, pods: list[dict]) -> tuple[int, int, list[str]]:
        """getExpectedPodCount: (expectedPods, desiredHealthy, the pods no controller owns)."""
        spec = pdb.get("spec") or {}
        expected = desired = 0
        unmanaged: list[str] = []
        max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
        try:
            if max_unavailable is not None:
                expected, unmanaged = self.expected_scale(pods)
                desired = max(0, expected - pdbs.scaled_value(max_unavailable, expected, True))
            elif min_available is not None:
                if isinstance(min_available, int):
                    desired, expected = min_available, len(pods)
                else:
                    expected, unmanaged = self.expected_scale(pods)
                    desired = pdbs.scaled_value(min_available, expected, True)
        except ValueError as e:
            raise SyncFailed(str(e)) from None
        return expected, desired, unmanaged

    def expected_scale(self, pods: list[dict]) -> tuple[int, list[str]]:
        """getExpectedScale: the sum of the scales of the pods' controllers (each counted once)."""
        scales: dict[str, int] = {}
        unmanaged: list[str] = []
        for pod in pods:
            ref = controller_ref(pod)
            if ref is None:
                unmanaged.append((pod.get("metadata") or {}).get("name", ""))
                continue
            if ref.get("uid") in scales:
                continue
            found = self._controller_scale(ref, (pod.get("metadata") or {}).get("namespace") or "")
            if found is None:
                raise SyncFailed(f'found no controllers for pod "{pod["metadata"].get("name", "")}"')
            scales[found[0]] = found[1]
        return sum(scales.values()), unmanaged

    def _controller_scale(self, ref: dict, ns: str) -> tuple[str, int] | None:
        """The finders: a ReplicaSet's replicas, or its Deployment's when one controls it; (uid, scale)."""
        kind = ref.get("kind")
        if kind == "ReplicaSet":
            rs = self.rs_informer.get(ns, ref.get("name", ""))
            if rs is None or rs["metadata"].get("uid") != ref.get("uid"):
                return None
            owner = controller_ref(rs)
            if owner is not None and owner.get("kind") == "Deployment":
                return self._controller_scale(owner, ns)
            return ref["uid"], int((rs.get("spec") or {}).get("replicas", 1))
        if kind == "Deployment":
            d = self.deploy_informer.get(ns, ref.get("name", ""))
            if d is None or d["metadata"].get("uid") != ref.get("uid"):
                return None
            return ref["uid"], int((d.get("spec") or {}).get("replicas", 1))
        if kind in NO_SCALE:
            raise SyncFailed(f"{NO_SCALE[kind]} does not implement the scale subresource")
        return None

    def disrupted_pod_map(self, pods: list[dict], pdb: dict, now: float) -> tuple[dict[str, str], float | None]:
        """buildDisruptedPodMap: the evicted pods still there and not yet past DeletionTimeout; and when the
        first of them expires (the budget is looked at again then)."""
        taken = (pdb.get("status") or {}).get("disruptedPods") or {}
        out: dict[str, str] = {}
        recheck: float | None = None
        for pod in pods:
            md = pod.get("metadata") or {}
            if md.get("deletionTimestamp") or md.get("name") not in taken:
                continue
            when = meta.parse_time(taken[md["name"]]) or 0.0
            expires = when + DELETION_TIMEOUT
            if expires < now:
                self.recorder.event(pod, "Warning", "NotDeleted", f"Pod was expected by PDB "
                                    f"{pdb['metadata'].get('namespace')}/{pdb['metadata'].get('name')} to be deleted "
                                    "but it wasn't")
                continue
            out[md["name"]] = taken[md["name"]]
            recheck = expires if recheck is None else min(recheck, expires)
        return out, recheck

    async def _update_status(self, pdb: dict, healthy: int, desired: int, expected: int,
                             disrupted: dict[str, str]) -> None:
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0  # a budget that matches no pod yet is safe when its first pods appear
        st = pdb.get("status") or {}
        generation = int((pdb.get("metadata") or {}).get("generation") or 1)
        if (st.get("currentHealthy"), st.get("desiredHealthy"), st.get("expectedPods"),
                st.get("disruptionsAllowed")) == (healthy, desired, expected, allowed) and \
                (st.get("disruptedPods") or {}) == disrupted and pdbs.conditions_up_to_date(pdb):
            return
        new: dict[str, Any] = {"observedGeneration": generation, "disruptionsAllowed": allowed,
                               "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected}
        if disrupted:
            new["disruptedPods"] = disrupted
        if st.get("conditions"):
            new["conditions"] = [dict(c) for c in st["conditions"]]
        out = dict(pdb, status=new)
        pdbs.set_disruption_allowed_condition(out)
        await self._write_status(out)

    async def _fail_safe(self, pdb: dict, why: str) -> None:
        st = dict(pdb.get("status") or {})
        st["disruptionsAllowed"] = 0
        st["conditions"] = [dict(c) for c in st.get("conditions") or []]
        pdbs.set_condition(st, "False", pdbs.SYNC_FAILED, why, int(st.get("observedGeneration") or 0))
        if st != pdb.get("status"):
            await self._write_status(dict(pdb, status=st))

    async def _write_status(self, pdb: dict) -> None:
        try:
            await self.client.update_status(pdb)
        except ApiError as e:
            if e.code != 404:  # a budget deleted meanwhile needs no status
                raise


def count_healthy(pods: list[dict], disrupted: dict[str, str], now: float) -> int:
    """countHealthyPods: Ready pods not being deleted and not taken by an eviction that has yet to land."""
    n = 0
    for pod in pods:
        md = pod.get("metadata") or {}
        if md.get("deletionTimestamp"):
            continue
        taken = disrupted.get(md.get("name", ""))
        if taken is not None and (meta.parse_time(taken) or 0.0) + DELETION_TIMEOUT > now:
            continue
        if cu.is_pod_ready(pod):
            n += 1
    return n
