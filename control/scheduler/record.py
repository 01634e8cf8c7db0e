"""The decision record of one scheduling cycle, bounded in size, for the dashboard and `describe pod`.

The scheduler stores it as JSON in the pod annotation `kube-tui.io/scheduling`; like
kube-scheduler-simulator it shows, per node, each filter's verdict and each score with its weight.
"""

from __future__ import annotations

import heapq
import json
from typing import Any

from control.api.meta import SCHEDULING_ANNOTATION
from control.scheduler.framework import ScheduleResult, Status

ANNOTATION = SCHEDULING_ANNOTATION
TOP_NODES = 10
FILTERED_NODES = 10


def _filters(result: ScheduleResult, failed: Status | None) -> list[dict[str, Any]]:
    """The chain a node went through: every filter that ran passed, up to the one that failed."""
    out: list[dict[str, Any]] = []
    for name in result.filters_run:
        if failed is not None and name == failed.plugin:
            out.append({"plugin": name, "ok": False, "reason": failed.message})
            return out
        out.append({"plugin": name, "ok": True, "reason": ""})
    if failed is not None:  # failed outside the chain (PreFilter restriction or rejection)
        out.append({"plugin": failed.plugin or "PreFilter", "ok": False, "reason": failed.message})
    return out


def _pick_filtered(failures: list[tuple[str, Status]], limit: int) -> list[tuple[str, Status]]:
    """Up to `limit` rejected nodes, one per distinct reason first, so every reason has an example."""
    picked: list[tuple[str, Status]] = []
    seen: set[tuple[str, ...]] = set()
    for name, st in failures:
        if st.reasons not in seen:
            seen.add(st.reasons)
            picked.append((name, st))
            if len(picked) == limit:
                return picked
    chosen = {name for name, _ in picked}
    for name, st in failures:
        if len(picked) == limit:
            break
        if name not in chosen:
            picked.append((name, st))
    return picked


def _top(totals: list[int], k: int) -> list[int]:
    """Indices of the k highest totals, best first (a C sort of the values finds the threshold)."""
    if len(totals) <= k:
        return sorted(range(len(totals)), key=totals.__getitem__, reverse=True)
    threshold = sorted(totals, reverse=True)[k - 1]
    candidates = [i for i, t in enumerate(totals) if t >= threshold]
    return heapq.nlargest(k, candidates, key=totals.__getitem__)


def to_record(result: ScheduleResult) -> dict[str, Any]:
    """{"node", "message", "nodes": [...], "counts", "evaluated", "feasible", "time_ms"}."""
    pod = result.pod
    if result.node is not None:
        message = f"Successfully assigned {pod.namespace}/{pod.name} to {result.node}"
    else:
        message = result.message
    nodes: list[dict[str, Any]] = []
    top = _top(result.totals, TOP_NODES)
    if result.node is not None and result.node in result.scored_nodes:
        # The winner leads even when it is one of several tied totals.
        chosen = result.scored_nodes.index(result.node)
        top = [chosen] + [i for i in top if i != chosen][:TOP_NODES - 1]
    passed = _filters(result, None)  # identical for every feasible node: shared, read-only
    for i in top:
        scores = [{"plugin": p, "score": vals[i], "weight": result.weights.get(p, 1)}
                  for p, vals in result.scores.items()]
        nodes.append({"node": result.scored_nodes[i], "filters": passed, "scores": scores,
                      "total": result.totals[i] if i < len(result.totals) else 0})
    for name, st in _pick_filtered(result.failures, FILTERED_NODES):
        nodes.append({"node": name, "filters": _filters(result, st), "scores": [], "total": 0})
    return {
        "node": result.node,
        "message": message,
        "nodes": nodes,
        "counts": result.reason_counts(),
        "evaluated": result.evaluated,
        "feasible": result.feasible,
        "time_ms": round(result.time_ms, 3),
    }


def to_annotation(result: ScheduleResult) -> str:
    """The record as compact JSON for the pod annotation."""
    return json.dumps(to_record(result), separators=(",", ":"), sort_keys=False)
