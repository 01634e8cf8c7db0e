"""NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods tolerating that."""

from __future__ import annotations

from control.scheduler.framework import SUCCESS, Status, unresolvable
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.helper import filter_some
from control.scheduler.plugins.taint_toleration import tolerated

NAME = "NodeUnschedulable"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
# The taint a cordon stands for; a pod tolerating it may still land on the node.
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
_FAIL = unresolvable(ERR_REASON_UNSCHEDULABLE).with_plugin(NAME)


class NodeUnschedulable:
    name = NAME

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.unschedulable:
            return SUCCESS
        if tolerated(pod.spec.get("tolerations") or [], UNSCHEDULABLE_TAINT):
            return SUCCESS
        return _FAIL

    def filter_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> tuple[list[NodeInfo], list[tuple[NodeInfo, Status]]]:
        return filter_some(self.filter, pod, nodes, [ni for ni in nodes if ni.unschedulable])
