"""PriorityClass (scheduling.k8s.io/v1), as pkg/apis/scheduling/validation checks it."""

from __future__ import annotations

from typing import Any

from control.api.priority import (
    HIGHEST_USER_DEFINABLE_PRIORITY,
    PREEMPTION_POLICIES,
    SYSTEM_PREFIX,
    known_system_class,
)
from control.api.validation.field import Errors, forbidden, invalid, is_int, not_supported, required, shown


def validate_priorityclass(obj: dict[str, Any], errs: Errors) -> None:
    name = str((obj.get("metadata") or {}).get("name") or "")
    value = obj.get("value")
    if value is None:
        required(errs, "value")
    elif not is_int(value) or not -(2**31) <= value < 2**31:
        invalid(errs, "value", shown(value), "must be a 32-bit integer")
        value = None
    gd = obj.get("globalDefault")
    if gd is not None and not isinstance(gd, bool):
        invalid(errs, "globalDefault", shown(gd), "must be a boolean")
    desc = obj.get("description")
    if desc is not None and not isinstance(desc, str):
        invalid(errs, "description", shown(desc), "must be a string")
    if name.startswith(SYSTEM_PREFIX):
        problem = known_system_class(name, value, bool(gd))
        if problem:
            forbidden(errs, "metadata.name", f"priority class names with '{SYSTEM_PREFIX}' prefix are reserved for "
                                             f"system use only. error: {problem}")
    elif value is not None and value > HIGHEST_USER_DEFINABLE_PRIORITY:
        forbidden(errs, "value", f"maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}")
    policy = obj.get("preemptionPolicy")
    if policy is None or policy == "":
        required(errs, "preemptionPolicy")
    elif policy not in PREEMPTION_POLICIES:
        not_supported(errs, "preemptionPolicy", shown(policy), PREEMPTION_POLICIES)


def validate_priorityclass_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    if obj.get("value") != old.get("value"):
        forbidden(errs, "value", "may not be changed in an update.")
    if obj.get("preemptionPolicy") != old.get("preemptionPolicy"):
        invalid(errs, "preemptionPolicy", shown(obj.get("preemptionPolicy")), "field is immutable")
