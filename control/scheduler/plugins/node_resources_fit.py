"""NodeResourcesFit: the pod's requests must fit the node's free allocatable; the node is scored by
its scoring strategy (LeastAllocated by default; MostAllocated and RequestedToCapacityRatio through a
scheduler configuration's pluginConfig, as kube-scheduler's NodeResourcesFitArgs).

Filtering uses the real requests (a pod without requests always fits, pod count aside); scoring
uses kube-scheduler's non-zero requests (100m cpu, 200Mi memory for a container without one).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from operator import attrgetter
from typing import Any

from control.scheduler.framework import MAX_NODE_SCORE, SUCCESS, Code, Status
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.helper import key_id, memoized

NAME = "NodeResourcesFit"
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
INSUFFICIENT_STORAGE = "Insufficient ephemeral-storage"
_HAS_ALLOC = attrgetter("has_alloc")


@lru_cache(maxsize=16)
def _status(reasons: tuple[str, ...]) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons, NAME)


def insufficient(pod: PodInfo, node: NodeInfo) -> list[str]:
    """fitsRequest: every resource the node lacks for this pod, in kube-scheduler's order."""
    reasons: list[str] = []
    if len(node.pods) + 1 > node.allowed_pods:
        reasons.append(TOO_MANY_PODS)
    if pod.cpu == 0 and pod.mem == 0 and pod.storage == 0:
        return reasons
    if node.alloc_cpu < pod.cpu + node.req_cpu:
        reasons.append(INSUFFICIENT_CPU)
    if node.alloc_mem < pod.mem + node.req_mem:
        reasons.append(INSUFFICIENT_MEMORY)
    if pod.storage > 0 and node.alloc_storage < pod.storage + node.req_storage:
        reasons.append(INSUFFICIENT_STORAGE)
    return reasons


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """leastResourceScorer with cpu and memory weighted 1 each; a resource with 0 allocatable is left out."""
    total = weights = 0
    if node.alloc_cpu:
        total += least_requested_score(node.nz_cpu + pod.nz_cpu, node.alloc_cpu)
        weights += 1
    if node.alloc_mem:
        total += least_requested_score(node.nz_mem + pod.nz_mem, node.alloc_mem)
        weights += 1
    return total // weights if weights else 0


# -- scoring strategies (noderesources/least_allocated.go, most_allocated.go, requested_to_capacity_ratio.go)

STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")
MAX_CUSTOM_PRIORITY_SCORE = 10  # a shape point's score is 0..10, scaled to 0..100
DEFAULT_RESOURCES = (("cpu", 1), ("memory", 1))
Scorer = Callable[[PodInfo, NodeInfo], int]


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity  # pods without requests may overshoot


def broken_linear(shape: list[tuple[int, int]]) -> Callable[[int], int]:
    """helper.BuildBrokenLinearFunction: a piecewise-linear utilization (0..100) -> score curve."""
    def f(p: int) -> int:
        for i, (u, score) in enumerate(shape):
            if p <= u:
                if i == 0:
                    return shape[0][1]
                u0, s0 = shape[i - 1]
                return s0 + int((score - s0) * (p - u0) / (u - u0))  # Go's int64 division truncates
        return shape[-1][1]
    return f


def _requested_and_allocatable(pod: PodInfo, node: NodeInfo, resource: str) -> tuple[int, int]:
    if resource == "cpu":
        return node.nz_cpu + pod.nz_cpu, node.alloc_cpu
    if resource == "memory":
        return node.nz_mem + pod.nz_mem, node.alloc_mem
    return 0, 0  # a resource nodes here do not advertise (nvidia.com/gpu, ...) is left out, as at 0 allocatable


def _weighted(resources: tuple[tuple[str, int], ...], per_resource: Callable[[int, int], int],
              skip_zero: bool = False, rounded: bool = False) -> Scorer:
    def score(pod: PodInfo, node: NodeInfo) -> int:
        total = weights = 0
        for name, weight in resources:
            requested, allocatable = _requested_and_allocatable(pod, node, name)
            if allocatable == 0:
                continue
            s = per_resource(requested, allocatable)
            if skip_zero and s <= 0:
                continue
            total += s * weight
            weights += weight
        if not weights:
            return 0
        return (2 * total + weights) // (2 * weights) if rounded else total // weights  # Go's math.Round: half up
    return score


ARGS_FIELDS = ("scoringStrategy", "ignoredResources", "ignoredResourceGroups")
STRATEGY_FIELDS = ("type", "resources", "requestedToCapacityRatio")


def _strict(obj: dict, allowed: tuple[str, ...], path: str) -> None:
    for k in obj:
        if k not in allowed:
            raise ValueError(f'{path}{k}: strict decoding error: unknown field "{path}{k}"')


def scoring_strategy(args: dict[str, Any] | None) -> tuple[tuple, Scorer | None]:
    """(a hashable key, the scorer) for NodeResourcesFitArgs, defaulted and validated as kube-scheduler does
    (SetDefaults_NodeResourcesFitArgs, ValidateNodeResourcesFitArgs). The scorer is None for the default
    (LeastAllocated, cpu and memory weighted 1), which has a faster path. Raises ValueError naming the
    field, in kube-scheduler's wording."""
    args = args or {}
    _strict(args, ARGS_FIELDS, "")
    st = args.get("scoringStrategy")
    if st is None:
        st = {"type": "LeastAllocated"}
    if not isinstance(st, dict):
        raise ValueError("scoringStrategy: Invalid value: expected a mapping with type and resources")
    _strict(st, STRATEGY_FIELDS, "scoringStrategy.")
    kind = st.get("type") or ""
    if kind not in STRATEGIES:
        raise ValueError(f'scoringStrategy.type: Unsupported value: "{kind}": supported values: '
                         + ", ".join(f'"{s}"' for s in STRATEGIES))
    resources = DEFAULT_RESOURCES
    if st.get("resources"):  # none given: cpu and memory, weighted 1
        if not isinstance(st["resources"], list):
            raise ValueError("scoringStrategy.resources: Invalid value: expected a list of {name, weight}")
        parsed = []
        for i, r in enumerate(st["resources"]):
            if isinstance(r, dict):
                _strict(r, ("name", "weight"), f"scoringStrategy.resources[{i}].")
            name, weight = (r.get("name"), r.get("weight") or 1) if isinstance(r, dict) else (None, None)
            if not name or not isinstance(name, str):
                raise ValueError(f"scoringStrategy.resources[{i}].name: Required value: a resource name such as cpu")
            if not isinstance(weight, int) or isinstance(weight, bool) or not 0 < weight <= 100:
                raise ValueError(f"scoringStrategy.resources[{i}].weight: Invalid value: {weight!r}: "
                                 f"resource weight of {name} not in valid range (0, 100]")
            parsed.append((name, weight))
        resources = tuple(parsed)
    if kind == "LeastAllocated":
        key: tuple = (kind, resources)
        scorer = None if resources == DEFAULT_RESOURCES else _weighted(resources, least_requested_score)
        return key, scorer
    if kind == "MostAllocated":
        return (kind, resources), _weighted(resources, most_requested_score)
    ratio_args = st.get("requestedToCapacityRatio") or {}
    if isinstance(ratio_args, dict):
        _strict(ratio_args, ("shape",), "scoringStrategy.requestedToCapacityRatio.")
    shape_in = ratio_args.get("shape") if isinstance(ratio_args, dict) else None
    if not isinstance(shape_in, list) or not shape_in:
        raise ValueError("scoringStrategy.shape: Required value: at least one point must be specified "
                         "(requestedToCapacityRatio.shape, e.g. [{utilization: 0, score: 0}, {utilization: 100, score: 10}])")
    shape: list[tuple[int, int]] = []
    for i, pt in enumerate(shape_in):
        if isinstance(pt, dict):
            _strict(pt, ("utilization", "score"), f"scoringStrategy.shape[{i}].")
        u, sc = (pt.get("utilization", 0), pt.get("score", 0)) if isinstance(pt, dict) else (None, None)
        if not isinstance(u, int) or isinstance(u, bool) or not 0 <= u <= 100:
            raise ValueError(f"scoringStrategy.shape[{i}].utilization: Invalid value: {u!r}: not in valid range [0, 100]")
        if shape and u <= shape[-1][0]:
            raise ValueError(f"scoringStrategy.shape[{i}].utilization: Invalid value: {u}: "
                             "utilization values must be sorted in increasing order")
        if not isinstance(sc, int) or isinstance(sc, bool) or not 0 <= sc <= MAX_CUSTOM_PRIORITY_SCORE:
            raise ValueError(f"scoringStrategy.shape[{i}].score: Invalid value: {sc!r}: "
                             f"not in valid range [0, {MAX_CUSTOM_PRIORITY_SCORE}]")
        shape.append((u, sc * (MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE)))
    curve = broken_linear(shape)

    def ratio(requested: int, capacity: int) -> int:
        if capacity == 0 or requested > capacity:
            return curve(100)
        return curve(requested * 100 // capacity)

    return (kind, resources, tuple(shape)), _weighted(resources, ratio, skip_zero=True, rounded=True)


class NodeResourcesFit:
    name = NAME

    def __init__(self, args: dict[str, Any] | None = None) -> None:
        self.strategy_key, self._scorer = scoring_strategy(args)
        if self._scorer is not None:
            self.score_nodes = self._score_nodes_by_strategy  # type: ignore[method-assign]

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        reasons = insufficient(pod, node)
        return _status(tuple(reasons)) if reasons else SUCCESS

    def filter_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> tuple[list[NodeInfo], list[tuple[NodeInfo, Status]]]:
        c, m, s = pod.cpu, pod.mem, pod.storage
        # A node known to fit this request shape still fits until it changes (which resets fits_k):
        # replicas of one workload skip the arithmetic on every node they already looked at.
        kid = key_id((NAME, c, m, s))
        known = [ni.fits_k == kid for ni in nodes]
        if all(known):
            return list(nodes), []
        passed: list[NodeInfo] = []
        failed: list[tuple[NodeInfo, Status]] = []
        best_effort = c == 0 and m == 0 and s == 0  # needs a pod slot only, even on an overcommitted node
        for ni, ok in zip(nodes, known, strict=True):
            if ok:
                passed.append(ni)
            elif ni.free_pods > 0 and (best_effort or (ni.free_cpu >= c and ni.free_mem >= m
                                                       and (s == 0 or ni.free_storage >= s))):
                ni.fits_k = kid
                passed.append(ni)
            else:
                failed.append((ni, self.filter(pod, ni)))
        return passed, failed

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        if self._scorer is not None:
            return self._scorer(pod, node)
        return least_allocated(pod, node)

    def _score_nodes_by_strategy(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        scorer = self._scorer
        assert scorer is not None
        return memoized(nodes, (NAME, self.strategy_key, pod.nz_cpu, pod.nz_mem),
                        lambda some: [scorer(pod, ni) for ni in some])

    def score_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        return memoized(nodes, (NAME, pod.nz_cpu, pod.nz_mem), lambda some: self._score_all(pod, some), lane=0)

    def _score_all(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        pc, pm = pod.nz_cpu, pod.nz_mem
        if not all(map(_HAS_ALLOC, nodes)):
            return [least_allocated(pod, ni) for ni in nodes]
        # least_allocated inlined for nodes with both resources (the hot path): the same integer maths,
        # as (allocatable - requested) = nz_free - pod request.
        return [
            (((ni.nz_free_cpu - pc) * 100 // ni.alloc_cpu if ni.nz_free_cpu >= pc else 0)
             + ((ni.nz_free_mem - pm) * 100 // ni.alloc_mem if ni.nz_free_mem >= pm else 0)) >> 1
            for ni in nodes
        ]
