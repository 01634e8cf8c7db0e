"""Pod scheduling readiness (spec.schedulingGates) end to end: the API server's admission, validation and
binding check, and the scheduler's queue keeping a gated pod out of every scheduling cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.errors import ApiError
from tests.conftest import FAST, running_plane
from tests.helpers import wait_for
from tests.integration.test_pod_affinity import failed_scheduling
from tests.integration.test_scheduler_profiles import bound, make_node
from tui.printers.status import pod_status

GATES = [{"name": "example.com/foo"}, {"name": "example.com/bar"}]


def gated(name: str, **spec: object) -> dict:
    """The docs' pod-with-scheduling-gates.yaml."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"schedulingGates": GATES, "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.6"}],
                     **spec}}


async def test_a_gated_pod_waits_untried_until_its_last_gate_is_removed(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", scheduler=True, timings=FAST) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            await make_node(client, "a")
            created = await client.create(gated("test-pod"))
            cond = created["status"]["conditions"][0]
            assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
                "PodScheduled", "False", "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates")
            assert pod_status(created)[1] == "SchedulingGated"
            # A pod that cannot fit, created after it: once the scheduler has tried and failed this one, it has
            # been through the queue after the gated pod, which it never tried.
            await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nowhere"},
                                 "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "nginx"}]}})
            await wait_for(lambda: failed_scheduling(client, "nowhere"), what="nowhere's FailedScheduling")
            assert await failed_scheduling(client, "test-pod") is None
            pod = await client.get("Pod", "test-pod", "default")
            assert "kube-tui.io/scheduling" not in (pod["metadata"].get("annotations") or {})
            assert pod["spec"].get("nodeName") is None

            # Gates are only ever removed; a bind by hand is refused while any is left.
            with pytest.raises(ApiError) as e:
                await client.patch("Pod", "test-pod", {"spec": {"schedulingGates": GATES + [{"name": "x"}]}})
            assert e.value.code == 422
            assert "spec.schedulingGates[2].name: Forbidden: only deletion is allowed, but found new scheduling gate 'x'" \
                in e.value.message
            with pytest.raises(ApiError) as e:
                await client.bind("default", "test-pod", "a")
            assert e.value.code == 409
            assert e.value.message == ('Operation cannot be fulfilled on pods/binding "test-pod": '
                                       "pod test-pod has non-empty .spec.schedulingGates")

            await client.patch("Pod", "test-pod", {"spec": {"schedulingGates": [{"name": "example.com/bar"}]}})
            pod = await client.get("Pod", "test-pod", "default")
            assert pod_status(pod)[1] == "SchedulingGated"
            assert await bound(client, "test-pod") is None  # one gate left (read after the patch's own update)
            await client.patch("Pod", "test-pod", {"spec": {"schedulingGates": None}})
            assert await wait_for(lambda: bound(client, "test-pod"), what="test-pod bound once ungated") == "a"
            pod = await client.get("Pod", "test-pod", "default")
            scheduled = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
            assert scheduled["status"] == "True"
        finally:
            await client.close()


async def test_a_gated_pods_placement_may_only_be_narrowed(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data") as plane:
        client = plane.client("test")
        await client.connect()
        try:
            await client.create(gated("p", nodeSelector={"zone": "a"}))
            await client.patch("Pod", "p", {"spec": {"nodeSelector": {"disk": "ssd"}}})  # a key added: allowed
            assert (await client.get("Pod", "p", "default"))["spec"]["nodeSelector"] == {"zone": "a", "disk": "ssd"}
            with pytest.raises(ApiError) as e:
                await client.patch("Pod", "p", {"spec": {"nodeSelector": {"zone": "b"}}})
            assert e.value.code == 422
            assert "spec.nodeSelector: Invalid value: " in e.value.message
            assert "only additions to spec.nodeSelector are allowed (no mutations or deletions)" in e.value.message
            term = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
            affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
            await client.patch("Pod", "p", {"spec": {"affinity": affinity}})  # none before: anything may be set
            narrower = {"matchExpressions": term["matchExpressions"] + [{"key": "disk", "operator": "Exists"}]}
            await client.patch("Pod", "p", {"spec": {"affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [narrower]}}}}})
            with pytest.raises(ApiError) as e:
                await client.patch("Pod", "p", {"spec": {"affinity": affinity}})  # the added expression taken away
            assert ("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]: "
                    "Invalid value: ") in e.value.message
            assert "only additions are allowed (no mutations or deletions)" in e.value.message
            # Ungated, the placement is fixed like the rest of a pod's spec.
            await client.patch("Pod", "p", {"spec": {"schedulingGates": None}})
            with pytest.raises(ApiError) as e:
                await client.patch("Pod", "p", {"spec": {"nodeSelector": {"rack": "1"}}})
            assert e.value.code == 422 and "pod updates may not change fields other than" in e.value.message
        finally:
            await client.close()
