"""RBAC with a real control plane: the bootstrap policy, a user allowed by a Role and refused without it over
the REST API (as kubectl --as sends it), impersonation allowed for the admin only, escalation refused, and
kube-tui --as over the native API."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from control import config
from control.plane import ControlPlane
from tests.conftest import running_plane
from tests.helpers import KUBECTL_132, run_cli, wait_for
from tests.integration.test_rest import admin_session, call

READER = "system:serviceaccount:default:reader"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
AS_READER = {"Impersonate-User": READER}


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    # controllers: the ClusterRole aggregation controller fills in admin, edit and view
    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0", controllers=True) as p:
        yield p


@pytest.fixture
async def http(plane: ControlPlane) -> AsyncIterator[aiohttp.ClientSession]:
    async with admin_session(plane) as s:
        yield s


async def test_bootstrap_policy(http: aiohttp.ClientSession) -> None:
    _, roles = await call(http, "GET", f"{RBAC}/clusterroles")
    by_name = {r["metadata"]["name"]: r for r in roles["items"]}
    assert {"cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user",
            "system:public-info-viewer"} <= set(by_name)
    for role in by_name.values():
        assert role["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert role["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] == "true"
    assert by_name["cluster-admin"]["rules"][0] == {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}

    async def aggregated(name: str) -> list[dict]:
        return (await call(http, "GET", f"{RBAC}/clusterroles/{name}"))[1].get("rules") or []

    # view's rules come from system:aggregate-to-view; edit's from view's and aggregate-to-edit's
    view = await wait_for(lambda: aggregated("view"), what="view's aggregated rules")
    assert {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["namespaces"]} in view

    async def edit_holds_view() -> bool:
        edit = await aggregated("edit")
        return bool(edit) and all(r in edit for r in view)

    await wait_for(edit_holds_view, what="edit to aggregate view's rules too")
    _, bindings = await call(http, "GET", f"{RBAC}/clusterrolebindings")
    subjects = {b["metadata"]["name"]: [s["name"] for s in b["subjects"]] for b in bindings["items"]}
    assert subjects["cluster-admin"] == ["system:masters"]
    assert subjects["system:basic-user"] == ["system:authenticated"]
    assert subjects["system:public-info-viewer"] == ["system:authenticated", "system:unauthenticated"]


async def test_a_user_allowed_by_a_role_then_refused(http: aiohttp.ClientSession) -> None:
    pods = "/api/v1/namespaces/default/pods"
    code, status = await call(http, "GET", pods, **AS_READER)
    assert code == 403 and status["reason"] == "Forbidden"
    assert status["message"] == (f'pods is forbidden: User "{READER}" cannot list resource "pods" in API group "" '
                                 'in the namespace "default"')
    assert status["details"] == {"kind": "pods"}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-reader"},
            "rules": [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]}]}
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/roles", role))[0] == 201
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "read-pods"},
               "roleRef": {"kind": "Role", "name": "pod-reader"},
               "subjects": [{"kind": "ServiceAccount", "name": "reader"}]}  # namespace: the binding's
    code, created = await call(http, "POST", f"{RBAC}/namespaces/default/rolebindings", binding)
    assert code == 201 and created["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert (await call(http, "GET", pods, **AS_READER))[0] == 200
    # only what the role grants: not another namespace, not another resource, not a write
    code, status = await call(http, "GET", "/api/v1/namespaces/kube-system/pods", **AS_READER)
    assert code == 403 and 'in the namespace "kube-system"' in status["message"]
    code, status = await call(http, "GET", "/apis/apps/v1/namespaces/default/deployments", **AS_READER)
    assert code == 403 and status["message"] == (
        f'deployments.apps is forbidden: User "{READER}" cannot list resource "deployments" in API group "apps" '
        'in the namespace "default"')
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    assert (await call(http, "POST", pods, pod, **AS_READER))[0] == 403
    # kubectl auth can-i list pods --as ...: yes, and why; can-i delete: no
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "default"}}}
    _, out = await call(http, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, **AS_READER)
    assert out["status"] == {"allowed": True, "reason": 'RBAC: allowed by RoleBinding "default/read-pods" of Role '
                                                        '"pod-reader" to ServiceAccount "default/reader"'}
    review["spec"]["resourceAttributes"]["verb"] = "delete"
    _, out = await call(http, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, **AS_READER)
    assert out["status"] == {"allowed": False}
    _, me = await call(http, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                       {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, **AS_READER)
    assert me["status"]["userInfo"] == {"username": READER, "groups": [
        "system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]}
    # the binding gone, the right is gone
    assert (await call(http, "DELETE", f"{RBAC}/namespaces/default/rolebindings/read-pods"))[0] == 200
    assert (await call(http, "GET", pods, **AS_READER))[0] == 403
    # a binding to a role that is not there says so in the refusal (RBAC's resolution errors)
    binding["roleRef"] = {"kind": "Role", "name": "gone"}
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/rolebindings", binding))[0] == 201
    code, status = await call(http, "GET", pods, **AS_READER)
    assert code == 403 and status["message"].endswith(': RBAC: role.rbac.authorization.k8s.io "gone" not found')


async def test_impersonation_is_refused_without_the_impersonate_verb(plane: ControlPlane,
                                                                    http: aiohttp.ClientSession) -> None:
    assert plane.credentials is not None
    node = plane.credentials.node_credential("n1")
    code, status = await call(http, "GET", "/api/v1/namespaces/default/pods", Authorization=f"Bearer {node}",
                              **{"Impersonate-User": "jane"})
    assert code == 403 and status["message"] == ('users "jane" is forbidden: User "system:node:n1" cannot impersonate '
                                                 'resource "users" in API group "" at the cluster scope')
    code, status = await call(http, "GET", "/api/v1/namespaces/default/pods", Authorization=f"Bearer {node}",
                              **AS_READER)
    assert code == 403 and status["message"] == (
        'serviceaccounts "reader" is forbidden: User "system:node:n1" cannot impersonate resource "serviceaccounts" '
        'in API group "" in the namespace "default"')
    # the edit role grants impersonating ServiceAccounts: jane, an editor of default, may act as reader there
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "jane-edit"},
               "roleRef": {"kind": "ClusterRole", "name": "edit"}, "subjects": [{"kind": "User", "name": "jane"}]}
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/rolebindings", binding))[0] == 201

    async def jane_may() -> bool:
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {
            "resourceAttributes": {"verb": "impersonate", "resource": "serviceaccounts", "namespace": "default"}}}
        out = (await call(http, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review,
                          **{"Impersonate-User": "jane"}))[1]
        return bool(out["status"]["allowed"])

    await wait_for(jane_may, what="edit's aggregated rules")
    code, me = await call(http, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                          {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                          **{"Impersonate-User": "jane"})
    assert code == 201 and me["status"]["userInfo"]["username"] == "jane"


async def test_a_user_may_not_grant_what_they_do_not_hold(http: aiohttp.ClientSession) -> None:
    """RBAC's escalation check: jane, who may write Roles in default, may grant what she holds, no more."""
    manager = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "role-manager"},
               "rules": [{"verbs": ["create", "get"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]},
                         {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]}
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/roles", manager))[0] == 201
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "jane"},
               "roleRef": {"kind": "Role", "name": "role-manager"}, "subjects": [{"kind": "User", "name": "jane"}]}
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/rolebindings", binding))[0] == 201
    jane = {"Impersonate-User": "jane"}
    held = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pods"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/roles", held, **jane))[0] == 201
    more = dict(held, metadata={"name": "secrets"},
                rules=[{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets", "pods"]}])
    code, status = await call(http, "POST", f"{RBAC}/namespaces/default/roles", more, **jane)
    assert code == 403 and status["message"] == (
        'roles.rbac.authorization.k8s.io "secrets" is forbidden: user "jane" (groups=["system:authenticated"]) is '
        'attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}')
    # with `escalate` on roles she may grant it after all (kube-apiserver's RoleEscalationAuthorized)
    escalate = dict(manager, metadata={"name": "escalator"},
                    rules=[{"verbs": ["escalate"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]}])
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/roles", escalate))[0] == 201
    binding = dict(binding, metadata={"name": "jane-escalates"}, roleRef={"kind": "Role", "name": "escalator"})
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/rolebindings", binding))[0] == 201
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/roles", more, **jane))[0] == 201


async def test_kube_tui_as_over_the_native_api(plane: ControlPlane, tmp_path: Path) -> None:
    assert plane.server is not None and plane.credentials is not None
    env = {"KUBE_TUI_SERVER": plane.server.address, "KUBE_TUI_TOKEN": plane.credentials.admin}
    home = tmp_path / "home"

    def cli(*args: str) -> tuple[int, str]:
        r = run_cli(list(args), home, **env)
        return r.returncode, r.stdout + r.stderr

    code, out = await asyncio.to_thread(cli, "get", "pods", "--as", READER)
    assert code == 1 and out.strip() == (f'Error from server (Forbidden): pods is forbidden: User "{READER}" cannot '
                                         'list resource "pods" in API group "" in the namespace "default"'), out
    code, out = await asyncio.to_thread(cli, "create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
    assert (code, out.strip()) == (0, "role.rbac.authorization.k8s.io/pod-reader created"), out
    code, out = await asyncio.to_thread(cli, "create", "rolebinding", "read-pods", "--role=pod-reader",
                                        "--serviceaccount=default:reader")
    assert code == 0, out
    code, out = await asyncio.to_thread(cli, "get", "pods", "--as", READER)
    assert code == 0 and "No resources found" in out, out
    # kube-tui auth, as kubectl auth prints it
    assert await asyncio.to_thread(cli, "auth", "can-i", "list", "pods", "--as", READER) == (0, "yes\n")
    assert await asyncio.to_thread(cli, "auth", "can-i", "delete", "pods", "--as", READER) == (1, "no\n")
    assert await asyncio.to_thread(cli, "auth", "can-i", "list", "pods", "-n", "kube-system", "--as", READER) == (1, "no\n")
    code, out = await asyncio.to_thread(cli, "auth", "can-i", "--list", "--as", READER)
    assert code == 0 and "pods                                            []                  []               [get list]" in out, out
    code, out = await asyncio.to_thread(cli, "auth", "whoami", "--as", READER)
    assert out == (f"ATTRIBUTE   VALUE\nUsername    {READER}\n"
                   "Groups      [system:serviceaccounts system:serviceaccounts:default system:authenticated]\n"), out
    code, out = await asyncio.to_thread(cli, "get", "nodes", "--as", "jane", "--as-group", "system:masters")
    assert code == 0, out
    # a node's credential may not impersonate
    env["KUBE_TUI_TOKEN"] = plane.credentials.node_credential("n1")
    code, out = await asyncio.to_thread(cli, "get", "pods", "--as", "admin")
    assert code == 1 and 'users "admin" is forbidden: User "system:node:n1" cannot impersonate' in out, out


@pytest.mark.skipif(not KUBECTL_132.exists(), reason="no kubectl v1.32 on this machine")
async def test_kubectl_auth_can_i_as_a_serviceaccount(plane: ControlPlane) -> None:
    assert plane.credentials is not None
    kubeconfig = config.write_kubeconfig(plane.rest.address, plane.credentials.admin, plane.rest.ca_pem)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(KUBECTL_132), "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True,
                              timeout=60)

    r = await asyncio.to_thread(run, "auth", "can-i", "list", "pods", f"--as={READER}")
    assert (r.stdout.strip(), r.returncode) == ("no", 1), r.stderr
    r = await asyncio.to_thread(run, "create", "rolebinding", "view", "--clusterrole=view", "--serviceaccount=default:reader")
    assert r.returncode == 0, r.stderr
    await wait_for(lambda: asyncio.to_thread(lambda: run("auth", "can-i", "list", "pods", f"--as={READER}").returncode == 0),
                   what="view's aggregated rules")
    r = await asyncio.to_thread(run, "auth", "can-i", "delete", "pods", f"--as={READER}")
    assert (r.stdout.strip(), r.returncode) == ("no", 1), r.stderr
    r = await asyncio.to_thread(run, "auth", "can-i", "--list", f"--as={READER}")
    assert r.returncode == 0 and "selfsubjectaccessreviews.authorization.k8s.io" in r.stdout, r.stderr
    assert "pods " in r.stdout and "[get list watch]" in r.stdout


def test_the_dashboard_lists_roles_and_bindings_as_kubectl_does() -> None:
    from tui.app import MORE_VIEWS
    from tui.model import WATCHED_KINDS, ClusterModel
    from tui.views.rows import spec_for

    for view, kind in (("roles", "Role"), ("clusterroles", "ClusterRole"), ("rolebindings", "RoleBinding"),
                       ("clusterrolebindings", "ClusterRoleBinding")):
        assert kind in WATCHED_KINDS and (view, kind) in [v[:2] for v in MORE_VIEWS]
    model = ClusterModel(None, watch=False)
    binding = {"metadata": {"name": "read-pods", "namespace": "default", "creationTimestamp": "2026-11-28T00:00:00Z"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"}}
    spec = spec_for("RoleBinding")
    assert [c.label for c in spec.columns] == ["NAMESPACE", "NAME", "ROLE", "AGE"]
    assert spec.row(binding, model)[:3] == ("default", "read-pods", "Role/pod-reader")
    role = {"metadata": {"name": "view", "creationTimestamp": "2026-11-28T00:00:00Z"}}
    assert spec_for("ClusterRole").row(role, model) == ("", "view", "2026-11-28T00:00:00Z")


async def test_subject_access_review(plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    """SubjectAccessReview: the admin asks whether another user may; the user as given, groups and all."""
    sar = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
        "user": "jane", "groups": ["system:masters"],
        "resourceAttributes": {"verb": "delete", "resource": "nodes"}}}
    code, out = await call(http, "POST", sar, review)
    assert code == 201 and out["kind"] == "SubjectAccessReview" and out["status"]["allowed"] is True
    review["spec"]["groups"] = []
    assert (await call(http, "POST", sar, review))[1]["status"] == {"allowed": False}
    code, status = await call(http, "POST", sar, {"spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}})
    assert code == 422 and status["message"] == ('SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: '
                                                 'Invalid value: "": at least one of user or group must be specified')
    code, status = await call(http, "POST", sar, review, **{"Impersonate-User": "jane"})  # jane may not ask
    assert code == 403 and status["message"] == (
        'subjectaccessreviews.authorization.k8s.io is forbidden: User "jane" cannot create resource '
        '"subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope')


async def test_watch_topics_need_a_cluster_wide_watch(plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    """A subscription to a kind's topic (every namespace's objects) over the native API: RBAC's watch of it at
    the cluster scope, as a ClusterRoleBinding of view grants; a RoleBinding in one namespace is not enough."""
    from control.apiserver import authz

    api = plane.server.api if plane.server is not None else None
    assert api is not None
    assert not authz.may_watch(READER, b"pods\x00", api)
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "v"},
               "roleRef": {"kind": "ClusterRole", "name": "view"},
               "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}]}
    assert (await call(http, "POST", f"{RBAC}/namespaces/default/rolebindings", binding))[0] == 201
    assert not authz.may_watch(READER, b"pods\x00", api)
    binding["kind"] = "ClusterRoleBinding"
    assert (await call(http, "POST", f"{RBAC}/clusterrolebindings", binding))[0] == 201
    await wait_for(lambda: authz.may_watch(READER, b"pods\x00", api), what="view's aggregated rules")
    assert not authz.may_watch(READER, b"secrets\x00", api) and not authz.may_watch(READER, b"raw\x00", api)
