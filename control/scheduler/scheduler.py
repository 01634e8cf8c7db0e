"""The scheduler's loop: watch pods and nodes, pop pending pods, filter and score, bind through the API server.

Like kube-scheduler's scheduleOne: the decision is taken against an in-memory snapshot kept by
informers; the chosen node is "assumed" at once so the next pod sees the allocation, and the
bind (with the decision record as a Binding annotation) runs in the background.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

from control.api import meta
from control.api import persistentvolume as pvs
from control.api.labels import EQUALS, Requirement, Selector, from_label_selector
from control.client import Client
from control.errors import ApiError
from control.informer import Informer
from control.scheduler import queue as q
from control.scheduler.config import SchedulerConfig
from control.scheduler.framework import Framework, PluginError
from control.scheduler.nodeinfo import PodInfo, Snapshot, pod_key
from control.scheduler.plugins.volume_binding import Storage, claim_names, static_matches
from control.scheduler.podindex import Cluster
from control.scheduler.preemption import DISRUPTION_TARGET, PREEMPTION_BY_SCHEDULER, Candidate
from control.scheduler.record import ANNOTATION, to_annotation
from control.timings import Timings

log = logging.getLogger("kube_tui.scheduler")

SCHEDULER_NAME = "default-scheduler"
# How long the bind of a pod waits for its WaitForFirstConsumer claims to be bound (bindTimeoutSeconds is 600
# in kube-scheduler; the local-path provisioner answers in well under a second)
VOLUME_BIND_TIMEOUT = 120.0


def _assigned(pod: dict) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _terminal(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def scheduler_name(pod: dict) -> str:
    return (pod.get("spec") or {}).get("schedulerName") or SCHEDULER_NAME


class Scheduler:
    """One scheduler, one queue, and a framework per profile: a pod is scheduled by the profile its
    `spec.schedulerName` names, and left alone when no profile has that name (another scheduler's)."""

    def __init__(self, client: Client, *, timings: Timings, framework: Framework | None = None, recorder: Any = None,
                 config: SchedulerConfig | None = None) -> None:
        self.client = client
        self.timings = timings
        if config is not None:
            self.profiles = {p.scheduler_name: p.framework for p in config.profiles}
        else:
            self.profiles = {SCHEDULER_NAME: framework or Framework()}
        self.framework = next(iter(self.profiles.values()))
        self.snapshot = Snapshot()
        initial = config.pod_initial_backoff if config and config.pod_initial_backoff else timings.scheduler_backoff
        maximum = config.pod_max_backoff if config and config.pod_max_backoff else max(initial, timings.scheduler_backoff * 10)
        self.queue = q.SchedulingQueue(initial_backoff=initial, max_backoff=maximum)
        self.nodes = Informer(client, "Node")
        self.pods = Informer(client, "Pod")
        # What owns a pod (PodTopologySpread's system default constraints spread a Service's or a ReplicaSet's
        # pods), and namespace labels (pod affinity terms' namespaceSelector).
        self.services = Informer(client, "Service")
        self.services.add_index("namespace", lambda svc: [(svc.get("metadata") or {}).get("namespace") or "default"])
        self.replicasets = Informer(client, "ReplicaSet")
        self.namespaces = Informer(client, "Namespace")
        self.pdbs = Informer(client, "PodDisruptionBudget")  # preemption prefers victims whose budget allows
        # VolumeBinding: where a pod's claims let it run, and the claims it binds before the pod
        self.claims = Informer(client, "PersistentVolumeClaim")
        self.volumes = Informer(client, "PersistentVolume")
        self.classes = Informer(client, "StorageClass")
        self.storage = Storage(claim=self.claims.get, volume=lambda name: self.volumes.get(None, name),
                               storage_class=lambda name: self.classes.get(None, name), volumes=self.volumes.list)
        self._owner_cache: dict[tuple, Selector | None] = {}
        self.recorder = recorder
        self._recorders: dict[str, Any] = {}
        self.scheduled = 0
        self.failed = 0
        self.last_cycle_ms = 0.0
        self._binds: set[asyncio.Task[None]] = set()
        # The nominator: pending pods that preempted pods on a node and wait for the room there.
        self.nominated: dict[str, dict[str, PodInfo]] = {}  # node -> {pod key: PodInfo}
        self._nominated_node: dict[str, str] = {}  # pod key -> node
        self._preempting: set[str] = set()  # pods whose victims are being evicted (kube: IsPodRunningPreemption)

    def _ours(self, pod: dict) -> bool:
        return scheduler_name(pod) in self.profiles

    def use(self, config: SchedulerConfig) -> None:
        """Schedule with these profiles from now on (a reloaded configuration). Pending pods that a new
        profile names join the queue; every pending pod is tried again."""
        self.profiles = {p.scheduler_name: p.framework for p in config.profiles}
        self.framework = next(iter(self.profiles.values()))
        for pod in self.pods.list():
            if not _assigned(pod) and self._ours(pod) and not pod["metadata"].get("deletionTimestamp") \
                    and not _terminal(pod) and not self.snapshot.is_assumed(pod):  # assumed: its bind is on its way
                self.queue.add(pod)
        self.queue.move_all_to_active_or_backoff(q.FORCE_ACTIVATE)

    # -- informer handlers -------------------------------------------------------------------------
    def _pod_added(self, pod: dict) -> None:
        if _assigned(pod):
            self.snapshot.add_pod(pod)
            self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_ADD)
        elif self._ours(pod) and not pod["metadata"].get("deletionTimestamp") and not _terminal(pod):
            self.queue.add(pod)
            node = (pod.get("status") or {}).get("nominatedNodeName")
            if node:  # nominated before a restart: it keeps its claim on that node
                self.nominate(pod, node)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if _assigned(new):
            if _assigned(old):
                self.snapshot.add_pod(new)
                if (old["metadata"].get("labels") or {}) != (new["metadata"].get("labels") or {}):
                    self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_LABEL_CHANGE)
            else:
                self.snapshot.add_pod(new)  # confirms the assumed pod
                self.queue.delete(new)
                self.unnominate(new)
                self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_ADD)
            if _terminal(new) and not _terminal(old):
                self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_DELETE)
        elif self._ours(new):
            if new["metadata"].get("deletionTimestamp") or _terminal(new):
                self.queue.delete(new)
                self.unnominate(new)
            elif not self.snapshot.is_assumed(new):  # an assumed pod's bind is on its way (skipPodSchedule)
                self.queue.update(old, new)
                node = (new.get("status") or {}).get("nominatedNodeName")
                was = (old.get("status") or {}).get("nominatedNodeName")
                # Follow the field only when it changed: an update that still carries an older value (the
                # annotation patch before the status patch) must not undo a nomination made since.
                if node and node != was:
                    self.nominate(new, node)
                elif was and not node:
                    self.unnominate(new)  # cleared (by a higher-priority pod's preemption)
                # An update that does not carry a nomination the scheduler just made keeps it
                # (kube-scheduler's nominator does the same: the status patch is on its way).

    def _pod_deleted(self, pod: dict) -> None:
        if _assigned(pod):
            self.snapshot.remove_pod(pod)
            self.queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_DELETE)
        else:
            self.queue.delete(pod)
            self.unnominate(pod)

    # -- the nominator --------------------------------------------------------------------------------
    def nominate(self, pod: dict, node: str) -> None:
        """Count `pod` as waiting on `node`: pods of lower or equal priority leave room for it there."""
        key = pod_key(pod)
        self.unnominate(key)
        self.nominated.setdefault(node, {})[key] = PodInfo(pod)
        self._nominated_node[key] = node

    def unnominate(self, pod: dict | str) -> None:
        key = pod if isinstance(pod, str) else pod_key(pod)
        node = self._nominated_node.pop(key, None)
        if node is not None:
            on = self.nominated.get(node)
            if on is not None:
                on.pop(key, None)
                if not on:
                    del self.nominated[node]

    def _node_added(self, node: dict) -> None:
        self.snapshot.add_node(node)
        self.queue.move_all_to_active_or_backoff(q.NODE_ADD)

    def _node_updated(self, old: dict, new: dict) -> None:
        self.snapshot.update_node(new)
        events = q.node_update_events(old, new)
        if events:
            self.queue.move_all_to_active_or_backoff(events)

    def _node_deleted(self, node: dict) -> None:
        self.snapshot.remove_node(node)
        self.queue.move_all_to_active_or_backoff(q.NODE_DELETE)

    def _storage_changed(self, _obj: dict) -> None:
        self.queue.move_all_to_active_or_backoff(q.STORAGE_CHANGE)

    def _owners_changed(self, *_: Any) -> None:
        self._owner_cache.clear()

    def _owner_updated(self, old: dict, new: dict) -> None:
        """A Service or ReplicaSet changed: only a new selector changes what owns which pods (a ReplicaSet's
        status writes, many during a scale-up, do not)."""
        if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
            self._owner_cache.clear()

    def owner_selector(self, pod: dict) -> Selector | None:
        """helper.DefaultSelector: the selectors of the Services that select the pod, and of its ReplicaSet."""
        md = pod.get("metadata") or {}
        ns = md.get("namespace") or "default"
        labels = md.get("labels") or {}
        owner = next((r for r in md.get("ownerReferences") or () if r.get("controller")), None)
        rs_name = owner.get("name") if owner and owner.get("kind") == "ReplicaSet" else None
        key = (ns, frozenset(labels.items()), rs_name)
        if key in self._owner_cache:
            return self._owner_cache[key]
        merged: dict[str, str] = {}
        for svc in self.services.by_index("namespace", ns):
            sel = (svc.get("spec") or {}).get("selector")
            if sel is None:
                continue
            if all(labels.get(k) == v for k, v in sel.items()):
                merged.update(sel)
        reqs = [Requirement(k, EQUALS, (str(v),)) for k, v in merged.items()]
        if rs_name is not None:
            rs = self.replicasets.get(ns, rs_name)
            if rs is not None:
                try:
                    reqs.extend(from_label_selector((rs.get("spec") or {}).get("selector")).requirements)
                except ApiError:
                    pass
        selector = Selector(tuple(sorted(reqs, key=lambda r: r.key))) if reqs else None
        if len(self._owner_cache) > 10_000:
            self._owner_cache.clear()
        self._owner_cache[key] = selector
        return selector

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        ns = self.namespaces.get(None, namespace)
        labels = dict(((ns or {}).get("metadata") or {}).get("labels") or {})
        labels.setdefault("kubernetes.io/metadata.name", namespace)
        return labels

    def cluster(self) -> Cluster:
        """The whole cluster as this cycle's plugins see it."""
        return Cluster(self.snapshot.node_infos(), self.snapshot.index, by_name=self.snapshot.infos,
                       owner_selector=self.owner_selector, ns_labels=self.namespace_labels,
                       label_keys=self.snapshot.label_keys, nominated=self.nominated, pdbs=self.pdbs.list(),
                       storage=self.storage)

    # -- the loop -----------------------------------------------------------------------------------
    async def run(self) -> None:
        self.nodes.add_handler(self._node_added, self._node_updated, self._node_deleted)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        for owners in (self.services, self.replicasets):
            owners.add_handler(self._owners_changed, self._owner_updated, self._owners_changed)
        for storage in (self.claims, self.volumes, self.classes):
            storage.add_handler(self._storage_changed, lambda _old, new: self._storage_changed(new), None)
        informers = (self.nodes, self.pods, self.services, self.replicasets, self.namespaces, self.pdbs,
                     self.claims, self.volumes, self.classes)
        for informer in informers:
            await informer.start()
        try:
            for informer in informers:
                await informer.wait_synced(60)
            while True:
                qp = await self.queue.pop()
                if qp is None:
                    return
                try:
                    await self.schedule_one(qp)
                except Exception:  # one pod's cycle must never stop the scheduler: it is tried again later
                    log.exception("scheduling %s failed", qp.key)
                    self.queue.add_unschedulable(qp.pod, error=True)
        finally:
            self.queue.close()
            for t in list(self._binds):
                t.cancel()
            await asyncio.gather(*self._binds, return_exceptions=True)
            for informer in reversed(informers):
                await informer.stop()

    async def schedule_one(self, qp: q.QueuedPod) -> None:
        md = qp.pod["metadata"]
        pod = self.pods.get(md.get("namespace"), md["name"]) or qp.pod
        if _assigned(pod) or pod["metadata"].get("deletionTimestamp") or pod["metadata"].get("uid") != md.get("uid") \
                or self.snapshot.is_assumed(pod):  # skipPodSchedule: assumed, its bind is on its way
            self.queue.done(pod)
            return
        framework = self.profiles.get(scheduler_name(pod))
        if framework is None:  # its schedulerName changed under us: another scheduler's now
            self.queue.done(pod)
            return
        if pod_key(pod) in self._preempting:  # its _preempt is still evicting: not again (nor elsewhere)
            self.queue.add_unschedulable(pod, error=True)
            return
        started = time.perf_counter()
        seen = pod
        node = self._nominated_node.get(pod_key(pod))
        if node and (pod.get("status") or {}).get("nominatedNodeName") != node:
            # nominated in this scheduler's memory; the status patch saying so is not back yet
            seen = {**pod, "status": {**(pod.get("status") or {}), "nominatedNodeName": node}}
        try:
            cluster = self.cluster()
            result = framework.schedule(seen, cluster.nodes, cluster=cluster)
            annotation = to_annotation(result)
        except Exception as e:  # a plugin's Error status: this attempt fails, the pod is retried with back-off
            if not isinstance(e, PluginError):
                log.exception("scheduling %s/%s failed", md.get("namespace"), md["name"])
            else:  # the plugin's author looks here too (the pod's condition and event say the same)
                log.warning("scheduling %s/%s failed: %s", md.get("namespace"), md["name"], e)
            self.last_cycle_ms = (time.perf_counter() - started) * 1000
            self.failed += 1
            self.queue.add_unschedulable(pod, error=True)
            task = asyncio.create_task(self._mark_unschedulable(pod, str(e) if isinstance(e, PluginError) else
                                                                f"running the scheduling framework: {e!r}", None,
                                                                reason="SchedulerError"))
            self._binds.add(task)
            task.add_done_callback(self._binds.discard)
            await asyncio.sleep(0)
            return
        self.last_cycle_ms = (time.perf_counter() - started) * 1000
        if result.node is None:
            self.failed += 1
            self.queue.add_unschedulable(pod, plugins=result.rejecting_plugins())
            nominate = result.nominated_node
            if result.preemption is not None:
                self.nominate(pod, result.preemption.node)  # the next cycle already leaves it the room
                key = pod_key(pod)
                self._preempting.add(key)
                task = asyncio.create_task(self._preempt(pod, result.preemption, result.message, annotation))
                task.add_done_callback(lambda _t, k=key: self._preempting.discard(k))
            else:
                if nominate == "":
                    self.unnominate(pod)  # preemption found no room anywhere: the old nomination goes
                task = asyncio.create_task(self._mark_unschedulable(pod, result.message, annotation,
                                                                    nominated=nominate))
        else:
            self.snapshot.assume_pod(pod, result.node)
            self.unnominate(pod)  # assume(): DeleteNominatedPodIfExists, it must not count twice on the node
            self.queue.done(pod)
            task = asyncio.create_task(self._bind(pod, result.node, annotation))
        self._binds.add(task)
        task.add_done_callback(self._binds.discard)
        # let the informer and the binds breathe between cycles when the queue is long
        await asyncio.sleep(0)

    async def _bind(self, pod: dict, node: str, annotation: str) -> None:
        md = pod["metadata"]
        ns, name = md.get("namespace", "default"), md["name"]
        # Stamped before the bind: the kubelet may start the pod (and record Pulled, Started) before the bind's
        # answer is back here, and the pod's events read in the order things happened.
        recorder = self._recorder_for(pod)
        scheduled = recorder.make_event(pod, "Normal", "Scheduled", f"Successfully assigned {ns}/{name} to {node}") \
            if recorder is not None and hasattr(recorder, "make_event") else None
        try:
            problem = await self.bind_volumes(pod, node)
            if problem:
                self.snapshot.forget_pod(pod)
                log.info("binding the volumes of %s/%s on %s failed: %s", ns, name, node, problem)
                self.queue.add_unschedulable(pod, error=True)
                self._event(pod, "Warning", "FailedScheduling", f'running PreBind plugin "VolumeBinding": {problem}')
                return
            await self.client.bind(ns, name, node, {ANNOTATION: annotation})
        except ApiError as e:
            self.snapshot.forget_pod(pod)
            if e.code == 404:
                return
            log.info("binding %s/%s to %s failed: %s", ns, name, node, e.message)
            self.queue.add_unschedulable(pod, error=True)
            return
        self.scheduled += 1
        if scheduled is not None:
            recorder.broadcaster.enqueue(scheduled)  # type: ignore[union-attr]
        elif recorder is not None:
            recorder.event(pod, "Normal", "Scheduled", f"Successfully assigned {ns}/{name} to {node}")

    async def bind_volumes(self, pod: dict, node_name: str) -> str:
        """VolumeBinding's PreBind: each unbound WaitForFirstConsumer claim of the pod gets the Available volume
        it matches on the node (pre-bound: the PV controller completes the binding) or the node, in
        volume.kubernetes.io/selected-node, for its class's provisioner; then the claims are waited for until
        bound. Returns "" when the pod may be bound, else why not."""
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        delayed = []
        for name in claim_names(pod.get("spec") or {}):
            claim = self.claims.get(ns, name)
            if claim is None:
                return f'persistentvolumeclaim "{name}" not found'
            if not (claim.get("spec") or {}).get("volumeName"):
                class_name = pvs.claim_class(claim)
                delayed.append((claim, self.classes.get(None, class_name) if class_name else None))
        if not delayed:
            return ""
        node = self.nodes.get(None, node_name)
        chosen = static_matches(self.storage, delayed, node) if node is not None else None
        if chosen is None:
            return f'node "{node_name}": no volume to bind and no provisioner'
        for (claim, _sc), volume in zip(delayed, chosen, strict=True):
            cmd = claim["metadata"]
            if volume is not None:
                pv = copy.deepcopy(dict(volume))
                pv["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": ns, "name": cmd["name"],
                                          "uid": cmd.get("uid"), "apiVersion": "v1",
                                          "resourceVersion": cmd.get("resourceVersion")}
                pv["metadata"].setdefault("annotations", {})[pvs.BOUND_BY_CONTROLLER] = "yes"
                await self.client.update(pv)
            elif (cmd.get("annotations") or {}).get(pvs.SELECTED_NODE) != node_name:
                await self.client.patch("PersistentVolumeClaim", cmd["name"],
                                        {"metadata": {"annotations": {pvs.SELECTED_NODE: node_name}}}, ns)
        deadline = time.monotonic() + VOLUME_BIND_TIMEOUT
        while True:  # checkBindings: the claims are bound by the PV controller (and the provisioner)
            claims = [self.claims.get(ns, c["metadata"]["name"]) for c, _ in delayed]
            if any(c is None or (c.get("metadata") or {}).get("deletionTimestamp") for c in claims):
                return "a claim was deleted while its volume was being bound"
            if all((c.get("status") or {}).get("phase") == "Bound" for c in claims if c is not None):
                return ""
            if time.monotonic() > deadline:
                return "binding volumes: context deadline exceeded"
            await asyncio.sleep(0.1)

    async def _preempt(self, pod: dict, candidate: Candidate, message: str, annotation: str) -> None:
        """prepareCandidate: mark and delete each victim, clear lower-priority nominations on the node,
        then nominate it in the pod's status (the pod is scheduled when the victims are gone)."""
        node = candidate.node
        md = pod["metadata"]
        recorder = self._recorder_for(pod)
        profile = scheduler_name(pod)
        for victim in candidate.victims:
            live = self.pods.get(md.get("namespace"), md["name"])
            if live is None or (live.get("metadata") or {}).get("uid") != md.get("uid") or _assigned(live):
                return  # the pod is gone (or was bound) meanwhile: nothing to make room for any more
            vmd = victim.pod.get("metadata") or {}
            vns, vname = victim.namespace, victim.name
            if vmd.get("deletionTimestamp"):
                continue  # already on its way out
            cond = {"type": DISRUPTION_TARGET, "status": "True", "reason": PREEMPTION_BY_SCHEDULER,
                    "message": f"{profile}: preempting to accommodate a higher priority pod",
                    "lastProbeTime": None, "lastTransitionTime": meta.now()}
            try:
                await self.client.patch("Pod", vname, {"status": {"conditions": [cond]}}, vns,
                                        subresource="status", patch_type="strategic")
                await self.client.delete("Pod", vname, vns)
            except ApiError as e:
                if e.code != 404:
                    log.info("preempting %s/%s for %s/%s failed: %s", vns, vname, md.get("namespace"), md["name"],
                             e.message)
                    self.unnominate(pod)  # prepareCandidate failed: the cycle reports an error, nominates nothing
                    await self._mark_unschedulable(pod, f'running PostFilter plugin "DefaultPreemption": {e.message}',
                                                   annotation, reason="SchedulerError")
                    return
                continue
            log.info("preempted %s/%s on %s for %s/%s", vns, vname, node, md.get("namespace"), md["name"])
            if recorder is not None:
                self._preempted_event(recorder, victim.pod, pod, node)
        priority = (pod.get("spec") or {}).get("priority") or 0
        for other in list(self.nominated.get(node, {}).values()):
            if other.priority < priority and other.key != pod_key(pod):
                self.unnominate(other.key)
                try:  # its claim on the node goes to the more important pod
                    await self.client.patch("Pod", other.name, {"status": {"nominatedNodeName": None}}, other.namespace,
                                            subresource="status")
                except ApiError as e:
                    if e.code != 404:
                        log.info("cannot clear the nominated node of %s/%s: %s", other.namespace, other.name, e.message)
        await self._mark_unschedulable(pod, message, annotation, nominated=node)

    @staticmethod
    def _preempted_event(recorder: Any, victim: dict, pod: dict, node: str) -> None:
        """Eventf(victim, preemptor, Normal, "Preempted", "Preempting", ...): the event names the preemptor as its
        related object (the message only has its UID), as kube-scheduler's events.k8s.io recorder does."""
        md = pod.get("metadata") or {}
        message = f"Preempted by pod {md.get('uid')} on node {node}"
        if not hasattr(recorder, "make_event"):
            recorder.event(victim, "Normal", "Preempted", message)
            return
        event = recorder.make_event(victim, "Normal", "Preempted", message)
        event["action"] = "Preempting"
        event["related"] = {"apiVersion": "v1", "kind": "Pod", "namespace": md.get("namespace") or "default",
                            "name": md.get("name"), "uid": md.get("uid")}
        recorder.broadcaster.enqueue(event)

    async def _mark_unschedulable(self, pod: dict, message: str, annotation: str | None, *,
                                  reason: str = "Unschedulable", nominated: str | None = None) -> None:
        md = pod["metadata"]
        ns, name = md.get("namespace", "default"), md["name"]
        live = self.pods.get(ns, name)
        if live is not None and (_assigned(live) or live["metadata"].get("uid") != md.get("uid")) \
                or self.snapshot.is_assumed(pod):
            return  # bound (or replaced) since this attempt: its verdict is stale, PodScheduled=False would be wrong
        conds = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
        old = next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        cond = {
            "type": "PodScheduled",
            "status": "False",
            "reason": reason,
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": old.get("lastTransitionTime") if old and old.get("status") == "False" else meta.now(),
        }
        try:
            if annotation is not None and (md.get("annotations") or {}).get(ANNOTATION) != annotation:
                await self.client.patch("Pod", name, {"metadata": {"annotations": {ANNOTATION: annotation}}}, ns)
            status: dict[str, Any] = {}
            if old is None or old.get("message") != message or old.get("status") != "False" \
                    or old.get("reason") != reason:
                status["conditions"] = [cond, *conds]
            current = (pod.get("status") or {}).get("nominatedNodeName") or ""
            if nominated is not None and nominated != current:
                status["nominatedNodeName"] = nominated or None  # set by preemption, or cleared ("")
            if status:
                await self.client.patch("Pod", name, {"status": status}, ns, subresource="status")
        except ApiError as e:
            if e.code != 404:
                log.info("could not record that %s/%s is unschedulable: %s", ns, name, e.message)
        self._event(pod, "Warning", "FailedScheduling", message)

    def _recorder_for(self, pod: dict) -> Any:
        """The event recorder of the pod's profile: its events name the profile, as reportingController does."""
        if self.recorder is None:
            return None
        name = scheduler_name(pod)
        recorder = self.recorder
        if name != getattr(recorder, "component", name):
            recorder = self._recorders.get(name)
            if recorder is None:
                recorder = self._recorders[name] = type(self.recorder)(self.recorder.broadcaster, component=name)
        return recorder

    def _event(self, pod: dict, type_: str, reason: str, message: str) -> None:
        recorder = self._recorder_for(pod)
        if recorder is not None:
            recorder.event(pod, type_, reason, message)


async def run_scheduler(client: Client, *, timings: Timings, leader_elect: bool = False, identity: str | None = None,
                        config: SchedulerConfig | None = None) -> None:
    """The scheduler until cancelled; with leader_elect, only while holding its Lease (kube-system/kube-scheduler
    unless the configuration's leaderElection names another, which its leaderElect may also turn off).

    With a configuration read from files, the files are watched for as long as this runs: a change is used
    at once, and by every later term of leadership too."""
    recorder = _recorder(client)
    current: dict[str, Any] = {"config": config, "scheduler": None}

    def use(fresh: SchedulerConfig) -> None:
        current["config"] = fresh
        if current["scheduler"] is not None:
            current["scheduler"].use(fresh)

    async def scheduler() -> None:
        sched = current["scheduler"] = Scheduler(client, timings=timings, recorder=recorder, config=current["config"])
        try:
            await sched.run()
        finally:
            current["scheduler"] = None

    if config is not None and config.leader_elect is not None:
        leader_elect = config.leader_elect
    reloader: asyncio.Task[None] | None = None
    if config is not None and config.sources:
        from control.scheduler.config import watch

        reloader = asyncio.create_task(watch(config, use), name="scheduler-config-watch")
    try:
        if leader_elect:
            from control.controllers.leaderelection import run_with_leader_election

            lease, ns = (config.lease_name, config.lease_namespace) if config else ("kube-scheduler", "kube-system")
            await run_with_leader_election(client, lease, identity or client.identity, scheduler, namespace=ns)
        else:
            await scheduler()
    finally:
        if reloader is not None:
            reloader.cancel()
            await asyncio.gather(reloader, return_exceptions=True)
        if recorder is not None and hasattr(recorder, "close"):
            await recorder.close()


def _recorder(client: Client) -> Any:
    try:
        from control.controllers.events import EventRecorder
    except ImportError:  # the controllers package is optional for a scheduler-only install
        return None
    return EventRecorder(client, component="default-scheduler")
