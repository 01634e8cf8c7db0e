"""A node stopped with Ctrl-C: it reports Ready=False ("node is shutting down") and its pods' containers
terminated (reason NodeShutdown), not ready, so nothing shows them running and Services stop sending to them.
The pods are not failed: like a kubelet that comes back, the node runs them again when it returns."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from control.client import Client
from control.plane import ControlPlane
from tests.helpers import run_cli, wait_for
from tests.integration.test_controllers import manager
from tests.integration.test_kubelet import condition, node_proc, phase_is, pod

pytestmark = pytest.mark.timeout(90)


@pytest.mark.slow
async def test_ctrl_c_of_a_node_process_leaves_no_pod_ready_in_get_pods(
        client: Client, plane: ControlPlane, tmp_path: Path) -> None:
    assert plane.server is not None and plane.credentials is not None
    async with manager(plane, ["nodelifecycle"]):
        proc = node_proc(plane, tmp_path, "leaving")
        try:
            await wait_for(lambda: "ready" in proc.output(), 20, what=f"the node to be ready:\n{proc.output()}")
            web = pod("web", "exec sleep 300", node="leaving", grace=1)
            # as a DaemonSet's pods do (and others for 300 s by default): not evicted while this looks
            web["spec"]["tolerations"] = [{"operator": "Exists", "effect": "NoExecute"}]
            await client.create(web)
            await wait_for(phase_is(client, "web", "Running"), 10, what="web Running")
            proc.signal(signal.SIGINT)
            await wait_for(lambda: proc.popen.poll() is not None, 15, what="the node to exit")
            assert proc.popen.returncode == 0, proc.output()

            async def not_ready() -> dict | None:
                p = await client.get("Pod", "web")
                return p if condition(p, "Ready")["status"] == "False" else None

            web = await wait_for(not_ready, 15, what="the pod marked not ready")
            assert web["status"]["phase"] == "Running"  # not failed: its node runs it again when it returns
            # In a thread: this test's loop serves the API server the command asks.
            out = await asyncio.to_thread(run_cli, ["get", "pods", "--server", plane.server.address,
                                                    "--token", plane.credentials.admin], tmp_path)
            assert out.returncode == 0, out.stderr
            row = next(line.split() for line in out.stdout.splitlines() if line.startswith("web "))
            assert row[1:3] == ["0/1", "NodeShutdown"], out.stdout
            cs = web["status"]["containerStatuses"][0]
            assert cs["state"]["terminated"]["reason"] == "NodeShutdown" and not cs["ready"]
            assert cs["state"]["terminated"]["exitCode"] == 143  # what SIGTERM made of it, not a success
        finally:
            proc.close()
