"""The list-watch flow as the dashboard hears it: one FlowStep per change, who wrote it, what changed.

Every change an informer applies becomes a step (time received, revision, object, watch type, writer
from the last managedFields entry, a one-line summary of the difference). Steps live in a ring buffer;
a pod's steps, with those of its owners, read as a timeline from creation to Running.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from control.api.meta import SCHEDULING_ANNOTATION, USAGE_ANNOTATION


@dataclass(slots=True, frozen=True)
class FlowStep:
    seq: int  # position in the flow log, increasing
    t: float  # when the dashboard heard it (model clock, seconds)
    revision: int
    kind: str
    key: str  # "namespace/name", or "name" for cluster-scoped kinds
    type: str  # ADDED | MODIFIED | DELETED
    writer: str
    summary: str
    delta_ms: float | None  # since the previous step of the same object
    uid: str = ""

    @property
    def ref(self) -> tuple[str, str]:
        return (self.kind, self.key)


def object_key(obj: dict) -> str:
    md = obj.get("metadata") or {}
    ns = md.get("namespace") or ""
    return f"{ns}/{md.get('name', '')}" if ns else str(md.get("name", ""))


def writer_of(obj: dict) -> str:
    """The most recent writer: the last metadata.managedFields entry's manager."""
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    if entries and isinstance(entries[-1], dict):
        return str(entries[-1].get("manager") or "?")
    return "?"


def _get(obj: dict | None, *path: str) -> object:
    cur: object = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def _waiting_reason(pod: dict | None) -> str:
    for cs in _get(pod, "status", "containerStatuses") or []:
        if isinstance(cs, dict):
            state = cs.get("state") or {}
            reason = (state.get("waiting") or {}).get("reason") or (state.get("terminated") or {}).get("reason")
            if reason:
                return str(reason)
    return ""


def _ready(obj: dict | None) -> str:
    for c in _get(obj, "status", "conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return str(c.get("status"))
    return ""


def _restarts(pod: dict | None) -> int:
    return sum(int(cs.get("restartCount") or 0) for cs in _get(pod, "status", "containerStatuses") or [] if isinstance(cs, dict))


def _disruption_target(pod: dict | None) -> str:
    """The reason of a pod's DisruptionTarget condition when True (PreemptionByScheduler, EvictionByEvictionAPI,
    DeletionByTaintManager, ...), else ""."""
    for c in _get(pod, "status", "conditions") or []:
        if isinstance(c, dict) and c.get("type") == "DisruptionTarget" and c.get("status") == "True":
            return str(c.get("reason") or "True")
    return ""


def _arrow(label: str, old: object, new: object) -> str:
    return f"{label} {old if old not in (None, '') else '∅'}→{new if new not in (None, '') else '∅'}"


def _event_said(event: dict) -> str:
    """What an Event records, as kubectl get events shows it: "Warning BackOff: Back-off restarting ..." (the
    message cut at 100 characters)."""
    reason, message = str(event.get("reason") or ""), " ".join(str(event.get("message") or "").split())
    if len(message) > 100:
        message = message[:99] + "…"
    head = f"{event.get('type')} {reason}" if event.get("type") == "Warning" else reason
    return f"{head}: {message}" if message else head or "created"


def summarize(kind: str, type_: str, obj: dict, prev: dict | None) -> str:
    """What a change did, in a few words ("bound to node-2", "phase Pending→Running", "replicas 2→3")."""
    if type_ == "ADDED" or prev is None:
        if type_ == "DELETED":
            return "deleted"
        if kind == "Event":
            return _event_said(obj)
        return _created_by_cronjob(obj) if kind == "Job" else "created"
    if type_ == "DELETED":
        return "deleted"
    parts: list[str] = []
    if _get(obj, "metadata", "deletionTimestamp") and not _get(prev, "metadata", "deletionTimestamp"):
        parts.append("terminating")
    if kind == "Pod":
        old_node, new_node = _get(prev, "spec", "nodeName"), _get(obj, "spec", "nodeName")
        if new_node != old_node:
            parts.append(f"bound to {new_node}" if new_node else "unbound")
        old_sched = _get(prev, "metadata", "annotations", SCHEDULING_ANNOTATION)
        new_sched = _get(obj, "metadata", "annotations", SCHEDULING_ANNOTATION)
        if new_sched != old_sched and not new_node:
            parts.append("scheduling attempt recorded")
        w_old, w_new = _waiting_reason(prev), _waiting_reason(obj)
        if w_new != w_old and w_new:
            parts.append(w_new)
        if _restarts(obj) != _restarts(prev):
            parts.append(_arrow("restarts", _restarts(prev), _restarts(obj)))
        if _get(obj, "status", "podIP") != _get(prev, "status", "podIP") and _get(obj, "status", "podIP"):
            parts.append(f"IP {_get(obj, 'status', 'podIP')}")
        old_nom, new_nom = _get(prev, "status", "nominatedNodeName"), _get(obj, "status", "nominatedNodeName")
        if new_nom != old_nom:  # preemption: the node it waits for (or a more important pod took the claim)
            parts.append(f"nominated {new_nom}" if new_nom else "nomination cleared")
        target = _disruption_target(obj)
        if target and target != _disruption_target(prev):  # a victim of preemption, an eviction, a taint
            parts.append(f"DisruptionTarget: {target}")
    for path, label in _FIELDS.get(kind, ()):
        old, new = _get(prev, *path), _get(obj, *path)
        if old != new:
            parts.append(_arrow(label, old, new))
    if kind in ("Pod", "Node") and _ready(obj) != _ready(prev):
        parts.append(_arrow("Ready", _ready(prev), _ready(obj)))
    if kind == "Node":
        if _get(obj, "spec", "taints") != _get(prev, "spec", "taints"):
            parts.append(f"taints: {len(_get(obj, 'spec', 'taints') or [])}")
        if _get(obj, "metadata", "annotations", USAGE_ANNOTATION) != _get(prev, "metadata", "annotations", USAGE_ANNOTATION):
            parts.append("usage reported")
    if kind == "Lease" and not parts and _get(obj, "spec", "renewTime") != _get(prev, "spec", "renewTime"):
        parts.append("renewed")  # the same holder's heartbeat (a new holder reads "holder A→B" above)
    if kind == "CronJob":
        old_n, new_n = len(_get(prev, "status", "active") or []), len(_get(obj, "status", "active") or [])
        if old_n != new_n:
            parts.append(_arrow("active", old_n, new_n))
    if kind == "HorizontalPodAutoscaler":
        parts.extend(_hpa_summary(obj, prev))
    if kind == "Endpoints":
        old_n, new_n = _endpoint_count(prev), _endpoint_count(obj)
        if old_n != new_n:
            parts.append(_arrow("ready addresses", old_n, new_n))
    if not parts:
        if _get(obj, "spec") != _get(prev, "spec"):
            parts.append("spec changed")
        elif _get(obj, "status") != _get(prev, "status"):
            parts.append("status changed")
        else:
            parts.append("metadata changed")
    return ", ".join(parts)


_FIELDS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "Pod": ((("status", "phase"), "phase"),),
    "Deployment": (
        (("spec", "replicas"), "replicas"),
        (("status", "readyReplicas"), "ready"),
        (("status", "updatedReplicas"), "updated"),
    ),
    "ReplicaSet": ((("spec", "replicas"), "replicas"), (("status", "readyReplicas"), "ready")),
    "DaemonSet": ((("status", "desiredNumberScheduled"), "desired"), (("status", "numberReady"), "ready")),
    "StatefulSet": (
        (("spec", "replicas"), "replicas"),
        (("status", "readyReplicas"), "ready"),
        (("status", "updatedReplicas"), "updated"),
        (("status", "updateRevision"), "update revision"),
    ),
    "Job": ((("status", "active"), "active"), (("status", "succeeded"), "succeeded"), (("status", "failed"), "failed")),
    "Node": ((("spec", "unschedulable"), "unschedulable"),),
    "Lease": ((("spec", "holderIdentity"), "holder"),),
    "Event": ((("count",), "count"),),
    "CronJob": (
        (("spec", "schedule"), "schedule"),
        (("spec", "suspend"), "suspend"),
        (("status", "lastScheduleTime"), "last schedule"),
        (("status", "lastSuccessfulTime"), "last success"),
    ),
    "PodDisruptionBudget": ((("status", "currentHealthy"), "healthy"), (("status", "disruptionsAllowed"), "allowed disruptions")),
}


CRONJOB_SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"
CRONJOB_MANUAL = "cronjob.kubernetes.io/instantiate"


def _created_by_cronjob(job: dict) -> str:
    """A Job a CronJob made: "created for CronJob hello, scheduled 2026-11-27T15:47:00Z" (or "by hand", for
    `kubectl create job --from=cronjob/hello`)."""
    owner = next((r for r in _get(job, "metadata", "ownerReferences") or []
                  if isinstance(r, dict) and r.get("controller") and r.get("kind") == "CronJob"), None)
    if owner is None:
        return "created"
    annotations = _get(job, "metadata", "annotations") or {}
    if isinstance(annotations, dict) and annotations.get(CRONJOB_SCHEDULED):
        return f"created for CronJob {owner.get('name')}, scheduled {annotations[CRONJOB_SCHEDULED]}"
    if isinstance(annotations, dict) and annotations.get(CRONJOB_MANUAL) == "manual":
        return f"created from CronJob {owner.get('name')} by hand"
    return f"created for CronJob {owner.get('name')}"


def _hpa_summary(obj: dict, prev: dict) -> list[str]:
    """An HPA's rescale as it reads: "scaled Deployment web from 1 to 4 (cpu 180% / 50%)"; else its reading."""
    st, old = _get(obj, "status") or {}, _get(prev, "status") or {}
    assert isinstance(st, dict) and isinstance(old, dict)
    spec = _get(obj, "spec") or {}
    assert isinstance(spec, dict)
    readings = _hpa_readings(spec, st)
    if st.get("lastScaleTime") and st.get("lastScaleTime") != old.get("lastScaleTime"):
        ref = spec.get("scaleTargetRef") or {}
        why = f" ({readings})" if readings else ""
        return [f"scaled {ref.get('kind', '')} {ref.get('name', '')} from {st.get('currentReplicas', 0)} to "
                f"{st.get('desiredReplicas', 0)}{why}"]
    if readings and readings != _hpa_readings(spec, old):
        return [readings]
    return []


def _hpa_readings(spec: dict, status: dict) -> str:
    """"cpu 180% / 50%" for each Resource metric the status has a reading of."""
    out = []
    currents = status.get("currentMetrics") or []
    for i, m in enumerate(spec.get("metrics") or []):
        res, cur = (m or {}).get("resource") or {}, ((currents[i] if i < len(currents) else None) or {}).get("resource")
        if not res or not cur:
            continue
        now, target = cur.get("current") or {}, res.get("target") or {}
        if target.get("averageUtilization") is not None and now.get("averageUtilization") is not None:
            out.append(f"{res.get('name')} {now['averageUtilization']}% / {target['averageUtilization']}%")
        elif target.get("averageValue") is not None and now.get("averageValue") is not None:
            out.append(f"{res.get('name')} {now['averageValue']} / {target['averageValue']}")
    return ", ".join(out)


def _endpoint_count(ep: dict | None) -> int:
    return sum(len(s.get("addresses") or []) for s in _get(ep, "subsets") or [] if isinstance(s, dict))


class FlowLog:
    """A ring buffer of FlowSteps with per-object deltas; old steps fall off the front."""

    def __init__(self, capacity: int = 5000, *, tracked_objects: int = 50_000) -> None:
        self.steps: deque[FlowStep] = deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self.last_seq = 0
        # last time heard per object, for deltas; bounded so a churn of names cannot grow it forever
        self._last_t: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._tracked = tracked_objects

    def __len__(self) -> int:
        return len(self.steps)

    def record(self, kind: str, type_: str, obj: dict, prev: dict | None, t: float, revision: int | None = None) -> FlowStep:
        key = object_key(obj)
        ref = (kind, key)
        last = self._last_t.pop(ref, None)
        if type_ != "DELETED":
            self._last_t[ref] = t
            if len(self._last_t) > self._tracked:
                self._last_t.popitem(last=False)
        if revision is None:
            try:
                revision = int(_get(obj, "metadata", "resourceVersion") or 0)  # type: ignore[arg-type]
            except ValueError:
                revision = 0
        step = FlowStep(
            seq=next(self._seq),
            t=t,
            revision=revision,
            kind=kind,
            key=key,
            type=type_,
            writer=writer_of(obj),
            summary=summarize(kind, type_, obj, prev),
            delta_ms=None if last is None else (t - last) * 1000.0,
            uid=str(_get(obj, "metadata", "uid") or ""),
        )
        self.steps.append(step)
        self.last_seq = step.seq
        return step

    def since(self, seq: int) -> list[FlowStep]:
        """Steps newer than seq (all of them if seq fell off the ring)."""
        if not self.steps or self.steps[-1].seq <= seq:
            return []
        out: list[FlowStep] = []
        for step in reversed(self.steps):
            if step.seq <= seq:
                break
            out.append(step)
        out.reverse()
        return out

    def for_objects(self, refs: Iterable[tuple[str, str]]) -> list[FlowStep]:
        wanted = set(refs)
        return [s for s in self.steps if s.ref in wanted]


def format_ms(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms >= 10_000:
        return f"+{ms / 1000:.1f} s"
    return f"+{ms:.0f} ms"


def timeline(steps: list[FlowStep], focus: tuple[str, str] | None = None) -> list[str]:
    """One line per hop: "created by kube-tui apply at rev 12", "scheduler: bound to node-2 (+4 ms)", ...

    Deltas are measured from the previous hop of the whole story (owners included), so an apply that
    becomes a Deployment, a ReplicaSet, a Pod, a binding and a Running container reads left to right.
    """
    lines: list[str] = []
    prev_t: float | None = None
    start_t = steps[0].t if steps else 0.0
    for s in steps:
        who = s.kind if focus is None or s.ref != focus else ""
        subject = f"{who} {s.key}: " if who else ""
        if s.summary.startswith("created"):
            text = f"{subject}{s.summary} by {s.writer} at rev {s.revision}"
        else:
            text = f"{subject}{s.writer}: {s.summary} at rev {s.revision}"
        delta = "" if prev_t is None else f" ({format_ms((s.t - prev_t) * 1000)})"
        lines.append(f"{'→ ' if lines else ''}{text}{delta}")
        prev_t = s.t
    if len(steps) > 1:
        lines.append(f"total {format_ms((steps[-1].t - start_t) * 1000).lstrip('+')} over {len(steps)} hops")
    return lines
