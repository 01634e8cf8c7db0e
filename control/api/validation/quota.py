"""ResourceQuota and LimitRange (v1), as pkg/apis/core/validation checks them (ValidateResourceQuota,
ValidateLimitRange), every bad field in one pass."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from control.api import quantity
from control.api.labels import is_qualified_name
from control.api.limitrange import LIMIT_TYPES
from control.api.resourcequota import SCOPES, Q
from control.api.validation.field import (
    IMMUTABLE,
    NEGATIVE,
    Errors,
    as_dict,
    as_item,
    as_list,
    check_name,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
    shown,
)
from control.api.validation.resources import _resource_name as container_resource_name

# helper.IsStandardQuotaResourceName (standardQuotaResources) and IsIntegerResourceName (integerResources)
_QUOTA_RESOURCES = frozenset({
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.storage",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services",
    "replicationcontrollers", "resourcequotas", "secrets", "persistentvolumeclaims", "configmaps",
    "services.nodeports", "services.loadbalancers"})
_INTEGER_RESOURCES = frozenset({"pods", "services", "replicationcontrollers", "resourcequotas", "secrets",
                                "configmaps", "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"})
# helper.IsStandardResourceName: the quota's names, plus storage
_STANDARD_RESOURCES = _QUOTA_RESOURCES | {"storage"}
_SCOPE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
# Scopes that only pods' compute resources (and pod counts) may be quota'd under (validateResourceQuotaScopes).
_SCOPED_RESOURCES = frozenset({"pods", "count/pods", "cpu", "memory", "requests.cpu", "requests.memory",
                               "limits.cpu", "limits.memory"})


def _is_extended(name: str) -> bool:
    """helper.IsExtendedResourceName: not native, not requests.*, and requests.<name> a qualified name."""
    native = "/" not in name or name.startswith("kubernetes.io/") or ".kubernetes.io/" in name.split("/")[0]
    return not native and not name.startswith("requests.") and not is_qualified_name(f"requests.{name}")


def _resource_name(errs: Errors, name: str, path: str) -> None:
    """validateResourceName: a qualified name, and a standard one unless it has a domain."""
    before = len(errs)
    check_name(errs, name, path, is_qualified_name)
    if len(errs) == before and "/" not in name and name not in _STANDARD_RESOURCES and not name.startswith(
            ("hugepages-", "requests.hugepages-")):
        invalid(errs, path, name, "must be a standard resource type or fully qualified")


def _quota_resource_name(errs: Errors, name: str, path: str) -> None:
    _resource_name(errs, name, path)
    if "/" not in name and name not in _QUOTA_RESOURCES and not name.startswith("requests.hugepages-"):
        invalid(errs, path, name, "must be a standard resource for quota")


def _quantity(errs: Errors, value: Any, path: str) -> Q | None:
    try:
        q = Q.of(value)
    except quantity.QuantityError:
        invalid(errs, path, shown(value), quantity.QUANTITY_HELP)
        return None
    if q.value < 0:
        invalid(errs, path, str(q), NEGATIVE)
        return None
    return q


def _quota_list(errs: Errors, rl: Any, path: str) -> None:
    """ValidateResourceQuotaResourceName and ValidateResourceQuantityValue for each name of a list."""
    for name, value in (as_dict(errs, rl, path) or {}).items():
        rpath = f"{path}[{name}]"
        _quota_resource_name(errs, str(name), rpath)
        q = _quantity(errs, value, rpath)
        if q is not None and (name in _INTEGER_RESOURCES or _is_extended(str(name))) and (q.value * 1000) % 1000:
            invalid(errs, rpath, str(q), "must be an integer")


def validate_resourcequota(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    _quota_list(errs, spec.get("hard"), "spec.hard")
    scopes = as_list(errs, spec.get("scopes"), "spec.scopes")
    for i, s in enumerate(scopes):
        if s not in SCOPES:
            not_supported(errs, f"spec.scopes[{i}]", shown(s), SCOPES)
    sel = as_dict(errs, spec.get("scopeSelector"), "spec.scopeSelector") or {}
    for i, req in enumerate(as_list(errs, sel.get("matchExpressions"), "spec.scopeSelector.matchExpressions")):
        rpath = f"spec.scopeSelector.matchExpressions[{i}]"
        req = as_item(errs, req, rpath) or {}
        if req.get("scopeName") not in SCOPES:
            not_supported(errs, f"{rpath}.scopeName", shown(req.get("scopeName")), SCOPES)
        op = req.get("operator")
        if op not in _SCOPE_OPERATORS:
            not_supported(errs, f"{rpath}.operator", shown(op), _SCOPE_OPERATORS)
        elif op in ("In", "NotIn") and not req.get("values"):
            required(errs, f"{rpath}.values", "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector")
        elif op in ("Exists", "DoesNotExist") and req.get("values"):
            invalid(errs, f"{rpath}.values", None, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector")
    if scopes or sel.get("matchExpressions"):
        hard = spec.get("hard") if isinstance(spec.get("hard"), dict) else {}
        for name in hard:
            if name not in _SCOPED_RESOURCES:
                invalid(errs, "spec.hard", None, "unsupported scope applied to resource")
                break
    status = as_dict(errs, obj.get("status"), "status") or {}
    _quota_list(errs, status.get("hard"), "status.hard")
    _quota_list(errs, status.get("used"), "status.used")


def validate_resourcequota_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    """ValidateResourceQuotaUpdate: the scopes may not change."""
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if sorted(spec.get("scopes") or []) != sorted(old_spec.get("scopes") or []):
        invalid(errs, "spec.scopes", None, IMMUTABLE)
    if (spec.get("scopeSelector") or None) != (old_spec.get("scopeSelector") or None):
        invalid(errs, "spec.scopeSelector", None, IMMUTABLE)


def _limit_resource_name(errs: Errors, kind: Any, name: str, path: str) -> None:
    """validateLimitRangeResourceName: a container resource for Pod and Container items."""
    if kind in ("Pod", "Container"):
        container_resource_name(errs, name, path)
    else:
        _resource_name(errs, name, path)


def _item(errs: Errors, item: dict[str, Any], path: str, seen: set[str]) -> None:
    kind = item.get("type")
    before = len(errs)
    check_name(errs, str(kind or ""), f"{path}.type", is_qualified_name)
    if len(errs) == before and "/" not in str(kind) and kind not in LIMIT_TYPES:
        invalid(errs, f"{path}.type", shown(kind), "must be a standard limit type or fully qualified")
    if kind in seen:
        duplicate(errs, f"{path}.type", shown(kind))
    seen.add(str(kind))
    lists: dict[str, dict[str, Q]] = {}
    fields = ["max", "min"]
    if kind == "Pod":
        for f in ("default", "defaultRequest"):
            if item.get(f):
                forbidden(errs, f"{path}.{f}", "may not be specified when `type` is 'Pod'")
    else:
        fields += ["default", "defaultRequest"]
    fields.append("maxLimitRequestRatio")
    for f in fields:
        lists[f] = {}
        for name, value in (as_dict(errs, item.get(f), f"{path}.{f}") or {}).items():
            rpath = f"{path}.{f}[{name}]"
            _limit_resource_name(errs, kind, str(name), rpath)
            q = _quantity(errs, value, rpath)
            if q is not None:
                lists[f][str(name)] = q
    if kind == "PersistentVolumeClaim" and "storage" not in (item.get("min") or {}) and "storage" not in (
            item.get("max") or {}):
        required(errs, f"{path}.limits", "either minimum or maximum storage value is required, but neither was provided")
    lo, hi, dflt, dreq, ratio = (lists.get(f, {}) for f in ("min", "max", "default", "defaultRequest",
                                                            "maxLimitRequestRatio"))
    for k in dict.fromkeys([*hi, *lo, *dflt, *dreq, *ratio]):
        if k in lo and k in hi and lo[k].value > hi[k].value:
            invalid(errs, f"{path}.min[{k}]", str(lo[k]), f"min value {lo[k]} is greater than max value {hi[k]}")
        if k in dreq and k in lo and lo[k].value > dreq[k].value:
            invalid(errs, f"{path}.defaultRequest[{k}]", str(dreq[k]),
                    f"min value {lo[k]} is greater than default request value {dreq[k]}")
        if k in dreq and k in hi and dreq[k].value > hi[k].value:
            invalid(errs, f"{path}.defaultRequest[{k}]", str(dreq[k]),
                    f"default request value {dreq[k]} is greater than max value {hi[k]}")
        if k in dreq and k in dflt and dreq[k].value > dflt[k].value:
            invalid(errs, f"{path}.defaultRequest[{k}]", str(dreq[k]),
                    f"default request value {dreq[k]} is greater than default limit value {dflt[k]}")
        if k in dflt and k in lo and lo[k].value > dflt[k].value:
            invalid(errs, f"{path}.default[{k}]", str(lo[k]), f"min value {lo[k]} is greater than default value {dflt[k]}")
        if k in dflt and k in hi and dflt[k].value > hi[k].value:
            invalid(errs, f"{path}.default[{k}]", str(hi[k]), f"default value {dflt[k]} is greater than max value {hi[k]}")
        if k in ratio and ratio[k].value < 1:
            invalid(errs, f"{path}.maxLimitRequestRatio[{k}]", str(ratio[k]), f"ratio {ratio[k]} is less than 1")
        if k in ratio and k in lo and k in hi and lo[k].value > 0:
            limit = float(Fraction(hi[k].value) / lo[k].value)
            if ratio[k].value > limit:
                invalid(errs, f"{path}.maxLimitRequestRatio[{k}]", str(ratio[k]),
                        f"ratio {ratio[k]} is greater than max/min = {limit:f}")
        overcommit = k in ("cpu", "memory", "ephemeral-storage") or "/" not in k and not k.startswith("hugepages-")
        if not overcommit and k in dflt and k in dreq and dflt[k].value != dreq[k].value:
            invalid(errs, f"{path}.defaultRequest[{k}]", str(dreq[k]),
                    f"default value {dflt[k]} must equal to defaultRequest value {dreq[k]} in {k}")


def validate_limitrange(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    seen: set[str] = set()
    for i, item in enumerate(as_list(errs, spec.get("limits"), "spec.limits")):
        item = as_item(errs, item, f"spec.limits[{i}]")
        if item is not None:
            _item(errs, item, f"spec.limits[{i}]", seen)
