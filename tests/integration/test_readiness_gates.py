"""Pod readiness gates with a real node: Ready waits for the conditions the gates name, which someone other
than the kubelet sets on the pod's status, and the kubelet keeps those conditions when it writes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import plane_with_real_node
from tests.helpers import wait_for

GATE = "www.example.com/feature-1"


def _cond(pod: dict, kind: str) -> dict:
    return next((c for c in (pod.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


async def test_ready_waits_for_every_readiness_gate_condition(tmp_path: Path) -> None:
    async with plane_with_real_node(tmp_path) as (client, _node):
        await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gated"},
                             "spec": {"readinessGates": [{"conditionType": GATE}],
                                      "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}})

        async def pod_when(check) -> dict | None:  # type: ignore[no-untyped-def]
            pod = await client.get("Pod", "gated", "default")
            return pod if check(pod) else None

        pod = await wait_for(lambda: pod_when(lambda p: _cond(p, "ContainersReady").get("status") == "True"),
                             what="the container ready")
        ready = _cond(pod, "Ready")
        assert (ready["status"], ready.get("reason"), ready.get("message")) == (
            "False", "ReadinessGatesNotReady", f'corresponding condition of pod readiness gate "{GATE}" does not exist.')

        async def set_gate(status: str) -> None:
            await client.patch("Pod", "gated", {"status": {"conditions": [{"type": GATE, "status": status}]}},
                               subresource="status", patch_type="strategic")

        await set_gate("True")
        pod = await wait_for(lambda: pod_when(lambda p: _cond(p, "Ready").get("status") == "True"),
                             what="Ready once the gate's condition is True")
        assert _cond(pod, GATE)["status"] == "True"  # the kubelet's writes keep it
        await set_gate("False")
        pod = await wait_for(lambda: pod_when(lambda p: _cond(p, "Ready").get("status") == "False"),
                             what="not Ready once the gate's condition is False")
        assert _cond(pod, "Ready").get("message") == f'the status of pod readiness gate "{GATE}" is not "True", but False.'
        assert _cond(pod, "ContainersReady")["status"] == "True"
