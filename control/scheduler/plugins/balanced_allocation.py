"""NodeResourcesBalancedAllocation: favour nodes whose cpu and memory fractions stay close together."""

from __future__ import annotations

from operator import attrgetter

from control.scheduler.framework import MAX_NODE_SCORE
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.helper import memoized

NAME = "NodeResourcesBalancedAllocation"
_HAS_ALLOC = attrgetter("has_alloc")


def balanced_score(cpu_requested: int, cpu_alloc: int, mem_requested: int, mem_alloc: int) -> int:
    """balancedResourceScorer: (1 - std of the capped usage fractions) * 100, truncated like Go's int64()."""
    fractions: list[float] = []
    if cpu_alloc:
        fractions.append(min(cpu_requested / cpu_alloc, 1.0))
    if mem_alloc:
        fractions.append(min(mem_requested / mem_alloc, 1.0))
    # With two resources the standard deviation is |a - b| / 2; with one it is 0.
    std = abs((fractions[0] - fractions[1]) / 2) if len(fractions) == 2 else 0.0
    return int((1 - std) * MAX_NODE_SCORE)


class BalancedAllocation:
    """Uses the real requests (useRequested), not the non-zero defaults, like kube-scheduler."""

    name = NAME

    def pre_score(self, pod: PodInfo) -> bool:
        # Best-effort pods are not scored here, so they do not pile onto one node (kubernetes#129138).
        return bool(pod.cpu or pod.mem)

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        return balanced_score(node.req_cpu + pod.cpu, node.alloc_cpu, node.req_mem + pod.mem, node.alloc_mem)

    def score_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        return memoized(nodes, (NAME, pod.cpu, pod.mem), lambda some: self._score_all(pod, some), lane=1)

    def _score_all(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        pc, pm = pod.cpu, pod.mem
        if not all(map(_HAS_ALLOC, nodes)):
            return [self.score(pod, ni) for ni in nodes]
        # balanced_score inlined for the hot path: the same float operations in the same order.
        return [
            int((1 - abs(((c if (c := (ni.req_cpu + pc) / ni.alloc_cpu) < 1.0 else 1.0)
                          - (m if (m := (ni.req_mem + pm) / ni.alloc_mem) < 1.0 else 1.0)) / 2)) * 100)
            for ni in nodes
        ]
