"""The HorizontalPodAutoscaler end to end: a real control plane (scheduler and controller manager) and a real
node whose pod burns CPU; the HPA reads the kubelet's usage and scales the Deployment up."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from control.client import Client
from control.plane import ControlPlane
from nodes.node import Node, NodeOptions
from nodes.nodestatus import NodeConfig
from tests.conftest import FAST, running_plane
from tests.helpers import wait_for

pytestmark = pytest.mark.timeout(90)

# quick syncs; a new pod's CPU is trusted after 1 s (the kubelet here samples every 0.3 s)
TIMINGS = dataclasses.replace(FAST, hpa_sync_period=0.5, hpa_downscale_stabilization=1.0,
                              hpa_cpu_initialization_period=1.0, hpa_initial_readiness_delay=0.5)
# about a third of a core: far over a 50m request, and light on a busy machine
BURN = "import time\nwhile True:\n    t = time.time()\n    while time.time() - t < 0.03: pass\n    time.sleep(0.07)\n"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[ControlPlane, Client]]:
    async with running_plane(tmp_path / "data", scheduler=True, controllers=True, timings=TIMINGS,
                             bookmark_interval=0.2) as plane:
        assert plane.server is not None and plane.credentials is not None
        opts = NodeOptions(server=plane.server.address, token=plane.credentials.first_join_token(),
                           data_dir=tmp_path / "node-1", timings=TIMINGS, cidr_wait=0.3, usage_interval=0.3, proxy=False)
        node = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20), opts, say=lambda s: None)
        await node.start()
        c = plane.client("test")
        await c.connect()
        try:
            yield plane, c
        finally:
            await c.close()
            await node.stop()


def deployment(name: str, command: list[str], requests: dict | None, kind: str = "Deployment") -> dict:
    container: dict = {"name": "main", "image": "python", "command": command}
    if requests is not None:
        container["resources"] = {"requests": requests}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]}}}}


def hpa(name: str, max_replicas: int, kind: str = "Deployment") -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
                     "minReplicas": 1, "maxReplicas": max_replicas,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 50}}}]}}


async def events_of(c: Client, name: str) -> list[dict]:
    return [e for e in (await c.list("Event", "default"))["items"]
            if (e.get("involvedObject") or {}).get("kind") == "HorizontalPodAutoscaler"
            and e["involvedObject"].get("name") == name]


async def test_a_cpu_burning_pod_makes_the_hpa_scale_its_deployment_up(cluster: tuple[ControlPlane, Client]) -> None:
    _, c = cluster
    await c.create(deployment("burn", ["python3", "-c", BURN], {"cpu": "50m"}))
    created = await c.create(hpa("burn", 2))
    assert created["spec"]["minReplicas"] == 1 and created["status"] == {"desiredReplicas": 0}

    async def scaled() -> bool:
        return (await c.get("Deployment", "burn"))["spec"]["replicas"] == 2

    await wait_for(scaled, timeout=60, interval=0.2, what="the HPA to scale burn to 2")

    async def recorded() -> dict | None:
        st = (await c.get("HorizontalPodAutoscaler", "burn")).get("status") or {}
        return st if st.get("lastScaleTime") and st.get("currentMetrics") else None

    status = await wait_for(recorded, timeout=20, interval=0.2, what="the HPA's status")
    conds = {x["type"]: x for x in status["conditions"]}
    assert conds["AbleToScale"]["status"] == "True"
    assert conds["ScalingActive"]["reason"] == "ValidMetricFound"
    assert conds["ScalingActive"]["message"] == ("the HPA was able to successfully calculate a replica count from cpu "
                                                 "resource utilization (percentage of request)")
    assert status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] > 50
    messages = [e["message"] for e in await events_of(c, "burn") if e["reason"] == "SuccessfulRescale"]
    assert "New size: 2; reason: cpu resource utilization (percentage of request) above target" in messages
    sources = {e["source"]["component"] for e in await events_of(c, "burn")}
    assert sources == {"horizontal-pod-autoscaler"}


async def test_the_hpa_scales_a_statefulset_through_its_scale(cluster: tuple[ControlPlane, Client]) -> None:
    _, c = cluster
    await c.create(deployment("hot", ["python3", "-c", BURN], {"cpu": "50m"}, kind="StatefulSet"))
    await c.create(hpa("hot", 2, kind="StatefulSet"))

    async def second_pod() -> bool:
        pods = {p["metadata"]["name"] for p in (await c.list("Pod", "default"))["items"]}
        return (await c.get("StatefulSet", "hot"))["spec"]["replicas"] == 2 and "hot-1" in pods

    await wait_for(second_pod, timeout=60, interval=0.2, what="the HPA to scale the set to 2 and hot-1 to appear")
    messages = [e["message"] for e in await events_of(c, "hot") if e["reason"] == "SuccessfulRescale"]
    assert "New size: 2; reason: cpu resource utilization (percentage of request) above target" in messages


async def test_a_pod_without_a_cpu_request_cannot_be_measured(cluster: tuple[ControlPlane, Client]) -> None:
    _, c = cluster
    await c.create(deployment("idle", ["python3", "-c", "import time; time.sleep(600)"], None))
    await c.create(hpa("idle", 3))

    async def failed() -> list[str] | None:
        got = [e["message"] for e in await events_of(c, "idle") if e["reason"] == "FailedComputeMetricsReplicas"]
        return got if any("missing request" in m for m in got) else None

    got = await wait_for(failed, timeout=40, interval=0.2, what="FailedComputeMetricsReplicas")
    pod = next(p for p in (await c.list("Pod", "default"))["items"] if p["metadata"]["name"].startswith("idle-"))
    assert (f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to "
            f"get cpu utilization: missing request for cpu in container main of Pod {pod['metadata']['name']}") in got
    st = (await c.get("HorizontalPodAutoscaler", "idle"))["status"]
    active = next(x for x in st["conditions"] if x["type"] == "ScalingActive")
    assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
    assert (await c.get("Deployment", "idle"))["spec"]["replicas"] == 1
