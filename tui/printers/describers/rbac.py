"""kubectl's Role, ClusterRole, RoleBinding and ClusterRoleBinding describers: a role's rules broken down to one
verb each, compacted again per resource and sorted (rbac.BreakdownRule, CompactRules, SortableRuleSlice), and a
binding's role and subjects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui.printers.describers.writer import PrefixWriter, annotations_multiline, labels_multiline
from tui.printers.status import meta_of


def _strings(rule: Mapping[str, Any], key: str) -> list[str]:
    v = rule.get(key)
    return [str(x) for x in v] if isinstance(v, list) else []


def _go(values: list[str]) -> str:
    return "[" + " ".join(values) + "]"  # Go's %v of a []string


def breakdown(rule: Mapping[str, Any]) -> list[dict[str, list[str]]]:
    """rbac.BreakdownRule: one rule per group, resource, verb (and name); one per URL and verb."""
    out: list[dict[str, list[str]]] = []
    names = _strings(rule, "resourceNames")
    for group in _strings(rule, "apiGroups"):
        for resource in _strings(rule, "resources"):
            for verb in _strings(rule, "verbs"):
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                out.extend([{**base, "resourceNames": [n]} for n in names] if names else [base])
    for url in _strings(rule, "nonResourceURLs"):
        for verb in _strings(rule, "verbs"):
            out.append({"nonResourceURLs": [url], "verbs": [verb]})
    return out


def compact(rules: list[dict[str, list[str]]]) -> list[dict[str, list[str]]]:
    """CompactRules: the verbs of the rules on one group's resource (and name) together, each once, then sorted as
    SortableRuleSlice sorts them (by the rule's String(): verbs first)."""
    simple: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    out: list[dict[str, list[str]]] = []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            out.append(rule)
            continue
        key = (rule["apiGroups"][0], rule["resources"][0], (rule.get("resourceNames") or [""])[0])
        if key in simple:  # the verbs not there yet, in order
            simple[key]["verbs"] = simple[key]["verbs"] + [v for v in rule["verbs"] if v not in simple[key]["verbs"]]
        else:
            simple[key] = dict(rule)
    out.extend(simple.values())

    def as_string(r: dict[str, list[str]]) -> str:
        return "&PolicyRule{" + "".join(f"{k}:{_go(r.get(f, []))}," for k, f in (
            ("Verbs", "verbs"), ("APIGroups", "apiGroups"), ("Resources", "resources"),
            ("ResourceNames", "resourceNames"), ("NonResourceURLs", "nonResourceURLs"))) + "}"
    return sorted(out, key=as_string)


def combine_resource_group(resources: list[str], groups: list[str]) -> str:
    if not resources:
        return ""
    resource, _, sub = resources[0].partition("/")
    if groups and groups[0]:
        resource = f"{resource}.{groups[0]}"
    return f"{resource}/{sub}" if sub else resource


def describe_role(role: Mapping[str, Any]) -> str:
    """RoleDescriber and ClusterRoleDescriber (no namespace line, no events)."""
    w = PrefixWriter()
    meta = meta_of(role)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, "PolicyRule:\n")
    w.write(1, "Resources\tNon-Resource URLs\tResource Names\tVerbs\n")
    w.write(1, "---------\t-----------------\t--------------\t-----\n")
    rules = [r for rule in role.get("rules") or [] if isinstance(rule, dict) for r in breakdown(rule)]
    for r in compact(rules):
        w.write(1, f"{combine_resource_group(r.get('resources', []), r.get('apiGroups', []))}\t"
                   f"{_go(r.get('nonResourceURLs', []))}\t{_go(r.get('resourceNames', []))}\t{_go(r['verbs'])}\n")
    return w.text()


def describe_binding(binding: Mapping[str, Any]) -> str:
    """RoleBindingDescriber and ClusterRoleBindingDescriber: the role it grants, and to whom."""
    w = PrefixWriter()
    meta = meta_of(binding)
    ref = binding.get("roleRef") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, "Role:\n")
    w.write(1, f"Kind:\t{ref.get('kind', '')}\n")
    w.write(1, f"Name:\t{ref.get('name', '')}\n")
    w.write(0, "Subjects:\n")
    w.write(1, "Kind\tName\tNamespace\n")
    w.write(1, "----\t----\t---------\n")
    for s in binding.get("subjects") or []:
        if isinstance(s, dict):
            w.write(1, f"{s.get('kind', '')}\t{s.get('name', '')}\t{s.get('namespace', '')}\n")
    return w.text()
