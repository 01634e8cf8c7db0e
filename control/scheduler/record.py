"""The decision record of one scheduling cycle, bounded in size, for the dashboard and `describe pod`.

The scheduler stores it as JSON in the pod annotation `kube-tui.io/scheduling`; like
kube-scheduler-simulator it shows, per node, each filter's verdict and each score with its weight.

Two shapes of one record. `to_record` is the readable one: every node with its filter chain and its
scores. The annotation holds the compact one (`to_annotation`, "v": 2): what every feasible node shares
(the filter chain it passed, the score plugins and weights) is written once, and each node is a row:

    {"v": 2, "node", "message", "filters": [plugin, ...], "plugins": [[plugin, weight], ...],
     "scored": [[node, total, score, ...], ...], "rejected": [[node, plugin, reason], ...],
     "counts", "evaluated", "feasible", "time_ms", "profile"?, "skipped"?, "explain"?}

("profile": the pod's schedulerName, when not default-scheduler; "skipped": the filters whose PreFilter had
nothing to check for this pod (kube-scheduler's Skip), so they did not run; "explain": {plugin: text}, what a filter
that counts pods across nodes counted, PodTopologySpread's domains or InterPodAffinity's matching pods.)

With 5,000 nodes that is ~1 KB instead of ~6 KB per pod: it is written with the binding, stored,
published to every pod watcher and decoded by each. `parse` gives readers the readable shape from either.
"""

from __future__ import annotations

import heapq
import json
from typing import TYPE_CHECKING, Any

from control.api.meta import SCHEDULING_ANNOTATION

if TYPE_CHECKING:
    from control.scheduler.framework import ScheduleResult, Status

ANNOTATION = SCHEDULING_ANNOTATION
TOP_NODES = 10
FILTERED_NODES = 10


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
    """The readable record: {"node", "message", "nodes": [{"node", "filters", "scores", "total"}], "counts",
    "evaluated", "feasible", "time_ms"}, each node with its whole filter chain and its weighted scores."""
    return expand(to_compact(result))


def to_compact(result: ScheduleResult) -> dict[str, Any]:
    """The record in its compact shape (see the module docstring); `expand` turns it back into to_record's."""
    pod = result.pod
    message = f"Successfully assigned {pod.namespace}/{pod.name} to {result.node}" if result.node is not None else result.message
    top = _top(result.totals, TOP_NODES)
    if result.node is not None and result.chosen >= 0:
        chosen = result.chosen
        top = [chosen] + [i for i in top if i != chosen][:TOP_NODES - 1]
    columns = list(result.scores.values())
    nodes, totals = result.scored, result.totals
    scored = [[nodes[i].name, totals[i] if i < len(totals) else 0, *(vals[i] for vals in columns)] for i in top]
    rejected = [[name, st.plugin or "PreFilter", st.message] for name, st in _pick_filtered(result.failures, FILTERED_NODES)]
    out = {
        "v": 2,
        "node": result.node,
        "message": message,
        "filters": list(result.filters_run),
        "plugins": [[p, result.weights.get(p, 1)] for p in result.scores],
        "scored": scored,
        "rejected": rejected,
        "counts": result.reason_counts(),
        "evaluated": result.evaluated,
        "feasible": result.feasible,
        "time_ms": round(result.time_ms, 3),
    }
    profile = pod.spec.get("schedulerName")
    if profile and profile != "default-scheduler":
        out["profile"] = profile  # which scheduling profile decided (spec.schedulerName)
    if result.filters_skipped:
        out["skipped"] = list(result.filters_skipped)  # filters whose PreFilter had nothing to check for this pod
    if result.explain:
        out["explain"] = dict(result.explain)  # what PodTopologySpread / InterPodAffinity counted, per plugin
    return out


def to_annotation(result: ScheduleResult) -> str:
    """The record as compact JSON for the pod annotation."""
    return json.dumps(to_compact(result), separators=(",", ":"))


def expand(compact: dict[str, Any]) -> dict[str, Any]:
    """The readable shape (to_record's) of a compact record."""
    chain = [f for f in compact.get("filters") or [] if isinstance(f, str)]
    passed = [{"plugin": name, "ok": True, "reason": ""} for name in chain]
    plugins = [(p[0], p[1]) for p in compact.get("plugins") or [] if isinstance(p, list) and len(p) == 2]
    nodes: list[dict[str, Any]] = []
    for row in compact.get("scored") or []:
        if not isinstance(row, list) or len(row) < 2:
            continue
        scores = [{"plugin": p, "score": s, "weight": w} for (p, w), s in zip(plugins, row[2:], strict=False)]
        nodes.append({"node": row[0], "filters": passed, "scores": scores, "total": row[1]})
    for row in compact.get("rejected") or []:
        if not isinstance(row, list) or len(row) != 3:
            continue
        name, plugin, reason = row
        filters = []
        for f in chain:  # the chain it went through: every filter passed up to the one that failed
            if f == plugin:
                break
            filters.append({"plugin": f, "ok": True, "reason": ""})
        filters.append({"plugin": plugin, "ok": False, "reason": reason})
        nodes.append({"node": name, "filters": filters, "scores": [], "total": 0})
    out = {k: compact.get(k) for k in ("node", "message") if k in compact}
    out["nodes"] = nodes
    out.update({k: compact[k] for k in ("counts", "evaluated", "feasible", "time_ms", "profile", "skipped", "explain")
                if k in compact})
    return out


def parse(text: Any) -> dict[str, Any] | None:
    """The readable record from an annotation value (compact or readable JSON); None if unreadable."""
    if not isinstance(text, str):
        return None
    try:
        rec = json.loads(text)
    except ValueError:
        return None
    if not isinstance(rec, dict):
        return None
    return expand(rec) if rec.get("v") == 2 else rec
