"""NodeAffinity: spec.nodeSelector and required node affinity filter; preferred affinity scores."""

from __future__ import annotations

from collections.abc import Callable

from control.scheduler.framework import MAX_NODE_SCORE, SKIP, SUCCESS, Status, unresolvable
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.helper import default_normalize_score, memoized

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_CONFLICT = "pod affinity terms conflict"
OBJECT_NAME_FIELD = "metadata.name"
_FAIL = unresolvable(ERR_REASON_POD).with_plugin(NAME)

Matcher = Callable[[dict[str, str], str], bool]  # (node labels, node name) -> matches


def _never(labels: dict[str, str], name: str) -> bool:
    return False


def _int(value: object) -> int | None:
    try:
        return int(str(value), 10)
    except ValueError:
        return None


def _expression(req: dict) -> Callable[[dict[str, str]], bool] | None:
    """One matchExpressions entry, or None when it is invalid (which voids its whole term)."""
    key = req.get("key") or ""
    op = req.get("operator")
    values = list(req.get("values") or ())
    if not key:
        return None
    if op == "In":
        if not values:
            return None
        vs = frozenset(values)
        return lambda labels: key in labels and labels[key] in vs
    if op == "NotIn":
        if not values:
            return None
        vs = frozenset(values)
        # A missing label satisfies NotIn, as with label selectors.
        return lambda labels: labels.get(key) not in vs
    if op == "Exists":
        return None if values else (lambda labels: key in labels)
    if op == "DoesNotExist":
        return None if values else (lambda labels: key not in labels)
    if op in ("Gt", "Lt"):
        bound = _int(values[0]) if len(values) == 1 else None
        if bound is None:
            return None
        gt = op == "Gt"

        def compare(labels: dict[str, str]) -> bool:
            v = _int(labels[key]) if key in labels else None
            return v is not None and (v > bound if gt else v < bound)
        return compare
    return None


def _field(req: dict) -> Callable[[str], bool] | None:
    """One matchFields entry: only metadata.name with In/NotIn and exactly one value is valid."""
    values = list(req.get("values") or ())
    if req.get("key") != OBJECT_NAME_FIELD or len(values) != 1:
        return None
    value = values[0]
    if req.get("operator") == "In":
        return lambda name: name == value
    if req.get("operator") == "NotIn":
        return lambda name: name != value
    return None


def compile_term(term: dict) -> Matcher:
    """A nodeSelectorTerm: all its requirements must hold; an empty or invalid term matches nothing."""
    exprs = [_expression(r) for r in term.get("matchExpressions") or ()]
    fields = [_field(r) for r in term.get("matchFields") or ()]
    if (not exprs and not fields) or any(e is None for e in exprs) or any(f is None for f in fields):
        return _never
    checks_l = [e for e in exprs if e is not None]
    checks_f = [f for f in fields if f is not None]

    def match(labels: dict[str, str], name: str) -> bool:
        return all(c(labels) for c in checks_l) and all(c(name) for c in checks_f)
    return match


def compile_required(pod: PodInfo) -> Matcher | None:
    """nodeSelector AND (any required term), or None when the pod constrains nothing."""
    spec = pod.spec
    selector = spec.get("nodeSelector")
    na = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if selector is None and required is None:
        return None
    sel_items = tuple((selector or {}).items())
    terms = [compile_term(t) for t in (required or {}).get("nodeSelectorTerms") or ()] if required is not None else None

    def match(labels: dict[str, str], name: str) -> bool:
        for k, v in sel_items:
            if labels.get(k) != v:
                return False
        if terms is None:
            return True
        return any(t(labels, name) for t in terms)
    return match


def required_node_names(pod: PodInfo) -> frozenset[str] | None:
    """Node names the required terms pin the pod to via matchFields metadata.name In (PreFilterResult)."""
    na = (pod.spec.get("affinity") or {}).get("nodeAffinity") or {}
    terms = (na.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or ()
    if not terms:
        return None
    names: set[str] = set()
    for t in terms:
        term_names: set[str] | None = None
        for r in t.get("matchFields") or ():
            if r.get("key") == OBJECT_NAME_FIELD and r.get("operator") == "In":
                s = set(r.get("values") or ())
                term_names = s if term_names is None else term_names & s
        if term_names is None:
            return None  # this term can match any node, and terms are ORed
        names |= term_names
    return frozenset(names)


def _shape(pod: PodInfo, which: str) -> str:
    """A hashable fingerprint of the pod's node constraints, shared by pods of one template."""
    key = f"{NAME}/{which}-shape"
    if key not in pod.state:
        spec = pod.spec
        na = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        if which == "required":
            pod.state[key] = repr((spec.get("nodeSelector"), na.get("requiredDuringSchedulingIgnoredDuringExecution")))
        else:
            pod.state[key] = repr(na.get("preferredDuringSchedulingIgnoredDuringExecution"))
    return pod.state[key]


class NodeAffinity:
    name = NAME

    def pre_filter(self, pod: PodInfo) -> Status | frozenset[str] | None:
        matcher = compile_required(pod)
        if matcher is None:
            return SKIP
        pod.state[NAME] = matcher
        names = required_node_names(pod)
        if names is not None and not names:
            return unresolvable(ERR_REASON_CONFLICT)
        return names

    def _matcher(self, pod: PodInfo) -> Matcher | None:
        if NAME not in pod.state:
            pod.state[NAME] = compile_required(pod)
        return pod.state[NAME]

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        matcher = self._matcher(pod)
        if matcher is None or matcher(node.labels, node.name):
            return SUCCESS
        return _FAIL

    def filter_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> tuple[list[NodeInfo], list[tuple[NodeInfo, Status]]]:
        matcher = self._matcher(pod)
        if matcher is None:
            return nodes, []
        # Replicas share one selector: remember each node's verdict until the node changes.
        key = (NAME, _shape(pod, "required"))
        fits = memoized(nodes, key, lambda some: [1 if matcher(ni.labels, ni.name) else 0 for ni in some])
        if all(fits):
            return nodes, []
        return ([ni for ni, f in zip(nodes, fits, strict=True) if f],
                [(ni, _FAIL) for ni, f in zip(nodes, fits, strict=True) if not f])

    def _preferred(self, pod: PodInfo) -> list[tuple[int, Matcher]]:
        key = NAME + "/preferred"
        if key not in pod.state:
            na = (pod.spec.get("affinity") or {}).get("nodeAffinity") or {}
            pod.state[key] = [(int(t.get("weight") or 0), compile_term(t.get("preference") or {}))
                              for t in na.get("preferredDuringSchedulingIgnoredDuringExecution") or ()
                              if t.get("weight")]
        return pod.state[key]

    def pre_score(self, pod: PodInfo) -> bool:
        return bool(self._preferred(pod))

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """The sum of the weights of the preferred terms the node matches."""
        return sum(w for w, m in self._preferred(pod) if m(node.labels, node.name))

    def score_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        score = self.score
        return memoized(nodes, (NAME, _shape(pod, "preferred")), lambda some: [score(pod, ni) for ni in some])

    def normalize(self, scores: list[int]) -> list[int]:
        return default_normalize_score(scores, MAX_NODE_SCORE, reverse=False)
