"""The ReplicaSet controller (pkg/controller/replicaset): keep spec.replicas active pods, report status."""

from __future__ import annotations

import copy
import time

from control.api import meta
from control.api.labels import from_label_selector
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings


def calculate_status(rs: dict, pods: list[dict], now: float | None = None, manage_error: Exception | None = None) -> dict:
    """The status a ReplicaSet should report for its (active, claimed) pods (calculateStatus)."""
    spec = rs.get("spec") or {}
    template = spec.get("template") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    now = time.time() if now is None else now
    status: dict = {
        "replicas": len(pods),
        "fullyLabeledReplicas": sum(1 for p in pods if cu.labels_match_template(p, template)),
        "readyReplicas": sum(1 for p in pods if cu.is_pod_ready(p)),
        "availableReplicas": sum(1 for p in pods if cu.is_pod_available(p, min_ready, now)),
        "observedGeneration": int((rs.get("metadata") or {}).get("generation") or 1),
    }
    old_conds = list((rs.get("status") or {}).get("conditions") or [])
    failure = cu.condition(rs.get("status"), "ReplicaFailure")
    if manage_error is not None and failure is None:
        diff = len(pods) - int(spec.get("replicas") or 0)
        reason = "FailedCreate" if diff < 0 else "FailedDelete"
        old_conds.append(
            {"type": "ReplicaFailure", "status": "True", "lastTransitionTime": meta.now(), "reason": reason, "message": str(manage_error)}
        )
    elif manage_error is None and failure is not None:
        old_conds = [c for c in old_conds if c.get("type") != "ReplicaFailure"]
    if old_conds:
        status["conditions"] = old_conds
    return status


def _status_differs(old: dict, new: dict) -> bool:
    keys = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration", "conditions")
    return any(((old or {}).get(k) or 0) != (new.get(k) or 0) for k in keys)


class ReplicaSetController(Controller):
    name = "replicaset-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.rs_informer = informers.get("ReplicaSet")
        self.pod_informer = informers.get("Pod")
        self.expectations = cu.Expectations()
        self.rs_informer.add_handler(self._rs_added, self._rs_updated, self._rs_deleted)
        self.pod_informer.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)

    # -- handlers -------------------------------------------------------------------------------------------
    def _rs_added(self, rs: dict) -> None:
        self.enqueue(rs)

    def _rs_updated(self, old: dict, new: dict) -> None:
        self.enqueue(new)
        # minReadySeconds changes are picked up when pods become available; nothing else to do here.

    def _rs_deleted(self, rs: dict) -> None:
        self.expectations.delete(key_of(rs))
        self.enqueue(rs)

    def _owner_rs(self, pod: dict) -> dict | None:
        return cu.resolve_controller_ref(self.rs_informer, "ReplicaSet", pod)

    def _matching_rss(self, pod: dict) -> list[dict]:
        return cu.selecting_owners(self.rs_informer, pod, skip_empty=True)

    def _pod_added(self, pod: dict) -> None:
        if cu.is_terminating(pod):
            self._pod_deleted(pod)  # a pod created terminating (controller restart) only counts as a deletion
            return
        rs = self._owner_rs(pod)
        if rs is not None:
            self.expectations.creation_observed(key_of(rs))
            self.enqueue(rs)
            return
        if meta.controller_of(pod) is None:
            for rs in self._matching_rss(pod):
                self.enqueue(rs)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if cu.is_terminating(new) and not cu.is_terminating(old):
            # graceful deletion: the pod is gone as far as the ReplicaSet is concerned
            rs = self._owner_rs(new)
            if rs is not None:
                self.expectations.deletion_observed(key_of(rs), cu.pod_key(new))
        labels_changed = (old["metadata"].get("labels") or {}) != (new["metadata"].get("labels") or {})
        old_ref, new_ref = meta.controller_of(old), meta.controller_of(new)
        if old_ref != new_ref and old_ref is not None:
            old_rs = self._owner_rs(old)
            if old_rs is not None:
                self.enqueue(old_rs)
        rs = self._owner_rs(new)
        if rs is not None:
            self.enqueue(rs)
            min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready and not cu.is_pod_ready(old) and cu.is_pod_ready(new):
                # come back when it turns available
                self.enqueue_after(rs, min_ready + 0.05)
            return
        if new_ref is None and (labels_changed or old_ref != new_ref):
            for rs in self._matching_rss(new):
                self.enqueue(rs)

    def _pod_deleted(self, pod: dict) -> None:
        rs = self._owner_rs(pod)
        if rs is None:
            ref = meta.controller_of(pod)
            if ref is not None and ref.get("kind") == "ReplicaSet":
                self.queue.add((pod["metadata"].get("namespace") or "", ref.get("name", "")))
            return
        self.expectations.deletion_observed(key_of(rs), cu.pod_key(pod))
        self.enqueue(rs)

    # -- sync ---------------------------------------------------------------------------------------------
    async def sync(self, key: Key) -> None:
        ns, name = key
        rs = self.rs_informer.get(ns, name)
        if rs is None:
            self.expectations.delete(key)
            return
        needs_sync = self.expectations.satisfied(key) and not cu.is_terminating(rs)
        selector = from_label_selector((rs.get("spec") or {}).get("selector"))
        all_pods = self.informers.claim_candidates(self.pod_informer, rs)
        active = [p for p in all_pods if cu.is_pod_active(p)]
        pods = await cu.claim(self.client, rs, selector, active)
        manage_error: Exception | None = None
        if needs_sync:
            try:
                await self.manage_replicas(key, rs, pods)
            except ApiError as e:
                manage_error = e
        status = calculate_status(rs, pods, manage_error=manage_error)
        cur = rs.get("status") or {}
        if _status_differs(cur, status):
            new = copy.deepcopy(rs)
            new["status"] = status
            try:
                await self.client.update_status(new)
            except ApiError as e:
                if e.code != 404:
                    raise
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready and status["readyReplicas"] == int(rs["spec"].get("replicas") or 0) and status["availableReplicas"] != status["readyReplicas"]:
            self.queue.add_after(key, min_ready)
        if manage_error is not None:
            raise manage_error

    async def manage_replicas(self, key: Key, rs: dict, pods: list[dict]) -> None:
        want = int((rs.get("spec") or {}).get("replicas") or 0)
        diff = len(pods) - want
        if diff < 0:
            n = min(-diff, cu.BURST_REPLICAS)
            self.expectations.expect_creations(key, n)
            template = (rs.get("spec") or {}).get("template") or {}
            ref = meta.owner_ref(rs, controller=True)

            async def create_one() -> None:
                await cu.create_pod(self.client, self.recorder, rs, cu.pod_from_template(template, rs, ref))

            _, err = await cu.create_pods(self.expectations, key, n, create_one)
            if err is not None:
                raise err
        elif diff > 0:
            n = min(diff, cu.BURST_REPLICAS)
            victims = cu.pods_to_delete(pods, pods, n)
            self.expectations.expect_deletions(key, [cu.pod_key(p) for p in victims])
            err = await cu.delete_pods(self.client, self.recorder, self.expectations, key, rs, victims)
            if err is not None:
                raise err
