"""A kubelet that restarts continues its pods' restartCount from their status instead of starting at 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nodes.podworker import PodWorker
from nodes.runtime.sim import SimBehavior, SimRuntime
from tests.unit._runtime_helpers import until


def pod_with(status: dict[str, Any] | None) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "resourceVersion": "7"},
        "spec": {"nodeName": "sim-0", "terminationGracePeriodSeconds": 0,
                 "initContainers": [{"name": "setup", "image": "pause"}],
                 "containers": [{"name": "app", "image": "pause"}, {"name": "side", "image": "pause"}]}}
    if status is not None:
        pod["status"] = status
    return pod


async def running_counts(pod: dict[str, Any], tmp_path: Path) -> dict[str, int]:
    seen: list[dict[str, Any]] = []
    # the init container runs to completion at once; the others run until stopped
    runtime = SimRuntime(behavior=lambda cfg: SimBehavior(run_for=0.0 if cfg.name == "setup" else None))
    worker = PodWorker(pod, runtime, pod_ip="127.1.0.2", log_dir=tmp_path, on_status=seen.append)
    await worker.start()
    try:
        def running() -> bool:
            cs = (seen[-1].get("containerStatuses") or []) if seen else []
            return len(cs) == 2 and all("running" in c["state"] for c in cs)
        await until(running, what="both containers running")
        st = seen[-1]
        return {c["name"]: c["restartCount"] for c in st["containerStatuses"] + st["initContainerStatuses"]}
    finally:
        await worker.stop(grace=0)


async def test_a_new_pod_starts_at_zero(tmp_path: Path) -> None:
    assert await running_counts(pod_with(None), tmp_path) == {"app": 0, "side": 0, "setup": 0}


async def test_after_a_node_restart_the_count_goes_on(tmp_path: Path) -> None:
    status = {
        "phase": "Running",
        "initContainerStatuses": [{"name": "setup", "restartCount": 0,
                                   "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
        "containerStatuses": [
            # ran, restarted 3 times, running when the node went away: its next start is restart 4
            {"name": "app", "restartCount": 3, "state": {"running": {"startedAt": "2026-11-26T10:00:00Z"}},
             "lastState": {"terminated": {"exitCode": 1}}},
            # never started (still waiting): its first start is not a restart
            {"name": "side", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}},
        ],
    }
    assert await running_counts(pod_with(status), tmp_path) == {"app": 4, "side": 0, "setup": 1}


async def test_an_ephemeral_container_is_run_once_and_not_again_after_a_node_restart(tmp_path: Path) -> None:
    """kubectl debug's container runs once when it appears in the pod; a kubelet that restarts finds in the pod's
    status that it ran and does not run it again (ephemeral containers are never restarted)."""
    seen: list[dict[str, Any]] = []
    started: list[str] = []

    def behavior(cfg: Any) -> SimBehavior:
        started.append(cfg.name)
        return SimBehavior(run_for=0.0 if cfg.name in ("setup", "dbg") else None)

    pod = pod_with(None)
    worker = PodWorker(pod, SimRuntime(behavior=behavior), pod_ip="127.1.0.2", log_dir=tmp_path, on_status=seen.append)
    await worker.start()
    try:
        await until(lambda: bool(seen) and all("running" in c["state"] for c in seen[-1]["containerStatuses"]),
                    what="the pod's containers running")
        pod["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "pause"}]
        worker.update(pod)

        def dbg() -> dict[str, Any]:
            return next((c for c in seen[-1].get("ephemeralContainerStatuses") or [] if c["name"] == "dbg"), {})
        await until(lambda: "terminated" in dbg().get("state", {}), what="the ephemeral container's end")
        assert (dbg()["restartCount"], dbg()["ready"]) == (0, False)
        status = seen[-1]
    finally:
        await worker.stop(grace=0)
    assert started.count("dbg") == 1

    started.clear()
    seen.clear()
    again = PodWorker(dict(pod, status=status), SimRuntime(behavior=behavior), pod_ip="127.1.0.2", log_dir=tmp_path,
                      on_status=seen.append)
    await again.start()
    try:
        await until(lambda: bool(seen) and all("running" in c["state"] for c in seen[-1]["containerStatuses"]),
                    what="the pod's containers running again")
        assert "dbg" not in started
        assert seen[-1]["ephemeralContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    finally:
        await again.stop(grace=0)
