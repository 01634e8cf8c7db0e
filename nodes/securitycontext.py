"""The user a container runs as, from its securityContext over its pod's: the uid, gid and supplementary groups its
process gets (as the kubelet asks containerd for them and containerd derives them from the image's /etc/passwd and
/etc/group: here the node's, the host being the image), runAsNonRoot's check with the kubelet's wording, and
allowPrivilegeEscalation: false (no_new_privs). Pure functions; the shim applies the result (nodes/runtime/shim.py)."""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nodes.env import ConfigError

# Fields of the container's securityContext that override the pod's (DetermineEffectiveSecurityContext).
OVERRIDDEN = ("runAsUser", "runAsGroup", "runAsNonRoot")


@dataclass(frozen=True)
class Identity:
    """What the container's processes run as: `uid`, `gid`, the supplementary `groups` (sorted, as the kernel keeps
    them), and `no_new_privs` (PR_SET_NO_NEW_PRIVS: a setuid program gains nothing)."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    no_new_privs: bool = False

    @property
    def run_as(self) -> tuple[int, int, tuple[int, ...]]:
        return self.uid, self.gid, self.groups


def _contexts(pod: dict[str, Any], container: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    pod_sc = (pod.get("spec") or {}).get("securityContext")
    c_sc = container.get("securityContext")
    return (pod_sc if isinstance(pod_sc, dict) else {}), (c_sc if isinstance(c_sc, dict) else {})


def effective(pod: dict[str, Any], container: dict[str, Any], key: str) -> Any:
    """A field of the container's securityContext, or else of its pod's."""
    pod_sc, c_sc = _contexts(pod, container)
    value = c_sc.get(key)
    return pod_sc.get(key) if value is None else value


def pod_format(pod: dict[str, Any]) -> str:
    """The kubelet's format.Pod: NAME_NAMESPACE(UID)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace') or 'default'}({meta.get('uid', '')})"


def verify_run_as_non_root(pod: dict[str, Any], container: dict[str, Any], image_uid: int) -> None:
    """The kubelet's verifyRunAsNonRoot: ConfigError (CreateContainerConfigError) when runAsNonRoot is asked for
    and the container would run as root. `image_uid`: the user the image runs as (the node's, here)."""
    if effective(pod, container, "runAsNonRoot") is not True:
        return
    name = container.get("name", "")
    run_as = effective(pod, container, "runAsUser")
    if run_as is not None:
        if int(run_as) == 0:
            raise ConfigError(f"container's runAsUser breaks non-root policy (pod: \"{pod_format(pod)}\", "
                              f"container: {name})")
        return
    if image_uid == 0:
        raise ConfigError(f"container has runAsNonRoot and image will run as root (pod: \"{pod_format(pod)}\", "
                          f"container: {name})")


def _passwd_gid(uid: int) -> int | None:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return None


def _memberships(uid: int) -> list[int]:
    """The groups /etc/group lists the user `uid` in, by its name (containerd's WithAdditionalGIDs)."""
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return []
    return [g.gr_gid for g in grp.getgrall() if name in g.gr_mem]


def identity(pod: dict[str, Any], container: dict[str, Any], *, image_uid: int, image_gid: int,
             passwd_gid: Callable[[int], int | None] = _passwd_gid,
             memberships: Callable[[int], list[int]] = _memberships) -> Identity:
    """What the container runs as. runAsUser (else the image's user) and runAsGroup (else that user's group in
    /etc/passwd, else 0; the image's group without runAsUser); the supplementary groups are that gid, the groups
    /etc/group lists the user in, the pod's supplementalGroups and its fsGroup, as containerd sets them."""
    pod_sc, c_sc = _contexts(pod, container)
    run_as_user = effective(pod, container, "runAsUser")
    run_as_group = effective(pod, container, "runAsGroup")
    uid = image_uid if run_as_user is None else int(run_as_user)
    if run_as_group is not None:
        gid = int(run_as_group)
    elif run_as_user is None:
        gid = image_gid
    else:
        found = passwd_gid(uid)
        gid = 0 if found is None else found
    groups = {gid, *memberships(uid)}
    groups.update(int(g) for g in pod_sc.get("supplementalGroups") or [])
    if pod_sc.get("fsGroup") is not None:
        groups.add(int(pod_sc["fsGroup"]))
    return Identity(uid, gid, tuple(sorted(groups)), no_new_privs=c_sc.get("allowPrivilegeEscalation") is False)


def asks_for_identity(pod: dict[str, Any], container: dict[str, Any]) -> bool:
    """Whether the pod or container names a user or group to run as (a node not run as root cannot honour it)."""
    pod_sc, _ = _contexts(pod, container)
    return any(effective(pod, container, k) is not None for k in ("runAsUser", "runAsGroup")) or \
        bool(pod_sc.get("supplementalGroups")) or pod_sc.get("fsGroup") is not None


def node_identity() -> tuple[int, int]:
    """The user and group the node runs as: the "image's" user."""
    return os.geteuid(), os.getegid()


def container_user(pod: dict[str, Any], container: dict[str, Any]) \
        -> tuple[tuple[int, int, tuple[int, ...]] | None, bool, str | None]:
    """What the pod worker asks the runtime for: (uid, gid, groups) to run as (None: the node's own), no_new_privs,
    and why the securityContext's user cannot be had (a node not run as root: it runs as the node's user).
    ConfigError when runAsNonRoot refuses the container."""
    uid, gid = node_identity()
    verify_run_as_non_root(pod, container, uid)
    wanted = identity(pod, container, image_uid=uid, image_gid=gid)
    if uid == 0:
        return wanted.run_as, wanted.no_new_privs, None
    if not asks_for_identity(pod, container) or (wanted.uid, wanted.gid, wanted.groups) == (uid, gid, (gid,)):
        return None, wanted.no_new_privs, None
    return None, wanted.no_new_privs, (
        f"Container {container.get('name', '')} runs as the node's user (uid {uid}, gid {gid}), not as its "
        f"securityContext asks (uid {wanted.uid}, gid {wanted.gid}, groups {','.join(map(str, wanted.groups))}): "
        "this node does not run as root, and cannot start a process as another user or give a volume to fsGroup")
