"""The DaemonSet controller (pkg/controller/daemon): one pod per eligible node, rolling updates, status.

Pods are created unscheduled with a required node affinity `metadata.name In [<node>]`, like Kubernetes
since 1.12, so the scheduler binds them; they carry the tolerations Kubernetes adds to daemon pods.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from control.api import meta
from control.api.labels import from_label_selector
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.deployment import compute_hash
from control.controllers.events import WARNING, EventBroadcaster
from control.controllers.informers import SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.scheduler.nodeinfo import PodInfo
from control.scheduler.plugins.node_affinity import compile_required
from control.scheduler.plugins.taint_toleration import tolerates
from control.timings import Timings

REVISION_HASH_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"

# util.AddOrUpdateDaemonPodTolerations: daemons ride out node trouble instead of being evicted.
DAEMON_TOLERATIONS: list[dict] = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
NETWORK_UNAVAILABLE_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}


def add_daemon_tolerations(spec: dict) -> None:
    tolerations = [t for t in spec.get("tolerations") or []]
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(NETWORK_UNAVAILABLE_TOLERATION)
    for t in wanted:
        # AddOrUpdateTolerationInPodSpec: one with the same key/operator/effect is replaced
        tolerations = [x for x in tolerations if not (x.get("key") == t["key"] and x.get("effect") == t["effect"] and (x.get("operator") or "Equal") == t["operator"])]
        tolerations.append(dict(t))
    spec["tolerations"] = tolerations


def replace_node_affinity(spec: dict, node_name: str) -> None:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: the pod may only go to its node."""
    affinity = spec.setdefault("affinity", {}) or {}
    spec["affinity"] = affinity
    na = affinity.setdefault("nodeAffinity", {}) or {}
    affinity["nodeAffinity"] = na
    na["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]
    }


def template_hash(ds: dict) -> str:
    """The stand-in for the ControllerRevision hash: the template's hash."""
    return compute_hash((ds.get("spec") or {}).get("template") or {})


def node_should_run_daemon_pod(node: dict, ds: dict) -> tuple[bool, bool]:
    """(shouldRun, shouldContinueRunning) for this DaemonSet on this node (NodeShouldRunDaemonPod)."""
    tspec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    name = (node.get("metadata") or {}).get("name", "")
    if tspec.get("nodeName") and tspec["nodeName"] != name:
        return False, False
    pod_spec = copy.deepcopy(tspec)
    add_daemon_tolerations(pod_spec)
    matcher = compile_required(PodInfo({"spec": pod_spec}))
    labels = (node.get("metadata") or {}).get("labels") or {}
    if matcher is not None and not matcher(labels, name):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = pod_spec.get("tolerations") or []

    def untolerated(effects: tuple[str, ...]) -> bool:
        return any(t.get("effect") in effects and not any(tolerates(tol, t) for tol in tolerations) for t in taints)

    if untolerated(("NoSchedule", "NoExecute")):
        # a daemon pod that tolerates the NoExecute taints may keep running where it already is
        return False, not untolerated(("NoExecute",))
    return True, True


def target_node(pod: dict) -> str | None:
    """util.GetTargetNodeName: spec.nodeName, or the node the required affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and len(f.get("values") or []) == 1:
                return str(f["values"][0])
    return None


def _by_creation_and_phase(pods: list[dict]) -> list[dict]:
    # podByCreationTimestampAndPhase: running/ready ones before pending, then oldest first
    def key(p: dict) -> tuple:
        return (0 if p.get("spec", {}).get("nodeName") else 1, 0 if cu.is_pod_ready(p) else 1, cu.creation_time(p) or 0.0, p["metadata"].get("name", ""))

    return sorted(pods, key=key)


def is_pod_updated(pod: dict, hash_: str, generation: int) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if labels.get(REVISION_HASH_LABEL):
        return labels[REVISION_HASH_LABEL] == hash_
    return labels.get(TEMPLATE_GENERATION_LABEL) == str(generation)


@dataclass
class NodePlan:
    create_on: list[str] = field(default_factory=list)
    delete: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)


def plan_nodes(ds: dict, nodes: list[dict], node_to_pods: dict[str, list[dict]]) -> NodePlan:
    """podsShouldBeOnNode for every node, plus unscheduled pods aimed at nodes that no longer exist."""
    plan = NodePlan()
    names = set()
    for node in nodes:
        name = node["metadata"]["name"]
        names.add(name)
        should_run, should_continue = node_should_run_daemon_pod(node, ds)
        pods = node_to_pods.get(name, [])
        if should_run and not pods:
            plan.create_on.append(name)
        elif should_continue:
            running = []
            for p in pods:
                if cu.is_terminating(p):
                    continue
                if cu.phase(p) == "Failed":
                    plan.failed.append(p)
                    plan.delete.append(p)
                else:
                    running.append(p)
            if len(running) > 1:
                plan.delete.extend(_by_creation_and_phase(running)[1:])  # keep the oldest
        elif pods:
            plan.delete.extend(p for p in pods if not cu.is_terminating(p))
    for name, pods in node_to_pods.items():
        if name not in names:
            plan.delete.extend(p for p in pods if not (p.get("spec") or {}).get("nodeName") and not cu.is_terminating(p))
    return plan


def rolling_update_victims(ds: dict, nodes: list[dict], node_to_pods: dict[str, list[dict]], hash_: str, now: float | None = None) -> list[dict]:
    """Old pods to delete now so that at most maxUnavailable nodes lack an available daemon (maxSurge 0)."""
    spec = ds.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    generation = int((ds.get("metadata") or {}).get("generation") or 1)
    desired = sum(1 for n in nodes if node_should_run_daemon_pod(n, ds)[0])
    ru = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
    max_unavailable = cu.scaled_value(ru.get("maxUnavailable", 1), desired, True)
    if max_unavailable == 0:
        max_unavailable = 1
    now = time.time() if now is None else now
    unavailable = 0
    replace_now: list[dict] = []
    candidates: list[dict] = []
    for node in nodes:
        name = node["metadata"]["name"]
        if not node_should_run_daemon_pod(node, ds)[0]:
            continue
        pods = [p for p in node_to_pods.get(name, []) if not cu.is_terminating(p)]
        new = [p for p in pods if is_pod_updated(p, hash_, generation)]
        old = [p for p in pods if not is_pod_updated(p, hash_, generation)]
        if len(new) > 1 or len(old) > 1 or (not new and not old) or (new and old):
            unavailable += 1  # manage() sorts these out
            continue
        if new:
            if not cu.is_pod_available(new[0], min_ready, now):
                unavailable += 1
            continue
        if not cu.is_pod_available(old[0], min_ready, now):
            replace_now.append(old[0])  # not serving anyway: replace at once
        else:
            candidates.append(old[0])
    budget = max(0, max_unavailable - unavailable - len(replace_now))
    return replace_now + candidates[:budget]


def calculate_status(ds: dict, nodes: list[dict], node_to_pods: dict[str, list[dict]], hash_: str, now: float | None = None) -> dict:
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = int((ds.get("metadata") or {}).get("generation") or 1)
    now = time.time() if now is None else now
    desired = current = ready = available = updated = misscheduled = 0
    for node in nodes:
        should_run, _ = node_should_run_daemon_pod(node, ds)
        pods = node_to_pods.get(node["metadata"]["name"], [])
        if should_run:
            desired += 1
            if not pods:
                continue
            current += 1
            pod = _by_creation_and_phase(pods)[0]
            if cu.is_pod_ready(pod):
                ready += 1
                if cu.is_pod_available(pod, min_ready, now):
                    available += 1
            if is_pod_updated(pod, hash_, generation):
                updated += 1
        elif pods:
            misscheduled += 1
    status: dict[str, Any] = {
        "currentNumberScheduled": current,
        "desiredNumberScheduled": desired,
        "numberMisscheduled": misscheduled,
        "numberReady": ready,
        "numberAvailable": available,
        "numberUnavailable": desired - available,
        "updatedNumberScheduled": updated,
        "observedGeneration": generation,
    }
    return status


class DaemonSetController(Controller):
    name = "daemonset-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.ds_informer = informers.get("DaemonSet")
        self.pod_informer = informers.get("Pod")
        self.node_informer = informers.get("Node")
        self.expectations = cu.Expectations()
        self.ds_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self._ds_deleted)
        self.pod_informer.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.node_informer.add_handler(lambda n: self._all(), self._node_updated, lambda n: self._all())

    def _all(self) -> None:
        for ds in self.ds_informer.list():
            self.enqueue(ds)

    def _node_updated(self, old: dict, new: dict) -> None:
        o, n = old.get("metadata") or {}, new.get("metadata") or {}
        if o.get("labels") != n.get("labels") or (old.get("spec") or {}) != (new.get("spec") or {}):
            self._all()

    def _ds_deleted(self, ds: dict) -> None:
        self.expectations.delete(key_of(ds))

    def _owner(self, pod: dict) -> dict | None:
        return cu.resolve_controller_ref(self.ds_informer, "DaemonSet", pod)

    def _pod_added(self, pod: dict) -> None:
        ds = self._owner(pod)
        if ds is not None:
            if cu.is_terminating(pod):
                self.expectations.deletion_observed(key_of(ds), cu.pod_key(pod))
            else:
                self.expectations.creation_observed(key_of(ds))
            self.enqueue(ds)
        elif meta.controller_of(pod) is None:
            for ds in cu.selecting_owners(self.ds_informer, pod, skip_empty=False):
                self.enqueue(ds)

    def _pod_updated(self, old: dict, new: dict) -> None:
        ds = self._owner(new)
        if ds is not None:
            if cu.is_terminating(new) and not cu.is_terminating(old):
                self.expectations.deletion_observed(key_of(ds), cu.pod_key(new))
            self.enqueue(ds)
            min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready and not cu.is_pod_ready(old) and cu.is_pod_ready(new):
                self.enqueue_after(ds, min_ready + 0.05)

    def _pod_deleted(self, pod: dict) -> None:
        ds = self._owner(pod)
        if ds is not None:
            self.expectations.deletion_observed(key_of(ds), cu.pod_key(pod))
            self.enqueue(ds)

    async def sync(self, key: Key) -> None:
        ns, name = key
        cached = self.ds_informer.get(ns, name)
        if cached is None:
            self.expectations.delete(key)
            return
        ds = copy.deepcopy(cached)
        selector = from_label_selector((ds.get("spec") or {}).get("selector"))
        if selector.empty:
            self.recorder.event(ds, WARNING, "SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.")
            return
        pods = await cu.claim(self.client, ds, selector, self.informers.claim_candidates(self.pod_informer, ds))
        nodes = self.node_informer.list()
        hash_ = template_hash(ds)
        node_to_pods = self._node_to_pods(pods)
        if self.expectations.satisfied(key) and not cu.is_terminating(ds):
            await self._manage(key, ds, nodes, node_to_pods, hash_)
            if ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate" and self.expectations.satisfied(key):
                victims = rolling_update_victims(ds, nodes, node_to_pods, hash_)
                if victims:
                    await self._sync_nodes(key, ds, victims, [], hash_)
        status = calculate_status(ds, nodes, node_to_pods, hash_)
        old = ds.get("status") or {}
        if any(old.get(k, 0) != v for k, v in status.items()):
            ds["status"] = dict(old, **status)
            try:
                await self.client.update_status(ds)
            except ApiError as e:
                if e.code != 404:
                    raise
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready and status["numberAvailable"] < status["numberReady"]:
            self.queue.add_after(key, min_ready)

    def _node_to_pods(self, pods: list[dict]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for p in pods:
            if cu.phase(p) == "Succeeded":
                continue
            node = target_node(p)
            if node:
                out.setdefault(node, []).append(p)
        return out

    async def _manage(self, key: Key, ds: dict, nodes: list[dict], node_to_pods: dict[str, list[dict]], hash_: str) -> None:
        plan = plan_nodes(ds, nodes, node_to_pods)
        for p in plan.failed:
            self.recorder.event(
                ds, WARNING, "FailedDaemonPod",
                f"Found failed daemon pod {p['metadata'].get('namespace')}/{p['metadata']['name']} on node {target_node(p)}, will try to kill it",
            )
        await self._sync_nodes(key, ds, plan.delete, plan.create_on, hash_)

    async def _sync_nodes(self, key: Key, ds: dict, delete: list[dict], create_on: list[str], hash_: str) -> None:
        # Expectations for both directions at once, like the DaemonSet's SetExpectations(key, creates, deletes).
        self.expectations.expect(key, len(create_on), [cu.pod_key(p) for p in delete])
        template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels[REVISION_HASH_LABEL] = hash_
        labels[TEMPLATE_GENERATION_LABEL] = str(int(ds["metadata"].get("generation") or 1))
        add_daemon_tolerations(template.setdefault("spec", {}))
        ref = meta.owner_ref(ds, controller=True)
        pending = list(create_on)

        async def create_one() -> None:
            node = pending.pop(0)
            pod = cu.pod_from_template(template, ds, ref)
            replace_node_affinity(pod["spec"], node)
            await cu.create_pod(self.client, self.recorder, ds, pod)

        create_err: Exception | None = None
        if create_on:
            _, create_err = await cu.create_pods(self.expectations, key, len(create_on), create_one)
        delete_err = await cu.delete_pods(self.client, self.recorder, self.expectations, key, ds, delete)
        if create_err is not None:
            raise create_err
        if delete_err is not None:
            raise delete_err
