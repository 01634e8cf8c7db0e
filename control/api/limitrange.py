"""LimitRange (v1) and the LimitRanger admission plugin (plugin/pkg/admission/limitranger), on pod create.

A new pod's containers and init containers get the namespace's default requests and limits for what they do
not set (recorded in the kubernetes.io/limit-ranger annotation), then every Container and Pod min, max and
maxLimitRequestRatio is enforced, refused with kube-apiserver's 403 and its words.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from control.api import quantity
from control.api.resourcequota import Q, ResourceList, to_list
from control.errors import ApiError

ANNOTATION = "kubernetes.io/limit-ranger"
LIMIT_TYPES = ("Pod", "Container", "PersistentVolumeClaim")
_MAX_MILLI = (2**63 - 1) // 1000  # resource.MaxMilliValue


def _defaults(lr: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """defaultContainerResourceRequirements: (requests, limits) from the Container items' defaultRequest and
    default, as written."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for item in (lr.get("spec") or {}).get("limits") or []:
        if isinstance(item, dict) and item.get("type") == "Container":
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
    return requests, limits


def _merge(container: dict, requests: dict[str, Any], limits: dict[str, Any], prefix: str, notes: list[str]) -> None:
    """mergeContainerResources: fill in what the container does not set, and say so."""
    res = container.get("resources")
    if not isinstance(res, dict):
        res = container["resources"] = {}
    set_limits = [k for k in limits if k not in (res.get("limits") or {})]
    set_requests = [k for k in requests if k not in (res.get("requests") or {})]
    if set_limits:
        res["limits"] = {**(res.get("limits") or {}), **{k: limits[k] for k in set_limits}}
    if set_requests:
        res["requests"] = {**(res.get("requests") or {}), **{k: requests[k] for k in set_requests}}
    name = container.get("name", "")
    if set_requests:
        notes.append(f"{', '.join(sorted(set_requests))} request for {prefix} {name}")
    if set_limits:
        notes.append(f"{', '.join(sorted(set_limits))} limit for {prefix} {name}")


def _ceil(f: Fraction) -> int:
    return -((-f.numerator) // f.denominator)


def _compared(*qs: Q) -> list[int]:
    """requestLimitEnforcedValues: milli-units where none overflows, else whole units (rounded up)."""
    whole = [_ceil(q.value) for q in qs]
    if all(w <= _MAX_MILLI for w in whole):
        return [_ceil(q.value * 1000) for q in qs]
    return whole


_ZERO = Q(Fraction(0))



def _min(kind: str, name: str, enforced: Q, req: ResourceList, lim: ResourceList) -> str | None:
    r, li = req.get(name), lim.get(name)
    rv, lv, ev = _compared(r or _ZERO, li or _ZERO, enforced)
    if r is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified."
    if rv < ev:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {r}."
    if li is not None and lv < ev:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {li}."
    return None


def _max(kind: str, name: str, enforced: Q, req: ResourceList, lim: ResourceList) -> str | None:
    r, li = req.get(name), lim.get(name)
    rv, lv, ev = _compared(r or _ZERO, li or _ZERO, enforced)
    if li is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified."
    if lv > ev:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {li}."
    if r is not None and rv > ev:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {r}."
    return None


def _ratio(kind: str, name: str, enforced: Q, req: ResourceList, lim: ResourceList) -> str | None:
    r, li = req.get(name), lim.get(name)
    rv, lv, _ = _compared(r or _ZERO, li or _ZERO, enforced)
    if r is None or rv == 0:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0."
    if li is None or lv == 0:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0."
    observed = lv / rv
    whole = _ceil(enforced.value)
    over = observed * 1000 > _ceil(enforced.value * 1000) if whole <= _MAX_MILLI else observed > whole
    if over:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {observed:f}."
    return None


_CHECKS = (("min", _min), ("max", _max), ("maxLimitRequestRatio", _ratio))


def _enforce(item: Mapping[str, Any], kind: str, req: ResourceList, lim: ResourceList, errs: list[str]) -> None:
    for field, check in _CHECKS:
        for name, value in (item.get(field) or {}).items():
            if not quantity.is_valid(value):
                continue
            why = check(kind, str(name), Q.of(value), req, lim)
            if why:
                errs.append(why)


def _pod_totals(spec: Mapping[str, Any], which: str) -> ResourceList:
    """The Pod item's view: the containers' sum (a resource only when every container sets it; cpu in milli,
    the rest in whole units, DecimalSI), then any init container's if larger."""
    lists = [to_list((c.get("resources") or {}).get(which)) for c in spec.get("containers") or []]
    total: ResourceList = {}
    for key in {k for rl in lists for k in rl}:
        if not all(key in rl for rl in lists):
            continue
        if key == "cpu":
            total[key] = Q(Fraction(sum(_ceil(rl[key].value * 1000) for rl in lists), 1000))
        else:
            total[key] = Q(Fraction(sum(_ceil(rl[key].value) for rl in lists)))
    for c in spec.get("initContainers") or []:
        for k, v in to_list((c.get("resources") or {}).get(which)).items():
            if k not in total or v.value > total[k].value:
                total[k] = v
    return total


def default_pod(pod: dict, limit_ranges: list[dict]) -> None:
    """PodMutateLimitFunc for every LimitRange of the pod's namespace: the Container items' defaults merged
    into each container and init container that does not set them, and the annotation that says so."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    for lr in limit_ranges:
        requests, limits = _defaults(lr)
        notes: list[str] = []
        for c in spec.get("containers") or []:
            if isinstance(c, dict):
                _merge(c, requests, limits, "container", notes)
        for c in spec.get("initContainers") or []:
            if isinstance(c, dict):
                _merge(c, requests, limits, "init container", notes)
        if notes:
            md = pod.setdefault("metadata", {})
            md["annotations"] = {**(md.get("annotations") or {}), ANNOTATION: "LimitRanger plugin set: " + "; ".join(notes)}


def _refuse(resource: str, name: str, errs: list[str]) -> None:
    """admission.NewForbidden of utilerrors.NewAggregate: each message once, [a, b] when several."""
    if errs:
        seen = list(dict.fromkeys(errs))
        why = seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"
        raise ApiError(403, "Forbidden", f'{resource} "{name}" is forbidden: {why}', {"name": name, "kind": resource})


def validate_pod(pod: dict, limit_ranges: list[dict], name: str) -> None:
    """PodValidateLimitFunc for every LimitRange: each Container item's min, max and maxLimitRequestRatio on
    every container and init container, each Pod item's on the pod's totals; all violations in one 403."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    errs: list[str] = []
    for lr in limit_ranges:
        for item in (lr.get("spec") or {}).get("limits") or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "Container":
                for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
                    res = (c.get("resources") or {}) if isinstance(c, dict) else {}
                    _enforce(item, "Container", to_list(res.get("requests")), to_list(res.get("limits")), errs)
            elif item.get("type") == "Pod":
                _enforce(item, "Pod", _pod_totals(spec, "requests"), _pod_totals(spec, "limits"), errs)
    _refuse("pods", name, errs)


def validate_claim(pvc: dict, limit_ranges: list[dict], name: str) -> None:
    """PersistentVolumeClaimValidateLimitFunc: a claim's storage request within each PersistentVolumeClaim
    item's min and max."""
    requests = to_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    errs: list[str] = []
    for lr in limit_ranges:
        for item in (lr.get("spec") or {}).get("limits") or []:
            if not isinstance(item, dict) or item.get("type") != "PersistentVolumeClaim":
                continue
            for res, value in (item.get("min") or {}).items():
                if quantity.is_valid(value):
                    why = _min("PersistentVolumeClaim", str(res), Q.of(value), requests, {})
                    if why:
                        errs.append(why)
            for res, value in (item.get("max") or {}).items():
                r = requests.get(str(res))
                if quantity.is_valid(value) and r is not None:
                    enforced = Q.of(value)
                    rv, ev = _compared(r, enforced)
                    if rv > ev:
                        errs.append(f"maximum {res} usage per PersistentVolumeClaim is {enforced}, but request is {r}.")
    _refuse("persistentvolumeclaims", name, errs)
