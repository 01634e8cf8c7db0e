"""A deterministic cluster for dashboard tests: fixed objects, a fixed clock, a client that records writes."""

from __future__ import annotations

import json
from typing import Any

from control.errors import ApiError
from tui.model import ClusterModel

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
CREATED = "2025-12-31T23:55:00Z"  # five minutes before NOW


class FakeClient:
    """Records the dashboard's writes; answers logs with a growing text."""

    server = "tcp://127.0.0.1:7070"
    token = "abc.def"
    server_key = None

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.log_text = "hello from web-1\n"
        self.last_warnings: list[str] = []

    async def create_or_update(self, obj: dict, *, dry_run: bool = False,
                               field_validation: str | None = None) -> tuple[str, dict]:
        self.calls.append(("apply", (obj,), {}))
        return "created", obj

    async def patch(self, *args: Any, **kwargs: Any) -> dict:
        self.calls.append(("patch", args, kwargs))
        return {}

    async def delete(self, *args: Any, **kwargs: Any) -> dict:
        self.calls.append(("delete", args, kwargs))
        return {}

    async def request(self, verb: str, body: dict, **kwargs: Any) -> dict:
        self.calls.append((verb, (body,), kwargs))
        if verb == "logs":
            offset = body.get("offset") or 0
            text = self.log_text[offset:]
            if body.get("timestamps"):
                text = "".join(f"2026-11-27T13:10:01.000000000Z {line}" for line in text.splitlines(keepends=True))
            return {"text": text, "offset": len(self.log_text)}
        raise ApiError(404, "NotFound", f"{verb}: not in the fake")


class FakeLauncher:
    """The launcher's duck type: add_node, stop_node, started_nodes."""

    def __init__(self) -> None:
        self.added: list[str | None] = []
        self.stopped: list[str] = []

    def add_node(self, name: str | None = None) -> tuple[str, str]:
        self.added.append(name)
        return "node-4", "kube-tui node --server tcp://127.0.0.1:7070 --token abc.def --name node-4"

    def stop_node(self, name: str) -> bool:
        self.stopped.append(name)
        return True

    def started_nodes(self) -> list[str]:
        return ["node-4"]


def _md(name: str, ns: str | None = "default", *, uid: str = "", writer: str = "kube-tui apply", **extra: Any) -> dict:
    md: dict[str, Any] = {"name": name, "uid": uid or f"uid-{ns or ''}-{name}", "creationTimestamp": CREATED,
                          "resourceVersion": "1", "managedFields": [{"manager": writer, "operation": "Update"}]}
    if ns:
        md["namespace"] = ns
    md.update(extra)
    return md


def node(name: str, *, ready: bool = True, usage: dict[str, list[int]] | None = None) -> dict:
    annotations = {"kube-tui.io/usage": json.dumps(usage or {})}
    return {"apiVersion": "v1", "kind": "Node", "metadata": _md(name, None, writer=f"kubelet/{name}", annotations=annotations),
            "spec": {}, "status": {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                                   "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def decision(winner: str | None, nodes: list[str]) -> str:
    rows = []
    for n in nodes:
        if n == "node-3":
            rows.append({"node": n, "filters": [{"plugin": "NodeUnschedulable", "ok": True, "reason": ""},
                                                {"plugin": "NodeResourcesFit", "ok": False, "reason": "Insufficient cpu"}],
                         "scores": [], "total": 0})
        else:
            rows.append({"node": n, "filters": [{"plugin": "NodeUnschedulable", "ok": True, "reason": ""},
                                                {"plugin": "NodeResourcesFit", "ok": True, "reason": ""}],
                         "scores": [{"plugin": "NodeResourcesFit", "score": 80 if n == winner else 60, "weight": 1},
                                    {"plugin": "BalancedAllocation", "score": 90, "weight": 1}],
                         "total": 170 if n == winner else 150})
    message = f"Successfully assigned default/x to {winner}" if winner else "0/3 nodes are available: 3 Insufficient cpu."
    return json.dumps({"node": winner, "message": message, "nodes": rows, "counts": {} if winner else {"Insufficient cpu": 3},
                       "evaluated": len(nodes), "feasible": len(nodes) - 1 if winner else 0, "time_ms": 0.42})


def pod(name: str, node_name: str | None, phase: str = "Running", *, waiting: str = "", restarts: int = 0, ip: str = "",
        cpu: str = "100m", writer: str = "kubelet/node-1", owner: str = "web-7d9f") -> dict:
    annotations = {"kube-tui.io/scheduling": decision(node_name, ["node-1", "node-2", "node-3"])}
    md = _md(name, writer=writer, annotations=annotations,
             ownerReferences=[{"kind": "ReplicaSet", "name": owner, "uid": f"uid-default-{owner}", "controller": True}])
    state: dict[str, Any] = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": CREATED}}
    cs = [{"name": "web", "ready": phase == "Running" and not waiting, "restartCount": restarts, "state": state}]
    spec: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}
    if node_name:
        spec["nodeName"] = node_name
    status: dict[str, Any] = {"phase": phase}
    if node_name:
        status["containerStatuses"] = cs
        status["podIP"] = ip or "127.1.0.2"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}


def deployment(name: str, replicas: int, ready: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _md(name), "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": ready, "updatedReplicas": replicas, "availableReplicas": ready}}


def replicaset(name: str, owner: str, replicas: int) -> dict:
    md = _md(name, writer="controller-manager",
             ownerReferences=[{"kind": "Deployment", "name": owner, "uid": f"uid-default-{owner}", "controller": True}])
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": md, "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": replicas}}


def service(name: str, ip: str, port: int, node_port: int | None = None) -> dict:
    p: dict[str, Any] = {"port": port, "protocol": "TCP", "targetPort": 80}
    if node_port:
        p["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service", "metadata": _md(name),
            "spec": {"type": "NodePort" if node_port else "ClusterIP", "clusterIP": ip, "ports": [p]}}


def event(name: str, reason: str, message: str, involved: dict, type_: str = "Normal") -> dict:
    md = involved["metadata"]
    return {"apiVersion": "v1", "kind": "Event", "metadata": _md(name, writer="scheduler"), "type": type_, "reason": reason,
            "message": message, "lastTimestamp": CREATED, "count": 1,
            "involvedObject": {"kind": involved["kind"], "name": md["name"], "namespace": md.get("namespace"), "uid": md["uid"]}}


def fake_model(client: Any = None) -> ClusterModel:
    """Three nodes, a deployment of three pods (one crash-looping), a pending pod, two services, events."""
    m = ClusterModel(client or FakeClient(), watch=False, clock=lambda: NOW)
    t = NOW - 2.0
    m.feed(node("node-1", usage={"default/web-1": [120, 40 * 2**20]}), t=t)
    m.feed(node("node-2", usage={"default/web-2": [300, 90 * 2**20]}), t=t)
    m.feed(node("node-3", ready=False), t=t)
    d = deployment("web", 3, 2)
    m.feed(dict(d, status={}), t=t + 0.010)
    m.feed(replicaset("web-7d9f", "web", 3), t=t + 0.020)
    web1 = pod("web-1", "node-1", ip="127.1.0.2")
    created = pod("web-1", None, "Pending", writer="controller-manager")
    m.feed(created, t=t + 0.030)
    bound = pod("web-1", "node-1", "Pending", waiting="ContainerCreating", writer="scheduler")
    m.feed(bound, t=t + 0.034)
    m.feed(web1, t=t + 0.384)
    m.feed(pod("web-2", "node-2", ip="127.2.0.2", writer="kubelet/node-2"), t=t + 0.400)
    m.feed(pod("web-3", "node-1", waiting="CrashLoopBackOff", restarts=4, ip="127.1.0.3"), t=t + 0.500)
    m.feed(pod("big-0", None, "Pending", cpu="8", writer="scheduler", owner="big"), t=t + 0.600)
    m.feed(d, t=t + 0.700)
    m.feed(service("web", "127.10.0.10", 80, 30080), t=t + 0.800)
    m.feed(service("kubernetes", "127.10.0.1", 443), t=t + 0.810)
    m.feed(event("web-1.1", "Scheduled", "Successfully assigned default/web-1 to node-1", web1), t=t + 0.900)
    m.feed(event("big-0.1", "FailedScheduling", "0/3 nodes are available: 3 Insufficient cpu.",
                 pod("big-0", None, "Pending", owner="big"), "Warning"), t=t + 0.910)
    return m
