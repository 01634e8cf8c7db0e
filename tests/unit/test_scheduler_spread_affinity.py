"""PodTopologySpread and InterPodAffinity, checked against kube-scheduler's rules on small clusters whose
answers were worked out by hand from its source (filtering.go, scoring.go of both plugins)."""

from __future__ import annotations

import random

import pytest

from control.api.labels import from_label_selector
from control.scheduler import config as sc
from control.scheduler import registry as reg
from control.scheduler.framework import Framework
from control.scheduler.nodeinfo import Snapshot
from control.scheduler.plugins import InterPodAffinity, PodTopologySpread
from control.scheduler.podindex import Cluster, PodIndex

HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
SPREAD = "node(s) didn't match pod topology spread constraints"


def node(name: str, zone: str | None = None) -> dict:
    labels = {HOST: name, **({ZONE: zone} if zone else {})}
    return {"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}


def pod(name: str, on: str | None = None, labels: dict | None = None, ns: str = "default", **spec: object) -> dict:
    md: dict = {"name": name, "namespace": ns, "uid": f"{ns}-{name}", "labels": labels or {}}
    return {"metadata": md, "spec": {"containers": [{"name": "c"}], **({"nodeName": on} if on else {}), **spec}}


def three_nodes(*pods: dict) -> Snapshot:
    """n1 and n2 in zone a, n3 in zone b."""
    snap = Snapshot()
    for n, z in (("n1", "a"), ("n2", "a"), ("n3", "b")):
        snap.add_node(node(n, z))
    for p in pods:
        snap.add_pod(p)
    return snap


def web_pods() -> list[dict]:
    """app=web: two on n1, one on n2, none on n3."""
    return [pod("w1", "n1", {"app": "web"}), pod("w2", "n1", {"app": "web"}), pod("w3", "n2", {"app": "web"})]


def run(snap: Snapshot, p: dict, plugin: object, owner: object = None) -> tuple[str | None, dict, dict]:
    fw = Framework([plugin])
    cluster = Cluster(snap.node_infos(), snap.index, by_name=snap.infos, owner_selector=owner)
    res = fw.schedule(p, cluster.nodes, cluster=cluster)
    failures = {n: st.reasons[0] for n, st in res.failures}
    scores = dict(zip(res.scored_nodes, next(iter(res.scores.values()), []), strict=False))
    return res.node, failures, scores


def spread(key: str, skew: int, when: str = "DoNotSchedule", **extra: object) -> dict:
    return {"topologySpreadConstraints": [{"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
                                           "labelSelector": {"matchLabels": {"app": "web"}}, **extra}]}


# -- PodTopologySpread: filter -------------------------------------------------------------------

@pytest.mark.parametrize(("key", "skew", "passes"), [
    (ZONE, 1, {"n3"}),  # zone a has 3, b 0: only b keeps the skew at 1
    (HOST, 1, {"n3"}),
    (HOST, 2, {"n2", "n3"}),
])
def test_do_not_schedule_rejects_nodes_that_would_exceed_max_skew(key: str, skew: int, passes: set[str]) -> None:
    chosen, failures, _ = run(three_nodes(*web_pods()), pod("p", labels={"app": "web"}, **spread(key, skew)),
                              PodTopologySpread())
    assert set(failures) == {"n1", "n2", "n3"} - passes
    assert set(failures.values()) <= {SPREAD}
    assert chosen in passes


def test_the_record_says_what_the_cross_node_filters_counted() -> None:
    from control.scheduler.record import parse, to_annotation

    fw = Framework([PodTopologySpread(), InterPodAffinity()])
    snap = three_nodes(*web_pods())
    p = pod("p", labels={"app": "web"}, **spread(HOST, 1), **required("podAntiAffinity", "db", ZONE))
    cluster = Cluster(snap.node_infos(), snap.index, by_name=snap.infos)
    res = fw.schedule(p, cluster.nodes, cluster=cluster)
    rec = parse(to_annotation(res))
    assert rec is not None and rec["explain"] == {
        "PodTopologySpread": "kubernetes.io/hostname (maxSkew 1) counts pods with app=web: n1 2, n2 1, n3 0; "
                             "minimum 0; this pod adds 1 where it goes",
        "InterPodAffinity": "anti-affinity to app=db, matching pods: none"}
    # A pod neither plugin checks: nothing to explain, nothing in the record.
    res = Framework().schedule(pod("q"), cluster.nodes, cluster=cluster)
    assert "explain" not in (parse(to_annotation(res)) or {})


def test_min_domains_counts_missing_domains_as_empty() -> None:
    pods = [pod("w1", "n1", {"app": "web"}), pod("w3", "n3", {"app": "web"})]
    _, failures, _ = run(three_nodes(*pods), pod("p", labels={"app": "web"}, **spread(ZONE, 1)), PodTopologySpread())
    assert failures == {}
    chosen, failures, _ = run(three_nodes(*pods), pod("p", labels={"app": "web"}, **spread(ZONE, 1, minDomains=3)),
                              PodTopologySpread())
    assert chosen is None and set(failures) == {"n1", "n2", "n3"}


def test_a_node_without_the_topology_label_is_rejected_and_its_pods_not_counted() -> None:
    snap = three_nodes(*web_pods())
    snap.add_node(node("n4"))  # no zone
    snap.add_pod(pod("w9", "n4", {"app": "web"}))
    _, failures, _ = run(snap, pod("p", labels={"app": "web"}, **spread(ZONE, 1)), PodTopologySpread())
    assert failures["n4"] == SPREAD + " (missing required label)"
    assert "n3" not in failures


def test_only_matching_pods_of_the_same_namespace_that_are_not_terminating_count() -> None:
    gone = pod("w4", "n3", {"app": "web"})
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    snap = three_nodes(*web_pods(), gone, pod("o1", "n3", {"app": "web"}, ns="other"), pod("d1", "n3", {"app": "db"}))
    chosen, failures, _ = run(snap, pod("p", labels={"app": "web"}, **spread(HOST, 1)), PodTopologySpread())
    assert chosen == "n3" and set(failures) == {"n1", "n2"}


def test_a_pod_its_selector_does_not_match_adds_nothing_to_the_skew() -> None:
    _, failures, _ = run(three_nodes(*web_pods()), pod("p", labels={"app": "api"}, **spread(HOST, 1)),
                         PodTopologySpread())
    assert set(failures) == {"n1"}  # 2 + 0 - 0 > 1; with app=web n2 fails too (1 + 1 - 0 > 1)


def test_match_label_keys_narrow_the_selector_to_the_pods_revision() -> None:
    old = [pod(f"o{i}", "n1", {"app": "web", "hash": "old"}) for i in range(3)]
    p = pod("p", labels={"app": "web", "hash": "new"}, **spread(HOST, 1, matchLabelKeys=["hash"]))
    _, failures, _ = run(three_nodes(*old), p, PodTopologySpread())
    assert failures == {}  # the old revision's pods are not counted


def test_node_taints_policy_honor_leaves_tainted_nodes_out_of_the_domains() -> None:
    snap = three_nodes(pod("w1", "n1", {"app": "web"}), pod("w2", "n2", {"app": "web"}))
    tainted = node("n3", "b")
    tainted["spec"] = {"taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]}
    snap.update_node(tainted)
    p = pod("p", labels={"app": "web"}, **spread(HOST, 1))
    assert set(run(snap, p, PodTopologySpread())[1]) == {"n1", "n2"}  # Ignore: n3's 0 is the minimum
    p = pod("p", labels={"app": "web"}, **spread(HOST, 1, nodeTaintsPolicy="Honor"))
    assert run(snap, p, PodTopologySpread())[1] == {}  # n3 leaves the domains: the minimum is 1


# -- PodTopologySpread: score ---------------------------------------------------------------------

@pytest.mark.parametrize(("key", "skew", "expected"), [
    (HOST, 1, {"n1": 0, "n2": 33, "n3": 100}),  # raw 3, 2, 0 (count * ln(5) + 0)
    (HOST, 3, {"n1": 40, "n2": 60, "n3": 100}),  # raw 5, 4, 2
    (ZONE, 1, {"n1": 0, "n2": 0, "n3": 100}),  # raw 4, 4, 0 (count * ln(4))
])
def test_schedule_anyway_scores_fewer_matching_pods_higher(key: str, skew: int, expected: dict) -> None:
    chosen, failures, scores = run(three_nodes(*web_pods()), pod("p", labels={"app": "web"},
                                                                   **spread(key, skew, "ScheduleAnyway")),
                                   PodTopologySpread())
    assert failures == {} and scores == expected and chosen == "n3"


def test_system_defaults_spread_the_pods_of_what_owns_the_pod() -> None:
    selector = from_label_selector({"matchLabels": {"app": "web"}})
    _, _, scores = run(three_nodes(*web_pods()), pod("p", labels={"app": "web"}), PodTopologySpread(),
                       owner=lambda p: selector)
    assert scores == {"n1": 46, "n2": 53, "n3": 100}
    # Nothing owns the pod (no Service, no ReplicaSet): no default constraints, so the plugin does not score.
    _, _, scores = run(three_nodes(*web_pods()), pod("p", labels={"app": "web"}), PodTopologySpread(),
                       owner=lambda p: None)
    assert scores == {}
    # defaultingType List without constraints: no defaults.
    _, _, scores = run(three_nodes(*web_pods()), pod("p", labels={"app": "web"}),
                       PodTopologySpread({"defaultingType": "List"}), owner=lambda p: selector)
    assert scores == {}


def test_nodes_without_a_required_label_score_zero() -> None:
    snap = three_nodes(*web_pods())
    snap.add_node(node("n4"))
    _, _, scores = run(snap, pod("p", labels={"app": "web"}, **spread(ZONE, 1, "ScheduleAnyway")), PodTopologySpread())
    assert scores["n4"] == 0 and scores["n3"] == 100


# -- InterPodAffinity -----------------------------------------------------------------------------

def required(kind: str, app: str, key: str, **term: object) -> dict:
    return {"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key, **term}]}}}


def preferred(kind: str, weight: int, app: str, key: str) -> list:
    return [{"weight": weight, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}}]


def test_required_affinity_keeps_the_pod_in_a_domain_with_a_matching_pod() -> None:
    snap = three_nodes(pod("db-1", "n1", {"app": "db"}))
    snap.add_node(node("n4"))  # no zone label: never passes a zone term
    _, failures, _ = run(snap, pod("p", labels={"app": "x"}, **required("podAffinity", "db", ZONE)), InterPodAffinity())
    assert failures == {"n3": "node(s) didn't match pod affinity rules", "n4": "node(s) didn't match pod affinity rules"}


def test_the_first_pod_with_affinity_to_its_own_kind_may_go_anywhere() -> None:
    _, failures, _ = run(three_nodes(), pod("p", labels={"app": "web"}, **required("podAffinity", "web", ZONE)),
                         InterPodAffinity())
    assert failures == {}
    # Not the pod's own kind, or another namespace's: nothing matches, so nowhere fits.
    for p in (pod("p", labels={"app": "api"}, **required("podAffinity", "web", ZONE)),
              pod("p", labels={"app": "web"}, **required("podAffinity", "web", ZONE, namespaces=["other"]))):
        chosen, failures, _ = run(three_nodes(), p, InterPodAffinity())
        assert chosen is None and len(failures) == 3


@pytest.mark.parametrize(("key", "rejected"), [(HOST, {"n1"}), (ZONE, {"n1", "n2"})])
def test_required_anti_affinity_keeps_the_pod_out_of_domains_with_a_matching_pod(key: str, rejected: set) -> None:
    snap = three_nodes(pod("web-1", "n1", {"app": "web"}))
    _, failures, _ = run(snap, pod("p", labels={"app": "x"}, **required("podAntiAffinity", "web", key)),
                         InterPodAffinity())
    assert failures == dict.fromkeys(rejected, "node(s) didn't match pod anti-affinity rules")


def test_running_pods_anti_affinity_keeps_a_matching_pod_away() -> None:
    snap = three_nodes(pod("x", "n1", {"app": "x"}, **required("podAntiAffinity", "web", ZONE)))
    _, failures, _ = run(snap, pod("p", labels={"app": "web"}), InterPodAffinity())
    assert failures == dict.fromkeys(("n1", "n2"), "node(s) didn't satisfy existing pods anti-affinity rules")
    # The running pod's term covers its own namespace only.
    snap = three_nodes(pod("x", "n1", {"app": "x"}, ns="other", **required("podAntiAffinity", "web", ZONE)))
    assert run(snap, pod("p", labels={"app": "web"}), InterPodAffinity())[1] == {}


def test_preferred_terms_score_by_weight_and_running_pods_terms_count_too() -> None:
    snap = three_nodes(pod("db-1", "n1", {"app": "db"}), pod("web-1", "n2", {"app": "web"}),
                       pod("web-2", "n3", {"app": "web"}))
    p = pod("p", labels={"app": "p"}, affinity={"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
                                                                preferred("podAffinity", 80, "db", ZONE)},
                                                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":
                                                                    preferred("podAntiAffinity", 20, "web", HOST)}})
    chosen, _, scores = run(snap, p, InterPodAffinity())
    assert scores == {"n1": 100, "n2": 80, "n3": 0} and chosen == "n1"  # raw 80, 60, -20
    # The incoming pod has no terms; running pods' terms about it score: E's required affinity (+1, the
    # hardPodAffinityWeight) for zone b, F's preferred anti-affinity (-50) for n1.
    snap = three_nodes(pod("e", "n3", {"app": "e"}, **required("podAffinity", "web", ZONE)),
                       pod("f", "n1", {"app": "f"}, affinity={"podAntiAffinity": {
                           "preferredDuringSchedulingIgnoredDuringExecution": preferred("x", 50, "web", HOST)}}))
    _, _, scores = run(snap, pod("p", labels={"app": "web"}), InterPodAffinity())
    assert scores == {"n1": 0, "n2": 98, "n3": 100}


def test_the_default_profile_spreads_a_replicaset_and_honours_anti_affinity() -> None:
    """The plugins in the default profile together: replicas with required anti-affinity on the hostname
    take one node each, and the fourth fits nowhere with kube-scheduler's message."""
    snap = three_nodes()
    fw = Framework()
    placed = []
    for i in range(4):
        p = pod(f"r{i}", labels={"app": "web"}, **required("podAntiAffinity", "web", HOST))
        cluster = Cluster(snap.node_infos(), snap.index, by_name=snap.infos)
        res = fw.schedule(p, cluster.nodes, cluster=cluster)
        if res.node:
            snap.assume_pod(p, res.node)
            placed.append(res.node)
        else:
            assert res.message == "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "                                   "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."
    assert sorted(placed) == ["n1", "n2", "n3"]


# -- the index ------------------------------------------------------------------------------------

def test_the_snapshots_pod_index_matches_one_built_from_scratch() -> None:
    rng = random.Random(3)
    snap = Snapshot()
    for i in range(20):
        snap.add_node(node(f"n{i}", rng.choice(["a", "b"])))
    live: list[dict] = []
    for step in range(600):
        if live and rng.random() < 0.1:  # a bound pod relabelled
            p = live[rng.randrange(len(live))]
            p["metadata"] = {**p["metadata"], "labels": {"app": rng.choice(["a", "b"]), "v": "3"}}
            snap.update_pod(p)
        elif step % 97 == 0:  # a node deleted with its pods still on it, then back
            name = f"n{rng.randrange(20)}"
            snap.remove_node(name)
            if rng.random() < 0.5:
                snap.add_node(node(name, rng.choice(["a", "b"])))
        elif live and rng.random() < 0.4:
            snap.remove_pod(live.pop(rng.randrange(len(live))))
        else:
            p = pod(f"p{step}", f"n{rng.randrange(20)}", {"app": rng.choice(["a", "b", "c"]), "v": rng.choice("12")},
                    ns=rng.choice(["default", "other"]))
            if rng.random() < 0.1:
                p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            if rng.random() < 0.1:
                p["spec"].update(required("podAntiAffinity", "a", HOST))
            snap.add_pod(p)
            live.append(p)
        if step % 7 == 0:
            # Move a node to another zone, then count zones: the counts must follow the pods from here on.
            snap.update_node(node(f"n{rng.randrange(20)}", rng.choice(["a", "b", None])))
            for gk in list(snap.index.groups):
                snap.index.domain_counts(gk, ZONE)
        if step % 50 == 1:
            fresh = PodIndex.of(snap.infos.values())  # deleted nodes whose pods are still counted too
            for gk in fresh.groups:
                assert snap.index.domain_counts(gk, ZONE) == fresh.domain_counts(gk, ZONE)
            assert {k: dict(v) for k, v in snap.index.groups.items()} == {k: dict(v) for k, v in fresh.groups.items()}
            assert {k: dict(v) for k, v in snap.index.dying.items()} == {k: dict(v) for k, v in fresh.dying.items()}
            assert set(snap.index.with_affinity) == set(fresh.with_affinity)
            sel = from_label_selector({"matchLabels": {"app": "a"}})
            assert snap.index.count_by_node(frozenset({"default"}), sel) == fresh.count_by_node(frozenset({"default"}), sel)


def test_terminating_pods_count_for_affinity_but_not_for_spread() -> None:
    gone = pod("db-0", "n1", {"app": "db"})
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    snap = three_nodes(gone, pod("db-1", "n2", {"app": "db"}))
    _, failures, _ = run(snap, pod("p", labels={"app": "x"}, **required("podAntiAffinity", "db", HOST)),
                         InterPodAffinity())
    assert set(failures) == {"n1", "n2"}  # the replica still shutting down on n1 counts, as in kube-scheduler
    spread_db = {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": HOST, "whenUnsatisfiable": "DoNotSchedule",
                                                "labelSelector": {"matchLabels": {"app": "db"}}}]}
    _, failures, _ = run(snap, pod("p", labels={"app": "db"}, **spread_db), PodTopologySpread())
    assert set(failures) == {"n2"}  # for spreading it does not


def test_a_namespace_selector_follows_namespace_labels() -> None:
    labels = {"other": {}}
    snap = three_nodes(pod("w", "n1", {"app": "web"}, ns="other"))
    term = {"namespaceSelector": {"matchLabels": {"team": "x"}}}
    p = pod("p", labels={"app": "x"}, **required("podAntiAffinity", "web", HOST, **term))
    fw = Framework([InterPodAffinity()])

    def failures() -> set[str]:
        cluster = Cluster(snap.node_infos(), snap.index, by_name=snap.infos,
                          ns_labels=lambda ns: {"kubernetes.io/metadata.name": ns, **labels.get(ns, {})})
        return {n for n, _ in fw.schedule(p, cluster.nodes, cluster=cluster).failures}
    assert failures() == set()
    labels["other"] = {"team": "x"}  # the namespace is labelled: its pods now count
    assert failures() == {"n1"}


def test_zone_counts_are_not_kept_for_revisions_that_are_gone() -> None:
    snap = three_nodes()
    for rev in range(50):
        p = pod(f"r{rev}", "n1", {"app": "web", "hash": str(rev)})
        snap.add_pod(p)
        for gk in snap.index.matching(frozenset({"default"}), from_label_selector({"matchLabels": {"app": "web"}})):
            snap.index.domain_counts(gk, ZONE)
        snap.remove_pod(p)
    assert len(snap.index._domains) <= 1


# -- configuration --------------------------------------------------------------------------------

def test_plugin_args_are_read_and_checked_like_kube_schedulers() -> None:
    c = sc.parse({"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
                  "profiles": [{"pluginConfig": [
                      {"name": "InterPodAffinity", "args": {"hardPodAffinityWeight": 5}},
                      {"name": "PodTopologySpread", "args": {"defaultingType": "List", "defaultConstraints": [
                          {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway"}]}}]}]}, reg.build())
    assert c.warnings == []
    plugins = {p.name: p for p in c.profiles[0].framework.plugins}
    assert plugins["InterPodAffinity"].hard_weight == 5
    assert plugins["PodTopologySpread"].default_constraints[0]["topologyKey"] == ZONE
    with pytest.raises(sc.ConfigError, match=r"hardPodAffinityWeight: Invalid value: 101: not in valid range \[0, 100\]"):
        sc.parse({"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
                  "profiles": [{"pluginConfig": [{"name": "InterPodAffinity", "args": {"hardPodAffinityWeight": 101}}]}]},
                 reg.build())
