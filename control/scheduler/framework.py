"""kube-scheduler's scheduling framework: filter plugins, score plugins, weights, one cycle per pod.

A plugin is any object with a `name` and some of these methods (all pure functions of the pod and
the node; per-cycle data goes in `pod.state`, kube-scheduler's CycleState):

    pre_filter(pod) -> Status | frozenset[str] | None   Skip / reject all / restrict to node names
    filter(pod, node_info) -> Status
    filter_nodes(pod, nodes) -> (passed, [(node_info, Status)])   optional batch form of filter
    pre_score(pod) -> bool                               False: the plugin does not score this pod
    score(pod, node_info) -> int
    score_nodes(pod, nodes) -> list[int]                 optional batch form of score
    normalize(scores: list[int]) -> list[int]            scores of all scored nodes, in order

The batch forms exist for speed (one comprehension over hundreds of nodes instead of a call per
node); they must agree with the per-node forms, which the tests check.
"""

from __future__ import annotations

import enum
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import add, mul
from time import perf_counter
from typing import Any

from control.scheduler import preemption
from control.scheduler.nodeinfo import NodeInfo, PodInfo, as_pod_info
from control.scheduler.podindex import CLUSTER, Cluster
from control.scheduler.preemption import Candidate

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5

# The score weights of kube-scheduler's default profile (apis/config/v1/default_plugins.go).
DEFAULT_WEIGHTS: dict[str, int] = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "PodTopologySpread": 2,
    "InterPodAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
    "ImageLocality": 1,
}

NO_NODES_MESSAGE = "no nodes available to schedule pods"
PREEMPTION_NOT_HELPFUL = preemption.PREEMPTION_NOT_HELPFUL
NO_VICTIMS = preemption.NO_VICTIMS


class Code(enum.Enum):
    SUCCESS = "Success"
    ERROR = "Error"
    UNSCHEDULABLE = "Unschedulable"
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
    SKIP = "Skip"


@dataclass(frozen=True, slots=True)
class Status:
    """A plugin's verdict; `reasons` are the exact strings kube-scheduler counts in its messages."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def ok(self) -> bool:
        return self.code is Code.SUCCESS

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    def with_plugin(self, plugin: str) -> Status:
        return Status(self.code, self.reasons, plugin)


SUCCESS = Status()
SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons)


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons)


class PluginError(Exception):
    """A plugin failed: it raised, or answered what the framework cannot use. Like a plugin's Error
    status in kube-scheduler, the cycle is aborted and the pod retried with back-off."""


def _status(name: str, v: Status, what: str) -> Status:
    """A plugin's own Status, checked: an Error aborts the cycle; reasons are strings in a tuple."""
    if not isinstance(v.code, Code):
        raise PluginError(f"{what}: it returned a Status whose code is {v.code!r}, not a framework Code")
    if v.code is Code.ERROR:
        raise PluginError(f"{what}: {v.message or 'error'}")
    reasons = v.reasons if isinstance(v.reasons, tuple) and all(isinstance(r, str) for r in v.reasons) \
        else tuple(str(r) for r in (v.reasons if isinstance(v.reasons, (list, tuple)) else [v.reasons]))
    if v.code is not Code.SUCCESS and v.code is not Code.SKIP and not reasons:
        reasons = (f"node(s) didn't satisfy plugin {name}",)
    return Status(v.code, reasons, v.plugin or name)


def _verdict(name: str, v: Any) -> Status:
    """An out-of-tree filter's answer as a Status: a Status; None or True (fits); False or a reason
    string (does not fit)."""
    what = f'running "{name}" filter plugin'
    if isinstance(v, Status):
        return SUCCESS if v.ok else _status(name, v, what)
    if v is None or v is True:
        return SUCCESS
    if v is False:
        return Status(Code.UNSCHEDULABLE, (f"node(s) didn't satisfy plugin {name}",), name)
    if isinstance(v, str):
        return Status(Code.UNSCHEDULABLE, (v,), name)
    raise PluginError(f"{what}: it returned {v!r}; return None (fits), a reason string (does not fit) or a Status")


def raised_at(e: BaseException, files: set[str]) -> str:
    """An exception as "Type: message (file.py, line N)", at the last line of `files` (a plugin's own code, not
    a library it called) that it went through, or the last line of all."""
    import traceback
    from pathlib import Path

    frames = traceback.extract_tb(e.__traceback__)
    own = [f for f in frames if f.filename in files] or frames
    at = f" ({Path(own[-1].filename).name}, line {own[-1].lineno})" if own else ""
    return f"{type(e).__name__}: {e}{at}"


def _score_value(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not MIN_NODE_SCORE <= v <= MAX_NODE_SCORE:
        raise PluginError(f'running Score plugins: plugin "{name}" returns an invalid score {v!r}, '
                          f"it should in the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing")
    return int(v)


class Guarded:
    """An out-of-tree plugin (registry.py) behind a guard: an exception or an unusable answer from it
    becomes a PluginError with kube-scheduler's wording, never a scheduler that stops."""

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin
        self.name: str = plugin.name
        self.file = getattr(type(plugin), "__kube_tui_file__", None)
        for method in ("pre_filter", "filter", "pre_score", "score", "normalize"):
            if callable(getattr(plugin, method, None)):
                setattr(self, method, getattr(self, f"_{method}"))

    def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except PluginError:
            raise
        except Exception as e:
            raise PluginError(f"{what}: {raised_at(e, {self.file} if self.file else set())}") from e

    def _pre_filter(self, pod: PodInfo) -> Status | frozenset[str] | None:
        what = f'running PreFilter plugin "{self.name}"'
        v = self._call(what, self.plugin.pre_filter, pod)
        if v is None:
            return None
        if isinstance(v, Status):
            return v if v.ok or v.code is Code.SKIP else _status(self.name, v, what)
        if isinstance(v, (set, frozenset, list, tuple)):
            return frozenset(v)
        raise PluginError(f"{what}: it returned {v!r}; return None, a Status or a set of node names")

    def _filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        return _verdict(self.name, self._call(f'running "{self.name}" filter plugin', self.plugin.filter, pod, node))

    def _pre_score(self, pod: PodInfo) -> bool:
        """False (or a Skip Status) leaves this pod unscored by the plugin; anything else (None too) scores."""
        v = self._call(f'running PreScore plugin "{self.name}"', self.plugin.pre_score, pod)
        if isinstance(v, Status):
            if v.code is Code.SKIP:
                return False
            if not v.ok:  # any other failure at PreScore aborts the cycle, as in kube-scheduler
                raise PluginError(f'running PreScore plugin "{self.name}": {v.message or v.code}')
            return True
        return v is not False

    def _score(self, pod: PodInfo, node: NodeInfo) -> int:
        v = self._call(f'running Score plugins: plugin "{self.name}" failed with', self.plugin.score, pod, node)
        if getattr(self.plugin, "normalize", None) is None:
            return _score_value(self.name, v)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
            raise PluginError(f'running Score plugins: plugin "{self.name}" returned {v!r}, not a finite number')
        return int(v)

    def _normalize(self, scores: list[int]) -> list[int]:
        out = self._call(f'running Normalize on Score plugin "{self.name}"', self.plugin.normalize, list(scores))
        if not isinstance(out, list) or len(out) != len(scores):
            raise PluginError(f'running Normalize on Score plugin "{self.name}": it must return a list of '
                              f"{len(scores)} scores, one per node")
        return [_score_value(self.name, v) for v in out]


FilterBatch = Callable[[PodInfo, list[NodeInfo]], tuple[list[NodeInfo], list[tuple[NodeInfo, Status]]]]
ScoreBatch = Callable[[PodInfo, list[NodeInfo]], list[int]]


class _Filter:
    """A filter plugin with its batch entry point resolved once, at framework construction."""

    __slots__ = ("name", "plugin", "pre_filter", "filter", "filter_nodes")

    def __init__(self, plugin: Any, *, pre_filter: bool = True, filter: bool = True) -> None:
        self.name: str = plugin.name
        self.plugin = plugin
        self.pre_filter = getattr(plugin, "pre_filter", None) if pre_filter else None
        if filter and hasattr(plugin, "filter"):
            self.filter: Callable[[PodInfo, NodeInfo], Status] = plugin.filter
            self.filter_nodes: FilterBatch = getattr(plugin, "filter_nodes", None) or self._each
        else:  # enabled at PreFilter only: every node passes its Filter
            self.filter = lambda pod, node: SUCCESS
            self.filter_nodes = lambda pod, nodes: (list(nodes), [])

    def _each(self, pod: PodInfo, nodes: list[NodeInfo]) -> tuple[list[NodeInfo], list[tuple[NodeInfo, Status]]]:
        passed: list[NodeInfo] = []
        failed: list[tuple[NodeInfo, Status]] = []
        for ni in nodes:
            st = self.filter(pod, ni)
            if st.ok:
                passed.append(ni)
            else:
                failed.append((ni, st))
        return passed, failed


class _Scorer:
    __slots__ = ("name", "plugin", "weight", "pre_score", "score", "score_nodes", "normalize")

    def __init__(self, plugin: Any, weight: int, *, pre_score: bool = True) -> None:
        self.name: str = plugin.name
        self.plugin = plugin
        self.weight = weight
        self.pre_score = getattr(plugin, "pre_score", None) if pre_score else None
        self.score: Callable[[PodInfo, NodeInfo], int] = plugin.score
        self.score_nodes: ScoreBatch = getattr(plugin, "score_nodes", None) or self._each
        self.normalize = getattr(plugin, "normalize", None)

    def _each(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        return [self.score(pod, ni) for ni in nodes]


@dataclass
class ScheduleResult:
    """One scheduling cycle, with enough detail for the decision record (record.py)."""

    pod: PodInfo
    node: str | None  # kube-scheduler's SuggestedHost
    message: str  # FitError text when unschedulable; "" on success
    num_all_nodes: int
    evaluated: int  # feasible + nodes with an explicit filter status
    feasible: int
    failures: list[tuple[str, Status]] = field(default_factory=list)  # explicit per-node verdicts
    absent_status: Status | None = None  # verdict for every node not in `failures` (PreFilter)
    absent_count: int = 0
    filters_run: list[str] = field(default_factory=list)  # non-skipped filter plugins, in order
    filters_skipped: list[str] = field(default_factory=list)  # PreFilter said Skip: nothing to check for this pod
    scored: Sequence[NodeInfo] = ()  # the feasible nodes that were scored, in the order of `totals`
    chosen: int = -1  # index of `node` in `scored`
    scores: dict[str, list[int]] = field(default_factory=dict)  # plugin -> normalized, per scored node
    weights: dict[str, int] = field(default_factory=dict)
    totals: list[int] = field(default_factory=list)
    time_ms: float = 0.0
    next_start_index: int = 0
    preemption: Candidate | None = None  # PostFilter: the node to nominate and the pods to evict there
    # status.nominatedNodeName after this cycle: None leaves it as it is, "" clears it (no room anywhere)
    nominated_node: str | None = None
    explain: dict[str, str] = field(default_factory=dict)  # plugin -> what its filter counted (why a node failed)

    @property
    def ok(self) -> bool:
        return self.node is not None

    @property
    def scored_nodes(self) -> list[str]:
        """Names of the scored nodes (the record needs only a few: it indexes `scored` instead)."""
        return [ni.name for ni in self.scored]

    def rejecting_plugins(self) -> frozenset[str]:
        """The plugins that turned nodes down: the queue requeues the pod on events they care about."""
        names = {st.plugin for _, st in self.failures if st.plugin}
        if self.absent_status is not None and self.absent_status.plugin:
            names.add(self.absent_status.plugin)
        return frozenset(names)

    def reason_counts(self) -> dict[str, int]:
        """How many nodes failed for each reason, as FitError counts them."""
        counts: dict[str, int] = {}
        # Count whole reason tuples first (a C-level Counter), then split them into reasons.
        for reasons, k in Counter(st.reasons for _, st in self.failures).items():
            for r in reasons:
                counts[r] = counts.get(r, 0) + k
        if self.absent_status is not None and self.absent_count:
            for r in self.absent_status.reasons:
                counts[r] = counts.get(r, 0) + self.absent_count
        return counts


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes end the search (schedule_one.go numFeasibleNodesToFind)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    num = num_all_nodes * percentage // 100
    return max(num, MIN_FEASIBLE_NODES_TO_FIND)


def fit_error_message(num_all_nodes: int, reasons: dict[str, int], *, pre_filter_msg: str = "",
                      post_filter_msg: str = "") -> str:
    """framework.FitError.Error(): '0/N nodes are available: <sorted "n reason" list>.' (+ ' preemption: ....')."""
    msg = f"0/{num_all_nodes} nodes are available:"
    if pre_filter_msg:
        msg += f" {pre_filter_msg}."
    else:
        # Go sorts the formatted "count reason" strings, so "10 x" sorts before "2 y": kept on purpose.
        histogram = sorted(f"{n} {r}" for r, n in reasons.items())
        if histogram:
            msg += f" {', '.join(histogram)}."
    if post_filter_msg:
        # SeparatorFormat " %v." again: the preemption sentence, itself ending in ".", ends in ".." (as in v1.30)
        msg += f" {post_filter_msg}."
    return msg


def select_host(totals: Sequence[int], rng: random.Random) -> int:
    """Index of the highest total; ties broken uniformly at random like kube-scheduler's selectHost."""
    best = max(totals)
    if totals.count(best) == 1:
        return totals.index(best)
    tied = [i for i, t in enumerate(totals) if t == best]
    return tied[rng.randrange(len(tied))]


class Framework:
    """One scheduling profile: an ordered plugin list with score weights.

    Keeps kube-scheduler's `nextStartNodeIndex` so that successive pods start their search where
    the previous one stopped, unless the caller passes `start_index`.
    """

    def __init__(self, plugins: Iterable[Any] | None = None, *, weights: dict[str, int] | None = None,
                 percentage_of_nodes_to_score: int = 0, rng: random.Random | None = None,
                 filters: list[_Filter] | None = None, scorers: list[_Scorer] | None = None) -> None:
        """`plugins` in order, each a filter and/or a scorer by what it implements; or, from a scheduler
        configuration (control/scheduler/config.py), the `filters` and `scorers` of each extension point."""
        if filters is None or scorers is None:
            if plugins is None:
                from control.scheduler.plugins import default_plugins
                plugins = default_plugins()
            plugins = list(plugins)
            w = dict(DEFAULT_WEIGHTS)
            w.update(weights or {})
            filters = [_Filter(p) for p in plugins if hasattr(p, "filter")]
            scorers = [_Scorer(p, w.get(p.name, 1)) for p in plugins if hasattr(p, "score")]
        self.filters = filters
        self.scorers = scorers
        self.plugins = list({id(x.plugin): x.plugin for x in [*filters, *scorers]}.values())
        self.weights = {s.name: s.weight for s in self.scorers}
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self.rng = rng or random.Random()
        self.next_start_index = 0

    # the cycle

    def schedule(self, pod: dict | PodInfo, node_infos: Sequence[NodeInfo], *,
                 percentage_of_nodes_to_score: int | None = None,
                 start_index: int | None = None, cluster: Cluster | None = None) -> ScheduleResult:
        """One cycle. `cluster`: the scheduler's view of the whole cluster (its pod index, owners of pods);
        without it, plugins that count pods across nodes index the pods of `node_infos` themselves."""
        t0 = perf_counter()
        pi = as_pod_info(pod)
        # A fresh CycleState for this attempt, with the whole cluster for the plugins that look beyond one node.
        pi.state = {CLUSTER: cluster if cluster is not None else Cluster(node_infos)}
        percentage = self.percentage_of_nodes_to_score if percentage_of_nodes_to_score is None \
            else percentage_of_nodes_to_score
        start = self.next_start_index if start_index is None else start_index
        n_all = len(node_infos)
        res = ScheduleResult(pod=pi, node=None, message="", num_all_nodes=n_all, evaluated=0, feasible=0,
                             weights=self.weights, next_start_index=start % n_all if n_all else 0)
        if n_all == 0:
            res.message = NO_NODES_MESSAGE
            return self._finish(res, t0, start_index)

        # PreFilter: skip plugins with nothing to check, reject outright, or narrow to named nodes.
        active: list[_Filter] = []
        allowed: frozenset[str] | None = None
        restricting: list[str] = []
        for f in self.filters:
            verdict = f.pre_filter(pi) if f.pre_filter is not None else None
            if isinstance(verdict, Status):
                if verdict.code is Code.SKIP:
                    res.filters_skipped.append(f.name)
                    continue
                if not verdict.ok:
                    st = verdict.with_plugin(f.name)
                    res.absent_status, res.absent_count = st, n_all
                    post, res.preemption, res.nominated_node = self._preemption(pi, node_infos, [], active)
                    res.message = fit_error_message(n_all, {}, pre_filter_msg=st.message, post_filter_msg=post)
                    return self._finish(res, t0, start_index)
            elif verdict is not None:
                allowed = verdict if allowed is None else allowed & verdict
                restricting.append(f.name)
            active.append(f)
        res.filters_run = [f.name for f in active]

        nodes: Sequence[NodeInfo] = node_infos
        if allowed is not None:
            nodes = [ni for ni in node_infos if ni.name in allowed]
            res.absent_status = unresolvable(
                f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(restricting))}]").with_plugin(restricting[0])
        n = len(nodes)
        nominated = (pi.pod.get("status") or {}).get("nominatedNodeName")
        if nominated and (allowed is None or nominated in allowed):
            # evaluateNominatedNode: where it preempted pods, the pod goes if it fits there now
            ni = pi.state[CLUSTER].by_name.get(nominated)
            if ni is not None and ni.node is not None and self._fits(pi, ni, active).ok:
                res.node, res.scored, res.chosen, res.totals = ni.name, [ni], 0, [0]
                res.feasible = res.evaluated = 1
                res.absent_status, res.absent_count = None, 0
                res.explain["DefaultPreemption"] = (f"{ni.name} was nominated for this pod when it preempted "
                                                    "lower-priority pods there: it fits now, so it goes there")
                return self._finish(res, t0, start_index)
        need = num_feasible_nodes_to_find(n, percentage)
        if n:
            feasible, failures, processed = self._find_feasible(pi, nodes, start % n, need, active)
        else:
            feasible, failures, processed = [], [], 0
        if feasible and pi.state[CLUSTER].nominated:
            # Nodes where higher-priority pods wait for room (they preempted for it) count those pods too.
            still: list[NodeInfo] = []
            for ni in feasible:
                st = self._fits(pi, ni, active) if self._nominated_for(pi, ni.name) else SUCCESS
                if st.ok:
                    still.append(ni)
                else:
                    failures.append((ni, st))
            feasible = still
        res.next_start_index = (start + processed) % n_all
        res.failures = [(ni.name, st) for ni, st in failures]
        if allowed is not None:
            res.absent_count = n_all - len(failures) - len(feasible)
        res.feasible = len(feasible)
        res.evaluated = len(feasible) + len(failures)

        if not feasible:
            post, res.preemption, res.nominated_node = self._preemption(pi, node_infos, failures, active)
            res.message = fit_error_message(n_all, res.reason_counts(), post_filter_msg=post)
            return self._finish(res, t0, start_index)

        if len(feasible) == 1:
            # Like kube-scheduler: a single feasible node is taken without scoring.
            res.node = feasible[0].name
            res.scored, res.chosen = feasible, 0
            res.totals = [0]
            return self._finish(res, t0, start_index)

        totals: list[int] | None = None
        pi.state[CLUSTER].feasible = feasible  # PreScore's filteredNodes
        for s in self.scorers:
            if s.pre_score is not None and not s.pre_score(pi):
                continue
            vals = s.score_nodes(pi, feasible)
            if s.normalize is not None:
                vals = s.normalize(vals)
            res.scores[s.name] = vals
            # map() over operator functions runs the per-node sums in C.
            weighted = vals if s.weight == 1 else map(mul, vals, repeat(s.weight, len(vals)))
            totals = list(weighted) if totals is None else list(map(add, totals, weighted))
        if totals is None:
            totals = [0] * len(feasible)
        res.scored = feasible
        res.totals = totals
        res.chosen = select_host(totals, self.rng)
        res.node = feasible[res.chosen].name
        return self._finish(res, t0, start_index)

    def _finish(self, res: ScheduleResult, t0: float, start_index: int | None) -> ScheduleResult:
        if start_index is None:
            self.next_start_index = res.next_start_index
        for plugin in self.plugins:  # the plugins whose verdict depends on counts across nodes say what they counted
            explain = getattr(plugin, "explain", None)
            text = explain(res.pod) if explain is not None else None
            if text:
                res.explain[plugin.name] = text
        if res.preemption is not None:
            res.explain["DefaultPreemption"] = res.preemption.describe()
        res.time_ms = (perf_counter() - t0) * 1000.0
        return res

    def _find_feasible(self, pi: PodInfo, nodes: Sequence[NodeInfo], start: int, need: int,
                       active: list[_Filter]) -> tuple[list[NodeInfo], list[tuple[NodeInfo, Status]], int]:
        """Walk the nodes from `start`, round the end, until `need` fit (findNodesThatPassFilters).

        Nodes go through the filter chain in chunks, plugin by plugin; a node leaves the chain at
        its first failing plugin, exactly as if each node ran the chain alone.
        """
        n = len(nodes)
        feasible: list[NodeInfo] = []
        failures: list[tuple[NodeInfo, Status]] = []
        pos = 0
        size = need  # the common case: every node fits and one chunk is exactly enough
        while pos < n and len(feasible) < need:
            size = min(max(size, 16), n - pos)
            a = (start + pos) % n
            b = a + size
            chunk = list(nodes[a:b]) if b <= n else [*nodes[a:], *nodes[:b - n]]
            passed = chunk
            failed: list[tuple[NodeInfo, Status]] = []
            for f in active:
                if not passed:
                    break
                passed, bad = f.filter_nodes(pi, passed)
                if bad:
                    if all(st.plugin for _, st in bad):
                        failed.extend(bad)
                    else:
                        failed.extend((ni, st if st.plugin else st.with_plugin(f.name)) for ni, st in bad)
            remaining = need - len(feasible)
            if len(passed) > remaining:
                # Found enough inside this chunk: nodes after the last one taken were never checked.
                passed = passed[:remaining]
                offset = _offset_of(chunk, a, n)
                cut = offset(passed[-1])
                failed = [(ni, st) for ni, st in failed if offset(ni) < cut]
                size = cut + 1
            feasible.extend(passed)
            failures.extend(failed)
            pos += size
            # Size the next chunk from the pass rate seen so far.
            rate = len(feasible) / pos if feasible else 0.0
            left = need - len(feasible)
            size = int(left / rate) + 1 if rate > 0 else size * 2
        return feasible, failures, pos

    # filtering one node, with the pods nominated to it

    def _chain(self, pi: PodInfo, ni: NodeInfo, active: list[_Filter]) -> Status:
        """The filter chain on one node: its first failing verdict, or SUCCESS."""
        for f in active:
            st = f.filter(pi, ni)
            if not st.ok:
                return st if st.plugin else st.with_plugin(f.name)
        return SUCCESS

    @staticmethod
    def _nominated_for(pi: PodInfo, node: str) -> list[PodInfo]:
        """The pods nominated to `node` that this pod must leave room for: those of equal or higher priority."""
        cluster = pi.state.get(CLUSTER)
        noms = cluster.nominated.get(node) if cluster is not None else None
        if not noms:
            return []
        return [p for p in noms.values() if p.priority >= pi.priority and p.key != pi.key]

    def _fits(self, pi: PodInfo, ni: NodeInfo, active: list[_Filter]) -> Status:
        """RunFilterPluginsWithNominatedPods: the chain with the nominated pods counted on the node, then
        without them (a nominated pod may not be there in the end: both must pass)."""
        noms = self._nominated_for(pi, ni.name)
        if noms:
            trial = ni.clone()
            for p in noms:
                trial.add_pod(p)
            cluster = pi.state.get(CLUSTER)
            if cluster is not None and any(f.name in preemption.CROSS_NODE for f in active):
                st = self._with_nominated_in_index(pi, cluster, noms, trial, active)
            else:
                st = self._chain(pi, trial, active)
            if not st.ok:
                return st
        return self._chain(pi, ni, active)

    def _with_nominated_in_index(self, pi: PodInfo, cluster: Any, noms: list[PodInfo], trial: NodeInfo,
                                 active: list[_Filter]) -> Status:
        """The chain on `trial` with the nominated pods also in the pod index, so that InterPodAffinity and
        PodTopologySpread count them there too (kube-scheduler's addNominatedPods runs their AddPod
        extensions): PreFilter again with them in, then everything as it was."""
        saved = pi.state
        for p in noms:
            cluster.index.add(p, trial.name)
        try:
            verdict = self._refresher(pi, active)()
            return verdict if verdict is not None else self._chain(pi, trial, active)
        finally:
            for p in noms:
                cluster.index.remove(p, trial.name)
            pi.state = saved

    # preemption (PostFilter): the dry run; the scheduler evicts the victims it names

    def _preemption(self, pi: PodInfo, all_nodes: Sequence[NodeInfo], failures: list[tuple[NodeInfo, Status]],
                    active: list[_Filter]) -> tuple[str, Candidate | None, str | None]:
        """DefaultPreemption: ("", the node and its victims, the node) when evicting lower-priority pods makes
        room (the FitError then carries no preemption sentence); else ("preemption: <why not>", None, and ""
        to clear a nomination the pod had, or None to keep it when the pod may not preempt now)."""
        cluster = pi.state.get(CLUSTER)
        by_name = cluster.by_name if cluster is not None else {ni.name: ni for ni in all_nodes}
        nominated = (pi.pod.get("status") or {}).get("nominatedNodeName")
        nominated_status = next((st for ni, st in failures if ni.name == nominated), None) if nominated else None
        why = preemption.eligible(pi, by_name, nominated_status is not None
                                  and nominated_status.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE)
        if why:
            return "preemption: " + why, None, None
        potential = [ni for ni, st in failures if st.code is Code.UNSCHEDULABLE]
        statuses: dict[str, Any] = {}
        if potential:
            refresh = self._refresher(pi, active) if any(f.name in preemption.CROSS_NODE for f in active) else None
            dry = preemption.DryRun(pi, lambda p, ni: self._fits(p, ni, active), refresh)
            found = preemption.find_candidates(pi, potential, dry, self.rng, statuses)
            if found:
                best = preemption.pick_one_node(found)
                return "", best, best.node
        counts: dict[str, int] = {}
        for st in statuses.values():
            for r in (st.reasons if isinstance(st, Status) else (NO_VICTIMS,)):
                counts[r] = counts.get(r, 0) + 1
        absent_n = len(all_nodes) - len(statuses)
        if absent_n:
            counts[PREEMPTION_NOT_HELPFUL] = counts.get(PREEMPTION_NOT_HELPFUL, 0) + absent_n
        return "preemption: " + fit_error_message(len(all_nodes), counts), None, ""

    def _refresher(self, pi: PodInfo, active: list[_Filter]) -> Callable[[], Status | None]:
        """PreFilter again for the dry run, after the pod index changed (victims out, or back in)."""
        cluster = pi.state.get(CLUSTER)

        def refresh() -> Status | None:
            pi.state = {CLUSTER: cluster}
            for f in active:
                if f.pre_filter is None:
                    continue
                v = f.pre_filter(pi)
                if isinstance(v, Status) and not v.ok and v.code is not Code.SKIP:
                    return v if v.plugin else v.with_plugin(f.name)
            return None
        return refresh


def _offset_of(chunk: list[NodeInfo], first: int, n: int) -> Callable[[NodeInfo], int]:
    """Position of a node inside `chunk`, which starts at index `first` of an n-node list.

    The snapshot's node index answers in O(1); a caller's own list (tests, PreFilter-narrowed
    lists) falls back to a lookup table.
    """
    if all(0 <= ni.idx < n for ni in (chunk[0], chunk[-1])) and chunk[0].idx == first \
            and chunk[-1].idx == (first + len(chunk) - 1) % n:
        return lambda ni: (ni.idx - first) % n
    table = {id(ni): i for i, ni in enumerate(chunk)}
    return lambda ni: table[id(ni)]


_default: Framework | None = None


def default_framework() -> Framework:
    global _default
    if _default is None:
        _default = Framework()
    return _default


def schedule(pod: dict | PodInfo, node_infos: Sequence[NodeInfo], *, percentage_of_nodes_to_score: int = 0,
             start_index: int = 0) -> ScheduleResult:
    """One cycle with the default profile (stateless: the caller owns the start index)."""
    return default_framework().schedule(pod, node_infos, percentage_of_nodes_to_score=percentage_of_nodes_to_score,
                                        start_index=start_index)
