"""NodeName: a pod that names a node in spec.nodeName fits only that node."""

from __future__ import annotations

from control.scheduler.framework import SKIP, SUCCESS, Status, unresolvable
from control.scheduler.nodeinfo import NodeInfo, PodInfo

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"
_FAIL = unresolvable(ERR_REASON).with_plugin(NAME)


class NodeName:
    name = NAME

    def pre_filter(self, pod: PodInfo) -> Status | None:
        # Nothing to compare against: skipping is equivalent to passing every node, and cheaper.
        return None if pod.node_name else SKIP

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        if not pod.node_name or pod.node_name == node.name:
            return SUCCESS
        return _FAIL
