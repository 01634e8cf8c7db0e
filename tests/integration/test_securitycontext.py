"""securityContext users and groups on a process node run as root: the docs' security-context-demo (runAsUser,
runAsGroup, fsGroup on an emptyDir, allowPrivilegeEscalation: false) as `id` shows it in an exec, a container's
runAsUser over its pod's with its output still logged by the node, and runAsNonRoot's refusal."""

from __future__ import annotations

import os
from typing import Any

import pytest

from control.client import Client
from nodes.node import Node
from tests.helpers import wait_for
from tests.integration import test_rootfs
from tests.integration.test_kubelet import phase_is
from tests.integration.test_volumes import logs_say

# the fixtures: a real node in this process, nothing left mounted on the host after
node, host_untouched = test_rootfs.node, test_rootfs.host_untouched

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60),
              pytest.mark.skipif(os.geteuid() != 0, reason="a node not run as root runs containers as its own user")]

# https://k8s.io/examples/pods/security/security-context.yaml
DEMO: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "security-context-demo", "namespace": "default"},
    "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 0,
             "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000},
             "volumes": [{"name": "sec-ctx-vol", "emptyDir": {}}],
             "containers": [{"name": "sec-ctx-demo", "image": "busybox:1.28", "command": ["sh", "-c", "sleep 1h"],
                             "volumeMounts": [{"name": "sec-ctx-vol", "mountPath": "/data/demo"}],
                             "securityContext": {"allowPrivilegeEscalation": False}}]}}


async def test_the_docs_security_context_demo(client: Client, node: Node) -> None:
    await client.create(DEMO)
    await wait_for(phase_is(client, "security-context-demo", "Running"), 15, what="Running")
    out = await client.exec("security-context-demo", ["id"])
    assert (out["exitCode"], out["output"]) == (0, "uid=1000 gid=3000 groups=2000,3000\n"), out
    out = await client.exec("security-context-demo", ["sh", "-c", (
        "cd /data/demo && echo hello > testfile && stat -c '%u %g' testfile && stat -c '%A %g' /data/demo && "
        "grep NoNewPrivs /proc/self/status && stat -c %u /proc/$(pgrep -n -x -f 'sleep 1h')")])
    # the main process (sleep) runs as 1000 too; a file made in the volume is the fsGroup's (a setgid directory)
    assert out["output"] == "1000 2000\ndrwxrwsrwx 2000\nNoNewPrivs:\t1\n1000\n", out


async def test_a_containers_run_as_user_overrides_the_pods_and_its_output_is_logged(client: Client,
                                                                                    node: Node) -> None:
    await client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two", "namespace": "default"},
        "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 0,
                 "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [4000]},
                 "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "id; sleep 30"],
                                 "securityContext": {"runAsUser": 2000}}]}})
    await wait_for(logs_say(client, "two", "uid=2000 gid=3000 groups=3000,4000\n"), 15, what="id in the log")


async def test_run_as_non_root_refuses_an_image_that_runs_as_root(client: Client, node: Node) -> None:
    created = await client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nonroot", "namespace": "default"},
        "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 0, "securityContext": {"runAsNonRoot": True},
                 "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "30"]}]}})

    async def refused() -> dict | None:
        statuses = (await client.get("Pod", "nonroot")).get("status", {}).get("containerStatuses") or [{}]
        waiting = (statuses[0].get("state") or {}).get("waiting") or {}
        return waiting if waiting.get("reason") == "CreateContainerConfigError" else None

    waiting = await wait_for(refused, 15, what="CreateContainerConfigError")
    assert waiting["message"] == ('container has runAsNonRoot and image will run as root (pod: '
                                  f'"nonroot_default({created["metadata"]["uid"]})", container: main)')
