"""Role, ClusterRole, RoleBinding and ClusterRoleBinding, as pkg/apis/rbac/validation checks them.

Names are path segments (system:discovery is a valid name); a rule needs verbs, and either resources with API
groups or (in a ClusterRole only) non-resource URLs; a binding's roleRef is immutable.
"""

from __future__ import annotations

from typing import Any

from control.api.labels import is_dns1123_subdomain
from control.api.rbac import GROUP
from control.api.validation.autoscaling import path_segment_messages
from control.api.validation.field import Errors, as_dict, as_item, as_list, invalid, not_supported, required
from control.api.validation.meta import validate_label_selector


class GoValue:
    """A bad value Kubernetes prints with Go's %#v (a []string, a struct): shown as Go shows it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _go_strings(values: list[Any]) -> GoValue:
    return GoValue("[]string{" + ", ".join(f'"{v}"' for v in values) + "}")


def rbac_name(name: str) -> list[str]:
    """ValidateRBACName (minimalNameRequirements): a path segment."""
    return path_segment_messages(name)


def _rule(errs: Errors, rule: dict[str, Any], namespaced: bool, path: str) -> None:
    lists = {k: as_list(errs, rule.get(k), f"{path}.{k}")
             for k in ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")}
    if not lists["verbs"]:
        required(errs, f"{path}.verbs", "verbs must contain at least one value")
    urls = lists["nonResourceURLs"]
    if urls:
        if namespaced:
            invalid(errs, f"{path}.nonResourceURLs", _go_strings(urls), "namespaced rules cannot apply to non-resource URLs")
        if lists["apiGroups"] or lists["resources"] or lists["resourceNames"]:
            invalid(errs, f"{path}.nonResourceURLs", _go_strings(urls),
                    "rules cannot apply to both regular resources and non-resource URLs")
        return
    if not lists["apiGroups"]:
        required(errs, f"{path}.apiGroups", "resource rules must supply at least one api group")
    if not lists["resources"]:
        required(errs, f"{path}.resources", "resource rules must supply at least one resource")
    if lists["resourceNames"] and len(lists["resources"]) > 1:
        required(errs, f"{path}.resourceNames", "resource names cannot apply to multiple resources")


def _rules(errs: Errors, obj: dict[str, Any], namespaced: bool) -> None:
    for i, rule in enumerate(as_list(errs, obj.get("rules"), "rules")):
        rule = as_item(errs, rule, f"rules[{i}]")
        if rule is not None:
            _rule(errs, rule, namespaced, f"rules[{i}]")


def validate_role(obj: dict[str, Any], errs: Errors) -> None:
    _rules(errs, obj, True)


def validate_cluster_role(obj: dict[str, Any], errs: Errors) -> None:
    _rules(errs, obj, False)
    agg = as_dict(errs, obj.get("aggregationRule"), "aggregationRule")
    if agg is None:
        return
    selectors = as_list(errs, agg.get("clusterRoleSelectors"), "aggregationRule.clusterRoleSelectors")
    if not selectors:
        required(errs, "aggregationRule.clusterRoleSelectors",
                 "at least one clusterRoleSelector required if aggregationRule is non-nil")
    for i, sel in enumerate(selectors):
        validate_label_selector(errs, sel, f"aggregationRule.clusterRoleSelectors[{i}]")


def _subject(errs: Errors, subject: dict[str, Any], namespaced: bool, path: str) -> None:
    name, kind, group = (str(subject.get(k) or "") for k in ("name", "kind", "apiGroup"))
    if not name:
        required(errs, f"{path}.name")
    if kind == "ServiceAccount":
        for msg in is_dns1123_subdomain(name) if name else []:
            invalid(errs, f"{path}.name", name, msg)
        if group:
            not_supported(errs, f"{path}.apiGroup", group, [""])
        if not namespaced and not subject.get("namespace"):
            required(errs, f"{path}.namespace")
    elif kind in ("User", "Group"):
        if not name:
            invalid(errs, f"{path}.name", name, f"{kind.lower()} name cannot be empty")
        if group != GROUP:
            not_supported(errs, f"{path}.apiGroup", group, [GROUP])
    else:
        not_supported(errs, f"{path}.kind", kind, ["ServiceAccount", "User", "Group"])


def _binding(errs: Errors, obj: dict[str, Any], namespaced: bool) -> None:
    ref = as_dict(errs, obj.get("roleRef"), "roleRef") or {}
    if ref.get("apiGroup") != GROUP:
        not_supported(errs, "roleRef.apiGroup", str(ref.get("apiGroup") or ""), [GROUP])
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        not_supported(errs, "roleRef.kind", str(ref.get("kind") or ""), kinds)
    name = str(ref.get("name") or "")
    if not name:
        required(errs, "roleRef.name")
    for msg in rbac_name(name) if name else []:
        invalid(errs, "roleRef.name", name, msg)
    for i, subject in enumerate(as_list(errs, obj.get("subjects"), "subjects")):
        subject = as_item(errs, subject, f"subjects[{i}]")
        if subject is not None:
            _subject(errs, subject, namespaced, f"subjects[{i}]")


def validate_role_binding(obj: dict[str, Any], errs: Errors) -> None:
    _binding(errs, obj, True)


def validate_cluster_role_binding(obj: dict[str, Any], errs: Errors) -> None:
    _binding(errs, obj, False)


def _ref(obj: dict[str, Any]) -> dict[str, str]:
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    return {k: str(ref.get(k) or "") for k in ("apiGroup", "kind", "name")}


def validate_binding_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    """A binding's roleRef never changes: to bind another role, delete the binding and create it again."""
    new = _ref(obj)
    if new != _ref(old):
        shown = GoValue(f'rbac.RoleRef{{APIGroup:"{new["apiGroup"]}", Kind:"{new["kind"]}", Name:"{new["name"]}"}}')
        invalid(errs, "roleRef", shown, "cannot change roleRef")
