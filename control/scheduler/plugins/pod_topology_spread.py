"""PodTopologySpread: spread a workload's pods evenly over topology domains (nodes, zones, ...).

A constraint counts the pods its labelSelector matches (in the pod's namespace) in each domain of its
topologyKey, over the nodes the pod could go to. `whenUnsatisfiable: DoNotSchedule` filters: a node is
rejected when placing the pod there would make its domain exceed the least-loaded domain by more than
maxSkew. `ScheduleAnyway` scores: the fewer matching pods in a node's domains, the higher its score.
A pod without constraints gets the system defaults (kubernetes.io/hostname maxSkew 3 and
topology.kubernetes.io/zone maxSkew 5, both ScheduleAnyway) over the pods of its Services and
ReplicaSet, which is why a Deployment's replicas spread over the nodes.
(kubernetes pkg/scheduler/framework/plugins/podtopologyspread.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from control.api.labels import IN, Requirement, Selector, from_label_selector
from control.errors import ApiError
from control.scheduler.framework import MAX_NODE_SCORE, SKIP, SUCCESS, Status, unresolvable, unschedulable
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.helper import memoized, pre_filtered
from control.scheduler.plugins.node_affinity import compile_required
from control.scheduler.plugins.taint_toleration import find_untolerated
from control.scheduler.podindex import cluster_of

NAME = "PodTopologySpread"
ERR_CONSTRAINTS = "node(s) didn't match pod topology spread constraints"
ERR_LABEL = ERR_CONSTRAINTS + " (missing required label)"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
SYSTEM_DEFAULT_CONSTRAINTS = (
    {"maxSkew": 3, "topologyKey": HOSTNAME, "whenUnsatisfiable": "ScheduleAnyway"},
    {"maxSkew": 5, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway"},
)
_FAIL_LABEL = unresolvable(ERR_LABEL).with_plugin(NAME)
_FAIL_SKEW = unschedulable(ERR_CONSTRAINTS).with_plugin(NAME)
_PRE_FILTER = NAME + "/preFilter"
_PRE_SCORE = NAME + "/preScore"
_CONSTRAINTS = NAME + "/constraints"
MAX_EXPLAINED = 12  # domains named in an explanation


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    key: str
    hard: bool  # whenUnsatisfiable: DoNotSchedule
    selector: Selector
    min_domains: int  # 1 when not set
    honor_affinity: bool  # nodeAffinityPolicy: Honor (the default)
    honor_taints: bool  # nodeTaintsPolicy: Honor (the default is Ignore)


def _constraint(c: dict, pod: PodInfo, selector: Selector | None = None) -> Constraint | None:
    if selector is None:
        try:
            selector = from_label_selector(c.get("labelSelector"))
        except ApiError:
            return None  # the API server validates selectors; a bad one here matches nothing
        labels = pod.labels
        extra = [Requirement(k, IN, (labels[k],)) for k in c.get("matchLabelKeys") or () if k in labels]
        if extra and not selector.nothing:
            selector = Selector(tuple(sorted((*selector.requirements, *extra), key=lambda r: r.key)))
    skew = c.get("maxSkew")
    return Constraint(
        max_skew=skew if isinstance(skew, int) and skew > 0 else 1,
        key=str(c.get("topologyKey") or ""),
        hard=c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule",
        selector=selector,
        min_domains=c.get("minDomains") if isinstance(c.get("minDomains"), int) and c["minDomains"] > 0 else 1,
        honor_affinity=(c.get("nodeAffinityPolicy") or "Honor") == "Honor",
        honor_taints=(c.get("nodeTaintsPolicy") or "Ignore") == "Honor",
    )


def _validate_args(args: dict[str, Any]) -> tuple[list[dict], bool]:
    """PodTopologySpreadArgs: (defaultConstraints, whether they are the system defaults)."""
    for k in args:
        if k not in ("defaultConstraints", "defaultingType"):
            raise ValueError(f'{k}: strict decoding error: unknown field "{k}"')
    kind = args.get("defaultingType", "System")
    if kind not in ("System", "List"):
        raise ValueError(f'defaultingType: Unsupported value: "{kind}": supported values: "List", "System"')
    given = args.get("defaultConstraints") or []
    if not isinstance(given, list):
        raise ValueError("defaultConstraints: Invalid value: expected a list of topology spread constraints")
    if kind == "System":
        if given:
            raise ValueError("defaultingType: Invalid value: \"System\": when .defaultConstraints are not empty")
        return list(SYSTEM_DEFAULT_CONSTRAINTS), True
    seen: set[tuple[str, str]] = set()
    for i, c in enumerate(given):
        path = f"defaultConstraints[{i}]"
        if not isinstance(c, dict):
            raise ValueError(f"{path}: Invalid value: expected a topology spread constraint")
        skew = c.get("maxSkew")
        if not isinstance(skew, int) or isinstance(skew, bool) or skew <= 0:
            raise ValueError(f"{path}.maxSkew: Invalid value: {skew!r}: must be greater than zero")
        if not c.get("topologyKey"):
            raise ValueError(f"{path}.topologyKey: Required value: can not be empty")
        when = c.get("whenUnsatisfiable")
        if when not in ("DoNotSchedule", "ScheduleAnyway"):
            raise ValueError(f'{path}.whenUnsatisfiable: Unsupported value: "{when}": supported values: '
                             '"DoNotSchedule", "ScheduleAnyway"')
        if (c["topologyKey"], when) in seen:
            raise ValueError(f'{path}: Duplicate value: "{{{c["topologyKey"]}, {when}}}"')
        seen.add((c["topologyKey"], when))
        if "labelSelector" in c:
            raise ValueError(f"{path}.labelSelector: Forbidden: constraint must not define a selector, as they "
                             "deduced for each pod")
    return given, False


def _node_included(c: Constraint, pod: PodInfo, ni: NodeInfo, affinity: Callable | None) -> bool:
    """matchNodeInclusionPolicies: whether a node's pods count for the constraint."""
    if c.honor_affinity and affinity is not None and not affinity(ni.labels, ni.name):
        return False
    return not (c.honor_taints and ni.hard_taints
                and find_untolerated(ni.hard_taints, pod.spec.get("tolerations") or []) is not None)


class PodTopologySpread:
    name = NAME

    def __init__(self, args: dict[str, Any] | None = None) -> None:
        self.default_constraints, self.system_defaulted = _validate_args(args or {})

    def constraints(self, pod: PodInfo) -> tuple[list[Constraint], bool]:
        """The pod's constraints, and whether they are its own (not defaults)."""
        got = pod.state.get(_CONSTRAINTS)
        if got is not None:
            return got
        own = pod.spec.get("topologySpreadConstraints") or []
        if own:
            cons = [c for c in (_constraint(x, pod) for x in own if isinstance(x, dict)) if c is not None and c.key]
            got = (cons, True)
        else:
            owner = cluster_of(pod).owner_selector
            selector = owner(pod.pod) if owner is not None and self.default_constraints else None
            if selector is None or selector.empty or selector.nothing:
                got = ([], False)
            else:
                got = ([c for c in (_constraint(x, pod, selector) for x in self.default_constraints) if c], False)
        pod.state[_CONSTRAINTS] = got
        return got

    # -- filter: DoNotSchedule ----------------------------------------------------------------------

    def pre_filter(self, pod: PodInfo) -> Status | None:
        hard = [c for c in self.constraints(pod)[0] if c.hard]
        if not hard:
            return SKIP
        cluster = cluster_of(pod)
        counts = [cluster.index.count_by_node(frozenset((pod.namespace,)), c.selector) for c in hard]
        affinity = compile_required(pod)
        keys = [c.key for c in hard]
        domains: list[dict[str, int]] = [{} for _ in hard]
        for ni in cluster.nodes:
            labels = ni.labels
            if not all(k in labels for k in keys):
                continue
            for i, c in enumerate(hard):
                if not _node_included(c, pod, ni, affinity):
                    continue
                v = labels[c.key]
                domains[i][v] = domains[i].get(v, 0) + counts[i].get(ni.name, 0)
        minimum = []
        for i, c in enumerate(hard):
            if len(domains[i]) < c.min_domains:
                minimum.append(0)  # fewer domains than minDomains: the global minimum is taken as 0
            else:
                minimum.append(min(domains[i].values()) if domains[i] else 2**31 - 1)
        self_match = [1 if c.selector.matches(pod.labels) else 0 for c in hard]
        pod.state[_PRE_FILTER] = (hard, domains, minimum, self_match)
        return None

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        state = pre_filtered(self, pod, _PRE_FILTER)
        if state is None:
            return SUCCESS
        hard, domains, minimum, self_match = state
        labels = node.labels
        for i, c in enumerate(hard):
            v = labels.get(c.key)
            if v is None:
                return _FAIL_LABEL
            if domains[i].get(v, 0) + self_match[i] - minimum[i] > c.max_skew:
                return _FAIL_SKEW
        return SUCCESS

    def explain(self, pod: PodInfo) -> str | None:
        """What the DoNotSchedule constraints counted: each domain's matching pods, the minimum, the skew allowed."""
        state = pod.state.get(_PRE_FILTER)
        if state is None:
            return None
        hard, domains, minimum, self_match = state
        parts = []
        for i, c in enumerate(hard):
            counts = sorted(domains[i].items())
            shown = ", ".join(f"{v} {n}" for v, n in counts[:MAX_EXPLAINED])
            if len(counts) > MAX_EXPLAINED:
                shown += f", … ({len(counts)} domains)"
            floor = "0 (fewer domains than minDomains)" if minimum[i] == 0 and len(counts) < c.min_domains \
                else str(minimum[i])
            parts.append(f"{c.key} (maxSkew {c.max_skew}) counts pods with {c.selector or 'any labels'}: "
                         f"{shown or 'no eligible domain'}; minimum {floor}; this pod adds {self_match[i]} where it goes")
        return "; ".join(parts)

    # -- score: ScheduleAnyway ----------------------------------------------------------------------

    def pre_score(self, pod: PodInfo) -> bool:
        cons, own = self.constraints(pod)
        soft = [c for c in cons if not c.hard]
        if not soft:
            return False
        cluster = cluster_of(pod)
        filtered: list[NodeInfo] = cluster.feasible
        require_all = own or not self.system_defaulted
        if not require_all:
            # A default constraint on a label no node carries scores no node: leave it out (the zone one, on
            # a cluster without zones).
            soft = [c for c in soft if cluster.has_label(c.key)]
            if not soft:
                return False
        keys = [c.key for c in soft]
        ignored: set[str] = set()
        if require_all:
            ignored = {ni.name for ni in filtered if not all(k in ni.labels for k in keys)}
        counted = [ni for ni in filtered if ni.name not in ignored] if ignored else filtered
        pairs: dict[tuple[str, str], int] = {}
        sizes = [0] * len(soft)
        for i, c in enumerate(soft):
            if c.key != HOSTNAME:
                key = c.key
                values = {ni.labels.get(key, "") for ni in counted}
                sizes[i] = sum(1 for v in values if (key, v) not in pairs)  # a key twice shares its pairs
                # Nodes without the label (system defaults only) share the domain "": it counts toward the
                # weight, but no node is scored by it (Score reads a pair only for a node with the label).
                pairs.update(((key, v), 0) for v in values if v)
        weights = [math.log((len(filtered) - len(ignored) if c.key == HOSTNAME else sizes[i]) + 2)
                   for i, c in enumerate(soft)]
        counts = [cluster.index.count_by_node(frozenset((pod.namespace,)), c.selector) for c in soft]
        affinity = compile_required(pod)
        by_name = cluster.by_name
        for i, c in enumerate(soft):
            key = c.key
            if key == HOSTNAME or not any(k == key for k, _ in pairs):
                continue
            # Every node hosting a matching pod adds to its domain (the common case without inclusion
            # policies or required keys is the plain loop).
            plain = not require_all and not c.honor_taints and (affinity is None or not c.honor_affinity)
            if plain:
                index = cluster.index
                for gk in index.matching(frozenset((pod.namespace,)), c.selector):
                    for v, n in index.domain_counts(gk, key).items():
                        if (key, v) in pairs:
                            pairs[(key, v)] += n
                continue
            for node_name, n in counts[i].items():
                ni = by_name.get(node_name)
                if ni is None or ni.node is None:
                    continue
                v = ni.labels.get(key)
                if not v or (key, v) not in pairs:
                    continue
                if not plain and ((require_all and not all(k in ni.labels for k in keys))
                                  or not _node_included(c, pod, ni, affinity)):
                    continue
                pairs[(key, v)] += n
        pod.state[_PRE_SCORE] = (soft, ignored, pairs, weights, counts)
        return True

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """The node's matching pods, per constraint weighted by log(domains + 2), plus maxSkew - 1; -1 for a
        node without the constraints' labels (normalized to 0). Fewer is better."""
        soft, ignored, pairs, weights, counts = pod.state[_PRE_SCORE]
        if node.name in ignored:
            return -1
        total = 0.0
        labels = node.labels
        for i, c in enumerate(soft):
            v = labels.get(c.key)
            if v is None:
                continue
            n = counts[i].get(node.name, 0) if c.key == HOSTNAME else pairs.get((c.key, v), 0)
            total += n * weights[i] + (c.max_skew - 1)
        return _round(total)

    def score_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        soft, ignored, pairs, weights, counts = pod.state[_PRE_SCORE]
        if len(soft) == 1 and soft[0].key == HOSTNAME and not ignored:
            # Spread over nodes alone (the system defaults on a cluster without zones): a node's score changes
            # only when a pod lands on it or leaves it, which is when its memo is dropped.
            c, w = soft[0], weights[0]
            get, extra = counts[0].get, c.max_skew - 1
            return memoized(nodes, (NAME, pod.namespace, c.selector, w, extra), lambda some: [
                int(get(ni.name, 0) * w + extra + 0.5) if HOSTNAME in ni.labels else 0 for ni in some], lane=2)
        totals: list[float] | None = None
        for i, c in enumerate(soft):
            w, extra, key = weights[i], c.max_skew - 1, c.key
            if key == HOSTNAME:
                get = counts[i].get
                add = [get(ni.name, 0) * w + extra if key in ni.labels else 0.0 for ni in nodes]
            elif not any(k == key for k, _ in pairs):
                continue  # no scored node has this label: the constraint adds nothing
            else:
                add = [pairs.get((key, ni.labels[key]), 0) * w + extra if key in ni.labels else 0.0 for ni in nodes]
            totals = add if totals is None else [a + b for a, b in zip(totals, add, strict=True)]
        # Scores are never negative here, so Go's math.Round is int(t + 0.5).
        out = [int(t + 0.5) for t in totals] if totals is not None else [0] * len(nodes)
        if ignored:
            out = [-1 if ni.name in ignored else v for ni, v in zip(nodes, out, strict=True)]
        return out

    def normalize(self, scores: list[int]) -> list[int]:
        """Inverted: the fewest matching pods get 100. Nodes marked -1 (ignored) get 0."""
        lo = min(scores, default=0)
        if lo >= 0:  # no node ignored: the common case, without the checks
            hi = max(scores)
            if hi == 0:
                return [MAX_NODE_SCORE] * len(scores)
            top = hi + lo
            return [MAX_NODE_SCORE * (top - s) // hi for s in scores]
        valid = [s for s in scores if s >= 0]
        if not valid:
            return [0] * len(scores)
        lo, hi = min(valid), max(valid)
        if hi == 0:
            return [0 if s < 0 else MAX_NODE_SCORE for s in scores]
        return [0 if s < 0 else MAX_NODE_SCORE * (hi + lo - s) // hi for s in scores]


def _round(x: float) -> int:
    """Go's math.Round: half away from zero (Python's round() rounds half to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))
