"""`kube-tui top`: kubectl top's tables from the usage the kubelets publish on their Nodes."""

from __future__ import annotations

import json

from control.api.meta import USAGE_ANNOTATION, usage_of
from tui.commands.top import node_table, pod_table

MI = 1024 * 1024


def node(name: str, usage: dict | str | None, cpu: str = "2", memory: str = "4Gi", ready: str = "True") -> dict:
    notes = {} if usage is None else {USAGE_ANNOTATION: usage if isinstance(usage, str) else json.dumps(usage)}
    return {"metadata": {"name": name, "annotations": notes},
            "status": {"allocatable": {"cpu": cpu, "memory": memory}, "conditions": [{"type": "Ready", "status": ready}]}}


def test_node_table_sums_its_pods_against_allocatable() -> None:
    nodes = [node("node-1", {"default/a": [250, 512 * MI], "default/b": [250, 512 * MI]}),
             node("node-2", None), node("node-3", "not json"),
             node("node-4", {"default/c": [100, MI]}, ready="Unknown")]  # gone: its last figures are stale
    assert node_table(nodes).splitlines() == [
        "NAME     CPU(cores)   CPU%        MEMORY(bytes)   MEMORY%",
        "node-1   500m         25%         1024Mi          25%",
        "node-2   0m           0%          0Mi             0%",
        "node-3   0m           0%          0Mi             0%",
        "node-4   <unknown>    <unknown>   <unknown>       <unknown>",
    ]
    assert usage_of(nodes[2]) == {}
    assert usage_of(nodes[3]) == {"default/c": (100, MI)} and usage_of(nodes[3], ready_only=True) == {}


def test_pod_table_with_and_without_namespaces() -> None:
    usage = {"kube-system/agent": (5, 30 * MI), "default/web": (120, 64 * MI + 5)}
    assert pod_table(usage, False).splitlines() == [
        "NAME    CPU(cores)   MEMORY(bytes)",
        "web     120m         64Mi",
        "agent   5m           30Mi",
    ]
    assert pod_table(usage, True).splitlines()[0].split() == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
