"""Kubernetes' validation of the objects kube-tui serves, on create and update, with the apiserver's wording.

`validate` reports every bad field (it never stops at the first) and the admission warnings.
It expects `apply_defaults` to have run, but tolerates a field that defaulting would fill.
Ported from pkg/apis/core/validation, pkg/apis/apps/validation and pkg/apis/batch/validation.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from control.api import quantity
from control.api import warnings as admission_warnings
from control.api.kinds import KINDS
from control.api.labels import (
    Selector,
    from_label_selector,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_label_value,
    regex_error,
)
from control.errors import ApiError, FieldError

Errors = list[FieldError]
NameRule = Callable[[str], list[str]]

# --- error constructors, named after k8s.io/apimachinery/pkg/util/validation/field ---------------


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
PORT_RANGE = "must be between 1 and 65535, inclusive"
PROTOCOLS = ("SCTP", "TCP", "UDP")
POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)

# --- scalar rules ----------------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _shown(v: Any) -> Any:
    """A value as FieldError prints it: scalars as themselves, structures not at all (Go would dump a struct)."""
    return v if isinstance(v, str | int | float) and not isinstance(v, bool) else None


def _int_field(errs: Errors, obj: dict[str, Any], key: str, path: str, *, minimum: int | None = 0,
               detail: str = NEGATIVE) -> int | None:
    """An optional integer field; reports a wrong type, or a value below `minimum`."""
    v = obj.get(key)
    if v is None:
        return None
    if not _is_int(v):
        invalid(errs, path, _shown(v), "must be an integer")
        return None
    if minimum is not None and v < minimum:
        invalid(errs, path, v, detail)
    return v


def _str_field(errs: Errors, obj: dict[str, Any], key: str, path: str) -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        invalid(errs, path, _shown(v), "must be a string")
        return None
    return v


def _dict(errs: Errors, v: Any, path: str) -> dict[str, Any] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        invalid(errs, path, _shown(v), "must be an object")
        return None
    return v


def _item(errs: Errors, v: Any, path: str) -> dict[str, Any] | None:
    """A list element: null decodes to an empty struct in Go (so its required fields get reported)."""
    return {} if v is None else _dict(errs, v, path)


def _list(errs: Errors, v: Any, path: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        invalid(errs, path, _shown(v), "must be a list")
        return []
    return v


def _name_rule(errs: Errors, value: str, path: str, rule: NameRule) -> None:
    for msg in rule(value):
        invalid(errs, path, value, msg)


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [PORT_RANGE]


_PORT_NAME_CHARSET = re.compile(r"^[-a-z0-9]+$")
_PORT_NAME_LETTER = re.compile(r"[a-z]")


def is_valid_port_name(port: str) -> list[str]:
    """IANA_SVC_NAME, as apimachinery checks it for named ports."""
    errs: list[str] = []
    if len(port) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARSET.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


_ENV_VAR_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV_VAR = re.compile(f"^{_ENV_VAR_FMT}$")


def is_env_var_name(name: str) -> list[str]:
    if _ENV_VAR.match(name):
        return []
    return [regex_error(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
        "and must not start with a digit", _ENV_VAR_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1",
    )]


def _port_num_or_name(errs: Errors, value: Any, path: str) -> None:
    if _is_int(value):
        for msg in is_valid_port_num(value):
            invalid(errs, path, value, msg)
    elif isinstance(value, str):
        for msg in is_valid_port_name(value):
            invalid(errs, path, value, msg)
    else:
        invalid(errs, path, _shown(value), "must be an integer or a port name")


def _port_num(errs: Errors, obj: dict[str, Any], key: str, path: str) -> None:
    v = obj.get(key, 0)
    if not _is_int(v):
        invalid(errs, path, _shown(v), "must be an integer")
        return
    for msg in is_valid_port_num(v):
        invalid(errs, path, v, msg)


def _protocol(errs: Errors, obj: dict[str, Any], path: str) -> None:
    proto = obj.get("protocol")
    if proto is None:
        return  # defaulted to TCP
    if proto == "":
        required(errs, path)
    elif proto not in PROTOCOLS:
        not_supported(errs, path, _shown(proto), PROTOCOLS)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --- metadata --------------------------------------------------------------------------------------


def validate_labels(errs: Errors, labels: Any, path: str) -> None:
    """ValidateLabels: qualified-name keys, label-syntax values; errors carry the map's path, like Kubernetes."""
    labels = _dict(errs, labels, path)
    for key, value in (labels or {}).items():
        _name_rule(errs, str(key), path, is_qualified_name)
        if not isinstance(value, str):
            invalid(errs, path, _shown(value), "must be a string")
            continue
        for msg in is_valid_label_value(value):
            invalid(errs, path, value, msg)


TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def validate_annotations(errs: Errors, annotations: Any, path: str) -> None:
    annotations = _dict(errs, annotations, path)
    total = 0
    for key, value in (annotations or {}).items():
        for msg in is_qualified_name(str(key).lower()):
            invalid(errs, path, key, msg)
        if not isinstance(value, str):
            invalid(errs, path, _shown(value), "must be a string")
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
    meta = _dict(errs, meta, path)
    if meta is None:
        return
    name = _str_field(errs, meta, "name", f"{path}.name") or ""
    generate = _str_field(errs, meta, "generateName", f"{path}.generateName") or ""
    if generate:
        for msg in name_rule(_mask_trailing_dash(generate)):
            invalid(errs, f"{path}.generateName", generate, msg)
    if not name:
        if not generate:
            required(errs, f"{path}.name", "name or generateName is required")
    else:
        _name_rule(errs, name, f"{path}.name", name_rule)
    namespace = _str_field(errs, meta, "namespace", f"{path}.namespace")
    if namespaced:
        if not namespace:
            required(errs, f"{path}.namespace")
        else:
            _name_rule(errs, namespace, f"{path}.namespace", is_dns1123_label)
    elif namespace:
        forbidden(errs, f"{path}.namespace", "not allowed on this type")
    validate_labels(errs, meta.get("labels"), f"{path}.labels")
    validate_annotations(errs, meta.get("annotations"), f"{path}.annotations")
    for i, ref in enumerate(_list(errs, meta.get("ownerReferences"), f"{path}.ownerReferences")):
        rpath = f"{path}.ownerReferences[{i}]"
        ref = _dict(errs, ref, rpath) or {}
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key):
                required(errs, f"{rpath}.{key}", f"{key} must not be empty")
    for i, fin in enumerate(_list(errs, meta.get("finalizers"), f"{path}.finalizers")):
        _name_rule(errs, str(fin), f"{path}.finalizers[{i}]", is_qualified_name)
    _int_field(errs, meta, "generation", f"{path}.generation")


def _object_meta_update(errs: Errors, new: dict[str, Any], old: dict[str, Any]) -> None:
    """Name, namespace, uid and creation time never change; an empty new value means 'not sent'."""
    nm, om = new.get("metadata"), old.get("metadata")
    if not isinstance(nm, dict) or not isinstance(om, dict):
        return
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if nm.get(key) and om.get(key) and nm[key] != om[key]:
            invalid(errs, f"metadata.{key}", _shown(nm[key]), IMMUTABLE)


# --- selectors -------------------------------------------------------------------------------------


def validate_label_selector(errs: Errors, sel: Any, path: str) -> None:
    sel = _dict(errs, sel, path)
    if sel is None:
        return
    validate_labels(errs, sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(_list(errs, sel.get("matchExpressions"), f"{path}.matchExpressions")):
        epath = f"{path}.matchExpressions[{i}]"
        expr = _dict(errs, expr, epath) or {}
        op, values = expr.get("operator"), _list(errs, expr.get("values"), f"{epath}.values")
        if op in ("In", "NotIn"):
            if not values:
                required(errs, f"{epath}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist"):
            if values:
                forbidden(errs, f"{epath}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        else:
            invalid(errs, f"{epath}.operator", _shown(op), "not a valid selector operator")
        _name_rule(errs, str(expr.get("key", "")), f"{epath}.key", is_qualified_name)


def _node_selector_requirement(errs: Errors, req: Any, path: str, *, fields: bool = False) -> None:
    req = _dict(errs, req, path) or {}
    op, values = req.get("operator"), _list(errs, req.get("values"), f"{path}.values")
    if op in ("In", "NotIn"):
        if not values:
            required(errs, f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        elif fields and len(values) != 1:
            required(errs, f"{path}.values",
                     "must be only one value when `operator` is 'In' or 'NotIn' for node field selector")
    elif op in ("Exists", "DoesNotExist"):
        if values:
            forbidden(errs, f"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
    elif op in ("Gt", "Lt") and not fields:
        if len(values) != 1:
            required(errs, f"{path}.values", "must be specified single value when `operator` is 'Lt' or 'Gt'")
    else:
        invalid(errs, f"{path}.operator", _shown(op), "not a valid selector operator")
    key = str(req.get("key", ""))
    if fields:
        if key != "metadata.name":
            invalid(errs, f"{path}.key", key, "not a valid field selector key")
    else:
        _name_rule(errs, key, f"{path}.key", is_qualified_name)


def _node_selector_term(errs: Errors, term: Any, path: str) -> None:
    term = _dict(errs, term, path) or {}
    for i, req in enumerate(_list(errs, term.get("matchExpressions"), f"{path}.matchExpressions")):
        _node_selector_requirement(errs, req, f"{path}.matchExpressions[{i}]")
    for i, req in enumerate(_list(errs, term.get("matchFields"), f"{path}.matchFields")):
        _node_selector_requirement(errs, req, f"{path}.matchFields[{i}]", fields=True)


def _pod_affinity_term(errs: Errors, term: Any, path: str) -> None:
    term = _dict(errs, term, path) or {}
    validate_label_selector(errs, term.get("labelSelector"), f"{path}.labelSelector")
    validate_label_selector(errs, term.get("namespaceSelector"), f"{path}.namespaceSelector")
    if not term.get("topologyKey"):
        required(errs, f"{path}.topologyKey", "can not be empty")
    else:
        _name_rule(errs, str(term["topologyKey"]), f"{path}.topologyKey", is_qualified_name)


def _affinity(errs: Errors, affinity: Any, path: str) -> None:
    affinity = _dict(errs, affinity, path)
    if affinity is None:
        return
    na = _dict(errs, affinity.get("nodeAffinity"), f"{path}.nodeAffinity")
    if na is not None:
        npath = f"{path}.nodeAffinity"
        req_path = f"{npath}.requiredDuringSchedulingIgnoredDuringExecution"
        req = _dict(errs, na.get("requiredDuringSchedulingIgnoredDuringExecution"), req_path)
        if req is not None:
            terms = _list(errs, req.get("nodeSelectorTerms"), f"{req_path}.nodeSelectorTerms")
            if not terms:
                required(errs, f"{req_path}.nodeSelectorTerms", "must have at least one node selector term")
            for i, term in enumerate(terms):
                _node_selector_term(errs, term, f"{req_path}.nodeSelectorTerms[{i}]")
        pref_path = f"{npath}.preferredDuringSchedulingIgnoredDuringExecution"
        for i, pref in enumerate(_list(errs, na.get("preferredDuringSchedulingIgnoredDuringExecution"), pref_path)):
            ppath = f"{pref_path}[{i}]"
            pref = _dict(errs, pref, ppath) or {}
            weight = pref.get("weight", 0)
            if not _is_int(weight) or not 1 <= weight <= 100:
                invalid(errs, f"{ppath}.weight", _shown(weight), "must be in the range 1-100")
            _node_selector_term(errs, pref.get("preference"), f"{ppath}.preference")
    for kind in ("podAffinity", "podAntiAffinity"):
        pa = _dict(errs, affinity.get(kind), f"{path}.{kind}")
        if pa is None:
            continue
        rpath = f"{path}.{kind}.requiredDuringSchedulingIgnoredDuringExecution"
        for i, term in enumerate(_list(errs, pa.get("requiredDuringSchedulingIgnoredDuringExecution"), rpath)):
            _pod_affinity_term(errs, term, f"{rpath}[{i}]")
        ppath = f"{path}.{kind}.preferredDuringSchedulingIgnoredDuringExecution"
        for i, w in enumerate(_list(errs, pa.get("preferredDuringSchedulingIgnoredDuringExecution"), ppath)):
            w = _dict(errs, w, f"{ppath}[{i}]") or {}
            weight = w.get("weight", 0)
            if not _is_int(weight) or not 1 <= weight <= 100:
                invalid(errs, f"{ppath}[{i}].weight", _shown(weight), "must be in the range 1-100")
            _pod_affinity_term(errs, w.get("podAffinityTerm"), f"{ppath}[{i}].podAffinityTerm")


TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _tolerations(errs: Errors, tolerations: Any, path: str) -> None:
    for i, t in enumerate(_list(errs, tolerations, path)):
        tpath = f"{path}[{i}]"
        t = _dict(errs, t, tpath) or {}
        key, op, value, effect = t.get("key") or "", t.get("operator") or "", t.get("value") or "", t.get("effect") or ""
        if key:
            _name_rule(errs, str(key), f"{tpath}.key", is_qualified_name)
        if not key and op != "Exists":
            invalid(errs, f"{tpath}.operator", _shown(op),
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"')
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            invalid(errs, f"{tpath}.effect", _shown(effect), "effect must be 'NoExecute' when `tolerationSeconds` is set")
        if op in ("Equal", ""):
            msgs = is_valid_label_value(str(value))
            if msgs:
                invalid(errs, f"{tpath}.operator", _shown(value), ";".join(msgs))
        elif op == "Exists":
            if value:
                invalid(errs, f"{tpath}.operator", None, "value must be empty when `operator` is 'Exists'")
        else:
            not_supported(errs, f"{tpath}.operator", _shown(op), ("Equal", "Exists"))
        if effect and effect not in TAINT_EFFECTS:
            not_supported(errs, f"{tpath}.effect", _shown(effect), TAINT_EFFECTS)
        _int_field(errs, t, "tolerationSeconds", f"{tpath}.tolerationSeconds", minimum=None)


# --- containers ------------------------------------------------------------------------------------

_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _resource_name(errs: Errors, name: str, path: str) -> None:
    _name_rule(errs, name, path, is_qualified_name)
    if "/" not in name and name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
        invalid(errs, path, name, "must be a standard resource for containers")


def _quantity(errs: Errors, value: Any, path: str, name: str) -> Any:
    try:
        q = quantity.parse(value)
    except quantity.QuantityError:
        invalid(errs, path, str(value) if _shown(value) is not None else None, quantity.QUANTITY_HELP)
        return None
    if q < 0:
        invalid(errs, path, str(value), NEGATIVE)
        return None
    if "/" in name and q.denominator != 1:
        # Extended resources are counted devices.
        invalid(errs, path, str(value), "must be an integer")
    return q


def validate_resources(errs: Errors, res: Any, path: str) -> None:
    """ValidateResourceRequirements: names, quantities, and requests <= limits."""
    res = _dict(errs, res, path)
    if res is None:
        return
    limits = _dict(errs, res.get("limits"), f"{path}.limits") or {}
    requests = _dict(errs, res.get("requests"), f"{path}.requests") or {}
    parsed_limits: dict[str, Any] = {}
    for name, value in limits.items():
        lpath = f"{path}.limits[{name}]"
        _resource_name(errs, str(name), lpath)
        q = _quantity(errs, value, lpath, str(name))
        if q is not None:
            parsed_limits[name] = q
    for name, value in requests.items():
        rpath = f"{path}.requests[{name}]"
        _resource_name(errs, str(name), rpath)
        q = _quantity(errs, value, rpath, str(name))
        if q is None or name not in parsed_limits:
            continue
        limit = parsed_limits[name]
        if str(name).startswith("hugepages-") and q != limit:
            invalid(errs, f"{path}.requests", str(value), f"must be equal to {name} limit of {limits[name]}")
        elif q > limit:
            invalid(errs, f"{path}.requests", str(value), f"must be less than or equal to {name} limit of {limits[name]}")


_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _handler(errs: Errors, kind: str, h: Any, path: str) -> None:
    h = _dict(errs, h, path) or {}
    if kind == "exec":
        command = _list(errs, h.get("command"), f"{path}.command")
        if not command:
            required(errs, f"{path}.command")
    elif kind == "httpGet":
        if h.get("path") == "":
            required(errs, f"{path}.path")
        _port_num_or_name(errs, h.get("port", 0), f"{path}.port")
        scheme = h.get("scheme")
        if scheme is not None and scheme not in ("HTTP", "HTTPS"):
            not_supported(errs, f"{path}.scheme", _shown(scheme), ("HTTP", "HTTPS"))
    elif kind == "tcpSocket":
        _port_num_or_name(errs, h.get("port", 0), f"{path}.port")
    elif kind == "grpc":
        _port_num(errs, h, "port", f"{path}.port")


def validate_probe(errs: Errors, probe: Any, path: str) -> None:
    """Exactly one handler, non-negative timings."""
    probe = _dict(errs, probe, path)
    if probe is None:
        return
    count = 0
    for kind in _HANDLERS:
        if probe.get(kind) is None:
            continue
        if count:
            forbidden(errs, f"{path}.{kind}", "may not specify more than 1 handler type")
            continue
        count += 1
        _handler(errs, kind, probe[kind], f"{path}.{kind}")
    if not count:
        required(errs, path, "must specify a handler type")
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        _int_field(errs, probe, key, f"{path}.{key}")
    _int_field(errs, probe, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", minimum=1,
               detail="must be greater than 0")


def _env(errs: Errors, env: Any, path: str) -> None:
    for i, e in enumerate(_list(errs, env, path)):
        epath = f"{path}[{i}]"
        e = _dict(errs, e, epath) or {}
        name = e.get("name")
        if not name:
            required(errs, f"{epath}.name")
        else:
            _name_rule(errs, str(name), f"{epath}.name", is_env_var_name)
        value = e.get("value")
        if value is not None and not isinstance(value, str):
            invalid(errs, f"{epath}.value", _shown(value), "must be a string")
        source = e.get("valueFrom")
        if source is None:
            continue
        source = _dict(errs, source, f"{epath}.valueFrom") or {}
        n = sum(1 for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef") if source.get(k))
        if n == 0:
            invalid(errs, f"{epath}.valueFrom", "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")
        elif value:
            invalid(errs, f"{epath}.valueFrom", "", "may not be specified when `value` is not empty")
        elif n > 1:
            invalid(errs, f"{epath}.valueFrom", "", "may not have more than one field specified at a time")


def _container_ports(errs: Errors, ports: Any, path: str, host_network: bool) -> None:
    names: set[str] = set()
    for i, p in enumerate(_list(errs, ports, path)):
        ppath = f"{path}[{i}]"
        p = _dict(errs, p, ppath) or {}
        name = p.get("name")
        if name:
            msgs = is_valid_port_name(str(name))
            for msg in msgs:
                invalid(errs, f"{ppath}.name", _shown(name), msg)
            if not msgs and name in names:
                duplicate(errs, f"{ppath}.name", name)
            names.add(str(name))
        cport = p.get("containerPort")
        if cport in (None, 0):
            required(errs, f"{ppath}.containerPort")
        else:
            _port_num(errs, p, "containerPort", f"{ppath}.containerPort")
        if p.get("hostPort") not in (None, 0):
            _port_num(errs, p, "hostPort", f"{ppath}.hostPort")
            if host_network and p.get("hostPort") != cport:
                invalid(errs, f"{ppath}.hostPort", _shown(p.get("hostPort")),
                        "must match `containerPort` when `hostNetwork` is true")
        _protocol(errs, p, f"{ppath}.protocol")


def _volume_mounts(errs: Errors, mounts: Any, path: str, volumes: set[str]) -> None:
    seen: set[str] = set()
    for i, m in enumerate(_list(errs, mounts, path)):
        mpath = f"{path}[{i}]"
        m = _dict(errs, m, mpath) or {}
        name = m.get("name") or ""
        if not name:
            required(errs, f"{mpath}.name")
        if str(name) not in volumes:
            not_found(errs, f"{mpath}.name", _shown(name))
        mount_path = str(m.get("mountPath") or "")
        if not mount_path:
            required(errs, f"{mpath}.mountPath")
        if mount_path in seen:
            invalid(errs, f"{mpath}.mountPath", mount_path, "must be unique")
        seen.add(mount_path)


PULL_POLICIES = ("Always", "IfNotPresent", "Never")


def _containers(errs: Errors, containers: Any, path: str, *, volumes: set[str], names: set[str],
                host_network: bool, init: bool) -> None:
    items = _list(errs, containers, path)
    if not items and not init:
        required(errs, path)
    for i, c in enumerate(items):
        cpath = f"{path}[{i}]"
        c = _item(errs, c, cpath)
        if c is None:
            continue
        name = c.get("name")
        if not name:
            required(errs, f"{cpath}.name")
        elif not isinstance(name, str):
            invalid(errs, f"{cpath}.name", _shown(name), "must be a string")
        else:
            _name_rule(errs, name, f"{cpath}.name", is_dns1123_label)
            if name in names:
                duplicate(errs, f"{cpath}.name", name)
            names.add(name)
        image = c.get("image")
        if not image:
            required(errs, f"{cpath}.image")
        elif not isinstance(image, str):
            invalid(errs, f"{cpath}.image", _shown(image), "must be a string")
        elif image != image.strip():
            invalid(errs, f"{cpath}.image", image, "must not have leading or trailing whitespace")
        for key in ("command", "args"):
            for j, arg in enumerate(_list(errs, c.get(key), f"{cpath}.{key}")):
                if not isinstance(arg, str):
                    invalid(errs, f"{cpath}.{key}[{j}]", _shown(arg), "must be a string")
        _container_ports(errs, c.get("ports"), f"{cpath}.ports", host_network)
        _env(errs, c.get("env"), f"{cpath}.env")
        validate_resources(errs, c.get("resources"), f"{cpath}.resources")
        _volume_mounts(errs, c.get("volumeMounts"), f"{cpath}.volumeMounts", volumes)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(probe) is None:
                continue
            if init and c.get("restartPolicy") != "Always":
                forbidden(errs, f"{cpath}.{probe}", "may not be set for init containers without restartPolicy=Always")
                continue
            validate_probe(errs, c[probe], f"{cpath}.{probe}")
            threshold = (c.get(probe) or {}).get("successThreshold") if isinstance(c.get(probe), dict) else None
            if probe != "readinessProbe" and threshold not in (None, 1):
                invalid(errs, f"{cpath}.{probe}.successThreshold", _shown(threshold), "must be 1")
        policy = c.get("imagePullPolicy")
        if policy is not None and policy not in PULL_POLICIES:
            not_supported(errs, f"{cpath}.imagePullPolicy", _shown(policy), PULL_POLICIES)
        tmp = c.get("terminationMessagePolicy")
        if tmp is not None and tmp not in ("File", "FallbackToLogsOnError"):
            not_supported(errs, f"{cpath}.terminationMessagePolicy", _shown(tmp), ("FallbackToLogsOnError", "File"))


# --- pod spec --------------------------------------------------------------------------------------

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")


def _volumes(errs: Errors, volumes: Any, path: str) -> set[str]:
    names: set[str] = set()
    for i, v in enumerate(_list(errs, volumes, path)):
        vpath = f"{path}[{i}]"
        v = _dict(errs, v, vpath) or {}
        name = v.get("name")
        if not name:
            required(errs, f"{vpath}.name")
        else:
            _name_rule(errs, str(name), f"{vpath}.name", is_dns1123_label)
            if str(name) in names:
                duplicate(errs, f"{vpath}.name", name)
            names.add(str(name))
        host_path = v.get("hostPath")
        if isinstance(host_path, dict) and not host_path.get("path"):
            required(errs, f"{vpath}.hostPath.path")
    return names


def validate_pod_spec(errs: Errors, spec: Any, path: str) -> None:
    """ValidatePodSpec, for pods and pod templates alike."""
    if spec is None:
        required(errs, f"{path}.containers")
        return
    spec = _dict(errs, spec, path)
    if spec is None:
        return
    volumes = _volumes(errs, spec.get("volumes"), f"{path}.volumes")
    names: set[str] = set()
    host_network = spec.get("hostNetwork") is True
    _containers(errs, spec.get("initContainers"), f"{path}.initContainers", volumes=volumes, names=names,
                host_network=host_network, init=True)
    _containers(errs, spec.get("containers"), f"{path}.containers", volumes=volumes, names=names,
                host_network=host_network, init=False)
    policy = spec.get("restartPolicy")
    if policy == "":
        required(errs, f"{path}.restartPolicy")
    elif policy is not None and policy not in RESTART_POLICIES:
        not_supported(errs, f"{path}.restartPolicy", _shown(policy), RESTART_POLICIES)
    dns = spec.get("dnsPolicy")
    if dns is not None and dns not in DNS_POLICIES:
        not_supported(errs, f"{path}.dnsPolicy", _shown(dns), DNS_POLICIES)
    validate_labels(errs, spec.get("nodeSelector"), f"{path}.nodeSelector")
    _int_field(errs, spec, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", minimum=None)
    _int_field(errs, spec, "activeDeadlineSeconds", f"{path}.activeDeadlineSeconds", minimum=1,
               detail="must be between 1 and 2147483647, inclusive")
    _int_field(errs, spec, "priority", f"{path}.priority", minimum=None)
    for key, rule in (("nodeName", is_dns1123_subdomain), ("schedulerName", is_dns1123_subdomain),
                      ("hostname", is_dns1123_label), ("subdomain", is_dns1123_label),
                      ("serviceAccountName", is_dns1123_subdomain)):
        value = _str_field(errs, spec, key, f"{path}.{key}")
        if value:
            _name_rule(errs, value, f"{path}.{key}", rule)
    _tolerations(errs, spec.get("tolerations"), f"{path}.tolerations")
    _affinity(errs, spec.get("affinity"), f"{path}.affinity")


def _validate_pod(obj: dict[str, Any], errs: Errors) -> None:
    validate_pod_spec(errs, obj.get("spec"), "spec")


def _validate_pod_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    nspec, ospec = new.get("spec"), old.get("spec")
    if not isinstance(nspec, dict) or not isinstance(ospec, dict):
        return
    old_deadline, new_deadline = ospec.get("activeDeadlineSeconds"), nspec.get("activeDeadlineSeconds")
    if _is_int(old_deadline):
        if new_deadline is None:
            invalid(errs, "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value")
        elif _is_int(new_deadline) and new_deadline > old_deadline:
            invalid(errs, "spec.activeDeadlineSeconds", new_deadline, "must be less than or equal to previous value")
    # Tolerations may only be added (an existing one may change only its tolerationSeconds).
    new_tols = [t for t in nspec.get("tolerations") or [] if isinstance(t, dict)]
    for t in ospec.get("tolerations") or []:
        if not isinstance(t, dict):
            continue
        strip = {k: v for k, v in t.items() if k != "tolerationSeconds"}
        if not any({k: v for k, v in n.items() if k != "tolerationSeconds"} == strip for n in new_tols):
            forbidden(errs, "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
            break
    # Compare what is left after taking the mutable fields from the old spec.
    masked = copy.deepcopy(nspec)
    for key in ("containers", "initContainers"):
        new_cs, old_cs = masked.get(key), ospec.get(key)
        if isinstance(new_cs, list) and isinstance(old_cs, list) and len(new_cs) == len(old_cs):
            for nc, oc in zip(new_cs, old_cs, strict=True):
                if isinstance(nc, dict) and isinstance(oc, dict) and "image" in oc:
                    nc["image"] = oc["image"]
    for key in ("activeDeadlineSeconds", "tolerations"):
        _restore(masked, ospec, key)
    if isinstance(ospec.get("terminationGracePeriodSeconds"), int) and ospec["terminationGracePeriodSeconds"] < 0 \
            and masked.get("terminationGracePeriodSeconds") == 1:
        masked["terminationGracePeriodSeconds"] = ospec["terminationGracePeriodSeconds"]
    # kube-tui lets an update bind an unbound pod (the bind verb is the usual way); once bound, it's fixed.
    if not ospec.get("nodeName"):
        _restore(masked, ospec, "nodeName")
    if masked != ospec:
        forbidden(errs, "spec", POD_UPDATE_FORBIDDEN + _spec_diff(ospec, masked))


def _restore(target: dict[str, Any], source: dict[str, Any], key: str) -> None:
    if key in source:
        target[key] = copy.deepcopy(source[key])
    else:
        target.pop(key, None)


def _spec_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which top-level spec fields changed, in place of the Go struct diff Kubernetes prints."""
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "\n  changed: " + ", ".join(f"spec.{k}" for k in changed) if changed else ""


# --- workloads -------------------------------------------------------------------------------------


def _workload_selector(errs: Errors, spec: dict[str, Any], what: str, *, generated: bool = False) -> Selector | None:
    sel = spec.get("selector")
    if sel is None:
        if not generated:
            required(errs, "spec.selector")
        return None
    sel = _dict(errs, sel, "spec.selector")
    if sel is None:
        return None
    before = len(errs)
    validate_label_selector(errs, sel, "spec.selector")
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        invalid(errs, "spec.selector", None, f"empty selector is invalid for {what}")
        return None
    if len(errs) != before:
        return None
    try:
        return from_label_selector(sel)
    except ApiError:
        invalid(errs, "spec.selector", None, "invalid label selector")
        return None


def _pod_template(errs: Errors, spec: dict[str, Any], selector: Selector | None,
                  restart_policies: tuple[str, ...]) -> None:
    """ValidatePodTemplateSpecForReplicaSet and friends: labels match, pod spec valid, restart policy allowed."""
    template = spec.get("template")
    if template is None:
        required(errs, "spec.template")
        return
    template = _dict(errs, template, "spec.template")
    if template is None:
        return
    meta = _dict(errs, template.get("metadata"), "spec.template.metadata") or {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    if selector is not None and not selector.empty and not selector.matches(labels):
        invalid(errs, "spec.template.metadata.labels", None, "`selector` does not match template `labels`")
    # Kubernetes' path for template labels skips "metadata" (ObjectMeta is inlined in Go).
    validate_labels(errs, meta.get("labels"), "spec.template.labels")
    validate_annotations(errs, meta.get("annotations"), "spec.template.annotations")
    validate_pod_spec(errs, template.get("spec"), "spec.template.spec")
    pod_spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    policy = pod_spec.get("restartPolicy") or "Always"
    if policy in RESTART_POLICIES and policy not in restart_policies:
        not_supported(errs, "spec.template.spec.restartPolicy", policy, restart_policies)
    if pod_spec.get("ephemeralContainers"):
        forbidden(errs, "spec.template.spec.ephemeralContainers", "ephemeral containers not allowed in pod template")


_PERCENT = re.compile(r"^[0-9]+%$")


def _int_or_percent(errs: Errors, value: Any, path: str) -> int | None:
    """ValidatePositiveIntOrPercent; returns the number (percent or count) for the zero checks."""
    if value is None:
        return None
    if _is_int(value):
        if value < 0:
            invalid(errs, path, value, NEGATIVE)
        return value
    if isinstance(value, str):
        if not _PERCENT.match(value):
            invalid(errs, path, value, regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%"))
            return None
        n = int(value[:-1])
        if n > 100 and path.endswith("maxUnavailable"):
            invalid(errs, path, value, "must not be greater than 100%")
        return n
    invalid(errs, path, _shown(value), "must be an integer or a percentage")
    return None


def _deployment_strategy(errs: Errors, strategy: Any) -> None:
    strategy = _dict(errs, strategy, "spec.strategy")
    if strategy is None:
        return
    kind = strategy.get("type") or "RollingUpdate"
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            forbidden(errs, "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
    elif kind == "RollingUpdate":
        ru = _dict(errs, strategy.get("rollingUpdate"), "spec.strategy.rollingUpdate") or {}
        unavailable = _int_or_percent(errs, ru.get("maxUnavailable"), "spec.strategy.rollingUpdate.maxUnavailable")
        surge = _int_or_percent(errs, ru.get("maxSurge"), "spec.strategy.rollingUpdate.maxSurge")
        if unavailable == 0 and surge == 0:
            invalid(errs, "spec.strategy.rollingUpdate.maxUnavailable", _shown(ru.get("maxUnavailable")),
                    "may not be 0 when `maxSurge` is 0")
    else:
        not_supported(errs, "spec.strategy.type", _shown(kind), ("Recreate", "RollingUpdate"))


def _replicas(errs: Errors, spec: dict[str, Any]) -> None:
    _int_field(errs, spec, "replicas", "spec.replicas")
    _int_field(errs, spec, "minReadySeconds", "spec.minReadySeconds")


def _validate_deployment(obj: dict[str, Any], errs: Errors) -> None:
    spec = _dict(errs, obj.get("spec"), "spec")
    if spec is None:
        required(errs, "spec.selector")
        required(errs, "spec.template")
        return
    _replicas(errs, spec)
    selector = _workload_selector(errs, spec, "deployment")
    _pod_template(errs, spec, selector, ("Always",))
    _deployment_strategy(errs, spec.get("strategy"))
    _int_field(errs, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    deadline = _int_field(errs, spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds")
    min_ready = spec.get("minReadySeconds") if _is_int(spec.get("minReadySeconds")) else 0
    if deadline is not None and deadline <= min_ready:
        invalid(errs, "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")


def _validate_replicaset(obj: dict[str, Any], errs: Errors) -> None:
    spec = _dict(errs, obj.get("spec"), "spec")
    if spec is None:
        required(errs, "spec.selector")
        required(errs, "spec.template")
        return
    _replicas(errs, spec)
    # Kubernetes says "deployment" here too (shared code); keep its wording.
    selector = _workload_selector(errs, spec, "deployment")
    _pod_template(errs, spec, selector, ("Always",))


def _validate_daemonset(obj: dict[str, Any], errs: Errors) -> None:
    spec = _dict(errs, obj.get("spec"), "spec")
    if spec is None:
        required(errs, "spec.selector")
        required(errs, "spec.template")
        return
    _int_field(errs, spec, "minReadySeconds", "spec.minReadySeconds")
    _int_field(errs, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    selector = _workload_selector(errs, spec, "daemonset")
    _pod_template(errs, spec, selector, ("Always",))
    strategy = _dict(errs, spec.get("updateStrategy"), "spec.updateStrategy")
    if strategy is None:
        return
    kind = strategy.get("type") or "RollingUpdate"
    if kind not in ("OnDelete", "RollingUpdate"):
        not_supported(errs, "spec.updateStrategy.type", _shown(kind), ("OnDelete", "RollingUpdate"))
    elif kind == "RollingUpdate":
        ru = _dict(errs, strategy.get("rollingUpdate"), "spec.updateStrategy.rollingUpdate") or {}
        path = "spec.updateStrategy.rollingUpdate"
        unavailable = _int_or_percent(errs, ru.get("maxUnavailable"), f"{path}.maxUnavailable")
        surge = _int_or_percent(errs, ru.get("maxSurge"), f"{path}.maxSurge")
        if unavailable and surge:
            invalid(errs, f"{path}.maxSurge", _shown(ru.get("maxSurge")), "may not be set when maxUnavailable is non-zero")
        elif unavailable == 0 and not surge:
            required(errs, f"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0")


def _validate_job(obj: dict[str, Any], errs: Errors) -> None:
    spec = _dict(errs, obj.get("spec"), "spec")
    if spec is None:
        required(errs, "spec.template")
        return
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        _int_field(errs, spec, key, f"spec.{key}")
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        not_supported(errs, "spec.completionMode", _shown(mode), ("NonIndexed", "Indexed"))
    if mode == "Indexed" and spec.get("completions") is None:
        required(errs, "spec.completions", "when completion mode is Indexed")
    # Without manualSelector the server generates the selector (job_selector_defaults).
    selector = _workload_selector(errs, spec, "job", generated=spec.get("manualSelector") is not True)
    _pod_template(errs, spec, selector, ("OnFailure", "Never"))


def _validate_workload_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    nspec, ospec = new.get("spec") or {}, old.get("spec") or {}
    if isinstance(nspec, dict) and isinstance(ospec, dict) and nspec.get("selector") != ospec.get("selector"):
        invalid(errs, "spec.selector", None, IMMUTABLE)


def _validate_job_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    _validate_workload_update(new, old, errs)
    nspec, ospec = new.get("spec") or {}, old.get("spec") or {}
    if not isinstance(nspec, dict) or not isinstance(ospec, dict):
        return
    # A suspended Job's template may still be adjusted before it starts (Kubernetes allows a subset).
    if nspec.get("template") != ospec.get("template") and not ospec.get("suspend"):
        invalid(errs, "spec.template", None, IMMUTABLE)
    if nspec.get("completions") != ospec.get("completions"):
        invalid(errs, "spec.completions", _shown(nspec.get("completions")), IMMUTABLE)


# --- services and endpoints ------------------------------------------------------------------------

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
NODE_PORT_RANGE = (30000, 32767)


def _validate_service(obj: dict[str, Any], errs: Errors) -> None:
    spec = _dict(errs, obj.get("spec"), "spec")
    if spec is None:
        required(errs, "spec.ports")
        return
    kind = spec.get("type") or "ClusterIP"
    if kind not in SERVICE_TYPES:
        not_supported(errs, "spec.type", _shown(kind), SERVICE_TYPES)
    cluster_ip = spec.get("clusterIP") or ""
    headless = cluster_ip == "None"
    ports = _list(errs, spec.get("ports"), "spec.ports")
    if kind == "ExternalName":
        external = _str_field(errs, spec, "externalName", "spec.externalName")
        if not external:
            required(errs, "spec.externalName")
        else:
            _name_rule(errs, external.rstrip("."), "spec.externalName", is_dns1123_subdomain)
        if cluster_ip:
            forbidden(errs, "spec.clusterIP", "may not be set for ExternalName services")
    elif not ports and not headless:
        required(errs, "spec.ports")
    if cluster_ip and not headless and not _is_ip(str(cluster_ip)):
        invalid(errs, "spec.clusterIP", _shown(cluster_ip), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
    names: set[str] = set()
    for i, p in enumerate(ports):
        ppath = f"spec.ports[{i}]"
        p = _item(errs, p, ppath)
        if p is None:
            continue
        name = p.get("name") or ""
        if not name:
            if len(ports) > 1:
                required(errs, f"{ppath}.name")
        else:
            _name_rule(errs, str(name), f"{ppath}.name", is_dns1123_label)
            if name in names:
                duplicate(errs, f"{ppath}.name", name)
            names.add(str(name))
        _port_num(errs, p, "port", f"{ppath}.port")
        _protocol(errs, p, f"{ppath}.protocol")
        target = p.get("targetPort")
        if target not in (None, 0, ""):
            _port_num_or_name(errs, target, f"{ppath}.targetPort")
        node_port = p.get("nodePort")
        if node_port not in (None, 0):
            if kind in ("ClusterIP", "ExternalName"):
                forbidden(errs, f"{ppath}.nodePort", f"may not be used when `type` is '{kind}'")
            elif not _is_int(node_port) or not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
                invalid(errs, f"{ppath}.nodePort", _shown(node_port),
                        "provided port is not in the valid range. The range of valid ports is "
                        f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}")
    validate_labels(errs, spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity")
    if affinity is not None and affinity not in ("ClientIP", "None"):
        not_supported(errs, "spec.sessionAffinity", _shown(affinity), ("ClientIP", "None"))
    etp = spec.get("externalTrafficPolicy")
    if etp:
        if kind not in ("NodePort", "LoadBalancer"):
            invalid(errs, "spec.externalTrafficPolicy", _shown(etp), "may only be set for externally-accessible services")
        elif etp not in ("Cluster", "Local"):
            not_supported(errs, "spec.externalTrafficPolicy", _shown(etp), ("Cluster", "Local"))
    itp = spec.get("internalTrafficPolicy")
    if itp is not None and itp not in ("Cluster", "Local"):
        not_supported(errs, "spec.internalTrafficPolicy", _shown(itp), ("Cluster", "Local"))


def _validate_service_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    nip = (new.get("spec") or {}).get("clusterIP")
    oip = (old.get("spec") or {}).get("clusterIP")
    # The server carries the allocated IP over when the client leaves it out; a different one is an error.
    if oip and nip and nip != oip and (new.get("spec") or {}).get("type") != "ExternalName":
        invalid(errs, "spec.clusterIP", _shown(nip), IMMUTABLE)


def _validate_endpoints(obj: dict[str, Any], errs: Errors) -> None:
    # Kubernetes also rejects loopback addresses here; kube-tui's pods live in 127.0.0.0/8, so it can't.
    for i, subset in enumerate(_list(errs, obj.get("subsets"), "subsets")):
        spath = f"subsets[{i}]"
        subset = _dict(errs, subset, spath) or {}
        for key in ("addresses", "notReadyAddresses"):
            for j, addr in enumerate(_list(errs, subset.get(key), f"{spath}.{key}")):
                apath = f"{spath}.{key}[{j}]"
                addr = _dict(errs, addr, apath) or {}
                ip = addr.get("ip")
                if not ip:
                    required(errs, f"{apath}.ip")
                elif not _is_ip(str(ip)):
                    invalid(errs, f"{apath}.ip", _shown(ip), "must be a valid IP address")
        ports = _list(errs, subset.get("ports"), f"{spath}.ports")
        for j, p in enumerate(ports):
            ppath = f"{spath}.ports[{j}]"
            p = _dict(errs, p, ppath) or {}
            name = p.get("name") or ""
            if not name:
                if len(ports) > 1:
                    required(errs, f"{ppath}.name")
            else:
                _name_rule(errs, str(name), f"{ppath}.name", is_dns1123_label)
            _port_num(errs, p, "port", f"{ppath}.port")
            _protocol(errs, p, f"{ppath}.protocol")


# --- cluster objects -------------------------------------------------------------------------------


def _validate_namespace(obj: dict[str, Any], errs: Errors) -> None:
    spec = _dict(errs, obj.get("spec"), "spec") or {}
    for i, fin in enumerate(_list(errs, spec.get("finalizers"), "spec.finalizers")):
        _name_rule(errs, str(fin), f"spec.finalizers[{i}]", is_qualified_name)
    status = _dict(errs, obj.get("status"), "status") or {}
    phase = status.get("phase")
    if phase is not None and phase not in ("Active", "Terminating"):
        not_supported(errs, "status.phase", _shown(phase), ("Active", "Terminating"))


def _validate_node(obj: dict[str, Any], errs: Errors) -> None:
    spec = _dict(errs, obj.get("spec"), "spec") or {}
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(_list(errs, spec.get("taints"), "spec.taints")):
        tpath = f"spec.taints[{i}]"
        taint = _dict(errs, taint, tpath) or {}
        key, value, effect = str(taint.get("key") or ""), taint.get("value") or "", taint.get("effect") or ""
        _name_rule(errs, key, f"{tpath}.key", is_qualified_name)
        msgs = is_valid_label_value(str(value))
        if msgs:
            invalid(errs, f"{tpath}.value", _shown(value), ";".join(msgs))
        if not effect:
            required(errs, f"{tpath}.effect")
        elif effect not in TAINT_EFFECTS:
            not_supported(errs, f"{tpath}.effect", _shown(effect), TAINT_EFFECTS)
        if (key, effect) in seen:
            duplicate(errs, tpath, None, "taints must be unique by key and effect pair")
        seen.add((key, effect))
    for key in ("podCIDR",):
        cidr = spec.get(key)
        if cidr:
            try:
                ipaddress.ip_network(str(cidr), strict=False)
            except ValueError:
                invalid(errs, f"spec.{key}", _shown(cidr), "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
    status = _dict(errs, obj.get("status"), "status") or {}
    for key in ("capacity", "allocatable"):
        for name, value in (_dict(errs, status.get(key), f"status.{key}") or {}).items():
            _quantity(errs, value, f"status.{key}[{name}]", str(name))


def _validate_node_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    ocidr = (old.get("spec") or {}).get("podCIDR")
    ncidr = (new.get("spec") or {}).get("podCIDR")
    if ocidr and ncidr != ocidr:
        forbidden(errs, "spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid')


def _validate_lease(obj: dict[str, Any], errs: Errors) -> None:
    spec = _dict(errs, obj.get("spec"), "spec") or {}
    _str_field(errs, spec, "holderIdentity", "spec.holderIdentity")
    _int_field(errs, spec, "leaseDurationSeconds", "spec.leaseDurationSeconds", minimum=1,
               detail="must be greater than 0")
    _int_field(errs, spec, "leaseTransitions", "spec.leaseTransitions")


def _validate_event(obj: dict[str, Any], errs: Errors) -> None:
    involved = _dict(errs, obj.get("involvedObject"), "involvedObject") or {}
    ns = (obj.get("metadata") or {}).get("namespace")
    ins = involved.get("namespace")
    if ins and ns and ins != ns:
        invalid(errs, "involvedObject.namespace", _shown(ins), "does not match event.namespace")
    kind = obj.get("type")
    if kind is not None and kind not in ("Normal", "Warning"):
        not_supported(errs, "type", _shown(kind), ("Normal", "Warning"))
    _int_field(errs, obj, "count", "count")
    for key in ("reason", "message"):
        _str_field(errs, obj, key, key)


# --- entry point -----------------------------------------------------------------------------------

NAME_RULES: dict[str, NameRule] = {
    "Namespace": is_dns1123_label,
    "Service": is_dns1035_label,
}
_VALIDATORS: dict[str, Callable[[dict[str, Any], Errors], None]] = {
    "Pod": _validate_pod,
    "Deployment": _validate_deployment,
    "ReplicaSet": _validate_replicaset,
    "DaemonSet": _validate_daemonset,
    "Job": _validate_job,
    "Service": _validate_service,
    "Endpoints": _validate_endpoints,
    "Namespace": _validate_namespace,
    "Node": _validate_node,
    "Lease": _validate_lease,
    "Event": _validate_event,
}
_UPDATE_VALIDATORS: dict[str, Callable[[dict[str, Any], dict[str, Any], Errors], None]] = {
    "Pod": _validate_pod_update,
    "Deployment": _validate_workload_update,
    "ReplicaSet": _validate_workload_update,
    "DaemonSet": _validate_workload_update,
    "Job": _validate_job_update,
    "Service": _validate_service_update,
    "Node": _validate_node_update,
}


def validate(obj: dict[str, Any], old: dict[str, Any] | None = None) -> tuple[list[FieldError], list[str]]:
    """Validate an object (and, with `old`, an update of it): every field error, and the warnings."""
    errs: Errors = []
    if not isinstance(obj, dict):
        invalid(errs, "", None, "must be an object")
        return errs, []
    kind = obj.get("kind")
    info = KINDS.get(kind) if isinstance(kind, str) else None
    if info is None:
        not_supported(errs, "kind", _shown(kind), sorted(KINDS))
        return errs, []
    validate_object_meta(errs, obj.get("metadata"), "metadata", NAME_RULES.get(info.kind, is_dns1123_subdomain),
                         info.namespaced)
    _VALIDATORS[info.kind](obj, errs)
    if old is not None:
        _object_meta_update(errs, obj, old)
        update = _UPDATE_VALIDATORS.get(info.kind)
        if update is not None:
            update(obj, old, errs)
    return errs, admission_warnings.collect(obj)
