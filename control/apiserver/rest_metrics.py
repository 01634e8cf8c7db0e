"""The resource metrics API (metrics.k8s.io/v1beta1) for `kubectl top`, from what the kubelets publish.

In Kubernetes, metrics-server scrapes each kubelet and serves NodeMetrics and PodMetrics through the
API server's aggregation layer. Here each kubelet already publishes what its pods' processes use in
its Node's kube-tui.io/usage annotation (tui/commands/top.py reads the same), so the API server answers
from the Nodes it stores: a node's usage is the sum of its pods', a pod's is given to its first
container (the kubelet measures the pod's process trees, not each container).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from control.api import meta
from control.api.meta import node_ready, usage_of
from control.errors import ApiError

GROUP_VERSION = "metrics.k8s.io/v1beta1"
WINDOW = "10s"

Call = Callable[[str, dict], Awaitable[tuple[int, Any]]]


def resource_list() -> dict:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION, "resources": [
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
    ]}


def _quantities(cpu: int, mem: int) -> dict[str, str]:
    return {"cpu": f"{cpu}m", "memory": f"{mem // 1024}Ki"}


async def serve(parts: list[str], call: Call, label_selector: str = "") -> dict:
    """GET /apis/metrics.k8s.io/v1beta1/{nodes[/NAME] | [namespaces/NS/]pods[/NAME]}."""
    ns: str | None = None
    if parts[:1] == ["namespaces"] and len(parts) >= 3:
        ns, parts = parts[1], parts[2:]
    if not parts or parts[0] not in ("nodes", "pods") or len(parts) > 2 or (parts[0] == "nodes" and ns):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    name = parts[1] if len(parts) > 1 else ""
    now = meta.now()
    nodes = (await call("list", {"kind": "Node"}))[1]["items"]
    if parts[0] == "nodes":
        items = [{"kind": "NodeMetrics", "apiVersion": GROUP_VERSION,
                  "metadata": {"name": n["metadata"]["name"], "creationTimestamp": now}, "timestamp": now, "window": WINDOW,
                  "usage": _quantities(sum(u[0] for u in usage_of(n).values()), sum(u[1] for u in usage_of(n).values()))}
                 for n in nodes if (not name or n["metadata"]["name"] == name)
                 and node_ready(n)]  # a node that is not Ready has no fresh metrics: kubectl top shows <unknown>
        if name and not items:
            raise ApiError(404, "NotFound", f'nodemetrics.metrics.k8s.io "{name}" not found',
                           {"name": name, "group": "metrics.k8s.io", "kind": "nodes"})
        return items[0] if name else {"kind": "NodeMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}
    used: dict[str, tuple[int, int]] = {}
    for n in nodes:
        used.update(usage_of(n, ready_only=True))
    pods = (await call("list", {"kind": "Pod", "namespace": ns, "labelSelector": label_selector}))[1]["items"]
    items = []
    for p in pods:
        md = p["metadata"]
        key = f"{md.get('namespace')}/{md['name']}"
        if key not in used or (name and md["name"] != name):
            continue
        first = ((p.get("spec") or {}).get("containers") or [{}])[0].get("name", md["name"])
        items.append({"kind": "PodMetrics", "apiVersion": GROUP_VERSION,
                      "metadata": {"name": md["name"], "namespace": md.get("namespace"), "creationTimestamp": now,
                                   "labels": md.get("labels") or {}},
                      "timestamp": now, "window": WINDOW, "containers": [{"name": first, "usage": _quantities(*used[key])}]})
    if name and not items:
        raise ApiError(404, "NotFound", f'podmetrics.metrics.k8s.io "{ns or "default"}/{name}" not found',
                       {"name": name, "group": "metrics.k8s.io", "kind": "pods"})
    return items[0] if name else {"kind": "PodMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}
