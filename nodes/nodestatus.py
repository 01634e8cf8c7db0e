"""A node's registration, pod range, Lease heartbeat and status conditions, as the kubelet keeps them.

Shared by `kube-tui node` (one NodeStatus with its own loop) and the simulated pool (thousands of
NodeStatus objects driven by one scheduler there).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import ipaddress
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from control.api import meta, quantity
from control.api.meta import USAGE_ANNOTATION
from control.api.persistentvolume import LOCAL_PATH_DIR
from control.apiserver.kubelet_proxy import KUBELET_ENDPOINT, KUBELET_KEY
from control.apiserver.ranges import ClusterNetwork
from control.client import Client
from control.errors import ApiError
from control.timings import Timings

log = logging.getLogger("kube_tui.kubelet")

KUBELET_VERSION = meta.KUBE_VERSION  # the API server reports the same on /version
LEASE_NAMESPACE = "kube-node-lease"
# Like the kubelet's nodeStatusReportFrequency (5 min) against a 40 s lease: post unchanged status rarely.
REPORT_FACTOR = 7.5
# The kubelet's hard eviction thresholds decide the pressure conditions.
MEMORY_AVAILABLE_MIN = 100 * 2**20
DISK_AVAILABLE_MIN = 0.10

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def arch() -> str:
    m = platform.machine().lower()
    return _ARCH.get(m, m or "amd64")


def parse_labels(text: str) -> dict[str, str]:
    """`k=v,k2=v2` (as kubelet's --node-labels) into a dict; raises ValueError naming the bad item."""
    out: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise ValueError(f'--labels: "{item}" is not of the form key=value')
        out[k] = v
    return out


def parse_taints(text: str) -> list[dict[str, str]]:
    """`k=v:Effect,k2:Effect` (as kubelet's --register-with-taints) into Node spec.taints."""
    out: list[dict[str, str]] = []
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        kv, sep, effect = item.rpartition(":")
        if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ValueError(
                f'--taints: "{item}" must be key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute'
            )
        k, _, v = kv.partition("=")
        if not k:
            raise ValueError(f'--taints: "{item}" has no key')
        taint = {"key": k, "effect": effect}
        if v:
            taint["value"] = v
        out.append(taint)
    return out


def node_ip_of(pod_cidr: str) -> str:
    """The node's own address: the .1 of its pod range (pods get .2 to .254)."""
    net = ipaddress.ip_network(pod_cidr, strict=False)
    return str(net.network_address + 1)


def pick_pod_cidr(name: str, used: Iterable[str], network: ClusterNetwork) -> str:
    """A free /24 of the cluster CIDR, starting at a slot derived from the node name.

    Starting from the name's hash (not from slot 0) keeps nodes that pick at the same moment
    from picking the same range.
    """
    taken = set(used)
    slots = network.node_slots
    start = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big") % slots
    for i in range(slots):
        cidr = network.pod_cidr((start + i) % slots)
        if cidr not in taken:
            return cidr
    raise RuntimeError(f"the cluster CIDR {network.cluster_cidr} is exhausted: every one of its {slots} /24s is "
                       "a node's; remove nodes, or start a new cluster with a larger --cluster-cidr")


@dataclass
class NodeConfig:
    """What `kube-tui node` registers: capacity, labels and taints."""

    name: str
    cpu: str = "4"
    memory: str = "8Gi"
    pods: int = 110
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    runtime: str = "process"
    data_dir: str | None = None  # where disk pressure is measured (the log dir's file system)
    # ephemeral-storage capacity; None: the size of data_dir's file system (none without a data dir: a simulated
    # node reports none unless it is given one, as a KWOK node)
    ephemeral_storage: str | None = None

    def capacity(self) -> dict[str, str]:
        # Normalized like the API server prints them: "4", "8Gi", "110".
        out = {
            "cpu": quantity.format_cpu(quantity.milli(self.cpu)),
            "memory": quantity.format_bytes(quantity.to_int(self.memory)),
            "pods": str(self.pods),
        }
        storage = self.storage_bytes()
        if storage:
            out["ephemeral-storage"] = quantity.format_bytes(storage)
        return out

    def storage_bytes(self) -> int:
        """ephemeral-storage capacity in bytes: as the kubelet reports its root dir's file system (cadvisor's
        RootFsInfo capacity, the file system's size), here the node's data dir's, where its pods' volumes,
        logs and local-path volumes are."""
        if self.ephemeral_storage is not None:
            return quantity.to_int(self.ephemeral_storage)
        if not self.data_dir:
            return 0
        try:
            st = os.statvfs(self.data_dir)
        except OSError:
            return 0
        return st.f_blocks * st.f_frsize


def _condition(type_: str, ok: bool, now: str, reason_msg: tuple[str, str], bad: tuple[str, str]) -> dict:
    # For pressure conditions "ok" means status False; for Ready it means True.
    positive = type_ == "Ready"
    reason, message = reason_msg if ok else bad
    return {
        "type": type_,
        "status": ("True" if ok else "False") if positive else ("False" if ok else "True"),
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def _cond_key(c: dict) -> tuple[Any, ...]:
    return (c.get("type"), c.get("status"), c.get("reason"), c.get("message"))


class NodeStatus:
    """One node's object in the API: register, pod range, lease, status. Methods are safe to retry."""

    def __init__(
        self,
        client: Client,
        config: NodeConfig,
        *,
        timings: Timings | None = None,
        say: Callable[[str], None] | None = None,
        simulated: bool = False,
    ) -> None:
        self.client = client
        self.config = config
        self.name = config.name
        self.timings = timings or Timings()
        self.say = say or (lambda s: None)
        self.simulated = simulated
        self.node: dict | None = None  # the Node as last read or written
        self.pod_cidr: str | None = None
        self.node_ip: str | None = None
        self.kubelet_endpoint: str | None = None
        self.kubelet_key: str | None = None  # the endpoint's CURVE public key, in a CURVE cluster
        self.shutting_down = False
        self.lease_renewals = 0
        self.lease_failures = 0
        self.status_posts = 0
        self._last_report = 0.0
        self._boot_id = meta.new_uid()
        # Told when spec.unschedulable changes (kubectl cordon/uncordon), as the kubelet notices it at its
        # next status update and records NodeNotSchedulable / NodeSchedulable.
        self.on_schedulable: Callable[[bool], None] | None = None
        self._unschedulable: bool | None = None

    # -- the object ----------------------------------------------------------------------------
    def labels(self) -> dict[str, str]:
        out = {
            "beta.kubernetes.io/arch": arch(),
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch(),
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": f"kube-tui-{self.config.runtime}",
        }
        if self.simulated:
            out["type"] = "kwok"  # KWOK's convention, so simulated nodes are easy to select
        out.update(self.config.labels)
        return out

    def annotations(self) -> dict[str, str]:
        out = {"node.alpha.kubernetes.io/ttl": "0"}
        if self.kubelet_endpoint:
            out[KUBELET_ENDPOINT] = self.kubelet_endpoint
        if self.kubelet_key:
            out[KUBELET_KEY] = self.kubelet_key
        if self.config.data_dir and not self.simulated:
            # where the local-path provisioner puts this node's volumes (control/api/persistentvolume.py)
            out[LOCAL_PATH_DIR] = str(Path(self.config.data_dir) / "local-path-provisioner")
        return out

    def desired_status(self, current: dict | None) -> dict:
        """The status this kubelet reports now; transition times kept from `current` where unchanged."""
        now = meta.now()
        cap = self.config.capacity()
        memory_ok, disk_ok, pid_ok = self._pressure()
        ready_ok = not self.shutting_down and bool(self.pod_cidr)
        if self.shutting_down:
            not_ready = "node is shutting down"
        else:
            # Like a kubelet whose CNI has no config yet: no pod network until the range is known.
            not_ready = ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                         "message:kube-tui: no pod range (spec.podCIDR) assigned to this node yet")
        conds = [
            _condition("MemoryPressure", memory_ok, now, ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                       ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available")),
            _condition("DiskPressure", disk_ok, now, ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                       ("KubeletHasDiskPressure", "kubelet has disk pressure")),
            _condition("PIDPressure", pid_ok, now, ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                       ("KubeletHasInsufficientPID", "kubelet has insufficient PID available")),
            _condition("Ready", ready_ok, now, ("KubeletReady", "kubelet is posting ready status"),
                       ("KubeletNotReady", not_ready)),
        ]
        old = {c.get("type"): c for c in ((current or {}).get("status") or {}).get("conditions") or []}
        for c in conds:
            prev = old.get(c["type"])
            if prev is not None and prev.get("status") == c["status"] and prev.get("lastTransitionTime"):
                c["lastTransitionTime"] = prev["lastTransitionTime"]
        addresses = []
        if self.node_ip:
            addresses.append({"type": "InternalIP", "address": self.node_ip})
        addresses.append({"type": "Hostname", "address": self.name})
        port = 0
        if self.kubelet_endpoint and self.kubelet_endpoint.startswith("tcp://"):
            port = int(self.kubelet_endpoint.rpartition(":")[2] or 0)
        return {
            "capacity": cap,
            "allocatable": dict(cap),
            "conditions": conds,
            "addresses": addresses,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "nodeInfo": {
                "architecture": arch(),
                "bootID": self._boot_id,
                "containerRuntimeVersion": f"kube-tui-{self.config.runtime}://0.1.0",
                "kernelVersion": platform.release(),
                "kubeProxyVersion": KUBELET_VERSION,
                "kubeletVersion": KUBELET_VERSION,
                "machineID": hashlib.md5(self.name.encode(), usedforsecurity=False).hexdigest(),
                "operatingSystem": "linux",
                "osImage": "kube-tui simulated node" if self.simulated else f"kube-tui on {platform.system()}",
                "systemUUID": self._boot_id,
            },
        }

    def _pressure(self) -> tuple[bool, bool, bool]:
        """(memory ok, disk ok, pids ok) from the host, by the kubelet's default eviction thresholds."""
        if self.simulated:
            return True, True, True
        memory_ok = disk_ok = pid_ok = True
        try:
            memory_ok = psutil.virtual_memory().available >= MEMORY_AVAILABLE_MIN
        except OSError:
            pass
        try:
            du = shutil.disk_usage(self.config.data_dir or "/")
            disk_ok = du.free / max(du.total, 1) >= DISK_AVAILABLE_MIN
        except OSError:
            pass
        try:
            with open("/proc/sys/kernel/pid_max") as f:
                pid_max = int(f.read())
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[1])
            pid_ok = running < 0.9 * pid_max
        except (OSError, ValueError, IndexError):
            pass
        return memory_ok, disk_ok, pid_ok

    def node_object(self) -> dict:
        spec: dict[str, Any] = {}
        if self.config.taints:
            spec["taints"] = copy.deepcopy(self.config.taints)
        if self.pod_cidr:
            spec["podCIDR"] = self.pod_cidr
            spec["podCIDRs"] = [self.pod_cidr]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": self.labels(), "annotations": self.annotations()},
            "spec": spec,
            "status": self.desired_status(None),
        }

    # -- registration ----------------------------------------------------------------------------
    async def register(self) -> dict:
        """Create the Node, or adopt the existing one (a restarted kubelet), then post status."""
        try:
            self.node = await self.client.create(self.node_object())
            created = True
        except ApiError as e:
            if e.reason != "AlreadyExists":
                raise
            self.node = await self.client.get("Node", self.name, None)
            created = False
            # Our own labels and annotations win; taints may have been changed by others (the node
            # lifecycle controller, kubectl taint): like the kubelet, leave them.
            md = self.node.get("metadata") or {}
            patch: dict[str, Any] = {}
            want_labels = {k: v for k, v in self.labels().items() if (md.get("labels") or {}).get(k) != v}
            want_ann = {k: v for k, v in self.annotations().items() if (md.get("annotations") or {}).get(k) != v}
            if want_labels or want_ann:
                patch["metadata"] = {}
                if want_labels:
                    patch["metadata"]["labels"] = want_labels
                if want_ann:
                    patch["metadata"]["annotations"] = want_ann
                self.node = await self.client.patch("Node", self.name, patch, None)
        self._adopt_cidr(self.node)
        self._unschedulable = bool((self.node.get("spec") or {}).get("unschedulable"))  # what a change is from
        if created:
            # The status went in with the object: one request per node, which matters for a pool of 5,000.
            self._last_report = time.monotonic()
            self.status_posts += 1
        else:
            await self.sync_status(force=True)
        return {"created": created}

    def _adopt_cidr(self, node: dict | None) -> bool:
        cidr = ((node or {}).get("spec") or {}).get("podCIDR")
        if cidr and cidr != self.pod_cidr:
            self.pod_cidr = cidr
            self.node_ip = node_ip_of(cidr)
            return True
        return bool(cidr)

    async def wait_pod_cidr(self, claim_after: float = 3.0, poll: float = 0.2) -> str:
        """Wait for the node lifecycle controller's podCIDR; past `claim_after` seconds, claim a free /24 ourselves."""
        deadline = time.monotonic() + claim_after
        while True:
            if self.pod_cidr:
                return self.pod_cidr
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(poll)
            try:
                self.node = await self.client.get("Node", self.name, None)
            except ApiError as e:
                if e.code not in (503, 504):
                    raise
                continue
            self._adopt_cidr(self.node)
        return await self.claim_pod_cidr()

    async def claim_pod_cidr(self, used: Iterable[str] | None = None) -> str:
        """Pick a free /24 (from `used`, else by listing nodes) and write it into our Node's spec."""
        for _ in range(5):
            if used is None:
                nodes = (await self.client.list("Node"))["items"]
                taken = {c for n in nodes if n["metadata"]["name"] != self.name
                         for c in [((n.get("spec") or {}).get("podCIDR"))] if c}
            else:
                taken = set(used)
            cidr = pick_pod_cidr(self.name, taken, ClusterNetwork.from_dict(self.client.hello.get("network")))
            self.node = await self.client.patch("Node", self.name, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}, None)
            self._adopt_cidr(self.node)
            if used is not None:
                return cidr
            # Two nodes may have picked the same range at once: the one with the greater name yields.
            nodes = (await self.client.list("Node"))["items"]
            clash = [n["metadata"]["name"] for n in nodes
                     if (n.get("spec") or {}).get("podCIDR") == cidr and n["metadata"]["name"] != self.name]
            if not any(other < self.name for other in clash):
                return cidr
            self.pod_cidr = None
        raise RuntimeError(f"node {self.name}: could not claim a free pod range")

    # -- heartbeat -------------------------------------------------------------------------------
    def lease_object(self) -> dict:
        md: dict[str, Any] = {"name": self.name, "namespace": LEASE_NAMESPACE}
        node_uid = ((self.node or {}).get("metadata") or {}).get("uid")
        if node_uid:
            # Like the kubelet: the Lease goes away with its Node.
            md["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.name, "uid": node_uid}]
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": md,
            "spec": {
                "holderIdentity": self.name,
                "leaseDurationSeconds": max(1, round(self.timings.lease_duration)),
                "renewTime": meta.now_micro(),
            },
        }

    async def renew_lease(self) -> None:
        """One renewal: update the Lease (last writer wins: only this node writes it), create it if missing."""
        lease = self.lease_object()
        try:
            try:
                await self.client.update(lease)
            except ApiError as e:
                if e.reason != "NotFound":
                    raise
                try:
                    await self.client.create(lease)
                except ApiError as e2:
                    if e2.reason != "AlreadyExists":
                        raise
                    await self.client.update(lease)
            self.lease_renewals += 1
        except ApiError:
            self.lease_failures += 1
            raise

    async def sync_status(self, current: dict | None = None, *, force: bool = False) -> bool:
        """Post status if it differs from `current` (else our last read) or a report is due.

        Comparing against the Node as the API has it means a condition someone else changed (the
        node lifecycle controller's Unknown) is put right at the next check. Returns True if posted.
        """
        if current is not None:
            self.node = current
            self._adopt_cidr(current)
            cordoned = bool((current.get("spec") or {}).get("unschedulable"))
            if self._unschedulable is not None and cordoned != self._unschedulable and self.on_schedulable:
                self.on_schedulable(cordoned)
            self._unschedulable = cordoned
        cur = self.node
        want = self.desired_status(cur)
        due = time.monotonic() - self._last_report >= self.timings.lease_duration * REPORT_FACTOR
        if not force and not due and cur is not None and not self._status_differs(cur, want):
            return False
        try:
            self.node = await self.client.patch("Node", self.name, {"status": want}, None, subresource="status")
        except ApiError as e:
            if e.reason != "NotFound":
                raise
            # Our Node is gone (a fresh control plane, or `delete node`): register again.
            log.warning("node %s: Node object missing; registering again", self.name)
            self.say(f"node {self.name}: Node object missing, registering again")
            await self.register()
            return True
        self._last_report = time.monotonic()
        self.status_posts += 1
        return True

    @staticmethod
    def _status_differs(cur: dict, want: dict) -> bool:
        st = cur.get("status") or {}
        for k in ("capacity", "allocatable", "addresses", "daemonEndpoints"):
            if st.get(k) != want.get(k):
                return True
        info = dict(st.get("nodeInfo") or {})
        if {k: v for k, v in info.items() if k != "bootID" and k != "systemUUID"} != \
                {k: v for k, v in want["nodeInfo"].items() if k != "bootID" and k != "systemUUID"}:
            return True
        return sorted(map(_cond_key, st.get("conditions") or []), key=str) != sorted(map(_cond_key, want["conditions"]), key=str)

    async def set_annotations(self, annotations: dict[str, str | None]) -> None:
        """Merge-patch our Node's annotations (None removes one)."""
        self.node = await self.client.patch("Node", self.name, {"metadata": {"annotations": annotations}}, None)

    def is_ready(self) -> bool:
        for c in ((self.node or {}).get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready":
                return c.get("status") == "True"
        return False

    async def run(self) -> None:
        """The single node's loop: renew the lease every lease_duration/4, check status every /2.

        The caller renews once first (so the node is never Ready without a lease); this sleeps first.
        """
        renew = self.timings.lease_duration / 4
        check = self.timings.lease_duration / 2
        next_status = time.monotonic() + check
        while True:
            await asyncio.sleep(renew)
            try:
                await self.renew_lease()
            except ApiError as e:
                log.warning("node %s: lease renewal failed: %s", self.name, e.message)
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + check
                try:
                    current = await self.client.get("Node", self.name, None)
                except ApiError as e:
                    current = None
                    if e.reason == "NotFound":
                        self.node = None
                    elif e.code not in (503, 504):
                        log.warning("node %s: reading the Node failed: %s", self.name, e.message)
                try:
                    if current is None and self.node is None:
                        await self.register()
                    else:
                        await self.sync_status(current)
                except ApiError as e:
                    log.warning("node %s: status update failed: %s", self.name, e.message)

    async def mark_shutting_down(self) -> None:
        """Ready=False "node is shutting down", as the kubelet's shutdown manager reports it."""
        self.shutting_down = True
        try:
            await self.sync_status(force=True)
        except ApiError as e:
            log.warning("node %s: could not report shutdown: %s", self.name, e.message)


__all__ = ["KUBELET_VERSION", "LEASE_NAMESPACE", "USAGE_ANNOTATION", "NodeConfig", "NodeStatus",
           "node_ip_of", "parse_labels", "parse_taints", "pick_pod_cidr"]
