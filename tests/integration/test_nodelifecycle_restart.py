"""The node lifecycle controller after a control plane restart: pods on a node that never came back stop
saying Ready (MarkPodsNotReady), and so leave their Services' endpoints; so do pods bound to it later."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from control.api import meta
from control.client import Client
from control.plane import ControlPlane
from tests.conftest import running_plane
from tests.helpers import wait_for
from tests.integration.test_controllers import events, manager, renew_lease, template

pytestmark = pytest.mark.timeout(60)

# What DaemonSet pods carry: no NoExecute taint of a sick node evicts them, so only readiness can keep
# traffic away from them.
TOLERATE_SICK_NODES = [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
                       {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}]


async def make_node(client: Client, name: str, ready: str) -> None:
    now = meta.now()
    reason = {"True": "KubeletReady", "False": "KubeletNotReady", "Unknown": "NodeStatusUnknown"}[ready]
    await client.create({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": ready, "reason": reason,
                                   "lastHeartbeatTime": now, "lastTransitionTime": now}]},
    })


async def running_ready_pod(client: Client, name: str, node: str | None) -> None:
    """A pod that says Running and Ready, as its kubelet last reported it; bound to `node` if given."""
    spec = template({"app": "web"}, tolerations=TOLERATE_SICK_NODES)["spec"]
    await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
                         "spec": spec})
    pod = await client.get("Pod", name)
    now = meta.now()
    pod["status"] = dict(pod.get("status") or {}, phase="Running", podIP=f"127.200.0.{len(name)}",
                         conditions=[{"type": "Ready", "status": "True", "lastTransitionTime": now}],
                         containerStatuses=[{"name": "c", "ready": True, "restartCount": 0,
                                             "state": {"running": {"startedAt": now}}}])
    await client.update_status(pod)
    if node is not None:
        await client.bind("default", name, node)


def ready_of(pod: dict) -> str:
    return next((c["status"] for c in (pod.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), "")


async def pod_ready(client: Client, name: str, status: str) -> dict | None:
    pod = await client.get("Pod", name)
    return pod if ready_of(pod) == status else None


async def endpoint_pods(client: Client, name: str) -> tuple[set[str], set[str]]:
    """(ready, not ready) pod names of a Service's Endpoints."""
    try:
        ep = await client.get("Endpoints", name)
    except Exception:
        return set(), set()
    ready: set[str] = set()
    not_ready: set[str] = set()
    for s in ep.get("subsets") or []:
        ready |= {a["targetRef"]["name"] for a in s.get("addresses") or []}
        not_ready |= {a["targetRef"]["name"] for a in s.get("notReadyAddresses") or []}
    return ready, not_ready


@contextlib.asynccontextmanager
async def heartbeats(client: Client, node: str) -> AsyncIterator[None]:
    """The kubelet of `node` is alive: its Lease is renewed."""
    async def loop() -> None:
        while True:
            await renew_lease(client, node)
            await asyncio.sleep(0.2)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("left_as", ["Unknown", "False"])
async def test_pods_of_a_node_that_never_came_back_lose_ready_after_a_restart(tmp_path: Path, left_as: str) -> None:
    data = tmp_path / "data"
    # Before: the node went away while nothing was watching it, its pods still saying Ready.
    async with running_plane(data) as plane:
        client = plane.client("setup")
        await client.connect()
        try:
            await make_node(client, "back", "True")
            await make_node(client, "gone", left_as)
            await running_ready_pod(client, "web-back", "back")
            await running_ready_pod(client, "web-gone", "gone")
            await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                 "spec": {"selector": {"app": "web"}, "ports": [{"port": 8080, "targetPort": 80}]}})
        finally:
            await client.close()
    # The control plane comes back; only node "back" does.
    async with running_plane(data) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            await check_restarted(plane, client)
        finally:
            await client.close()


async def check_restarted(plane: ControlPlane, client: Client) -> None:
    async with heartbeats(client, "back"), manager(plane, ["nodelifecycle", "endpoint"]):
        gone = await wait_for(lambda: pod_ready(client, "web-gone", "False"), 10,
                              what="the pod on the node that never came back to lose Ready")
        assert gone["status"]["phase"] == "Running"  # only readiness changes: the pod is not the controller's to end
        await wait_for(lambda: _endpoints_are(client, {"web-back"}, {"web-gone"}), 10,
                       what="web-gone moved to notReadyAddresses")
        # A pod bound to that node later (with a status saying Ready) is marked too.
        await running_ready_pod(client, "web-late", None)
        await client.bind("default", "web-late", "gone")
        await wait_for(lambda: pod_ready(client, "web-late", "False"), 10, what="the pod bound later to lose Ready")
        assert ready_of(await client.get("Pod", "web-back")) == "True"
        # Only pods that still said Ready were written: one event each, however many passes looked.
        # (the events are written after the pods' status, by the event broadcaster: waited for, not read at once)
        async def one_each() -> bool:
            marked = sorted(e["involvedObject"]["name"] for e in await events(client, "NodeNotReady")
                            if e["message"] == "Node is not ready")
            return marked == ["web-gone", "web-late"]

        await wait_for(one_each, 10, what="one NodeNotReady event for each of web-gone and web-late")
        assert all(e["count"] == 1 for e in await events(client, "NodeNotReady") if e["involvedObject"]["kind"] == "Pod")


async def _endpoints_are(client: Client, ready: set[str], not_ready: set[str]) -> tuple[set[str], set[str]] | None:
    got = await endpoint_pods(client, "web")
    return got if got == (ready, not_ready) else None
