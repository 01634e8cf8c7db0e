"""How many replicas a metric asks for: pkg/controller/podautoscaler/replica_calculator.go, pure.

The pods are those the target's selector picks; the metrics are each pod's usage (milli-units: millicores of
CPU, milli-bytes of memory) with the time it was measured and the window it covers. Pods are grouped as
Kubernetes groups them (groupPods): being deleted or Failed are ignored; Pending are unready; without a
metric are missing; and for CPU, pods still in their initialization period whose Ready condition is False
or whose sample may predate readiness (or that have never been Ready shortly after starting) are unready.
Then desired = ceil(readyPods * usage / target) outside the 10 % tolerance, with missing pods counted at
100 % of their request (or the target) on a scale down and 0 on a scale up, and unready pods counted at
0 on a scale up; a result that would flip the direction keeps the current count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from control.api import meta, quantity
from control.controllers import controller_utils as cu

DEFAULT_TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance


class MetricsError(Exception):
    """A replica count that cannot be computed, worded as the replica calculator words it."""


@dataclass(frozen=True, slots=True)
class PodMetric:
    value: int  # milli-units
    timestamp: float = 0.0  # when it was measured (seconds since the epoch)
    window: float = 0.0  # seconds the measurement covers


@dataclass
class Groups:
    ready: int = 0
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


class ReplicaCalculator:
    def __init__(self, *, tolerance: float = DEFAULT_TOLERANCE, cpu_initialization_period: float = 300.0,
                 delay_of_initial_readiness_status: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.tolerance = tolerance
        self.cpu_initialization_period = cpu_initialization_period
        self.delay_of_initial_readiness_status = delay_of_initial_readiness_status
        self.clock = clock

    def _counted(self, resource: str, pods: list[dict],
                 metrics: dict[str, PodMetric]) -> tuple[dict[str, PodMetric], Groups]:
        """What both calculations start with: the errors for no metrics or no pods, then the pods grouped
        (groupPods) and the metrics of the ignored and unready ones left out (a copy: the caller's stay)."""
        if not metrics:
            raise MetricsError(f"unable to get metrics for resource {resource}: no metrics returned from resource "
                               "metrics API")
        if not pods:
            raise MetricsError("no pods returned by selector while calculating replica count")
        metrics = dict(metrics)
        groups = self.group_pods(pods, metrics, resource)
        for name in groups.ignored | groups.unready:
            metrics.pop(name, None)
        return metrics, groups

    # -- GetResourceReplicas ----------------------------------------------------------------------------
    def resource_replicas(self, current: int, target_utilization: int, resource: str, pods: list[dict],
                          metrics: dict[str, PodMetric]) -> tuple[int, int, int]:
        """(replicas, utilization %, raw average milli-value) for an averageUtilization target."""
        metrics, groups = self._counted(resource, pods, metrics)
        requests = pod_requests(pods, resource)  # before the check below, as GetResourceReplicas: its error wins
        if not metrics:
            raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
        ratio, utilization, raw = utilization_ratio(metrics, requests, target_utilization)
        scale_up_with_unready = bool(groups.unready) and ratio > 1.0
        if not scale_up_with_unready and not groups.missing:
            if abs(1.0 - ratio) <= self.tolerance:
                return current, utilization, raw
            return math.ceil(ratio * groups.ready), utilization, raw
        if groups.missing:
            if ratio < 1.0:
                # on a scale down, a pod without a metric counts as using all its request (or the target, if higher)
                fallback = max(100, target_utilization)
                for name in groups.missing:
                    metrics[name] = PodMetric(requests.get(name, 0) * fallback // 100)
            elif ratio > 1.0:
                for name in groups.missing:  # on a scale up, as using nothing
                    metrics[name] = PodMetric(0)
        if scale_up_with_unready:
            for name in groups.unready:
                metrics[name] = PodMetric(0)
        new_ratio, _, _ = utilization_ratio(metrics, requests, target_utilization)
        return self._rebalanced(current, ratio, new_ratio, len(metrics)), utilization, raw

    # -- GetRawResourceReplicas (calcPlainMetricReplicas) -----------------------------------------------
    def raw_resource_replicas(self, current: int, target_usage: int, resource: str, pods: list[dict],
                              metrics: dict[str, PodMetric]) -> tuple[int, int]:
        """(replicas, average milli-value) for an averageValue target."""
        metrics, groups = self._counted(resource, pods, metrics)
        if not metrics:
            raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
        ratio, usage = usage_ratio(metrics, target_usage)
        scale_up_with_unready = bool(groups.unready) and ratio > 1.0
        if not scale_up_with_unready and not groups.missing:
            if abs(1.0 - ratio) <= self.tolerance:
                return current, usage
            return math.ceil(ratio * groups.ready), usage
        if groups.missing:
            for name in groups.missing:
                if ratio < 1.0:
                    metrics[name] = PodMetric(target_usage)  # on a scale down: exactly the target
                elif ratio > 1.0:
                    metrics[name] = PodMetric(0)
        if scale_up_with_unready:
            for name in groups.unready:
                metrics[name] = PodMetric(0)
        new_ratio, _ = usage_ratio(metrics, target_usage)
        return self._rebalanced(current, ratio, new_ratio, len(metrics)), usage

    def _rebalanced(self, current: int, ratio: float, new_ratio: float, counted: int) -> int:
        if abs(1.0 - new_ratio) <= self.tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
            return current  # too small a change, or the pods without metrics would turn the direction
        replicas = math.ceil(new_ratio * counted)
        if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
            return current
        return replicas

    # -- groupPods ----------------------------------------------------------------------------------------
    def group_pods(self, pods: list[dict], metrics: dict[str, PodMetric], resource: str) -> Groups:
        g = Groups()
        now = self.clock()
        for pod in pods:
            name = (pod.get("metadata") or {}).get("name", "")
            phase = cu.phase(pod)
            if cu.is_terminating(pod) or phase == "Failed":
                g.ignored.add(name)
                continue
            if phase == "Pending":
                g.unready.add(name)
                continue
            metric = metrics.get(name)
            if metric is None:
                g.missing.add(name)
                continue
            if resource == "cpu" and self._cpu_unready(pod, metric, now):
                g.unready.add(name)
                continue
            g.ready += 1
        return g

    def _cpu_unready(self, pod: dict, metric: PodMetric, now: float) -> bool:
        status = pod.get("status") or {}
        cond = cu.condition(status, "Ready")
        start = meta.parse_time(status.get("startTime"))
        if cond is None or start is None:
            return True
        transition = meta.parse_time(cond.get("lastTransitionTime")) or 0.0
        if start + self.cpu_initialization_period > now:
            # still initializing: unready, or a sample that may have been taken before it became ready
            return cond.get("status") == "False" or metric.timestamp < transition + metric.window
        # unready and never ready since it started (a readiness that flips later is a real signal)
        return cond.get("status") == "False" and start + self.delay_of_initial_readiness_status > transition


def pod_requests(pods: list[dict], resource: str) -> dict[str, int]:
    """calculatePodRequests: each pod's request of the resource in milli-units (containers and restartable
    init containers); a container without one makes the metric unusable."""
    out: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        name = (pod.get("metadata") or {}).get("name", "")
        containers = list(spec.get("containers") or [])
        containers += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        total = 0
        for c in containers:
            value = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if value is None:
                raise MetricsError(f"missing request for {resource} in container {c.get('name', '')} of Pod {name}")
            total += quantity.milli(value)
        out[name] = total
    return out


def utilization_ratio(metrics: dict[str, PodMetric], requests: dict[str, int], target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (usage / target, utilization %, average raw milli-value)."""
    used = requested = entries = 0
    for name, m in metrics.items():
        if name not in requests:
            continue  # a metric for a pod that is not one of ours
        used += m.value
        requested += requests[name]
        entries += 1
    if requested == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = used * 100 // requested
    return utilization / target, utilization, used // entries


def usage_ratio(metrics: dict[str, PodMetric], target: int) -> tuple[float, int]:
    """GetMetricUsageRatio: (average / target, average)."""
    average = sum(m.value for m in metrics.values()) // len(metrics)
    return average / target, average
