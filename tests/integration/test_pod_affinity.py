"""Pod anti-affinity and topology spread end to end: a real control plane's scheduler, pods created
through the API server, decisions read back from the pods and their events."""

from __future__ import annotations

from pathlib import Path

from control.client import Client
from tests.conftest import FAST, running_plane
from tests.helpers import wait_for
from tests.integration.test_scheduler_profiles import bound, make_node

HOST = "kubernetes.io/hostname"


def replica(name: str, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "cache"}},
            "spec": {"containers": [{"name": "c", "image": "redis"}], **spec}}


ANTI = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": HOST}]}}}


async def failed_scheduling(client: Client, name: str) -> str | None:
    events = (await client.list("Event", "default"))["items"]
    return next((e["message"] for e in events
                 if e["reason"] == "FailedScheduling" and e["involvedObject"]["name"] == name), None)


async def test_required_anti_affinity_puts_one_replica_per_node_and_waits_for_a_node(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", scheduler=True, timings=FAST) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            for n in ("a", "b", "c"):
                await make_node(client, n)
            for i in range(4):
                await client.create(replica(f"cache-{i}", **ANTI))
            placed = [await wait_for(lambda i=i: bound(client, f"cache-{i}"), what=f"cache-{i} bound") for i in range(3)]
            assert sorted(placed) == ["a", "b", "c"]
            message = await wait_for(lambda: failed_scheduling(client, "cache-3"), what="cache-3's FailedScheduling")
            assert message.startswith("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.")
            assert await bound(client, "cache-3") is None
            from control.scheduler.record import parse

            pending = await client.get("Pod", "cache-3", "default")
            rec = parse(pending["metadata"]["annotations"]["kube-tui.io/scheduling"])
            assert rec is not None and rec["explain"]["InterPodAffinity"] == (
                "anti-affinity to app=cache, matching pods: kubernetes.io/hostname=a (1), kubernetes.io/hostname=b (1), "
                "kubernetes.io/hostname=c (1); running pods' anti-affinity rejects this pod in kubernetes.io/hostname=a (1), "
                "kubernetes.io/hostname=b (1), kubernetes.io/hostname=c (1)")
            # A new node is a place for it (the queue moves it back on NodeAdd).
            await make_node(client, "d")
            assert await wait_for(lambda: bound(client, "cache-3"), what="cache-3 bound on the new node") == "d"
            # Which is also why nothing else labelled app=cache fits anywhere now: each node runs a replica whose
            # anti-affinity rejects it.
            await client.create(replica("late"))
            message = await wait_for(lambda: failed_scheduling(client, "late"), what="late's FailedScheduling")
            assert "4 node(s) didn't satisfy existing pods anti-affinity rules" in message
            # A pod with a DoNotSchedule spread constraint goes where its kind is fewest.
            for name, where in (("web-1", "a"), ("web-2", "a"), ("web-3", "b"), ("web-4", "c")):
                await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
                                     "spec": {"nodeName": where, "containers": [{"name": "c", "image": "nginx"}]}})
            spread = {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable":
                                                     "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]}
            await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-5", "labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx"}], **spread}})
            assert await wait_for(lambda: bound(client, "web-5"), what="web-5 bound") == "d"
        finally:
            await client.close()
