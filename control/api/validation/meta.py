"""ObjectMeta and the metav1 pieces every kind shares: names, labels, annotations, label selectors."""

from __future__ import annotations

from typing import Any

from control.api.labels import is_dns1123_label, is_qualified_name, is_valid_label_value
from control.api.validation.field import (
    Errors,
    NameRule,
    as_dict,
    as_list,
    check_name,
    forbidden,
    int_field,
    invalid,
    required,
    rule_messages,
    shown,
    str_field,
)
from control.errors import FieldError


def validate_labels(errs: Errors, labels: Any, path: str) -> None:
    """ValidateLabels: qualified-name keys, label-syntax values; errors carry the map's path, like Kubernetes."""
    labels = as_dict(errs, labels, path)
    for key, value in (labels or {}).items():
        check_name(errs, str(key), path, is_qualified_name)
        if not isinstance(value, str):
            invalid(errs, path, shown(value), "must be a string")
            continue
        for msg in is_valid_label_value(value):
            invalid(errs, path, value, msg)


TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def validate_annotations(errs: Errors, annotations: Any, path: str) -> None:
    annotations = as_dict(errs, annotations, path)
    total = 0
    for key, value in (annotations or {}).items():
        for msg in rule_messages(is_qualified_name, str(key).lower()):
            invalid(errs, path, key, msg)
        if not isinstance(value, str):
            invalid(errs, path, shown(value), "must be a string")
            continue
        total += len(str(key)) + len(value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(FieldError(path, "Too long", f"must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"))


def _mask_trailing_dash(name: str) -> str:
    # generateName "web-" is a prefix; apimachinery checks it as if the suffix were already there.
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def validate_object_meta(errs: Errors, meta: Any, path: str, name_rule: NameRule, namespaced: bool) -> None:
    """ValidateObjectMeta: name or generateName, namespace scope, labels, annotations, owners, finalizers."""
    if meta is None:
        required(errs, f"{path}.name", "name or generateName is required")
        return
    meta = as_dict(errs, meta, path)
    if meta is None:
        return
    name = str_field(errs, meta, "name", f"{path}.name") or ""
    generate = str_field(errs, meta, "generateName", f"{path}.generateName") or ""
    if generate:
        for msg in name_rule(_mask_trailing_dash(generate)):
            invalid(errs, f"{path}.generateName", generate, msg)
    if not name:
        if not generate:
            required(errs, f"{path}.name", "name or generateName is required")
    else:
        check_name(errs, name, f"{path}.name", name_rule)
    namespace = str_field(errs, meta, "namespace", f"{path}.namespace")
    if namespaced:
        if not namespace:
            required(errs, f"{path}.namespace")
        else:
            check_name(errs, namespace, f"{path}.namespace", is_dns1123_label)
    elif namespace:
        forbidden(errs, f"{path}.namespace", "not allowed on this type")
    validate_labels(errs, meta.get("labels"), f"{path}.labels")
    validate_annotations(errs, meta.get("annotations"), f"{path}.annotations")
    for i, ref in enumerate(as_list(errs, meta.get("ownerReferences"), f"{path}.ownerReferences")):
        rpath = f"{path}.ownerReferences[{i}]"
        ref = as_dict(errs, ref, rpath) or {}
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key):
                required(errs, f"{rpath}.{key}", f"{key} must not be empty")
    for i, fin in enumerate(as_list(errs, meta.get("finalizers"), f"{path}.finalizers")):
        check_name(errs, str(fin), f"{path}.finalizers[{i}]", is_qualified_name)
    int_field(errs, meta, "generation", f"{path}.generation")


def validate_label_selector(errs: Errors, sel: Any, path: str) -> None:
    sel = as_dict(errs, sel, path)
    if sel is None:
        return
    validate_labels(errs, sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(as_list(errs, sel.get("matchExpressions"), f"{path}.matchExpressions")):
        epath = f"{path}.matchExpressions[{i}]"
        expr = as_dict(errs, expr, epath) or {}
        op, values = expr.get("operator"), as_list(errs, expr.get("values"), f"{epath}.values")
        if op in ("In", "NotIn"):
            if not values:
                required(errs, f"{epath}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist"):
            if values:
                forbidden(errs, f"{epath}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        else:
            invalid(errs, f"{epath}.operator", shown(op), "not a valid selector operator")
        check_name(errs, str(expr.get("key", "")), f"{epath}.key", is_qualified_name)
