"""The scheduler's cache: per-node aggregates (NodeInfo) kept incrementally, like kube-scheduler's.

Pods and nodes are plain Kubernetes dicts; quantities are parsed once, when an object enters the
cache, so a scheduling cycle only does integer arithmetic.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any

from control.api.quantity import QuantityError, milli, to_int
from control.scheduler.podindex import PodIndex

# kube-scheduler's defaults for containers without a request (pkg/scheduler/util/pod_resources.go):
# they only feed scoring (NonZeroRequested), never the fit check.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

HARD_EFFECTS = frozenset(("NoSchedule", "NoExecute"))
TERMINAL_PHASES = frozenset(("Succeeded", "Failed"))

# Zone labels used by kube-scheduler's node tree to interleave nodes of different zones.
_ZONE_LABELS = (("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"),
                ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"))


@lru_cache(maxsize=8192)
def _cpu(value: str | int | float) -> int:
    # Cached because thousands of pods from one template repeat the same few strings.
    try:
        return milli(value)
    except QuantityError:
        return 0  # the API server validates quantities; a bad one here must not stop scheduling


@lru_cache(maxsize=8192)
def _bytes(value: str | int | float) -> int:
    try:
        return to_int(value)
    except QuantityError:
        return 0


def pod_key(pod: dict) -> str:
    """The cache key of a pod: its UID when it has one, else namespace/name."""
    meta = pod.get("metadata") or {}
    uid = meta.get("uid")
    if uid:
        return str(uid)
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def _container_requests(container: dict, nonzero: bool) -> tuple[int, int]:
    req = (container.get("resources") or {}).get("requests") or {}
    cpu = req.get("cpu")
    mem = req.get("memory")
    if nonzero:
        # Only a *missing* request gets the default; an explicit "0" stays 0 (NonMissingContainerRequests).
        c = DEFAULT_MILLI_CPU_REQUEST if cpu is None else _cpu(cpu)
        m = DEFAULT_MEMORY_REQUEST if mem is None else _bytes(mem)
        return c, m
    return (0 if cpu is None else _cpu(cpu)), (0 if mem is None else _bytes(mem))


def pod_requests(spec: dict, *, nonzero: bool = False) -> tuple[int, int]:
    """(milli-cpu, memory bytes) a pod requests, computed like resourcehelper.PodRequests.

    Regular containers add up; sidecars (init containers with restartPolicy Always) add up too;
    every other init container runs alone, so only the largest one counts; then overhead.
    """
    cpu = mem = 0
    for c in spec.get("containers") or ():
        cc, cm = _container_requests(c, nonzero)
        cpu += cc
        mem += cm
    side_cpu = side_mem = init_cpu = init_mem = 0
    for c in spec.get("initContainers") or ():
        cc, cm = _container_requests(c, nonzero)
        if c.get("restartPolicy") == "Always":
            cpu += cc
            mem += cm
            side_cpu += cc
            side_mem += cm
            cc, cm = side_cpu, side_mem
        else:
            cc += side_cpu
            cm += side_mem
        init_cpu = max(init_cpu, cc)
        init_mem = max(init_mem, cm)
    cpu = max(cpu, init_cpu)
    mem = max(mem, init_mem)
    overhead = spec.get("overhead") or {}
    if "cpu" in overhead:
        cpu += _cpu(overhead["cpu"])
    if "memory" in overhead:
        mem += _bytes(overhead["memory"])
    return cpu, mem


def _storage_request(container: dict) -> int:
    value = ((container.get("resources") or {}).get("requests") or {}).get("ephemeral-storage")
    return 0 if value is None else _bytes(value)


def pod_storage_request(spec: dict) -> int:
    """The ephemeral-storage bytes a pod requests, summed as pod_requests sums cpu and memory (only filtering
    reads it: kube-scheduler scores cpu and memory by default)."""
    total = sidecars = init = 0
    for c in spec.get("containers") or ():
        total += _storage_request(c)
    for c in spec.get("initContainers") or ():
        own = _storage_request(c)
        if c.get("restartPolicy") == "Always":
            total += own
            sidecars += own
            init = max(init, sidecars)
        else:
            init = max(init, own + sidecars)
    total = max(total, init)
    overhead = (spec.get("overhead") or {}).get("ephemeral-storage")
    return total + (0 if overhead is None else _bytes(overhead))


def host_ports(spec: dict) -> tuple[tuple[str, str, int], ...]:
    """The (hostIP, protocol, hostPort) triples a pod claims on its node, defaulted like HostPortInfo."""
    out: list[tuple[str, str, int]] = []
    containers = list(spec.get("containers") or ())
    # Sidecar init containers keep running, so their host ports stay taken.
    containers += [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    for c in containers:
        for p in c.get("ports") or ():
            port = p.get("hostPort") or 0
            if isinstance(port, int) and port > 0:
                out.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", port))
    return tuple(out)


class PodInfo:
    """A pod plus what every plugin needs from it, parsed once (kube-scheduler's framework.PodInfo).

    `state` is the per-cycle scratch space plugins share between PreFilter/Filter/PreScore/Score
    (kube-scheduler's CycleState).
    """

    __slots__ = ("pod", "key", "namespace", "name", "node_name", "cpu", "mem", "nz_cpu", "nz_mem",
                 "storage", "priority", "ports", "state", "labels_key", "terminating", "pod_affinity", "affinity_terms")

    def __init__(self, pod: dict) -> None:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.pod = pod
        self.key = pod_key(pod)
        self.namespace: str = meta.get("namespace") or "default"
        self.name: str = meta.get("name", "")
        self.node_name: str = spec.get("nodeName") or ""
        self.cpu, self.mem = pod_requests(spec)
        self.nz_cpu, self.nz_mem = pod_requests(spec, nonzero=True)
        self.storage = pod_storage_request(spec)
        prio = spec.get("priority")
        self.priority: int = prio if isinstance(prio, int) else 0
        self.ports = host_ports(spec)
        self.state: dict[str, Any] = {}
        # What PodTopologySpread and InterPodAffinity count pods by (podindex.py).
        self.labels_key = (self.namespace, frozenset((meta.get("labels") or {}).items()))
        self.terminating = bool(meta.get("deletionTimestamp"))
        aff = spec.get("affinity") or {}
        self.pod_affinity = bool(aff.get("podAffinity") or aff.get("podAntiAffinity"))
        self.affinity_terms: Any = None  # parsed when InterPodAffinity first needs them

    @property
    def spec(self) -> dict:
        return self.pod.get("spec") or {}

    @property
    def labels(self) -> dict[str, str]:
        return (self.pod.get("metadata") or {}).get("labels") or {}

    def __repr__(self) -> str:
        return f"PodInfo({self.namespace}/{self.name}, cpu={self.cpu}m, mem={self.mem})"


def _same_footprint(a: PodInfo, b: PodInfo) -> bool:
    """Whether two versions of a pod count the same on their node (requests, priority, host ports, and
    what the pod index counts it by)."""
    return (a.cpu == b.cpu and a.mem == b.mem and a.storage == b.storage and a.nz_cpu == b.nz_cpu and a.nz_mem == b.nz_mem
            and a.priority == b.priority and a.ports == b.ports and a.labels_key == b.labels_key
            and a.terminating == b.terminating and a.pod_affinity == b.pod_affinity)


def as_pod_info(pod: dict | PodInfo) -> PodInfo:
    return pod if isinstance(pod, PodInfo) else PodInfo(pod)


class NodeInfo:
    """One node and the aggregate of the pods on it (kube-scheduler's framework.NodeInfo).

    Everything a filter or score reads is a precomputed attribute, updated incrementally as pods
    come and go, so a cycle over thousands of nodes never walks their pods.
    """

    __slots__ = ("name", "node", "labels", "unschedulable", "taints", "hard_taints", "soft_taints",
                 "alloc_cpu", "alloc_mem", "allowed_pods", "req_cpu", "req_mem", "nz_cpu", "nz_mem",
                 "alloc_storage", "req_storage", "free_storage", "free_pods", "free_cpu", "free_mem", "nz_free_cpu", "nz_free_mem", "has_alloc",
                 "pods", "used_ports", "priorities", "zone", "idx", "memo", "lane0_k", "lane0_v", "lane1_k",
                 "lane1_v", "lane2_k", "lane2_v", "fits_k")

    def __init__(self, node: dict | None = None, name: str = "") -> None:
        self.name = name
        self.node: dict | None = None
        self.labels: dict[str, str] = {}
        self.unschedulable = False
        self.taints: tuple[dict, ...] = ()
        self.hard_taints: tuple[dict, ...] = ()  # NoSchedule / NoExecute, in node order
        self.soft_taints: tuple[dict, ...] = ()  # PreferNoSchedule
        self.alloc_cpu = self.alloc_mem = self.allowed_pods = 0
        self.req_cpu = self.req_mem = 0  # sum of requests: the fit check
        self.alloc_storage = self.req_storage = self.free_storage = 0  # ephemeral-storage: the fit check only
        self.nz_cpu = self.nz_mem = 0  # with defaults for missing requests: scoring
        # Derived, kept in step by _derive(): what the hot loops read, so they do no arithmetic twice.
        self.free_pods = self.free_cpu = self.free_mem = self.nz_free_cpu = self.nz_free_mem = 0
        self.has_alloc = False  # both cpu and memory allocatable are non-zero
        # Score plugins' results keyed by (plugin, pod request shape): valid until the node changes.
        self.memo: dict[int, int] = {}  # keyed by plugins.helper's interned key ids
        self.lane0_k = self.lane1_k = self.lane2_k = -1  # the memo's last key and value per lane, in the node itself
        self.lane0_v = self.lane1_v = self.lane2_v = 0
        self.fits_k = -1  # NodeResourcesFit: the last request shape known to fit here (until the node changes)
        self.pods: dict[str, PodInfo] = {}
        self.used_ports: Counter[tuple[str, str, int]] = Counter()
        self.priorities: Counter[int] = Counter()  # lets preemption ask "any lower-priority pod?" in O(1)
        self.zone = ""
        self.idx = -1  # position in the snapshot's node list, set by Snapshot
        if node is not None:
            self.set_node(node)

    def set_node(self, node: dict) -> None:
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        alloc = (node.get("status") or {}).get("allocatable") or {}
        self.node = node
        self.name = meta.get("name", self.name)
        self.labels = meta.get("labels") or {}
        self.unschedulable = bool(spec.get("unschedulable"))
        self.taints = tuple(spec.get("taints") or ())
        self.hard_taints = tuple(t for t in self.taints if t.get("effect") in HARD_EFFECTS)
        self.soft_taints = tuple(t for t in self.taints if t.get("effect") == "PreferNoSchedule")
        # No fallback to capacity: kube-scheduler reads status.allocatable only.
        self.alloc_cpu = _cpu(alloc["cpu"]) if "cpu" in alloc else 0
        self.alloc_mem = _bytes(alloc["memory"]) if "memory" in alloc else 0
        self.allowed_pods = _bytes(alloc["pods"]) if "pods" in alloc else 0
        self.alloc_storage = _bytes(alloc["ephemeral-storage"]) if "ephemeral-storage" in alloc else 0
        self.zone = zone_key(self.labels)
        self._derive()

    def _derive(self) -> None:
        self.free_pods = self.allowed_pods - len(self.pods)
        self.free_cpu = self.alloc_cpu - self.req_cpu
        self.free_mem = self.alloc_mem - self.req_mem
        self.free_storage = self.alloc_storage - self.req_storage
        self.nz_free_cpu = self.alloc_cpu - self.nz_cpu
        self.nz_free_mem = self.alloc_mem - self.nz_mem
        self.has_alloc = self.alloc_cpu > 0 and self.alloc_mem > 0
        self.memo = {}
        self.lane0_k = self.lane1_k = self.lane2_k = self.fits_k = -1

    @property
    def num_pods(self) -> int:
        return len(self.pods)

    def add_pod(self, pi: PodInfo) -> None:
        self.pods[pi.key] = pi
        self.req_cpu += pi.cpu
        self.req_mem += pi.mem
        self.req_storage += pi.storage
        self.nz_cpu += pi.nz_cpu
        self.nz_mem += pi.nz_mem
        self.priorities[pi.priority] += 1
        for p in pi.ports:
            self.used_ports[p] += 1
        self._derive()

    def remove_pod(self, key: str) -> PodInfo | None:
        pi = self.pods.pop(key, None)
        if pi is None:
            return None
        self.req_cpu -= pi.cpu
        self.req_mem -= pi.mem
        self.req_storage -= pi.storage
        self.nz_cpu -= pi.nz_cpu
        self.nz_mem -= pi.nz_mem
        self.priorities[pi.priority] -= 1
        if not self.priorities[pi.priority]:
            del self.priorities[pi.priority]
        for p in pi.ports:
            self.used_ports[p] -= 1
            if not self.used_ports[p]:
                del self.used_ports[p]
        self._derive()
        return pi

    def clone(self) -> NodeInfo:
        """An independent copy (preemption's dry run removes pods from it)."""
        c = NodeInfo(None, self.name)
        for attr in NodeInfo.__slots__:
            setattr(c, attr, getattr(self, attr))
        c.pods = dict(self.pods)
        c.used_ports = Counter(self.used_ports)
        c.priorities = Counter(self.priorities)
        c.memo = {}
        c.lane0_k = c.lane1_k = c.lane2_k = c.fits_k = -1
        return c

    def __repr__(self) -> str:
        return (f"NodeInfo({self.name}, cpu={self.req_cpu}/{self.alloc_cpu}m, "
                f"mem={self.req_mem}/{self.alloc_mem}, pods={len(self.pods)}/{self.allowed_pods})")


def zone_key(labels: dict[str, str]) -> str:
    """kube-scheduler's utilnode.GetZoneKey: region + zone, or "" when the node has neither."""
    region = labels.get(_ZONE_LABELS[0][0]) or labels.get(_ZONE_LABELS[0][1]) or ""
    zone = labels.get(_ZONE_LABELS[1][0]) or labels.get(_ZONE_LABELS[1][1]) or ""
    if not region and not zone:
        return ""
    return f"{region}:\x00:{zone}"


class Snapshot:
    """The scheduler cache: nodes, the pods bound (or assumed) on them, and a node list.

    Assumed pods count at once, so the next cycle sees a placement before its bind comes back
    through the watch; the bound pod's own event then confirms it instead of counting it twice.
    """

    def __init__(self) -> None:
        self._infos: dict[str, NodeInfo] = {}  # includes "ghost" nodes: deleted, pods still on them
        self._pod_node: dict[str, str] = {}  # pod key -> node it is counted on
        self._assumed: set[str] = set()
        self._list: list[NodeInfo] | None = None
        # Bound pods by labels, for the plugins that count pods across nodes.
        self.index = PodIndex(self._labels_of)
        self.label_keys: Counter[str] = Counter()  # how many nodes carry each label key

    # nodes

    def _labels_of(self, name: str) -> dict[str, str]:
        ni = self._infos.get(name)
        return ni.labels if ni is not None and ni.node is not None else {}

    def add_node(self, node: dict) -> NodeInfo:
        name = (node.get("metadata") or {}).get("name", "")
        ni = self._infos.get(name)
        if ni is None:
            ni = self._infos[name] = NodeInfo(node)
            self._list = None
            self.label_keys.update(ni.labels.keys())
        else:
            was_listed, old_zone, old_labels = ni.node is not None, ni.zone, ni.labels
            if was_listed:
                self.label_keys.subtract(old_labels.keys())
            ni.set_node(node)
            self.label_keys.update(ni.labels.keys())
            if not was_listed or ni.zone != old_zone:
                self._list = None
            if not was_listed or ni.labels != old_labels:
                self.index.nodes_changed()
        return ni

    update_node = add_node

    def remove_node(self, node: dict | str) -> None:
        name = node if isinstance(node, str) else (node.get("metadata") or {}).get("name", "")
        ni = self._infos.get(name)
        if ni is None or ni.node is None:
            return
        self.label_keys.subtract(ni.labels.keys())
        if ni.pods:
            # Like kube-scheduler, keep the pods' accounting until their own delete events arrive.
            ni.node = None
            self.index.nodes_changed()
        else:
            del self._infos[name]
        self._list = None

    @property
    def infos(self) -> dict[str, NodeInfo]:
        """Node name -> NodeInfo, deleted nodes whose pods are still counted included (their .node is None)."""
        return self._infos

    def get(self, name: str) -> NodeInfo | None:
        ni = self._infos.get(name)
        return ni if ni is not None and ni.node is not None else None

    def node_infos(self) -> list[NodeInfo]:
        """Nodes in kube-scheduler's node-tree order (zones interleaved), rebuilt only when nodes change."""
        if self._list is None:
            zones: dict[str, list[NodeInfo]] = {}
            for ni in self._infos.values():
                if ni.node is not None:
                    zones.setdefault(ni.zone, []).append(ni)
            out: list[NodeInfo] = []
            groups = list(zones.values())
            for i in range(max((len(g) for g in groups), default=0)):
                out.extend(g[i] for g in groups if i < len(g))
            for i, ni in enumerate(out):
                ni.idx = i
            self._list = out
        return self._list

    @property
    def num_nodes(self) -> int:
        return len(self.node_infos())

    # pods

    def add_pod(self, pod: dict) -> None:
        """A pod event from the informer (add or update): count it on its node, confirming an assumption."""
        spec = pod.get("spec") or {}
        node_name = spec.get("nodeName") or ""
        key = pod_key(pod)
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            # Finished pods no longer hold resources (kube-scheduler releases them too).
            self.remove_pod(pod)
            return
        if not node_name:
            return  # unbound: the queue's business, not the cache's
        if key in self._assumed and self._pod_node.get(key) == node_name:
            # The bind came back as assumed: swap in the bound pod; the node's sums (and the score
            # memo they key) stay as they are unless what the pod counts for changed.
            ni = self._infos.get(node_name)
            old = ni.pods.get(key) if ni is not None else None
            new = PodInfo(pod)
            if ni is not None and old is not None and _same_footprint(old, new):
                ni.pods[key] = new
                if new.pod_affinity:
                    self.index.with_affinity[key] = (new, node_name)
                self._assumed.discard(key)
                return
        self._remove_key(key)
        self._assumed.discard(key)
        self._add(PodInfo(pod), node_name)

    update_pod = add_pod

    def remove_pod(self, pod: dict | str) -> None:
        key = pod if isinstance(pod, str) else pod_key(pod)
        self._remove_key(key)
        self._assumed.discard(key)

    def assume_pod(self, pod: dict | PodInfo, node_name: str) -> PodInfo:
        """Count `pod` on `node_name` now, before the bind is confirmed by a watch event."""
        pi = as_pod_info(pod)
        if pi.key in self._pod_node:
            raise ValueError(f"pod {pi.namespace}/{pi.name} is already in the scheduler cache")
        pi.node_name = node_name
        self._add(pi, node_name)
        self._assumed.add(pi.key)
        return pi

    def forget_pod(self, pod: dict | PodInfo | str) -> bool:
        """Undo an assumption (the bind failed). Returns False if the pod was not assumed."""
        key = pod if isinstance(pod, str) else (pod.key if isinstance(pod, PodInfo) else pod_key(pod))
        if key not in self._assumed:
            return False
        self._assumed.discard(key)
        self._remove_key(key)
        return True

    def is_assumed(self, pod: dict | str) -> bool:
        return (pod if isinstance(pod, str) else pod_key(pod)) in self._assumed

    def pod_node(self, pod: dict | str) -> str | None:
        return self._pod_node.get(pod if isinstance(pod, str) else pod_key(pod))

    @property
    def num_pods(self) -> int:
        return len(self._pod_node)

    def _add(self, pi: PodInfo, node_name: str) -> None:
        ni = self._infos.get(node_name)
        if ni is None:
            # The pod's event can precede its node's; keep a ghost entry so nothing is lost.
            ni = self._infos[node_name] = NodeInfo(None, node_name)
        ni.add_pod(pi)
        self._pod_node[pi.key] = node_name
        self.index.add(pi, node_name)

    def _remove_key(self, key: str) -> None:
        node_name = self._pod_node.pop(key, None)
        if node_name is None:
            return
        ni = self._infos.get(node_name)
        if ni is None:
            return
        pi = ni.remove_pod(key)
        if pi is not None:
            self.index.remove(pi, node_name)
        if ni.node is None and not ni.pods:
            del self._infos[node_name]
