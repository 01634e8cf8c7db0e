"""The node lifecycle controller (pkg/controller/nodelifecycle, nodeipam, tainteviction, podgc).

- Pod ranges: every new Node gets spec.podCIDR / podCIDRs, the next free /24 of the cluster's pod range.
- Health: a node whose Lease (kube-node-lease/<node>) and Ready heartbeat have not moved for
  node_monitor_grace_period gets its conditions set to Unknown ("Kubelet stopped posting node status.").
- Pod readiness: every pod on a node whose Ready condition is not True gets Ready=False (MarkPodsNotReady),
  so Services stop sending it traffic: at the transition, for a node already not Ready when the controller
  starts (a restarted control plane), and for a pod that shows up bound to such a node later.
- Taints: Ready=False -> node.kubernetes.io/not-ready, Unknown -> node.kubernetes.io/unreachable, both
  NoExecute and NoSchedule; pressure conditions and spec.unschedulable -> their NoSchedule taints.
- NoExecute taint manager: pods that don't tolerate a NoExecute taint are evicted (deleted), at once or
  after their tolerationSeconds, as their spec says (the API server's admission gives every pod
  not-ready/unreachable tolerations of the cluster's eviction_timeout: 300 s, or a demo's few seconds).
- Pod GC: pods bound to a node that no longer exists, and pods terminating on a node that is not Ready and
  carries the node.kubernetes.io/out-of-service taint (non-graceful node shutdown: an admin's word that the
  node is down), are force-deleted, as podgc's gcOrphaned and gcTerminating do. A pod terminating on a node
  that is merely unreachable stays Terminating until its kubelet confirms or someone force-deletes it: the
  node may still be running it, and a StatefulSet must not start a second web-1 meanwhile.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass
from typing import Any

from control.api import meta
from control.api.defaults import NOT_READY_TAINT, UNREACHABLE_TAINT
from control.apiserver.ranges import ClusterNetwork
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.events import NORMAL, WARNING, EventBroadcaster
from control.controllers.informers import BY_NODE, SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.scheduler.plugins.taint_toleration import tolerates
from control.timings import Timings
from control.workqueue import WorkQueue, run_workers

NODE_LEASE_NAMESPACE = "kube-node-lease"
MEMORY_PRESSURE_TAINT = "node.kubernetes.io/memory-pressure"
DISK_PRESSURE_TAINT = "node.kubernetes.io/disk-pressure"
PID_PRESSURE_TAINT = "node.kubernetes.io/pid-pressure"
NETWORK_UNAVAILABLE_TAINT = "node.kubernetes.io/network-unavailable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service"  # set by an admin, never by this controller
MANAGED_TAINT_KEYS = frozenset(
    {NOT_READY_TAINT, UNREACHABLE_TAINT, MEMORY_PRESSURE_TAINT, DISK_PRESSURE_TAINT, PID_PRESSURE_TAINT, NETWORK_UNAVAILABLE_TAINT, UNSCHEDULABLE_TAINT}
)
# The conditions the controller sets to Unknown when the kubelet goes silent.
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")

FOREVER = float("inf")


# --- pure rules -----------------------------------------------------------------------------------------


def next_free_index(used: set[int]) -> int:
    i = 0
    while i in used:
        i += 1
    return i


def ready_status(node: dict) -> str:
    c = cu.condition(node.get("status"), "Ready")
    return str(c.get("status")) if c else "Unknown"


def mark_unknown(node: dict, now: str) -> bool:
    """Set the monitored conditions to Unknown in place, as the controller does; True if anything changed."""
    status = node.setdefault("status", {})
    conds = status.setdefault("conditions", [])
    changed = False
    for type_ in MONITORED_CONDITIONS:
        c = next((x for x in conds if x.get("type") == type_), None)
        if c is None:
            conds.append({
                "type": type_, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                "message": "Kubelet never posted node status.",
                "lastHeartbeatTime": (node.get("metadata") or {}).get("creationTimestamp") or now,
                "lastTransitionTime": now,
            })
            changed = True
        elif c.get("status") != "Unknown":
            c.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.", lastTransitionTime=now)
            changed = True
    return changed


CORDON = "cordon"  # queue keys (CORDON, node): bring the unschedulable taint in line with spec.unschedulable


def _cordon_taint_stale(node: dict) -> bool:
    spec = node.get("spec") or {}
    tainted = any(t.get("key") == UNSCHEDULABLE_TAINT for t in spec.get("taints") or [])
    return bool(spec.get("unschedulable")) != tainted


def desired_taints(node: dict, now: str) -> list[dict]:
    """The node's taints with the controller-managed ones brought in line with its conditions."""
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    want: list[tuple[str, str]] = []
    ready = ready_status(node)
    if ready == "False":
        want += [(NOT_READY_TAINT, "NoExecute"), (NOT_READY_TAINT, "NoSchedule")]
    elif ready == "Unknown":
        want += [(UNREACHABLE_TAINT, "NoExecute"), (UNREACHABLE_TAINT, "NoSchedule")]
    for type_, key in (("MemoryPressure", MEMORY_PRESSURE_TAINT), ("DiskPressure", DISK_PRESSURE_TAINT),
                       ("PIDPressure", PID_PRESSURE_TAINT), ("NetworkUnavailable", NETWORK_UNAVAILABLE_TAINT)):
        c = cu.condition(status, type_)
        if c is not None and c.get("status") == "True":
            want.append((key, "NoSchedule"))
    if spec.get("unschedulable"):
        want.append((UNSCHEDULABLE_TAINT, "NoSchedule"))
    wanted = set(want)
    out = [t for t in spec.get("taints") or [] if t.get("key") not in MANAGED_TAINT_KEYS or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in out}
    for key, effect in want:
        if (key, effect) not in have:
            t: dict[str, Any] = {"key": key, "effect": effect}
            if effect == "NoExecute":
                t["timeAdded"] = now
            out.append(t)
    return out


def toleration_seconds(tol: dict) -> float:
    """How long one toleration lets a pod stay: its tolerationSeconds, forever without one."""
    secs = tol.get("tolerationSeconds")
    if secs is None:
        return FOREVER
    return max(float(secs), 0.0)


def eviction_delay(pod: dict, taints: list[dict]) -> float | None:
    """Seconds until the pod must go for these NoExecute taints: 0 now, FOREVER never, None if no taint."""
    noexec = [t for t in taints if t.get("effect") == "NoExecute"]
    if not noexec:
        return None
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    used: list[dict] = []
    for taint in noexec:
        matching = [tol for tol in tolerations if tolerates(tol, taint)]
        if not matching:
            return 0.0
        used.extend(matching)
    return min(toleration_seconds(t) for t in used)


# --- the controller ----------------------------------------------------------------------------------------


@dataclass
class _Health:
    probe: float  # monotonic time of the last sign of life
    lease_renew: str | None = None
    heartbeat: str | None = None
    ready: str | None = None  # Ready status at the last monitor pass
    marked_since: str | None = None  # lastTransitionTime of the not-Ready condition whose pods were marked


class NodeLifecycleController(Controller):
    name = "node-controller"
    workers = 2

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.eviction_recorder = events.new_recorder("taint-eviction-controller")
        self.node_informer = informers.get("Node")
        self.lease_informer = informers.get("Lease")
        self.pod_informer = informers.get("Pod")
        self.health: dict[str, _Health] = {}
        self.used_cidrs: set[int] = set()
        self._network: tuple[Any, ClusterNetwork] | None = None
        self.eviction_start: dict[str, float] = {}  # pod uid -> monotonic time its NoExecute clock started
        self.evicted: set[str] = set()
        self.force_deleted: set[str] = set()
        # Nodes whose pods could not all be marked not ready: the next monitor pass tries again (nodesToRetry).
        self.nodes_to_retry: set[str] = set()
        # Pods newly seen on a node, checked against its health (the podUpdateQueue of processPod).
        self.pod_queue: WorkQueue[Key] = WorkQueue(f"{self.name}-pods", base_delay=self.queue.base_delay,
                                                   max_delay=self.queue.max_delay)
        self.node_informer.add_handler(self._node_added, self._node_updated, self._node_deleted)
        self.lease_informer.add_handler(self._lease_changed, lambda old, new: self._lease_changed(new))
        self.pod_informer.add_handler(lambda pod: self._pod_changed(None, pod), self._pod_changed)

    # -- handlers -------------------------------------------------------------------------------------------
    def _node_added(self, node: dict) -> None:
        name = node["metadata"]["name"]
        self._observe_node(node)
        idx = self.network.cidr_index((node.get("spec") or {}).get("podCIDR") or "")
        if idx is not None:
            self.used_cidrs.add(idx)
        else:
            self.queue.add(("", name))
        self.recorder.event(node, NORMAL, "RegisteredNode", f"Node {name} event: Registered Node {name} in Controller")

    def _node_updated(self, old: dict, new: dict) -> None:
        self._observe_node(new)
        if _cordon_taint_stale(new):
            self.queue.add((CORDON, new["metadata"]["name"]))  # at once, not at the next monitor pass
        idx = self.network.cidr_index((new.get("spec") or {}).get("podCIDR") or "")
        if idx is not None:
            self.used_cidrs.add(idx)
        elif not (new.get("spec") or {}).get("podCIDR"):
            self.queue.add(("", new["metadata"]["name"]))

    def _node_deleted(self, node: dict) -> None:
        name = node["metadata"]["name"]
        self.health.pop(name, None)
        self.nodes_to_retry.discard(name)
        idx = self.network.cidr_index((node.get("spec") or {}).get("podCIDR") or "")
        if idx is not None:
            self.used_cidrs.discard(idx)
        self.recorder.event(node, NORMAL, "RemovingNode", f"Node {name} event: Removing Node {name} from Controller")

    def _observe_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        h = self.health.get(name)
        ready = cu.condition(node.get("status"), "Ready")
        hb = (ready or {}).get("lastHeartbeatTime")
        if h is None:
            self.health[name] = _Health(probe=time.monotonic(), heartbeat=hb)
            return
        if hb and hb != h.heartbeat and (ready or {}).get("reason") != "NodeStatusUnknown":
            h.heartbeat = hb
            h.probe = time.monotonic()

    def _lease_changed(self, lease: dict) -> None:
        md = lease.get("metadata") or {}
        if md.get("namespace") != NODE_LEASE_NAMESPACE:
            return
        renew = (lease.get("spec") or {}).get("renewTime")
        h = self.health.get(md.get("name", ""))
        if h is None:
            self.health[md.get("name", "")] = _Health(probe=time.monotonic(), lease_renew=renew)
        elif renew != h.lease_renew:
            h.lease_renew = renew
            h.probe = time.monotonic()

    def _pod_changed(self, old: dict | None, new: dict) -> None:
        """podUpdated: a pod first seen, or newly bound, is checked against its node's health."""
        node_name = (new.get("spec") or {}).get("nodeName")
        if node_name and (old is None or (old.get("spec") or {}).get("nodeName") != node_name):
            self.pod_queue.add(key_of(new))

    # -- pod range allocation (the queue's keys are ("", node name)) ---------------------------------------------
    @property
    def network(self) -> ClusterNetwork:
        """The cluster's ranges, as the API server's hello gave them (--cluster-cidr)."""
        given = self.client.hello.get("network")
        if self._network is None or self._network[0] is not given:
            self._network = (given, ClusterNetwork.from_dict(given))
        return self._network[1]

    async def sync(self, key: Key) -> None:
        name = key[1]
        node = self.node_informer.get(None, name)
        if node is None:
            return
        if key[0] == CORDON:
            await self._sync_cordon_taint(node)
            return
        spec = node.get("spec") or {}
        if spec.get("podCIDR"):
            idx = self.network.cidr_index(spec["podCIDR"])
            if idx is not None:
                self.used_cidrs.add(idx)
            return
        idx = next_free_index(self.used_cidrs)
        try:
            cidr = self.network.pod_cidr(idx)
        except RuntimeError:
            self.recorder.event(node, WARNING, "CIDRNotAvailable", f"Node {name} status is now: CIDRNotAvailable")
            raise
        self.used_cidrs.add(idx)
        try:
            await self.client.patch("Node", name, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}, namespace=None)
        except ApiError as e:
            self.used_cidrs.discard(idx)
            if e.code == 404:
                return
            self.recorder.event(node, WARNING, "CIDRAssignmentFailed", f"Node {name} status is now: CIDRAssignmentFailed")
            raise

    async def _sync_cordon_taint(self, node: dict) -> None:
        """The unschedulable taint follows spec.unschedulable as soon as it changes (kubectl cordon/uncordon),
        as the TaintNodesByCondition pass on a node update does; the other taints stay the monitor's."""
        if not _cordon_taint_stale(node):
            return
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("key") != UNSCHEDULABLE_TAINT]
        if (node.get("spec") or {}).get("unschedulable"):
            taints.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
        await self._write_taints(node, taints)  # a 409: changed meanwhile; its update event brings it back here

    async def _write_taints(self, node: dict, taints: list[dict]) -> None:
        """The node with these taints (none: no taints field), unless it changed or went meanwhile."""
        new = copy.deepcopy(node)
        new.setdefault("spec", {})["taints"] = taints
        if not taints:
            new["spec"].pop("taints", None)
        try:
            await self.client.update(new)
        except ApiError as e:
            if e.code not in (404, 409):
                raise

    # -- the loops ----------------------------------------------------------------------------------------
    async def run(self) -> None:
        for node in self.node_informer.list():
            idx = self.network.cidr_index((node.get("spec") or {}).get("podCIDR") or "")
            if idx is not None:
                self.used_cidrs.add(idx)
        try:
            await asyncio.gather(
                run_workers(self.queue, self.sync, self.workers, on_error=self._on_error),
                run_workers(self.pod_queue, self.sync_pod, self.workers, on_error=self._on_error),
                self._monitor_loop(),
            )
        finally:
            self.queue.shutdown()
            self.pod_queue.shutdown()

    async def _monitor_loop(self) -> None:
        while True:
            try:
                await self.monitor_once()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # one bad pass must not stop node monitoring
                self._on_error(("", "monitor"), e)
            await asyncio.sleep(self.timings.node_monitor_period)

    async def monitor_once(self) -> None:
        now_mono = time.monotonic()
        for node in self.node_informer.list():
            await self._monitor_node(node, now_mono)
        await self._taint_eviction_pass()
        await self._pod_gc_pass()

    async def _monitor_node(self, node: dict, now_mono: float) -> None:
        name = node["metadata"]["name"]
        h = self.health.get(name)
        if h is None:
            h = self.health[name] = _Health(probe=now_mono)
        if now_mono - h.probe > self.timings.node_monitor_grace_period:
            new = copy.deepcopy(node)
            if mark_unknown(new, meta.now()):
                try:
                    node = await self.client.update_status(new)
                except ApiError as e:
                    if e.code not in (404, 409):
                        raise
                    return  # the kubelet spoke (or the node went): look again next pass
        ready = ready_status(node)
        cond = cu.condition(node.get("status"), "Ready")
        if ready != "True" and cond is not None:
            # Each spell of not-Ready (told apart by its lastTransitionTime) has its pods marked not ready once:
            # at the transition, when first seen (a restarted control plane), when a pass missed the node's short
            # Ready spell in between, and again after a mark that failed. Once per spell, so a live kubelet that
            # reports its pods Ready again is not fought.
            since = cond.get("lastTransitionTime")
            if h.marked_since != since or name in self.nodes_to_retry:
                if h.ready is not None and h.marked_since != since:
                    self.recorder.event(node, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
                await self._mark_pods_not_ready(name)
                h.marked_since = since
        elif h.ready is not None and h.ready != "True" and ready == "True":
            self.recorder.event(node, NORMAL, "NodeReady", f"Node {name} status is now: NodeReady")
        if ready == "True":
            self.nodes_to_retry.discard(name)
        h.ready = ready
        taints = desired_taints(node, meta.now())
        if _taint_set(taints) != _taint_set((node.get("spec") or {}).get("taints") or []):
            await self._write_taints(node, taints)

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        """MarkPodsNotReady: the node can't vouch for its pods any more, so Services stop sending them traffic.
        A pod that could not be written is tried again at the next monitor pass."""
        failed = False
        for pod in self.pod_informer.by_index(BY_NODE, node_name):
            try:
                await self._mark_pod_not_ready(pod)
            except ApiError as e:
                if e.code == 409:
                    continue  # written meanwhile (its kubelet, if it lives, knows better): not fought over
                failed = True
                self.log.debug("%s: pod %s not marked not ready: %s (retrying)", self.name, cu.pod_key(pod), e.message)
        if failed:
            self.nodes_to_retry.add(node_name)
        else:
            self.nodes_to_retry.discard(node_name)

    async def _mark_pod_not_ready(self, pod: dict) -> None:
        """Ready=False on one pod that still says Ready=True (and nothing otherwise); raises what the write raised
        but NotFound (the pod is gone: nothing left to do)."""
        if not cu.is_pod_ready(pod):
            return
        new = copy.deepcopy(pod)
        for c in new["status"].get("conditions") or []:
            if c.get("type") == "Ready":
                c.update(status="False", lastTransitionTime=meta.now())
        try:
            await self.client.update_status(new)
        except ApiError as e:
            if e.code == 404:
                return
            raise
        self.recorder.event(pod, WARNING, "NodeNotReady", "Node is not ready")

    async def sync_pod(self, key: Key) -> None:
        """processPod: a pod newly bound to a node whose Ready condition is not True is marked not ready."""
        pod = self.pod_informer.get(key[0], key[1])
        node_name = ((pod or {}).get("spec") or {}).get("nodeName")
        node = self.node_informer.get(None, node_name) if node_name else None
        if pod is None or node is None:
            return  # gone; or a node this controller has not seen yet, whose first pass looks at all its pods
        ready = cu.condition(node.get("status"), "Ready")
        if ready is None or ready.get("status") == "True":
            return  # healthy; or no Ready condition yet (a node still registering): nothing to say about its pods
        await self._mark_pod_not_ready(pod)  # a failed write is retried by the queue (a conflict: on a fresher copy)

    async def _taint_eviction_pass(self) -> None:
        now_mono = time.monotonic()
        live: set[str] = set()
        for node in self.node_informer.list():
            taints = (node.get("spec") or {}).get("taints") or []
            if not self.eviction_start and not any(t.get("effect") == "NoExecute" for t in taints):
                continue  # nothing to evict here and no eviction to cancel: skip its pods
            for pod in self.pod_informer.by_index(BY_NODE, node["metadata"]["name"]):
                uid = pod["metadata"].get("uid", "")
                if cu.is_terminating(pod) or cu.phase(pod) in ("Succeeded", "Failed"):
                    continue
                delay = eviction_delay(pod, taints)
                if delay is None or delay == FOREVER:
                    if uid in self.eviction_start and delay is None:
                        ns_name = cu.pod_key(pod)
                        self.eviction_recorder.event(pod, NORMAL, "TaintManagerEviction", f"Cancelling deletion of Pod {ns_name}")
                    continue
                live.add(uid)
                start = self.eviction_start.setdefault(uid, now_mono)
                if now_mono - start >= delay and uid not in self.evicted:
                    await self._evict(pod)
        for uid in list(self.eviction_start):
            if uid not in live:
                del self.eviction_start[uid]
        self.evicted &= live

    async def _evict(self, pod: dict) -> None:
        md = pod["metadata"]
        self.eviction_recorder.event(pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {cu.pod_key(pod)}")
        try:
            await self.client.delete("Pod", md["name"], md.get("namespace"))
        except ApiError as e:
            if e.code != 404:
                raise
        self.evicted.add(md.get("uid", ""))

    async def _pod_gc_pass(self) -> None:
        for pod in self.pod_informer.list():
            node_name = (pod.get("spec") or {}).get("nodeName")
            if not node_name:
                continue
            uid = pod["metadata"].get("uid", "")
            if uid in self.force_deleted:
                continue
            node = self.node_informer.get(None, node_name)
            if node is None:
                try:
                    await self.client.get("Node", node_name, None)
                    continue  # the cache is behind; the node exists
                except ApiError as e:
                    if e.code != 404:
                        raise
                self.log.info("PodGC is force deleting Pod: %s (node %s is gone)", cu.pod_key(pod), node_name)
                await self._force_delete(pod)
            elif cu.is_terminating(pod) and ready_status(node) != "True" and _out_of_service(node):
                # gcTerminating: the admin said the node is down, so nothing runs the pod any more
                self.log.info("PodGC is force deleting Pod: %s (terminating on out-of-service node %s)", cu.pod_key(pod), node_name)
                await self._force_delete(pod)

    async def _force_delete(self, pod: dict) -> None:
        md = pod["metadata"]
        try:
            await self.client.delete("Pod", md["name"], md.get("namespace"), grace_period=0)
        except ApiError as e:
            if e.code != 404:
                raise
        self.force_deleted.add(md.get("uid", ""))
        if len(self.force_deleted) > 10_000:
            self.force_deleted.clear()


def _out_of_service(node: dict) -> bool:
    return any(t.get("key") == OUT_OF_SERVICE_TAINT for t in (node.get("spec") or {}).get("taints") or [])


def _taint_set(taints: list[dict]) -> set[tuple]:
    return {(t.get("key"), t.get("value"), t.get("effect")) for t in taints}
