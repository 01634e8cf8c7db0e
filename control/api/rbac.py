"""RBAC (rbac.authorization.k8s.io/v1): its defaults, rule matching, which bindings apply to whom, ClusterRole
aggregation, and the bootstrap policy (the default ClusterRoles and ClusterRoleBindings every cluster has).

Pure functions of the objects; the API server's authorizer (control/apiserver/authz.py) reads them from the
store. Ported from pkg/apis/rbac/v1 (defaults, evaluation_helpers.go), pkg/registry/rbac/validation
(rule.go: appliesTo) and plugin/pkg/auth/authorizer/rbac (rbac.go: RuleAllows, bootstrappolicy/policy.go).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

GROUP = "rbac.authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"
KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
SA_PREFIX = "system:serviceaccount:"
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}


# -- defaults (pkg/apis/rbac/v1/defaults.go) -----------------------------------------------------------
def apply_defaults(obj: dict[str, Any]) -> None:
    """A binding's roleRef.apiGroup and its User and Group subjects' apiGroup default to the RBAC group."""
    if obj.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
        return
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = GROUP
    for subject in obj.get("subjects") or [] if isinstance(obj.get("subjects"), list) else []:
        if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = GROUP


# -- rule matching (evaluation_helpers.go, rbac.go RuleAllows) ---------------------------------------------
@dataclass(frozen=True)
class Attributes:
    """What a request asks (authorizer.Attributes): a resource request, or a non-resource one (`path`)."""

    verb: str
    resource: str = ""
    group: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""  # a non-resource request's URL path (/version, /api)

    @property
    def is_resource(self) -> bool:
        return not self.path


def _strings(rule: dict, key: str) -> list[str]:
    v = rule.get(key)
    return [str(x) for x in v] if isinstance(v, list) else []


def verb_matches(rule: dict, verb: str) -> bool:
    return any(v in ("*", verb) for v in _strings(rule, "verbs"))


def api_group_matches(rule: dict, group: str) -> bool:
    return any(g in ("*", group) for g in _strings(rule, "apiGroups"))


def resource_matches(rule: dict, combined: str, subresource: str) -> bool:
    """"*" is every resource and subresource; "pods/log" one subresource; "*/scale" a subresource of any."""
    for r in _strings(rule, "resources"):
        if r in ("*", combined):
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: dict, name: str) -> bool:
    names = _strings(rule, "resourceNames")
    return not names or name in names


def non_resource_url_matches(rule: dict, path: str) -> bool:
    for url in _strings(rule, "nonResourceURLs"):
        if url in ("*", path) or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(attrs: Attributes, rule: dict) -> bool:
    if not attrs.is_resource:
        return verb_matches(rule, attrs.verb) and non_resource_url_matches(rule, attrs.path)
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    return (verb_matches(rule, attrs.verb) and api_group_matches(rule, attrs.group)
            and resource_matches(rule, combined, attrs.subresource) and resource_name_matches(rule, attrs.name))


# -- who a binding names (pkg/registry/rbac/validation/rule.go appliesTo) ----------------------------------
def service_account_user(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


def applies_to(user: str, groups: Iterable[str], subject: Any, binding_namespace: str) -> bool:
    """Whether a binding's subject is this user: by name, by one of their groups, or as a ServiceAccount
    (whose namespace defaults to a RoleBinding's own)."""
    if not isinstance(subject, dict):
        return False
    kind, name = subject.get("kind"), str(subject.get("name") or "")
    if kind == "User":
        return user == name
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        ns = str(subject.get("namespace") or binding_namespace)
        return bool(ns) and user == service_account_user(ns, name)
    return False


def binds(user: str, groups: Iterable[str], binding: dict) -> bool:
    ns = str((binding.get("metadata") or {}).get("namespace") or "")
    groups = tuple(groups)
    return any(applies_to(user, groups, s, ns) for s in binding.get("subjects") or [])


def rules_of(role: dict | None) -> list[dict]:
    rules = (role or {}).get("rules")
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


# -- ClusterRole aggregation (pkg/controller/clusterroleaggregation) ---------------------------------------
def aggregated_rules(role: dict, others: Iterable[dict], selects: Any) -> list[dict]:
    """The rules an aggregated ClusterRole holds: every rule of the ClusterRoles its selectors match, in name
    order, each once. `selects(selector, labels)` says whether a label selector matches labels."""
    selectors = ((role.get("aggregationRule") or {}).get("clusterRoleSelectors") or [])
    name = role["metadata"]["name"]
    out: list[dict] = []
    for other in sorted(others, key=lambda o: o["metadata"]["name"]):
        if other["metadata"]["name"] == name:
            continue
        labels = other["metadata"].get("labels") or {}
        if not any(isinstance(sel, dict) and selects(sel, labels) for sel in selectors):
            continue
        for rule in rules_of(other):
            if rule not in out:
                out.append(copy.deepcopy(rule))
    return out


# -- privilege escalation (pkg/registry/rbac/validation: ConfirmNoEscalation, Covers) -----------------------
def breakdown(rule: dict) -> Iterator[Attributes]:
    """BreakdownRule: one rule as the single rights it grants (one verb on one group's resource, by name, or
    on one URL)."""
    verbs = _strings(rule, "verbs")
    urls = _strings(rule, "nonResourceURLs")
    if urls:
        for v in verbs:
            for u in urls:
                yield Attributes(verb=v, path=u)
        return
    for g in _strings(rule, "apiGroups"):
        for r in _strings(rule, "resources"):
            res, _, sub = r.partition("/")
            for n in _strings(rule, "resourceNames") or [""]:
                for v in verbs:
                    yield Attributes(verb=v, group=g, resource=res, subresource=sub, name=n)


def covers(owned: list[dict], right: Attributes) -> bool:
    """Whether rules a user holds cover one right (ruleCovers): a wildcard only by the same wildcard, a
    right on every name only by a rule on every name."""
    for rule in owned:
        if not right.is_resource:
            if verb_matches(rule, right.verb) and non_resource_url_matches(rule, right.path):
                return True
            continue
        combined = f"{right.resource}/{right.subresource}" if right.subresource else right.resource
        names = _strings(rule, "resourceNames")
        if (verb_matches(rule, right.verb) and api_group_matches(rule, right.group)
                and resource_matches(rule, combined, right.subresource) and (not names or right.name in names)):
            return True
    return False


# -- the bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go) ----------------------
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
READ_WRITE = [*READ, *WRITE]


def _rule(verbs: list[str], groups: list[str] | None = None, resources: list[str] | None = None,
          urls: list[str] | None = None) -> dict:
    rule: dict[str, Any] = {"verbs": list(verbs)}
    if urls is not None:
        rule["nonResourceURLs"] = urls
        return rule
    rule["apiGroups"] = groups or [""]
    rule["resources"] = resources or []
    return rule


def _aggregate(to: str) -> dict:
    return {"clusterRoleSelectors": [{"matchLabels": {f"{GROUP}/aggregate-to-{to}": "true"}}]}


def _cluster_roles() -> list[dict]:
    """The default ClusterRoles a user meets, as bootstrappolicy defines them (the rules of resources
    kube-tui does not serve are kept: a role means the same here as in Kubernetes)."""
    return [
        {"name": "cluster-admin", "rules": [_rule(["*"], ["*"], ["*"]), _rule(["*"], urls=["*"])]},
        {"name": "system:discovery", "rules": [_rule(["get"], urls=[
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
            "/version", "/version/"])]},
        {"name": "system:basic-user", "rules": [
            _rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]},
        {"name": "system:public-info-viewer", "rules": [_rule(["get"], urls=[
            "/healthz", "/livez", "/readyz", "/version", "/version/"])]},
        {"name": "admin", "aggregationRule": _aggregate("admin")},
        {"name": "edit", "labels": {f"{GROUP}/aggregate-to-admin": "true"}, "aggregationRule": _aggregate("edit")},
        {"name": "view", "labels": {f"{GROUP}/aggregate-to-edit": "true"}, "aggregationRule": _aggregate("view")},
        {"name": "system:aggregate-to-admin", "labels": {f"{GROUP}/aggregate-to-admin": "true"}, "rules": [
            _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
            _rule(READ_WRITE, [GROUP], ["rolebindings", "roles"])]},
        {"name": "system:aggregate-to-edit", "labels": {f"{GROUP}/aggregate-to-edit": "true"}, "rules": [
            _rule(READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                               "services/proxy"]),
            _rule(["impersonate"], [""], ["serviceaccounts"]),
            _rule(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
            _rule(["create"], [""], ["pods/eviction"]),
            _rule(WRITE, [""], ["configmaps", "endpoints", "persistentvolumeclaims", "replicationcontrollers",
                                "replicationcontrollers/scale", "secrets", "serviceaccounts", "services",
                                "services/proxy"]),
            _rule(["create"], [""], ["serviceaccounts/token"]),
            _rule(WRITE, ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale",
                                    "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"]),
            _rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
            _rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
            _rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
            _rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
            _rule(READ_WRITE, ["coordination.k8s.io"], ["leases"])]},
        {"name": "system:aggregate-to-view", "labels": {f"{GROUP}/aggregate-to-view": "true"}, "rules": [
            _rule(READ, [""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
                               "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                               "services", "services/status"]),
            _rule(READ, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                               "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"]),
            _rule(READ, [""], ["namespaces"]),
            _rule(READ, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
                                   "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
                                   "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"]),
            _rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
            _rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
            _rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
            _rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
            _rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"])]},
    ]


def _metadata(name: str, labels: dict[str, str] | None = None) -> dict:
    return {"name": name, "labels": {**(labels or {}), **BOOTSTRAP_LABEL}, "annotations": {AUTOUPDATE: "true"}}


def bootstrap_cluster_roles() -> list[dict]:
    out = []
    for spec in _cluster_roles():
        role: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "ClusterRole",
                                "metadata": _metadata(spec["name"], spec.get("labels"))}
        if "aggregationRule" in spec:
            role["aggregationRule"] = spec["aggregationRule"]
        role["rules"] = spec.get("rules", [])  # an aggregated role's are filled in by the aggregation controller
        out.append(role)
    return out


def bootstrap_cluster_role_bindings() -> list[dict]:
    """cluster-admin for system:masters; discovery, basic-user and public-info-viewer for everyone signed in
    (public-info-viewer for the unauthenticated too)."""
    groups = {"cluster-admin": ["system:masters"], "system:discovery": ["system:authenticated"],
              "system:basic-user": ["system:authenticated"],
              "system:public-info-viewer": ["system:authenticated", "system:unauthenticated"]}
    return [{"apiVersion": API_VERSION, "kind": "ClusterRoleBinding", "metadata": _metadata(name),
             "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
             "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in subjects]}
            for name, subjects in groups.items()]
