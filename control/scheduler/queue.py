"""kube-scheduler's scheduling queue: activeQ, backoffQ and the unschedulable pod pool, on asyncio.

activeQ pops by priority, then by queue time. A pod that did not fit waits in the unschedulable
pool until a cluster event that could help it (a node added, a taint removed, a bound pod deleted,
...) moves it back, through backoffQ while its per-pod exponential back-off runs; a pod forgotten
there longer than `max_in_unschedulable` is retried anyway.

A pod with spec.schedulingGates never reaches activeQ (kube-scheduler's SchedulingGates PreEnqueue
plugin): it waits, "gated", until an update removes its last gate, and then goes straight to activeQ,
without back-off. No cluster event and no timeout moves it; it is never tried, so no FailedScheduling.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from control.api.meta import SCHEDULING_ANNOTATION
from control.scheduler.nodeinfo import pod_key

# Cluster events, named like kube-scheduler's ClusterEvent labels.
NODE_ADD = "NodeAdd"
NODE_LABEL_CHANGE = "NodeLabelChange"
NODE_TAINT_CHANGE = "NodeTaintChange"  # includes spec.unschedulable (cordon/uncordon)
NODE_ALLOCATABLE_CHANGE = "NodeAllocatableChange"
NODE_UPDATE = "NodeUpdate"  # any of the three above, when the caller cannot tell which
ASSIGNED_POD_ADD = "AssignedPodAdd"
ASSIGNED_POD_DELETE = "AssignedPodDelete"
ASSIGNED_POD_LABEL_CHANGE = "AssignedPodLabelChange"
NODE_DELETE = "NodeDelete"
ASSIGNED_POD_UPDATE = "AssignedPodUpdate"  # a bound pod's requests shrank
UNSCHEDULABLE_TIMEOUT = "UnschedulableTimeout"
FORCE_ACTIVATE = "ForceActivate"
STORAGE_CHANGE = "StorageChange"  # a PersistentVolumeClaim, PersistentVolume or StorageClass was added or changed

_NODE_UPDATES = frozenset((NODE_LABEL_CHANGE, NODE_TAINT_CHANGE, NODE_ALLOCATABLE_CHANGE))

# Which events may make a pod rejected by each plugin schedulable (the plugins' EventsToRegister,
# without queueing hints).
EVENTS_BY_PLUGIN: dict[str, frozenset[str]] = {
    "NodeUnschedulable": frozenset((NODE_ADD, NODE_TAINT_CHANGE)),
    "NodeName": frozenset((NODE_ADD,)),
    "TaintToleration": frozenset((NODE_ADD, NODE_TAINT_CHANGE)),
    "NodeAffinity": frozenset((NODE_ADD, NODE_LABEL_CHANGE, NODE_TAINT_CHANGE)),
    "NodePorts": frozenset((NODE_ADD, ASSIGNED_POD_DELETE)),
    "NodeResourcesFit": frozenset((NODE_ADD, NODE_ALLOCATABLE_CHANGE, ASSIGNED_POD_DELETE, ASSIGNED_POD_UPDATE)),
    "PodTopologySpread": frozenset((NODE_ADD, NODE_LABEL_CHANGE, NODE_TAINT_CHANGE, NODE_DELETE, ASSIGNED_POD_ADD,
                                    ASSIGNED_POD_DELETE, ASSIGNED_POD_LABEL_CHANGE)),
    "InterPodAffinity": frozenset((NODE_ADD, NODE_LABEL_CHANGE, ASSIGNED_POD_ADD, ASSIGNED_POD_DELETE,
                                   ASSIGNED_POD_LABEL_CHANGE)),
    "VolumeBinding": frozenset((NODE_ADD, NODE_LABEL_CHANGE, STORAGE_CHANGE)),
}

LEFTOVER_FLUSH_INTERVAL = 30.0  # kube-scheduler checks the unschedulable pool every 30 s


def node_update_events(old: dict, new: dict) -> list[str]:
    """The scheduling-relevant changes between two versions of a Node (nodeSchedulingPropertiesChange).

    Heartbeat-only updates give [], so they do not wake every unschedulable pod.
    """
    events: list[str] = []
    o_spec, n_spec = old.get("spec") or {}, new.get("spec") or {}
    if bool(o_spec.get("unschedulable")) != bool(n_spec.get("unschedulable")) or \
            (o_spec.get("taints") or []) != (n_spec.get("taints") or []):
        events.append(NODE_TAINT_CHANGE)
    if ((old.get("metadata") or {}).get("labels") or {}) != ((new.get("metadata") or {}).get("labels") or {}):
        events.append(NODE_LABEL_CHANGE)
    if ((old.get("status") or {}).get("allocatable") or {}) != ((new.get("status") or {}).get("allocatable") or {}):
        events.append(NODE_ALLOCATABLE_CHANGE)
    return events


def _scheduling_relevant(pod: dict) -> dict:
    """A pod without the fields whose change cannot make it schedulable (isPodUpdated).

    The scheduler's own decision record (the kube-tui.io/scheduling annotation, written after each failed
    attempt, its timing different every time) is left out too: kube-scheduler writes no annotation, and
    counting it would retry an unschedulable pod at every back-off step in a cluster where nothing changes."""
    meta = dict(pod.get("metadata") or {})
    for k in ("resourceVersion", "generation", "managedFields"):
        meta.pop(k, None)
    annotations = {k: v for k, v in (meta.pop("annotations", None) or {}).items() if k != SCHEDULING_ANNOTATION}
    if annotations:
        meta["annotations"] = annotations
    return {k: (meta if k == "metadata" else v) for k, v in pod.items() if k != "status"}


def gated(pod: dict) -> bool:
    """Whether the pod still has scheduling gates (the SchedulingGates plugin's PreEnqueue)."""
    return bool((pod.get("spec") or {}).get("schedulingGates"))


def _priority(pod: dict) -> int:
    p = (pod.get("spec") or {}).get("priority")
    return p if isinstance(p, int) else 0


@dataclass(eq=False)
class QueuedPod:
    """A pod in (or popped from) the queue, kube-scheduler's QueuedPodInfo."""

    pod: dict
    key: str
    timestamp: float  # when it was last (re)queued: orders activeQ, starts back-off
    attempts: int = 0
    initial_attempt: float | None = None
    unschedulable_plugins: frozenset[str] = frozenset()
    cycle: int = 0  # the scheduling cycle that popped it
    seq: int = 0
    updated_in_flight: bool = field(default=False, repr=False)

    @property
    def priority(self) -> int:
        return _priority(self.pod)


class SchedulingQueue:
    """kube-scheduler's PriorityQueue. Single event loop; every method but `pop` is synchronous."""

    def __init__(self, *, initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 max_in_unschedulable: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self._clock = clock
        self._seq = itertools.count()
        self._active: list[tuple[int, float, int, str]] = []  # (-priority, timestamp, seq, key)
        self._backoff: list[tuple[float, int, str]] = []  # (expiry, seq, key)
        # key -> ("active" | "backoff" | "unschedulable" | "gated", qp)
        self._pods: dict[str, tuple[str, QueuedPod]] = {}
        self._in_flight: dict[str, QueuedPod] = {}
        self._counts = {"active": 0, "backoff": 0, "unschedulable": 0, "gated": 0}
        self._cycle = 0
        # Cluster events while pods were in flight, with the cycle they came in: a pod whose rejecting plugins
        # care about one of them goes to backoffQ rather than waiting in the unschedulable pool.
        self._moves: list[tuple[int, frozenset[str]]] = []
        self._unschedulable: dict[str, QueuedPod] = {}  # the pods events may move, apart (not a scan of all)
        self._last_leftover_flush = clock()
        self._wakeup = asyncio.Event()
        self._closed = False

    # what is where

    def __len__(self) -> int:
        return len(self._pods)

    def pending(self) -> dict[str, int]:
        return dict(self._counts)

    def where(self, pod: dict | str) -> str | None:
        key = pod if isinstance(pod, str) else pod_key(pod)
        if key in self._in_flight and key not in self._pods:
            return "in-flight"
        entry = self._pods.get(key)
        return entry[0] if entry else None

    @property
    def scheduling_cycle(self) -> int:
        return self._cycle

    def backoff_duration(self, attempts: int) -> float:
        """1 s, 2 s, 4 s, ... capped at max_backoff (calculateBackoffDuration)."""
        if attempts <= 0:
            return 0.0
        d = self.initial_backoff
        for _ in range(1, attempts):
            if d > self.max_backoff - d:
                return self.max_backoff
            d += d
        return min(d, self.max_backoff)

    # informer-driven changes

    def add(self, pod: dict) -> None:
        """A new pending pod."""
        key = pod_key(pod)
        if key in self._pods or key in self._in_flight:
            self.update(None, pod)
            return
        self._to_active(QueuedPod(pod=pod, key=key, timestamp=self._clock()))

    def update(self, old: dict | None, new: dict) -> None:
        key = pod_key(new)
        if (new.get("spec") or {}).get("nodeName"):
            self.delete(new)  # bound: nothing left to schedule
            return
        flying = self._in_flight.get(key)
        if flying is not None:
            # Scheduled meanwhile with the old spec: retry soon instead of parking it.
            if old is None or _scheduling_relevant(old) != _scheduling_relevant(new):
                flying.updated_in_flight = True
            flying.pod = new
            if key not in self._pods:
                return
        entry = self._pods.get(key)
        if entry is None:
            self.add(new)
            return
        where, qp = entry
        changed = old is None or _scheduling_relevant(old) != _scheduling_relevant(new)
        qp.pod = new
        if where == "gated":
            if not gated(new):
                self._del(key)
                qp.timestamp = self._clock()
                self._to_active(qp)  # its gates are gone: it has never been tried, so no back-off
        elif where == "unschedulable" and changed:
            self._del(key)
            self._requeue(qp)

    def delete(self, pod: dict | str) -> None:
        key = pod if isinstance(pod, str) else pod_key(pod)
        self._del(key)  # heap entries are dropped lazily
        self._in_flight.pop(key, None)

    # the scheduling loop's side

    async def pop(self) -> QueuedPod | None:
        """The next pod to schedule, waiting as long as needed; None once the queue is closed."""
        while not self._closed:
            self._flush()
            qp = self._pop_active()
            if qp is not None:
                return qp
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._next_timer())
            except TimeoutError:
                pass
        return None

    def done(self, pod: dict | str) -> None:
        """The cycle for this pod is over (bound, or requeued)."""
        key = pod if isinstance(pod, str) else pod_key(pod)
        self._in_flight.pop(key, None)

    def add_unschedulable(self, pod: dict, attempts: int | None = None, *,
                          plugins: Iterable[str] = (), cycle: int | None = None, error: bool = False) -> None:
        """Put back a pod that did not fit (AddUnschedulableIfNotPresent).

        `plugins` are the filters that rejected it: only events those care about move it again.
        An `error` (not a misfit), or a cluster event during its cycle, sends it to backoffQ
        instead, so that nothing it might have missed is lost.
        """
        key = pod_key(pod)
        qp = self._in_flight.pop(key, None)
        if key in self._pods:
            return  # already queued again by an update
        if qp is None:
            qp = QueuedPod(pod=pod, key=key, timestamp=self._clock(), attempts=attempts or 1)
        qp.pod = pod
        if attempts is not None:
            qp.attempts = attempts
        qp.timestamp = self._clock()
        qp.unschedulable_plugins = frozenset(plugins)
        cycle = qp.cycle if cycle is None else cycle
        missed = frozenset().union(*(ev for c, ev in self._moves if c >= cycle))
        lo = min((q.cycle for q in self._in_flight.values()), default=None)
        self._moves = [m for m in self._moves if lo is not None and m[0] >= lo]
        if error or qp.updated_in_flight or (missed and self._interested(qp, set(missed))):
            qp.updated_in_flight = False
            self._to_backoff(qp)
        else:
            self._set(qp, "unschedulable")

    def move_all_to_active_or_backoff(self, event: str | Iterable[str],
                                      pre_check: Callable[[dict], bool] | None = None) -> int:
        """A cluster event happened: requeue the unschedulable pods it may help. Returns how many moved."""
        events = {event} if isinstance(event, str) else set(event)
        if NODE_UPDATE in events:
            events |= _NODE_UPDATES
        if not events:
            return 0
        if self._in_flight:
            self._moves.append((self._cycle, frozenset(events)))
        if not self._unschedulable:
            return 0
        moved = 0
        for key, qp in list(self._unschedulable.items()):
            if not self._interested(qp, events):
                continue
            if pre_check is not None and not pre_check(qp.pod):
                continue
            self._del(key)
            self._requeue(qp)
            moved += 1
        return moved

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()

    # internals

    @staticmethod
    def _interested(qp: QueuedPod, events: set[str]) -> bool:
        if events & {UNSCHEDULABLE_TIMEOUT, FORCE_ACTIVATE} or not qp.unschedulable_plugins:
            return True
        return any(events & EVENTS_BY_PLUGIN.get(p, events) for p in qp.unschedulable_plugins)

    def _set(self, qp: QueuedPod, where: str) -> None:
        self._del(qp.key)
        self._pods[qp.key] = (where, qp)
        self._counts[where] += 1
        if where == "unschedulable":
            self._unschedulable[qp.key] = qp

    def _del(self, key: str) -> None:
        entry = self._pods.pop(key, None)
        if entry is not None:
            self._counts[entry[0]] -= 1
            if entry[0] == "unschedulable":
                self._unschedulable.pop(key, None)

    def _expiry(self, qp: QueuedPod) -> float:
        return qp.timestamp + self.backoff_duration(qp.attempts)

    def _requeue(self, qp: QueuedPod) -> None:
        if self._expiry(qp) > self._clock():
            self._to_backoff(qp)
        else:
            self._to_active(qp)

    def _to_active(self, qp: QueuedPod) -> None:
        if gated(qp.pod):
            self._set(qp, "gated")  # PreEnqueue: it waits for an update that removes its gates
            return
        qp.seq = next(self._seq)
        self._set(qp, "active")
        heapq.heappush(self._active, (-qp.priority, qp.timestamp, qp.seq, qp.key))
        self._wakeup.set()

    def _to_backoff(self, qp: QueuedPod) -> None:
        if gated(qp.pod):
            self._set(qp, "gated")
            return
        qp.seq = next(self._seq)
        self._set(qp, "backoff")
        heapq.heappush(self._backoff, (self._expiry(qp), qp.seq, qp.key))
        self._wakeup.set()  # the popper must recompute its timer

    def _pop_active(self) -> QueuedPod | None:
        while self._active:
            _, _, seq, key = heapq.heappop(self._active)
            entry = self._pods.get(key)
            if entry is None or entry[0] != "active" or entry[1].seq != seq:
                continue  # stale: deleted or moved since
            qp = entry[1]
            self._del(key)
            qp.attempts += 1
            self._cycle += 1
            qp.cycle = self._cycle
            if qp.initial_attempt is None:
                qp.initial_attempt = self._clock()
            self._in_flight[key] = qp
            return qp
        return None

    def _flush(self) -> None:
        now = self._clock()
        while self._backoff and self._backoff[0][0] <= now:
            _, seq, key = heapq.heappop(self._backoff)
            entry = self._pods.get(key)
            if entry is not None and entry[0] == "backoff" and entry[1].seq == seq:
                self._to_active(entry[1])
        if now - self._last_leftover_flush >= min(LEFTOVER_FLUSH_INTERVAL, self.max_in_unschedulable):
            self._last_leftover_flush = now
            for key, qp in list(self._unschedulable.items()):
                if now - qp.timestamp > self.max_in_unschedulable:
                    self._del(key)
                    self._requeue(qp)

    def _next_timer(self) -> float | None:
        """Seconds until something may become poppable without an outside event."""
        now = self._clock()
        times: list[float] = []
        while self._backoff:
            expiry, seq, key = self._backoff[0]
            entry = self._pods.get(key)
            if entry is not None and entry[0] == "backoff" and entry[1].seq == seq:
                times.append(expiry)
                break
            heapq.heappop(self._backoff)  # stale
        if self._counts["unschedulable"]:
            times.append(self._last_leftover_flush + min(LEFTOVER_FLUSH_INTERVAL, self.max_in_unschedulable))
        if not times:
            return None
        return max(min(times) - now, 0.0) + 0.001
