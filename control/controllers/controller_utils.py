"""Helpers the workload controllers share, after pkg/controller/controller_utils.go and pkg/api/v1/pod.

Pod state (active, ready, available), the ranking of pods to delete, pods from templates, the
expectations that keep a controller from acting twice before its informer catches up, slow-start
batches, creating and deleting pods with their events (PodControl), and finding, adopting and
releasing objects by owner references (ControllerRefManager).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from control.api import meta
from control.api.labels import Selector, from_label_selector
from control.client import Client
from control.controllers.events import NORMAL, WARNING, EventRecorder
from control.controllers.informers import BY_NAMESPACE
from control.errors import ApiError
from control.informer import Informer, Key

# SlowStartInitialBatchSize: create 1, then 2, 4, ... so a broken template fails once, not 500 times.
SLOW_START_INITIAL_BATCH = 1
# ExpectationsTimeout: an expectation never observed (a lost event) stops blocking after this long.
EXPECTATIONS_TIMEOUT = 300.0
# BurstReplicas: the most pods a ReplicaSet sync creates or deletes at once.
BURST_REPLICAS = 500


# --- pod state --------------------------------------------------------------------------------------


def phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def is_terminating(obj: dict) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_pod_active(pod: dict) -> bool:
    """FilterActivePods: not Succeeded, not Failed, not being deleted."""
    return phase(pod) not in ("Succeeded", "Failed") and not is_terminating(pod)


def condition(status: dict | None, type_: str) -> dict | None:
    for c in (status or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c  # type: ignore[no-any-return]
    return None


def is_pod_ready(pod: dict) -> bool:
    c = condition(pod.get("status"), "Ready")
    return c is not None and c.get("status") == "True"


def pod_ready_time(pod: dict) -> float | None:
    c = condition(pod.get("status"), "Ready")
    if c is None or c.get("status") != "True":
        return None
    return meta.parse_time(c.get("lastTransitionTime"))


def is_pod_available(pod: dict, min_ready_seconds: int | float, now: float | None = None) -> bool:
    """Ready, and for at least minReadySeconds (podutil.IsPodAvailable)."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = pod_ready_time(pod)
    now = time.time() if now is None else now
    return since is not None and since + float(min_ready_seconds) <= now


def max_container_restarts(pod: dict) -> int:
    counts = [int(cs.get("restartCount") or 0) for cs in (pod.get("status") or {}).get("containerStatuses") or []]
    return max(counts, default=0)


def creation_time(obj: dict) -> float | None:
    return meta.parse_time((obj.get("metadata") or {}).get("creationTimestamp"))


_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_cost_key(pod: dict, rank: int = 0) -> tuple:
    """Sort key: the pod to delete first sorts first (controller.ActivePodsWithRanks.Less).

    Unassigned < assigned; Pending < Unknown < Running; not ready < ready; more pods of the owner on
    the same node first; ready for less time first; more restarts first; newer first.
    """
    ready = is_pod_ready(pod)
    ready_since = pod_ready_time(pod) if ready else None
    created = creation_time(pod)
    return (
        1 if (pod.get("spec") or {}).get("nodeName") else 0,
        _PHASE_ORDINAL.get(phase(pod), 0),
        1 if ready else 0,
        -rank,
        -(ready_since or 0.0),
        -max_container_restarts(pod),
        # an empty creation time is "newest"
        -(created if created is not None else float("inf")),
    )


def pods_to_delete(pods: list[dict], related: list[dict], n: int) -> list[dict]:
    """The n least valuable pods; `related` (all active pods of the owner) ranks doubled-up nodes first."""
    if n >= len(pods):
        return list(pods)
    on_node: dict[str, int] = {}
    for p in related:
        node = (p.get("spec") or {}).get("nodeName") or ""
        if node and is_pod_active(p):
            on_node[node] = on_node.get(node, 0) + 1
    ranked = sorted(pods, key=lambda p: deletion_cost_key(p, on_node.get((p.get("spec") or {}).get("nodeName") or "", 0)))
    return ranked[:n]


def pod_key(pod: dict) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('namespace', '')}/{md.get('name', '')}"


# --- templates ----------------------------------------------------------------------------------------


def pod_from_template(template: dict, parent: dict, controller_ref: dict | None, *, generate_name: str | None = None) -> dict:
    """GetPodFromTemplate: labels, annotations, finalizers and spec of the template, owned by the parent."""
    tmd = template.get("metadata") or {}
    pmd = parent.get("metadata") or {}
    md: dict[str, Any] = {
        "generateName": generate_name if generate_name is not None else f"{pmd.get('name', '')}-",
        "namespace": pmd.get("namespace") or "default",
        "labels": dict(tmd.get("labels") or {}),
    }
    if tmd.get("annotations"):
        md["annotations"] = dict(tmd["annotations"])
    if tmd.get("finalizers"):
        md["finalizers"] = list(tmd["finalizers"])
    if controller_ref is not None:
        md["ownerReferences"] = [controller_ref]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": copy.deepcopy(template.get("spec") or {})}


def labels_match_template(pod: dict, template: dict) -> bool:
    """fullyLabeledReplicas: the pod carries every label of the template."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    want = (template.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in want.items())


# --- expectations ----------------------------------------------------------------------------------------


@dataclass
class _Expectation:
    add: int = 0
    deletes: set[str] = field(default_factory=set)
    timestamp: float = field(default_factory=time.monotonic)


class Expectations:
    """ControllerExpectations + UIDTrackingExpectations: creations counted, deletions tracked by pod key.

    A controller that has just created n pods must not create again until its informer has seen them
    (or the expectation expired), otherwise one scale-up turns into two.
    """

    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.timeout = timeout
        self._e: dict[Any, _Expectation] = {}

    def satisfied(self, key: Any) -> bool:
        e = self._e.get(key)
        if e is None:
            return True
        if e.add <= 0 and not e.deletes:
            return True
        return time.monotonic() - e.timestamp > self.timeout

    def expect(self, key: Any, creations: int = 0, deletions: Iterable[str] = ()) -> None:
        """SetExpectations: replaces whatever was expected before."""
        self._e[key] = _Expectation(add=creations, deletes=set(deletions))

    def expect_creations(self, key: Any, n: int) -> None:
        self.expect(key, creations=n)

    def expect_deletions(self, key: Any, pod_keys: Iterable[str]) -> None:
        self.expect(key, deletions=pod_keys)

    def creation_observed(self, key: Any, n: int = 1) -> None:
        e = self._e.get(key)
        if e is not None:
            e.add -= n

    def deletion_observed(self, key: Any, pod_key: str) -> None:
        e = self._e.get(key)
        if e is not None:
            e.deletes.discard(pod_key)

    def pending(self, key: Any) -> tuple[int, int]:
        e = self._e.get(key)
        return (0, 0) if e is None else (max(e.add, 0), len(e.deletes))

    def delete(self, key: Any) -> None:
        self._e.pop(key, None)


def namespace_terminating(e: ApiError) -> bool:
    """A create refused because the namespace is going away: not worth an error (NamespaceTerminatingCause)."""
    return e.code == 403 and "being terminated" in e.message


# --- batches ---------------------------------------------------------------------------------------


async def slow_start_batch(count: int, fn: Callable[[], Awaitable[Any]], initial: int = SLOW_START_INITIAL_BATCH) -> tuple[int, Exception | None]:
    """Call fn count times in growing concurrent batches (1, 2, 4, ...); stop at the first failing batch.

    Returns (successes, first error). Like controller.slowStartBatch.
    """
    remaining = count
    successes = 0
    batch = min(remaining, initial)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errs = [r for r in results if isinstance(r, BaseException)]
        for r in errs:
            if isinstance(r, asyncio.CancelledError):
                raise r
        successes += batch - len(errs)
        if errs:
            first = errs[0]
            return successes, first if isinstance(first, Exception) else Exception(str(first))
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


# --- creating and deleting pods (PodControl) ---------------------------------------------------------------


async def create_pod(client: Client, recorder: EventRecorder, owner: dict, pod: dict) -> dict:
    """RealPodControl.CreatePods: create one pod and record SuccessfulCreate or FailedCreate on its owner."""
    try:
        created = await client.create(pod)
    except ApiError as e:
        if not namespace_terminating(e):  # the namespace is going: no alarm
            recorder.event(owner, WARNING, "FailedCreate", f"Error creating: {e.message}")
        raise
    recorder.event(owner, NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
    return created


async def create_pods(expectations: Expectations, key: Key, count: int, create_one: Callable[[], Awaitable[Any]]) -> tuple[int, Exception | None]:
    """slow_start_batch of create_one; the creations skipped or failed will never be observed, so they are lowered."""
    done, err = await slow_start_batch(count, create_one)
    if done < count:
        expectations.creation_observed(key, count - done)
    return done, err


async def delete_pod(client: Client, recorder: EventRecorder, expectations: Expectations, key: Key, owner: dict, pod: dict) -> None:
    """RealPodControl.DeletePod: delete one pod and record the event; a pod already gone (404) is no failure.

    A failed deletion will never be observed, so its expectation is lowered; a failure other than 404 is raised.
    """
    md = pod["metadata"]
    try:
        await client.delete("Pod", md["name"], md.get("namespace"))
    except ApiError as e:
        expectations.deletion_observed(key, pod_key(pod))
        if e.code != 404:
            recorder.event(owner, WARNING, "FailedDelete", f"Error deleting: {e.message}")
            raise
        return
    recorder.event(owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {md['name']}")


async def delete_pods(client: Client, recorder: EventRecorder, expectations: Expectations, key: Key, owner: dict, pods: list[dict]) -> ApiError | None:
    """delete_pod for all the pods at once; returns the first API failure once all have been tried."""
    errors: list[ApiError] = []

    async def delete_one(pod: dict) -> None:
        try:
            await delete_pod(client, recorder, expectations, key, owner, pod)
        except ApiError as e:
            errors.append(e)

    await asyncio.gather(*(delete_one(p) for p in pods))
    return errors[0] if errors else None


# --- owner references (ControllerRefManager) ------------------------------------------------------------------


def resolve_controller_ref(informer: Informer, kind: str, obj: dict) -> dict | None:
    """resolveControllerRef: the cached owner of kind that controls obj, if its uid still matches the reference."""
    ref = meta.controller_of(obj)
    if ref is None or ref.get("kind") != kind:
        return None
    owner = informer.get(obj["metadata"].get("namespace"), ref.get("name", ""))
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        return None
    return owner


def selecting_owners(informer: Informer, obj: dict, *, skip_empty: bool) -> list[dict]:
    """The cached owners in obj's namespace whose spec.selector matches its labels (an empty one only if not skip_empty)."""
    labels = obj["metadata"].get("labels") or {}
    out = []
    for owner in informer.by_index(BY_NAMESPACE, obj["metadata"].get("namespace") or ""):
        sel = from_label_selector((owner.get("spec") or {}).get("selector"))
        if not (skip_empty and sel.empty) and sel.matches(labels):
            out.append(owner)
    return out


def _owner_patch(obj: dict, refs: list[dict]) -> dict:
    # The whole list plus a resourceVersion precondition: a merge patch replaces lists, so without the
    # precondition a concurrent change to the references would be lost.
    return {"metadata": {"ownerReferences": refs, "resourceVersion": obj["metadata"].get("resourceVersion")}}


async def adopt(client: Client, owner: dict, obj: dict) -> dict | None:
    refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != owner["metadata"]["uid"]]
    refs.append(meta.owner_ref(owner, controller=True))
    md = obj["metadata"]
    try:
        return await client.patch(obj["kind"], md["name"], _owner_patch(obj, refs), namespace=md.get("namespace"))
    except ApiError as e:
        if e.code == 404:
            return None
        raise


async def release(client: Client, owner: dict, obj: dict) -> None:
    refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != owner["metadata"]["uid"]]
    md = obj["metadata"]
    try:
        await client.patch(obj["kind"], md["name"], _owner_patch(obj, refs), namespace=md.get("namespace"))
    except ApiError as e:
        if e.code not in (404, 422):
            raise


async def claim(client: Client, owner: dict, selector: Selector, candidates: Iterable[dict]) -> list[dict]:
    """ClaimObjects: keep what the owner controls and matches, adopt matching orphans, release the rest."""
    uid = owner["metadata"]["uid"]
    owner_deleting = is_terminating(owner)
    claimed: list[dict] = []
    for obj in candidates:
        ref = meta.controller_of(obj)
        labels = (obj.get("metadata") or {}).get("labels") or {}
        matches = selector.matches(labels)
        if ref is not None:
            if ref.get("uid") != uid:
                continue  # someone else's
            if matches:
                claimed.append(obj)
            elif not owner_deleting:
                await release(client, owner, obj)
            continue
        if owner_deleting or not matches or is_terminating(obj):
            continue
        adopted = await adopt(client, owner, obj)
        if adopted is not None:
            claimed.append(adopted)
    return claimed


# --- small things ------------------------------------------------------------------------------------------


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int, or "25%" of total rounded up or down."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    s = str(value).strip()
    if not s.endswith("%"):
        try:
            return int(s)
        except ValueError:
            raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}") from None
    pct = int(s[:-1])
    if round_up:
        return -((-pct * total) // 100)
    return (pct * total) // 100


def set_condition(conditions: list[dict], new: dict) -> list[dict]:
    """Replace the condition of new's type, keeping lastTransitionTime when the status did not change."""
    out = []
    replaced = False
    for c in conditions:
        if c.get("type") == new["type"]:
            replaced = True
            if c.get("status") == new.get("status") and c.get("reason") == new.get("reason") and c.get("message") == new.get("message"):
                out.append(c)
                continue
            n = dict(new)
            if c.get("status") == new.get("status") and c.get("lastTransitionTime"):
                n["lastTransitionTime"] = c["lastTransitionTime"]
            out.append(n)
        else:
            out.append(c)
    if not replaced:
        out.append(new)
    return out
