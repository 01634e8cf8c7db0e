"""Each scheduler plugin alone: kube-scheduler's verdicts, messages and hand-computed scores."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from control.api.labels import from_label_selector
from control.scheduler.framework import Code
from control.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot, pod_requests
from control.scheduler.plugins import (
    BalancedAllocation,
    NodeAffinity,
    NodeName,
    NodePorts,
    NodeResourcesFit,
    NodeUnschedulable,
    TaintToleration,
    default_plugins,
)
from control.scheduler.plugins.helper import default_normalize_score
from control.scheduler.podindex import CLUSTER, Cluster
from tests.helpers import K8S_DOCS

MANIFESTS = K8S_DOCS


def node(name: str, cpu: str = "4", memory: str = "8Gi", pods: str = "110", *, labels: dict | None = None,
         taints: list[dict] | None = None, unschedulable: bool = False) -> dict:
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": spec,
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                       "capacity": {"cpu": cpu, "memory": memory, "pods": pods}}}


def pod(name: str, cpu: str | None = None, memory: str | None = None, *, node_name: str = "",
        priority: int | None = None, ports: list[dict] | None = None, **spec: Any) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "app", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests}
    if ports:
        container["ports"] = ports
    body: dict[str, Any] = {"containers": [container], **spec}
    if node_name:
        body["nodeName"] = node_name
    if priority is not None:
        body["priority"] = priority
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}, "spec": body}


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> dict:
    return {"key": key, "value": value, "effect": effect}


def info(n: dict, *pods: dict) -> NodeInfo:
    snap = Snapshot()
    ni = snap.add_node(n)
    for p in pods:
        snap.add_pod({**p, "spec": {**p["spec"], "nodeName": n["metadata"]["name"]}})
    return ni


def manifest(name: str) -> dict:
    return next(yaml.safe_load_all((MANIFESTS / name).read_text()))


# NodeUnschedulable


def test_node_unschedulable_rejects_cordoned_node_unless_tolerated() -> None:
    pl = NodeUnschedulable()
    cordoned = info(node("n1", unschedulable=True))
    st = pl.filter(PodInfo(pod("p")), cordoned)
    assert (st.code, st.reasons) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ("node(s) were unschedulable",))
    tol = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]
    assert pl.filter(PodInfo(pod("p", tolerations=tol)), cordoned).ok
    assert pl.filter(PodInfo(pod("p")), info(node("n2"))).ok


# NodeName


def test_node_name() -> None:
    pl = NodeName()
    p = PodInfo(pod("p", node_name="n1"))
    assert pl.filter(p, info(node("n1"))).ok
    st = pl.filter(p, info(node("n2")))
    assert st.reasons == ("node(s) didn't match the requested node name",)
    assert st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert pl.pre_filter(PodInfo(pod("q"))).code is Code.SKIP


# TaintToleration


def test_taint_without_toleration_names_the_taint() -> None:
    st = TaintToleration().filter(PodInfo(pod("p")), info(node("n", taints=[taint("dedicated", "gpu")])))
    assert st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert st.reasons == ("node(s) had untolerated taint {dedicated: gpu}",)


def test_taint_without_value_prints_empty_value() -> None:
    n = info(node("n", taints=[taint("node-role.kubernetes.io/control-plane")]))
    st = TaintToleration().filter(PodInfo(pod("p")), n)
    assert st.reasons == ("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",)


@pytest.mark.parametrize(("toleration", "ok"), [
    ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, True),
    ({"key": "dedicated", "value": "gpu"}, True),  # empty operator means Equal, empty effect matches all
    ({"key": "dedicated", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}, False),
    ({"key": "dedicated", "operator": "Exists"}, True),
    ({"operator": "Exists"}, True),  # empty key with Exists tolerates everything
    ({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, False),
    ({"key": "other", "operator": "Exists"}, False),
])
def test_toleration_matching(toleration: dict, ok: bool) -> None:
    n = info(node("n", taints=[taint("dedicated", "gpu")]))
    assert TaintToleration().filter(PodInfo(pod("p", tolerations=[toleration])), n).ok is ok


def test_prefer_no_schedule_taints_do_not_filter_and_first_untolerated_is_reported() -> None:
    n = info(node("n", taints=[taint("soft", "x", "PreferNoSchedule"), taint("a", "1", "NoExecute"),
                               taint("b", "2")]))
    tol = [{"key": "a", "operator": "Exists"}]
    st = TaintToleration().filter(PodInfo(pod("p", tolerations=tol)), n)
    assert st.reasons == ("node(s) had untolerated taint {b: 2}",)


def test_k8s_docs_pod_with_toleration() -> None:
    p = PodInfo(manifest("pod-with-toleration.yaml"))
    pl = TaintToleration()
    assert pl.filter(p, info(node("n", taints=[taint("example-key", "anything")]))).ok
    st = pl.filter(p, info(node("m", taints=[taint("example-key", "v", "NoExecute")])))
    assert st.reasons == ("node(s) had untolerated taint {example-key: v}",)


def test_taint_score_counts_intolerable_prefer_no_schedule_then_reverses() -> None:
    pl = TaintToleration()
    soft = [taint("s1", "", "PreferNoSchedule"), taint("s2", "", "PreferNoSchedule")]
    nodes = [info(node("n0")), info(node("n1", taints=soft[:1])), info(node("n2", taints=soft))]
    p = PodInfo(pod("p"))
    raw = pl.score_nodes(p, nodes)
    assert raw == [0, 1, 2]
    assert pl.normalize(raw) == [100, 50, 0]
    tolerant = PodInfo(pod("q", tolerations=[{"key": "s1", "operator": "Exists", "effect": "PreferNoSchedule"}]))
    assert pl.score_nodes(tolerant, nodes) == [0, 0, 1]
    # A NoSchedule-only toleration does not help against PreferNoSchedule taints.
    hard_only = PodInfo(pod("r", tolerations=[{"key": "s1", "operator": "Exists", "effect": "NoSchedule"}]))
    assert pl.score_nodes(hard_only, nodes) == [0, 1, 2]
    assert pl.normalize([0, 0]) == [100, 100]


# NodeAffinity


def test_k8s_docs_required_affinity_pod() -> None:
    p = PodInfo(manifest("pod-nginx-required-affinity.yaml"))
    pl = NodeAffinity()
    assert pl.pre_filter(p) is None
    assert pl.filter(p, info(node("a", labels={"disktype": "ssd"}))).ok
    st = pl.filter(p, info(node("b", labels={"disktype": "hdd"})))
    assert (st.code, st.reasons) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                                     ("node(s) didn't match Pod's node affinity/selector",))
    assert not pl.filter(p, info(node("c"))).ok


def test_node_selector() -> None:
    p = PodInfo(pod("p", nodeSelector={"disktype": "ssd", "zone": "a"}))
    pl = NodeAffinity()
    assert pl.filter(p, info(node("n", labels={"disktype": "ssd", "zone": "a", "x": "y"}))).ok
    assert not pl.filter(p, info(node("n", labels={"disktype": "ssd"}))).ok
    assert pl.pre_filter(PodInfo(pod("q"))).code is Code.SKIP


def _required(*terms: dict) -> dict:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


@pytest.mark.parametrize(("expr", "labels", "ok"), [
    ({"key": "k", "operator": "In", "values": ["a", "b"]}, {"k": "b"}, True),
    ({"key": "k", "operator": "In", "values": ["a"]}, {}, False),
    ({"key": "k", "operator": "NotIn", "values": ["a"]}, {"k": "b"}, True),
    ({"key": "k", "operator": "NotIn", "values": ["a"]}, {}, True),
    ({"key": "k", "operator": "NotIn", "values": ["a"]}, {"k": "a"}, False),
    ({"key": "k", "operator": "Exists"}, {"k": ""}, True),
    ({"key": "k", "operator": "Exists"}, {}, False),
    ({"key": "k", "operator": "DoesNotExist"}, {}, True),
    ({"key": "k", "operator": "DoesNotExist"}, {"k": "1"}, False),
    ({"key": "k", "operator": "Gt", "values": ["5"]}, {"k": "6"}, True),
    ({"key": "k", "operator": "Gt", "values": ["5"]}, {"k": "5"}, False),
    ({"key": "k", "operator": "Gt", "values": ["5"]}, {"k": "x"}, False),
    ({"key": "k", "operator": "Lt", "values": ["5"]}, {"k": "-1"}, True),
    ({"key": "k", "operator": "Lt", "values": ["5"]}, {}, False),
    ({"key": "k", "operator": "Gt", "values": ["a"]}, {"k": "6"}, False),  # invalid term matches nothing
    ({"key": "k", "operator": "In", "values": []}, {"k": "6"}, False),
])
def test_match_expressions(expr: dict, labels: dict, ok: bool) -> None:
    p = PodInfo(pod("p", affinity=_required({"matchExpressions": [expr]})))
    assert NodeAffinity().filter(p, info(node("n", labels=labels))).ok is ok


def test_terms_are_ored_and_requirements_anded() -> None:
    aff = _required({"matchExpressions": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]},
                    {"matchExpressions": [{"key": "c", "operator": "Exists"}]})
    p = PodInfo(pod("p", affinity=aff))
    pl = NodeAffinity()
    assert pl.filter(p, info(node("n", labels={"a": "", "b": ""}))).ok
    assert not pl.filter(p, info(node("n", labels={"a": ""}))).ok
    assert pl.filter(p, info(node("n", labels={"c": ""}))).ok


def test_match_fields_metadata_name_and_prefilter_result() -> None:
    aff = _required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]})
    p = PodInfo(pod("p", affinity=aff))
    pl = NodeAffinity()
    assert pl.pre_filter(p) == frozenset({"n1"})
    assert pl.filter(p, info(node("n1"))).ok
    assert not pl.filter(p, info(node("n2"))).ok
    not_in = PodInfo(pod("q", affinity=_required(
        {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]})))
    assert pl.pre_filter(not_in) is None
    assert not pl.filter(not_in, info(node("n1"))).ok
    assert pl.filter(not_in, info(node("n2"))).ok


def test_conflicting_match_fields_reject_in_prefilter() -> None:
    aff = _required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]},
                                     {"key": "metadata.name", "operator": "In", "values": ["b"]}]})
    st = NodeAffinity().pre_filter(PodInfo(pod("p", affinity=aff)))
    assert (st.code, st.reasons) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ("pod affinity terms conflict",))


def test_preferred_affinity_score_is_sum_of_weights_normalized() -> None:
    aff = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 2, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}},
        {"weight": 8, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
    ]}}
    p = PodInfo(pod("p", affinity=aff))
    pl = NodeAffinity()
    nodes = [info(node("n1", labels={"zone": "a"})), info(node("n2", labels={"zone": "b", "disk": "ssd"})),
             info(node("n3"))]
    assert pl.pre_score(p)
    raw = [pl.score(p, ni) for ni in nodes]
    assert raw == [2, 10, 0]
    assert pl.normalize(raw) == [20, 100, 0]
    assert not pl.pre_score(PodInfo(pod("q")))


# NodePorts


def test_node_ports_conflicts() -> None:
    pl = NodePorts()
    busy = info(node("n"), pod("web", ports=[{"containerPort": 80, "hostPort": 8080}]))
    want = PodInfo(pod("p", ports=[{"containerPort": 80, "hostPort": 8080}]))
    st = pl.filter(want, busy)
    assert (st.code, st.reasons) == (Code.UNSCHEDULABLE, ("node(s) didn't have free ports for the requested pod ports",))
    udp = PodInfo(pod("u", ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}]))
    assert pl.filter(udp, busy).ok
    specific = PodInfo(pod("s", ports=[{"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.5"}]))
    assert not pl.filter(specific, busy).ok  # 0.0.0.0 on the node blocks every address
    on_ip = info(node("m"), pod("w", ports=[{"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.5"}]))
    assert pl.filter(PodInfo(pod("t", ports=[{"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.6"}])), on_ip).ok
    assert not pl.filter(want, on_ip).ok  # wanting 0.0.0.0 conflicts with any address
    assert pl.pre_filter(PodInfo(pod("x", ports=[{"containerPort": 80}]))).code is Code.SKIP


# NodeResourcesFit


def test_fit_messages() -> None:
    pl = NodeResourcesFit()
    n = info(node("n", cpu="2", memory="1Gi", pods="2"), pod("a", "1500m", "512Mi"))
    assert pl.filter(PodInfo(pod("p", "500m", "512Mi")), n).ok
    st = pl.filter(PodInfo(pod("p", "501m", "513Mi")), n)
    assert (st.code, st.reasons) == (Code.UNSCHEDULABLE, ("Insufficient cpu", "Insufficient memory"))
    full = info(node("f", pods="1"), pod("a"))
    st = pl.filter(PodInfo(pod("p")), full)
    assert st.reasons == ("Too many pods",)
    st = pl.filter(PodInfo(pod("p", "5")), full)
    assert st.reasons == ("Too many pods", "Insufficient cpu")


def _storage_pod(name: str, request: str, **spec: Any) -> dict:
    p = pod(name, **spec)
    p["spec"]["containers"][0]["resources"] = {"requests": {"ephemeral-storage": request}}
    return p


def test_fit_counts_ephemeral_storage() -> None:
    """fitsRequest's ephemeral-storage: after cpu and memory, against allocatable less what pods request; a node
    reporting none fits no pod that requests some."""
    pl = NodeResourcesFit()
    n = node("n")
    n["status"]["allocatable"]["ephemeral-storage"] = "10Gi"
    ni = info(n, _storage_pod("a", "6Gi"))
    assert pl.filter(PodInfo(_storage_pod("p", "4Gi")), ni).ok
    st = pl.filter(PodInfo(_storage_pod("p", "4Gi", node_name="")), info(n, _storage_pod("a", "6Gi"),
                                                                         _storage_pod("b", "1")))
    assert (st.code, st.reasons) == (Code.UNSCHEDULABLE, ("Insufficient ephemeral-storage",))
    big = _storage_pod("p", "11Gi")
    big["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "5"
    assert pl.filter(PodInfo(big), info(n)).reasons == ("Insufficient cpu", "Insufficient ephemeral-storage")
    assert pl.filter(PodInfo(_storage_pod("p", "1")), info(node("none"))).reasons == \
        ("Insufficient ephemeral-storage",)
    # the batch filter's shortcut agrees with the filter
    passed, failed = pl.filter_nodes(PodInfo(_storage_pod("p", "5Gi")), [info(n), ni])
    assert [x.name for x in passed] == ["n"] and len(passed) == 1 and len(failed) == 1
    assert failed[0][1].reasons == ("Insufficient ephemeral-storage",)


def test_fit_pod_without_requests_only_counts_pods() -> None:
    n = info(node("n", cpu="1", memory="1Mi"), pod("a", "1", "1Mi"))
    assert NodeResourcesFit().filter(PodInfo(pod("p")), n).ok


def test_pod_requests_init_containers_sidecars_and_overhead() -> None:
    spec = {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
                           {"name": "b", "resources": {"requests": {"cpu": "500m"}}}],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2", "memory": "512Mi"}}}],
            "overhead": {"cpu": "100m"}}
    assert pod_requests(spec) == (2100, 1 << 30)
    assert pod_requests(spec, nonzero=True) == (2100, (1 << 30) + 200 * (1 << 20))
    sidecar = {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}],
               "initContainers": [{"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                                  {"name": "i", "resources": {"requests": {"cpu": "1500m"}}}]}
    assert pod_requests(sidecar)[0] == 2500  # max(1 + 1, 1.5 + 1): the sidecar runs next to both
    assert pod_requests({"containers": [{"name": "x"}]}, nonzero=True) == (100, 200 * (1 << 20))
    zero = {"containers": [{"name": "x", "resources": {"requests": {"cpu": "0"}}}]}
    assert pod_requests(zero, nonzero=True) == (0, 200 * (1 << 20))  # only a missing request is defaulted


def test_least_allocated_scores_match_kube_scheduler() -> None:
    # least_allocated_test.go "nothing scheduled, resources requested, differently sized nodes": 37 and 50.
    pl = NodeResourcesFit()
    p = PodInfo(pod("p", "3", "5000"))
    nodes = [info(node("n1", cpu="4", memory="10000")), info(node("n2", cpu="6", memory="10000"))]
    assert [pl.score(p, ni) for ni in nodes] == [37, 50]
    assert pl.score_nodes(p, nodes) == [37, 50]


def test_least_allocated_uses_non_zero_requests() -> None:
    pl = NodeResourcesFit()
    n = info(node("n", cpu="1", memory="1000Mi"), pod("besteffort"))
    # node: 100m + pod 100m of 1000m -> 80; memory: 200Mi + 200Mi of 1000Mi -> 60; (80 + 60) / 2 = 70
    assert pl.score(PodInfo(pod("p")), n) == 70
    over = info(node("o", cpu="1", memory="1Gi"), pod("big", "2"))
    # cpu over-requested -> 0; memory: 1024Mi - 200Mi (defaulted for "big") - 512Mi = 312Mi -> 30; (0 + 30) / 2
    assert pl.score(PodInfo(pod("p", "100m", "512Mi")), over) == 15


def test_balanced_allocation_scores_match_kube_scheduler() -> None:
    # balanced_allocation_test.go "nothing scheduled, resources requested, differently sized nodes": 87, 100.
    pl = BalancedAllocation()
    p = PodInfo(pod("p", "3", "5000"))
    nodes = [info(node("n1", cpu="4", memory="10000")), info(node("n2", cpu="6", memory="10000"))]
    assert [pl.score(p, ni) for ni in nodes] == [87, 100]
    assert pl.score_nodes(p, nodes) == [87, 100]
    # Uses real requests of the node's pods: 1 of 4 cpu + 3 = 100%, 0 + 5000 of 20000 = 25% -> std .375 -> 62.
    busy = info(node("b", cpu="4", memory="20000"), pod("x", "1"))
    assert pl.score(p, busy) == 62
    assert not pl.pre_score(PodInfo(pod("besteffort")))


def test_default_normalize_score() -> None:
    assert default_normalize_score([1, 2, 4], 100, reverse=False) == [25, 50, 100]
    assert default_normalize_score([1, 2, 4], 100, reverse=True) == [75, 50, 0]
    assert default_normalize_score([0, 0], 100, reverse=False) == [0, 0]
    assert default_normalize_score([3, 0], 100, reverse=False) == [100, 0]


def test_batch_forms_agree_with_per_node_forms() -> None:
    """filter_nodes / score_nodes are optimisations: they must say exactly what filter / score say."""
    rng = random.Random(7)
    snap = Snapshot()
    for i in range(120):
        taints = []
        if rng.random() < 0.2:
            taints.append(taint(rng.choice(["a", "b"]), rng.choice(["1", "2"]), rng.choice(["NoSchedule", "NoExecute"])))
        if rng.random() < 0.3:
            taints.append(taint("s", "", "PreferNoSchedule"))
        snap.add_node(node(f"n{i}", cpu=rng.choice(["1", "2", "4"]), memory=rng.choice(["1Gi", "4Gi"]),
                           pods=rng.choice(["3", "110"]), labels={"disk": rng.choice(["ssd", "hdd"]),
                                                                  **({"kubernetes.io/hostname": f"n{i}"} if i % 9 else {})},
                           taints=taints, unschedulable=rng.random() < 0.1))
    nodes = snap.node_infos()
    for j in range(200):
        target = rng.choice(nodes)
        x = pod(f"x{j}", rng.choice(["100m", "500m"]), rng.choice(["64Mi", "512Mi"]),
                ports=[{"containerPort": 1, "hostPort": rng.choice([80, 81])}])
        x["metadata"]["labels"] = {"app": rng.choice(["web", "db"])}
        snap.assume_pod(x, target.name)
    pods = [PodInfo(pod(f"p{k}", rng.choice([None, "200m", "1500m"]), rng.choice([None, "100Mi", "2Gi"]),
                        tolerations=[{"key": "a", "operator": "Exists"}] if k % 2 else [],
                        nodeSelector={"disk": "ssd"} if k % 3 == 0 else None,
                        ports=[{"containerPort": 1, "hostPort": 80}] if k % 4 == 0 else None))
            for k in range(30)]
    plugins = default_plugins()
    # Three rounds: fresh, answered from the nodes' memos, and after pods land on a third of the nodes
    # (which must invalidate what those nodes remembered).
    for rnd in range(3):
        if rnd == 2:
            for j, target in enumerate(nodes[::3]):
                snap.assume_pod(pod(f"late{j}", "300m", "300Mi"), target.name)
        for p in pods:
            for pl in plugins:
                # The pods are a ReplicaSet's (PodTopologySpread's system defaults spread them over the nodes).
                cluster = Cluster(nodes, snap.index, owner_selector=lambda _: from_label_selector(
                    {"matchLabels": {"app": "web"}}))
                p.state = {CLUSTER: cluster}
                pre = getattr(pl, "pre_filter", None)
                if pre is not None:
                    pre(p)
                if hasattr(pl, "filter") and hasattr(pl, "filter_nodes"):
                    expected = [(ni.name, pl.filter(p, ni).reasons) for ni in nodes if not pl.filter(p, ni).ok]
                    passed, failed = pl.filter_nodes(p, list(nodes))
                    assert [(ni.name, st.reasons) for ni, st in failed] == expected
                    assert [ni.name for ni in passed] == [ni.name for ni in nodes if pl.filter(p, ni).ok]
                if hasattr(pl, "score_nodes"):
                    cluster.feasible = list(nodes)
                    if getattr(pl, "pre_score", None) is not None and pl.pre_score(p) is False:
                        continue
                    assert pl.score_nodes(p, list(nodes)) == [pl.score(p, ni) for ni in nodes]
