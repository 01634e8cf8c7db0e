"""NodeResourcesFit: the pod's requests must fit the node's free allocatable; LeastAllocated scores.

Filtering uses the real requests (a pod without requests always fits, pod count aside); scoring
uses kube-scheduler's non-zero requests (100m cpu, 200Mi memory for a container without one).
"""

from __future__ import annotations

from functools import lru_cache
from operator import attrgetter

from control.scheduler.framework import MAX_NODE_SCORE, SUCCESS, Code, Status
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.helper import key_id, memoized

NAME = "NodeResourcesFit"
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
_HAS_ALLOC = attrgetter("has_alloc")


@lru_cache(maxsize=16)
def _status(reasons: tuple[str, ...]) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons, NAME)


def insufficient(pod: PodInfo, node: NodeInfo) -> list[str]:
    """fitsRequest: every resource the node lacks for this pod, in kube-scheduler's order."""
    reasons: list[str] = []
    if len(node.pods) + 1 > node.allowed_pods:
        reasons.append(TOO_MANY_PODS)
    if pod.cpu == 0 and pod.mem == 0:
        return reasons
    if node.alloc_cpu < pod.cpu + node.req_cpu:
        reasons.append(INSUFFICIENT_CPU)
    if node.alloc_mem < pod.mem + node.req_mem:
        reasons.append(INSUFFICIENT_MEMORY)
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


class NodeResourcesFit:
    name = NAME

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        reasons = insufficient(pod, node)
        return _status(tuple(reasons)) if reasons else SUCCESS

    def filter_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> tuple[list[NodeInfo], list[tuple[NodeInfo, Status]]]:
        c, m = pod.cpu, pod.mem
        # A node known to fit this request shape still fits until it changes (which resets fits_k):
        # replicas of one workload skip the arithmetic on every node they already looked at.
        kid = key_id((NAME, c, m))
        known = [ni.fits_k == kid for ni in nodes]
        if all(known):
            return list(nodes), []
        passed: list[NodeInfo] = []
        failed: list[tuple[NodeInfo, Status]] = []
        best_effort = c == 0 and m == 0  # needs a pod slot only, even on an overcommitted node
        for ni, ok in zip(nodes, known, strict=True):
            if ok:
                passed.append(ni)
            elif ni.free_pods > 0 and (best_effort or (ni.free_cpu >= c and ni.free_mem >= m)):
                ni.fits_k = kid
                passed.append(ni)
            else:
                failed.append((ni, self.filter(pod, ni)))
        return passed, failed

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        return least_allocated(pod, node)

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
