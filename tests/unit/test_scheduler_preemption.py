"""DefaultPreemption's dry run and choice, the nominator's effect on filtering, and Priority admission:
the cases worked out from kube-scheduler's preemption.go and default_preemption.go."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from control.api.priority import admit_class, admit_pod, keep_pod_priority
from control.api.validation import validate
from control.errors import ApiError
from control.scheduler import preemption
from control.scheduler.framework import Framework
from control.scheduler.nodeinfo import PodInfo
from control.scheduler.podindex import Cluster
from control.scheduler.preemption import (
    Candidate,
    more_important_first,
    num_candidates,
    pick_one_node,
    split_by_pdb_violation,
)
from tests.unit.test_scheduler_framework import cluster, node, pod

HOST = "kubernetes.io/hostname"


def started(p: dict, when: str) -> dict:
    p.setdefault("status", {})["startTime"] = when
    return p


def run(p: dict, snap, *, nominated: dict | None = None):  # noqa: ANN001, ANN202 - a test shorthand
    fw = Framework()
    c = Cluster(snap.node_infos(), snap.index, by_name=snap.infos, nominated=nominated)
    return fw.schedule(p, snap.node_infos(), cluster=c, start_index=0)


def test_victims_are_the_least_important_pods_that_make_room() -> None:
    snap = cluster(node("n", cpu="3"), bound=(
        pod("p0", "1", node_name="n", priority=0), pod("p10", "1", node_name="n", priority=10),
        pod("p20", "1", node_name="n", priority=20)))
    res = run(pod("vip", "2", priority=100), snap)
    assert res.node is None and res.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert res.preemption is not None and res.preemption.node == "n"
    # Reprieve the most important first: p20 goes back, then p10 does not fit any more, nor p0.
    assert [v.name for v in res.preemption.victims] == ["p10", "p0"]
    assert res.nominated_node == "n"
    assert res.explain["DefaultPreemption"] == (
        "nominated n: preempting 2 lower-priority pod(s): default/p10 (priority 10), default/p0 (priority 0)")
    # The dry run left the snapshot as it was.
    assert sorted(snap.get("n").pods) == ["uid-p0", "uid-p10", "uid-p20"]


def test_equal_priority_is_never_a_victim_and_unresolvable_nodes_are_not_candidates() -> None:
    taint = {"key": "k", "value": "v", "effect": "NoSchedule"}
    snap = cluster(node("same", cpu="1"), node("tainted", cpu="8", taints=[taint]),
                   bound=(pod("peer", "1", node_name="same", priority=100),))
    res = run(pod("vip", "1", priority=100), snap)
    assert res.preemption is None and res.nominated_node == ""
    assert res.message == ("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. "
                           "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, "
                           "1 Preemption is not helpful for scheduling..")


def test_pick_one_node_follows_kube_schedulers_criteria_in_order() -> None:
    def v(name: str, prio: int, start: str = "2026-01-01T00:00:00Z") -> PodInfo:
        return PodInfo(started(pod(name, priority=prio), start))

    # 1. the lowest most important victim
    assert pick_one_node([Candidate("a", [v("x", 50)]), Candidate("b", [v("y", 10), v("z", 5)])]).node == "b"
    # 2. the lowest sum of priorities (each offset by 2^31, so fewer victims weigh less)
    assert pick_one_node([Candidate("a", [v("x", 10), v("y", 10)]), Candidate("b", [v("z", 10)])]).node == "b"
    # 3. the fewest victims (same sum: impossible with equal tops unless counts differ; shown with negatives)
    assert pick_one_node([Candidate("a", [v("x", 10), v("y", -5)]), Candidate("b", [v("z", 10), v("w", -5)]),
                          Candidate("c", [v("u", 10)])]).node == "c"
    # 4. the victims that started last
    early, late = "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"
    assert pick_one_node([Candidate("a", [v("x", 10, early)]), Candidate("b", [v("y", 10, late)])]).node == "b"
    # 5. then the first
    assert pick_one_node([Candidate("a", [v("x", 10)]), Candidate("b", [v("y", 10)])]).node == "a"


def test_more_important_first_and_candidate_count() -> None:
    a = PodInfo(started(pod("a", priority=5), "2026-01-02T00:00:00Z"))
    b = PodInfo(started(pod("b", priority=5), "2026-01-01T00:00:00Z"))
    c = PodInfo(pod("c", priority=9))  # not started: counts as starting now
    assert [p.name for p in more_important_first([a, b, c])] == ["c", "b", "a"]
    assert (num_candidates(5), num_candidates(100), num_candidates(5000)) == (5, 100, 500)


def test_preemption_policy_never_and_a_nomination_waiting_for_its_victims() -> None:
    snap = cluster(node("n", cpu="1"), bound=(pod("low", "1", node_name="n", priority=0),))
    never = run(pod("q", "1", priority=100, preemptionPolicy="Never"), snap)
    assert never.message.endswith("preemption: not eligible due to preemptionPolicy=Never..")
    assert never.nominated_node is None  # a nomination it had stays
    # The victim is terminating because of an earlier preemption: the pod waits instead of preempting again.
    victim = pod("low", "1", node_name="n", priority=0)
    victim["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    victim["status"] = {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]}
    snap.add_pod(victim)
    waiting = pod("vip", "1", priority=100)
    waiting["status"] = {"nominatedNodeName": "n"}
    res = run(waiting, snap)
    assert res.message == ("0/1 nodes are available: 1 Insufficient cpu. "
                           "preemption: not eligible due to a terminating pod on the nominated node..")
    assert res.preemption is None and res.nominated_node is None


def test_pods_nominated_to_a_node_keep_their_room_from_lower_or_equal_priority_pods() -> None:
    snap = cluster(node("a", cpu="2"), node("b", cpu="2"))
    vip = PodInfo(pod("vip", "2", priority=100))
    nominated = {"a": {vip.key: vip}}
    low = run(pod("low", "1", priority=0), snap, nominated=nominated)
    assert low.node == "b"  # a's room is the vip's
    snap_b_full = cluster(node("a", cpu="2"), node("b", cpu="2"), bound=(pod("x", "2", node_name="b", priority=500),))
    blocked = run(pod("low", "1", priority=100), snap_b_full, nominated=nominated)
    assert blocked.node is None and blocked.message.startswith("0/2 nodes are available: 2 Insufficient cpu.")
    higher = run(pod("boss", "1", priority=1000), snap_b_full, nominated=nominated)
    assert higher.node == "a"  # a higher-priority pod does not wait for a lower nomination


def test_a_nominated_pod_goes_to_its_node_when_it_fits_there() -> None:
    snap = cluster(node("busy", cpu="4"), node("idle", cpu="4"), bound=(pod("w", "3", node_name="busy"),))
    p = pod("vip", "500m", priority=100)
    p["status"] = {"nominatedNodeName": "busy"}
    res = run(p, snap)
    assert res.node == "busy" and res.feasible == 1  # evaluateNominatedNode: no scoring against idle
    assert res.explain["DefaultPreemption"].startswith("busy was nominated for this pod")


def test_preempting_for_anti_affinity_takes_the_conflicting_pod_out_of_the_pod_index() -> None:
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": HOST}]}}
    db_a = pod("db-a", node_name="a", priority=0)
    db_b = pod("db-b", node_name="b", priority=500)
    for p in (db_a, db_b):
        p["metadata"]["labels"] = {"app": "db"}
    snap = cluster(node("a", labels={HOST: "a"}), node("b", labels={HOST: "b"}), bound=(db_a, db_b))
    before = {k: dict(v) for k, v in snap.index.groups.items()}
    res = run(pod("vip", priority=100, affinity=anti), snap)
    assert res.message.startswith("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.")
    assert res.preemption is not None and res.preemption.node == "a"
    assert [v.name for v in res.preemption.victims] == ["db-a"]
    assert {k: dict(v) for k, v in snap.index.groups.items()} == before  # everything put back


def test_priority_admission() -> None:
    classes = {"gold": {"metadata": {"name": "gold"}, "value": 1000, "preemptionPolicy": "Never"}}
    p = pod("p", priority=None)
    p["spec"]["priorityClassName"] = "gold"
    admit_pod(p, classes)
    assert (p["spec"]["priority"], p["spec"]["preemptionPolicy"]) == (1000, "Never")
    same = pod("s", priority=1000)
    same["spec"]["priorityClassName"] = "gold"
    admit_pod(same, classes)  # the computed value itself is allowed
    other = pod("o")
    other["spec"].update(priorityClassName="gold", preemptionPolicy="PreemptLowerPriority")
    with pytest.raises(ApiError) as e:
        admit_pod(other, classes)
    assert e.value.message == ('pods "o" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must '
                               "not be provided in pod spec; priority admission controller computed Never from the "
                               "given PriorityClass name")
    # the lowest of several global defaults (a race past admission) wins
    defaults = {"d1": {"metadata": {"name": "d1"}, "value": 50, "globalDefault": True},
                "d2": {"metadata": {"name": "d2"}, "value": 20, "globalDefault": True}}
    q = pod("q")
    admit_pod(q, defaults)
    assert (q["spec"]["priority"], q["spec"]["priorityClassName"]) == (20, "d2")
    with pytest.raises(ApiError):
        admit_class({"metadata": {"name": "d3"}, "value": 1, "globalDefault": True}, {"d1": defaults["d1"]})
    admit_class({"metadata": {"name": "d1"}, "value": 50, "globalDefault": True}, {"d1": defaults["d1"]})  # itself
    new = {"spec": {}}
    keep_pod_priority(new, {"spec": {"priority": 7, "preemptionPolicy": "Never"}})
    assert new["spec"] == {"priority": 7, "preemptionPolicy": "Never"}


def test_priorityclass_validation_messages() -> None:
    def errors_of(obj: dict, old: dict | None = None) -> list[str]:
        return [str(e) for e in validate(obj, old)[0]]

    base = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "x"},
            "value": 5, "preemptionPolicy": "PreemptLowerPriority"}
    assert errors_of(base) == []
    assert errors_of({**base, "preemptionPolicy": "Sometimes"}) == [
        'preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"']
    assert errors_of({**base, "value": None}) == ["value: Required value"]
    sys = {**base, "metadata": {"name": "system-node-critical"}, "value": 5}
    assert errors_of(sys) == ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
                              "system use only. error: value of system-node-critical PriorityClass must be 2000001000"]
    assert errors_of({**base, "preemptionPolicy": "Never"}, base) == [
        'preemptionPolicy: Invalid value: "Never": field is immutable']


def _labeled(p: dict, **labels: str) -> dict:
    p["metadata"]["labels"] = labels
    return p


def _pdb(name: str, allowed: int, disrupted: tuple[str, ...] = (), **labels: str) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
            "status": {"disruptionsAllowed": allowed, "disruptedPods": {d: "2026-01-01T00:00:00Z" for d in disrupted}}}


def test_pods_a_disruption_budget_protects_are_split_off_as_kube_scheduler_spends_the_budget() -> None:
    pods = [PodInfo(_labeled(pod(n, priority=0), app="web")) for n in ("a", "b", "c")]
    # one disruption allowed: the first pod spends it, the next ones violate; a disrupted pod spends nothing
    violating, fine = split_by_pdb_violation(pods, [_pdb("web", 1, ("a",), app="web")])
    assert [p.name for p in violating] == ["c"] and [p.name for p in fine] == ["a", "b"]
    # an empty selector matches nothing here (kube-scheduler), and an unlabeled pod matches no budget
    empty = _pdb("all", 0)
    empty["spec"]["selector"] = {}
    assert split_by_pdb_violation(pods, [empty]) == ([], pods)
    bare = PodInfo(pod("bare", priority=0))
    assert split_by_pdb_violation([bare], [_pdb("web", 0, app="web")]) == ([], [bare])


def test_preemption_prefers_the_node_whose_victims_no_budget_protects() -> None:
    snap = cluster(node("guarded", cpu="1"), node("free", cpu="1"), bound=(
        _labeled(pod("db", "1", node_name="guarded", priority=0), app="db"),
        _labeled(pod("batch", "1", node_name="free", priority=10), app="batch")))
    budgets = [_pdb("db", 0, app="db")]
    fw = Framework()
    c = Cluster(snap.node_infos(), snap.index, by_name=snap.infos, pdbs=budgets)
    res = fw.schedule(pod("vip", "1", priority=100), snap.node_infos(), cluster=c, start_index=0)
    # without the budget the lower-priority db pod would be the victim; with it, the batch pod is
    assert res.preemption is not None and res.preemption.node == "free"
    assert [v.name for v in res.preemption.victims] == ["batch"] and res.preemption.violations == 0
    c = Cluster(snap.node_infos(), snap.index, by_name=snap.infos)
    res = fw.schedule(pod("vip", "1", priority=100), snap.node_infos(), cluster=c, start_index=0)
    assert res.preemption is not None and res.preemption.node == "guarded"
    # fewest violations wins before the least important victim
    assert pick_one_node([Candidate("a", [PodInfo(pod("x", priority=0))], 1),
                          Candidate("b", [PodInfo(pod("y", priority=50))], 0)]).node == "b"


class _StubDry:
    """Nodes n0..n(k-1) have a violating candidate, the rest a non-violating one."""

    def __init__(self, violating_nodes: set[str]) -> None:
        self.violating_nodes = violating_nodes

    def victims_and_violations(self, ni):
        v = [PodInfo(pod(f"victim-{ni.name}", priority=0))]
        return v, None, (1 if ni.name in self.violating_nodes else 0)


def test_dry_run_keeps_looking_until_a_non_violating_candidate_is_found() -> None:
    # 300 potential nodes: num_candidates = max(10% of 300, 100) = 100. The first 100 nodes walked all
    # violate a budget; DryRunPreemption stops only once nonViolating > 0 && total >= numCandidates.
    nodes = [SimpleNamespace(name=f"n{i:03d}") for i in range(300)]
    violating = {f"n{i:03d}" for i in range(150)}

    class Rng:
        def randrange(self, n: int) -> int:
            return 0

    found = preemption.find_candidates(PodInfo(pod("vip", priority=100)), nodes, _StubDry(violating), Rng(), {})
    best = preemption.pick_one_node(found)
    assert best.violations == 0, f"picked {best.node} with {best.violations} PDB violations; " \
                                 f"{len(found)} candidates, none non-violating"
