"""ResourceQuota (v1): what an object uses of a namespace's quotas, and the ResourceQuota admission check.

The usage of each kind is kube-apiserver's quota evaluators' (pkg/quota/v1/evaluator/core: pods, services,
persistentvolumeclaims, and the object-count evaluator for every other kind), the check is
admission/plugin/resourcequota's CheckRequest, with its messages. The resource quota controller sums the same
usage over a namespace's objects (control/controllers/resourcequota.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from control.api import labels, meta, quantity
from control.api.kinds import KindInfo
from control.api.qos import qos_class
from control.errors import ApiError


@dataclass(frozen=True)
class Q:
    """A resource.Quantity: an exact value and the format its String() prints in."""

    value: Fraction
    fmt: str = quantity.DECIMAL_SI

    @classmethod
    def of(cls, written: Any) -> Q:
        return cls(quantity.parse(written), quantity.format_of(written))

    def __add__(self, other: Q) -> Q:
        # Quantity.Add: a zero takes the other's format
        return Q(self.value + other.value, other.fmt if self.value == 0 else self.fmt)

    def __str__(self) -> str:
        return quantity.canonical(self.value, self.fmt)


ResourceList = dict[str, Q]
ONE = Q(Fraction(1))

# The core kinds the quota system counts by their legacy name as well as count/<resource>.
LEGACY_COUNTS = ("configmaps", "secrets", "resourcequotas", "replicationcontrollers")
SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity")
# Quota on these makes every container of a new pod say its request or limit (the pod evaluator's validationSet).
POD_VALIDATION = frozenset({"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"})
_POD_RESOURCES = frozenset({"count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
                            "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
                            "pods"})
_SERVICE_RESOURCES = frozenset({"count/services", "services", "services.loadbalancers", "services.nodeports"})
_PVC_RESOURCES = frozenset({"count/persistentvolumeclaims", "persistentvolumeclaims", "requests.storage"})
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"


def to_list(written: Mapping[str, Any] | None) -> ResourceList:
    return {str(k): Q.of(v) for k, v in (written or {}).items() if quantity.is_valid(v)}


def to_strings(rl: ResourceList) -> dict[str, str]:
    return {k: str(rl[k]) for k in sorted(rl)}


def add(a: ResourceList, b: ResourceList) -> ResourceList:
    """quota.Add: every key of both, the sum where both have it (a's format)."""
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k] + v if k in out else v
    return out


def _add_into(total: ResourceList, more: ResourceList) -> None:
    for k, v in more.items():
        total[k] = total[k] + v if k in total else v


def _max_into(total: ResourceList, more: ResourceList) -> None:
    for k, v in more.items():
        if k not in total or v.value > total[k].value:
            total[k] = v


def object_count_name(info: KindInfo) -> str:
    """ObjectCountQuotaResourceNameFor: count/<resource> for the core group, else count/<resource>.<group>."""
    return f"count/{info.resource}.{info.group}" if info.group else f"count/{info.resource}"


# --- a pod's requests and limits (resourcehelper.PodRequests / PodLimits) -----------------------------------

def _container_resources(c: Mapping[str, Any], which: str) -> ResourceList:
    return to_list(((c.get("resources") or {}).get(which)) if isinstance(c.get("resources"), dict) else None)


def pod_resources(pod: Mapping[str, Any], which: str) -> ResourceList:
    """The pod's effective requests or limits: its containers' sum (restartable init containers included),
    or any init container's if larger; the overhead is added to requests, and to the limits it has."""
    spec = pod.get("spec") or {}
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        _add_into(total, _container_resources(c, which))
    sidecars: ResourceList = {}
    init_max: ResourceList = {}
    for c in spec.get("initContainers") or []:
        own = _container_resources(c, which)
        if c.get("restartPolicy") == "Always":
            _add_into(total, own)
            _add_into(sidecars, own)
            effective = dict(sidecars)
        else:
            effective = dict(own)
            _add_into(effective, sidecars)
        _max_into(init_max, effective)
    _max_into(total, init_max)
    overhead = to_list(spec.get("overhead"))
    if which == "requests":
        _add_into(total, overhead)
    else:
        for k, v in overhead.items():
            if k in total:
                total[k] = total[k] + v
    return total


def _compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """podComputeUsageHelper: pods, and requests.X / limits.X / X for cpu, memory and ephemeral-storage."""
    out: ResourceList = {"pods": ONE}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            out[name] = out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, q in requests.items():
        if name.startswith("hugepages-"):
            out[name] = out[f"requests.{name}"] = q
        elif _is_extended(name):
            out[f"requests.{name}"] = q
    return out


def _is_extended(name: str) -> bool:
    return "/" in name and not name.startswith("kubernetes.io/") and not name.startswith("requests.")


def pod_counts(pod: Mapping[str, Any], now: float) -> bool:
    """QuotaV1Pod: whether the pod is charged for compute (not Succeeded or Failed, and not past the grace
    period of its deletion)."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    md = pod.get("metadata") or {}
    grace = md.get("deletionGracePeriodSeconds")
    if md.get("deletionTimestamp") and grace is not None:
        return now <= meta.parse_time(md["deletionTimestamp"]) + float(grace)
    return True


def pod_usage(pod: Mapping[str, Any], now: float) -> ResourceList:
    """PodUsageFunc: count/pods always; the compute resources while the pod is charged."""
    out: ResourceList = {"count/pods": ONE}
    if not pod_counts(pod, now):
        return out
    return add(out, _compute_usage(pod_resources(pod, "requests"), pod_resources(pod, "limits")))


def _service_usage(svc: Mapping[str, Any]) -> ResourceList:
    spec = svc.get("spec") or {}
    out: ResourceList = {"count/services": ONE, "services": ONE}
    ports = len(spec.get("ports") or [])
    if spec.get("type") == "NodePort":
        out["services.nodeports"] = Q(Fraction(ports))
    elif spec.get("type") == "LoadBalancer":
        out["services.loadbalancers"] = ONE
        if spec.get("allocateLoadBalancerNodePorts") is not False:
            out["services.nodeports"] = Q(Fraction(ports))
    return out


def _claim_usage(pvc: Mapping[str, Any]) -> ResourceList:
    spec = pvc.get("spec") or {}
    out: ResourceList = {"count/persistentvolumeclaims": ONE, "persistentvolumeclaims": ONE}
    cls = spec.get("storageClassName")
    if cls:
        out[f"{cls}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = ONE
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is not None and quantity.is_valid(storage):
        out["requests.storage"] = Q.of(storage)
        if cls:
            out[f"{cls}{STORAGE_CLASS_SUFFIX}requests.storage"] = Q.of(storage)
    return out


def usage(info: KindInfo, obj: Mapping[str, Any], now: float) -> ResourceList:
    """What one object uses (each evaluator's Usage)."""
    if info.kind == "Pod":
        return pod_usage(obj, now)
    if info.kind == "Service":
        return _service_usage(obj)
    if info.kind == "PersistentVolumeClaim":
        return _claim_usage(obj)
    out: ResourceList = {object_count_name(info): ONE}
    if not info.group and info.resource in LEGACY_COUNTS:
        out[info.resource] = ONE
    return out


def matching_resources(info: KindInfo, names: Iterable[str]) -> list[str]:
    """MatchingResources: which of a quota's resource names this kind's evaluator counts."""
    out = []
    for n in names:
        if info.kind == "Pod":
            ok = n in _POD_RESOURCES or n.startswith(("hugepages-", "requests.hugepages-")) or (
                n.startswith("requests.") and _is_extended(n.removeprefix("requests.")))
        elif info.kind == "Service":
            ok = n in _SERVICE_RESOURCES
        elif info.kind == "PersistentVolumeClaim":
            ok = n in _PVC_RESOURCES or (STORAGE_CLASS_SUFFIX in n and n.endswith(("/requests.storage",
                                                                                  "/persistentvolumeclaims")))
        else:
            ok = n == object_count_name(info) or (not info.group and n == info.resource and n in LEGACY_COUNTS)
        if ok:
            out.append(n)
    return out


# --- scopes ---------------------------------------------------------------------------------------------------

def scope_selectors(rq: Mapping[str, Any]) -> list[dict]:
    """getScopeSelectorsFromQuota: spec.scopes as Exists requirements, then spec.scopeSelector's."""
    spec = rq.get("spec") or {}
    out = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or []]
    return out + list(((spec.get("scopeSelector") or {}).get("matchExpressions")) or [])


def _pod_matches_scope(sel: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    scope = sel.get("scopeName")
    if scope in ("Terminating", "NotTerminating"):
        ads = spec.get("activeDeadlineSeconds")
        terminating = isinstance(ads, int) and ads >= 0
        return terminating if scope == "Terminating" else not terminating
    if scope in ("BestEffort", "NotBestEffort"):
        best = qos_class(dict(pod)) == "BestEffort"
        return best if scope == "BestEffort" else not best
    if scope == "PriorityClass":
        pc = spec.get("priorityClassName") or ""
        op = sel.get("operator")
        if op == "Exists":
            return bool(pc)
        want = {"In": labels.IN, "NotIn": labels.NOT_IN, "DoesNotExist": labels.DOES_NOT_EXIST}.get(str(op))
        if want is None:
            return False
        return labels.Requirement("PriorityClass", want, tuple(sel.get("values") or ())).matches(
            {"PriorityClass": pc} if pc else {})
    if scope == "CrossNamespacePodAffinity":
        aff = spec.get("affinity") or {}
        for which in ("podAffinity", "podAntiAffinity"):
            a = aff.get(which) or {}
            terms = list(a.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
            terms += [w.get("podAffinityTerm") or {} for w in a.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
            if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms):
                return True
    return False


def matches(info: KindInfo, rq: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    """generic.Matches: the quota counts one of this kind's resources, and the object is in all its scopes
    (only pods are ever in a scope)."""
    hard = ((rq.get("status") or {}).get("hard")) or {}
    if not matching_resources(info, hard):
        return False
    return all(info.kind == "Pod" and _pod_matches_scope(s, obj) for s in scope_selectors(rq))


def usage_in(info: KindInfo, rq: Mapping[str, Any], objs: Iterable[Mapping[str, Any]], now: float) -> ResourceList:
    """CalculateUsageStats for one kind: the sum over the objects in the quota's scopes, of the resources its
    spec.hard names, each starting at a DecimalSI zero (so a resource nothing uses reads "0")."""
    names = matching_resources(info, (rq.get("spec") or {}).get("hard") or {})
    if not names:
        return {}
    total: ResourceList = {n: Q(Fraction(0)) for n in names}
    sels = scope_selectors(rq)
    for obj in objs:
        if sels and not all(info.kind == "Pod" and _pod_matches_scope(s, obj) for s in sels):
            continue
        for k, v in usage(info, obj, now).items():
            if k in total:
                total[k] = total[k] + v
    return total


# --- admission ------------------------------------------------------------------------------------------------

def pretty(rl: ResourceList) -> str:
    """prettyPrint: name=value, sorted, joined by commas."""
    return ",".join(f"{k}={rl[k]}" for k in sorted(rl))


def _missing(pod: Mapping[str, Any], required: set[str]) -> str | None:
    """podEvaluator.Constraints: the cpu/memory resources the quota counts that a container does not set."""
    required = required & POD_VALIDATION
    missing: dict[str, set[str]] = {}
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        have = _compute_usage(_container_resources(c, "requests"), _container_resources(c, "limits"))
        for name in required - set(have):
            missing.setdefault(name, set()).add(str(c.get("name") or ""))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{r} for: {','.join(sorted(missing[r]))}" for r in sorted(missing))


def forbidden(info: KindInfo, name: str, why: str) -> ApiError:
    """admission.NewForbidden: '<resource> "<name>" is forbidden: <why>' (403)."""
    resource = f"{info.resource}.{info.group}" if info.group else info.resource
    return ApiError(403, "Forbidden", f'{resource} "{name}" is forbidden: {why}',
                    {"name": name, "kind": info.resource, **({"group": info.group} if info.group else {})})


def check_request(info: KindInfo, quotas: list[dict], obj: Mapping[str, Any], name: str, now: float,
                  old: Mapping[str, Any] | None = None) -> dict[int, dict[str, str]]:
    """CheckRequest: the new status.used of each quota this create (or update, with `old`) charges, by its
    index in `quotas`; raises the 403 kube-apiserver answers when a quota would be exceeded, lacks the
    usage it needs (status unknown), or a pod leaves a counted cpu/memory unset."""
    interesting = []
    for i, rq in enumerate(quotas):
        if not matches(info, rq, obj):
            continue
        status = rq.get("status") or {}
        hard = status.get("hard") or {}
        restricted = matching_resources(info, hard)
        if info.kind == "Pod":
            why = _missing(obj, set(restricted))
            if why:
                raise forbidden(info, name, f"failed quota: {rq['metadata']['name']}: {why}")
        used = status.get("used") or {}
        if any(r not in used for r in restricted):
            raise forbidden(info, name, f"status unknown for quota: {rq['metadata']['name']}, resources: "
                                        f"{','.join(sorted(restricted))}")
        interesting.append(i)
    if not interesting:
        return {}
    delta = usage(info, obj, now)
    if old is not None:
        before = usage(info, old, now)
        delta = {k: Q(max(v.value - before[k].value, Fraction(0)) if k in before else v.value, v.fmt)
                 for k, v in delta.items()}
    delta = {k: v for k, v in delta.items() if v.value != 0}
    if not delta:
        return {}
    out: dict[int, dict[str, str]] = {}
    for i in interesting:
        status = quotas[i].get("status") or {}
        hard, used = to_list(status.get("hard")), to_list(status.get("used"))
        requested = {k: v for k, v in delta.items() if k in hard}
        if not requested:
            continue
        new_used = add(used, requested)
        exceeded = sorted(k for k in requested if new_used[k].value > hard[k].value)
        if exceeded:
            raise forbidden(info, name, f"exceeded quota: {quotas[i]['metadata']['name']}, "
                                        f"requested: {pretty({k: requested[k] for k in exceeded})}, "
                                        f"used: {pretty({k: used[k] for k in exceeded if k in used})}, "
                                        f"limited: {pretty({k: hard[k] for k in exceeded})}")
        out[i] = {**(status.get("used") or {}), **{k: str(new_used[k]) for k in requested}}
    return out
