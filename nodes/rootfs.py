"""A container's root filesystem as the pod worker asks its runtime for it (nodes/runtime/mountns.py builds it):
the size of its writable layer, readOnlyRootFilesystem, and what the pod is told when the node cannot give one."""

from __future__ import annotations

from typing import Any

from control.api import quantity
from nodes.runtime.mountns import LAYER_BYTES


def layer_bytes(container: dict[str, Any]) -> int:
    """The size of the container's writable layer: mountns's default, above the container's ephemeral-storage
    limit if it has one. The limit is the eviction manager's to enforce (nodes/eviction.py): the layer leaves
    room for what is written between two of its checks, so that a container past its limit is evicted, as in
    Kubernetes, rather than refused a write (ENOSPC) at it."""
    limit = ((container.get("resources") or {}).get("limits") or {}).get("ephemeral-storage")
    try:
        return max(0, int(quantity.parse(limit))) + LAYER_BYTES if limit is not None else LAYER_BYTES
    except (ValueError, TypeError):
        return LAYER_BYTES


def read_only_root(container: dict[str, Any]) -> bool:
    """securityContext.readOnlyRootFilesystem: the container writes only its volumes."""
    return (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is True


def no_layer_event(container: str, no_mounts: str | None, no_layer: str | None) -> tuple[str, str]:
    """The pod's (reason, message) when a container runs without its mounts or without a writable layer."""
    if no_mounts:
        return "FailedMount", (f"Container {container} runs without its volumeMounts and without a writable layer: "
                               f"this node cannot create a mount namespace ({no_mounts}); it sees and writes the "
                               "node's own filesystem")
    return "NoWritableLayer", (f"Container {container} has no writable layer of its own over some of the node's "
                               f"directories ({no_layer}): what it writes there reaches the node's filesystem and "
                               "outlives the container")
