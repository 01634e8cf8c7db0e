"""Cluster-scoped and bookkeeping kinds: Namespace, Node, Lease and Event."""

from __future__ import annotations

import ipaddress
from typing import Any

from control.api.labels import is_qualified_name, is_valid_label_value
from control.api.validation.field import (
    Errors,
    as_dict,
    as_list,
    check_name,
    duplicate,
    int_field,
    invalid,
    not_supported,
    required,
    shown,
    str_field,
)
from control.api.validation.resources import check_quantity
from control.api.validation.scheduling import TAINT_EFFECTS


def validate_namespace(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    for i, fin in enumerate(as_list(errs, spec.get("finalizers"), "spec.finalizers")):
        check_name(errs, str(fin), f"spec.finalizers[{i}]", is_qualified_name)
    status = as_dict(errs, obj.get("status"), "status") or {}
    phase = status.get("phase")
    if phase is not None and phase not in ("Active", "Terminating"):
        not_supported(errs, "status.phase", shown(phase), ("Active", "Terminating"))


def validate_node(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(as_list(errs, spec.get("taints"), "spec.taints")):
        tpath = f"spec.taints[{i}]"
        taint = as_dict(errs, taint, tpath) or {}
        key, value, effect = str(taint.get("key") or ""), taint.get("value") or "", taint.get("effect") or ""
        check_name(errs, key, f"{tpath}.key", is_qualified_name)
        msgs = is_valid_label_value(str(value))
        if msgs:
            invalid(errs, f"{tpath}.value", shown(value), ";".join(msgs))
        if not effect:
            required(errs, f"{tpath}.effect")
        elif effect not in TAINT_EFFECTS:
            not_supported(errs, f"{tpath}.effect", shown(effect), TAINT_EFFECTS)
        if (key, effect) in seen:
            duplicate(errs, tpath, None, "taints must be unique by key and effect pair")
        seen.add((key, effect))
    for key in ("podCIDR",):
        cidr = spec.get(key)
        if cidr:
            try:
                ipaddress.ip_network(str(cidr), strict=False)
            except ValueError:
                invalid(errs, f"spec.{key}", shown(cidr), "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
    status = as_dict(errs, obj.get("status"), "status") or {}
    for key in ("capacity", "allocatable"):
        for name, value in (as_dict(errs, status.get(key), f"status.{key}") or {}).items():
            check_quantity(errs, value, f"status.{key}[{name}]", str(name))


def validate_lease(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    str_field(errs, spec, "holderIdentity", "spec.holderIdentity")
    int_field(errs, spec, "leaseDurationSeconds", "spec.leaseDurationSeconds", minimum=1,
               detail="must be greater than 0")
    int_field(errs, spec, "leaseTransitions", "spec.leaseTransitions")


def validate_event(obj: dict[str, Any], errs: Errors) -> None:
    involved = as_dict(errs, obj.get("involvedObject"), "involvedObject") or {}
    ns = (obj.get("metadata") or {}).get("namespace")
    ins = involved.get("namespace")
    if ins and ns and ins != ns:
        invalid(errs, "involvedObject.namespace", shown(ins), "does not match event.namespace")
    kind = obj.get("type")
    if kind is not None and kind not in ("Normal", "Warning"):
        not_supported(errs, "type", shown(kind), ("Normal", "Warning"))
    int_field(errs, obj, "count", "count")
    for key in ("reason", "message"):
        str_field(errs, obj, key, key)
