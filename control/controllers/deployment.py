"""The Deployment controller (pkg/controller/deployment): ReplicaSets per template, rolling updates, history.

One ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`; RollingUpdate moves replicas
from the old ones to the new one within maxSurge/maxUnavailable, Recreate scales the old ones to zero
first. Also `rollback` and `history`, what `kubectl rollout undo/history` do on the client side.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from control.api import meta
from control.api.labels import from_label_selector
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.events import NORMAL, WARNING, EventBroadcaster
from control.controllers.informers import BY_CONTROLLER, SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
# Annotations a Deployment does not hand to its ReplicaSets (and rollback does not copy back).
SKIPPED_ANNOTATIONS = frozenset({meta.LAST_APPLIED_ANNOTATION, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to"})

# Condition reasons, as deploymentutil names them.
NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
RS_UPDATED_REASON = "ReplicaSetUpdated"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
MIN_AVAILABLE_REASON = "MinimumReplicasAvailable"
MIN_UNAVAILABLE_REASON = "MinimumReplicasUnavailable"

# --- the pod template hash ----------------------------------------------------------------------------

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def safe_encode_string(s: str) -> str:
    """k8s.io/apimachinery/pkg/util/rand.SafeEncodeString: no vowels, so no words; no confusables."""
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in s.encode())


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def compute_hash(template: dict, collision_count: int | None = None) -> str:
    """controller.ComputeHash: FNV-32a of the template (canonical JSON here, Go's spew there), safe-encoded."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":"), default=str).encode()
    if collision_count is not None:
        data += int(collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\x00" * 4
    return safe_encode_string(str(fnv32a(data)))


def _prune(x: Any) -> Any:
    # Semantic equality: an empty map or list is the same as an absent one.
    if isinstance(x, dict):
        out = {k: _prune(v) for k, v in x.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(x, list):
        return [_prune(v) for v in x]
    return x


def equal_ignore_hash(t1: dict | None, t2: dict | None) -> bool:
    """Two pod templates are the same apart from the pod-template-hash label."""
    a, b = copy.deepcopy(t1 or {}), copy.deepcopy(t2 or {})
    for t in (a, b):
        labels = (t.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            labels.pop(HASH_LABEL, None)
    return bool(_prune(a) == _prune(b))


# --- arithmetic ---------------------------------------------------------------------------------------


def replicas(obj: dict | None) -> int:
    if obj is None:
        return 0
    return int((obj.get("spec") or {}).get("replicas") or 0)


def _status(obj: dict | None, field: str) -> int:
    if obj is None:
        return 0
    return int((obj.get("status") or {}).get(field) or 0)


def sum_replicas(rss: list[dict]) -> int:
    return sum(replicas(rs) for rs in rss)


def sum_status(rss: list[dict | None], field: str) -> int:
    return sum(_status(rs, field) for rs in rss if rs is not None)


def is_rolling(d: dict) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, desired: int) -> tuple[int, int]:
    """Surge rounds up, unavailability rounds down; both zero would deadlock, so unavailable becomes 1."""
    surge = cu.scaled_value(max_surge if max_surge is not None else "25%", desired, True)
    unavailable = cu.scaled_value(max_unavailable if max_unavailable is not None else "25%", desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: dict) -> tuple[int | str | None, int | str | None]:
    ru = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return ru.get("maxSurge"), ru.get("maxUnavailable")


def max_surge(d: dict) -> int:
    if not is_rolling(d):
        return 0
    surge, _ = resolve_fenceposts(*_rolling_params(d), replicas(d))
    return surge


def max_unavailable(d: dict) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    _, unavailable = resolve_fenceposts(*_rolling_params(d), replicas(d))
    return min(unavailable, replicas(d))


def new_rs_new_replicas(d: dict, all_rss: list[dict], new_rs_replicas: int) -> int:
    """How big the new ReplicaSet may be now (NewRSNewReplicas)."""
    if not is_rolling(d):
        return replicas(d)
    current = sum_replicas(all_rss)
    max_total = replicas(d) + max_surge(d)
    if current >= max_total:
        return new_rs_replicas
    scale_up = min(max_total - current, replicas(d) - new_rs_replicas)
    return new_rs_replicas + scale_up


def _by_creation(rss: list[dict]) -> list[dict]:
    return sorted(rss, key=lambda rs: (cu.creation_time(rs) or 0.0, rs["metadata"].get("name", "")))


def reconcile_old_replica_sets(d: dict, all_rss: list[dict], old_rss: list[dict], new_rs: dict | None) -> dict[str, int]:
    """The rolling update's scale-down: new sizes for old ReplicaSets (rolling.go reconcileOldReplicaSets).

    First unhealthy old replicas go (they don't count toward availability), then healthy ones, never
    taking the available total below replicas - maxUnavailable.
    """
    old_active = [rs for rs in old_rss if replicas(rs) > 0]
    if sum_replicas(old_active) == 0:
        return {}
    all_pods = sum_replicas(all_rss)
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = (replicas(new_rs) - _status(new_rs, "availableReplicas")) if new_rs is not None else 0
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    original = {rs["metadata"]["name"]: replicas(rs) for rs in old_active}
    sizes = dict(original)
    ordered = _by_creation(old_active)
    # cleanupUnhealthyReplicas
    cleaned = 0
    for rs in ordered:
        if cleaned >= max_scaled_down:
            break
        name = rs["metadata"]["name"]
        have, avail = sizes[name], _status(rs, "availableReplicas")
        if have == 0 or have == avail:
            continue
        n = min(max_scaled_down - cleaned, have - avail)
        sizes[name] = have - n
        cleaned += n
    # scaleDownOldReplicaSetsForRollingUpdate
    available = sum_status([*old_active, new_rs], "availableReplicas")
    if available > min_available:
        total = available - min_available
        done = 0
        for rs in ordered:
            if done >= total:
                break
            name = rs["metadata"]["name"]
            if sizes[name] == 0:
                continue
            n = min(sizes[name], total - done)
            sizes[name] -= n
            done += n
    return {name: n for name, n in sizes.items() if n != original[name]}


def _round_half_away(x: float) -> int:
    return int(x - 0.5) if x < 0 else int(x + 0.5)


def _max_replicas_annotation(rs: dict) -> int | None:
    v = ((rs.get("metadata") or {}).get("annotations") or {}).get(MAX_REPLICAS)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _proportion(rs: dict, d: dict, to_add: int, added: int) -> int:
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    if replicas(d) == 0:
        fraction = -replicas(rs)
    else:
        deployment_replicas = replicas(d) + max_surge(d)
        annotated = _max_replicas_annotation(rs)
        if annotated is None or annotated == 0:
            annotated = _status(d, "replicas") or deployment_replicas
        fraction = _round_half_away(replicas(rs) * deployment_replicas / annotated) - replicas(rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def find_active_or_latest(new_rs: dict | None, old_rss: list[dict]) -> dict | None:
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=lambda rs: (cu.creation_time(rs) or 0.0, rs["metadata"].get("name", "")), reverse=True)
    active = [rs for rs in [*newest_first, new_rs] if rs is not None and replicas(rs) > 0]
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    if len(active) == 1:
        return active[0]
    return None


def _desired_annotation(rs: dict) -> int | None:
    v = ((rs.get("metadata") or {}).get("annotations") or {}).get(DESIRED_REPLICAS)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def is_saturated(d: dict, rs: dict | None) -> bool:
    return (
        rs is not None
        and replicas(rs) == replicas(d)
        and _desired_annotation(rs) == replicas(d)
        and _status(rs, "availableReplicas") == replicas(d)
    )


def scale_plan(d: dict, new_rs: dict | None, old_rss: list[dict]) -> dict[str, int]:
    """Sizes after a scaling event (sync.go scale): one active RS takes it all, several share proportionally."""
    latest = find_active_or_latest(new_rs, old_rss)
    if latest is not None:
        return {latest["metadata"]["name"]: replicas(d)}
    if is_saturated(d, new_rs):
        return {rs["metadata"]["name"]: 0 for rs in old_rss if replicas(rs) > 0}
    if not is_rolling(d):
        return {}
    active = [rs for rs in [*old_rss, new_rs] if rs is not None and replicas(rs) > 0]
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - sum_replicas(active)
    if to_add > 0:
        # larger first, then newer first
        active.sort(key=lambda rs: (-replicas(rs), -(cu.creation_time(rs) or 0.0)))
    elif to_add < 0:
        active.sort(key=lambda rs: (-replicas(rs), cu.creation_time(rs) or 0.0))
    sizes: dict[str, int] = {}
    added = 0
    for rs in active:
        name = rs["metadata"]["name"]
        if to_add != 0:
            p = _proportion(rs, d, to_add, added)
            sizes[name] = replicas(rs) + p
            added += p
        else:
            sizes[name] = replicas(rs)
    if active and added != to_add:
        first = active[0]["metadata"]["name"]
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes


def is_scaling_event(d: dict, rss: list[dict]) -> bool:
    for rs in rss:
        if replicas(rs) <= 0:
            continue
        desired = _desired_annotation(rs)
        if desired is not None and desired != replicas(d):
            return True
    return False


def revision_of(rs: dict) -> int:
    v = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    try:
        return int(v) if v is not None else 0
    except ValueError:
        return 0


def find_new_rs(d: dict, rss: list[dict]) -> dict | None:
    template = (d.get("spec") or {}).get("template")
    for rs in _by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def set_replicas_annotations(rs: dict, desired: int, max_replicas: int) -> bool:
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for k, v in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(max_replicas))):
        if ann.get(k) != v:
            ann[k] = v
            changed = True
    return changed


def set_new_rs_annotations(d: dict, rs: dict, new_revision: str, exists: bool) -> bool:
    """Copy the deployment's annotations, bump the revision, and (on create) the replicas annotations."""
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for k, v in ((d.get("metadata") or {}).get("annotations") or {}).items():
        if k in SKIPPED_ANNOTATIONS or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    old = ann.get(REVISION)
    try:
        old_int = int(old) if old else 0
    except ValueError:
        return changed
    if old_int < int(new_revision):
        ann[REVISION] = new_revision
        changed = True
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


def _cond(type_: str, status: str, reason: str, message: str) -> dict:
    now = meta.now()
    return {"type": type_, "status": status, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason, "message": message}


def set_deployment_condition(status: dict, cond: dict) -> None:
    """deploymentutil.SetDeploymentCondition: same status and reason is no change at all."""
    conds = list(status.get("conditions") or [])
    cur = next((c for c in conds if c.get("type") == cond["type"]), None)
    if cur is not None and cur.get("status") == cond["status"] and cur.get("reason") == cond["reason"]:
        return
    if cur is not None and cur.get("status") == cond["status"]:
        cond = dict(cond, lastTransitionTime=cur.get("lastTransitionTime"))
    status["conditions"] = [c for c in conds if c.get("type") != cond["type"]] + [cond]


def remove_deployment_condition(status: dict, type_: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != type_]


def replica_failure(all_rss: list[dict], new_rs: dict | None) -> dict | None:
    """getReplicaFailures: the new ReplicaSet's ReplicaFailure condition, else an old one's, as a Deployment
    condition (ReplicaSetToDeploymentCondition: updated when it transitioned)."""
    for rs in ([new_rs] if new_rs is not None else []) + [r for r in all_rss if r is not None]:
        for c in (rs.get("status") or {}).get("conditions") or []:
            if c.get("type") == "ReplicaFailure":
                return {"type": "ReplicaFailure", "status": c.get("status"), "lastUpdateTime": c.get("lastTransitionTime"),
                        "lastTransitionTime": c.get("lastTransitionTime"), "reason": c.get("reason"),
                        "message": c.get("message")}
    return None


def calculate_status(d: dict, all_rss: list[dict], new_rs: dict | None) -> dict:
    available = sum_status(list(all_rss), "availableReplicas")
    status: dict[str, Any] = {
        "observedGeneration": int((d.get("metadata") or {}).get("generation") or 1),
        "replicas": sum_status(list(all_rss), "replicas"),
        "updatedReplicas": _status(new_rs, "replicas"),
        "readyReplicas": sum_status(list(all_rss), "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(replicas(d) - available, 0),
    }
    old = d.get("status") or {}
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    status["conditions"] = copy.deepcopy(old.get("conditions") or [])
    if available >= replicas(d) - max_unavailable(d):
        set_deployment_condition(status, _cond("Available", "True", MIN_AVAILABLE_REASON, "Deployment has minimum availability."))
    else:
        set_deployment_condition(status, _cond("Available", "False", MIN_UNAVAILABLE_REASON, "Deployment does not have minimum availability."))
    return status


def deployment_complete(d: dict, st: dict) -> bool:
    want = replicas(d)
    return (
        int(st.get("updatedReplicas") or 0) == want
        and int(st.get("replicas") or 0) == want
        and int(st.get("availableReplicas") or 0) == want
        and int(st.get("observedGeneration") or 0) >= int((d.get("metadata") or {}).get("generation") or 1)
    )


def deployment_progressing(d: dict, new: dict) -> bool:
    old = d.get("status") or {}
    old_old = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
    new_old = int(new.get("replicas") or 0) - int(new.get("updatedReplicas") or 0)
    return (
        int(new.get("updatedReplicas") or 0) > int(old.get("updatedReplicas") or 0)
        or new_old < old_old
        or int(new.get("readyReplicas") or 0) > int(old.get("readyReplicas") or 0)
        or int(new.get("availableReplicas") or 0) > int(old.get("availableReplicas") or 0)
    )


def progress_deadline(d: dict) -> int | None:
    v = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return None if v is None else int(v)


def deployment_timed_out(d: dict, st: dict, now: float | None = None) -> bool:
    deadline = progress_deadline(d)
    if deadline is None:
        return False
    cond = next((c for c in st.get("conditions") or [] if c.get("type") == "Progressing"), None)
    if cond is None:
        return False
    if cond.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.get("reason") == TIMED_OUT_REASON:
        return True
    since = meta.parse_time(cond.get("lastUpdateTime"))
    now = time.time() if now is None else now
    return since is not None and since + deadline < now


def _status_equal(a: dict, b: dict) -> bool:
    return _prune(a) == _prune(b)


# --- the controller ---------------------------------------------------------------------------------------


class DeploymentController(Controller):
    name = "deployment-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.d_informer = informers.get("Deployment")
        self.rs_informer = informers.get("ReplicaSet")
        self.pod_informer = informers.get("Pod")
        self.d_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.rs_informer.add_handler(self._rs_added, self._rs_updated, self._rs_deleted)
        self.pod_informer.add_handler(on_delete=self._pod_deleted)

    # -- handlers -------------------------------------------------------------------------------------------
    def _owner(self, rs: dict) -> dict | None:
        return cu.resolve_controller_ref(self.d_informer, "Deployment", rs)

    def _matching(self, rs: dict) -> list[dict]:
        return cu.selecting_owners(self.d_informer, rs, skip_empty=True)

    def _rs_added(self, rs: dict) -> None:
        d = self._owner(rs)
        if d is not None:
            self.enqueue(d)
        elif meta.controller_of(rs) is None:
            for d in self._matching(rs):
                self.enqueue(d)

    def _rs_updated(self, old: dict, new: dict) -> None:
        if meta.controller_of(old) != meta.controller_of(new):
            d = self._owner(old)
            if d is not None:
                self.enqueue(d)
        self._rs_added(new)

    def _rs_deleted(self, rs: dict) -> None:
        d = self._owner(rs)
        if d is not None:
            self.enqueue(d)

    def _pod_deleted(self, pod: dict) -> None:
        # Recreate waits for the old pods to be gone before it scales the new ReplicaSet up.
        ref = meta.controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.rs_informer.get(pod["metadata"].get("namespace"), ref.get("name", ""))
        if rs is not None:
            d = self._owner(rs)
            if d is not None and not is_rolling(d):
                self.enqueue(d)

    # -- sync ---------------------------------------------------------------------------------------------
    async def sync(self, key: Key) -> None:
        ns, name = key
        cached = self.d_informer.get(ns, name)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        selector = from_label_selector((d.get("spec") or {}).get("selector"))
        if selector.empty:
            self.recorder.event(d, WARNING, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
            gen = int(d["metadata"].get("generation") or 1)
            if int((d.get("status") or {}).get("observedGeneration") or 0) < gen:
                d.setdefault("status", {})["observedGeneration"] = gen
                await self.client.update_status(d)
            return
        candidates = self.informers.claim_candidates(self.rs_informer, d)
        rss = await cu.claim(self.client, d, selector, candidates)
        if cu.is_terminating(d):
            await self._sync_status_only(d, rss)
            return
        if (d.get("spec") or {}).get("paused") or is_scaling_event(d, rss):
            await self._sync_scale(d, rss)
            return
        if is_rolling(d):
            await self._rollout_rolling(d, rss)
        else:
            await self._rollout_recreate(d, rss)

    async def _all_rss(self, d: dict, rss: list[dict], create: bool) -> tuple[dict | None, list[dict], dict]:
        """getAllReplicaSetsAndSyncRevision: (new RS or None, old RSs, the deployment as updated)."""
        existing = find_new_rs(d, rss)
        old = [rs for rs in rss if existing is None or rs["metadata"]["uid"] != existing["metadata"]["uid"]]
        new_rs, d = await self._new_rs(d, old, existing, create)
        return new_rs, old, d

    async def _set_deployment_revision(self, d: dict, revision: str) -> dict:
        ann = d["metadata"].setdefault("annotations", {})
        if ann.get(REVISION) == revision:
            return d
        ann[REVISION] = revision
        out = await self.client.update(d)
        return copy.deepcopy(out)

    async def _new_rs(self, d: dict, old: list[dict], existing: dict | None, create: bool) -> tuple[dict | None, dict]:
        new_revision = str(max((revision_of(rs) for rs in old), default=0) + 1)
        spec = d.get("spec") or {}
        if existing is not None:
            rs = copy.deepcopy(existing)
            changed = set_new_rs_annotations(d, rs, new_revision, exists=True)
            if changed or int((rs.get("spec") or {}).get("minReadySeconds") or 0) != int(spec.get("minReadySeconds") or 0):
                rs["spec"]["minReadySeconds"] = int(spec.get("minReadySeconds") or 0)
                rs = copy.deepcopy(await self.client.update(rs))
            d = await self._set_deployment_revision(d, rs["metadata"]["annotations"].get(REVISION, new_revision))
            st = d.setdefault("status", {})
            if progress_deadline(d) is not None and cu.condition(st, "Progressing") is None:
                set_deployment_condition(st, _cond("Progressing", "True", FOUND_NEW_RS_REASON, f'Found new replica set "{rs["metadata"]["name"]}"'))
                d = copy.deepcopy(await self.client.update_status(d))
            return rs, d
        if not create:
            return None, d
        template = copy.deepcopy(spec.get("template") or {})
        collision = (d.get("status") or {}).get("collisionCount")
        h = compute_hash(template, collision)
        tmd = template.setdefault("metadata", {})
        tmd["labels"] = dict(tmd.get("labels") or {}, **{HASH_LABEL: h})
        selector = copy.deepcopy(spec.get("selector") or {})
        selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{HASH_LABEL: h})
        rs: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{d['metadata']['name']}-{h}",
                "namespace": d["metadata"].get("namespace") or "default",
                "labels": dict(tmd["labels"]),
                "ownerReferences": [meta.owner_ref(d, controller=True)],
            },
            "spec": {"replicas": 0, "minReadySeconds": int(spec.get("minReadySeconds") or 0), "selector": selector, "template": template},
        }
        count = new_rs_new_replicas(d, [*old, rs], 0)
        rs["spec"]["replicas"] = count
        set_new_rs_annotations(d, rs, new_revision, exists=False)
        try:
            created = await self.client.create(rs)
        except ApiError as e:
            if e.code != 409 or e.reason != "AlreadyExists":
                self.recorder.event(d, WARNING, "FailedCreate", f"Failed to create new replica set \"{rs['metadata']['name']}\": {e.message}")
                raise
            found = await self.client.get("ReplicaSet", rs["metadata"]["name"], rs["metadata"]["namespace"])
            ref = meta.controller_of(found)
            if ref is not None and ref.get("uid") == d["metadata"]["uid"] and equal_ignore_hash(
                (found.get("spec") or {}).get("template"), spec.get("template")
            ):
                return copy.deepcopy(found), d  # ours: the informer had not shown it yet
            # A hash collision: bump collisionCount so the next hash differs, and come back.
            st = d.setdefault("status", {})
            st["collisionCount"] = int(st.get("collisionCount") or 0) + 1
            await self.client.update_status(d)
            raise
        if count > 0:
            self.recorder.event(d, NORMAL, "ScalingReplicaSet", f"Scaled up replica set {created['metadata']['name']} to {count}")
        d = await self._set_deployment_revision(d, new_revision)
        if progress_deadline(d) is not None:
            st = d.setdefault("status", {})
            set_deployment_condition(st, _cond("Progressing", "True", NEW_RS_REASON, f'Created new replica set "{created["metadata"]["name"]}"'))
            d = copy.deepcopy(await self.client.update_status(d))
        return copy.deepcopy(created), d

    async def _scale_rs(self, rs: dict, size: int, d: dict) -> tuple[bool, dict]:
        """scaleReplicaSetAndRecordEvent: resize (and refresh the replicas annotations)."""
        new = copy.deepcopy(rs)
        old_size = replicas(rs)
        annotations_changed = set_replicas_annotations(new, replicas(d), replicas(d) + max_surge(d))
        if old_size == size and not annotations_changed:
            return False, rs
        new["spec"]["replicas"] = size
        updated = copy.deepcopy(await self.client.update(new))
        if old_size != size:
            op = "up" if size > old_size else "down"
            # kube-controller-manager's wording: the size it went to, then the size it came from
            self.recorder.event(d, NORMAL, "ScalingReplicaSet",
                                f"Scaled {op} replica set {rs['metadata']['name']} to {size} from {old_size}")
        return old_size != size, updated

    async def _apply_sizes(self, d: dict, rss: list[dict], sizes: dict[str, int]) -> tuple[bool, list[dict]]:
        scaled = False
        out = []
        for rs in rss:
            name = rs["metadata"]["name"]
            if name in sizes:
                s, rs = await self._scale_rs(rs, sizes[name], d)
                scaled = scaled or s
            out.append(rs)
        return scaled, out

    async def _rollout_rolling(self, d: dict, rss: list[dict]) -> None:
        new_rs, old, d = await self._all_rss(d, rss, create=True)
        assert new_rs is not None
        all_rss = [*old, new_rs]
        # reconcileNewReplicaSet
        if replicas(new_rs) != replicas(d):
            if replicas(new_rs) > replicas(d):
                target = replicas(d)
            else:
                target = new_rs_new_replicas(d, all_rss, replicas(new_rs))
            scaled, new_rs = await self._scale_rs(new_rs, target, d)
            if scaled:
                await self._sync_rollout_status(d, [*old, new_rs], new_rs)
                return
        sizes = reconcile_old_replica_sets(d, [*old, new_rs], old, new_rs)
        scaled, old = await self._apply_sizes(d, old, sizes)
        if scaled:
            await self._sync_rollout_status(d, [*old, new_rs], new_rs)
            return
        if deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, [*old, new_rs], new_rs)

    async def _rollout_recreate(self, d: dict, rss: list[dict]) -> None:
        new_rs, old, d = await self._all_rss(d, rss, create=False)
        sizes = {rs["metadata"]["name"]: 0 for rs in old if replicas(rs) > 0}
        scaled, old = await self._apply_sizes(d, old, sizes)
        if scaled:
            await self._sync_rollout_status(d, [*old, *([new_rs] if new_rs else [])], new_rs)
            return
        if self._old_pods_running(new_rs, old):
            await self._sync_rollout_status(d, [*old, *([new_rs] if new_rs else [])], new_rs)
            return
        if new_rs is None:
            new_rs, old, d = await self._all_rss(d, rss, create=True)
        assert new_rs is not None
        if replicas(new_rs) != replicas(d):
            _, new_rs = await self._scale_rs(new_rs, replicas(d), d)
        if deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, [*old, new_rs], new_rs)

    def _old_pods_running(self, new_rs: dict | None, old: list[dict]) -> bool:
        for rs in old:
            if _status(rs, "replicas") > 0:
                return True
            for pod in self.pod_informer.by_index(BY_CONTROLLER, rs["metadata"]["uid"]):
                if cu.phase(pod) not in ("Failed", "Succeeded"):
                    return True
        return False

    async def _sync_scale(self, d: dict, rss: list[dict]) -> None:
        """sync(): a scaling event or a paused deployment; no rollout."""
        new_rs, old, d = await self._all_rss(d, rss, create=False)
        sizes = scale_plan(d, new_rs, old)
        all_rss = [*old, *([new_rs] if new_rs else [])]
        _, all_rss = await self._apply_sizes(d, all_rss, sizes)
        new_rs = next((rs for rs in all_rss if new_rs is not None and rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), None)
        old = [rs for rs in all_rss if rs is not new_rs]
        if (d.get("spec") or {}).get("paused"):
            await self._cleanup(d, old)
        await self._sync_status(d, all_rss, new_rs)

    async def _sync_status_only(self, d: dict, rss: list[dict]) -> None:
        new_rs, old, d = await self._all_rss(d, rss, create=False)
        await self._sync_status(d, [*old, *([new_rs] if new_rs else [])], new_rs)

    async def _sync_status(self, d: dict, all_rss: list[dict], new_rs: dict | None) -> None:
        status = calculate_status(d, all_rss, new_rs)
        if _status_equal(status, d.get("status") or {}):
            return
        d["status"] = status
        await self.client.update_status(d)

    async def _sync_rollout_status(self, d: dict, all_rss: list[dict], new_rs: dict | None) -> None:
        """syncRolloutStatus: the Progressing condition, and a requeue to notice a missed deadline."""
        new = calculate_status(d, all_rss, new_rs)
        deadline = progress_deadline(d)
        if deadline is None:
            remove_deployment_condition(new, "Progressing")
        cur = next((c for c in new.get("conditions") or [] if c.get("type") == "Progressing"), None)
        complete = new["replicas"] == new["updatedReplicas"] and cur is not None and cur.get("reason") == NEW_RS_AVAILABLE_REASON
        rs_name = new_rs["metadata"]["name"] if new_rs is not None else ""
        if deadline is not None and not complete:
            if deployment_complete(d, new):
                set_deployment_condition(new, _cond("Progressing", "True", NEW_RS_AVAILABLE_REASON, f'ReplicaSet "{rs_name}" has successfully progressed.'))
            elif deployment_progressing(d, new):
                cond = _cond("Progressing", "True", RS_UPDATED_REASON, f'ReplicaSet "{rs_name}" is progressing.')
                if cur is not None and cur.get("status") == "True":
                    cond["lastTransitionTime"] = cur.get("lastTransitionTime")
                remove_deployment_condition(new, "Progressing")
                set_deployment_condition(new, cond)
            elif deployment_timed_out(d, new):
                set_deployment_condition(new, _cond("Progressing", "False", TIMED_OUT_REASON, f'ReplicaSet "{rs_name}" has timed out progressing.'))
        # the ReplicaSets' ReplicaFailure (the new one's first) becomes the Deployment's (getReplicaFailures)
        failure = replica_failure(all_rss, new_rs)
        if failure is not None:
            set_deployment_condition(new, failure)
        else:
            remove_deployment_condition(new, "ReplicaFailure")
        if not _status_equal(new, d.get("status") or {}):
            d["status"] = new
            await self.client.update_status(d)
        if deadline is not None and not deployment_complete(d, new):
            # requeueStuckDeployment: come back when the deadline would pass
            cond = next((c for c in new.get("conditions") or [] if c.get("type") == "Progressing"), None)
            since = meta.parse_time((cond or {}).get("lastUpdateTime")) or time.time()
            left = since + deadline - time.time()
            if left > 0:
                self.queue.add_after(key_of(d), left + 0.5)

    async def _cleanup(self, d: dict, old: list[dict]) -> None:
        """cleanupDeployment: delete the oldest idle ReplicaSets beyond revisionHistoryLimit."""
        limit = (d.get("spec") or {}).get("revisionHistoryLimit")
        if limit is None:
            return
        cleanable = [rs for rs in old if not cu.is_terminating(rs)]
        diff = len(cleanable) - int(limit)
        if diff <= 0:
            return
        cleanable.sort(key=lambda rs: (revision_of(rs), cu.creation_time(rs) or 0.0))
        for rs in cleanable[:diff]:
            if _status(rs, "replicas") != 0 or replicas(rs) != 0:
                continue
            if int(rs["metadata"].get("generation") or 1) > _status(rs, "observedGeneration"):
                continue
            try:
                await self.client.delete("ReplicaSet", rs["metadata"]["name"], rs["metadata"].get("namespace"))
            except ApiError as e:
                if e.code != 404:
                    raise


# --- kubectl rollout history / undo --------------------------------------------------------------------


class RolloutError(Exception):
    """What kubectl prints as `error: ...` for rollout history/undo."""


async def _deployment(client: Client, deployment: dict | str, namespace: str) -> dict:
    if isinstance(deployment, dict):
        md = deployment.get("metadata") or {}
        return await client.get("Deployment", md["name"], md.get("namespace") or namespace)
    return await client.get("Deployment", deployment, namespace)


async def _owned_rss(client: Client, d: dict) -> list[dict]:
    answer = await client.list("ReplicaSet", d["metadata"].get("namespace") or "default")
    uid = d["metadata"]["uid"]
    return [rs for rs in answer["items"] if (meta.controller_of(rs) or {}).get("uid") == uid]


async def history(client: Client, deployment: dict | str, namespace: str = "default") -> list[tuple[int, dict]]:
    """`kubectl rollout history`: (revision, ReplicaSet) pairs, oldest first."""
    d = await _deployment(client, deployment, namespace)
    pairs = [(revision_of(rs), rs) for rs in await _owned_rss(client, d)]
    return sorted((p for p in pairs if p[0] > 0), key=lambda p: p[0])


async def rollback(client: Client, deployment: dict | str, to_revision: int = 0, namespace: str = "default") -> str:
    """`kubectl rollout undo`: put revision `to_revision`'s template (0: the previous one) back.

    Returns kubectl's word for what happened ("rolled back", or "skipped rollback (...)");
    raises RolloutError with kubectl's message when there is nothing to roll back to.
    """
    d = await _deployment(client, deployment, namespace)
    name = d["metadata"]["name"]
    if (d.get("spec") or {}).get("paused"):
        raise RolloutError(
            f"you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/{name}' and try again"
        )
    rss = await _owned_rss(client, d)
    target: dict | None = None
    if to_revision > 0:
        target = next((rs for rs in rss if revision_of(rs) == to_revision), None)
        if target is None:
            raise RolloutError(f"unable to find specified revision {to_revision} in history")
    else:
        ranked = sorted((rs for rs in rss if revision_of(rs) > 0), key=revision_of, reverse=True)
        if len(ranked) < 2:
            raise RolloutError(f'no rollout history found for deployment "{name}"')
        target = ranked[1]
    template = copy.deepcopy((target.get("spec") or {}).get("template") or {})
    if equal_ignore_hash(template, (d.get("spec") or {}).get("template")):
        return f"skipped rollback (current template already matches revision {revision_of(target)})"
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    new = copy.deepcopy(d)
    new["spec"]["template"] = template
    ann = new["metadata"].setdefault("annotations", {})
    for k, v in ((target.get("metadata") or {}).get("annotations") or {}).items():
        if k not in SKIPPED_ANNOTATIONS:
            ann[k] = v
    await client.update(new)  # carries resourceVersion: a concurrent change makes this a 409
    return "rolled back"
