"""The kubelet's eviction manager for local ephemeral storage (pkg/kubelet/eviction, localStorageEviction): each
pod's usage measured (its disk-backed emptyDir volumes, each container's writable layer and logs), and a pod whose
emptyDir exceeds its sizeLimit, whose container exceeds its ephemeral-storage limit, or whose total exceeds the
sum of its containers' limits, evicted with the kubelet's message.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from control.api.resourcequota import Q, pod_resources

REASON = "Evicted"
# immediateEvictionGracePeriodSeconds: a pod over a local storage limit is given this long to stop
GRACE_SECONDS = 1.0
# The eviction manager's monitoringInterval (the kubelet's housekeeping, 10 s)
MONITORING_INTERVAL = 10.0
EMPTY_DIR_MESSAGE = 'Usage of EmptyDir volume "{}" exceeds the limit "{}". '
CONTAINER_MESSAGE = 'Container {} exceeded its local ephemeral storage limit "{}". '
POD_MESSAGE = "Pod ephemeral local storage usage exceeds the total limit of containers {}. "


def dir_usage(path: str) -> int:
    """The bytes the files under `path` take on disk (allocated blocks, as the kubelet's volume metrics count
    them with du), each inode once, not following symlinks nor crossing into another file system."""
    try:
        top = os.lstat(path)
    except OSError:
        return 0
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [path]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_dev != top.st_dev or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
            if stat.S_ISDIR(st.st_mode):
                stack.append(entry.path)
    return total


def fs_used(path: str) -> int:
    """The bytes used on the file system at `path` (a tmpfs: a container's writable layer, a memory-backed
    emptyDir); 0 if it cannot be read."""
    try:
        st = os.statvfs(path)
    except OSError:
        return 0
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@dataclass
class ContainerSource:
    """Where one running container's ephemeral storage is: its writable layer (a path on its file system, None
    when the node cannot see it) and its log directory."""

    rootfs: str | None
    logs: str


@dataclass
class StorageSources:
    """What to measure for one pod: its disk-backed emptyDir volumes and its running containers."""

    volumes: dict[str, str] = field(default_factory=dict)
    containers: dict[str, ContainerSource] = field(default_factory=dict)


@dataclass
class PodStorage:
    """One pod's measured usage (the summary API's PodStats, in bytes): per volume, per container (writable
    layer + logs), and the pod's total."""

    volumes: dict[str, int] = field(default_factory=dict)
    containers: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.volumes.values()) + sum(self.containers.values())


def measure(sources: StorageSources) -> PodStorage:
    """Measure a pod's usage now (walks its directories: run it off the event loop)."""
    out = PodStorage()
    for name, path in sources.volumes.items():
        out.volumes[name] = dir_usage(path)
    for name, c in sources.containers.items():
        out.containers[name] = (fs_used(c.rootfs) if c.rootfs else 0) + dir_usage(c.logs)
    return out


def _limit(value: Any) -> Q | None:
    try:
        q = Q.of(value)
    except (ValueError, TypeError):
        return None
    return q if q.value > 0 else None


def violation(pod: dict[str, Any], usage: PodStorage) -> str | None:
    """The eviction message for a pod over a local storage limit, None if within them, checked in the eviction
    manager's order: an emptyDir over its sizeLimit (emptyDirLimitEviction), the pod over the sum of its
    containers' limits (podEphemeralStorageLimitEviction), a container over its own
    (containerEphemeralStorageLimitEviction)."""
    spec = pod.get("spec") or {}
    for volume in spec.get("volumes") or []:
        source = volume.get("emptyDir") if isinstance(volume, dict) else None
        if not isinstance(source, dict) or source.get("sizeLimit") is None:
            continue
        size = _limit(source["sizeLimit"])
        used = usage.volumes.get(str(volume.get("name", "")))
        if size is not None and used is not None and used > size.value:
            return EMPTY_DIR_MESSAGE.format(volume.get("name", ""), size)
    pod_limit = pod_resources(pod, "limits").get("ephemeral-storage")
    if pod_limit is not None and usage.total > pod_limit.value:
        return POD_MESSAGE.format(pod_limit)
    for c in spec.get("containers") or []:
        limit = _limit(((c.get("resources") or {}).get("limits") or {}).get("ephemeral-storage"))
        used = usage.containers.get(str(c.get("name", "")))
        if limit is not None and used is not None and used > limit.value:
            return CONTAINER_MESSAGE.format(c.get("name", ""), limit)
    return None
