"""NodePorts: a pod's hostPorts must be free on the node (0.0.0.0 conflicts with every address)."""

from __future__ import annotations

from collections import Counter

from control.scheduler.framework import SKIP, SUCCESS, Status, unschedulable
from control.scheduler.nodeinfo import NodeInfo, PodInfo

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
ANY_IP = "0.0.0.0"
_FAIL = unschedulable(ERR_REASON).with_plugin(NAME)


def conflicts(used: Counter[tuple[str, str, int]], ip: str, protocol: str, port: int) -> bool:
    """HostPortInfo.CheckConflict."""
    if not used:
        return False
    if ip == ANY_IP:
        return any(p == port and proto == protocol for _, proto, p in used)
    return (ip, protocol, port) in used or (ANY_IP, protocol, port) in used


class NodePorts:
    name = NAME

    def pre_filter(self, pod: PodInfo) -> Status | None:
        return None if pod.ports else SKIP

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        used = node.used_ports
        for ip, proto, port in pod.ports:
            if conflicts(used, ip, proto, port):
                return _FAIL
        return SUCCESS
