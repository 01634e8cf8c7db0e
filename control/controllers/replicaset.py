"""The ReplicaSet controller (pkg/controller/replicaset): keep spec.replicas active pods, report status."""

from __future__ import annotations

import copy
import time
from collections.abc import Awaitable, Callable

from control.api import meta
from control.api.labels import Selector, from_label_selector
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import BY_CONTROLLER, BY_ORPHAN, SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings


def calculate_status(rs: dict, pods: list[dict], now: float | None = None, manage_error: Exception | None = None) -> dict:
    """The status a ReplicaSet should report for its (active, claimed) pods (calculateStatus)."""
    spec = rs.get("spec") or {}
    template = spec.get("template") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    now = time.time() if now is None else now
    return status_from_counts(
        rs, len(pods),
        sum(1 for p in pods if cu.labels_match_template(p, template)),
        sum(1 for p in pods if cu.is_pod_ready(p)),
        sum(1 for p in pods if cu.is_pod_available(p, min_ready, now)),
        manage_error)


def status_from_counts(rs: dict, replicas: int, labeled: int, ready: int, available: int,
                       manage_error: Exception | None = None) -> dict:
    """The status of a ReplicaSet with these pod counts; conditions as calculateStatus sets them."""
    spec = rs.get("spec") or {}
    status: dict = {
        "replicas": replicas,
        "fullyLabeledReplicas": labeled,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": int((rs.get("metadata") or {}).get("generation") or 1),
    }
    old_conds = list((rs.get("status") or {}).get("conditions") or [])
    failure = cu.condition(rs.get("status"), "ReplicaFailure")
    if manage_error is not None and failure is None:
        diff = replicas - int(spec.get("replicas") or 0)
        reason = "FailedCreate" if diff < 0 else "FailedDelete"
        old_conds.append(
            {"type": "ReplicaFailure", "status": "True", "lastTransitionTime": meta.now(), "reason": reason,
             # err.Error(): an API error's own message, without the client's "Error from server" prefix
             "message": manage_error.message if isinstance(manage_error, ApiError) else str(manage_error)}
        )
    elif manage_error is None and failure is not None:
        old_conds = [c for c in old_conds if c.get("type") != "ReplicaFailure"]
    if old_conds:
        status["conditions"] = old_conds
    return status


def _status_differs(old: dict, new: dict) -> bool:
    keys = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration", "conditions")
    return any(((old or {}).get(k) or 0) != (new.get(k) or 0) for k in keys)


Group = tuple[frozenset, bool]  # (the pod's labels, ready)


class PodTally:
    """The active pods of each controller uid, counted by (labels, ready), kept up to date from the pod informer.

    calculate_status over 10,000 pods on every sync made the ReplicaSet controller O(n) per pod event;
    with this tally a sync costs O(distinct label sets), usually one or two, and gives the same numbers
    (the pods of one ReplicaSet carry the same labels, so they fall into very few groups).
    """

    def __init__(self) -> None:
        self._of: dict[Key, tuple[str, Group]] = {}
        self._groups: dict[str, dict[Group, int]] = {}

    @staticmethod
    def _entry(pod: dict) -> tuple[str, Group] | None:
        ref = meta.controller_of(pod)
        if ref is None or not ref.get("uid") or not cu.is_pod_active(pod):
            return None
        labels = frozenset(((pod.get("metadata") or {}).get("labels") or {}).items())
        return ref["uid"], (labels, cu.is_pod_ready(pod))

    def observe(self, pod: dict) -> None:
        """The pod was added or changed (as the informer's cache now holds it)."""
        self._move(key_of(pod), self._entry(pod))

    def forget(self, pod: dict) -> None:
        self._move(key_of(pod), None)

    def _move(self, key: Key, new: tuple[str, Group] | None) -> None:
        old = self._of.get(key)
        if old == new:
            return
        if old is not None:
            groups = self._groups[old[0]]
            n = groups[old[1]] - 1
            if n:
                groups[old[1]] = n
            else:
                del groups[old[1]]
                if not groups:
                    del self._groups[old[0]]
            del self._of[key]
        if new is not None:
            groups = self._groups.setdefault(new[0], {})
            groups[new[1]] = groups.get(new[1], 0) + 1
            self._of[key] = new

    def groups(self, uid: str) -> dict[Group, int]:
        return self._groups.get(uid, {})


def tallied_status(rs: dict, groups: dict[Group, int], manage_error: Exception | None = None) -> dict:
    """calculate_status from a PodTally's groups, for a ReplicaSet without minReadySeconds (ready = available)."""
    template_labels = (((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    want = template_labels.items()
    replicas = ready = labeled = 0
    for (labels, is_ready), n in groups.items():
        replicas += n
        if is_ready:
            ready += n
        if want <= labels:
            labeled += n
    return status_from_counts(rs, replicas, labeled, ready, ready, manage_error)


class ReplicaSetController(Controller):
    name = "replicaset-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.rs_informer = informers.get("ReplicaSet")
        self.pod_informer = informers.get("Pod")
        self.expectations = cu.Expectations()
        self.tally = PodTally()
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
        self.tally.observe(pod)
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
        self.tally.observe(new)
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
        self.tally.forget(pod)
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
        spec = rs.get("spec") or {}
        selector = from_label_selector(spec.get("selector"))
        uid = rs["metadata"]["uid"]
        # Orphans of the namespace that match are adopted (ClaimPods); those of other owners are left alone.
        orphans = [p for p in self.pod_informer.by_index(BY_ORPHAN, ns) if cu.is_pod_active(p)]
        adopted = await cu.claim(self.client, rs, selector, orphans) if orphans else []
        groups = dict(self.tally.groups(uid))  # as of now: the creates below must not change what is reported
        min_ready = int(spec.get("minReadySeconds") or 0)
        # The tally answers when every pod it counts stays claimed (matches the selector) and nothing was
        # just adopted; otherwise (or with minReadySeconds, which needs each pod's ready time) walk the pods.
        tallied = not adopted and not min_ready and all(selector.matches(dict(labels)) for labels, _ in groups)
        pods: list[dict] | None = None
        if not tallied:
            pods = await self._claimed(rs, selector) + adopted
        count = sum(groups.values()) if pods is None else len(pods)
        manage_error: Exception | None = None
        if needs_sync:
            try:
                await self.manage_replicas(key, rs, count, lambda: self._claimed(rs, selector) if pods is None else _ready(pods))
            except ApiError as e:
                manage_error = e
        if pods is None:
            status = tallied_status(rs, groups, manage_error=manage_error)
        else:
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
        if min_ready and status["readyReplicas"] == int(spec.get("replicas") or 0) and status["availableReplicas"] != status["readyReplicas"]:
            self.queue.add_after(key, min_ready)
        if manage_error is not None:
            raise manage_error

    async def _claimed(self, rs: dict, selector: Selector) -> list[dict]:
        """The active pods the ReplicaSet controls and keeps (those that stopped matching are released)."""
        controlled = self.pod_informer.by_index(BY_CONTROLLER, rs["metadata"]["uid"])
        return await cu.claim(self.client, rs, selector, [p for p in controlled if cu.is_pod_active(p)])

    async def manage_replicas(self, key: Key, rs: dict, count: int, pods: Callable[[], Awaitable[list[dict]]]) -> None:
        """Create or delete pods toward spec.replicas; `count` pods are claimed now, `pods()` lists them."""
        want = int((rs.get("spec") or {}).get("replicas") or 0)
        diff = count - want
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
            claimed = await pods()
            n = min(diff, cu.BURST_REPLICAS)
            victims = cu.pods_to_delete(claimed, claimed, n)
            self.expectations.expect_deletions(key, [cu.pod_key(p) for p in victims])
            err = await cu.delete_pods(self.client, self.recorder, self.expectations, key, rs, victims)
            if err is not None:
                raise err


async def _ready(pods: list[dict]) -> list[dict]:
    return pods
