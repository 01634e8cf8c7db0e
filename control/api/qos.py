"""A pod's QoS class, as Kubernetes computes it from container requests and limits."""

from __future__ import annotations

from control.api import quantity


def qos_class(pod: dict) -> str:
    containers = list((pod.get("spec") or {}).get("containers") or [])
    containers += list((pod.get("spec") or {}).get("initContainers") or [])
    requests: dict[str, int] = {}
    limits: dict[str, int] = {}
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req = res.get("requests") or {}
        lim = res.get("limits") or {}
        for name in ("cpu", "memory"):
            if name in req and quantity.is_valid(req[name]) and quantity.parse(req[name]) != 0:
                requests[name] = 1
            if name in lim and quantity.is_valid(lim[name]) and quantity.parse(lim[name]) != 0:
                limits[name] = 1
            else:
                guaranteed = False
            if name in req and name in lim and str(req[name]) != str(lim[name]):
                if quantity.is_valid(req[name]) and quantity.is_valid(lim[name]):
                    if quantity.parse(req[name]) != quantity.parse(lim[name]):
                        guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and len(limits) == 2:
        return "Guaranteed"
    return "Burstable"
