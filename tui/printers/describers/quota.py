"""kubectl's ResourceQuota and LimitRange describers (describeQuota, describeLimitRange in describe.go, v1.32)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.api import quantity
from tui.printers.describers.writer import PrefixWriter
from tui.printers.status import meta_of

_SCOPE_HELP = {
    "Terminating": "Matches all pods that have an active deadline. These pods have a limited lifespan on a node "
                   "before being actively terminated by the system.",
    "NotTerminating": "Matches all pods that do not have an active deadline. These pods usually include long "
                      "running pods whose container command is not expected to terminate.",
    "BestEffort": "Matches all pods that do not have resource requirements set. These pods have a best effort "
                  "quality of service.",
    "NotBestEffort": "Matches all pods that have at least one resource requirement set. These pods have a burstable "
                     "or guaranteed quality of service.",
}


def _used(used: Any, hard: Any) -> str:
    """Used in Hard's format: a used quantity of another format is its whole Value() in hard's (so 0 and 1Gi)."""
    if used is None:
        used = "0"
    fmt = quantity.format_of(hard)
    if quantity.format_of(used) != fmt:
        return quantity.canonical(quantity.to_int(used), fmt)
    return quantity.canonical_of(used)


def describe_resourcequota(rq: Mapping[str, Any]) -> str:
    """describeQuota: the scopes with their help, then each resource of status.hard: used and hard."""
    w = PrefixWriter()
    md = meta_of(rq)
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace', '')}\n")
    scopes = sorted(str(s) for s in (rq.get("spec") or {}).get("scopes") or [])
    if scopes:
        w.write(0, f"Scopes:\t{', '.join(scopes)}\n")
        for s in scopes:
            if s in _SCOPE_HELP:
                w.write(0, f" * {_SCOPE_HELP[s]}\n")
    w.write(0, "Resource\tUsed\tHard\n")
    w.write(0, "--------\t----\t----\n")
    status = rq.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    for name in sorted(hard):
        w.write(0, f"{name}\t{_used(used.get(name), hard[name])}\t{quantity.canonical_of(hard[name])}\n")
    return w.text()


def describe_limitrange(lr: Mapping[str, Any]) -> str:
    """describeLimitRange: one row per item and resource, "-" where the item sets no value."""
    w = PrefixWriter()
    md = meta_of(lr)
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace', '')}\n")
    w.write(0, "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n")
    w.write(0, "----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n")
    for item in (lr.get("spec") or {}).get("limits") or []:
        if not isinstance(item, dict):
            continue
        columns = ("min", "max", "defaultRequest", "default", "maxLimitRequestRatio")
        names = sorted({str(k) for c in columns for k in (item.get(c) or {})})  # kubectl: a Go map's order
        for name in names:
            cells = [quantity.canonical_of((item.get(c) or {})[name]) if name in (item.get(c) or {}) else "-"
                     for c in columns]
            w.write(0, "\t".join([str(item.get("type") or ""), name, *cells]) + "\n")
    return w.text()
