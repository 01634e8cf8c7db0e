"""DefaultPreemption, kube-scheduler's PostFilter: when a pod fits nowhere, find the node where evicting
lower-priority pods makes room, and the fewest, least important pods to evict there.

The dry run (pkg/scheduler/framework/preemption and plugins/defaultpreemption):

1. The pod must be eligible: not `preemptionPolicy: Never`, and not already waiting for pods it preempted
   on its nominated node to terminate.
2. Only nodes a filter turned down as Unschedulable are candidates (UnschedulableAndUnresolvable, a node
   selector say, is not something evicting pods can change).
3. On each candidate node (SelectVictimsOnNode): remove every pod of lower priority; if the pod still
   does not fit, evicting cannot help there. Otherwise give the removed pods back one by one, the most
   important first (higher priority, then the one running longer), keeping each that still leaves room:
   whatever cannot be given back is a victim.
4. Of the candidates, take the node whose most important victim is least important, then the lowest sum
   of victim priorities, then the fewest victims, then the victims that started last (pickOneNodeForPreemption).

The scheduler then acts on it (scheduler.py): it marks each victim with a DisruptionTarget condition,
deletes it (gracefully) with a Preempted event, and nominates the node in the pod's status.nominatedNodeName;
the pod is scheduled when the victims are gone. PodDisruptionBudgets count as in kube-scheduler: the victims
whose eviction would take a budget below zero (filterPodsWithPDBViolation) are reprieved first, and the node
with the fewest such violations wins before any other criterion. Preemption deletes; it does not evict, so
a budget is preferred, never enforced.

The filters that count pods across nodes (InterPodAffinity, PodTopologySpread) see the victims leave
too: the dry run takes them out of the scheduler's pod index, runs those plugins' PreFilter again, and
puts everything back (kube-scheduler's PreFilterExtensions AddPod/RemovePod).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from control.api import poddisruptionbudget
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.podindex import CLUSTER, Cluster

MIN_CANDIDATE_NODES_PERCENTAGE = 10  # DefaultPreemptionArgs defaults
MIN_CANDIDATE_NODES_ABSOLUTE = 100
MAX_INT32 = 2**31 - 1
CROSS_NODE = frozenset({"InterPodAffinity", "PodTopologySpread"})  # filters that read the pod index

PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node."
DISRUPTION_TARGET = poddisruptionbudget.DISRUPTION_TARGET
PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"


@dataclass
class Candidate:
    """A node where evicting `victims` (most important first) makes room for the pod."""

    node: str
    victims: list[PodInfo] = field(default_factory=list)
    violations: int = 0  # victims whose PodDisruptionBudget has no disruption left for them

    def describe(self) -> str:
        """What the decision record says about it."""
        names = ", ".join(f"{v.namespace}/{v.name} (priority {v.priority})" for v in self.victims)
        return f"nominated {self.node}: preempting {len(self.victims)} lower-priority pod(s): {names}"


def start_time(pi: PodInfo) -> float:
    """util.GetPodStartTime: status.startTime; a pod not started yet counts as starting now."""
    text = (pi.pod.get("status") or {}).get("startTime")
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return float("inf")


def more_important_first(pods: list[PodInfo]) -> list[PodInfo]:
    """util.MoreImportantPod as a sort: higher priority first, then the pod that started earlier."""
    return sorted(pods, key=lambda p: (-p.priority, start_time(p)))


def terminating_by_preemption(pod: dict) -> bool:
    """A pod being deleted because the scheduler preempted it (its DisruptionTarget condition says so)."""
    if not (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return any(c.get("type") == DISRUPTION_TARGET and c.get("status") == "True"
               and c.get("reason") == PREEMPTION_BY_SCHEDULER
               for c in (pod.get("status") or {}).get("conditions") or ())


def eligible(pi: PodInfo, by_name: dict[str, NodeInfo], nominated_unresolvable: bool) -> str:
    """PodEligibleToPreemptOthers: "" when the pod may preempt, else kube-scheduler's reason."""
    if pi.spec.get("preemptionPolicy") == "Never":
        return NOT_ELIGIBLE_NEVER
    nominated = (pi.pod.get("status") or {}).get("nominatedNodeName")
    if nominated and not nominated_unresolvable:
        ni = by_name.get(nominated)
        if ni is not None and any(p.priority < pi.priority and terminating_by_preemption(p.pod)
                                  for p in ni.pods.values()):
            return NOT_ELIGIBLE_TERMINATING
    return ""


def split_by_pdb_violation(pods: list[PodInfo], pdbs: list[dict]) -> tuple[list[PodInfo], list[PodInfo]]:
    """filterPodsWithPDBViolation: (violating, non-violating), in order. Each budget's disruptionsAllowed is
    spent pod by pod; a pod already in its disruptedPods was counted by the API server and spends nothing.
    A budget with an empty selector matches nothing here, as in kube-scheduler."""
    allowed = [int((b.get("status") or {}).get("disruptionsAllowed") or 0) for b in pdbs]
    violating: list[PodInfo] = []
    fine: list[PodInfo] = []
    for p in pods:
        labels = (p.pod.get("metadata") or {}).get("labels") or {}
        violated = False
        if labels:
            for i, b in enumerate(pdbs):
                if (b.get("metadata") or {}).get("namespace") != p.namespace:
                    continue
                sel = (b.get("spec") or {}).get("selector")
                if not sel or not (sel.get("matchLabels") or sel.get("matchExpressions")):
                    continue
                if not poddisruptionbudget.selects(b, p.pod):
                    continue
                if p.name in ((b.get("status") or {}).get("disruptedPods") or {}):
                    continue
                allowed[i] -= 1
                if allowed[i] < 0:
                    violated = True
        (violating if violated else fine).append(p)
    return violating, fine


def num_candidates(n: int) -> int:
    """calculateNumCandidates: 10 % of the nodes, at least 100, at most all of them."""
    k = n * MIN_CANDIDATE_NODES_PERCENTAGE // 100
    return min(max(k, MIN_CANDIDATE_NODES_ABSOLUTE), n)


Fits = Callable[[PodInfo, NodeInfo], object]  # a Status-like verdict with .ok


class DryRun:
    """SelectVictimsOnNode over a scheduler snapshot, undone after each node."""

    def __init__(self, pi: PodInfo, fits: Fits, refresh: Callable[[], object] | None) -> None:
        self.pi = pi
        self.fits = fits  # the filter chain (with nominated pods) on one node
        self.refresh = refresh  # run the cross-node plugins' PreFilter again (None: none of them is active)
        self.cluster: Cluster | None = pi.state.get(CLUSTER)

    def _remove(self, trial: NodeInfo, p: PodInfo) -> None:
        trial.remove_pod(p.key)
        if self.refresh is not None and self.cluster is not None:
            self.cluster.index.remove(p, trial.name)

    def _add(self, trial: NodeInfo, p: PodInfo) -> None:
        trial.add_pod(p)
        if self.refresh is not None and self.cluster is not None:
            self.cluster.index.add(p, trial.name)

    def _check(self, trial: NodeInfo) -> object:
        if self.refresh is not None:
            verdict = self.refresh()
            if verdict is not None:
                return verdict
        return self.fits(self.pi, trial)

    def victims_on(self, ni: NodeInfo) -> tuple[list[PodInfo] | None, object | None]:
        """(victims, None) when evicting them makes room on `ni`; (None, status) when nothing can."""
        victims, status, _ = self.victims_and_violations(ni)
        return victims, status

    def victims_and_violations(self, ni: NodeInfo) -> tuple[list[PodInfo] | None, object | None, int]:
        """victims_on, with how many victims violate their PodDisruptionBudget."""
        if not ni.priorities or min(ni.priorities) >= self.pi.priority:
            return None, None, 0  # no lower-priority pod here (the node's priority counts say so in O(1))
        lower = [p for p in ni.pods.values() if p.priority < self.pi.priority]
        if not lower:
            return None, None, 0  # the caller records NO_VICTIMS
        trial = ni.clone()
        removed: list[PodInfo] = []
        saved_state = self.pi.state
        try:
            for p in lower:
                self._remove(trial, p)
                removed.append(p)
            verdict = self._check(trial)
            if not getattr(verdict, "ok", False):
                return None, verdict, 0
            pdbs = self.cluster.pdbs if self.cluster is not None else []
            violating, fine = split_by_pdb_violation(more_important_first(lower), pdbs)
            victims: list[PodInfo] = []
            violations = 0
            # reprieve the most important first: those a budget protects, then the others
            for group, counts in ((violating, True), (fine, False)):
                for p in group:
                    self._add(trial, p)
                    removed.remove(p)
                    if not getattr(self._check(trial), "ok", False):
                        self._remove(trial, p)
                        removed.append(p)
                        victims.append(p)
                        violations += counts
            if violating and fine:
                victims = more_important_first(victims)  # victims[0] is the most important (pick_one_node)
            return victims, None, violations
        finally:
            if self.refresh is not None and self.cluster is not None:
                for p in removed:
                    self.cluster.index.add(p, ni.name)
            self.pi.state = saved_state


def pick_one_node(candidates: Sequence[Candidate]) -> Candidate:
    """pickOneNodeForPreemption: each criterion keeps the best-scoring nodes until one is left."""
    def highest(c: Candidate) -> int:
        return -c.victims[0].priority

    def priority_sum(c: Candidate) -> int:
        return -sum(v.priority + MAX_INT32 + 1 for v in c.victims)

    def fewest(c: Candidate) -> int:
        return -len(c.victims)

    def latest_start(c: Candidate) -> float:
        top = c.victims[0].priority
        starts = [start_time(v) for v in c.victims if v.priority == top]
        return min(starts) if starts else float("-inf")

    def fewest_violations(c: Candidate) -> int:
        return -c.violations

    left = list(candidates)
    for score in (fewest_violations, highest, priority_sum, fewest, latest_start):
        if len(left) == 1:
            break
        scores = [score(c) for c in left]
        best = max(scores)
        left = [c for c, s in zip(left, scores, strict=True) if s == best]
    return left[0]


def find_candidates(pi: PodInfo, potential: Sequence[NodeInfo], dry: DryRun, rng: random.Random,
                    statuses: dict[str, object]) -> list[Candidate]:
    """DryRunPreemption: num_candidates(len(potential)) candidates from a random offset, more until one violates
    no PodDisruptionBudget (those first); the nodes where evicting cannot help get their status in `statuses`
    (for the message)."""
    n = len(potential)
    want = num_candidates(n)
    offset = rng.randrange(n) if n else 0
    found: list[Candidate] = []
    for i in range(n):
        ni = potential[(offset + i) % n]
        victims, status, violations = dry.victims_and_violations(ni)
        if victims is None:
            statuses[ni.name] = status
            continue
        if not victims:  # fits without evicting anything: the filters disagree with the cycle's verdict
            statuses[ni.name] = None
            continue
        found.append(Candidate(ni.name, victims, violations))
        if len(found) >= want and any(c.violations == 0 for c in found):
            break  # DryRunPreemption: enough candidates, one of them violating no budget
    return [c for c in found if c.violations == 0] + [c for c in found if c.violations]
