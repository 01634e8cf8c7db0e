"""Pod priority and preemption end to end: PriorityClasses through the API server's Priority admission, and a
real scheduler that evicts lower-priority pods for a pod that fits nowhere, then binds it where they were.

The nodes here are Node objects without kubelets: a preempted pod stays terminating until the test deletes
it for good, as its kubelet would once its containers stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.client import Client
from control.errors import ApiError
from tests.conftest import FAST, running_plane
from tests.helpers import wait_for
from tests.integration.test_scheduler_profiles import bound, make_node


def pclass(name: str, value: int, **extra: object) -> dict:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, **extra}


def pod(name: str, cpu: str, klass: str | None = None, **spec: object) -> dict:
    body: dict = {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "60"],
                                  "resources": {"requests": {"cpu": cpu}}}], **spec}
    if klass:
        body["priorityClassName"] = klass
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


async def events_of(client: Client, name: str, reason: str) -> list[dict]:
    return [e for e in (await client.list("Event", "default"))["items"]
            if e["reason"] == reason and e["involvedObject"]["name"] == name]


async def test_priority_admission_and_the_system_classes(client: Client) -> None:
    listed = {o["metadata"]["name"]: o for o in (await client.list("PriorityClass"))["items"]}
    assert listed["system-node-critical"]["value"] == 2000001000
    assert listed["system-cluster-critical"]["value"] == 2000000000
    assert listed["system-cluster-critical"]["preemptionPolicy"] == "PreemptLowerPriority"
    with pytest.raises(ApiError) as e:
        await client.delete("PriorityClass", "system-node-critical", None)
    assert (e.value.code, e.value.message) == (403, 'priorityclasses.scheduling.k8s.io "system-node-critical" is '
                                                    "forbidden: this is a system priority class and cannot be deleted")
    # No class, no default: priority 0.
    plain = await client.create(pod("plain", "100m"))
    assert (plain["spec"]["priority"], plain["spec"]["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in plain["spec"]
    with pytest.raises(ApiError) as e:
        await client.create(pod("lost", "100m", "nope"))
    assert (e.value.code, e.value.message) == (403, 'pods "lost" is forbidden: no PriorityClass with name nope was found')
    generated = pod("", "100m", "nope")
    generated["metadata"] = {"generateName": "web-"}
    with pytest.raises(ApiError) as e:
        await client.create(generated)
    assert e.value.message == 'pods "web-" is forbidden: no PriorityClass with name nope was found'  # as a ReplicaSet sees it
    await client.create(pclass("high", 1000, preemptionPolicy="Never", description="may not preempt"))
    high = await client.create(pod("high", "100m", "high"))
    assert (high["spec"]["priority"], high["spec"]["preemptionPolicy"]) == (1000, "Never")
    with pytest.raises(ApiError) as e:
        await client.create(pod("liar", "100m", "high", priority=5))
    assert e.value.message == ('pods "liar" is forbidden: the integer value of priority (5) must not be provided in pod '
                               "spec; priority admission controller computed 1000 from the given PriorityClass name")
    # A global default applies to new pods that name no class, and there may be only one.
    await client.create(pclass("everyday", 10, globalDefault=True))
    with pytest.raises(ApiError) as e:
        await client.create(pclass("other-default", 20, globalDefault=True))
    assert e.value.message == ('priorityclasses.scheduling.k8s.io "other-default" is forbidden: PriorityClass everyday '
                               "is already marked as default. Only one default can exist")
    later = await client.create(pod("later", "100m"))
    assert (later["spec"]["priority"], later["spec"]["priorityClassName"]) == (10, "everyday")
    # Re-applying a pod without the fields admission filled in keeps them (an update carries none).
    again = await client.get("Pod", "high", "default")
    del again["spec"]["priority"], again["spec"]["preemptionPolicy"]
    again["metadata"].setdefault("labels", {})["touched"] = "yes"
    updated = await client.update(again)
    assert updated["spec"]["priority"] == 1000
    # Validation: the reserved prefix, the user maximum, the value that may not change.
    with pytest.raises(ApiError) as e:
        await client.create(pclass("system-mine", 5))
    assert e.value.message == ('PriorityClass.scheduling.k8s.io "system-mine" is invalid: metadata.name: Forbidden: '
                               "priority class names with 'system-' prefix are reserved for system use only. error: "
                               "system-mine is not a known system priority class")
    with pytest.raises(ApiError) as e:
        await client.create(pclass("huge", 1_000_000_001))
    assert e.value.message == ('PriorityClass.scheduling.k8s.io "huge" is invalid: value: Forbidden: maximum allowed '
                               "value of a user defined priority is 1000000000")
    with pytest.raises(ApiError) as e:
        await client.patch("PriorityClass", "high", {"value": 2000}, None)
    assert e.value.code == 422 and e.value.message.endswith("value: Forbidden: may not be changed in an update.")


async def test_a_high_priority_pod_preempts_the_fewest_least_important_pods(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", scheduler=True, timings=FAST) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            await client.create(pclass("low", 100))
            await client.create(pclass("mid", 200))
            await client.create(pclass("critical", 1_000_000))
            for n in ("a", "b"):
                await make_node(client, n)  # 4 CPUs each
            # a: two low pods and a mid one; b: a mid pod and a low one, bigger. Pinned, so the test knows where.
            for name, node, cpu, klass in (("a-low-1", "a", "1", "low"), ("a-low-2", "a", "1", "low"),
                                           ("a-mid", "a", "1500m", "mid"), ("b-mid", "b", "2", "mid"),
                                           ("b-low", "b", "1500m", "low")):
                await client.create(pod(name, cpu, klass, nodeName=node))
            # 2.5 CPUs fit nowhere (a has 0.5 free, b 0.5). On a, evicting the two low pods makes room (the mid one
            # is given back); on b only evicting both, a mid among them: a's most important victim is less
            # important, so a is chosen.
            await client.create(pod("vip", "2500m", "critical"))
            nominated = await wait_for(lambda: nominated_node(client, "vip"), what="vip nominated")
            assert nominated == "a"
            for victim in ("a-low-1", "a-low-2"):
                got = await client.get("Pod", victim, "default")
                assert got["metadata"].get("deletionTimestamp"), f"{victim} is not being deleted"
                cond = next(c for c in got["status"]["conditions"] if c["type"] == "DisruptionTarget")
                assert (cond["status"], cond["reason"], cond["message"]) == (
                    "True", "PreemptionByScheduler", "default-scheduler: preempting to accommodate a higher priority pod")
            vip = await client.get("Pod", "vip", "default")
            for survivor in ("a-mid", "b-mid", "b-low"):
                assert not (await client.get("Pod", survivor, "default"))["metadata"].get("deletionTimestamp")
            events = await wait_for(lambda: events_of(client, "a-low-1", "Preempted"), what="a Preempted event")
            assert events[0]["message"] == f"Preempted by pod {vip['metadata']['uid']} on node a"
            # the message has only the preemptor's UID; the event names it (kubectl get events -o yaml shows it)
            assert (events[0].get("action"), (events[0].get("related") or {}).get("name")) == ("Preempting", "vip")
            assert events[0]["related"]["uid"] == vip["metadata"]["uid"]
            failed = await wait_for(lambda: events_of(client, "vip", "FailedScheduling"), what="vip's FailedScheduling")
            assert failed[0]["message"] == "0/2 nodes are available: 2 Insufficient cpu."  # preemption: no sentence
            # A pod of the victims' priority finds no room, and none to make: it may evict only lower ones.
            await client.create(pod("low-late", "600m", "low"))
            message = await wait_for(lambda: last_failed(client, "low-late"), what="low-late's FailedScheduling")
            assert message == ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                               "2 No preemption victims found for incoming pod..")
            # The victims' kubelet would delete them once stopped: the vip is then bound where they were.
            for victim in ("a-low-1", "a-low-2"):
                await client.delete("Pod", victim, "default", grace_period=0)
            assert await wait_for(lambda: bound(client, "vip"), what="vip bound") == "a"
            assert (await client.get("Pod", "vip", "default"))["status"]["nominatedNodeName"] == "a"
            assert await bound(client, "low-late") is None
        finally:
            await client.close()


async def test_a_pod_waiting_for_its_victims_does_not_preempt_again(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", scheduler=True, timings=FAST) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            await client.create(pclass("critical", 1000))
            await make_node(client, "a")
            await client.create(pod("filler", "3500m", nodeName="a"))
            await client.create(pod("vip", "1", "critical"))
            assert await wait_for(lambda: nominated_node(client, "vip"), what="vip nominated") == "a"
            # Something else changes on the node: the vip is tried again while its victim terminates. A bound pod
            # arriving does not wake a pod NodeResourcesFit turned down (its QueueingHint skips it, as nothing can
            # fit better for it); the node's allocatable changing does.
            await client.create(pod("tiny", "100m", nodeName="a"))
            await client.patch("Node", "a", {"status": {"allocatable": {"cpu": "4", "memory": "7Gi", "pods": "110"}}},
                               None, subresource="status")
            message = await wait_for(lambda: last_failed(client, "vip", "terminating"), what="vip not eligible")
            assert message == ("0/1 nodes are available: 1 Insufficient cpu. "
                               "preemption: not eligible due to a terminating pod on the nominated node..")
            assert not (await client.get("Pod", "tiny", "default"))["metadata"].get("deletionTimestamp")
            # Too big for any node even with every lower-priority pod gone: the nomination is cleared.
            await client.create(pod("giant", "5", "critical"))
            message = await wait_for(lambda: last_failed(client, "giant"), what="giant's FailedScheduling")
            assert message == ("0/1 nodes are available: 1 Insufficient cpu. "
                               "preemption: 0/1 nodes are available: 1 Insufficient cpu..")
        finally:
            await client.close()


async def nominated_node(client: Client, name: str) -> str | None:
    return (await client.get("Pod", name, "default")).get("status", {}).get("nominatedNodeName")


async def last_failed(client: Client, name: str, containing: str = "") -> str | None:
    events = await events_of(client, name, "FailedScheduling")
    events = [e for e in events if containing in e["message"]]
    return events[-1]["message"] if events else None
