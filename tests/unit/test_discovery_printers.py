"""The printers of `kube-tui api-resources | api-versions | version | cluster-info` (tui/printers/discovery.py):
the texts kubectl v1.32.5 prints for the same discovery, byte for byte."""

from __future__ import annotations

import json

import yaml

from tui.printers import discovery as p

GROUPS = [
    {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
     "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
    # stored (preferred) version first, as kube-tui lists it; a real cluster may list another first
    {"name": "autoscaling", "versions": [{"groupVersion": "autoscaling/v1", "version": "v1"},
                                         {"groupVersion": "autoscaling/v2", "version": "v2"}],
     "preferredVersion": {"groupVersion": "autoscaling/v2", "version": "v2"}},
    {"name": "metrics.k8s.io", "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
     "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}},
]
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def _r(name: str, kind: str, namespaced: bool = True, short: list[str] | None = None, cats: list[str] | None = None,
       verbs: list[str] | None = None) -> dict:
    return {"name": name, "kind": kind, "namespaced": namespaced, "shortNames": short or [], "categories": cats or [],
            "verbs": VERBS if verbs is None else verbs}


LISTS = [
    {"groupVersion": "v1", "resources": [
        _r("pods", "Pod", short=["po"], cats=["all"]), _r("pods/log", "Pod", verbs=["get"]),
        _r("nodes", "Node", False, ["no"]), _r("secrets", "Secret"), _r("bindings", "Binding", verbs=[])]},
    {"groupVersion": "apps/v1", "resources": [_r("deployments", "Deployment", short=["deploy"], cats=["all"])]},
    {"groupVersion": "autoscaling/v1", "resources": [_r("horizontalpodautoscalers", "HorizontalPodAutoscaler",
                                                        short=["hpa"]), _r("legacy", "Legacy")]},
    {"groupVersion": "autoscaling/v2", "resources": [_r("horizontalpodautoscalers", "HorizontalPodAutoscaler",
                                                        short=["hpa"], cats=["all"])]},
    {"groupVersion": "metrics.k8s.io/v1beta1", "resources": [
        _r("pods", "PodMetrics", verbs=["get", "list"]), _r("nodes", "NodeMetrics", False, verbs=["get", "list"])]},
]


def _rows(**filters: object) -> list[p.Resource]:
    return p.select(p.preferred_resources(GROUPS, LISTS), p.Filters(**filters))  # type: ignore[arg-type]


def test_the_preferred_version_of_each_resource_and_no_subresources_nor_verbless_ones() -> None:
    rows = p.preferred_resources(GROUPS, LISTS)
    assert [(r.group_version, r.name) for r in rows] == [
        ("v1", "pods"), ("v1", "nodes"), ("v1", "secrets"), ("v1", "bindings"),
        ("apps/v1", "deployments"), ("autoscaling/v1", "legacy"), ("autoscaling/v2", "horizontalpodautoscalers"),
        ("metrics.k8s.io/v1beta1", "pods"), ("metrics.k8s.io/v1beta1", "nodes")]
    assert "bindings" not in [r.name for r in _rows()]  # kubectl skips a resource with no verbs


def test_the_default_table_is_kubectls() -> None:
    assert p.api_resources(_rows()) == "\n".join([
        "NAME                       SHORTNAMES   APIVERSION               NAMESPACED   KIND",
        "nodes                      no           v1                       false        Node",
        "pods                       po           v1                       true         Pod",
        "secrets                                 v1                       true         Secret",
        "deployments                deploy       apps/v1                  true         Deployment",
        "horizontalpodautoscalers   hpa          autoscaling/v2           true         HorizontalPodAutoscaler",
        "legacy                                  autoscaling/v1           true         Legacy",
        "nodes                                   metrics.k8s.io/v1beta1   false        NodeMetrics",
        "pods                                    metrics.k8s.io/v1beta1   true         PodMetrics",
    ])


def test_wide_adds_verbs_and_categories_and_pads_an_empty_last_column_before_it() -> None:
    text = p.api_resources(_rows(api_group="", namespaced=True), "wide")
    assert text.splitlines() == [
        "NAME      SHORTNAMES   APIVERSION   NAMESPACED   KIND     VERBS                                       CATEGORIES",
        "pods      po           v1           true         Pod      create,delete,get,list,patch,update,watch   all",
        "secrets                v1           true         Secret   create,delete,get,list,patch,update,watch   ",
    ]


def test_sorting_by_name_or_kind_keeps_discovery_order_for_equal_names() -> None:
    assert p.api_resources(_rows(), "name", sort_by="name").splitlines() == [
        "deployments.apps", "horizontalpodautoscalers.autoscaling", "legacy.autoscaling", "nodes",
        "nodes.metrics.k8s.io", "pods", "pods.metrics.k8s.io", "secrets"]
    kinds = [line.split()[-1] for line in p.api_resources(_rows(), sort_by="kind", no_headers=True).splitlines()]
    assert kinds == ["Deployment", "HorizontalPodAutoscaler", "Legacy", "Node", "NodeMetrics", "Pod", "PodMetrics",
                     "Secret"]


def test_filters_and_an_empty_result() -> None:
    assert [r.name for r in _rows(namespaced=False)] == ["nodes", "nodes"]
    assert [r.name for r in _rows(verbs=["watch", "create"], categories=["all"])] == ["pods", "deployments",
                                                                                     "horizontalpodautoscalers"]
    assert p.api_resources(_rows(api_group="nope")) == "NAME   SHORTNAMES   APIVERSION   NAMESPACED   KIND"
    assert p.api_resources(_rows(api_group="nope"), no_headers=True) == ""


def test_api_versions_are_every_group_version_sorted_with_the_core_v1() -> None:
    assert p.api_versions(GROUPS) == "apps/v1\nautoscaling/v1\nautoscaling/v2\nmetrics.k8s.io/v1beta1\nv1"


CLIENT = {"major": "0", "minor": "1", "gitVersion": "v0.1.0", "gitCommit": "", "gitTreeState": "",
          "buildDate": "1970-01-01T00:00:00Z", "goVersion": "python3.11.7", "compiler": "cpython",
          "platform": "linux/amd64"}
SERVER = {**CLIENT, "major": "1", "minor": "30", "gitVersion": "v1.30.0+kube-tui"}


def test_version_as_text_json_and_yaml() -> None:
    assert p.version(CLIENT, SERVER) == "Client Version: v0.1.0\nServer Version: v1.30.0+kube-tui"
    assert p.version(CLIENT, None) == "Client Version: v0.1.0"
    text = p.version(CLIENT, SERVER, "json")
    assert json.loads(text) == {"clientVersion": CLIENT, "serverVersion": SERVER}
    assert text.startswith('{\n  "clientVersion": {\n    "major": "0",\n')  # MarshalIndent's two spaces, field order
    text = p.version(CLIENT, None, "yaml")
    assert text.startswith('clientVersion:\n  buildDate: "1970-01-01T00:00:00Z"\n  compiler: cpython\n  gitCommit: ""\n')
    assert text.endswith("platform: linux/amd64\n") and yaml.safe_load(text) == {"clientVersion": CLIENT}


def _svc(name: str, ports: list[dict], labels: dict | None = None, **extra: object) -> dict:
    return {"metadata": {"name": name, "namespace": "kube-system", "labels": labels or {}},
            "spec": {"clusterIP": "10.96.0.10", "ports": ports}, **extra}


def test_cluster_info_in_kubectls_words_coloured_only_when_asked() -> None:
    dns = _svc("kube-dns", [{"name": "dns", "port": 53}], {"kubernetes.io/name": "CoreDNS"})
    text = p.cluster_info("tcp://127.0.0.1:5555", "https://127.0.0.1:6443", [dns])
    assert text == ("Kubernetes control plane is running at tcp://127.0.0.1:5555\n"
                    "Kubernetes REST API (kubectl) is running at https://127.0.0.1:6443\n"
                    "CoreDNS is running at https://127.0.0.1:6443/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n"
                    "\nTo further debug and diagnose cluster problems, use 'kube-tui get events -A' and 'kube-tui describe'.")
    assert p.cluster_info("tcp://127.0.0.1:5555", "", [], colour=True).splitlines()[0] == (
        "\x1b[0;32mKubernetes control plane\x1b[0m is running at \x1b[0;33mtcp://127.0.0.1:5555\x1b[0m")
    assert "\x1b" not in text


def test_service_links_as_kubectl_makes_them() -> None:
    rest = "https://h:6443"
    https = _svc("m", [{"name": "web", "port": 443}])
    assert p.service_link(https, rest) == "https://h:6443/api/v1/namespaces/kube-system/services/https:m:web/proxy"
    assert p.service_link(_svc("u", [{"port": 80}]), rest) == "https://h:6443/api/v1/namespaces/kube-system/services/u/proxy"
    assert p.service_link(_svc("n", []), rest) == "https://h:6443/api/v1/namespaces/kube-system/services/n/proxy"
    lb = _svc("lb", [{"port": 80}, {"port": 81}], status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})
    assert p.service_link(lb, rest) == "http://1.2.3.4:80 http://1.2.3.4:81 "  # kubectl's trailing space
    # no REST API to proxy through: the ClusterIP, which kube-proxy listens on
    assert p.service_link(https, "") == "https://10.96.0.10:443"
    assert p.service_link(_svc("u", [{"port": 80}]), "") == "http://10.96.0.10:80"
