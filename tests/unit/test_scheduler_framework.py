"""The scheduling cycle, FitError wording, the node search, the cache, the queue and the record."""

from __future__ import annotations

import asyncio
import copy
import json
import random
import time
from typing import Any

import pytest

from control.api.meta import SCHEDULING_ANNOTATION
from control.scheduler.framework import (
    Framework,
    fit_error_message,
    num_feasible_nodes_to_find,
    schedule,
)
from control.scheduler.nodeinfo import PodInfo, Snapshot
from control.scheduler.queue import (
    ASSIGNED_POD_ADD,
    ASSIGNED_POD_DELETE,
    NODE_ADD,
    NODE_ALLOCATABLE_CHANGE,
    NODE_LABEL_CHANGE,
    NODE_TAINT_CHANGE,
    SchedulingQueue,
    node_update_events,
)
from control.scheduler.record import parse as parse_record
from control.scheduler.record import to_annotation, to_record


def node(name: str, cpu: str = "4", memory: str = "8Gi", pods: str = "110", *, labels: dict | None = None,
         taints: list[dict] | None = None, unschedulable: bool = False) -> dict:
    spec: dict[str, Any] = {"taints": taints or []}
    if unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": dict(labels or {})},
            "spec": spec, "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


def pod(name: str, cpu: str | None = None, memory: str | None = None, *, node_name: str = "",
        priority: int | None = None, **spec: Any) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    body: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx",
                                            "resources": {"requests": requests}}], **spec}
    if node_name:
        body["nodeName"] = node_name
    if priority is not None:
        body["priority"] = priority
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}, "spec": body}


GPU_TAINT = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


def cluster(*nodes: dict, bound: tuple[dict, ...] = ()) -> Snapshot:
    snap = Snapshot()
    for n in nodes:
        snap.add_node(n)
    for p in bound:
        snap.add_pod(p)
    return snap


# FitError wording


def test_fit_error_for_the_briefs_five_nodes() -> None:
    snap = cluster(node("a", cpu="1"), node("b", cpu="1"), *(node(f"t{i}", taints=[GPU_TAINT]) for i in range(3)))
    res = schedule(pod("p", "2"), snap.node_infos())
    assert res.node is None
    assert res.message == (
        "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: gpu}. "
        "preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, "
        "3 Preemption is not helpful for scheduling..")
    assert res.evaluated == 5 and res.feasible == 0
    assert res.rejecting_plugins() == {"NodeResourcesFit", "TaintToleration"}


def test_fit_error_mixed_reasons_sorted_like_go() -> None:
    snap = cluster(node("cordoned", unschedulable=True), node("small", cpu="1", memory="1Gi"),
                   node("hdd", labels={"disk": "hdd"}), node("full", pods="1", labels={"disk": "ssd"}),
                   node("tainted", taints=[{"key": "k", "value": "", "effect": "NoExecute"}]),
                   bound=(pod("x", node_name="full"),))
    res = schedule(pod("p", "2", "2Gi", nodeSelector={"disk": "ssd"}), snap.node_infos())
    # "small" fails on the selector before reaching NodeResourcesFit: the chain stops at the first failure.
    assert res.message == (
        "0/5 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint {k: }, "
        "1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/5 nodes are available: 1 No preemption victims found for incoming pod, "
        "4 Preemption is not helpful for scheduling..")


def test_fit_error_counts_sort_as_strings() -> None:
    assert fit_error_message(12, {"b": 10, "a": 2}) == "0/12 nodes are available: 10 b, 2 a."


def test_no_nodes() -> None:
    assert schedule(pod("p"), []).message == "no nodes available to schedule pods"


def test_preemption_sentence_when_preemption_could_help_or_is_refused() -> None:
    snap = cluster(node("n", cpu="1"), bound=(pod("low", "1", node_name="n", priority=0),))
    res = schedule(pod("p", "1", priority=100), snap.node_infos())
    # kube-scheduler would evict "low" and nominate n: no preemption sentence.
    assert res.message == "0/1 nodes are available: 1 Insufficient cpu."
    assert res.preemption is not None and res.preemption.node == "n"
    assert [v.name for v in res.preemption.victims] == ["low"]
    never = schedule(pod("q", "1", priority=100, preemptionPolicy="Never"), snap.node_infos())
    assert never.message == ("0/1 nodes are available: 1 Insufficient cpu. "
                             "preemption: not eligible due to preemptionPolicy=Never..")
    too_big = schedule(pod("r", "3", priority=100), snap.node_infos())
    assert too_big.message == ("0/1 nodes are available: 1 Insufficient cpu. "
                               "preemption: 0/1 nodes are available: 1 Insufficient cpu..")


def test_prefilter_restriction_and_conflict_messages() -> None:
    snap = cluster(node("n1", cpu="1"), node("n2"), node("n3"))
    pinned = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}}
    res = schedule(pod("p", "2", affinity=pinned), snap.node_infos())
    assert res.message == (
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
        "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, "
        "2 Preemption is not helpful for scheduling..")
    assert schedule(pod("q", "1", affinity=pinned), snap.node_infos()).node == "n1"
    conflict = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]},
                         {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}}
    assert schedule(pod("r", affinity=conflict), snap.node_infos()).message == (
        "0/3 nodes are available: pod affinity terms conflict. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..")


# scoring and selection


def test_highest_weighted_total_wins_and_scores_are_recorded() -> None:
    soft = [{"key": "spot", "value": "", "effect": "PreferNoSchedule"}]
    snap = cluster(node("n1", cpu="4", memory="10000"), node("n2", cpu="6", memory="10000"),
                   node("n3", cpu="6", memory="10000", taints=soft))
    res = schedule(pod("p", "3", "5000"), snap.node_infos())
    got = dict(zip(res.scored_nodes, res.totals, strict=True))
    # Fit 37/50/50, Balanced 87/100/100, Taint 100/100/0 (x3); NodeAffinity skipped (no preferences).
    assert got == {"n1": 37 + 87 + 300, "n2": 50 + 100 + 300, "n3": 50 + 100 + 0}
    assert res.node == "n2"
    assert set(res.scores) == {"TaintToleration", "NodeResourcesFit", "NodeResourcesBalancedAllocation"}


def test_ties_are_broken_randomly() -> None:
    snap = cluster(*(node(f"n{i}") for i in range(4)))
    fw = Framework(rng=random.Random(3))
    chosen = {fw.schedule(pod("p", "1"), snap.node_infos(), start_index=0).node for _ in range(60)}
    assert chosen == {"n0", "n1", "n2", "n3"}


def test_single_feasible_node_is_taken_without_scoring() -> None:
    snap = cluster(node("a", cpu="1"), node("b"))
    res = schedule(pod("p", "2"), snap.node_infos())
    assert res.node == "b" and res.scores == {} and res.evaluated == 2 and res.feasible == 1


# how many nodes are searched


@pytest.mark.parametrize(("nodes", "percentage", "expected"), [
    (50, 0, 50), (99, 0, 99), (100, 0, 100), (1000, 0, 420), (5000, 0, 500), (6000, 0, 300),
    (10000, 0, 500), (300, 10, 100), (2000, 50, 1000), (20000, 0, 1000),
])
def test_num_feasible_nodes_to_find(nodes: int, percentage: int, expected: int) -> None:
    assert num_feasible_nodes_to_find(nodes, percentage) == expected


def test_search_stops_after_enough_feasible_nodes_and_rotates() -> None:
    snap = cluster(*(node(f"n{i:03}") for i in range(500)))
    nodes = snap.node_infos()
    fw = Framework(rng=random.Random(1))
    res = fw.schedule(pod("p", "100m"), nodes)
    assert (res.evaluated, res.feasible) == (230, 230)  # 500 nodes: 50 - 500/125 = 46% -> 230
    assert res.scored_nodes[0] == "n000" and fw.next_start_index == 230
    res = fw.schedule(pod("q", "100m"), nodes)
    assert res.scored_nodes[0] == "n230" and fw.next_start_index == 460
    res = fw.schedule(pod("r", "100m"), nodes)
    assert res.scored_nodes[:41] == [f"n{i:03}" for i in range(460, 500)] + ["n000"]
    assert fw.next_start_index == (460 + 230) % 500


def test_search_counts_failed_nodes_as_processed() -> None:
    # Every other node is too small: finding 230 feasible nodes takes 460 checks.
    snap = cluster(*(node(f"n{i:03}", cpu="1" if i % 2 else "4") for i in range(500)))
    res = schedule(pod("p", "2"), snap.node_infos(), start_index=0)
    assert res.feasible == 230 and res.evaluated == 459 and len(res.failures) == 229
    assert res.next_start_index == 459
    everything = schedule(pod("p", "2"), snap.node_infos(), percentage_of_nodes_to_score=100)
    assert everything.feasible == 250 and everything.evaluated == 500


# the cache: assume, confirm, forget


def test_assumed_pod_counts_at_once_and_is_not_double_counted() -> None:
    snap = cluster(node("n", cpu="2"))
    first = pod("a", "1500m")
    res = schedule(first, snap.node_infos())
    pi = snap.assume_pod(res.pod, res.node)
    assert snap.get("n").req_cpu == 1500 and snap.is_assumed(first)
    assert schedule(pod("b", "1"), snap.node_infos()).message.startswith("0/1 nodes are available: 1 Insufficient cpu.")
    # The bound pod comes back through the watch: it confirms the assumption.
    snap.add_pod({**first, "spec": {**first["spec"], "nodeName": "n"}})
    assert snap.get("n").req_cpu == 1500 and snap.get("n").num_pods == 1 and not snap.is_assumed(first)
    assert snap.get("n").pods[pi.key].pod["spec"]["nodeName"] == "n"  # the cache holds the bound version
    assert not snap.forget_pod(pi)  # confirmed pods cannot be forgotten
    snap.remove_pod(first)
    assert snap.get("n").req_cpu == 0 and snap.num_pods == 0


def test_a_bound_pod_that_differs_from_its_assumption_is_recounted() -> None:
    snap = cluster(node("n", cpu="2"))
    first = pod("a", "500m")
    snap.assume_pod(first, "n")
    bigger = {**first, "spec": {**first["spec"], "nodeName": "n",
                                "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}}
    snap.add_pod(bigger)
    assert snap.get("n").req_cpu == 1000 and snap.get("n").num_pods == 1 and not snap.is_assumed(first)


def test_forget_releases_an_assumed_pod() -> None:
    snap = cluster(node("n", cpu="2"))
    snap.assume_pod(pod("a", "2"), "n")
    assert schedule(pod("b", "1"), snap.node_infos()).node is None
    assert snap.forget_pod(pod("a", "2"))
    assert snap.get("n").req_cpu == 0
    assert schedule(pod("b", "1"), snap.node_infos()).node == "n"


def test_cache_pod_updates_moves_and_terminal_pods() -> None:
    snap = cluster(node("n1"), node("n2"))
    p = pod("a", "1", node_name="n1")
    snap.add_pod(p)
    snap.update_pod(pod("a", "2", node_name="n1"))  # in-place resize
    assert snap.get("n1").req_cpu == 2000
    snap.assume_pod(pod("b", "1"), "n1")
    snap.add_pod(pod("b", "1", node_name="n2"))  # bound elsewhere than assumed: follow the truth
    assert (snap.get("n1").req_cpu, snap.get("n2").req_cpu) == (2000, 1000)
    done = pod("a", "2", node_name="n1")
    done["status"] = {"phase": "Succeeded"}
    snap.update_pod(done)
    assert snap.get("n1").req_cpu == 0


def test_cache_nodes_ghosts_and_zone_order() -> None:
    snap = Snapshot()
    snap.add_pod(pod("early", "1", node_name="late"))  # pod event before its node's
    assert snap.node_infos() == []
    snap.add_node(node("late"))
    assert snap.get("late").req_cpu == 1000
    snap.remove_node("late")  # pods keep their accounting until deleted
    assert snap.node_infos() == []
    snap.remove_pod(pod("early"))
    zones = cluster(*(node(f"{z}{i}", labels={"topology.kubernetes.io/zone": z}) for z in "ab" for i in range(2)))
    assert [ni.name for ni in zones.node_infos()] == ["a0", "b0", "a1", "b1"]


# the record


def test_record_is_bounded_and_explains_every_reason() -> None:
    nodes = [node(f"ok{i}") for i in range(40)] + [node(f"small{i}", cpu="100m") for i in range(30)] + \
            [node(f"gpu{i}", taints=[GPU_TAINT]) for i in range(30)]
    snap = cluster(*nodes)
    res = schedule(pod("p", "1"), snap.node_infos())
    rec = to_record(res)
    assert rec["node"] == res.node and rec["message"] == f"Successfully assigned default/p to {res.node}"
    assert rec["evaluated"] == 100 and rec["feasible"] == 40
    assert rec["counts"] == {"Insufficient cpu": 30, "node(s) had untolerated taint {dedicated: gpu}": 30}
    scored = [n for n in rec["nodes"] if n["scores"]]
    rejected = [n for n in rec["nodes"] if not n["scores"]]
    assert len(scored) == 10 and len(rejected) == 10
    assert scored[0]["node"] == res.node
    assert [n["total"] for n in scored] == sorted((n["total"] for n in scored), reverse=True)
    assert {f["reason"] for n in rejected for f in n["filters"] if not f["ok"]} == {
        "Insufficient cpu", "node(s) had untolerated taint {dedicated: gpu}"}
    taint_victim = next(n for n in rejected if n["node"].startswith("gpu"))
    assert taint_victim["filters"] == [
        {"plugin": "NodeUnschedulable", "ok": True, "reason": ""},
        {"plugin": "TaintToleration", "ok": False, "reason": "node(s) had untolerated taint {dedicated: gpu}"}]
    assert {s["plugin"]: s["weight"] for s in scored[0]["scores"]} == {
        "TaintToleration": 3, "NodeResourcesFit": 1, "NodeResourcesBalancedAllocation": 1}
    # the annotation holds the compact shape; a reader gets exactly the readable record back
    text = to_annotation(res)
    assert json.loads(text)["v"] == 2 and parse_record(text) == rec
    assert len(text) < len(json.dumps(rec, separators=(",", ":"))) / 3
    assert parse_record(json.dumps(rec)) == rec  # the readable shape is read as it is
    assert parse_record("{not json") is None and parse_record("[1]") is None and parse_record(None) is None


def test_compact_record_of_a_large_cluster_stays_small() -> None:
    nodes = [node(f"node-{i:04d}") for i in range(2000)] + [node(f"gpu-{i:04d}", taints=[GPU_TAINT]) for i in range(500)]
    res = schedule(pod("p", "1"), cluster(*nodes).node_infos())
    assert len(to_annotation(res)) < 1500
    assert parse_record(to_annotation(res)) == to_record(res)


def test_record_of_unschedulable_pod() -> None:
    snap = cluster(node("a", cpu="1"))
    rec = to_record(schedule(pod("p", "2"), snap.node_infos()))
    assert rec["node"] is None and rec["message"].startswith("0/1 nodes are available: 1 Insufficient cpu.")
    assert rec["nodes"][0]["filters"][-1] == {"plugin": "NodeResourcesFit", "ok": False, "reason": "Insufficient cpu"}
    res = schedule(pod("p", "2"), snap.node_infos())
    assert parse_record(to_annotation(res)) == to_record(res)


# the queue


async def test_queue_pops_by_priority_then_fifo() -> None:
    q = SchedulingQueue()
    for name, prio in (("a", 0), ("b", 10), ("c", 0), ("d", 10)):
        q.add(pod(name, priority=prio))
    assert [(await q.pop()).pod["metadata"]["name"] for _ in range(4)] == ["b", "d", "a", "c"]


async def test_queue_backoff_doubles_up_to_the_cap() -> None:
    q = SchedulingQueue(initial_backoff=0.05, max_backoff=0.3)
    assert [q.backoff_duration(a) for a in (0, 1, 2, 3, 4, 5)] == [0.0, 0.05, 0.1, 0.2, 0.3, 0.3]
    p = pod("p")
    q.add(p)
    qp = await q.pop()
    assert qp.attempts == 1
    q.add_unschedulable(p, qp.attempts, error=True)
    assert q.where(p) == "backoff"
    t0 = time.monotonic()
    qp = await asyncio.wait_for(q.pop(), 2)
    assert time.monotonic() - t0 >= 0.05 and qp.attempts == 2


async def test_unschedulable_pod_moves_only_on_a_relevant_event() -> None:
    q = SchedulingQueue(initial_backoff=0.01, max_backoff=0.01)
    p = pod("p", "8")
    q.add(p)
    qp = await q.pop()
    q.add_unschedulable(p, qp.attempts, plugins={"NodeResourcesFit"})
    assert q.pending() == {"active": 0, "backoff": 0, "unschedulable": 1, "gated": 0}
    assert q.move_all_to_active_or_backoff(NODE_LABEL_CHANGE) == 0
    assert q.move_all_to_active_or_backoff(NODE_ADD) == 1
    assert (await asyncio.wait_for(q.pop(), 2)).pod is p
    q.add_unschedulable(p, 2, plugins={"TaintToleration"})
    assert q.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE) == 0
    assert q.move_all_to_active_or_backoff([NODE_TAINT_CHANGE]) == 1


async def test_a_gated_pod_is_never_popped_and_moves_only_when_its_gates_are_gone() -> None:
    q = SchedulingQueue(initial_backoff=10.0, max_in_unschedulable=0.0)
    p = pod("p", schedulingGates=[{"name": "a"}, {"name": "b"}])
    q.add(p)
    q.add(pod("q"))
    assert q.where(p) == "gated" and q.pending()["gated"] == 1
    assert (await q.pop()).pod["metadata"]["name"] == "q"
    # No cluster event and no leftover flush (max_in_unschedulable 0) takes it out of the gated pool.
    assert q.move_all_to_active_or_backoff([NODE_ADD, NODE_TAINT_CHANGE]) == 0
    q._flush()
    assert q.where(p) == "gated"
    one_left = pod("p", schedulingGates=[{"name": "b"}])
    q.update(p, one_left)
    assert q.where(p) == "gated"
    q.update(one_left, pod("p"))
    assert q.where(p) == "active"  # straight to activeQ: the 10 s back-off is for pods that were tried
    qp = await asyncio.wait_for(q.pop(), 1)
    assert qp.pod["metadata"]["name"] == "p" and qp.attempts == 1


async def test_event_during_a_cycle_sends_the_pod_to_backoff() -> None:
    q = SchedulingQueue(initial_backoff=0.01)
    p = pod("p", "8")
    q.add(p)
    qp = await q.pop()
    q.move_all_to_active_or_backoff(NODE_ADD)  # arrives while the pod is being scheduled
    q.add_unschedulable(p, qp.attempts, plugins={"NodeResourcesFit"})
    assert q.where(p) == "backoff"
    # An event its rejecting plugin does not care about (another pod bound) leaves it in the pool.
    r = pod("r", "8")
    q.add(r)
    while (qp := await asyncio.wait_for(q.pop(), 2)).pod is not r:
        q.done(qp.pod)
    q.move_all_to_active_or_backoff(ASSIGNED_POD_ADD)
    q.add_unschedulable(r, qp.attempts, plugins={"NodeAffinity"})
    assert q.where(r) == "unschedulable"


async def test_leftover_unschedulable_pods_are_retried_after_the_max_duration() -> None:
    q = SchedulingQueue(initial_backoff=0.01, max_in_unschedulable=0.1)
    p = pod("p")
    q.add(p)
    q.add_unschedulable(p, (await q.pop()).attempts, plugins={"NodeAffinity"})
    t0 = time.monotonic()
    assert (await asyncio.wait_for(q.pop(), 2)).pod is p
    assert time.monotonic() - t0 >= 0.1


async def test_queue_update_delete_close_and_cancel() -> None:
    q = SchedulingQueue()
    p = pod("p")
    q.add(p)
    q.delete(p)
    assert len(q) == 0
    waiter = asyncio.create_task(q.pop())
    await asyncio.sleep(0)
    q.add(pod("x"))
    assert (await asyncio.wait_for(waiter, 1)).pod["metadata"]["name"] == "x"
    q.add_unschedulable(pod("x"), 1, plugins={"NodeAffinity"})
    changed = pod("x", nodeSelector={"disk": "ssd"})
    q.update(pod("x"), changed)  # a spec change may make it schedulable: retry
    assert q.where(changed) in ("active", "backoff")
    q.update(changed, pod("x", node_name="n1"))  # bound by someone else: drop it
    assert len(q) == 0
    stuck = asyncio.create_task(q.pop())
    await asyncio.sleep(0)
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    closing = asyncio.create_task(q.pop())
    await asyncio.sleep(0)
    q.close()
    assert await asyncio.wait_for(closing, 1) is None


async def test_the_schedulers_own_decision_record_does_not_retry_an_unschedulable_pod() -> None:
    # After each failed attempt the scheduler writes its decision (with that attempt's timing) into the pod's
    # annotation; hearing that write back must not count as a change that could make the pod fit, or a pod
    # that fits nowhere is retried (and a FailedScheduling event recorded) at every back-off step forever.
    q = SchedulingQueue(initial_backoff=0.01, max_backoff=0.01)
    p = pod("p", "8")
    q.add(p)
    q.add_unschedulable(p, (await q.pop()).attempts, plugins={"NodeResourcesFit"})
    recorded = copy.deepcopy(p)
    recorded["metadata"]["annotations"] = {SCHEDULING_ANNOTATION: '{"node": null, "time_ms": 0.142}'}
    q.update(p, recorded)
    again = copy.deepcopy(recorded)
    again["metadata"]["annotations"][SCHEDULING_ANNOTATION] = '{"node": null, "time_ms": 0.116}'
    q.update(recorded, again)
    assert q.where(p) == "unschedulable"
    labelled = copy.deepcopy(again)
    labelled["metadata"]["annotations"]["team"] = "a"  # any other annotation still counts, as in kube-scheduler
    q.update(again, labelled)
    assert q.where(p) in ("active", "backoff")


def test_node_update_events() -> None:
    old = node("n")
    assert node_update_events(old, node("n")) == []
    assert node_update_events(old, node("n", unschedulable=True)) == [NODE_TAINT_CHANGE]
    assert node_update_events(old, node("n", labels={"a": "b"})) == [NODE_LABEL_CHANGE]
    assert node_update_events(old, node("n", cpu="8")) == [NODE_ALLOCATABLE_CHANGE]


def test_pod_info_parses_once() -> None:
    pi = PodInfo(pod("p", "250m", "64Mi", priority=7))
    assert (pi.cpu, pi.mem, pi.nz_cpu, pi.priority, pi.key) == (250, 64 << 20, 250, 7, "uid-p")


def test_the_record_lists_the_filters_prefilter_skipped() -> None:
    from tui.printers.describers.pod import describe_pod

    snap = cluster(node("a"), node("b"))
    res = schedule(pod("p", "1"), snap.node_infos())
    assert res.filters_run == ["NodeUnschedulable", "TaintToleration", "NodeResourcesFit"]
    assert res.filters_skipped == ["NodeName", "NodeAffinity", "NodePorts", "VolumeBinding", "PodTopologySpread",
                                   "InterPodAffinity"]
    rec = parse_record(to_annotation(res))
    assert rec is not None and rec["skipped"] == res.filters_skipped
    p = pod("p", "1")
    p["metadata"]["annotations"] = {"kube-tui.io/scheduling": to_annotation(res)}
    text = describe_pod(p, [], None)
    assert "Filters not run:  NodeName, NodeAffinity, NodePorts, VolumeBinding, PodTopologySpread, InterPodAffinity " \
           "(nothing to check for this pod)" in text
