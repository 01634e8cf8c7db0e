"""The horizontal pod autoscaler controller (pkg/controller/podautoscaler/horizontal.go).

Every sync period (15 s; `timings.hpaSyncPeriod`) each HorizontalPodAutoscaler is reconciled: the target's
scale is read through the API server (a Deployment, ReplicaSet or StatefulSet: spec.replicas, status.replicas, its
selector), its pods' usage is read from what the kubelets publish (the Nodes' kube-tui.io/usage annotation,
the figures `kubectl top` shows; there is no metrics-server), the replica calculator proposes a count per
metric and the largest wins, then the count is stabilized and rate-limited (`behavior`, or without it the
classic 2x-or-4 scale-up limit and the downscale stabilization window, 300 s; `timings.hpaDownscaleStabilization`),
clamped to [minReplicas, maxReplicas], written as the target's spec.replicas (its controller does
the rest), and the status, conditions and events are written in horizontal.go's words.

Only Resource metrics (cpu, memory; averageUtilization or averageValue) can be computed: there is no custom
or external metrics API, so Pods, Object and External metrics (and ContainerResource, as the kubelets
measure whole pods) make ScalingActive False with a message that says so.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from control.api import horizontalpodautoscaler as hpas
from control.api import meta, quantity
from control.api.labels import format_label_selector, from_label_selector
from control.api.meta import usage_of
from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import BY_NAMESPACE, SharedInformers
from control.controllers.replica_calculator import MetricsError, PodMetric, ReplicaCalculator
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings

# The kubelets check their pods' usage every 5 s (NodeOptions.usage_interval) and publish it when it moved:
# a published figure is at most that old. Its window is two of those: a container's first reading is 0
# (a rate needs two samples), so a reading is trusted one window after the pod became ready.
METRIC_DELAY = 5.0
METRIC_WINDOW = 10.0
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
SCALABLE = {("apps", "Deployment"): "deployments", ("apps", "ReplicaSet"): "replicasets",
            ("apps", "StatefulSet"): "statefulsets"}
UNSUPPORTED = "no custom or external metrics API is served by kube-tui: only Resource metrics (cpu, memory) can be computed"


class ScaleError(Exception):
    """The target's scale cannot be read."""


@dataclass
class _Recommendation:
    replicas: int
    timestamp: float


@dataclass
class _ScaleEvent:
    change: int  # replicas added (scale-up list) or removed (scale-down list)
    timestamp: float
    outdated: bool = False


class Normalizer:
    """What the controller remembers between syncs, per HPA: its recent unstabilized recommendations and
    the scale events its policies count; and the normalization that reads them (the clock is injected)."""

    def __init__(self, downscale_window: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self.downscale_window = downscale_window
        self.clock = clock
        self.recommendations: dict[Any, list[_Recommendation]] = {}
        self.scale_up_events: dict[Any, list[_ScaleEvent]] = {}
        self.scale_down_events: dict[Any, list[_ScaleEvent]] = {}

    def forget(self, key: Any) -> None:
        for d in (self.recommendations, self.scale_up_events, self.scale_down_events):
            d.pop(key, None)

    def record_initial(self, key: Any, current: int) -> None:
        if not self.recommendations.get(key):
            self.recommendations[key] = [_Recommendation(current, self.clock())]

    # -- without behavior ------------------------------------------------------------------------------
    def normalize(self, status: dict, key: Any, current: int, desired: int, min_replicas: int, max_replicas: int) -> int:
        """normalizeDesiredReplicas: the highest recommendation of the window, then the 2x-or-4 limit."""
        stabilized = self._stabilize(key, desired)
        if stabilized != desired:
            hpas.set_condition(status, hpas.ABLE_TO_SCALE, "True", "ScaleDownStabilized",
                               "recent recommendations were higher than current one, applying the highest recent "
                               "recommendation")
        else:
            hpas.set_condition(status, hpas.ABLE_TO_SCALE, "True", "ReadyForNewScale", "recommended size matches current size")
        out, reason, message = convert_with_rules(current, stabilized, min_replicas, max_replicas)
        hpas.set_condition(status, hpas.SCALING_LIMITED, "False" if out == stabilized else "True", reason, message)
        return out

    def _stabilize(self, key: Any, desired: int) -> int:
        now = self.clock()
        cutoff = now - self.downscale_window
        best = desired
        recs = self.recommendations.setdefault(key, [])
        old = None
        for i, rec in enumerate(recs):
            if rec.timestamp < cutoff:
                old = i
            elif rec.replicas > best:
                best = rec.replicas
        if old is not None:
            recs[old] = _Recommendation(desired, now)
        else:
            recs.append(_Recommendation(desired, now))
        return best

    # -- with behavior ---------------------------------------------------------------------------------
    def normalize_with_behaviors(self, status: dict, behavior: dict, key: Any, current: int, desired: int,
                                 min_replicas: int, max_replicas: int) -> int:
        up, down = behavior.get("scaleUp") or hpas.scale_up_rules(None), dict(behavior.get("scaleDown") or hpas.scale_down_rules(None))
        if down.get("stabilizationWindowSeconds") is None:  # maybeInitScaleDownStabilizationWindow
            down["stabilizationWindowSeconds"] = int(self.downscale_window)
        stabilized, reason, message = self._stabilize_with_behaviors(key, current, desired, up, down)
        if stabilized != desired:
            hpas.set_condition(status, hpas.ABLE_TO_SCALE, "True", reason, message)
        else:
            hpas.set_condition(status, hpas.ABLE_TO_SCALE, "True", "ReadyForNewScale", "recommended size matches current size")
        out, reason, message = self._convert_with_behavior_rate(key, current, stabilized, min_replicas, max_replicas, up, down)
        hpas.set_condition(status, hpas.SCALING_LIMITED, "False" if out == stabilized else "True", reason, message)
        return out

    def _stabilize_with_behaviors(self, key: Any, current: int, desired: int, up: dict, down: dict) -> tuple[int, str, str]:
        now = self.clock()
        up_cutoff = now - int(up.get("stabilizationWindowSeconds") or 0)
        down_cutoff = now - int(down.get("stabilizationWindowSeconds") or 0)
        up_rec = down_rec = desired
        recs = self.recommendations.setdefault(key, [])
        old = None
        for i, rec in enumerate(recs):
            if rec.timestamp > up_cutoff:
                up_rec = min(rec.replicas, up_rec)
            if rec.timestamp > down_cutoff:
                down_rec = max(rec.replicas, down_rec)
            if rec.timestamp < up_cutoff and rec.timestamp < down_cutoff:
                old = i
        recommendation = max(current, up_rec)
        recommendation = min(recommendation, down_rec)
        if old is not None:
            recs[old] = _Recommendation(desired, now)
        else:
            recs.append(_Recommendation(desired, now))
        if desired >= current:
            return recommendation, "ScaleUpStabilized", ("recent recommendations were lower than current one, applying "
                                                         "the lowest recent recommendation")
        return recommendation, "ScaleDownStabilized", ("recent recommendations were higher than current one, applying "
                                                       "the highest recent recommendation")

    def _convert_with_behavior_rate(self, key: Any, current: int, desired: int, min_replicas: int, max_replicas: int,
                                    up: dict, down: dict) -> tuple[int, str, str]:
        ups, downs = self.scale_up_events.get(key, []), self.scale_down_events.get(key, [])
        if desired > current:
            limit = max(self._scale_up_limit(current, ups, downs, up), current)
            if max_replicas > limit:
                allowed, reason, message = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
            else:
                allowed, reason, message = max_replicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
            if desired > allowed:
                return allowed, reason, message
        elif desired < current:
            limit = min(self._scale_down_limit(current, ups, downs, down), current)
            if min_replicas < limit:
                allowed, reason, message = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
            else:
                allowed, reason, message = min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
            if desired < allowed:
                return allowed, reason, message
        return desired, "DesiredWithinRange", "the desired count is within the acceptable range"

    def _changes_in(self, period: int, events: list[_ScaleEvent]) -> int:
        cutoff = self.clock() - period
        return sum(e.change for e in events if e.timestamp > cutoff)

    def _scale_up_limit(self, current: int, ups: list[_ScaleEvent], downs: list[_ScaleEvent], rules: dict) -> int:
        """calculateScaleUpLimitWithScalingRules: the most replicas the policies allow now."""
        select = rules.get("selectPolicy") or hpas.MAX_SELECT
        if select == hpas.DISABLED_SELECT:
            return current
        pick = min if select == hpas.MIN_SELECT else max
        result: int | None = None
        for p in rules.get("policies") or []:
            start = current - self._changes_in(int(p["periodSeconds"]), ups) + self._changes_in(int(p["periodSeconds"]), downs)
            if p["type"] == hpas.PODS_POLICY:
                proposed = start + int(p["value"])
            else:
                proposed = math.ceil(start * (1 + int(p["value"]) / 100))
            result = proposed if result is None else pick(result, proposed)
        return current if result is None else result

    def _scale_down_limit(self, current: int, ups: list[_ScaleEvent], downs: list[_ScaleEvent], rules: dict) -> int:
        """calculateScaleDownLimitWithBehaviors: the fewest replicas the policies allow now."""
        select = rules.get("selectPolicy") or hpas.MAX_SELECT
        if select == hpas.DISABLED_SELECT:
            return current
        pick = max if select == hpas.MIN_SELECT else min
        result: int | None = None
        for p in rules.get("policies") or []:
            start = current - self._changes_in(int(p["periodSeconds"]), ups) + self._changes_in(int(p["periodSeconds"]), downs)
            if p["type"] == hpas.PODS_POLICY:
                proposed = start - int(p["value"])
            else:
                proposed = int(start * (1 - int(p["value"]) / 100))
            result = proposed if result is None else pick(result, proposed)
        return current if result is None else result

    def store_scale_event(self, behavior: dict | None, key: Any, prev: int, new: int) -> None:
        """storeScaleEvent: what the policies will count (reusing an entry older than the longest period)."""
        if behavior is None:
            return
        if new > prev:
            rules, events, change = behavior.get("scaleUp") or {}, self.scale_up_events.setdefault(key, []), new - prev
        else:
            rules, events, change = behavior.get("scaleDown") or {}, self.scale_down_events.setdefault(key, []), prev - new
        longest = max((int(p.get("periodSeconds") or 0) for p in rules.get("policies") or []), default=0)
        now = self.clock()
        old = None
        for i, e in enumerate(events):
            if e.timestamp < now - longest:
                e.outdated = True
            if e.outdated:
                old = i
        event = _ScaleEvent(change, now)
        if old is not None:
            events[old] = event
        else:
            events.append(event)


def convert_with_rules(current: int, desired: int, min_replicas: int, max_replicas: int) -> tuple[int, str, str]:
    """convertDesiredReplicasWithRules: min/max, and at most max(2 x current, 4) at once."""
    scale_up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
    if max_replicas > scale_up_limit:
        maximum, reason, message = scale_up_limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
    else:
        maximum, reason, message = max_replicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
    if desired < min_replicas:
        return min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    if desired > maximum:
        return maximum, reason, message
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


@dataclass
class _Scale:
    kind: str
    resource: str
    name: str
    namespace: str
    spec_replicas: int
    status_replicas: int
    selector: Any  # the target's spec.selector (a LabelSelector)


class _MetricFailure(Exception):
    def __init__(self, message: str, reason: str, condition_message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.condition_message = condition_message


class HorizontalController(Controller):
    name = "horizontal-pod-autoscaler"  # the Events' source, as kube-controller-manager's HPA records them

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(client, informers, events, timings)
        self.clock = clock
        self.hpa_informer = informers.get("HorizontalPodAutoscaler")
        self.pod_informer = informers.get("Pod")
        self.node_informer = informers.get("Node")
        self.normalizer = Normalizer(timings.hpa_downscale_stabilization, clock)
        # each HPA's pod selector as last seen (its target's): two HPAs over one pod make both stop (hpaSelectors)
        self.selectors: dict[Key, Any] = {}
        self.calculator = ReplicaCalculator(cpu_initialization_period=timings.hpa_cpu_initialization_period,
                                            delay_of_initial_readiness_status=timings.hpa_initial_readiness_delay,
                                            clock=clock)
        # a new HPA is looked at at once; any later change waits for its next period, as the HPA's queue does
        # (its own status writes would otherwise make it sync in a loop)
        self.hpa_informer.add_handler(self.enqueue, lambda old, new: self.enqueue_after(new, timings.hpa_sync_period),
                                      self._deleted)

    def _deleted(self, hpa: dict) -> None:
        self.normalizer.forget(key_of(hpa))
        self.selectors.pop(key_of(hpa), None)

    async def sync(self, key: Key) -> None:
        hpa = self.hpa_informer.get(*key)
        if hpa is None:
            self.normalizer.forget(key)
            self.selectors.pop(key, None)
            return
        try:
            await self.reconcile(hpa, key)
        except (ApiError, MetricsError, ScaleError) as e:
            # logged, and tried again at the next period (the HPA's queue retries at its fixed interval)
            msg = e.message if isinstance(e, ApiError) else str(e)
            self.log.info("%s: %s/%s: %s", self.name, key[0], key[1], msg)
        finally:
            if self.hpa_informer.get(*key) is not None:
                self.queue.add_after(key, self.timings.hpa_sync_period)

    # -- reconcileAutoscaler ------------------------------------------------------------------------------
    async def reconcile(self, shared: dict, key: Key) -> None:
        hpa = copy.deepcopy(shared)
        original = copy.deepcopy(hpa.get("status") or {})
        status: dict[str, Any] = hpa.setdefault("status", {})
        spec = hpa.get("spec") or {}
        ns = (hpa.get("metadata") or {}).get("namespace") or "default"
        ref = spec.get("scaleTargetRef") or {}
        reference = f"{ref.get('kind', '')}/{ns}/{ref.get('name', '')}"
        try:
            scale = await self._scale(ns, ref)
        except ScaleError as e:
            self.recorder.event(hpa, "Warning", "FailedGetScale", str(e))
            hpas.set_condition(status, hpas.ABLE_TO_SCALE, "False", "FailedGetScale",
                               f"the HPA controller was unable to get the target's current scale: {e}")
            await self._update_status_if_needed(original, hpa)
            raise ScaleError(f"failed to query scale subresource for {reference}: {e}") from None
        hpas.set_condition(status, hpas.ABLE_TO_SCALE, "True", "SucceededGetScale",
                           "the HPA controller was able to get the target's current scale")
        current = scale.spec_replicas
        self.normalizer.record_initial(key, current)
        min_replicas = int(spec.get("minReplicas") or 1)
        max_replicas = int(spec.get("maxReplicas") or 0)
        metric_statuses: list[dict] | None = None
        desired, reason, rescale = 0, "", True
        error: MetricsError | None = None
        if current == 0 and min_replicas != 0:
            rescale = False
            hpas.set_condition(status, hpas.SCALING_ACTIVE, "False", "ScalingDisabled",
                               "scaling is disabled since the replica count of the target is zero")
        elif current > max_replicas:
            reason, desired = "Current number of replicas above Spec.MaxReplicas", max_replicas
        elif current < min_replicas:
            reason, desired = "Current number of replicas below Spec.MinReplicas", min_replicas
        else:
            proposed, metric, metric_statuses, err = self.compute_replicas_for_metrics(hpa, scale, status)
            if err is not None and proposed == -1:
                self._set_status(hpa, current, status.get("desiredReplicas", 0), metric_statuses, rescale=False)
                await self._update_status_if_needed(original, hpa)
                self.recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas", str(err))
                raise MetricsError(f"failed to compute desired number of replicas based on listed metrics for "
                                   f"{reference}: {err}")
            error = err
            rescale_metric = ""
            if proposed > desired:
                desired, rescale_metric = proposed, metric
            if desired > current:
                reason = f"{rescale_metric} above target"
            if desired < current:
                reason = "All metrics below target"
            behavior = spec.get("behavior")
            if behavior is None:
                desired = self.normalizer.normalize(status, key, current, desired, min_replicas, max_replicas)
            else:
                desired = self.normalizer.normalize_with_behaviors(status, behavior, key, current, desired,
                                                                   min_replicas, max_replicas)
            rescale = desired != current
        if rescale:
            try:
                await self.client.patch(scale.kind, scale.name, {"spec": {"replicas": desired}}, ns)
            except ApiError as e:
                self.recorder.event(hpa, "Warning", "FailedRescale", f"New size: {desired}; reason: {reason}; error: {e.message}")
                hpas.set_condition(status, hpas.ABLE_TO_SCALE, "False", "FailedUpdateScale",
                                   f"the HPA controller was unable to update the target scale: {e.message}")
                self._set_status(hpa, current, status.get("desiredReplicas", 0), metric_statuses, rescale=False)
                await self._update_status_if_needed(original, hpa)
                raise
            hpas.set_condition(status, hpas.ABLE_TO_SCALE, "True", "SucceededRescale",
                               f"the HPA controller was able to update the target scale to {desired}")
            self.recorder.event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            self.normalizer.store_scale_event(spec.get("behavior"), key, current, desired)
            self.log.info("%s: %s/%s: rescaled %s from %d to %d: %s", self.name, key[0], key[1], reference, current,
                          desired, reason)
        else:
            desired = current
        self._set_status(hpa, current, desired, metric_statuses, rescale=rescale)
        await self._update_status_if_needed(original, hpa)
        if error is not None:
            raise error

    async def _scale(self, ns: str, ref: dict) -> _Scale:
        """The target's Scale (spec.replicas, status.replicas, selector), read through the API server."""
        api_version, kind, name = str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""), str(ref.get("name") or "")
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        resource = SCALABLE.get((group, kind))
        if resource is None:
            raise ScaleError(f'no matches for kind "{kind}" in group "{group}"')
        try:
            obj = await self.client.get(kind, name, ns)
        except ApiError as e:
            raise ScaleError(e.message) from None
        return _Scale(kind, resource, name, ns, int((obj.get("spec") or {}).get("replicas", 1)),
                      int((obj.get("status") or {}).get("replicas") or 0), (obj.get("spec") or {}).get("selector"))

    # -- computeReplicasForMetrics ------------------------------------------------------------------------
    def compute_replicas_for_metrics(self, hpa: dict, scale: _Scale,
                                     status: dict) -> tuple[int, str, list[dict] | None, MetricsError | None]:
        """(replicas or -1, the metric that asked for the most, the metric statuses, the first error)."""
        if scale.selector is None or format_label_selector(scale.selector) == "<none>":
            self.recorder.event(hpa, "Warning", "SelectorRequired", "selector is required")
            hpas.set_condition(status, hpas.SCALING_ACTIVE, "False", "InvalidSelector",
                               "the HPA target's scale is missing a selector")
            return -1, "", None, MetricsError("selector is required")
        try:
            selector = from_label_selector(scale.selector)
        except ApiError as e:
            msg = f"couldn't convert selector into a corresponding internal selector object: {e.message}"
            self.recorder.event(hpa, "Warning", "InvalidSelector", msg)
            hpas.set_condition(status, hpas.SCALING_ACTIVE, "False", "InvalidSelector", msg)
            return -1, "", None, MetricsError(msg)
        pods = [p for p in self.pod_informer.by_index(BY_NAMESPACE, scale.namespace)
                if selector.matches((p.get("metadata") or {}).get("labels") or {})]
        me = key_of(hpa)
        self.selectors[me] = selector
        selecting = sorted(k for k, sel in self.selectors.items() if k[0] == me[0] and self.hpa_informer.get(*k)
                           and any(sel.matches((p.get("metadata") or {}).get("labels") or {}) for p in pods))
        if len(selecting) > 1:
            msg = (f"pods by selector {format_label_selector(scale.selector)} are controlled by multiple HPAs: "
                   f"[{' '.join(f'{{{k[1]} {k[0]}}}' for k in selecting)}]")
            self.recorder.event(hpa, "Warning", "AmbiguousSelector", msg)
            hpas.set_condition(status, hpas.SCALING_ACTIVE, "False", "AmbiguousSelector", msg)
            return -1, "", None, MetricsError(msg)
        specs = [m for m in (hpa.get("spec") or {}).get("metrics") or [] if isinstance(m, dict)]
        statuses: list[dict] = [{"type": ""} for _ in specs]
        replicas, metric, invalid, first = 0, "", 0, None
        first_condition: tuple[str, str] | None = None
        for i, m in enumerate(specs):
            try:
                proposal, name, statuses[i] = self._compute_metric(m, scale, pods)
            except _MetricFailure as e:
                self.recorder.event(hpa, "Warning", e.reason, e.condition_message)
                if invalid == 0:
                    first, first_condition = str(e), (e.reason, e.condition_message)
                invalid += 1
                continue
            if replicas == 0 or proposal > replicas:
                replicas, metric = proposal, name
        err = MetricsError(f"invalid metrics ({invalid} invalid out of {len(specs)}), first error is: {first}") if invalid else None
        if first_condition is not None and (invalid >= len(specs) or replicas < scale.spec_replicas):
            hpas.set_condition(status, hpas.SCALING_ACTIVE, "False", first_condition[0],
                               f"the HPA was unable to compute the replica count: {first_condition[1]}")
            return -1, "", statuses, err
        hpas.set_condition(status, hpas.SCALING_ACTIVE, "True", "ValidMetricFound",
                           f"the HPA was able to successfully calculate a replica count from {metric}")
        return replicas, metric, statuses, err

    def _compute_metric(self, m: dict, scale: _Scale, pods: list[dict]) -> tuple[int, str, dict]:
        typ = m.get("type")
        if typ == hpas.RESOURCE:
            src = m.get("resource") or {}
            resource = str(src.get("name") or "")
            try:
                replicas, name, current = self._resource_metric(src.get("target") or {}, resource, scale, pods)
            except MetricsError as e:
                raise _MetricFailure(f"failed to get {resource} resource metric value: {e}", "FailedGetResourceMetric",
                                     str(e)) from None
            return replicas, name, {"type": hpas.RESOURCE, "resource": {"name": resource, "current": current}}
        if typ == hpas.CONTAINER_RESOURCE:
            src = m.get("containerResource") or {}
            detail = (f"failed to get {src.get('name', '')} container resource metric: kube-tui's kubelets measure whole "
                      "pods, not their containers: use a Resource metric")
            raise _MetricFailure(f"failed to get {src.get('container', '')} container metric value: {detail}",
                                 "FailedGetContainerResourceMetric", detail)
        if typ == hpas.PODS:
            name = ((m.get("pods") or {}).get("metric") or {}).get("name", "")
            detail = f"unable to get metric {name}: {UNSUPPORTED}"
            raise _MetricFailure(f"failed to get pods metric value: {detail}", "FailedGetPodsMetric", detail)
        if typ == hpas.OBJECT:
            name = ((m.get("object") or {}).get("metric") or {}).get("name", "")
            detail = f"unable to get metric {name}: {UNSUPPORTED}"
            raise _MetricFailure(f"failed to get object metric value: {detail}", "FailedGetObjectMetric", detail)
        if typ == hpas.EXTERNAL:
            name = ((m.get("external") or {}).get("metric") or {}).get("name", "")
            detail = f"unable to get external metric {scale.namespace}/{name}: {UNSUPPORTED}"
            raise _MetricFailure(f"failed to get {name} external metric value: {detail}", "FailedGetExternalMetric", detail)
        detail = f'unknown metric source type "{typ}"'
        raise _MetricFailure(detail, "InvalidMetricSourceType", detail)

    def _resource_metric(self, target: dict, resource: str, scale: _Scale, pods: list[dict]) -> tuple[int, str, dict]:
        """computeStatusForResourceMetricGeneric."""
        metrics = self.pod_metrics(resource, scale.namespace, pods)
        if target.get("averageValue") is not None:
            try:
                replicas, usage = self.calculator.raw_resource_replicas(
                    scale.spec_replicas, quantity.milli(target["averageValue"]), resource, pods, metrics)
            except MetricsError as e:
                raise MetricsError(f"failed to get {resource} usage: {e}") from None
            return replicas, f"{resource} resource", {"averageValue": hpas.decimal_si(usage)}
        if target.get("averageUtilization") is None:
            raise MetricsError("invalid resource metric source: neither an average utilization target nor an average "
                               "value (usage) target was set")
        try:
            replicas, utilization, raw = self.calculator.resource_replicas(
                scale.spec_replicas, int(target["averageUtilization"]), resource, pods, metrics)
        except MetricsError as e:
            raise MetricsError(f"failed to get {resource} utilization: {e}") from None
        return (replicas, f"{resource} resource utilization (percentage of request)",
                {"averageUtilization": utilization, "averageValue": hpas.decimal_si(raw)})

    def pod_metrics(self, resource: str, namespace: str, pods: list[dict]) -> dict[str, PodMetric]:
        """The resource metrics of these pods (milli-units), from the usage each Ready node's kubelet publishes."""
        if resource not in ("cpu", "memory"):
            return {}
        used: dict[str, tuple[int, int]] = {}
        for node in self.node_informer.list():
            used.update(usage_of(node, ready_only=True))
        now = self.clock()
        out: dict[str, PodMetric] = {}
        for pod in pods:
            name = (pod.get("metadata") or {}).get("name", "")
            sample = used.get(f"{namespace}/{name}")
            if sample is not None:
                value = sample[0] if resource == "cpu" else sample[1] * 1000
                out[name] = PodMetric(value, now - METRIC_DELAY, METRIC_WINDOW)
        return out

    # -- status ---------------------------------------------------------------------------------------------
    def _set_status(self, hpa: dict, current: int, desired: int, metric_statuses: list[dict] | None, *,
                    rescale: bool) -> None:
        old = hpa.get("status") or {}
        status: dict[str, Any] = {}
        if old.get("lastScaleTime"):
            status["lastScaleTime"] = old["lastScaleTime"]
        if current:
            status["currentReplicas"] = current
        status["desiredReplicas"] = desired
        if metric_statuses:
            status["currentMetrics"] = metric_statuses
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        if rescale:
            status["lastScaleTime"] = meta.now()
        hpa["status"] = status

    async def _update_status_if_needed(self, original: dict, hpa: dict) -> None:
        if original == hpa.get("status"):
            return
        try:
            await self.client.update_status(hpa)
        except ApiError as e:
            if e.code == 404:
                return
            self.recorder.event(hpa, "Warning", "FailedUpdateStatus", e.message)
            raise
