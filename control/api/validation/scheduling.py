"""Where a pod may run: node selector terms, node and pod (anti-)affinity, tolerations of taints."""

from __future__ import annotations

from typing import Any

from control.api.labels import is_qualified_name, is_valid_label_value
from control.api.validation.field import (
    Errors,
    as_dict,
    as_list,
    check_name,
    duplicate,
    forbidden,
    int_field,
    invalid,
    is_int,
    not_supported,
    required,
    shown,
)
from control.api.validation.meta import validate_label_selector


def _node_selector_requirement(errs: Errors, req: Any, path: str, *, fields: bool = False) -> None:
    req = as_dict(errs, req, path) or {}
    op, values = req.get("operator"), as_list(errs, req.get("values"), f"{path}.values")
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
        invalid(errs, f"{path}.operator", shown(op), "not a valid selector operator")
    key = str(req.get("key", ""))
    if fields:
        if key != "metadata.name":
            invalid(errs, f"{path}.key", key, "not a valid field selector key")
    else:
        check_name(errs, key, f"{path}.key", is_qualified_name)


def _node_selector_term(errs: Errors, term: Any, path: str) -> None:
    term = as_dict(errs, term, path) or {}
    for i, req in enumerate(as_list(errs, term.get("matchExpressions"), f"{path}.matchExpressions")):
        _node_selector_requirement(errs, req, f"{path}.matchExpressions[{i}]")
    for i, req in enumerate(as_list(errs, term.get("matchFields"), f"{path}.matchFields")):
        _node_selector_requirement(errs, req, f"{path}.matchFields[{i}]", fields=True)


def _pod_affinity_term(errs: Errors, term: Any, path: str) -> None:
    term = as_dict(errs, term, path) or {}
    validate_label_selector(errs, term.get("labelSelector"), f"{path}.labelSelector")
    validate_label_selector(errs, term.get("namespaceSelector"), f"{path}.namespaceSelector")
    if not term.get("topologyKey"):
        required(errs, f"{path}.topologyKey", "can not be empty")
    else:
        check_name(errs, str(term["topologyKey"]), f"{path}.topologyKey", is_qualified_name)


def validate_affinity(errs: Errors, affinity: Any, path: str) -> None:
    affinity = as_dict(errs, affinity, path)
    if affinity is None:
        return
    na = as_dict(errs, affinity.get("nodeAffinity"), f"{path}.nodeAffinity")
    if na is not None:
        npath = f"{path}.nodeAffinity"
        req_path = f"{npath}.requiredDuringSchedulingIgnoredDuringExecution"
        req = as_dict(errs, na.get("requiredDuringSchedulingIgnoredDuringExecution"), req_path)
        if req is not None:
            terms = as_list(errs, req.get("nodeSelectorTerms"), f"{req_path}.nodeSelectorTerms")
            if not terms:
                required(errs, f"{req_path}.nodeSelectorTerms", "must have at least one node selector term")
            for i, term in enumerate(terms):
                _node_selector_term(errs, term, f"{req_path}.nodeSelectorTerms[{i}]")
        pref_path = f"{npath}.preferredDuringSchedulingIgnoredDuringExecution"
        for i, pref in enumerate(as_list(errs, na.get("preferredDuringSchedulingIgnoredDuringExecution"), pref_path)):
            ppath = f"{pref_path}[{i}]"
            pref = as_dict(errs, pref, ppath) or {}
            weight = pref.get("weight", 0)
            if not is_int(weight) or not 1 <= weight <= 100:
                invalid(errs, f"{ppath}.weight", shown(weight), "must be in the range 1-100")
            _node_selector_term(errs, pref.get("preference"), f"{ppath}.preference")
    for kind in ("podAffinity", "podAntiAffinity"):
        pa = as_dict(errs, affinity.get(kind), f"{path}.{kind}")
        if pa is None:
            continue
        rpath = f"{path}.{kind}.requiredDuringSchedulingIgnoredDuringExecution"
        for i, term in enumerate(as_list(errs, pa.get("requiredDuringSchedulingIgnoredDuringExecution"), rpath)):
            _pod_affinity_term(errs, term, f"{rpath}[{i}]")
        ppath = f"{path}.{kind}.preferredDuringSchedulingIgnoredDuringExecution"
        for i, w in enumerate(as_list(errs, pa.get("preferredDuringSchedulingIgnoredDuringExecution"), ppath)):
            w = as_dict(errs, w, f"{ppath}[{i}]") or {}
            weight = w.get("weight", 0)
            if not is_int(weight) or not 1 <= weight <= 100:
                invalid(errs, f"{ppath}[{i}].weight", shown(weight), "must be in the range 1-100")
            _pod_affinity_term(errs, w.get("podAffinityTerm"), f"{ppath}[{i}].podAffinityTerm")


TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
INCLUSION_POLICIES = ("Honor", "Ignore")


def validate_topology_spread_constraints(errs: Errors, constraints: Any, path: str) -> None:
    """validateTopologySpreadConstraints, with its messages and its order of checks."""
    items = as_list(errs, constraints, path)
    pairs = [((c.get("topologyKey") or ""), (c.get("whenUnsatisfiable") or "")) if isinstance(c, dict) else None
             for c in items]
    for i, c in enumerate(items):
        cpath = f"{path}[{i}]"
        c = as_dict(errs, c, cpath) or {}
        skew = c.get("maxSkew")
        if not is_int(skew) or skew <= 0:
            invalid(errs, f"{cpath}.maxSkew", shown(skew if skew is not None else 0), "must be greater than zero")
        key = c.get("topologyKey") or ""
        if not key:
            required(errs, f"{cpath}.topologyKey", "can not be empty")
        else:
            check_name(errs, str(key), f"{cpath}.topologyKey", is_qualified_name)
        when = c.get("whenUnsatisfiable") or ""
        if when not in UNSATISFIABLE:
            not_supported(errs, f"{cpath}.whenUnsatisfiable", shown(when), UNSATISFIABLE)
        if (key, when) in pairs[i + 1:]:  # reported at the first of the two, as ValidateSpreadConstraintNotRepeat
            duplicate(errs, f"{cpath}.{{topologyKey, whenUnsatisfiable}}", f"{{{key}, {when}}}")
        if c.get("minDomains") is not None:
            md = c["minDomains"]
            if not is_int(md) or md <= 0:
                invalid(errs, f"{cpath}.minDomains", shown(md), "must be greater than zero")
            elif when != "DoNotSchedule":
                invalid(errs, f"{cpath}.minDomains", shown(md),
                        f"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {when}")
        for policy in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            if c.get(policy) is not None and c[policy] not in INCLUSION_POLICIES:
                not_supported(errs, f"{cpath}.{policy}", shown(c[policy]), INCLUSION_POLICIES)
        validate_label_selector(errs, c.get("labelSelector"), f"{cpath}.labelSelector")
        ls = c.get("labelSelector") if isinstance(c.get("labelSelector"), dict) else {}
        match_labels = ls.get("matchLabels") if isinstance(ls.get("matchLabels"), dict) else {}
        exprs = ls.get("matchExpressions") if isinstance(ls.get("matchExpressions"), list) else []
        selector_keys = {str(k) for k in match_labels} | {str(e.get("key")) for e in exprs if isinstance(e, dict)}
        for j, k in enumerate(as_list(errs, c.get("matchLabelKeys"), f"{cpath}.matchLabelKeys")):
            if not isinstance(k, str):
                invalid(errs, f"{cpath}.matchLabelKeys[{j}]", shown(k), "must be a label key (a string)")
                continue
            check_name(errs, k, f"{cpath}.matchLabelKeys[{j}]", is_qualified_name)
            if k in selector_keys:
                invalid(errs, f"{cpath}.matchLabelKeys[{j}]", shown(k), "exists in both matchLabelKeys and labelSelector")


def validate_tolerations(errs: Errors, tolerations: Any, path: str) -> None:
    for i, t in enumerate(as_list(errs, tolerations, path)):
        tpath = f"{path}[{i}]"
        t = as_dict(errs, t, tpath) or {}
        key, op, value, effect = t.get("key") or "", t.get("operator") or "", t.get("value") or "", t.get("effect") or ""
        if key:
            check_name(errs, str(key), f"{tpath}.key", is_qualified_name)
        if not key and op != "Exists":
            invalid(errs, f"{tpath}.operator", shown(op),
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"')
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            invalid(errs, f"{tpath}.effect", shown(effect), "effect must be 'NoExecute' when `tolerationSeconds` is set")
        if op in ("Equal", ""):
            msgs = is_valid_label_value(str(value))
            if msgs:
                invalid(errs, f"{tpath}.operator", shown(value), ";".join(msgs))
        elif op == "Exists":
            if value:
                invalid(errs, f"{tpath}.operator", None, "value must be empty when `operator` is 'Exists'")
        else:
            not_supported(errs, f"{tpath}.operator", shown(op), ("Equal", "Exists"))
        if effect and effect not in TAINT_EFFECTS:
            not_supported(errs, f"{tpath}.effect", shown(effect), TAINT_EFFECTS)
        int_field(errs, t, "tolerationSeconds", f"{tpath}.tolerationSeconds", minimum=None)
