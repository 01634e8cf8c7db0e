"""The simulated runtime like KWOK: no Pulled/Created/Started events, and a pod reaches Running with one
status write (the kubelet's status manager coalesces the worker's changes); real runtimes keep their events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from nodes.kubelet import StatusManager
from nodes.podworker import PodWorker
from nodes.runtime.sim import SimBehavior, SimRuntime
from tests.unit._runtime_helpers import until


def make_pod(name: str = "web") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "1"},
            "spec": {"nodeName": "sim-0", "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "app", "image": "pause"}]}}


class FakeClient:
    """update_status only; remembers each write and can hold them to show that one pod has one in flight."""

    def __init__(self, pods: dict[tuple[str, str], dict]) -> None:
        self.pods = pods
        self.writes: list[dict] = []
        self.in_flight: dict[str, int] = {}
        self.max_in_flight_per_pod = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def update_status(self, obj: dict) -> dict:
        name = obj["metadata"]["name"]
        self.in_flight[name] = self.in_flight.get(name, 0) + 1
        self.max_in_flight_per_pod = max(self.max_in_flight_per_pod, self.in_flight[name])
        try:
            await self.gate.wait()
            self.writes.append(obj)
            key = (obj["metadata"]["namespace"], name)
            self.pods[key] = dict(self.pods[key], status=obj["status"])
            return self.pods[key]
        finally:
            self.in_flight[name] -= 1


async def test_a_sim_pod_runs_with_one_status_write_and_no_events(tmp_path: Path) -> None:
    pod = make_pod()
    pods = {("default", "web"): pod}
    client = FakeClient(pods)
    statuses = StatusManager(client, lambda ns, n: pods.get((ns, n)), coalesce=0.05)  # type: ignore[arg-type]
    statuses.start()
    events: list[tuple[str, str, str]] = []
    worker = PodWorker(pod, SimRuntime(), pod_ip="127.1.0.2", log_dir=tmp_path,
                       on_status=lambda st: statuses.set(("default", "web"), "uid-web", st),
                       on_event=lambda *e: events.append(e))
    try:
        await worker.start()
        await until(lambda: client.writes, what="a status write")
        # that one write already said everything: posting again finds nothing to change
        assert await statuses.post(("default", "web")) is False
        assert len(client.writes) == 1
        st = client.writes[0]["status"]
        assert st["phase"] == "Running" and st["containerStatuses"][0]["state"].get("running")
        assert next(c for c in st["conditions"] if c["type"] == "Ready")["status"] == "True"
        assert events == []  # like KWOK: no Pulled, Created, Started
        await worker.stop(grace=0)
        assert events == []  # nor a Killing on deletion
    finally:
        await statuses.stop()


async def test_a_failing_sim_container_still_records_why(tmp_path: Path) -> None:
    runtime = SimRuntime(behavior=lambda cfg: SimBehavior(pull_error='failed to pull image "nope"'))
    events: list[tuple[str, str, str]] = []
    worker = PodWorker(make_pod(), runtime, pod_ip="127.1.0.2", log_dir=tmp_path, on_status=lambda st: None,
                       on_event=lambda *e: events.append(e), backoff_base=0.05, backoff_max=0.1)
    await worker.start()
    await until(lambda: ("Failed", "Error: ErrImagePull", "Warning") in events, what="ErrImagePull event")
    await worker.stop(grace=0)


async def test_status_manager_coalesces_and_posts_one_pod_at_a_time() -> None:
    pods = {("default", f"p{i}"): make_pod(f"p{i}") for i in range(50)}
    client = FakeClient(pods)
    client.gate.clear()
    statuses = StatusManager(client, lambda ns, n: pods.get((ns, n)), coalesce=0.01, concurrency=8)  # type: ignore[arg-type]
    statuses.start()
    try:
        for i in range(50):
            for phase in ("Pending", "Running"):  # a burst of changes: one write
                statuses.set(("default", f"p{i}"), f"uid-p{i}", {"phase": phase})
        await until(lambda: sum(client.in_flight.values()) == 8 and client.in_flight.get("p0") == 1,
                    what="8 writes in flight, p0's among them")
        # a change while p0's write is in flight goes out after it, never beside it
        statuses.set(("default", "p0"), "uid-p0", {"phase": "Succeeded"})
        client.gate.set()
        await until(lambda: len(client.writes) == 51, what="51 writes")
        assert client.max_in_flight_per_pod == 1
        assert pods[("default", "p0")]["status"]["phase"] == "Succeeded"
        assert all(pods[("default", f"p{i}")]["status"]["phase"] == "Running" for i in range(1, 50))
    finally:
        await statuses.stop()
