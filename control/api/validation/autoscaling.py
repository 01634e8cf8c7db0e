"""HorizontalPodAutoscaler (autoscaling/v2), as pkg/apis/autoscaling/validation checks it (v1.32: no
scale to zero, so minReplicas is at least 1)."""

from __future__ import annotations

from typing import Any

from control.api import horizontalpodautoscaler as hpas
from control.api import quantity
from control.api.validation.field import (
    NEGATIVE,
    Errors,
    as_dict,
    as_item,
    as_list,
    forbidden,
    int_field,
    invalid,
    is_int,
    not_supported,
    required,
    shown,
)

MIN_REPLICAS_LOWER_BOUND = 1  # 0 only with the HPAScaleToZero feature gate, off by default


def path_segment_messages(name: str) -> list[str]:
    """pathvalidation.IsValidPathSegmentName."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def validate_cross_version_object_reference(errs: Errors, ref: Any, path: str) -> None:
    ref = as_dict(errs, ref, path) or {}
    for key in ("kind", "name"):
        value = ref.get(key)
        if not value:
            required(errs, f"{path}.{key}")
        elif not isinstance(value, str):
            invalid(errs, f"{path}.{key}", shown(value), "must be a string")
        else:
            for msg in path_segment_messages(value):
                invalid(errs, f"{path}.{key}", value, msg)


def _int32(errs: Errors, obj: dict, key: str, path: str) -> int | None:
    return int_field(errs, obj, key, path, minimum=None)


def validate_hpa(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    min_replicas = _int32(errs, spec, "minReplicas", "spec.minReplicas")
    max_replicas = spec.get("maxReplicas")
    if max_replicas is not None and not is_int(max_replicas):
        invalid(errs, "spec.maxReplicas", shown(max_replicas), "must be an integer")
        max_replicas = None
    max_replicas = max_replicas or 0  # an unset int32 is 0 in Go
    if min_replicas is not None and min_replicas < MIN_REPLICAS_LOWER_BOUND:
        invalid(errs, "spec.minReplicas", min_replicas, f"must be greater than or equal to {MIN_REPLICAS_LOWER_BOUND}")
    if max_replicas < 1:
        invalid(errs, "spec.maxReplicas", max_replicas, "must be greater than 0")
    if min_replicas is not None and max_replicas < min_replicas:
        invalid(errs, "spec.maxReplicas", max_replicas, "must be greater than or equal to `minReplicas`")
    validate_cross_version_object_reference(errs, spec.get("scaleTargetRef"), "spec.scaleTargetRef")
    for i, m in enumerate(as_list(errs, spec.get("metrics"), "spec.metrics")):
        item = as_item(errs, m, f"spec.metrics[{i}]")
        if item is not None:
            _metric_spec(errs, item, f"spec.metrics[{i}]")
    behavior = spec.get("behavior")
    if behavior is not None:
        behavior = as_dict(errs, behavior, "spec.behavior") or {}
        for key in ("scaleUp", "scaleDown"):
            if behavior.get(key) is not None:
                _scaling_rules(errs, behavior[key], f"spec.behavior.{key}")


def _scaling_rules(errs: Errors, rules: Any, path: str) -> None:
    rules = as_dict(errs, rules, path) or {}
    window = _int32(errs, rules, "stabilizationWindowSeconds", f"{path}.stabilizationWindowSeconds")
    if window is not None and window < 0:
        invalid(errs, f"{path}.stabilizationWindowSeconds", window, "must be greater than or equal to zero")
    if window is not None and window > hpas.MAX_STABILIZATION_WINDOW_SECONDS:
        invalid(errs, f"{path}.stabilizationWindowSeconds", window,
                f"must be less than or equal to {hpas.MAX_STABILIZATION_WINDOW_SECONDS}")
    select = rules.get("selectPolicy")
    if select is not None and select not in hpas.SELECT_POLICIES:
        not_supported(errs, f"{path}.selectPolicy", shown(select), hpas.SELECT_POLICIES)
    policies = as_list(errs, rules.get("policies"), f"{path}.policies")
    if not policies:
        required(errs, f"{path}.policies", "must specify at least one Policy")
    for i, p in enumerate(policies):
        ppath = f"{path}.policies[{i}]"
        policy = as_item(errs, p, ppath)
        if policy is None:
            continue
        if policy.get("type") not in (hpas.PODS_POLICY, hpas.PERCENT_POLICY):
            not_supported(errs, f"{ppath}.type", shown(policy.get("type")) or "", (hpas.PERCENT_POLICY, hpas.PODS_POLICY))
        value = _int32(errs, policy, "value", f"{ppath}.value") or 0
        if value <= 0:
            invalid(errs, f"{ppath}.value", value, "must be greater than zero")
        period = _int32(errs, policy, "periodSeconds", f"{ppath}.periodSeconds") or 0
        if period <= 0:
            invalid(errs, f"{ppath}.periodSeconds", period, "must be greater than zero")
        if period > hpas.MAX_PERIOD_SECONDS:
            invalid(errs, f"{ppath}.periodSeconds", period, f"must be less than or equal to {hpas.MAX_PERIOD_SECONDS}")


def _metric_spec(errs: Errors, spec: dict, path: str) -> None:
    """validateMetricSpec: a known type, and exactly the source that type names."""
    typ = spec.get("type")
    if not typ:
        required(errs, f"{path}.type", "must specify a metric source type")
    if typ not in hpas.METRIC_SOURCE_TYPES:
        not_supported(errs, f"{path}.type", shown(typ) or "", hpas.METRIC_SOURCE_TYPES)
    present = [f for f in ("object", "external", "pods", "resource", "containerResource") if spec.get(f) is not None]
    checkers = {"object": _object_source, "external": _external_source, "pods": _pods_source,
                "resource": _resource_source, "containerResource": _container_resource_source}
    if present:
        first = present[0]
        src = as_dict(errs, spec[first], f"{path}.{first}")
        if src is not None:
            checkers[first](errs, src, f"{path}.{first}")
    expected = hpas.SOURCE_FIELDS.get(str(typ)) if typ in hpas.METRIC_SOURCE_TYPES else None
    if expected is not None and spec.get(expected) is None:
        required(errs, f"{path}.{expected}", "must populate information for the given metric source")
    if len(present) > 1:
        for f in present:
            if f != expected:
                forbidden(errs, f"{path}.{f}", "must populate the given metric source only")


def _metric_target(errs: Errors, target: Any, path: str) -> dict:
    mt = as_dict(errs, target, path) or {}
    typ = mt.get("type")
    if not typ:
        required(errs, f"{path}.type", "must specify a metric target type")
    if typ not in (hpas.UTILIZATION, hpas.VALUE, hpas.AVERAGE_VALUE):
        invalid(errs, f"{path}.type", shown(typ) or "", "must be either Utilization, Value, or AverageValue")
    for key in ("value", "averageValue"):
        if mt.get(key) is not None:
            try:
                q = quantity.parse(mt[key])
            except quantity.QuantityError:
                invalid(errs, f"{path}.{key}", shown(mt[key]), quantity.QUANTITY_HELP)
                continue
            if q <= 0:
                invalid(errs, f"{path}.{key}", str(mt[key]), "must be positive")
    util = _int32(errs, mt, "averageUtilization", f"{path}.averageUtilization")
    if util is not None and util < 1:
        invalid(errs, f"{path}.averageUtilization", util, "must be greater than 0")
    return mt


def _metric_identifier(errs: Errors, ident: Any, path: str) -> None:
    ident = as_dict(errs, ident, path) or {}
    name = ident.get("name")
    if not name:
        required(errs, f"{path}.name", "must specify a metric name")
    elif isinstance(name, str):
        for msg in path_segment_messages(name):
            invalid(errs, f"{path}.name", name, msg)


def _object_source(errs: Errors, src: dict, path: str) -> None:
    validate_cross_version_object_reference(errs, src.get("describedObject"), f"{path}.describedObject")
    _metric_identifier(errs, src.get("metric"), f"{path}.metric")
    mt = _metric_target(errs, src.get("target"), f"{path}.target")
    if mt.get("value") is None and mt.get("averageValue") is None:
        required(errs, f"{path}.target.averageValue", "must set either a target value or averageValue")


def _external_source(errs: Errors, src: dict, path: str) -> None:
    _metric_identifier(errs, src.get("metric"), f"{path}.metric")
    mt = _metric_target(errs, src.get("target"), f"{path}.target")
    if mt.get("value") is None and mt.get("averageValue") is None:
        required(errs, f"{path}.target.averageValue", "must set either a target value for metric or a per-pod target")
    if mt.get("value") is not None and mt.get("averageValue") is not None:
        forbidden(errs, f"{path}.target.value", "may not set both a target value for metric and a per-pod target")


def _pods_source(errs: Errors, src: dict, path: str) -> None:
    _metric_identifier(errs, src.get("metric"), f"{path}.metric")
    mt = _metric_target(errs, src.get("target"), f"{path}.target")
    if mt.get("averageValue") is None:
        required(errs, f"{path}.target.averageValue", "must specify a positive target averageValue")


def _resource_source(errs: Errors, src: dict, path: str) -> None:
    if not src.get("name"):
        required(errs, f"{path}.name", "must specify a resource name")
    _resource_target(errs, src, path)


def _container_resource_source(errs: Errors, src: dict, path: str) -> None:
    if not src.get("name"):
        required(errs, f"{path}.name", "must specify a resource name")
    if not src.get("container"):
        required(errs, f"{path}.container", "must specify a container")
    _resource_target(errs, src, path)


def _resource_target(errs: Errors, src: dict, path: str) -> None:
    mt = _metric_target(errs, src.get("target"), f"{path}.target")
    if mt.get("averageUtilization") is None and mt.get("averageValue") is None:
        required(errs, f"{path}.target.averageUtilization", "must set either a target raw value or a target utilization")
    if mt.get("averageUtilization") is not None and mt.get("averageValue") is not None:
        forbidden(errs, f"{path}.target.averageValue", "may not set both a target raw value and a target utilization")


def validate_hpa_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    """ValidateHorizontalPodAutoscalerStatusUpdate: the replica counts are never negative."""
    status = obj.get("status")
    if not isinstance(status, dict):
        return
    for key in ("currentReplicas", "desiredReplicas"):
        int_field(errs, status, key, f"status.{key}", detail=NEGATIVE)
