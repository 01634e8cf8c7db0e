"""InterPodAffinity: place a pod near (affinity) or away from (anti-affinity) pods with given labels.

A term names pods by a labelSelector (and namespaces) and a topologyKey: "in the same domain" means on a
node whose label topologyKey has the same value (kubernetes.io/hostname: the same node;
topology.kubernetes.io/zone: the same zone). Required terms filter, in this order: the pod's affinity
(some matching pod must be in the node's domain), the pod's anti-affinity (none may be), and the
anti-affinity of pods already running (the pod may not join a domain whose pods reject it). Preferred
terms score, as do running pods' terms that match the new pod.
(kubernetes pkg/scheduler/framework/plugins/interpodaffinity.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from control.api.labels import IN, NOT_IN, Requirement, Selector, from_label_selector
from control.errors import ApiError
from control.scheduler.framework import MAX_NODE_SCORE, SKIP, SUCCESS, Status, unresolvable, unschedulable
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.helper import pre_filtered
from control.scheduler.podindex import Cluster, cluster_of

NAME = "InterPodAffinity"
ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
_FAIL_AFFINITY = unresolvable(ERR_AFFINITY).with_plugin(NAME)
_FAIL_ANTI = unschedulable(ERR_ANTI_AFFINITY).with_plugin(NAME)
_FAIL_EXISTING = unschedulable(ERR_EXISTING_ANTI_AFFINITY).with_plugin(NAME)
_PRE_FILTER = NAME + "/preFilter"
_PRE_SCORE = NAME + "/preScore"
_NOTHING = Selector(nothing=True)


@dataclass(frozen=True, slots=True)
class Term:
    """framework.AffinityTerm: which pods (selector, namespaces) and the topology key; `weight` for preferred."""

    selector: Selector
    namespaces: frozenset[str]
    ns_selector: Selector | None  # None: only `namespaces`
    key: str
    weight: int = 0

    def matches(self, namespace: str, labels: dict[str, str], cluster: Cluster) -> bool:
        if namespace not in self.namespaces and (
                self.ns_selector is None or not self.ns_selector.matches(cluster.ns_labels(namespace))):
            return False
        return self.selector.matches(labels)

    def count_by_node(self, cluster: Cluster) -> Counter[str]:
        """Matching pods per node; terminating ones too (kube-scheduler's InterPodAffinity counts every pod)."""
        return cluster.index.count_by_node(self.namespaces, self.selector, self.ns_selector, cluster.ns_labels,
                                           terminating=True)


def _term(t: Any, namespace: str, labels: dict[str, str], weight: int = 0) -> Term | None:
    if not isinstance(t, dict) or not t.get("topologyKey"):
        return None
    try:
        selector = from_label_selector(t.get("labelSelector"))
        # matchLabelKeys / mismatchLabelKeys: "pods with (without) my value of this label", merged into the
        # selector as kube-apiserver merges them (the pod's own value of each key it has).
        extra = [Requirement(str(k), IN, (labels[k],)) for k in t.get("matchLabelKeys") or () if k in labels]
        extra += [Requirement(str(k), NOT_IN, (labels[k],)) for k in t.get("mismatchLabelKeys") or () if k in labels]
        if extra and not selector.nothing:
            selector = Selector(tuple(sorted((*selector.requirements, *extra), key=lambda r: r.key)))
        ns_sel = t.get("namespaceSelector")
        ns_selector = from_label_selector(ns_sel) if ns_sel is not None else None
    except ApiError:
        return None  # the API server validates selectors
    namespaces = frozenset(str(n) for n in t.get("namespaces") or ())
    if not namespaces and ns_sel is None:
        namespaces = frozenset((namespace,))  # neither given: the pod's own namespace
    if ns_selector is not None and ns_selector.nothing:
        ns_selector = None
    return Term(selector, namespaces, ns_selector, str(t["topologyKey"]), weight)


@dataclass(frozen=True, slots=True)
class Terms:
    required_affinity: tuple[Term, ...] = ()
    required_anti: tuple[Term, ...] = ()
    preferred_affinity: tuple[Term, ...] = ()
    preferred_anti: tuple[Term, ...] = ()


_NO_TERMS = Terms()


def terms_of(pi: PodInfo) -> Terms:
    """The pod's pod (anti-)affinity terms, parsed once per version of the pod."""
    if not pi.pod_affinity:
        return _NO_TERMS
    if pi.affinity_terms is not None:
        return pi.affinity_terms
    aff = pi.spec.get("affinity") or {}
    out: dict[str, list[Term]] = {"ra": [], "rn": [], "pa": [], "pn": []}
    for kind, req, pref in (("podAffinity", "ra", "pa"), ("podAntiAffinity", "rn", "pn")):
        block = aff.get(kind) or {}
        for t in block.get("requiredDuringSchedulingIgnoredDuringExecution") or ():
            if (term := _term(t, pi.namespace, pi.labels)) is not None:
                out[req].append(term)
        for w in block.get("preferredDuringSchedulingIgnoredDuringExecution") or ():
            if not isinstance(w, dict) or not isinstance(w.get("weight"), int) or not w["weight"]:
                continue
            if (term := _term(w.get("podAffinityTerm"), pi.namespace, pi.labels, w["weight"])) is not None:
                out[pref].append(term)
    terms = Terms(tuple(out["ra"]), tuple(out["rn"]), tuple(out["pa"]), tuple(out["pn"]))
    pi.affinity_terms = terms
    return terms


def _validate_args(args: dict[str, Any]) -> tuple[int, bool]:
    for k in args:
        if k not in ("hardPodAffinityWeight", "ignorePreferredTermsOfExistingPods"):
            raise ValueError(f'{k}: strict decoding error: unknown field "{k}"')
    weight = args.get("hardPodAffinityWeight", 1)
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
        raise ValueError(f"hardPodAffinityWeight: Invalid value: {weight!r}: not in valid range [0, 100]")
    ignore = args.get("ignorePreferredTermsOfExistingPods", False)
    if not isinstance(ignore, bool):
        raise ValueError(f"ignorePreferredTermsOfExistingPods: Invalid value: {ignore!r}: must be true or false")
    return weight, ignore


class InterPodAffinity:
    name = NAME

    def __init__(self, args: dict[str, Any] | None = None) -> None:
        self.hard_weight, self.ignore_existing_preferred = _validate_args(args or {})

    # -- filter ----------------------------------------------------------------------------------

    def pre_filter(self, pod: PodInfo) -> Status | None:
        cluster = cluster_of(pod)
        terms = terms_of(pod)
        index = cluster.index
        if not terms.required_affinity and not terms.required_anti and not index.with_affinity:
            return SKIP
        by_name = cluster.by_name
        labels = pod.labels
        # Running pods whose required anti-affinity rejects this pod: the domains it may not join.
        existing: Counter[tuple[str, str]] = Counter()
        for epi, node_name in index.with_affinity.values():
            for t in terms_of(epi).required_anti:
                if t.matches(pod.namespace, labels, cluster):
                    ni = by_name.get(node_name)
                    if ni is not None and ni.node is not None and t.key in ni.labels:
                        existing[(t.key, ni.labels[t.key])] += 1
        if not terms.required_affinity and not terms.required_anti and not existing:
            return SKIP
        affinity: Counter[tuple[str, str]] = Counter()
        if terms.required_affinity:
            # Pods that match every required affinity term, by node.
            groups = None
            for t in terms.required_affinity:
                keys = set(index.matching(t.namespaces, t.selector, t.ns_selector, cluster.ns_labels))
                groups = keys if groups is None else groups & keys
            nodes: Counter[str] = Counter()
            for gk in groups or ():
                nodes.update(index.groups.get(gk) or {})
                nodes.update(index.dying.get(gk) or {})
            for node_name, n in nodes.items():
                ni = by_name.get(node_name)
                if ni is None or ni.node is None:
                    continue
                for t in terms.required_affinity:
                    if t.key in ni.labels:
                        affinity[(t.key, ni.labels[t.key])] += n
        anti: Counter[tuple[str, str]] = Counter()
        for t in terms.required_anti:
            for node_name, n in t.count_by_node(cluster).items():
                ni = by_name.get(node_name)
                if ni is not None and ni.node is not None and t.key in ni.labels:
                    anti[(t.key, ni.labels[t.key])] += n
        self_match = bool(terms.required_affinity) and all(
            t.matches(pod.namespace, labels, cluster) for t in terms.required_affinity)
        pod.state[_PRE_FILTER] = (terms, existing, frozenset(k for k, _ in existing), affinity, anti, self_match)
        return None

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        state = pre_filtered(self, pod, _PRE_FILTER)
        if state is None:
            return SUCCESS
        terms, existing, existing_keys, affinity, anti, self_match = state
        labels = node.labels
        if terms.required_affinity:
            pods_exist = True
            for t in terms.required_affinity:
                v = labels.get(t.key)
                if v is None:
                    return _FAIL_AFFINITY  # every topology key must be on the node
                if affinity.get((t.key, v), 0) <= 0:
                    pods_exist = False
            # The first pod of a group with affinity to itself may go anywhere the keys are.
            if not pods_exist and not (not affinity and self_match):
                return _FAIL_AFFINITY
        if anti:
            for t in terms.required_anti:
                v = labels.get(t.key)
                if v is not None and anti.get((t.key, v), 0) > 0:
                    return _FAIL_ANTI
        if existing:
            for k in existing_keys:
                v = labels.get(k)
                if v is not None and existing.get((k, v), 0) > 0:
                    return _FAIL_EXISTING
        return SUCCESS

    def explain(self, pod: PodInfo) -> str | None:
        """Which domains hold pods the required terms match, and which reject this pod."""
        state = pod.state.get(_PRE_FILTER)
        if state is None:
            return None
        terms, existing, _, affinity, anti, _ = state

        def where(counts: Counter[tuple[str, str]], key: str) -> str:
            found = sorted((v, n) for (k, v), n in counts.items() if k == key and n > 0)
            return ", ".join(f"{key}={v} ({n})" for v, n in found[:12]) or "none"
        parts = [f"affinity to {t.selector or 'any labels'}, matching pods: {where(affinity, t.key)}"
                 for t in terms.required_affinity]
        parts += [f"anti-affinity to {t.selector or 'any labels'}, matching pods: {where(anti, t.key)}"
                  for t in terms.required_anti]
        if existing:
            keys = sorted({k for k, _ in existing})
            parts.append("running pods' anti-affinity rejects this pod in "
                         + ", ".join(where(existing, k) for k in keys))
        return "; ".join(parts) or None

    # -- score -----------------------------------------------------------------------------------

    def pre_score(self, pod: PodInfo) -> bool:
        cluster = cluster_of(pod)
        terms = terms_of(pod)
        has_preferred = bool(terms.preferred_affinity or terms.preferred_anti)
        if not has_preferred and (self.ignore_existing_preferred or not cluster.index.with_affinity):
            return False
        by_name = cluster.by_name
        topo: dict[str, Counter[str]] = {}

        def add(key: str, ni: Any, amount: int) -> None:
            v = ni.labels.get(key)
            if v is not None:
                topo.setdefault(key, Counter())[v] += amount

        # The pod's own preferred terms, against every running pod.
        for sign, group in ((1, terms.preferred_affinity), (-1, terms.preferred_anti)):
            for t in group:
                for node_name, n in t.count_by_node(cluster).items():
                    ni = by_name.get(node_name)
                    if ni is not None and ni.node is not None and ni.labels:
                        add(t.key, ni, sign * t.weight * n)
        # Running pods' terms, against this pod.
        labels = pod.labels
        for epi, node_name in cluster.index.with_affinity.values():
            ni = by_name.get(node_name)
            if ni is None or ni.node is None or not ni.labels:
                continue
            et = terms_of(epi)
            if self.hard_weight > 0:
                for t in et.required_affinity:
                    if t.matches(pod.namespace, labels, cluster):
                        add(t.key, ni, self.hard_weight)
            for sign, group in ((1, et.preferred_affinity), (-1, et.preferred_anti)):
                for t in group:
                    if t.matches(pod.namespace, labels, cluster):
                        add(t.key, ni, sign * t.weight)
        topo = {k: c for k, c in topo.items() if any(c.values())}
        if not topo:
            return False
        pod.state[_PRE_SCORE] = topo
        return True

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """The sum, over the topology keys scored, of what the node's domain earned (may be negative)."""
        topo = pod.state[_PRE_SCORE]
        labels = node.labels
        return sum(c.get(labels[k], 0) for k, c in topo.items() if k in labels)

    def normalize(self, scores: list[int]) -> list[int]:
        if not scores:
            return []
        lo, hi = min(scores), max(scores)
        diff = hi - lo
        if diff <= 0:
            return [0] * len(scores)
        return [int(MAX_NODE_SCORE * ((s - lo) / diff)) for s in scores]
