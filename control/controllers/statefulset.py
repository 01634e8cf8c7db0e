"""The StatefulSet controller (pkg/controller/statefulset): pods with a stable identity, NAME-0 .. NAME-(N-1).

Each pod is named by its ordinal, with the hostname of that name and the subdomain of the set's Service,
labelled `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and `controller-revision-hash`
(the ControllerRevision of the template it was made from). OrderedReady creates the pods one at a time in
ordinal order, each once the ones before it are Running and Ready, and scales down from the highest ordinal,
one at a time; Parallel does neither wait. A failed or deleted pod comes back under the same name.
RollingUpdate replaces the pods from the highest ordinal down to `partition`, one at a time, each once the
rest are healthy; OnDelete replaces a pod only when someone deletes it.

`update_statefulset` is stateful_set_control.go's updateStatefulSet, decision for decision; it acts through a
`PodControl`, so the unit tests drive it with a fake one. volumeClaimTemplates give each pod its claims
(`<template>-<set>-<ordinal>`, made before the pod, kept when it goes unless persistentVolumeClaimRetentionPolicy
says Delete) and a persistentVolumeClaim volume naming each.
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from control.api import meta
from control.api.labels import Selector, from_label_selector
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers import history
from control.controllers.base import Controller
from control.controllers.events import NORMAL, WARNING, EventBroadcaster, EventRecorder
from control.controllers.informers import BY_CONTROLLER, BY_ORPHAN, SharedInformers
from control.errors import ApiError
from control.informer import Key
from control.timings import Timings

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"

_POD_NAME = re.compile(r"^(.*)-([0-9]+)$")


# --- identity -------------------------------------------------------------------------------------------


def parent_and_ordinal(pod: dict) -> tuple[str, int]:
    """getParentNameAndOrdinal: ("", -1) for a name that is not NAME-N."""
    m = _POD_NAME.match((pod.get("metadata") or {}).get("name") or "")
    if m is None or int(m.group(2)) > 2**31 - 1:
        return "", -1
    return m.group(1), int(m.group(2))


def ordinal_of(pod: dict) -> int:
    return parent_and_ordinal(pod)[1]


def is_member_of(sts: dict, pod: dict) -> bool:
    return parent_and_ordinal(pod)[0] == sts["metadata"]["name"]


def pod_name(sts: dict, ordinal: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal}"


def start_ordinal(sts: dict) -> int:
    ordinals = (sts.get("spec") or {}).get("ordinals")
    return int((ordinals or {}).get("start") or 0) if isinstance(ordinals, dict) else 0


def end_ordinal(sts: dict) -> int:
    return start_ordinal(sts) + replicas_of(sts) - 1


def replicas_of(sts: dict) -> int:
    r = (sts.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def in_ordinal_range(sts: dict, pod: dict) -> bool:
    o = ordinal_of(pod)
    return start_ordinal(sts) <= o <= end_ordinal(sts)


def claim_name(sts: dict, claim: dict, ordinal: int) -> str:
    """getPersistentVolumeClaimName: <template>-<set>-<ordinal>."""
    return f"{(claim.get('metadata') or {}).get('name', '')}-{sts['metadata']['name']}-{ordinal}"


def identity_matches(sts: dict, pod: dict) -> bool:
    parent, o = parent_and_ordinal(pod)
    md = pod.get("metadata") or {}
    labels = md.get("labels") or {}
    return (o >= 0 and parent == sts["metadata"]["name"] and md.get("namespace") == sts["metadata"].get("namespace")
            and labels.get(POD_NAME_LABEL) == md.get("name") and labels.get(POD_INDEX_LABEL) == str(o))


def update_identity(sts: dict, pod: dict, ordinal: int) -> None:
    """initIdentity / updateIdentity: name, hostname, subdomain and the two identity labels."""
    md = pod["metadata"]
    md["name"] = pod_name(sts, ordinal)
    md["namespace"] = sts["metadata"].get("namespace") or "default"
    labels = md.setdefault("labels", {})
    labels[POD_NAME_LABEL] = md["name"]
    labels[POD_INDEX_LABEL] = str(ordinal)
    spec = pod.setdefault("spec", {})
    spec["hostname"] = md["name"]
    spec["subdomain"] = (sts.get("spec") or {}).get("serviceName") or ""
    if not spec["subdomain"]:
        del spec["subdomain"]


def update_storage(sts: dict, pod: dict, ordinal: int) -> None:
    """updateStorage: a volume per claim template, naming the pod's claim; the template's other volumes after."""
    claims = [c for c in (sts.get("spec") or {}).get("volumeClaimTemplates") or [] if isinstance(c, dict)]
    if not claims:
        return
    names = {(c.get("metadata") or {}).get("name") for c in claims}
    volumes = [{"name": (c.get("metadata") or {}).get("name"),
                "persistentVolumeClaim": {"claimName": claim_name(sts, c, ordinal)}} for c in claims]
    volumes += [v for v in pod["spec"].get("volumes") or [] if isinstance(v, dict) and v.get("name") not in names]
    pod["spec"]["volumes"] = volumes


def claims_for(sts: dict, pod: dict) -> list[dict]:
    """getPersistentVolumeClaims: each claim template as the pod's claim, <template>-<set>-<ordinal>, in the set's
    namespace, labelled with the set's selector's matchLabels; owned by the set when whenDeleted is Delete."""
    spec = sts.get("spec") or {}
    ordinal = ordinal_of(pod)
    match = ((spec.get("selector") or {}).get("matchLabels") or {})
    policy = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    out = []
    for template in spec.get("volumeClaimTemplates") or []:
        if not isinstance(template, dict):
            continue
        claim = copy.deepcopy(template)
        claim["apiVersion"], claim["kind"] = "v1", "PersistentVolumeClaim"
        md = claim.setdefault("metadata", {})
        md["name"] = claim_name(sts, template, ordinal)
        md["namespace"] = sts["metadata"].get("namespace") or "default"
        md["labels"] = {**(md.get("labels") or {}), **match}
        if policy.get("whenDeleted") == "Delete":
            md["ownerReferences"] = [meta.owner_ref(sts, controller=False)]
        claim.pop("status", None)
        out.append(claim)
    return out


def new_pod(sts: dict, ordinal: int) -> dict:
    """newStatefulSetPod: the template's pod, owned by the set, with its identity and storage."""
    template = (sts.get("spec") or {}).get("template") or {}
    pod = cu.pod_from_template(template, sts, meta.owner_ref(sts, controller=True))
    pod["metadata"].pop("generateName", None)
    update_identity(sts, pod, ordinal)
    update_storage(sts, pod, ordinal)
    return pod


def pod_revision(pod: dict | None) -> str:
    return ((pod or {}).get("metadata") or {}).get("labels", {}).get(REVISION_LABEL, "")


def apply_revision(sts: dict, revision: dict) -> dict:
    """ApplyRevision: the set with the revision's template (its data is {"spec": {"template": ..., "$patch"}})."""
    out = copy.deepcopy(sts)
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    out.setdefault("spec", {})["template"] = template
    return out


def new_versioned_pod(current_set: dict, update_set: dict, current_rev: str, update_rev: str, ordinal: int) -> dict:
    """newVersionedStatefulSetPod: below the partition (or, without rollingUpdate, below currentReplicas) a pod is
    made from the current revision; otherwise from the update revision. Both count from ordinals.start, as the
    rolling update counts the partition over the replicas from there."""
    strategy = (current_set.get("spec") or {}).get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    start = start_ordinal(current_set)
    current_replicas = int((current_set.get("status") or {}).get("currentReplicas") or 0)
    if (strategy.get("type") == "RollingUpdate" and rolling is None and ordinal < start + current_replicas) or \
            (rolling is not None and ordinal < start + int(rolling.get("partition") or 0)):
        pod = new_pod(current_set, ordinal)
        pod["metadata"]["labels"][REVISION_LABEL] = current_rev
        return pod
    pod = new_pod(update_set, ordinal)
    pod["metadata"]["labels"][REVISION_LABEL] = update_rev
    return pod


def new_revision(sts: dict, revision: int, collision_count: int) -> dict:
    """newRevision: the template's revision, labelled as the template, annotated as the set (kubectl rollout
    history reads the kubernetes.io/change-cause of each revision)."""
    labels = (((sts.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    rev = history.new_revision(sts, labels, revision_data(sts), revision, collision_count)
    annotations = (sts.get("metadata") or {}).get("annotations")
    if annotations:
        rev["metadata"]["annotations"] = dict(annotations)
    return rev


def revision_data(sts: dict) -> dict:
    """getPatch: the template, to replace whole when the revision is applied."""
    template = copy.deepcopy((sts.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


# --- pod state (stateful_set_utils.go) -----------------------------------------------------------------


def is_created(pod: dict) -> bool:
    return bool(cu.phase(pod))


def is_running_and_ready(pod: dict) -> bool:
    return cu.phase(pod) == "Running" and cu.is_pod_ready(pod)


def is_running_and_available(pod: dict, min_ready_seconds: int, now: float | None = None) -> bool:
    return cu.phase(pod) == "Running" and cu.is_pod_available(pod, min_ready_seconds, now)


def is_healthy(pod: dict) -> bool:
    return is_running_and_ready(pod) and not cu.is_terminating(pod)


def compute_status(pods: list[dict], min_ready_seconds: int, current_rev: str, update_rev: str,
                   now: float | None = None) -> dict[str, int]:
    """computeReplicaStatus: counts over the created pods (placeholders for pods not yet made count nothing)."""
    out = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0}
    for pod in pods:
        if not is_created(pod):
            continue
        out["replicas"] += 1
        if is_running_and_ready(pod):
            out["readyReplicas"] += 1
            if is_running_and_available(pod, min_ready_seconds, now):
                out["availableReplicas"] += 1
        if not cu.is_terminating(pod):
            rev = pod_revision(pod)
            if rev == current_rev:
                out["currentReplicas"] += 1
            if rev == update_rev:
                out["updatedReplicas"] += 1
    return out


def complete_rolling_update(sts: dict, status: dict) -> None:
    """completeRollingUpdate: once spec.replicas pods exist, all updated and ready, the update revision becomes
    current. Counting against spec.replicas, not status.replicas: while the last old pod is being made again the
    pods that exist are all updated and ready, but the rollout is not done."""
    strategy = ((sts.get("spec") or {}).get("updateStrategy") or {}).get("type")
    want = replicas_of(sts)
    if strategy == "RollingUpdate" and status.get("updatedReplicas", 0) == want \
            and status.get("readyReplicas", 0) == want and status.get("replicas", 0) == want:
        status["currentReplicas"] = status.get("updatedReplicas", 0)
        status["currentRevision"] = status.get("updateRevision", "")


STATUS_KEYS = ("observedGeneration", "replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
               "availableReplicas", "currentRevision", "updateRevision", "collisionCount")


def status_differs(old: dict | None, new: dict) -> bool:
    """inconsistentStatus."""
    old = old or {}
    return any((old.get(k) or 0) != (new.get(k) or 0) for k in STATUS_KEYS)


def stored_status(status: dict, old: dict | None) -> dict:
    """The status as the API returns it: omitempty counts and revisions left out when zero, as Go encodes them;
    conditions kept."""
    out: dict[str, Any] = {"observedGeneration": status["observedGeneration"], "replicas": status["replicas"]}
    for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
        if status.get(k):
            out[k] = status[k]
    out["availableReplicas"] = status.get("availableReplicas", 0)
    for k in ("currentRevision", "updateRevision"):
        if status.get(k):
            out[k] = status[k]
    out["collisionCount"] = status.get("collisionCount", 0)
    if (old or {}).get("conditions"):
        out["conditions"] = old["conditions"]  # type: ignore[index]
    return out


# --- acting on pods -------------------------------------------------------------------------------------


class PodControl(Protocol):
    """StatefulPodControl: what update_statefulset asks of the cluster."""

    async def create(self, sts: dict, pod: dict) -> None: ...
    async def delete(self, sts: dict, pod: dict) -> None: ...
    async def update_identity(self, sts: dict, pod: dict) -> None: ...
    async def create_missing_claims(self, sts: dict, pod: dict) -> None: ...
    async def claims_follow_pod(self, sts: dict, pod: dict) -> None: ...
    def event(self, sts: dict, type_: str, reason: str, message: str) -> None: ...


class ApiPodControl:
    """StatefulPodControl over the API, with its events: 'create Pod web-0 in StatefulSet web successful'."""

    def __init__(self, client: Client, recorder: EventRecorder, claims: Any = None) -> None:
        self.client = client
        self.recorder = recorder
        self.claims = claims  # the PersistentVolumeClaim informer: a claim that exists is not created again

    def _claim_event(self, sts: dict, pod: dict, claim: dict, err: ApiError | None) -> None:
        """recordClaimEvent's words."""
        name, pod_name, set_name = claim["metadata"]["name"], pod["metadata"]["name"], sts["metadata"]["name"]
        if err is None:
            self.recorder.event(sts, NORMAL, "SuccessfulCreate",
                                f"create Claim {name} Pod {pod_name} in StatefulSet {set_name} success")
        else:
            self.recorder.event(sts, WARNING, "FailedCreate",
                                f"create Claim {name} for Pod {pod_name} in StatefulSet {set_name} failed error: "
                                f"{err.message}")

    async def create_missing_claims(self, sts: dict, pod: dict) -> None:
        """createPersistentVolumeClaims: the pod's claims that do not exist yet (kept when the pod goes)."""
        for claim in claims_for(sts, pod):
            md = claim["metadata"]
            if self.claims is not None and self.claims.get(md["namespace"], md["name"]) is not None:
                continue
            try:
                await self.client.create(claim)
            except ApiError as e:
                if e.code == 409 and e.reason == "AlreadyExists":
                    continue
                self._claim_event(sts, pod, claim, e)
                raise
            self._claim_event(sts, pod, claim, None)

    async def claims_follow_pod(self, sts: dict, pod: dict) -> None:
        """whenScaled: Delete: a condemned pod's claims get the pod as an owner, so they go with it (the garbage
        collector deletes them)."""
        ref = meta.owner_ref({"apiVersion": "v1", "kind": "Pod", **pod}, controller=False)
        for claim in claims_for(sts, pod):
            md = claim["metadata"]
            live = self.claims.get(md["namespace"], md["name"]) if self.claims is not None else None
            if live is None:
                continue
            refs = list(live["metadata"].get("ownerReferences") or [])
            if any(r.get("uid") == ref["uid"] for r in refs):
                continue
            await self.client.patch("PersistentVolumeClaim", md["name"],
                                    {"metadata": {"ownerReferences": [*refs, ref]}}, md["namespace"])

    def _record(self, verb: str, sts: dict, pod: dict, err: ApiError | None) -> None:
        name, set_name = pod["metadata"]["name"], sts["metadata"]["name"]
        if err is None:
            self.recorder.event(sts, NORMAL, f"Successful{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} successful")
        else:
            self.recorder.event(sts, WARNING, f"Failed{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} failed error: {err.message}")

    async def create(self, sts: dict, pod: dict) -> None:
        await self.create_missing_claims(sts, pod)  # CreateStatefulPod: the claims first
        try:
            await self.client.create(pod)
        except ApiError as e:
            if e.code == 409 and e.reason == "AlreadyExists":
                raise  # the cache is behind: no event, the sync is retried
            if not cu.namespace_terminating(e):
                self._record("create", sts, pod, e)
            raise
        self._record("create", sts, pod, None)

    async def delete(self, sts: dict, pod: dict) -> None:
        md = pod["metadata"]
        try:
            await self.client.delete("Pod", md["name"], md.get("namespace"))
        except ApiError as e:
            self._record("delete", sts, pod, e)
            raise
        self._record("delete", sts, pod, None)

    async def update_identity(self, sts: dict, pod: dict) -> None:
        md = pod["metadata"]
        labels = {POD_NAME_LABEL: md["name"], POD_INDEX_LABEL: str(ordinal_of(pod))}
        try:
            await self.client.patch("Pod", md["name"], {"metadata": {"labels": labels}}, md.get("namespace"))
        except ApiError as e:
            self._record("update", sts, pod, e)
            raise
        self._record("update", sts, pod, None)

    def event(self, sts: dict, type_: str, reason: str, message: str) -> None:
        self.recorder.event(sts, type_, reason, message)


def _not_found(e: BaseException) -> bool:
    return isinstance(e, ApiError) and e.code == 404


async def _run_for_all(n: int, fn: Callable[[int], Awaitable[bool]], monotonic: bool) -> bool:
    """runForAll: in order, stopping where fn says so (monotonic), or all at once in slow-start batches
    (1, 2, 4, ...) stopping at the first failing batch. Returns whether the sync should stop here."""
    if monotonic:
        for i in range(n):
            if await fn(i):
                return True
        return False
    i, batch = 0, 1
    while i < n:
        size = min(batch, n - i)
        results = await asyncio.gather(*(fn(j) for j in range(i, i + size)), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        i += size
        batch *= 2
    return False


@dataclass
class Revisions:
    current: dict
    update: dict
    collision_count: int


async def update_statefulset(sts: dict, revisions: Revisions, pods: list[dict], control: PodControl,
                             now: float | None = None) -> dict:
    """updateStatefulSet: one pass toward spec.replicas pods at the right revisions; returns the status to report.

    Raises what a pod action raised (the caller still reports the status it got so far: see Sync)."""
    current_set = apply_revision(sts, revisions.current)
    update_set = apply_revision(sts, revisions.update)
    current_rev, update_rev = revisions.current["metadata"]["name"], revisions.update["metadata"]["name"]
    spec = sts.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    now = time.time() if now is None else now
    status: dict[str, Any] = {"observedGeneration": int(sts["metadata"].get("generation") or 1),
                              "currentRevision": current_rev, "updateRevision": update_rev,
                              "collisionCount": revisions.collision_count}
    status.update(compute_status(pods, min_ready, current_rev, update_rev, now))

    start = start_ordinal(sts)
    replicas: list[dict] = [{}] * replicas_of(sts)
    filled = [False] * len(replicas)
    condemned: list[dict] = []
    for pod in pods:
        if in_ordinal_range(sts, pod):
            replicas[ordinal_of(pod) - start] = pod
            filled[ordinal_of(pod) - start] = True
        elif ordinal_of(pod) >= 0:
            condemned.append(pod)
    for i in range(len(replicas)):
        if not filled[i]:
            replicas[i] = new_versioned_pod(current_set, update_set, current_rev, update_rev, start + i)
    condemned.sort(key=ordinal_of, reverse=True)

    first_unhealthy: dict | None = None
    for pod in replicas:
        if not is_healthy(pod) and first_unhealthy is None:
            first_unhealthy = pod
    for pod in reversed(condemned):
        if not is_healthy(pod) and first_unhealthy is None:
            first_unhealthy = pod

    def finish() -> dict:
        status.update(compute_status(replicas + condemned, min_ready, current_rev, update_rev, now))
        return status

    if cu.is_terminating(sts):
        return status
    monotonic = spec.get("podManagementPolicy") != "Parallel"
    set_name = sts["metadata"]["name"]
    ns = sts["metadata"].get("namespace") or "default"

    async def process_replica(i: int) -> bool:
        pod = replicas[i]
        if cu.phase(pod) in ("Failed", "Succeeded"):
            if cu.phase(pod) == "Failed":
                control.event(sts, WARNING, "RecreatingFailedPod",
                              f"StatefulSet {ns}/{set_name} is recreating failed Pod {pod['metadata']['name']}")
            else:
                control.event(sts, NORMAL, "RecreatingTerminatedPod",
                              f"StatefulSet {ns}/{set_name} is recreating terminated Pod {pod['metadata']['name']}")
            await control.delete(sts, pod)
            replicas[i] = pod = new_versioned_pod(current_set, update_set, current_rev, update_rev, start + i)
        if not is_created(pod):
            await control.create(sts, pod)
            return monotonic  # a new pod: in order, nothing more this round
        if cu.phase(pod) == "Pending" and spec.get("volumeClaimTemplates"):
            await control.create_missing_claims(sts, pod)  # a claim deleted under a pending pod is made again
        if cu.is_terminating(pod) and monotonic:
            return True  # waiting for the pod to be gone before making it again
        if not is_running_and_ready(pod) and monotonic:
            return True
        if not is_running_and_available(pod, min_ready, now) and monotonic:
            return True
        if not identity_matches(sts, pod):
            await control.update_identity(sts, copy.deepcopy(pod))
        return False

    try:
        if await _run_for_all(len(replicas), process_replica, monotonic):
            return finish()

        async def process_condemned(i: int) -> bool:
            pod = condemned[i]
            if cu.is_terminating(pod):
                return monotonic
            if monotonic and pod is not first_unhealthy and (
                    not is_running_and_ready(pod) or not is_running_and_available(pod, min_ready, now)):
                return True
            if (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenScaled") == "Delete":
                await control.claims_follow_pod(sts, pod)
            await control.delete(sts, pod)
            return True

        if await _run_for_all(len(condemned), process_condemned, monotonic):
            return finish()
    except BaseException:
        finish()
        raise
    finish()

    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return status
    rolling = strategy.get("rollingUpdate") or {}
    update_min = int(rolling.get("partition") or 0)
    # the pod with the highest ordinal not at the update revision goes first; the next waits for it to be healthy
    for target in range(len(replicas) - 1, update_min - 1, -1):
        pod = replicas[target]
        if pod_revision(pod) != update_rev and not cu.is_terminating(pod):
            try:
                await control.delete(sts, pod)
            except ApiError as e:
                if not _not_found(e):
                    raise
            status["currentReplicas"] = status.get("currentReplicas", 0) - 1
            return status
        if not is_healthy(pod):
            return status
    return status


def truncate_candidates(sts: dict, pods: list[dict], revisions: list[dict], current: dict | None,
                        update: dict | None) -> list[dict]:
    """truncateHistory: the oldest revisions no pod, nor the current or update revision, uses, beyond
    revisionHistoryLimit (revisions sorted)."""
    live = {pod_revision(p) for p in pods}
    for r in (current, update):
        if r is not None:
            live.add(r["metadata"]["name"])
    old = [r for r in revisions if r["metadata"]["name"] not in live]
    limit = (sts.get("spec") or {}).get("revisionHistoryLimit")
    limit = 10 if limit is None else int(limit)
    if limit < 0:
        return []  # kube-apiserver accepts a negative limit; the controller then keeps every revision
    return old[:max(len(old) - limit, 0)]


# --- the controller ---------------------------------------------------------------------------------------


class StatefulSetController(Controller):
    name = "statefulset-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.sts_informer = informers.get("StatefulSet")
        self.pod_informer = informers.get("Pod")
        self.rev_informer = informers.get("ControllerRevision")
        self.claim_informer = informers.get("PersistentVolumeClaim")
        self.pod_control = ApiPodControl(client, self.recorder, self.claim_informer)
        self.sts_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), None)
        self.pod_informer.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)

    def _owner(self, pod: dict) -> dict | None:
        return cu.resolve_controller_ref(self.sts_informer, "StatefulSet", pod)

    def _pod_added(self, pod: dict) -> None:
        sts = self._owner(pod)
        if sts is not None:
            self.enqueue(sts)
        elif meta.controller_of(pod) is None:
            for sts in cu.selecting_owners(self.sts_informer, pod, skip_empty=True):
                self.enqueue(sts)

    def _pod_updated(self, old: dict, new: dict) -> None:
        old_ref, new_ref = meta.controller_of(old), meta.controller_of(new)
        if old_ref != new_ref and old_ref is not None:
            prev = self._owner(old)
            if prev is not None:
                self.enqueue(prev)
        sts = self._owner(new)
        if sts is not None:
            self.enqueue(sts)
            min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready and not cu.is_pod_ready(old) and cu.is_pod_ready(new):
                self.enqueue_after(sts, min_ready + 0.05)
            return
        if new_ref is None:
            for sts in cu.selecting_owners(self.sts_informer, new, skip_empty=True):
                self.enqueue(sts)

    def _pod_deleted(self, pod: dict) -> None:
        ref = meta.controller_of(pod)
        if ref is not None and ref.get("kind") == "StatefulSet":
            self.queue.add(((pod.get("metadata") or {}).get("namespace") or "", ref.get("name", "")))

    async def _claim_pods(self, sts: dict, selector: Selector) -> list[dict]:
        """getPodsForStatefulSet: ClaimPods with the filter isMemberOf (the pod's name is NAME-N)."""
        uid = sts["metadata"]["uid"]
        deleting = cu.is_terminating(sts)
        candidates = self.informers.claim_candidates(self.pod_informer, sts)
        out: list[dict] = []
        for pod in candidates:
            labels = (pod.get("metadata") or {}).get("labels") or {}
            matches = selector.matches(labels) and is_member_of(sts, pod)
            ref = meta.controller_of(pod)
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    out.append(pod)
                elif not deleting:
                    await cu.release(self.client, sts, pod)
                continue
            if deleting or not matches or cu.is_terminating(pod):
                continue
            adopted = await cu.adopt(self.client, sts, pod)
            if adopted is not None:
                out.append(adopted)
        return out

    async def _revisions(self, sts: dict, selector: Selector) -> list[dict]:
        """ListRevisions after adoptOrphanRevisions: those the set controls, and orphans its selector matches."""
        ns, uid = sts["metadata"].get("namespace") or "", sts["metadata"]["uid"]
        owned = self.rev_informer.by_index(BY_CONTROLLER, uid)
        for rev in self.rev_informer.by_index(BY_ORPHAN, ns):
            if selector.matches((rev.get("metadata") or {}).get("labels") or {}) and not cu.is_terminating(sts):
                adopted = await cu.adopt(self.client, sts, rev)
                if adopted is not None:
                    owned.append(adopted)
        return history.sort_revisions(owned)

    async def get_revisions(self, sts: dict, revisions: list[dict]) -> Revisions:
        """getStatefulSetRevisions: the update revision (made, found, or an old one renumbered: a rollback) and
        the current one (status.currentRevision, else the update revision)."""
        collision_count = int((sts.get("status") or {}).get("collisionCount") or 0)
        update = new_revision(sts, history.next_revision(revisions), collision_count)
        equal = history.find_equal_revisions(revisions, update)
        if equal and revisions and history.equal_revision(revisions[-1], equal[-1]):
            update = revisions[-1]
        elif equal:
            update = await history.update_revision(self.client, equal[-1], int(update["revision"]))
        else:
            update, collision_count = await history.create_revision(self.client, sts, update, collision_count)
        want = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if r["metadata"]["name"] == want), None) or update
        return Revisions(current, update, collision_count)

    async def sync(self, key: Key) -> None:
        ns, name = key
        cached = self.sts_informer.get(ns, name)
        if cached is None:
            return
        sts = copy.deepcopy(cached)
        selector = from_label_selector((sts.get("spec") or {}).get("selector"))
        if selector.empty:
            return  # validation refuses an empty selector; a stored one selects nothing here
        revisions = await self._revisions(sts, selector)
        pods = await self._claim_pods(sts, selector)
        revs = await self.get_revisions(sts, revisions)
        status: dict | None = None
        error: BaseException | None = None
        try:
            status = await update_statefulset(sts, revs, pods, self.pod_control)
        except ApiError as e:
            error = e
        if status is None:
            # update_statefulset raised before it had a status: report what the pods say now
            status = {"observedGeneration": int(sts["metadata"].get("generation") or 1),
                      "currentRevision": revs.current["metadata"]["name"],
                      "updateRevision": revs.update["metadata"]["name"], "collisionCount": revs.collision_count}
            status.update(compute_status(pods, int((sts.get("spec") or {}).get("minReadySeconds") or 0),
                                         status["currentRevision"], status["updateRevision"]))
        complete_rolling_update(sts, status)
        await self._write_status(sts, status)
        for rev in truncate_candidates(sts, pods, revisions, revs.current, revs.update):
            try:
                await self.client.delete("ControllerRevision", rev["metadata"]["name"], ns)
            except ApiError as e:
                if e.code != 404:
                    raise
        if error is not None:
            # AlreadyExists too: the cache may be behind a pod this controller made (its event brings the set
            # back at once), or the name may be taken by a pod the set does not own, which a quick fixed
            # retry would hammer forever; the failed sync is retried with the queue's back-off, as in Kubernetes
            raise error
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready and status.get("availableReplicas", 0) != replicas_of(sts):
            self.queue.add_after(key, min_ready)

    async def _write_status(self, sts: dict, status: dict) -> None:
        """updateStatefulSetStatus: only when it changed; on a conflict, once more on a fresh read."""
        if not status_differs(sts.get("status"), status):
            return
        for attempt in range(2):
            new = dict(sts)
            new["status"] = stored_status(status, sts.get("status"))
            try:
                await self.client.update_status(new)
                return
            except ApiError as e:
                if e.code == 404:
                    return
                if e.code != 409 or attempt:
                    raise
                md = sts["metadata"]
                sts = await self.client.get("StatefulSet", md["name"], md.get("namespace"))


# --- kubectl rollout, on the client side --------------------------------------------------------------------


def rollout_status(sts: dict) -> tuple[bool, str]:
    """StatefulSetStatusViewer: (done, kubectl's line). ValueError for OnDelete, which has no rollout to follow."""
    spec, st, md = sts.get("spec") or {}, sts.get("status") or {}, sts.get("metadata") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") != "RollingUpdate":
        raise ValueError("rollout status is only available for RollingUpdate strategy type")
    observed = int(st.get("observedGeneration") or 0)
    if observed == 0 or int(md.get("generation") or 1) > observed:
        return False, "Waiting for statefulset spec update to be observed..."
    replicas = replicas_of(sts)
    ready = int(st.get("readyReplicas") or 0)
    if ready < replicas:
        return False, f"Waiting for {replicas - ready} pods to be ready..."
    updated = int(st.get("updatedReplicas") or 0)
    rolling = strategy.get("rollingUpdate")
    if isinstance(rolling, dict):
        partition = rolling.get("partition")
        if partition is not None and updated < replicas - int(partition):
            return False, (f"Waiting for partitioned roll out to finish: {updated} out of {replicas - int(partition)} "
                           "new pods have been updated...")
        return True, f"partitioned roll out complete: {updated} new pods have been updated..."
    if st.get("updateRevision") != st.get("currentRevision"):
        return False, (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                       f"{st.get('updateRevision', '')}...")
    return True, (f"statefulset rolling update complete {int(st.get('currentReplicas') or 0)} pods at revision "
                  f"{st.get('currentRevision', '')}...")


async def controlled_history(client: Client, sts: dict) -> list[dict]:
    """kubectl's controlledHistory: the ControllerRevisions the set's selector matches and the set controls,
    by revision number."""
    md = sts["metadata"]
    from control.api.labels import format_label_selector

    selector = format_label_selector((sts.get("spec") or {}).get("selector"))
    items = (await client.list("ControllerRevision", md.get("namespace"), label_selector=selector))["items"]
    mine = [r for r in items if (meta.controller_of(r) or {}).get("uid") == md.get("uid")]
    return history.sort_revisions(mine)


async def rollback(client: Client, sts: dict, to_revision: int = 0) -> str:
    """StatefulSetRollbacker: patch the set with the revision's data (0: the one before the last).

    Returns kubectl's words ("rolled back", or "skipped rollback (...)"); ValueError with kubectl's message when
    there is no such revision."""
    revisions = await controlled_history(client, sts)
    if to_revision == 0 and len(revisions) <= 1:
        raise ValueError("no last revision to roll back to")
    if to_revision == 0:
        target = revisions[-2]
    else:
        target = next((r for r in revisions if int(r.get("revision") or 0) == to_revision), None)
        if target is None:
            raise ValueError(f"unable to find specified revision {to_revision} in history")
    if history.canonical(revision_data(sts)) == history.canonical(target.get("data")):
        return f"skipped rollback (current template already matches revision {to_revision})"
    md = sts["metadata"]
    await client.patch("StatefulSet", md["name"], copy.deepcopy(target["data"]), md.get("namespace"),
                       patch_type="strategic")
    return "rolled back"
