"""Object metadata helpers shared by the server and the controllers: timestamps, uids, owners."""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime

_now_cache: tuple[int, str] = (-1, "")


def now() -> str:
    """RFC 3339 in UTC with seconds, like metav1.Time (formatted once per second: every write stamps it)."""
    global _now_cache
    second = int(time.time())
    if _now_cache[0] != second:
        _now_cache = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _now_cache[1]


def now_micro() -> str:
    """RFC 3339 with microseconds, like metav1.MicroTime (Lease renewTime, Event eventTime)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(ts: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp, or None."""
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def to_rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    """A random (version 4) UUID, as str(uuid.uuid4()) makes it but without building the UUID object,
    which costs more than the random bytes (every create makes one)."""
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40  # version 4
    b[8] = b[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' utilrand alphabet: no vowels, no confusables


_RANDOM = random.Random()  # seeded from os.urandom: a name suffix is no secret (utilrand is math/rand too)


def random_suffix(n: int = 5) -> str:
    """generateName's suffix, as utilrand.String(5). One call of a seeded generator, not a system call per
    character as secrets.choice made (every ReplicaSet pod and every pod's kube-api-access volume has one)."""
    return "".join(_RANDOM.choices(_ALNUM, k=n))


def controller_of(obj: dict) -> dict | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owner_ref(owner: dict, *, controller: bool = True) -> dict:
    md = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": md["name"],
        "uid": md["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0


# kube-tui's own annotations (docs/internals.md, "Conventions the parts share"): one definition each.
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"  # the manifest `apply` last sent (JSON)
SCHEDULING_ANNOTATION = "kube-tui.io/scheduling"  # Pod: the scheduler's decision record (JSON)
USAGE_ANNOTATION = "kube-tui.io/usage"  # Node: per-pod CPU/memory usage reported by the kubelet (JSON)

# The Kubernetes version kube-tui behaves as: each kubelet reports it on its Node, the API server on /version.
# Build metadata after "+", as k3s's v1.30.0+k3s1: a "-kube-tui" suffix made it a semver pre-release, older than
# v1.30.0, which a chart's kubeVersion ">=1.30.0" refuses.
KUBE_VERSION = "v1.30.0+kube-tui"


def node_ready(node: dict) -> bool:
    """Whether a Node's Ready condition is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (node.get("status") or {}).get("conditions") or [])


def usage_of(node: dict, *, ready_only: bool = False) -> dict[str, tuple[int, int]]:
    """{"ns/pod": (millicores, bytes)} as the node's kubelet last published it (USAGE_ANNOTATION):
    what kube-tui top and the metrics API (kubectl top) read. With `ready_only`, nothing for a node that is
    not Ready: its last figures are stale, and metrics-server has no fresh ones for it either."""
    if ready_only and not node_ready(node):
        return {}
    text = ((node.get("metadata") or {}).get("annotations") or {}).get(USAGE_ANNOTATION)
    try:
        return {k: (int(v[0]), int(v[1])) for k, v in json.loads(text).items()} if text else {}
    except (ValueError, TypeError, IndexError, AttributeError):
        return {}
