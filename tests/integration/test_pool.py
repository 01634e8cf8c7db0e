"""The simulated node pool: a thousand nodes from one process register, heartbeat, stay Ready and run pods."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from control.api import meta
from control.client import Client
from control.plane import ControlPlane
from tests.helpers import Proc, wait_for

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]
COUNT = 1000
LEASE = 16.0  # renewals every 4 s: 250 a second against the test's in-process API server


@pytest.fixture
def pool(plane: ControlPlane, tmp_path: Path) -> Proc:
    assert plane.server is not None and plane.credentials is not None
    proc = Proc(["nodes", "--count", str(COUNT), "--name-prefix", "sim-", "--cpu", "8", "--memory", "16Gi",
                 "--labels", "pool=yes", "--lease-duration", str(LEASE), "--start-delay", "0.1",
                 "--server", plane.server.address, "--token", plane.credentials.admin], tmp_path)
    try:
        yield proc
    finally:
        proc.close()


def ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (node.get("status") or {}).get("conditions") or [])


async def test_a_thousand_simulated_nodes_register_heartbeat_and_run_pods(client: Client, pool: Proc) -> None:
    await wait_for(lambda: "simulated nodes ready" in pool.output(), 40, what=f"the pool to start:\n{pool.output()}")
    nodes = (await client.list("Node", label_selector="pool=yes"))["items"]
    assert len(nodes) == COUNT
    assert all(ready(n) for n in nodes)
    cidrs = {n["spec"]["podCIDR"] for n in nodes}
    assert len(cidrs) == COUNT  # every node its own range
    n7 = next(n for n in nodes if n["metadata"]["name"] == "sim-7")
    assert n7["status"]["capacity"] == {"cpu": "8", "memory": "16Gi", "pods": "110"}
    assert n7["metadata"]["labels"]["type"] == "kwok"
    leases = {ls["metadata"]["name"]: ls["spec"]["renewTime"]
              for ls in (await client.list("Lease", "kube-node-lease"))["items"]}
    assert set(leases) >= {f"sim-{i}" for i in range(COUNT)}
    start = max(meta.parse_time(t) or 0 for t in leases.values())

    # A pod bound to a simulated node runs there (on timers) and reports its status.
    await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sim-pod", "namespace": "default"},
                         "spec": {"nodeName": "sim-7", "containers": [{"name": "app", "image": "nginx"}]}})

    async def running() -> dict | None:
        p = await client.get("Pod", "sim-pod")
        return p if (p.get("status") or {}).get("phase") == "Running" else None

    p = await wait_for(running, 15, what="the simulated pod to run")
    assert p["status"]["podIP"].startswith(n7["spec"]["podCIDR"].rsplit(".", 1)[0] + ".")
    out = await client.request("logs", {"namespace": "default", "name": "sim-pod"})
    assert "[sim] container app of pod default/sim-pod started" in out["text"]

    # Every lease is renewed within a renewal interval (plus slack), so every node stays Ready.
    async def all_renewed() -> bool:
        items = (await client.list("Lease", "kube-node-lease"))["items"]
        fresh = [ls for ls in items if ls["metadata"]["name"].startswith("sim-")
                 and (meta.parse_time(ls["spec"]["renewTime"]) or 0) > start]
        return len(fresh) == COUNT

    await wait_for(all_renewed, LEASE / 4 + 8, interval=0.5, what="every lease to be renewed")
    nodes = (await client.list("Node", label_selector="pool=yes"))["items"]
    assert all(ready(n) for n in nodes)
    pool.signal(signal.SIGTERM)
    await wait_for(lambda: pool.popen.poll() is not None, 20, what="the pool to exit")
    assert pool.popen.returncode == 0, pool.output()
