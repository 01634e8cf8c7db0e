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


async def test_what_ran_before_a_kubelet_restart_keeps_its_log(tmp_path: Path) -> None:
    """A kubelet that restarts takes over the node's log files: an ephemeral container that had ended (it is
    never run again) still shows its output, and `logs --previous` of a container the restart ran again shows
    what the node's earlier run wrote (both read as empty, or 'not found', before)."""
    from nodes.runtime.process import ProcessRuntime

    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "resourceVersion": "3"},
        "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 0,
                 "containers": [{"name": "app", "image": "busybox", "command": ["sh", "-c", "echo run; exec sleep 60"]}]}}
    seen: list[dict[str, Any]] = []
    runtime = ProcessRuntime()
    try:
        worker = PodWorker(pod, runtime, pod_ip="127.1.0.2", log_dir=tmp_path, on_status=seen.append)
        await worker.start()
        try:
            await until(lambda: "running" in worker.status["containerStatuses"][0]["state"]
                        and worker.logs("app") == "run\n", what="the app's first line")
            pod["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "busybox",
                                                   "command": ["sh", "-c", "echo found it"]}]
            worker.update(pod)
            await until(lambda: "terminated" in worker.status["ephemeralContainerStatuses"][0]["state"],
                        what="the debug container's end")
            assert worker.logs("dbg") == "found it\n"
            status = worker.status
        finally:
            await worker.stop(grace=0)  # the node goes down

        again = PodWorker(dict(pod, status=status), runtime, pod_ip="127.1.0.2", log_dir=tmp_path,
                          on_status=seen.append)
        await again.start()
        try:
            assert again.logs("dbg") == "found it\n"
            await until(lambda: "running" in again.status["containerStatuses"][0]["state"], what="the app again")
            assert again.logs("app", previous=True) == "run\n"
            assert again.status["ephemeralContainerStatuses"][0]["restartCount"] == 0
        finally:
            await again.stop(grace=0)
    finally:
        await runtime.shutdown()
