"""Discovery: which group versions and resources the API server serves, in kube-apiserver's shapes (APIGroupList,
APIResourceList). The REST API serves them at /api, /apis and /api(s)/GROUP/VERSION for kubectl; the ZeroMQ API
gives all of it at once (the `discovery` verb) to `kube-tui api-resources | api-versions | version | cluster-info`.
Built from the kind registry (control/api/kinds.py), so a kind added there is discovered."""

from __future__ import annotations

from typing import Any

from control import version
from control.api import horizontalpodautoscaler as hpas
from control.api import kinds
from control.api.kinds import KindInfo
from control.apiserver import rest_auth, rest_metrics

# What every kind's resource serves (not deletecollection: kube-tui does not serve it, so it is not claimed)
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet")
WITH_STATUS = ("Pod", "Node", "Namespace", "Service", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "CronJob",
               "PodDisruptionBudget", "HorizontalPodAutoscaler", "PersistentVolume", "PersistentVolumeClaim",
               "ResourceQuota", "Ingress", "CertificateSigningRequest")
# Older versions a kind is also served in, converted to and from the stored one (kubectl autoscale v1.32 creates
# an autoscaling/v1 HorizontalPodAutoscaler); discovery prefers the stored version.
OTHER_VERSIONS: dict[str, tuple[str, ...]] = {hpas.V1: ("HorizontalPodAutoscaler",)}
# Subresources served beside a kind's own (rest.py, rest_exec.py, rest_portforward.py, rest_proxy.py), as
# kube-apiserver lists them: (kind, name, the kind they take, verbs, group/version when not the kind's own)
_PROXY_VERBS = ["create", "delete", "get", "patch", "update"]
_SUBRESOURCES: list[tuple[str, str, str, list[str], str]] = [
    ("Pod", "attach", "PodAttachOptions", ["create", "get"], ""),
    # kubectl debug adds its container here (it says "ephemeral containers are disabled" without it)
    ("Pod", "ephemeralcontainers", "Pod", ["get", "patch", "update"], ""),
    ("Pod", "eviction", "Eviction", ["create"], "policy/v1"),  # kubectl drain evicts (instead of deleting) when listed
    ("Pod", "exec", "PodExecOptions", ["create", "get"], ""),
    ("Pod", "log", "Pod", ["get"], ""),
    ("Pod", "portforward", "PodPortForwardOptions", ["create", "get"], ""),
    ("Pod", "proxy", "PodProxyOptions", _PROXY_VERBS, ""),
    ("Service", "proxy", "ServiceProxyOptions", _PROXY_VERBS, ""),
    # kubectl certificate approve|deny: PUT .../certificatesigningrequests/NAME/approval
    ("CertificateSigningRequest", "approval", "CertificateSigningRequest", ["get", "patch", "update"], ""),
    ("ServiceAccount", "token", "TokenRequest", ["create"], "authentication.k8s.io/v1"),
]


def group_versions() -> dict[str, list[KindInfo]]:
    """Each group version of the kinds (the stored version first), with its kinds."""
    out: dict[str, list[KindInfo]] = {}
    for info in kinds.KINDS.values():
        out.setdefault(info.api_version, []).append(info)
    for gv, names in OTHER_VERSIONS.items():
        out.setdefault(gv, []).extend(kinds.KINDS[k] for k in names)
    return out


def resource_list(api_version: str) -> dict:
    """APIResourceList: what kubectl's discovery learns about one group version of the kinds, sorted by name
    as kube-apiserver sorts it (a subresource after its resource)."""
    resources: list[dict] = []

    def sub(info: KindInfo, name: str, kind: str, verbs: list[str], gv: str = "") -> None:
        entry: dict[str, Any] = {"name": f"{info.resource}/{name}", "singularName": "", "namespaced": info.namespaced}
        if gv:
            entry["group"], entry["version"] = gv.rpartition("/")[0], gv.rpartition("/")[2]
        resources.append({**entry, "kind": kind, "verbs": verbs})

    for info in group_versions().get(api_version, []):
        entry: dict[str, Any] = {"name": info.resource, "singularName": info.singular, "namespaced": info.namespaced,
                                 "kind": info.kind, "verbs": VERBS}
        if info.short_names:
            entry["shortNames"] = list(info.short_names)
        if info.categories:
            entry["categories"] = list(info.categories)
        resources.append(entry)
        if info.kind in WITH_STATUS:
            sub(info, "status", info.kind, ["get", "patch", "update"])
        if info.kind in SCALABLE:
            sub(info, "scale", "Scale", ["get", "patch", "update"], "autoscaling/v1")
        for kind, name, takes, verbs, gv in _SUBRESOURCES:
            if kind == info.kind:
                sub(info, name, takes, verbs, gv)
    resources.sort(key=lambda r: r["name"])
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": resources}


def group_list() -> dict:
    """APIGroupList (/apis): every named group, its versions and the preferred one."""
    groups: dict[str, dict] = {}
    for gv in group_versions():
        if "/" not in gv:
            continue
        group, ver = gv.split("/")
        entry = {"groupVersion": gv, "version": ver}
        if group in groups:  # a second version of a group: the stored one came first and stays preferred
            groups[group]["versions"].append(entry)
        else:
            groups[group] = {"name": group, "versions": [entry], "preferredVersion": entry}
    groups_list = list(groups.values())
    metrics = {"groupVersion": rest_metrics.GROUP_VERSION, "version": "v1beta1"}  # rest_metrics.py: kubectl top
    groups_list.append({"name": "metrics.k8s.io", "versions": [metrics], "preferredVersion": metrics})
    groups_list.extend(rest_auth.groups())  # kubectl auth whoami | can-i
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups_list}


def resource_lists() -> list[dict]:
    """Every group version's APIResourceList: the core group's first, then in /apis's order."""
    others = {rest_metrics.GROUP_VERSION: rest_metrics.resource_list(), **rest_auth.resource_lists()}
    gvs = ["v1", *(v["groupVersion"] for g in group_list()["groups"] for v in g["versions"])]
    return [others[gv] if gv in others else resource_list(gv) for gv in gvs]


def document(rest_address: str) -> dict:
    """All of discovery at once (the ZeroMQ `discovery` verb): the Kubernetes version (/version), the named
    groups (/apis; the core group, /api, is v1 alone), each group version's resources, and where the REST API for
    kubectl is served ("" when it is not)."""
    return {"version": version.kubernetes(), "groups": group_list()["groups"], "resourceLists": resource_lists(),
            "restAddress": rest_address}
