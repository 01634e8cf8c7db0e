"""PodDisruptionBudget (policy/v1), as pkg/apis/policy/validation checks it."""

from __future__ import annotations

from typing import Any

from control.api.poddisruptionbudget import UNHEALTHY_POD_EVICTION_POLICIES
from control.api.validation.field import NEGATIVE, Errors, as_dict, int_field, invalid, not_supported, shown
from control.api.validation.meta import validate_label_selector
from control.api.validation.workloads import int_or_percent


def validate_pdb(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        invalid(errs, "spec", None, "minAvailable and maxUnavailable cannot be both set")
    for key in ("minAvailable", "maxUnavailable"):
        value = spec.get(key)
        n = int_or_percent(errs, value, f"spec.{key}")
        # IsNotMoreThan100Percent, for both (the workloads' rule checks maxUnavailable only)
        if n is not None and isinstance(value, str) and n > 100 and key == "minAvailable":
            invalid(errs, f"spec.{key}", value, "must not be greater than 100%")
    if spec.get("selector") is not None:
        validate_label_selector(errs, spec["selector"], "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        not_supported(errs, "spec.unhealthyPodEvictionPolicy", shown(policy), UNHEALTHY_POD_EVICTION_POLICIES)


def validate_pdb_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    """ValidatePodDisruptionBudgetStatusUpdate (policy/v1): the counts are never negative."""
    status = obj.get("status")
    if not isinstance(status, dict):
        return
    for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        int_field(errs, status, key, f"status.{key}", detail=NEGATIVE)
