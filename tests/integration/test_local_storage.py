"""Local ephemeral storage on a process node, as the kubelet enforces it: the node's ephemeral-storage capacity
(and the scheduler filtering on it), an emptyDir of medium Memory as a tmpfs of the kubelet's size, and the
eviction manager evicting a pod past an emptyDir's sizeLimit, a container's ephemeral-storage limit or the pod's
total, with the kubelet's messages; a ReplicaSet's evicted pod is replaced."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from control.api.quantity import format_bytes
from control.client import Client
from control.plane import ControlPlane
from nodes.node import Node
from tests.conftest import running_plane
from tests.helpers import wait_for
from tests.integration.test_kubelet import phase_is
from tests.integration.test_volumes import events, pod, process_node, sh

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

MI = 1024 * 1024


@pytest.fixture
async def node(plane: ControlPlane, tmp_path: Path) -> AsyncIterator[Node]:
    async with process_node(plane, tmp_path, eviction_interval=0.3) as n:
        yield n


def resources(**limits: str) -> dict[str, Any]:
    return {"limits": limits}


def unbound(p: dict) -> dict:
    """The pod for the scheduler to place."""
    del p["spec"]["nodeName"]
    return p


async def evicted(client: Client, name: str) -> dict:
    p = await wait_for(phase_is(client, name, "Failed"), 30, what=f"{name} Failed")
    assert p["status"]["reason"] == "Evicted"
    return p


async def test_a_pod_writing_past_its_emptydir_size_limit_is_evicted(client: Client, node: Node) -> None:
    await client.create(pod("cache", [sh("c", "dd if=/dev/zero of=/cache/fill bs=1M count=3; sleep 3600",
                                         {"name": "cache", "mountPath": "/cache"})],
                            [{"name": "cache", "emptyDir": {"sizeLimit": "1Mi"}}]))
    p = await evicted(client, "cache")
    message = 'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". '
    assert p["status"]["message"] == message
    assert [(e["type"], e["message"]) for e in await events(client, "cache") if e["reason"] == "Evicted"] == \
        [("Warning", message)]
    # the evicted pod's volumes go once its containers stopped; the pod stays, Failed
    assert node.kubelet is not None
    pod_dir = node.kubelet.log_dir / p["metadata"]["uid"]
    await wait_for(lambda: not pod_dir.exists(), 10, what="the evicted pod's volumes to go")
    assert (await client.get("Pod", "cache"))["status"]["phase"] == "Failed"


async def test_a_container_past_its_ephemeral_storage_limit_is_evicted(client: Client, node: Node) -> None:
    # c writes its writable layer past its own limit; the pod's total stays under the sum of the limits
    await client.create(pod("layer", [
        {**sh("c", "dd if=/dev/zero of=/tmp/fill bs=1M count=3; sleep 3600"),
         "resources": resources(**{"ephemeral-storage": "1Mi"})},
        {**sh("roomy", "sleep 3600"), "resources": resources(**{"ephemeral-storage": "100Mi"})},
    ], []))
    # alone, a container past its limit takes the pod past the total first, as the kubelet checks it before
    await client.create(pod("alone", [{**sh("c", "dd if=/dev/zero of=/tmp/fill bs=1M count=3; sleep 3600"),
                                        "resources": resources(**{"ephemeral-storage": "2Mi"})}], []))
    p = await evicted(client, "layer")
    assert p["status"]["message"] == 'Container c exceeded its local ephemeral storage limit "1Mi". '
    p = await evicted(client, "alone")
    assert p["status"]["message"] == "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. "
    # within its limit, a pod runs on
    await client.create(pod("within", [{**sh("c", "dd if=/dev/zero of=/tmp/fill bs=1M count=1; sleep 3600"),
                                         "resources": resources(**{"ephemeral-storage": "8Mi"})}], []))
    await wait_for(phase_is(client, "within", "Running"), 20, what="within Running")
    assert node.kubelet is not None
    await node.kubelet.evict_local_storage()
    assert (await client.get("Pod", "within"))["status"]["phase"] == "Running"


async def test_an_emptydir_of_medium_memory_is_a_tmpfs_of_the_kubelets_size(client: Client, node: Node) -> None:
    mount = {"name": "shm", "mountPath": "/shm"}
    await client.create(pod("sized", [sh("c", "dd if=/dev/zero of=/shm/fill bs=1M count=3; echo dd=$?; sleep 3600",
                                         mount)],
                            [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Mi"}}]))
    # no sizeLimit: the pod's memory limit (every container has one)
    await client.create(pod("by-limit", [{**sh("c", "sleep 3600", mount),
                                          "resources": resources(memory="48Mi")}],
                            [{"name": "shm", "emptyDir": {"medium": "Memory"}}]))
    assert node.kubelet is not None
    for name, size in (("sized", 2 * MI), ("by-limit", 48 * MI)):
        p = await wait_for(phase_is(client, name, "Running"), 20, what=f"{name} Running")
        path = node.kubelet.log_dir / p["metadata"]["uid"] / "volumes" / "kubernetes.io~empty-dir" / "shm"
        assert os.path.ismount(path)
        st = os.statvfs(path)
        assert st.f_blocks * st.f_frsize == size
    # past its size a write fails, as on a full tmpfs: the memory limit, not eviction, bounds it
    from tests.integration.test_volumes import logs_say
    out = await wait_for(logs_say(client, "sized", "dd="), 20, what="dd's end")
    assert "No space left on device" in out and "dd=1" in out


async def test_memory_volume_usage_counts_as_the_containers_memory(client: Client, node: Node) -> None:
    # the tmpfs is the pod's limit in size: filled, it and the shell's own memory are past the limit
    await client.create(pod("oom", [{**sh("c", "dd if=/dev/zero of=/shm/fill bs=1M count=16; sleep 3600",
                                          {"name": "shm", "mountPath": "/shm"}),
                                     "resources": resources(memory="16Mi")}],
                            [{"name": "shm", "emptyDir": {"medium": "Memory"}}], restartPolicy="Never"))
    p = await wait_for(phase_is(client, "oom", "Failed"), 30, what="oom Failed")
    assert p["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "OOMKilled"


async def test_an_evicted_replicaset_pod_is_replaced(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", controllers=True) as plane, \
            process_node(plane, tmp_path, eviction_interval=0.3):
        client = plane.client("test")
        await client.connect()
        try:
            template = pod("x", [sh("c", "dd if=/dev/zero of=/cache/fill bs=1M count=2; sleep 3600",
                                    {"name": "cache", "mountPath": "/cache"})],
                           [{"name": "cache", "emptyDir": {"sizeLimit": "1Mi"}}])
            template["metadata"] = {"labels": {"app": "fill"}}
            await client.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "metadata": {"name": "fill", "namespace": "default"},
                                 "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "fill"}},
                                          "template": template}})

            async def two_evicted() -> list[dict] | None:
                pods = (await client.list("Pod", "default"))["items"]
                gone = [p for p in pods if (p.get("status") or {}).get("reason") == "Evicted"]
                return gone if len(gone) >= 2 else None
            # evicted, replaced by the ReplicaSet, and the replacement (writing the same) evicted in its turn
            gone = await wait_for(two_evicted, 60, what="an evicted pod replaced")
            assert all(p["status"]["phase"] == "Failed" for p in gone)
            assert len({p["metadata"]["name"] for p in gone}) == len(gone)
        finally:
            await client.delete("ReplicaSet", "fill", "default")
            await client.close()


async def test_the_node_reports_its_file_system_and_the_scheduler_filters_on_it(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", scheduler=True) as plane, process_node(plane, tmp_path):
        client = plane.client("test")
        await client.connect()
        try:
            # the kubelet's root dir file system: here the node's data dir's
            st = os.statvfs(tmp_path / "node-1")
            status = (await client.get("Node", "node-1", None))["status"]
            assert status["capacity"]["ephemeral-storage"] == format_bytes(st.f_blocks * st.f_frsize)
            assert status["allocatable"]["ephemeral-storage"] == status["capacity"]["ephemeral-storage"]
            request = {"requests": {"ephemeral-storage": "1Ei"}}
            await client.create(unbound(pod("huge", [{**sh("c", "sleep 3600"), "resources": request}], [])))

            async def failed() -> str | None:
                found = [e["message"] for e in await events(client, "huge") if e["reason"] == "FailedScheduling"]
                return found[-1] if found else None
            message = await wait_for(failed, 20, what="huge's FailedScheduling")
            assert message.startswith("0/1 nodes are available: 1 Insufficient ephemeral-storage.")
            assert (await client.get("Pod", "huge"))["status"]["phase"] == "Pending"
            await client.create(unbound(pod("small", [{**sh("c", "sleep 3600"),
                                                       "resources": {"requests": {"ephemeral-storage": "1Mi"}}}],
                                            [])))
            await wait_for(phase_is(client, "small", "Running"), 20, what="small Running")
        finally:
            await client.close()
