"""The scheduler's nominator and its preemption task, with a fake API client: what kube-scheduler keeps apart
(assumed vs nominated pods, a preemption in flight, a failed eviction)."""
from __future__ import annotations

import asyncio
from typing import Any

from control.errors import ApiError
from control.scheduler import queue as q
from control.scheduler.scheduler import Scheduler
from control.timings import Timings
from tests.unit.test_scheduler_framework import node, pod


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.bind_gate = asyncio.Event()
        self.delete_gate = asyncio.Event()
        self.delete_gate.set()
        self.fail_delete: int | None = None

    async def bind(self, ns: str, name: str, node: str, annotations: dict) -> None:
        self.calls.append(("bind", name, node))
        await self.bind_gate.wait()

    async def patch(self, kind: str, name: str, body: Any, ns: Any = None, **kw: Any) -> dict:
        self.calls.append(("patch", name, body, kw.get("subresource")))
        return {}

    async def delete(self, kind: str, name: str, ns: Any = None, **kw: Any) -> dict:
        await self.delete_gate.wait()
        if self.fail_delete:
            raise ApiError(self.fail_delete, "InternalError", "boom")
        self.calls.append(("delete", name))
        return {}


def sched(*nodes: dict, bound: tuple = ()) -> tuple[Scheduler, FakeClient]:
    c = FakeClient()
    s = Scheduler(c, timings=Timings())  # type: ignore[arg-type]
    for n in nodes:
        s.snapshot.add_node(n)
    for p in bound:
        s.snapshot.add_pod(p)
        s.pods.cache[("default", p["metadata"]["name"])] = p
    return s, c


def pending(s: Scheduler, p: dict) -> dict:
    s.pods.cache[("default", p["metadata"]["name"])] = p
    s.queue.add(p)
    return p


async def test_a_pod_assumed_on_a_node_no_longer_reserves_it_as_a_nominated_pod() -> None:
    """kube-scheduler's assume() drops the pod from the nominator: it must not count twice on the node
    (assumed + nominated) while its bind is on its way."""
    s, c = sched(node("a", cpu="2"), node("b", cpu="1"),
                 bound=(pod("low", "1", node_name="b", priority=0),))
    a = pending(s, pod("A", "1", priority=100))
    s.nominate(a, "a")  # A preempted on a earlier; its victims are gone now
    await s.schedule_one(await s.queue.pop())
    assert ("bind", "A", "a") in c.calls  # A assumed on a, the bind waits at the gate
    pending(s, pod("B", "1", priority=100))
    await s.schedule_one(await s.queue.pop())
    # a has 1 CPU left: B belongs there, and nothing on b should be preempted.
    assert ("bind", "B", "a") in c.calls, c.calls
    assert not any(x[0] == "delete" for x in c.calls), c.calls
    c.bind_gate.set()
    await asyncio.gather(*s._binds)


async def test_a_pod_is_held_back_while_its_preemption_runs_and_never_marked_after_its_bind() -> None:
    """_preempt runs in the background: the pod's next cycle waits for it (no second preemption, no bind
    racing the PodScheduled=False patch), and a verdict that arrives after a bind is not written."""
    s, c = sched(node("a", cpu="2"), bound=(pod("v1", "1", node_name="a", priority=0),
                                            pod("v2", "1", node_name="a", priority=0)))
    c.delete_gate.clear()  # the API server is slow to answer the victims' DELETE
    vip = pending(s, pod("vip", "2", priority=100))
    await s.schedule_one(await s.queue.pop())
    assert s._nominated_node == {"uid-vip": "a"}
    # The victims go (their deletion events), and the pod's next cycle comes before _preempt finishes.
    for v in ("v1", "v2"):
        s._pod_deleted(s.pods.cache.pop(("default", v)))
    await s.schedule_one(q.QueuedPod(pod=vip, key="uid-vip", timestamp=0, attempts=2))
    assert ("bind", "vip", "a") not in c.calls  # held back while its preemption is in flight
    # Bound meanwhile (say by another path): the late verdict of the preemption is not written over it.
    s.pods.cache[("default", "vip")] = {**vip, "spec": {**vip["spec"], "nodeName": "a"}}
    c.delete_gate.set()
    await asyncio.gather(*s._binds)
    late = [x for x in c.calls if x[0] == "patch" and x[1] == "vip" and x[3] == "status"]
    assert not late, f"PodScheduled=False written after the bind: {late}"
    assert "uid-vip" not in s._preempting


async def test_a_failed_victim_deletion_is_reported_and_nominates_nothing() -> None:
    s, c = sched(node("a", cpu="2"), bound=(pod("v1", "2", node_name="a", priority=0),))
    c.fail_delete = 500
    pending(s, pod("vip", "2", priority=100))
    await s.schedule_one(await s.queue.pop())
    await asyncio.gather(*s._binds)
    status = [x[2]["status"] for x in c.calls if x[0] == "patch" and x[1] == "vip" and x[3] == "status"]
    # The cycle failed (prepareCandidate error): kube-scheduler reports it and keeps no nomination.
    assert s._nominated_node == {}
    assert status and status[-1]["conditions"][0]["reason"] == "SchedulerError"
    assert status[-1]["conditions"][0]["message"] == 'running PostFilter plugin "DefaultPreemption": boom'
    assert "nominatedNodeName" not in status[-1]


async def test_a_second_cycle_while_preempt_is_in_flight_does_not_preempt_again() -> None:
    """The preemptor's next cycle may run before its victims are seen terminating (prepareCandidate is
    asynchronous here, synchronous in kube-scheduler): it preempts a second time, maybe on another node."""
    nodes_hit = set()
    for _ in range(20):
        s, c = sched(node("a", cpu="2"), node("b", cpu="2"),
                     bound=(pod("a1", "1", node_name="a", priority=0), pod("a2", "1", node_name="a", priority=0),
                            pod("b1", "1", node_name="b", priority=0), pod("b2", "1", node_name="b", priority=0)))
        c.delete_gate.clear()
        vip = pending(s, pod("vip", "2", priority=100))
        await s.schedule_one(await s.queue.pop())
        await asyncio.sleep(0)
        await s.schedule_one(q.QueuedPod(pod=vip, key="uid-vip", timestamp=0, attempts=2))
        await asyncio.sleep(0)
        marked = [x[1] for x in c.calls if x[0] == "patch" and x[1] != "vip"]
        nodes_hit.add(tuple(sorted(marked)))
        c.delete_gate.set()
        for t in list(s._binds):
            t.cancel()
    assert all(len(set(m)) == len(m) for m in nodes_hit), nodes_hit


def _labelled(p: dict, **labels: str) -> dict:
    p["metadata"]["labels"] = labels
    return p


HOST = "kubernetes.io/hostname"


async def test_a_nominated_pod_counts_for_the_anti_affinity_of_a_pod_of_lower_priority() -> None:
    """addNominatedPods runs InterPodAffinity's AddPod too: a pod that must keep away from app=web may not take
    the node where an app=web pod of higher priority waits for its victims to leave."""
    s, c = sched(node("a", cpu="4", labels={HOST: "a"}))
    s.nominate(_labelled(pod("vip", "1", priority=100), app="web"), "a")
    away = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST}]}}
    pending(s, pod("loner", "1", priority=0, affinity=away))
    await s.schedule_one(await s.queue.pop())
    await asyncio.gather(*s._binds)
    assert not any(x[0] == "bind" for x in c.calls), c.calls
    status = [x[2]["status"] for x in c.calls if x[0] == "patch" and x[1] == "loner" and x[3] == "status"]
    assert "anti-affinity" in status[-1]["conditions"][0]["message"], status
    # Without the nomination (vip bound elsewhere, say), the node is free for it.
    s2, c2 = sched(node("a", cpu="4", labels={HOST: "a"}))
    c2.bind_gate.set()
    pending(s2, pod("loner", "1", priority=0, affinity=away))
    await s2.schedule_one(await s2.queue.pop())
    await asyncio.gather(*s2._binds)
    assert ("bind", "loner", "a") in c2.calls


async def test_a_nominated_pod_counts_for_topology_spread() -> None:
    """PodTopologySpread's AddPod: the app=web pod nominated to a counts there, so a second app=web pod that
    only fits on a (b is too small for it) would make the skew 2 (a: 2, b: 0) and may not go there."""
    s, c = sched(node("a", cpu="4", labels={HOST: "a"}), node("b", cpu="1", labels={HOST: "b"}))
    c.bind_gate.set()
    s.nominate(_labelled(pod("vip", "1", priority=100), app="web"), "a")
    spread = [{"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "web"}}}]
    pending(s, _labelled(pod("web-2", "2", priority=0, topologySpreadConstraints=spread), app="web"))
    await s.schedule_one(await s.queue.pop())
    await asyncio.gather(*s._binds)
    assert not any(x[0] == "bind" for x in c.calls), c.calls
    status = [x[2]["status"] for x in c.calls if x[0] == "patch" and x[1] == "web-2" and x[3] == "status"]
    assert "didn't match pod topology spread constraints" in status[-1]["conditions"][0]["message"], status
    # A smaller one fits on b, where the skew stays 1.
    pending(s, _labelled(pod("web-3", "1", priority=0, topologySpreadConstraints=spread), app="web"))
    await s.schedule_one(await s.queue.pop())
    await asyncio.gather(*s._binds)
    assert ("bind", "web-3", "b") in c.calls, c.calls
