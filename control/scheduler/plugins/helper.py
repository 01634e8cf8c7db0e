"""Helpers shared by plugins: score normalization (kube-scheduler's plugins/helper) and batch filtering."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from control.scheduler.framework import SKIP, Code, Status
from control.scheduler.nodeinfo import NodeInfo, PodInfo


def default_normalize_score(scores: list[int], max_priority: int, *, reverse: bool) -> list[int]:
    """Scale to [0, max_priority] by the highest score; `reverse` turns "fewer is better" into a score."""
    max_count = max(scores, default=0)
    if max_count <= 0:
        return [max_priority] * len(scores) if reverse else list(scores)
    if reverse:
        return [max_priority - max_priority * s // max_count for s in scores]
    return [max_priority * s // max_count for s in scores]


def filter_some(check: Callable[[PodInfo, NodeInfo], Status], pod: PodInfo, nodes: list[NodeInfo],
                suspects: list[NodeInfo]) -> tuple[list[NodeInfo], list[tuple[NodeInfo, Status]]]:
    """Batch filter that runs `check` only on `suspects` (the nodes that can fail at all), keeping order."""
    failed = [(ni, st) for ni in suspects if (st := check(pod, ni)).code is not Code.SUCCESS]
    if not failed:
        return nodes, []
    bad = {id(ni) for ni, _ in failed}
    return [ni for ni in nodes if id(ni) not in bad], failed


_MEMO = attrgetter("memo")
# Memo keys are interned to small ints: a tuple's hash is not cached, so looking a tuple key up in
# hundreds of node memos per cycle would hash (and compare) it hundreds of times.
_KEY_IDS: dict[tuple, int] = {}
_NEXT_ID = itertools.count()
MAX_KEYS = 50_000  # then the table starts again; ids are never reused, so no node's memo can be misread


def key_id(key: tuple) -> int:
    """The int a memo key is interned to (keys with a selector in them come and go with ReplicaSet revisions)."""
    kid = _KEY_IDS.get(key)
    if kid is None:
        if len(_KEY_IDS) >= MAX_KEYS:
            _KEY_IDS.clear()
        kid = _KEY_IDS[key] = next(_NEXT_ID)
    return kid


def memoized(nodes: list[NodeInfo], key: tuple, compute: Callable[[list[NodeInfo]], list[int]],
             lane: int = -1) -> list[int]:
    """Per-node scores through each node's memo: `compute` runs only on nodes that changed since.

    Replicas of one workload share a request shape, so most nodes answer from the memo. With a `lane`
    (0 and 1: the two resource score plugins; 2: PodTopologySpread) the last value also sits in the NodeInfo itself: reading it
    touches only the node, not a dict of its own somewhere else in memory, which over hundreds of
    nodes a cycle is most of the cost of a lookup. The dict keeps every shape for the lanes' misses.
    """
    kid = key_id(key)
    if lane == 0:
        vals = [ni.lane0_v if ni.lane0_k == kid else None for ni in nodes]
    elif lane == 1:
        vals = [ni.lane1_v if ni.lane1_k == kid else None for ni in nodes]
    elif lane == 2:
        vals = [ni.lane2_v if ni.lane2_k == kid else None for ni in nodes]
    else:
        vals = [m.get(kid) for m in map(_MEMO, nodes)]
    if None not in vals:
        return vals  # type: ignore[return-value]
    missing = [i for i, v in enumerate(vals) if v is None]
    lane_missed = missing
    if lane >= 0:
        for i in missing:
            vals[i] = nodes[i].memo.get(kid)
        missing = [i for i in missing if vals[i] is None]
    if missing:
        fresh = compute([nodes[i] for i in missing])
        for i, v in zip(missing, fresh, strict=True):
            vals[i] = v
            nodes[i].memo[kid] = v
    if lane == 0:
        for i in lane_missed:
            ni = nodes[i]
            ni.lane0_k, ni.lane0_v = kid, vals[i]
    elif lane == 1:
        for i in lane_missed:
            ni = nodes[i]
            ni.lane1_k, ni.lane1_v = kid, vals[i]
    elif lane == 2:
        for i in lane_missed:
            ni = nodes[i]
            ni.lane2_k, ni.lane2_v = kid, vals[i]
    return vals  # type: ignore[return-value]


def pre_filtered(plugin: Any, pod: PodInfo, key: str) -> Any:
    """What `plugin`'s PreFilter left in the pod's CycleState under `key`, running it first when Filter is
    called on its own (preemption's dry run, tests); None when PreFilter skipped the pod."""
    state = pod.state.get(key)
    if state is None and plugin.pre_filter(pod) is not SKIP:
        state = pod.state.get(key)
    return state
