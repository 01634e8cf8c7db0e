"""The API server's discovery (control/apiserver/discovery.py) and /version (control/version.py), against what a
real kube-apiserver v1.32 serves for the same kinds (kubernetes/kubernetes api/discovery/*.json)."""

from __future__ import annotations

import platform

import pytest

from control import errors, version
from control.api import kinds, meta
from control.apiserver import authz, discovery


def _listed(gv: str) -> dict[str, dict]:
    return {r["name"]: r for r in discovery.resource_list(gv)["resources"]}


def test_the_pod_subresources_kube_tui_serves_are_listed_as_kube_apiserver_lists_them() -> None:
    core = _listed("v1")
    assert {n: (r["kind"], r["verbs"]) for n, r in core.items() if n.startswith("pods/")} == {
        "pods/attach": ("PodAttachOptions", ["create", "get"]),
        "pods/ephemeralcontainers": ("Pod", ["get", "patch", "update"]),
        "pods/eviction": ("Eviction", ["create"]),
        "pods/exec": ("PodExecOptions", ["create", "get"]),
        "pods/log": ("Pod", ["get"]),
        "pods/portforward": ("PodPortForwardOptions", ["create", "get"]),
        "pods/proxy": ("PodProxyOptions", ["create", "delete", "get", "patch", "update"]),
        "pods/status": ("Pod", ["get", "patch", "update"]),
    }
    assert (core["pods/eviction"]["group"], core["pods/eviction"]["version"]) == ("policy", "v1")
    assert core["services/proxy"]["kind"] == "ServiceProxyOptions" and core["services/proxy"]["singularName"] == ""
    names = [r["name"] for r in discovery.resource_list("v1")["resources"]]
    assert names == sorted(names)  # kube-apiserver's order: by name, a subresource after its resource


# Short names and categories of these kinds in a real v1.32 cluster's discovery
REAL = {
    "configmaps": (["cm"], []), "endpoints": (["ep"], []), "endpointslices": ([], []), "events": (["ev"], []), "namespaces": (["ns"], []),
    "nodes": (["no"], []), "pods": (["po"], ["all"]), "secrets": ([], []), "serviceaccounts": (["sa"], []), "services": (["svc"], ["all"]),
    "controllerrevisions": ([], []), "daemonsets": (["ds"], ["all"]), "deployments": (["deploy"], ["all"]),
    "replicasets": (["rs"], ["all"]), "statefulsets": (["sts"], ["all"]), "horizontalpodautoscalers": (["hpa"], ["all"]),
    "cronjobs": (["cj"], ["all"]), "jobs": ([], ["all"]), "leases": ([], []), "poddisruptionbudgets": (["pdb"], []),
    "priorityclasses": (["pc"], []), "persistentvolumes": (["pv"], []), "persistentvolumeclaims": (["pvc"], []),
    "resourcequotas": (["quota"], []), "limitranges": (["limits"], []),
    "storageclasses": (["sc"], []), "ingresses": (["ing"], []), "ingressclasses": ([], []),
    "roles": ([], []), "clusterroles": ([], []), "rolebindings": ([], []), "clusterrolebindings": ([], []),
    "certificatesigningrequests": (["csr"], []),
}


def test_short_names_categories_and_verbs_are_a_real_clusters() -> None:
    seen = {}
    for info in kinds.KINDS.values():
        r = _listed(info.api_version)[info.resource]
        seen[info.resource] = (r.get("shortNames", []), r.get("categories", []))
        assert r["singularName"] == info.kind.lower() and r["namespaced"] == info.namespaced
        # what a real cluster serves less deletecollection, which kube-tui does not serve
        assert r["verbs"] == ["create", "delete", "get", "list", "patch", "update", "watch"]
    assert seen == REAL


def test_the_document_has_every_group_version_and_the_version() -> None:
    doc = discovery.document("https://127.0.0.1:6443")
    gvs = [rl["groupVersion"] for rl in doc["resourceLists"]]
    assert gvs[0] == "v1" and set(gvs[1:]) == {v["groupVersion"] for g in doc["groups"] for v in g["versions"]}
    autoscaling = next(g for g in doc["groups"] if g["name"] == "autoscaling")
    assert autoscaling["preferredVersion"]["version"] == "v2" and len(autoscaling["versions"]) == 2
    assert doc["restAddress"] == "https://127.0.0.1:6443" and doc["version"] == version.kubernetes()


def test_version_is_a_version_info_in_its_field_order() -> None:
    v = version.kubernetes()
    assert list(v) == ["major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
                       "compiler", "platform"]
    assert (v["major"], v["minor"], v["gitVersion"]) == ("1", "30", meta.KUBE_VERSION)
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    assert v["platform"] == f"linux/{arch}" and v["goVersion"] == f"python{platform.python_version()}"
    own = version.kube_tui()
    assert own["gitVersion"].startswith("v0.") and own["major"] == "0"


def test_every_authenticated_user_may_discover_but_a_join_token_may_not() -> None:
    authz.authorize("system:node:n1", "discovery", {}, None)  # type: ignore[arg-type]  # the api is not consulted
    with pytest.raises(errors.ApiError) as e:
        authz.authorize("system:bootstrap:abc123", "discovery", {}, None)  # type: ignore[arg-type]
    assert e.value.code == 403
