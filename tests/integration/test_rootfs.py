"""A container's own writable layer on a process node: what it writes outside its volumes stays in its layer (never
on the node), a restarted container starts without it while its emptyDir keeps its files, exec sees the layer, and
readOnlyRootFilesystem makes all but its volumes read-only; nothing is left mounted or in the node's data dir."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from nodes.node import Node
from tests.helpers import wait_for
from tests.integration.test_kubelet import phase_is
from tests.integration.test_volumes import logs_say, process_node

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

# Paths on the node's own filesystem that a container writes: each must stay in its layer.
WRITTEN = ("/etc/kube-tui-layer-test", "/usr/share/kube-tui-layer-test", "/tmp/kube-tui-layer-test")


@pytest.fixture
def host_untouched() -> Iterator[None]:
    """None of WRITTEN appears on the node (removed after a failing run, so that the next one starts clean)."""
    try:
        yield
        assert not [p for p in WRITTEN if os.path.lexists(p)]
    finally:
        for p in WRITTEN:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)


@pytest.fixture
async def node(plane: ControlPlane, tmp_path: Path, host_untouched: None) -> AsyncIterator[Node]:
    async with process_node(plane, tmp_path) as n:  # every layer made in its container's own namespace
        yield n


def pod(name: str, script: str, *, volumes: bool = True, **container: Any) -> dict:
    c: dict[str, Any] = {"name": "main", "image": "busybox", "command": ["sh", "-c", script], **container}
    spec: dict[str, Any] = {"nodeName": "node-1", "terminationGracePeriodSeconds": 0, "containers": [c]}
    if volumes:
        c["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
        spec["volumes"] = [{"name": "cache", "emptyDir": {}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


async def gone(client: Client, name: str) -> bool:
    try:
        await client.get("Pod", name)
    except ApiError:
        return True
    return False


async def test_a_restarted_container_gets_a_fresh_layer_and_keeps_its_empty_dir(client: Client, node: Node,
                                                                                 tmp_path: Path) -> None:
    script = ("if [ -e /cache/ran ]; then"
              "  echo \"second: etc=$(cat /etc/kube-tui-layer-test 2>/dev/null || echo absent) cache=$(cat /cache/ran)\";"
              "  sleep 30; "
              "else"
              "  echo layer > /etc/kube-tui-layer-test && echo kept > /cache/ran &&"
              "  echo \"first: etc=$(cat /etc/kube-tui-layer-test)\"; exit 1; "
              "fi")
    created = await client.create(pod("layer", script))
    await wait_for(logs_say(client, "layer", "second: etc=absent cache=kept"), 20, what="the restarted container")

    async def restarted() -> bool:
        statuses = (await client.get("Pod", "layer")).get("status", {}).get("containerStatuses") or [{}]
        return int(statuses[0].get("restartCount") or 0) >= 1

    await wait_for(restarted, 10, what="restartCount 1")
    assert not os.path.exists("/etc/kube-tui-layer-test")
    await client.delete("Pod", "layer", grace_period=0)
    await wait_for(lambda: gone(client, "layer"), 15, what="the pod to go")
    pods = tmp_path / "node-1" / "pods"
    await wait_for(lambda: not (pods / created["metadata"]["uid"]).exists(), 10, what="the pod's directory to go")


async def test_a_container_without_volumes_writes_its_layer_and_exec_sees_it(client: Client, node: Node) -> None:
    await client.create(pod("plain", "echo main > /usr/share/kube-tui-layer-test && sleep 30", volumes=False))
    await wait_for(phase_is(client, "plain", "Running"), 15, what="Running")

    async def written() -> dict:
        out = await client.exec("plain", ["cat", "/usr/share/kube-tui-layer-test"])
        return out if out["exitCode"] == 0 else {}

    assert (await wait_for(written, 10, what="the file the container wrote"))["output"] == "main\n"
    out = await client.exec("plain", ["sh", "-c", "echo exec > /tmp/kube-tui-layer-test"])
    assert out["exitCode"] == 0, out
    assert (await client.exec("plain", ["cat", "/tmp/kube-tui-layer-test"]))["output"] == "exec\n"
    assert not os.path.exists("/usr/share/kube-tui-layer-test") and not os.path.exists("/tmp/kube-tui-layer-test")


async def test_read_only_root_filesystem_leaves_only_the_volumes_writable(client: Client, node: Node) -> None:
    await client.create(pod("ro", "sleep 30", securityContext={"readOnlyRootFilesystem": True}))
    await wait_for(phase_is(client, "ro", "Running"), 15, what="Running")
    out = await client.exec("ro", ["sh", "-c", "touch /etc/kube-tui-layer-test; touch /tmp/kube-tui-layer-test; "
                                               "echo ok > /cache/file && cat /cache/file"])
    assert out["output"] == ("touch: cannot touch '/etc/kube-tui-layer-test': Read-only file system\n"
                             "touch: cannot touch '/tmp/kube-tui-layer-test': Read-only file system\nok\n"), out
