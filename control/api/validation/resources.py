"""Compute resources: resource names, quantities, and a container's requests against its limits."""

from __future__ import annotations

from typing import Any

from control.api import quantity
from control.api.labels import is_qualified_name
from control.api.validation.field import NEGATIVE, Errors, as_dict, check_name, invalid, shown

_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _resource_name(errs: Errors, name: str, path: str) -> None:
    check_name(errs, name, path, is_qualified_name)
    if "/" not in name and name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
        invalid(errs, path, name, "must be a standard resource for containers")


def check_quantity(errs: Errors, value: Any, path: str, name: str) -> Any:
    try:
        q = quantity.parse(value)
    except quantity.QuantityError:
        invalid(errs, path, str(value) if shown(value) is not None else None, quantity.QUANTITY_HELP)
        return None
    if q.numerator < 0:  # a Fraction's sign; `q < 0` is a much slower generic comparison
        invalid(errs, path, str(value), NEGATIVE)
        return None
    if "/" in name and q.denominator != 1:
        # Extended resources are counted devices.
        invalid(errs, path, str(value), "must be an integer")
    return q


def validate_resources(errs: Errors, res: Any, path: str) -> None:
    """ValidateResourceRequirements: names, quantities, and requests <= limits."""
    res = as_dict(errs, res, path)
    if res is None:
        return
    limits = as_dict(errs, res.get("limits"), f"{path}.limits") or {}
    requests = as_dict(errs, res.get("requests"), f"{path}.requests") or {}
    parsed_limits: dict[str, Any] = {}
    for name, value in limits.items():
        lpath = f"{path}.limits[{name}]"
        _resource_name(errs, str(name), lpath)
        q = check_quantity(errs, value, lpath, str(name))
        if q is not None:
            parsed_limits[name] = q
    for name, value in requests.items():
        rpath = f"{path}.requests[{name}]"
        _resource_name(errs, str(name), rpath)
        q = check_quantity(errs, value, rpath, str(name))
        if q is None or name not in parsed_limits:
            continue
        limit = parsed_limits[name]
        if str(name).startswith("hugepages-") and q != limit:
            invalid(errs, f"{path}.requests", str(value), f"must be equal to {name} limit of {limits[name]}")
        elif q > limit:
            invalid(errs, f"{path}.requests", str(value), f"must be less than or equal to {name} limit of {limits[name]}")
