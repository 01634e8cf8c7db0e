"""kubectl create role | clusterrole | rolebinding | clusterrolebinding: the objects its flags make, with its
checks and errors in its words (kubectl/pkg/cmd/create/create_role.go, create_clusterrole.go,
create_rolebinding.go, create_clusterrolebinding.go)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from control.api import kinds
from control.api.rbac import API_VERSION, GROUP
from control.errors import ApiError

RESOURCE_VERBS = ("*", "get", "delete", "list", "create", "update", "patch", "watch", "proxy", "deletecollection",
                  "use", "bind", "escalate", "impersonate")
NON_RESOURCE_VERBS = ("*", "get", "post", "put", "delete", "patch", "head", "options")
# verbs that apply to a few resources only (specialVerbs)
SPECIAL_VERBS = {"use": (("policy", "podsecuritypolicies"), ("extensions", "podsecuritypolicies")),
                 "bind": ((GROUP, "roles"), (GROUP, "clusterroles")),
                 "escalate": ((GROUP, "roles"), (GROUP, "clusterroles")),
                 "impersonate": (("", "users"), ("", "serviceaccounts"), ("", "groups"),
                                 ("authentication.k8s.io", "userextras"))}
# resources a user may name though kube-tui serves no kind for them: those the special verbs are for
_NOT_KINDS = {"users": "", "groups": "", "userextras": "authentication.k8s.io", "podsecuritypolicies": "policy"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verb", action="append", default=[], help="role, clusterrole: verbs the rule allows (comma-separated or repeated)")
    p.add_argument("--resource", action="append", default=[], metavar="RESOURCE[.GROUP][/SUB]",
                   help="role, clusterrole: resources the rule applies to (comma-separated or repeated)")
    p.add_argument("--resource-name", action="append", default=[],
                   help="role, clusterrole: a resource name the rule is limited to (repeated for more)")
    p.add_argument("--non-resource-url", action="append", default=[], help="clusterrole: URL paths the rule allows")
    p.add_argument("--aggregation-rule", default="", metavar="KEY=VALUE,...",
                   help="clusterrole: aggregate the rules of the ClusterRoles with these labels")
    p.add_argument("--role", default="", help="rolebinding: the Role it grants")
    p.add_argument("--clusterrole", default="", help="rolebinding, clusterrolebinding: the ClusterRole it grants")
    p.add_argument("--user", action="append", default=[], help="rolebinding, clusterrolebinding: users to bind")
    p.add_argument("--group", action="append", default=[], help="rolebinding, clusterrolebinding: groups to bind")
    p.add_argument("--serviceaccount", action="append", default=[], metavar="NAMESPACE:NAME",
                   help="rolebinding, clusterrolebinding: ServiceAccounts to bind")


def _split(values: list[str]) -> list[str]:
    return [v for value in values for v in value.split(",")]


def _verbs(args: argparse.Namespace) -> list[str]:
    out: list[str] = []
    for v in _split(args.verb):
        if v == "*":
            return ["*"]
        if v not in out:
            out.append(v)
    return out


def _resources(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """Each --resource as (resource, group, subresource); "*" alone stands for every resource."""
    out = []
    for r in _split(args.resource):
        base, _, sub = r.partition("/")
        resource, _, group = base.partition(".")
        if resource == "*" and not group and not sub:
            return [("*", "", "")]
        out.append((resource, group, sub))
    return out


def _resolve(resource: str, group: str) -> tuple[str, str]:
    """The RESTMapper's ResourceFor: a short or singular name to its resource and group."""
    if resource in _NOT_KINDS and group in ("", _NOT_KINDS[resource]):
        return resource, _NOT_KINDS[resource]
    try:
        info = kinds.lookup(f"{resource}.{group}" if group else resource)
    except ApiError:
        raise ValueError(f'the server doesn\'t have a resource type "{resource}"') from None
    return info.resource, info.group


def _check_resources(resources: list[tuple[str, str, str]], verbs: list[str]) -> None:
    for resource, group, _sub in resources:
        if not resource:
            raise ValueError("error: resource must be specified if apiGroup/subresource specified")
        if resource == "*":
            return
        name, grp = _resolve(resource, group)
        for v in verbs:
            if v in SPECIAL_VERBS and (grp, name) not in SPECIAL_VERBS[v]:
                raise ValueError(f"error: can not perform '{v}' on '{name}' in group '{grp}'")


def _rules(resources: list[tuple[str, str, str]], verbs: list[str], names: list[str]) -> list[dict[str, Any]]:
    """One rule per API group (sorted), its resources in the order given."""
    by_group: dict[str, list[str]] = {}
    for resource, group, sub in resources:
        if resource != "*":
            resource, group = _resolve(resource, group)
        full = f"{resource}/{sub}" if sub else resource
        if full not in by_group.setdefault(group, []):
            by_group[group].append(full)
    rules = []
    for group in sorted(by_group):
        rule: dict[str, Any] = {"apiGroups": [group], "resources": by_group[group], "verbs": verbs}
        if names:
            rule["resourceNames"] = names
        rules.append(rule)
    return rules


def role_for(args: argparse.Namespace, cluster: bool) -> dict[str, Any]:
    verbs, resources, names = _verbs(args), _resources(args), list(args.resource_name)
    urls = _split(args.non_resource_url) if cluster else []
    obj: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "ClusterRole" if cluster else "Role",
                           "metadata": {"name": args.name}}
    if cluster and args.aggregation_rule:
        if urls or verbs or resources or names:
            raise ValueError("error: aggregation rule must be specified without nonResourceURLs, verbs, resources "
                             "or resourceNames")
        labels = dict(pair.partition("=")[::2] for pair in args.aggregation_rule.split(","))
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": labels}]}
        obj["rules"] = None  # kubectl's typed object: rules is not omitempty (the aggregation controller fills it)
        return obj
    if not verbs:
        raise ValueError("error: at least one verb must be specified")
    if not cluster and not resources:
        raise ValueError("error: at least one resource must be specified")
    if cluster and not resources and not urls:
        raise ValueError("error: one of resource or nonResourceURL must be specified")
    if resources:
        for v in verbs:
            if v not in RESOURCE_VERBS:  # kubectl warns, and makes the role
                print(f"Warning: '{v}' is not a standard resource verb", file=sys.stderr)
        _check_resources(resources, verbs)
    for url in urls:
        if url == "*":
            continue
        if not url.startswith("/"):
            raise ValueError("error: nonResourceURL should start with /")
        if "*" in url[:-1]:
            raise ValueError("error: nonResourceURL only supports wildcard matches when '*' is at the end")
    if urls:
        bad = next((v for v in verbs if v not in NON_RESOURCE_VERBS), None)
        if bad is not None:
            raise ValueError(f"error: invalid verb: '{bad}' for nonResourceURL")
    rules = _rules(resources, verbs, names) if resources else []
    if urls:
        rules.append({"nonResourceURLs": urls, "verbs": verbs})
    obj["rules"] = rules
    return obj


def binding_for(args: argparse.Namespace, cluster: bool) -> dict[str, Any]:
    if cluster:
        if not args.clusterrole:
            raise ValueError('error: required flag(s) "clusterrole" not set')
        if args.role:
            raise ValueError("error: unknown flag: --role\nSee 'kube-tui create clusterrolebinding --help' for usage.")
    elif bool(args.clusterrole) == bool(args.role):
        raise ValueError("error: exactly one of clusterrole or role must be specified")
    # --user, --group and --serviceaccount are kubectl's StringArrays: a comma is part of the name
    subjects: list[dict[str, str]] = [{"apiGroup": GROUP, "kind": "User", "name": u} for u in args.user]
    subjects += [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in args.group]
    for sa in args.serviceaccount:
        ns, sep, name = sa.partition(":")
        if not sep or not name or ":" in name:
            raise ValueError("error: serviceaccount must be <namespace>:<name>")
        subjects.append({"kind": "ServiceAccount", "name": name, "namespace": ns})
    obj: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "ClusterRoleBinding" if cluster else "RoleBinding",
                           "metadata": {"name": args.name},
                           "roleRef": {"apiGroup": GROUP, "kind": "Role" if args.role else "ClusterRole",
                                       "name": args.role or args.clusterrole}}
    if subjects:
        obj["subjects"] = subjects
    return obj
