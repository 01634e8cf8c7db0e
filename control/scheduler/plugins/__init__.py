"""kube-scheduler's default plugins that kube-tui implements, one module each."""

from __future__ import annotations

from typing import Any

from control.scheduler.plugins.balanced_allocation import BalancedAllocation
from control.scheduler.plugins.inter_pod_affinity import InterPodAffinity
from control.scheduler.plugins.node_affinity import NodeAffinity
from control.scheduler.plugins.node_name import NodeName
from control.scheduler.plugins.node_ports import NodePorts
from control.scheduler.plugins.node_resources_fit import NodeResourcesFit
from control.scheduler.plugins.node_unschedulable import NodeUnschedulable
from control.scheduler.plugins.pod_topology_spread import PodTopologySpread
from control.scheduler.plugins.taint_toleration import TaintToleration
from control.scheduler.plugins.volume_binding import VolumeBinding

__all__ = ["BalancedAllocation", "InterPodAffinity", "NodeAffinity", "NodeName", "NodePorts", "NodeResourcesFit",
           "NodeUnschedulable", "PodTopologySpread", "TaintToleration", "VolumeBinding", "default_plugins"]


def default_plugins() -> list[Any]:
    """In the default profile's order, which is the order filters run and scores are listed."""
    return [NodeUnschedulable(), NodeName(), TaintToleration(), NodeAffinity(), NodePorts(),
            NodeResourcesFit(), VolumeBinding(), PodTopologySpread(), InterPodAffinity(), BalancedAllocation()]
