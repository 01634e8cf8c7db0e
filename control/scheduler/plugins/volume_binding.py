"""VolumeBinding: a pod's PersistentVolumeClaims decide where it may run (kube-scheduler's volumebinding plugin).

A claim that is missing or being deleted, or unbound with an Immediate class, rejects the pod everywhere
(PreFilter); a bound claim's volume admits only the nodes its node affinity selects; an unbound
WaitForFirstConsumer claim fits a node where a matching Available volume can be used or where its class's
provisioner can make one. The scheduler acts on the choice before it binds the pod (Scheduler.bind_volumes):
it pre-binds the chosen volume or sets the claim's volume.kubernetes.io/selected-node for the provisioner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from control.api import persistentvolume as pvs
from control.scheduler.framework import SKIP, SUCCESS, Status, unresolvable
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.podindex import cluster_of

NAME = "VolumeBinding"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"


@dataclass
class Storage:
    """What the plugin reads about storage during a cycle: claims by "namespace/name", volumes and classes by name."""

    claim: Callable[[str, str], Mapping[str, Any] | None]
    volume: Callable[[str], Mapping[str, Any] | None]
    storage_class: Callable[[str], Mapping[str, Any] | None]
    volumes: Callable[[], list[Mapping[str, Any]]] = field(default=lambda: [])


@dataclass
class _State:
    bound: list[Mapping[str, Any]]  # the volumes of the pod's bound claims
    delayed: list[tuple[Mapping[str, Any], Mapping[str, Any] | None]]  # unbound WaitForFirstConsumer (claim, class)


def claim_names(spec: Mapping[str, Any]) -> list[str]:
    return [str(v["persistentVolumeClaim"].get("claimName") or "") for v in spec.get("volumes") or ()
            if isinstance(v, dict) and isinstance(v.get("persistentVolumeClaim"), dict)]


def static_matches(storage: Storage, delayed: list[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
                   node: Mapping[str, Any]) -> list[Mapping[str, Any] | None] | None:
    """FindPodVolumes for one node: for each delayed claim the Available volume it would get there (None: its
    class's provisioner makes one), or None when some claim can have neither."""
    chosen: list[Mapping[str, Any] | None] = []
    taken: set[str] = set()
    for claim, sc in delayed:
        free = [v for v in storage.volumes() if (v.get("metadata") or {}).get("name") not in taken]
        volume = pvs.find_matching_volume(claim, free, node=node)
        if volume is None and (sc is None or sc.get("provisioner") in (None, "", pvs.NO_PROVISIONER)):
            return None
        if volume is not None:
            taken.add(str(volume["metadata"]["name"]))
        chosen.append(volume)
    return chosen


class VolumeBinding:
    name = NAME

    def pre_filter(self, pod: PodInfo) -> Status | None:
        names = claim_names(pod.spec)
        storage: Storage | None = getattr(cluster_of(pod), "storage", None) if names else None
        if storage is None:
            return SKIP
        state = _State([], [])
        for name in names:
            claim = storage.claim(pod.namespace, name)
            if claim is None:
                return unresolvable(f'persistentvolumeclaim "{name}" not found').with_plugin(NAME)
            if (claim.get("metadata") or {}).get("deletionTimestamp"):
                return unresolvable(f'persistentvolumeclaim "{name}" is being deleted').with_plugin(NAME)
            volume_name = (claim.get("spec") or {}).get("volumeName")
            if volume_name:
                volume = storage.volume(str(volume_name))
                if volume is None:
                    return unresolvable(f'pvc {pod.namespace}/{name} bound to non-existent pv "{volume_name}"'
                                        ).with_plugin(NAME)
                state.bound.append(volume)
                continue
            class_name = pvs.claim_class(claim)
            sc = storage.storage_class(class_name) if class_name else None
            if pvs.binding_mode(sc) != "WaitForFirstConsumer":
                return unresolvable(UNBOUND_IMMEDIATE).with_plugin(NAME)
            state.delayed.append((claim, sc))
        pod.state[NAME] = state
        return None

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        state: _State | None = pod.state.get(NAME)
        if state is None or node.node is None:
            return SUCCESS
        reasons = []
        if any(not pvs.node_affinity_matches(v, node.node) for v in state.bound):
            reasons.append(NODE_CONFLICT)
        if state.delayed and static_matches(cluster_of(pod).storage, state.delayed, node.node) is None:
            reasons.append(BIND_CONFLICT)
        return unresolvable(*reasons).with_plugin(NAME) if reasons else SUCCESS
