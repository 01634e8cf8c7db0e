"""Field errors and typed field readers, named after k8s.io/apimachinery/pkg/util/validation/field.

Every rule appends to an `Errors` list and carries on, so one pass reports every bad field.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from control.errors import FieldError

Errors = list[FieldError]
NameRule = Callable[[str], list[str]]


def required(errs: Errors, path: str, detail: str = "") -> None:
    errs.append(FieldError(path, "Required value", detail))


def invalid(errs: Errors, path: str, value: Any, detail: str) -> None:
    errs.append(FieldError(path, "Invalid value", detail, value))


def not_supported(errs: Errors, path: str, value: Any, supported: list[str] | tuple[str, ...]) -> None:
    errs.append(FieldError(path, "Unsupported value", "supported values: " + ", ".join(f'"{s}"' for s in supported),
                           value))


def duplicate(errs: Errors, path: str, value: Any, detail: str = "") -> None:
    errs.append(FieldError(path, "Duplicate value", detail, value))


def forbidden(errs: Errors, path: str, detail: str) -> None:
    errs.append(FieldError(path, "Forbidden", detail))


def not_found(errs: Errors, path: str, value: Any) -> None:
    errs.append(FieldError(path, "Not found", f'"{value}"' if isinstance(value, str) else repr(value)))


NEGATIVE = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"


# --- typed fields --------------------------------------------------------------------------------


def is_ip(value: str) -> bool:
    """An IPv4 or IPv6 address (netutils.IsIPv4/IsIPv6)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def shown(v: Any) -> Any:
    """A value as FieldError prints it: scalars as themselves, structures not at all (Go would dump a struct)."""
    return v if isinstance(v, str | int | float) and not isinstance(v, bool) else None


def int_field(errs: Errors, obj: dict[str, Any], key: str, path: str, *, minimum: int | None = 0,
               detail: str = NEGATIVE) -> int | None:
    """An optional integer field; reports a wrong type, or a value below `minimum`."""
    v = obj.get(key)
    if v is None:
        return None
    if not is_int(v):
        invalid(errs, path, shown(v), "must be an integer")
        return None
    if minimum is not None and v < minimum:
        invalid(errs, path, v, detail)
    return v


def str_field(errs: Errors, obj: dict[str, Any], key: str, path: str) -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        invalid(errs, path, shown(v), "must be a string")
        return None
    return v


def as_dict(errs: Errors, v: Any, path: str) -> dict[str, Any] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        invalid(errs, path, shown(v), "must be an object")
        return None
    return v


def as_item(errs: Errors, v: Any, path: str) -> dict[str, Any] | None:
    """A list element: null decodes to an empty struct in Go (so its required fields get reported)."""
    return {} if v is None else as_dict(errs, v, path)


def as_list(errs: Errors, v: Any, path: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        invalid(errs, path, shown(v), "must be a list")
        return []
    return v


@lru_cache(maxsize=16384)
def rule_messages(rule: NameRule, value: str) -> tuple[str, ...]:
    """rule(value), remembered: names, label and annotation keys repeat from object to object."""
    return tuple(rule(value))


def check_name(errs: Errors, value: str, path: str, rule: NameRule) -> None:
    for msg in rule_messages(rule, value) if isinstance(value, str) else rule(value):
        invalid(errs, path, value, msg)
