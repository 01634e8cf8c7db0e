"""Which nodes host how many pods matching a label selector: what PodTopologySpread and InterPodAffinity
count, for every node of the cluster, in every scheduling cycle.

kube-scheduler walks each NodeInfo's pod list with the selector. Here bound pods are kept grouped by
(namespace, labels): the replicas of one workload share their labels, so a selector is matched once per
distinct label set, not once per pod, and a cycle reads a node -> count map instead of walking pods.
Terminating pods are left out, as kube-scheduler's countPodsMatchSelector leaves them out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

GroupKey = tuple[str, frozenset]  # (namespace, frozenset of label items)


class PodIndex:
    """Bound pods grouped by (namespace, labels), each group a node -> count Counter: the live ones in
    `groups`, the terminating ones (deletionTimestamp set) in `dying` (PodTopologySpread leaves them out,
    InterPodAffinity counts them, as kube-scheduler does); and the pods that carry pod (anti-)affinity
    terms, which InterPodAffinity checks the incoming pod against."""

    MAX_MEMO = 4096  # selectors remembered (one per ReplicaSet revision, say), then forgotten at once

    def __init__(self, node_labels: Callable[[str], dict[str, str]] | None = None) -> None:
        self.groups: dict[GroupKey, Counter[str]] = {}
        self.dying: dict[GroupKey, Counter[str]] = {}
        # Per live group and topology key, the pods per domain (label value), kept as pods come and go once
        # asked for: a zone's count is then one lookup, not a walk over the nodes hosting the group.
        self.node_labels = node_labels or (lambda name: {})
        self._domains: dict[tuple[GroupKey, str], Counter[str]] = {}
        self._domain_keys: dict[GroupKey, set[str]] = {}
        self.with_affinity: dict[str, tuple[Any, str]] = {}  # pod key -> (PodInfo, node name)
        self._keys: list[GroupKey] = []  # every group key in the order it appeared (selectors scan it once)
        self._known: set[GroupKey] = set()  # the keys in _keys (a group that empties and comes back is listed once)
        self._matched: dict[tuple, tuple[int, list[GroupKey]]] = {}  # selector memo: (scanned, matching keys)

    @classmethod
    def of(cls, node_infos: Iterable[Any]) -> PodIndex:
        """An index of the pods on these nodes (a caller's own node list, without a Snapshot)."""
        node_infos = list(node_infos)
        labels = {ni.name: ni.labels for ni in node_infos if ni.node is not None}
        index = cls(lambda name: labels.get(name) or {})
        for ni in node_infos:
            for pi in ni.pods.values():
                index.add(pi, ni.name)
        return index

    def add(self, pi: Any, node: str) -> None:
        if pi.pod_affinity:
            self.with_affinity[pi.key] = (pi, node)
        gk = pi.labels_key
        table = self.dying if pi.terminating else self.groups
        group = table.get(gk)
        if group is None:
            group = table[gk] = Counter()
            if gk not in self._known:
                self._known.add(gk)
                self._keys.append(gk)
        group[node] += 1
        if not pi.terminating:
            for key in self._domain_keys.get(gk, ()):
                v = self.node_labels(node).get(key)
                if v:
                    self._domains[(gk, key)][v] += 1

    def remove(self, pi: Any, node: str) -> None:
        self.with_affinity.pop(pi.key, None)
        gk = pi.labels_key
        table = self.dying if pi.terminating else self.groups
        group = table.get(gk)
        if group is None:
            return
        group[node] -= 1
        if not pi.terminating:
            for key in self._domain_keys.get(gk, ()):
                v = self.node_labels(node).get(key)
                if v:
                    d = self._domains[(gk, key)]
                    d[v] -= 1
                    if d[v] <= 0:
                        del d[v]
        if group[node] <= 0:
            del group[node]
            if not group:
                del table[gk]
                if not pi.terminating:
                    for key in self._domain_keys.pop(gk, ()):
                        del self._domains[(gk, key)]
                if len(self._keys) > 2 * (len(self.groups) + len(self.dying)) + 64:  # label sets came and went
                    self._keys = list({**self.groups, **self.dying})
                    self._known = set(self._keys)
                    self._matched.clear()

    def domain_counts(self, gk: GroupKey, key: str) -> Counter[str]:
        """label value -> live pods of group `gk` on nodes with that value of label `key` (nodes without it:
        none). Kept up to date from here on while the group lives."""
        group = self.groups.get(gk)
        if group is None:
            return Counter()  # a group that is gone (an old revision a selector still matches): nothing to keep
        d = self._domains.get((gk, key))
        if d is None:
            d = Counter()
            for node, n in group.items():
                v = self.node_labels(node).get(key)
                if v:
                    d[v] += n
            self._domains[(gk, key)] = d
            self._domain_keys.setdefault(gk, set()).add(key)
        return d

    def nodes_changed(self) -> None:
        """A node's labels changed, or a node left: the domain counts are rebuilt when next asked for."""
        self._domains.clear()
        self._domain_keys.clear()

    def matching(self, namespaces: frozenset[str] | None, selector: Any,
                 ns_selector: Any = None, ns_labels: Any = None) -> list[GroupKey]:
        """The groups (live or dying) whose pods the selector matches, in `namespaces` (None: any namespace)
        or in a namespace whose labels `ns_selector` matches. Memoized per selector, new groups checked as
        they appear; not with a namespace selector, as namespace labels may change."""
        memo_key = (namespaces, selector)
        scanned, keys = (0, []) if ns_selector is not None else self._matched.get(memo_key, (0, []))
        if scanned < len(self._keys):
            keys = list(keys)
            for gk in self._keys[scanned:]:
                ns, labels = gk
                if namespaces is not None and ns not in namespaces and (
                        ns_selector is None or not ns_selector.matches(ns_labels(ns) if ns_labels else {})):
                    continue
                if selector.matches(dict(labels)):
                    keys.append(gk)
            if ns_selector is None:
                if len(self._matched) >= self.MAX_MEMO:
                    self._matched.clear()
                self._matched[memo_key] = (len(self._keys), keys)
        return keys

    def count_by_node(self, namespaces: frozenset[str] | None, selector: Any, ns_selector: Any = None,
                      ns_labels: Any = None, *, terminating: bool = False) -> Counter[str]:
        """node name -> how many pods the selector matches there (nodes without one are absent); with
        `terminating`, pods being deleted count too."""
        tables = (self.groups, self.dying) if terminating else (self.groups,)
        found = [g for k in self.matching(namespaces, selector, ns_selector, ns_labels) for t in tables
                 if (g := t.get(k))]
        if len(found) == 1:
            return found[0]
        out: Counter[str] = Counter()
        for g in found:
            out.update(g)
        return out


def default_namespace_labels(namespace: str) -> dict[str, str]:
    """The label every Namespace carries in Kubernetes (namespace selectors in affinity terms match it)."""
    return {"kubernetes.io/metadata.name": namespace}


CLUSTER = "cluster"  # the CycleState key of the cycle's Cluster


class Cluster:
    """What a plugin may read about the whole cluster during one cycle (kube-scheduler's SharedLister):
    every node (NodeInfo, in node-tree order), the pod index, namespace labels, and the label selector
    of what owns a pod (its Services and ReplicaSet: PodTopologySpread's system default constraints)."""

    __slots__ = ("nodes", "_index", "ns_labels", "owner_selector", "feasible", "_by_name", "_label_keys", "nominated",
                 "pdbs", "storage")

    def __init__(self, nodes: Any, index: PodIndex | None = None, *, ns_labels: Any = None,
                 owner_selector: Any = None, by_name: dict[str, Any] | None = None,
                 label_keys: Any = None, nominated: dict[str, dict[str, Any]] | None = None,
                 pdbs: list[dict] | None = None, storage: Any = None) -> None:
        self.nodes = nodes
        self._index = index
        self.ns_labels = ns_labels or default_namespace_labels
        self.owner_selector = owner_selector  # (pod dict) -> Selector, or None: nothing known owns pods
        self.feasible: list[Any] = []  # the nodes that passed the filters (set before PreScore)
        self._by_name = by_name  # node name -> NodeInfo (may also hold nodes not in `nodes`: check .node)
        self._label_keys = label_keys  # label key -> how many nodes carry it
        # node name -> {pod key: PodInfo}: pending pods nominated there by preemption (status.nominatedNodeName)
        self.nominated: dict[str, dict[str, Any]] = nominated or {}
        self.pdbs: list[dict] = pdbs or []  # the PodDisruptionBudgets, for preemption (victims that violate one)
        self.storage = storage  # claims, volumes and classes (VolumeBinding), or None: the plugin does nothing

    def has_label(self, key: str) -> bool:
        """Whether any node carries the label key."""
        if self._label_keys is None:
            self._label_keys = Counter(k for ni in self.nodes for k in ni.labels)
        return self._label_keys.get(key, 0) > 0

    @property
    def by_name(self) -> dict[str, Any]:
        if self._by_name is None:
            self._by_name = {ni.name: ni for ni in self.nodes}
        return self._by_name

    @property
    def index(self) -> PodIndex:
        if self._index is None:
            self._index = PodIndex.of(self.nodes)
        return self._index


def cluster_of(pod: Any) -> Cluster:
    """The cycle's Cluster (the framework puts it in the pod's CycleState before PreFilter)."""
    return pod.state[CLUSTER]
