"""The pod-level parts of the status the kubelet writes: phase, conditions and QoS class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from control.api.qos import qos_class as api_qos_class
from nodes.containerstatus import Container


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort: the API server's rule (control.api.qos), so both agree."""
    return api_qos_class({"spec": spec})


def pod_phase(inits: Sequence[Container], containers: Sequence[Container], policy: str,
              terminated: bool) -> str:
    """The kubelet's getPhase (without sidecar containers)."""
    pending_init = failed_init = 0
    for c in inits:
        if "running" in c.state:
            pending_init += 1
        elif "terminated" in c.state:
            if c.state["terminated"].get("exitCode") != 0:
                failed_init += 1
        elif c.last_state.get("terminated"):
            if c.last_state["terminated"].get("exitCode") != 0:
                failed_init += 1
        else:
            pending_init += 1
    running = waiting = stopped = succeeded = 0
    for c in containers:
        if "running" in c.state:
            running += 1
        elif "terminated" in c.state:
            stopped += 1
            if c.state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif c.last_state.get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if terminated:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


class PodConditions:
    """The pod's conditions; each keeps its lastTransitionTime until its status changes."""

    def __init__(self, pod: dict[str, Any]) -> None:
        self._since: dict[str, tuple[str, str]] = {}  # type -> (status, lastTransitionTime)
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") and cond.get("lastTransitionTime"):
                self._since[cond["type"]] = (cond.get("status", ""), cond["lastTransitionTime"])

    def now(self, phase: str, now: str, inits: Sequence[Container], containers: Sequence[Container],
            terminated: bool) -> list[dict[str, Any]]:
        """The conditions for `phase` at time `now` (RFC 3339), in the kubelet's order."""
        completed = phase in ("Succeeded", "Failed")
        wanted: list[tuple[str, bool, str | None, str | None]] = []
        wanted.append(("PodReadyToStartContainers", not terminated and not completed, None, None))
        unready_init = [c.name for c in inits if not ("terminated" in c.state
                                                      and c.state["terminated"].get("exitCode") == 0)]
        if not inits or not unready_init:
            wanted.append(("Initialized", True, None, None))
        elif phase == "Succeeded":
            wanted.append(("Initialized", False, "PodCompleted", None))
        else:
            wanted.append(("Initialized", False, "ContainersNotInitialized",
                           f"containers with incomplete status: [{' '.join(unready_init)}]"))
        unready = [c.name for c in containers if not c.ready]
        if completed:
            ready = (False, "PodCompleted", None)
        elif unready:
            ready = (False, "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
        else:
            ready = (True, None, None)
        wanted.append(("Ready", *ready))
        wanted.append(("ContainersReady", *ready))
        wanted.append(("PodScheduled", True, None, None))
        out = []
        for kind, ok, reason, message in wanted:
            value = "True" if ok else "False"
            prev = self._since.get(kind)
            if prev is None or prev[0] != value:
                self._since[kind] = (value, now)
            cond: dict[str, Any] = {"type": kind, "status": value, "lastProbeTime": None,
                                    "lastTransitionTime": self._since[kind][1]}
            if reason:
                cond["reason"] = reason
            if message:
                cond["message"] = message
            out.append(cond)
        return out


def apply_readiness_gates(conditions: list[dict[str, Any]], gates: Sequence[Any], now: str,
                          previous: Sequence[dict[str, Any]] = ()) -> None:
    """The pod's Ready condition, with its readinessGates (GeneratePodReadyCondition), in place.

    Ready when its containers are ready and each gate's condition, set by someone else on the pod's status
    (a load balancer controller, say), is True; else False, reason ReadinessGatesNotReady, saying which gate
    is missing or not True. `previous`: the conditions as the API has them, for the transition time.
    """
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        return  # the containers' own reason comes first
    by_type = {c.get("type"): c for c in conditions}
    unready = []
    for gate in gates:
        kind = gate.get("conditionType") if isinstance(gate, dict) else None
        cond = by_type.get(kind)
        if cond is None:
            unready.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif cond.get("status") != "True":
            unready.append(f'the status of pod readiness gate "{kind}" is not "True", but {cond.get("status")}.')
    if not unready:
        return
    before = next((c for c in previous if c.get("type") == "Ready"), None)
    since = before["lastTransitionTime"] if before and before.get("status") == "False" and before.get("lastTransitionTime") else now
    ready.update(status="False", reason="ReadinessGatesNotReady", message=", ".join(unready), lastTransitionTime=since)
