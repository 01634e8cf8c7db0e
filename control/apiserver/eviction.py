"""The Eviction subresource (POST pods/NAME/eviction): a pod deleted only if its PodDisruptionBudget allows.

Ported from pkg/registry/core/pod/storage/eviction.go: a pod that is already disrupted (finished, Pending,
terminating) is deleted without asking; one no budget covers is deleted; one budget covering it must allow
a disruption, which the eviction takes (status.disruptionsAllowed - 1, the pod written into
status.disruptedPods, by compare-and-swap) before the delete, else 429 TooManyRequests; two budgets are a 500.
The evicted pod gets the DisruptionTarget condition (EvictionByEvictionAPI) before it is deleted.
"""

from __future__ import annotations

import asyncio
import copy
from typing import TYPE_CHECKING, Any

from control import errors
from control.api import kinds, meta
from control.api import poddisruptionbudget as pdbs
from control.apiserver.watch import decode
from control.errors import ApiError
from control.wire import require

if TYPE_CHECKING:
    from control.apiserver.handlers import Api

EVICTION_RETRIES = 20  # EvictionsRetry: Steps
MAX_DISRUPTED_POD_SIZE = 2000
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def too_many_requests(cause: str, retry_after: int = 0) -> ApiError:
    """NewTooManyRequests with the DisruptionBudget cause kubectl drain prints after the message."""
    details: dict[str, Any] = {"causes": [{"reason": pdbs.DISRUPTION_BUDGET_CAUSE, "message": cause}]}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return ApiError(429, "TooManyRequests", pdbs.VIOLATION, details)


def still_processing(name: str) -> ApiError:
    return too_many_requests(f"The disruption budget {name} is still being processed by the server.", 10)


def can_ignore_pdb(pod: dict) -> bool:
    """A pod that is finished, Pending or already terminating has been disrupted already: no budget asked."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Pending") or \
        bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def should_enforce_resource_version(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and \
        not (pod.get("metadata") or {}).get("deletionTimestamp")


def is_pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def delete_options(body: dict) -> dict:
    """The Eviction's deleteOptions, with the request's dryRun propagated into them (propagateDryRun)."""
    opts = body.get("deleteOptions")
    if opts is None:
        opts = {}
    if not isinstance(opts, dict):
        raise errors.bad_request("evict: deleteOptions must be a map (a DeleteOptions)")
    opts = copy.deepcopy(opts)
    request_dry, own_dry = body.get("dryRun") or [], opts.get("dryRun") or []
    if not own_dry:
        if request_dry:
            opts["dryRun"] = request_dry
    elif request_dry and list(request_dry) != list(own_dry):
        raise errors.internal(f"Non-matching dry-run options in request and content: {list(request_dry)} and {list(own_dry)}")
    pre = opts.get("preconditions")
    if pre is not None and not isinstance(pre, dict):
        raise errors.bad_request("evict: deleteOptions.preconditions must be a map")
    return opts


def _with_resource_version(opts: dict, rv: str) -> dict:
    out = dict(opts)
    out["preconditions"] = dict(opts.get("preconditions") or {}, resourceVersion=rv)
    return out


async def evict(api: Api, body: dict, user: str) -> tuple[int, Any]:
    """POST pods/NAME/eviction: {name, namespace, deleteOptions?, dryRun?}; a Success Status (201)."""
    from control.apiserver.handlers import DRY_RUN, dry_run_of

    name = require(body, "name", verb="evict")
    ns = body.get("namespace") or "default"
    if not isinstance(ns, str):
        raise errors.bad_request("evict: field 'namespace' must be a string")
    opts = delete_options(body)
    DRY_RUN.set(dry_run_of("delete", opts))
    rv_unset = not (opts.get("preconditions") or {}).get("resourceVersion")
    pod_info = kinds.by_kind("Pod")

    pod: dict = {}
    for _ in range(EVICTION_RETRIES if rv_unset else 1):  # conflicts retried, unless the client set a version
        pod, rev = api._load(pod_info, ns, name)
        if not can_ignore_pdb(pod):
            break
        del_opts = opts
        if should_enforce_resource_version(pod) and rv_unset:
            del_opts = _with_resource_version(opts, str(rev))  # not racing a pod that becomes Ready meanwhile
        try:
            await _condition_and_delete(api, ns, name, del_opts, user)
        except ApiError as e:
            if e.code == 409 and rv_unset:
                await asyncio.sleep(0.05)
                continue
            raise
        return 201, dict(SUCCESS)
    else:
        raise errors.conflict("pods", name)

    covering = pdbs.matching(_budgets(api, ns), pod)
    if len(covering) > 1:
        raise ApiError(500, "", pdbs.MORE_THAN_ONE)
    update_options = False
    budget_name = ""
    if covering:
        budget = covering[0]
        budget_name = budget["metadata"]["name"]
        st = budget.get("status") or {}
        spec = budget.get("spec") or {}
        if not is_pod_ready(pod) and (
                spec.get("unhealthyPodEvictionPolicy") == pdbs.ALWAYS_ALLOW
                or (int(st.get("currentHealthy") or 0) >= int(st.get("desiredHealthy") or 0) > 0)):
            # an unhealthy pod does not count towards currentHealthy: it goes without taking a disruption
            update_options = True
        else:
            await _check_and_decrement(api, ns, budget_name, name)
    del_opts = _with_resource_version(opts, pod["metadata"]["resourceVersion"]) if update_options else opts
    try:
        await _condition_and_delete(api, ns, name, del_opts, user)
    except ApiError as e:
        if e.code == 409 and update_options and rv_unset:
            raise still_processing(budget_name) from None  # the pod changed (became Ready?): let the client retry
        raise
    return 201, dict(SUCCESS)


def _budgets(api: Api, ns: str) -> list[dict]:
    kvs, _ = api.store.range(kinds.by_kind("PodDisruptionBudget").prefix(ns), prefix=True)
    return [decode(kv.value, kv.mod_revision) for kv in kvs]


async def _check_and_decrement(api: Api, ns: str, budget: str, pod_name: str) -> None:
    """checkAndDecrement, retried on conflict: one disruption taken from the budget, or 429/403."""
    from control.apiserver.handlers import DRY_RUN

    info = kinds.by_kind("PodDisruptionBudget")
    for _ in range(EVICTION_RETRIES):
        pdb, rev = api._load(info, ns, budget)
        st = pdb.setdefault("status", {})
        if int(st.get("observedGeneration") or 0) < int(pdb["metadata"].get("generation") or 0):
            raise still_processing(budget)
        allowed = int(st.get("disruptionsAllowed") or 0)
        if allowed < 0:
            raise ApiError(403, "Forbidden", f'poddisruptionbudgets.policy "{budget}" is forbidden: '
                                             "pdb disruptions allowed is negative",
                           {"name": budget, "group": "policy", "kind": "poddisruptionbudgets"})
        if len(st.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
            raise ApiError(403, "Forbidden", f'poddisruptionbudgets.policy "{budget}" is forbidden: DisruptedPods '
                                             "map too big - too many evictions not confirmed by PDB controller",
                           {"name": budget, "group": "policy", "kind": "poddisruptionbudgets"})
        if allowed == 0:
            raise too_many_requests(f"The disruption budget {budget} needs {int(st.get('desiredHealthy') or 0)} "
                                    f"healthy pods and has {int(st.get('currentHealthy') or 0)} currently")
        st["disruptionsAllowed"] = allowed - 1
        if allowed - 1 == 0:
            pdbs.set_disruption_allowed_condition(pdb)
        if DRY_RUN.get():
            return
        # the disruption controller counts this pod out until it is gone (or DeletionTimeout passes)
        st["disruptedPods"] = dict(st.get("disruptedPods") or {}, **{pod_name: meta.now()})
        pdb["metadata"].pop("resourceVersion", None)
        if await api._write(info.key(ns, budget), pdb, expect_mod=rev, subresource="status"):
            return
        await asyncio.sleep(0.05)
    raise ApiError(504, "Timeout", f'Timeout: couldn\'t update PodDisruptionBudget "{budget}" due to conflicts',
                   {"retryAfterSeconds": 10})


async def _condition_and_delete(api: Api, ns: str, name: str, opts: dict, user: str) -> None:
    """addConditionAndDeletePod: DisruptionTarget (EvictionByEvictionAPI) on the pod, then its delete with
    the eviction's options; a resourceVersion precondition follows the condition's own write."""
    from control.apiserver.handlers import DRY_RUN

    info = kinds.by_kind("Pod")
    pre = opts.get("preconditions") or {}
    if not DRY_RUN.get():
        for _ in range(EVICTION_RETRIES):
            pod, rev = api._load(info, ns, name)
            api.check_preconditions("pods", pod, rev, pre)
            st = pod.setdefault("status", {})
            conds = [c for c in st.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
            old = next((c for c in st.get("conditions") or [] if c.get("type") == "DisruptionTarget"), None)
            cond = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                    "lastTransitionTime": old.get("lastTransitionTime") if old and old.get("status") == "True"
                    else meta.now(), "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}
            st["conditions"] = [*conds, cond]
            pod["metadata"].pop("resourceVersion", None)
            new_rev = await api._write(info.key(ns, name), pod, expect_mod=rev, subresource="status")
            if new_rev:
                if pre.get("resourceVersion"):
                    pre = dict(pre, resourceVersion=str(new_rev))
                break
            await asyncio.sleep(0.01)
        else:
            raise errors.conflict("pods", name)
    body: dict[str, Any] = {"kind": "Pod", "namespace": ns, "name": name}
    for key in ("gracePeriodSeconds", "propagationPolicy"):
        if opts.get(key) is not None:
            body[key] = opts[key]
    if pre:
        body["preconditions"] = pre
    await api.delete(body, user)
