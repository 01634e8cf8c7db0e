"""HorizontalPodAutoscaler helpers shared by the API server, the HPA controller and the printers.

autoscaling/v2 is the stored version. autoscaling/v1 (what `kubectl autoscale` v1.32 sends) is converted to
and from it as kube-apiserver's conversion does: v1 carries only the CPU utilization target and the current
CPU utilization; the rest of a v2 object is not expressible in v1 (kube-apiserver keeps it in annotations,
kube-tui leaves it out of the v1 view).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from control.api import meta

V2 = "autoscaling/v2"
V1 = "autoscaling/v1"
DEFAULT_CPU_UTILIZATION = 80  # autoscaling.DefaultCPUUtilization: a spec with no metrics gets this CPU target
MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600

# metric source types (MetricSourceType) and target types (MetricTargetType)
RESOURCE, PODS, OBJECT, EXTERNAL, CONTAINER_RESOURCE = "Resource", "Pods", "Object", "External", "ContainerResource"
METRIC_SOURCE_TYPES = (CONTAINER_RESOURCE, EXTERNAL, OBJECT, PODS, RESOURCE)  # sorted, as validation lists them
SOURCE_FIELDS = {OBJECT: "object", PODS: "pods", RESOURCE: "resource", EXTERNAL: "external",
                 CONTAINER_RESOURCE: "containerResource"}
UTILIZATION, VALUE, AVERAGE_VALUE = "Utilization", "Value", "AverageValue"
# HPAScalingPolicyType and ScalingPolicySelect
PODS_POLICY, PERCENT_POLICY = "Pods", "Percent"
MAX_SELECT, MIN_SELECT, DISABLED_SELECT = "Max", "Min", "Disabled"
SELECT_POLICIES = (DISABLED_SELECT, MAX_SELECT, MIN_SELECT)
# conditions
ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED = "AbleToScale", "ScalingActive", "ScalingLimited"


def scale_up_rules(rules: dict | None) -> dict:
    """GenerateHPAScaleUpRules: the previous HPA's pace: no window, +100 % or +4 pods per 15 s, the larger."""
    out: dict[str, Any] = {"stabilizationWindowSeconds": 0, "selectPolicy": MAX_SELECT,
                           "policies": [{"type": PODS_POLICY, "value": 4, "periodSeconds": 15},
                                        {"type": PERCENT_POLICY, "value": 100, "periodSeconds": 15}]}
    return _merged(rules, out)


def scale_down_rules(rules: dict | None) -> dict:
    """GenerateHPAScaleDownRules: -100 % per 15 s; the window is left unset (the controller's
    --horizontal-pod-autoscaler-downscale-stabilization, 300 s, fills it in when it syncs)."""
    out: dict[str, Any] = {"selectPolicy": MAX_SELECT,
                           "policies": [{"type": PERCENT_POLICY, "value": 100, "periodSeconds": 15}]}
    return _merged(rules, out)


def _merged(given: dict | None, defaults: dict) -> dict:
    """copyHPAScalingRules: what is set wins, field by field."""
    if isinstance(given, dict):
        for key in ("selectPolicy", "stabilizationWindowSeconds", "policies"):
            if given.get(key) is not None:
                defaults[key] = given[key]
        for key, value in given.items():  # anything else stays for validation's unknown-field warning
            defaults.setdefault(key, value)
    return defaults


def apply_defaults(obj: dict[str, Any]) -> None:
    """SetDefaults_HorizontalPodAutoscaler (autoscaling/v2): minReplicas 1, a CPU target of 80 % when no
    metric is given, and every unset field of `behavior` when behavior is given at all."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [cpu_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = scale_up_rules(behavior.get("scaleUp"))
        behavior["scaleDown"] = scale_down_rules(behavior.get("scaleDown"))


def cpu_metric(percent: int) -> dict:
    return {"type": RESOURCE, "resource": {"name": "cpu", "target": {"type": UTILIZATION, "averageUtilization": percent}}}


def empty_status() -> dict:
    """What the API server stores on create (desiredReplicas has no omitempty in v2)."""
    return {"desiredReplicas": 0}


# -- autoscaling/v1 <-> autoscaling/v2 ----------------------------------------------------------------------

# What the v1 view cannot hold is kept in annotations of it, as kube-apiserver's conversion keeps it, so that a
# v1 client's update (kubectl apply of an old manifest, kubectl patch hpa.v1.autoscaling) brings it back and
# loses nothing. kube-tui writes the v2 form of each field there (Kubernetes' names, a v2beta-era format).
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"


def _is_cpu_utilization(m: Any) -> bool:
    if not isinstance(m, dict) or m.get("type") != RESOURCE:
        return False
    res = m.get("resource") or {}
    return res.get("name") == "cpu" and (res.get("target") or {}).get("type") == UTILIZATION


def _cpu_target(spec: dict) -> int | None:
    for m in spec.get("metrics") or []:
        if _is_cpu_utilization(m):
            return m["resource"]["target"].get("averageUtilization")  # type: ignore[no-any-return]
    return None


def _is_cpu_reading(m: Any) -> bool:
    res = (m or {}).get("resource") or {} if isinstance(m, dict) else {}
    return res.get("name") == "cpu" and (res.get("current") or {}).get("averageUtilization") is not None


def _take(annotations: dict, key: str) -> Any:
    """A field the v1 view kept in an annotation, taken out of it (None when absent or not JSON)."""
    raw = annotations.get(key)
    if not isinstance(raw, str):
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None  # not ours to read: it stays an annotation
    del annotations[key]
    return value


def _keep(annotations: dict, key: str, value: Any) -> None:
    """A field the v1 view cannot hold, kept in an annotation of it (when it has a value)."""
    if value:
        annotations[key] = json.dumps(value, separators=(",", ":"))


def from_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """An autoscaling/v1 HorizontalPodAutoscaler as the autoscaling/v2 object kube-tui stores, with what the v1
    view kept in its annotations put back."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = V2
    md = out.get("metadata")
    annotations = md.get("annotations") if isinstance(md, dict) else None
    kept: dict[str, Any] = {}
    if isinstance(annotations, dict):
        for key in (METRICS_ANNOTATION, BEHAVIOR_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION):
            kept[key] = _take(annotations, key)
        if not annotations:
            del md["annotations"]
    spec = out.get("spec")
    if isinstance(spec, dict):
        target = spec.pop("targetCPUUtilizationPercentage", None)
        others = kept.get(METRICS_ANNOTATION)
        metrics = [m for m in others if not _is_cpu_utilization(m)] if isinstance(others, list) else []
        if target is not None:
            metrics.append(cpu_metric(target))
        if metrics:
            spec["metrics"] = metrics
        if isinstance(kept.get(BEHAVIOR_ANNOTATION), dict):
            spec["behavior"] = kept[BEHAVIOR_ANNOTATION]
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentCPUUtilizationPercentage", None)
        others = kept.get(CURRENT_METRICS_ANNOTATION)
        readings = [m for m in others if not _is_cpu_reading(m)] if isinstance(others, list) else []
        if current is not None:
            readings.append({"type": RESOURCE, "resource": {"name": "cpu", "current": {"averageUtilization": current}}})
        if readings:
            status["currentMetrics"] = readings
        if isinstance(kept.get(CONDITIONS_ANNOTATION), list):
            status["conditions"] = kept[CONDITIONS_ANNOTATION]
    return out


def to_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 view of a stored HorizontalPodAutoscaler: its CPU utilization target and reading, and
    in annotations every other metric, the behavior, the other readings and the conditions."""
    out = dict(obj)
    out["apiVersion"] = V1
    annotations = dict((obj.get("metadata") or {}).get("annotations") or {})
    spec = dict(obj.get("spec") or {})
    target = _cpu_target(spec)
    _keep(annotations, METRICS_ANNOTATION, [m for m in spec.pop("metrics", None) or [] if not _is_cpu_utilization(m)])
    _keep(annotations, BEHAVIOR_ANNOTATION, spec.pop("behavior", None))
    if target is not None:
        spec["targetCPUUtilizationPercentage"] = target
    out["spec"] = spec
    status = dict(obj.get("status") or {})
    current = cpu_utilization(status)
    _keep(annotations, CURRENT_METRICS_ANNOTATION,
          [m for m in status.pop("currentMetrics", None) or [] if not _is_cpu_reading(m)])
    _keep(annotations, CONDITIONS_ANNOTATION, status.pop("conditions", None))
    if current is not None:
        status["currentCPUUtilizationPercentage"] = current
    status.setdefault("currentReplicas", 0)  # v1's counts have no omitempty: always there, 0 too
    status.setdefault("desiredReplicas", 0)
    out["status"] = status
    if annotations:
        out["metadata"] = {**(obj.get("metadata") or {}), "annotations": annotations}
    return out


def cpu_utilization(status: dict) -> int | None:
    for m in status.get("currentMetrics") or []:
        res = (m or {}).get("resource") or {}
        if res.get("name") == "cpu" and (res.get("current") or {}).get("averageUtilization") is not None:
            return int(res["current"]["averageUtilization"])
    return None


# -- printing -----------------------------------------------------------------------------------------------

def decimal_si(milli: int) -> str:
    """resource.NewMilliQuantity(milli, DecimalSI).String(): the largest SI suffix that keeps it whole."""
    if milli == 0:
        return "0"
    for suffix, exp in (("E", 21), ("P", 18), ("T", 15), ("G", 12), ("M", 9), ("k", 6), ("", 3)):
        if milli % 10**exp == 0:
            return f"{milli // 10**exp}{suffix}"
    return f"{milli}m"


def format_metrics(spec: dict, status: dict) -> str:
    """formatHPAMetrics (kubectl v1.32's TARGETS): "cpu: 85%/50%", "<unknown>" before the first reading,
    at most two metrics then "+ N more..."."""
    specs = [m for m in spec.get("metrics") or [] if isinstance(m, dict)]
    if not specs:
        return "<none>"
    statuses = [m if isinstance(m, dict) else {} for m in status.get("currentMetrics") or []]
    cells = []
    for i, m in enumerate(specs):
        st = statuses[i] if i < len(statuses) else {}
        cells.append(_format_metric(m, st))
    shown = cells[:2]
    text = ", ".join(shown)
    return f"{text} + {len(cells) - 2} more..." if len(cells) > 2 else text


def _format_metric(m: dict, st: dict) -> str:
    typ = m.get("type")
    field = SOURCE_FIELDS.get(str(typ))
    if field is None:
        return "<unknown type>"
    src = m.get(field) or {}
    target = src.get("target") or {}
    cur = ((st.get(field) or {}) if isinstance(st, dict) else {}).get("current") or {}
    known = bool(st.get(field)) if isinstance(st, dict) else False
    if typ in (RESOURCE, CONTAINER_RESOURCE):
        name = src.get("name", "")
        if target.get("averageValue") is not None:
            current = str(cur.get("averageValue", "<unknown>")) if known else "<unknown>"
            return f"{name}: {current}/{target['averageValue']}"
        current = f"{cur['averageUtilization']}%" if known and cur.get("averageUtilization") is not None else "<unknown>"
        want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
        return f"{name}: {current}/{want}"
    if typ == PODS:
        current = str(cur.get("averageValue", "<unknown>")) if known else "<unknown>"
        return f"{current}/{target.get('averageValue', '')}"
    if target.get("averageValue") is not None:  # Object, External
        current = str(cur["averageValue"]) if known and cur.get("averageValue") is not None else "<unknown>"
        return f"{current}/{target['averageValue']} (avg)"
    current = str(cur.get("value", "<unknown>")) if known else "<unknown>"
    return f"{current}/{target.get('value', '')}"


def reference(spec: dict) -> str:
    """The REFERENCE column: Kind/name of the scale target."""
    ref = spec.get("scaleTargetRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def set_condition(status: dict, type_: str, value: str, reason: str, message: str) -> None:
    """setConditionInList: the condition of this type takes the new status, reason and message; its
    lastTransitionTime moves only when the status changes."""
    conds = status.setdefault("conditions", [])
    for c in conds:
        if c.get("type") == type_:
            if c.get("status") != value:
                c["lastTransitionTime"] = meta.now()
            c.update(status=value, reason=reason, message=message)
            return
    conds.append({"type": type_, "status": value, "lastTransitionTime": meta.now(), "reason": reason,
                  "message": message})
