"""RBAC's pure parts: validation in kube-apiserver's words, rule matching, who a binding names, the groups of a
username, impersonation, escalation coverage, kubectl's describe compaction and create flags."""

from __future__ import annotations

import argparse

import pytest

from control.api import rbac
from control.api.defaults import apply_defaults
from control.api.rbac import Attributes
from control.api.validation import validate
from control.apiserver.identity import User, groups_of, impersonate
from control.errors import ApiError
from tui.commands import create_rbac
from tui.printers.describers.rbac import breakdown, compact

G = rbac.GROUP


def _errors(obj: dict, old: dict | None = None) -> list[str]:
    apply_defaults(obj)
    return [str(e) for e in validate(obj, old)[0]]


def _role(kind: str = "Role", **fields: object) -> dict:
    md = {"name": "r", "namespace": "default"} if kind in ("Role", "RoleBinding") else {"name": "r"}
    return {"apiVersion": rbac.API_VERSION, "kind": kind, "metadata": md, **fields}


def test_rules_need_verbs_and_groups_and_urls_belong_to_cluster_roles() -> None:
    assert _errors(_role(rules=[{"resources": ["pods"], "apiGroups": [""]}])) == [
        "rules[0].verbs: Required value: verbs must contain at least one value"]
    assert _errors(_role(rules=[{"verbs": ["get"], "resources": ["pods"]}])) == [
        "rules[0].apiGroups: Required value: resource rules must supply at least one api group"]
    assert _errors(_role(rules=[{"verbs": ["get"], "apiGroups": [""]}])) == [
        "rules[0].resources: Required value: resource rules must supply at least one resource"]
    assert _errors(_role(rules=[{"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "services"],
                                 "resourceNames": ["a"]}])) == [
        "rules[0].resourceNames: Required value: resource names cannot apply to multiple resources"]
    assert _errors(_role(rules=[{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}])) == [
        'rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs']
    assert _errors(_role("ClusterRole", rules=[{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}])) == []
    assert _errors(_role("ClusterRole", rules=[{"verbs": ["get"], "nonResourceURLs": ["/a"], "resources": ["pods"]}])) == [
        'rules[0].nonResourceURLs: Invalid value: []string{"/a"}: rules cannot apply to both regular resources and '
        'non-resource URLs']
    # names are path segments: system:discovery is one, a/b is not
    assert _errors(_role("ClusterRole", metadata={"name": "system:x"}, rules=[])) == []
    assert _errors(_role("ClusterRole", metadata={"name": "a/b"}, rules=[])) == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"]
    assert _errors(_role("ClusterRole", aggregationRule={"clusterRoleSelectors": []})) == [
        "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if "
        "aggregationRule is non-nil"]


def test_bindings_role_refs_and_subjects() -> None:
    binding = _role("RoleBinding", roleRef={"kind": "Thing", "name": "a/b"}, subjects=[
        {"kind": "Robot", "name": "r"}, {"kind": "ServiceAccount", "name": "sa", "apiGroup": G},
        {"kind": "User", "name": "u", "apiGroup": "other"}, {"kind": "Group", "name": ""}])
    assert _errors(binding) == [
        'roleRef.kind: Unsupported value: "Thing": supported values: "Role", "ClusterRole"',
        "roleRef.name: Invalid value: \"a/b\": may not contain '/'",
        'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
        'subjects[1].apiGroup: Unsupported value: "rbac.authorization.k8s.io": supported values: ""',
        'subjects[2].apiGroup: Unsupported value: "other": supported values: "rbac.authorization.k8s.io"',
        "subjects[3].name: Required value",
        'subjects[3].name: Invalid value: "": group name cannot be empty']
    assert binding["roleRef"]["apiGroup"] == G  # defaulted, as a User's or Group's apiGroup
    cluster = _role("ClusterRoleBinding", roleRef={"kind": "Role", "name": "x"},
                    subjects=[{"kind": "ServiceAccount", "name": "sa"}])
    assert _errors(cluster) == ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
                                "subjects[0].namespace: Required value"]


def test_role_ref_cannot_change() -> None:
    old = _role("RoleBinding", roleRef={"apiGroup": G, "kind": "Role", "name": "a"}, subjects=[])
    new = _role("RoleBinding", roleRef={"apiGroup": G, "kind": "ClusterRole", "name": "view"}, subjects=[])
    assert _errors(new, old) == ['roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", '
                                 'Kind:"ClusterRole", Name:"view"}: cannot change roleRef']
    assert _errors(dict(old, subjects=[{"kind": "User", "name": "jane"}]), old) == []  # subjects may change


def _allows(rule: dict, **attrs: str) -> bool:
    return rbac.rule_allows(Attributes(**attrs), rule)  # type: ignore[arg-type]


def test_rule_matching() -> None:
    pods = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"]}
    assert _allows(pods, verb="list", resource="pods")
    assert _allows(pods, verb="get", resource="pods", subresource="log", name="web")
    assert not _allows(pods, verb="get", resource="pods", subresource="exec")
    assert not _allows(pods, verb="watch", resource="pods")
    assert not _allows(pods, verb="get", resource="pods", group="apps")
    assert not _allows(pods, verb="get", resource="deployments", group="apps")
    star = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    assert _allows(star, verb="delete", resource="deployments", group="apps", subresource="scale")
    scale = {"verbs": ["update"], "apiGroups": ["apps"], "resources": ["*/scale"]}
    assert _allows(scale, verb="update", resource="deployments", group="apps", subresource="scale")
    assert not _allows(scale, verb="update", resource="deployments", group="apps")
    named = {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]}
    assert _allows(named, verb="get", resource="configmaps", name="cfg")
    assert not _allows(named, verb="get", resource="configmaps", name="other")
    assert not _allows(named, verb="list", resource="configmaps")
    urls = {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}
    assert _allows(urls, verb="get", path="/healthz") and _allows(urls, verb="get", path="/apis/apps/v1")
    assert not _allows(urls, verb="get", path="/api") and not _allows(urls, verb="post", path="/healthz")
    assert not _allows(urls, verb="get", resource="pods")  # a URL rule grants no resource


def test_who_a_binding_names() -> None:
    binding = {"metadata": {"name": "b", "namespace": "team"}, "subjects": [
        {"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"}, {"kind": "ServiceAccount", "name": "bot"}]}
    assert rbac.binds("jane", (), binding) and not rbac.binds("bob", (), binding)
    assert rbac.binds("bob", ("devs",), binding)
    # a ServiceAccount subject without a namespace is the RoleBinding's own namespace's
    assert rbac.binds("system:serviceaccount:team:bot", (), binding)
    assert not rbac.binds("system:serviceaccount:default:bot", (), binding)


def test_groups_of_a_username() -> None:
    assert groups_of("admin") == ("system:masters", "system:authenticated")
    assert groups_of("system:node:n1") == ("system:nodes", "system:authenticated")
    assert groups_of("system:serviceaccount:default:reader") == (
        "system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated")
    assert groups_of("jane") == ("system:authenticated",)
    assert groups_of(User("jane", ["devs"])) == ("devs",)


def test_impersonation_asks_for_each_user_and_group() -> None:
    asked: list[tuple[str, str, str, str]] = []

    def may(resource: str, namespace: str, name: str, verb: str) -> None:
        asked.append((resource, namespace, name, verb))

    me = impersonate("admin", "system:serviceaccount:team:bot", [], may)
    assert me == "system:serviceaccount:team:bot" and asked == [("serviceaccounts", "team", "bot", "impersonate")]
    assert groups_of(me) == ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated")
    asked.clear()
    me = impersonate("admin", "jane", ["devs"], may)
    assert asked == [("users", "", "jane", "impersonate"), ("groups", "", "devs", "impersonate")]
    assert groups_of(me) == ("devs", "system:authenticated")
    assert impersonate("admin", None, [], may) == "admin"
    with pytest.raises(ApiError) as e:
        impersonate("admin", None, ["devs"], may)
    assert e.value.code == 400 and e.value.message == "requested impersonation of groups without impersonating a user"


def test_escalation_coverage() -> None:
    held = [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]}]
    wanted = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    assert all(rbac.covers(held, a) for a in rbac.breakdown(wanted))
    more = {"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]}
    assert [a.verb for a in rbac.breakdown(more) if not rbac.covers(held, a)] == ["delete"]
    # a right on every configmap is not covered by one on a single name; "*" only by "*"
    assert not rbac.covers(held, Attributes(verb="get", resource="configmaps"))
    assert rbac.covers(held, Attributes(verb="get", resource="configmaps", name="cfg"))
    assert not rbac.covers(held, Attributes(verb="*", resource="pods"))


def test_describe_compacts_rules_as_kubectl() -> None:
    rules = [r for rule in ({"verbs": ["get", "list"], "apiGroups": ["", "apps"], "resources": ["pods"]},
                            {"verbs": ["watch"], "apiGroups": [""], "resources": ["pods"]},
                            {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}) for r in breakdown(rule)]
    assert compact(rules) == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["get", "list"]},
        {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]
    # the same right twice (system:masters' and cluster-admin's) is listed once, verbs kept in their order
    twice = [*breakdown({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}),
             *breakdown({"verbs": ["watch", "*"], "apiGroups": ["*"], "resources": ["*"]})]
    assert compact(twice) == [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*", "watch"]}]


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = {"name": "r", "verb": [], "resource": [], "resource_name": [], "non_resource_url": [],
                               "aggregation_rule": "", "role": "", "clusterrole": "", "user": [], "group": [],
                               "serviceaccount": []}
    return argparse.Namespace(**{**base, **kw})


def test_create_role_flags_as_kubectl() -> None:
    role = create_rbac.role_for(_args(verb=["get,list"], resource=["pods,deploy,pods/log"]), cluster=False)
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                             {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}]
    for kw, cluster, message in (
            ({"resource": ["pods"]}, False, "error: at least one verb must be specified"),
            ({"verb": ["get"]}, False, "error: at least one resource must be specified"),
            ({"verb": ["get"]}, True, "error: one of resource or nonResourceURL must be specified"),
            ({"verb": ["get"], "resource": ["widgets"]}, False, 'the server doesn\'t have a resource type "widgets"'),
            ({"verb": ["bind"], "resource": ["pods"]}, False, "error: can not perform 'bind' on 'pods' in group ''"),
            ({"verb": ["get"], "non_resource_url": ["x"]}, True, "error: nonResourceURL should start with /"),
            ({"verb": ["post"], "non_resource_url": ["/a*b"]}, True,
             "error: nonResourceURL only supports wildcard matches when '*' is at the end")):
        with pytest.raises(ValueError) as e:
            create_rbac.role_for(_args(**kw), cluster)
        assert str(e.value) == message
    binding = create_rbac.binding_for(_args(clusterrole="view", user=["a,b"], serviceaccount=["ns:bot"]), False)
    assert binding["subjects"] == [{"apiGroup": G, "kind": "User", "name": "a,b"},
                                   {"kind": "ServiceAccount", "name": "bot", "namespace": "ns"}]
    with pytest.raises(ValueError, match="exactly one of clusterrole or role must be specified"):
        create_rbac.binding_for(_args(), False)
    with pytest.raises(ValueError, match="serviceaccount must be <namespace>:<name>"):
        create_rbac.binding_for(_args(role="r", serviceaccount=["bot"]), False)


def test_requests_as_the_authorizer_sees_them() -> None:
    from control.apiserver.authz import attributes, forbidden

    def attrs(verb: str, **body: object) -> Attributes | None:
        return attributes(verb, body)

    assert attrs("logs", namespace="default", name="web") == Attributes(
        verb="get", resource="pods", subresource="log", name="web", namespace="default")
    assert attrs("exec", namespace="default", name="web") == Attributes(
        verb="create", resource="pods", subresource="exec", name="web", namespace="default")
    assert attrs("list", kind="Deployment", namespace=None) == Attributes(verb="list", resource="deployments",
                                                                          group="apps")
    assert attrs("list", kind="Pod", namespace="default", watch=True).verb == "watch"  # type: ignore[union-attr]
    assert attrs("patch", kind="Deployment", namespace="default", name="web", subresource="scale") == Attributes(
        verb="patch", resource="deployments", group="apps", subresource="scale", name="web", namespace="default")
    created = attrs("create", object={"kind": "Pod", "metadata": {"name": "p", "namespace": "team"}})
    assert created == Attributes(verb="create", resource="pods", namespace="team")  # a create names no object
    assert attrs("get", kind="Namespace", name="team") == Attributes(verb="get", resource="namespaces", name="team",
                                                                     namespace="team")
    assert attrs("range") is None  # the store: system:masters only
    e = forbidden("jane", Attributes(verb="get", resource="pods", subresource="log", name="web", namespace="default"))
    assert e.message == ('pods "web" is forbidden: User "jane" cannot get resource "pods/log" in API group "" in the '
                         'namespace "default"')
    e = forbidden("jane", Attributes(verb="get", path="/logs"))
    assert e.message == 'forbidden: User "jane" cannot get path "/logs"'
