"""The kubelet's side of kubectl debug: when a pod's ephemeral containers run (nodes/podworker.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nodes.podworker import PodWorker
from nodes.runtime.sim import SimBehavior, SimRuntime
from tests.unit._runtime_helpers import until


def stuck_in_init() -> dict[str, Any]:
    """A pod whose init container never ends (it waits for something that is not there)."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "stuck", "namespace": "default", "uid": "uid-stuck", "resourceVersion": "3"},
            "spec": {"nodeName": "sim-0", "terminationGracePeriodSeconds": 0,
                     "initContainers": [{"name": "wait-db", "image": "pause"}],
                     "containers": [{"name": "app", "image": "pause"}]}}


async def test_an_ephemeral_container_runs_while_the_pod_is_still_initializing(tmp_path: Path) -> None:
    """The kubelet starts ephemeral containers "even if initialization is not yet complete" (computePodActions):
    debugging a pod stuck in an init container is what kubectl debug is often for."""
    seen: list[dict[str, Any]] = []
    started: list[str] = []

    def behavior(cfg: Any) -> SimBehavior:
        started.append(cfg.name)
        return SimBehavior(run_for=None)

    pod = stuck_in_init()
    worker = PodWorker(pod, SimRuntime(behavior=behavior), pod_ip="127.1.0.2", log_dir=tmp_path, on_status=seen.append)
    await worker.start()
    try:
        await until(lambda: bool(seen) and "running" in seen[-1]["initContainerStatuses"][0]["state"],
                    what="the init container running")
        pod["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "pause", "targetContainerName": "wait-db"}]
        worker.update(pod)

        def dbg() -> dict[str, Any]:
            return next((c for c in seen[-1].get("ephemeralContainerStatuses") or [] if c["name"] == "dbg"), {})
        await until(lambda: "running" in dbg().get("state", {}), what="the ephemeral container running")
        assert "running" in seen[-1]["initContainerStatuses"][0]["state"] and "app" not in started
    finally:
        await worker.stop(grace=0)
