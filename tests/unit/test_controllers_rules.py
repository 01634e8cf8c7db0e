"""The controllers' pure rules: rollout arithmetic, pod ranking, endpoints, daemon eligibility, jobs, events."""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import time

import pytest

from control.api import meta
from control.apiserver.ranges import ClusterNetwork
from control.controllers import controller_utils as cu
from control.controllers import daemonset as ds_rules
from control.controllers import deployment as d_rules
from control.controllers import job as job_rules
from control.controllers import nodelifecycle as nl
from control.controllers.endpoints import compute_subsets, find_port
from control.controllers.events import EventCorrelator, EventRecorder
from control.controllers.garbagecollector import classify_owners
from control.controllers.namespace import deletion_order

T0 = 1_700_000_000.0


def ts(t: float) -> str:
    return meta.to_rfc3339(t)


def pod(name: str, *, node: str = "", phase: str = "Running", ready: bool = True, restarts: int = 0, created: float = T0,
        ready_since: float = T0, ip: str | None = "127.128.0.5", labels: dict | None = None, ports: list | None = None,
        deleting: bool = False) -> dict:
    p: dict = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "creationTimestamp": ts(created),
                     "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "image": "x", "ports": ports or []}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ts(ready_since)}],
                   "containerStatuses": [{"name": "c", "restartCount": restarts}]},
    }
    if node:
        p["spec"]["nodeName"] = node
    if ip:
        p["status"]["podIP"] = ip
    if deleting:
        p["metadata"]["deletionTimestamp"] = ts(T0)
    return p


# --- surge / unavailable rounding -----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "total", "up", "down"), [
    ("25%", 10, 3, 2), ("25%", 4, 1, 1), ("25%", 1, 1, 0), ("50%", 3, 2, 1), (2, 10, 2, 2), ("3", 10, 3, 3), ("0%", 5, 0, 0),
])
def test_scaled_value_rounding(value: int | str, total: int, up: int, down: int) -> None:
    assert cu.scaled_value(value, total, True) == up
    assert cu.scaled_value(value, total, False) == down


def test_fenceposts_never_both_zero() -> None:
    assert d_rules.resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert d_rules.resolve_fenceposts(0, 0, 10) == (0, 1)
    assert d_rules.resolve_fenceposts("0%", "10%", 5) == (0, 1)  # 10% of 5 rounds down to 0


def _deploy(replicas: int, surge: int | str = "25%", unavailable: int | str = "25%", strategy: str = "RollingUpdate") -> dict:
    spec: dict = {"replicas": replicas, "strategy": {"type": strategy}}
    if strategy == "RollingUpdate":
        spec["strategy"]["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "d", "generation": 1, "uid": "d-uid"}, "spec": spec, "status": {}}


def _rs(name: str, replicas: int, available: int = 0, created: float = T0, revision: int | None = None) -> dict:
    md: dict = {"name": name, "uid": f"uid-{name}", "creationTimestamp": ts(created), "annotations": {}}
    if revision is not None:
        md["annotations"][d_rules.REVISION] = str(revision)
    return {"metadata": md, "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "availableReplicas": available, "readyReplicas": available}}


def test_max_surge_and_unavailable_for_deployments() -> None:
    assert (d_rules.max_surge(_deploy(4)), d_rules.max_unavailable(_deploy(4))) == (1, 1)
    assert (d_rules.max_surge(_deploy(1)), d_rules.max_unavailable(_deploy(1))) == (1, 0)
    assert d_rules.max_unavailable(_deploy(3, 0, 5)) == 3  # never more than replicas
    assert (d_rules.max_surge(_deploy(4, strategy="Recreate")), d_rules.max_unavailable(_deploy(4, strategy="Recreate"))) == (0, 0)


def test_new_replica_set_grows_by_surge() -> None:
    d = _deploy(10)  # surge 3
    old = _rs("old", 10, 10)
    assert d_rules.new_rs_new_replicas(d, [old], 0) == 3
    new = _rs("new", 3)
    assert d_rules.new_rs_new_replicas(d, [old, new], 3) == 3  # at 13 already: no more
    old2 = _rs("old", 7, 7)
    assert d_rules.new_rs_new_replicas(d, [old2, new], 3) == 6
    assert d_rules.new_rs_new_replicas(_deploy(10, strategy="Recreate"), [old], 0) == 10


def test_old_replica_sets_scale_down_within_max_unavailable() -> None:
    d = _deploy(10)  # surge 3, unavailable 2: min available 8
    old = _rs("old", 10, 10, created=T0)
    new = _rs("new", 3, 0, created=T0 + 10)
    # 13 pods, new ones not available: 13 - 8 - 3 = 2 may go
    assert d_rules.reconcile_old_replica_sets(d, [old, new], [old], new) == {"old": 8}
    # once the new pods are available the old RS can go further down
    new_ok = _rs("new", 3, 3, created=T0 + 10)
    old8 = _rs("old", 8, 8, created=T0)
    assert d_rules.reconcile_old_replica_sets(d, [old8, new_ok], [old8], new_ok) == {"old": 5}


def test_unhealthy_old_replicas_go_first() -> None:
    d = _deploy(4, 1, 0)  # min available 4
    old_a = _rs("a", 2, 0, created=T0)  # all unhealthy
    old_b = _rs("b", 3, 3, created=T0 + 1)
    new = _rs("new", 1, 1, created=T0 + 2)
    sizes = d_rules.reconcile_old_replica_sets(d, [old_a, old_b, new], [old_a, old_b], new)
    # 6 pods, min 4: 2 unhealthy ones from a go; b is untouched (available 4 == min)
    assert sizes == {"a": 0}


def test_nothing_to_scale_down_when_at_minimum() -> None:
    d = _deploy(4, 1, 1)
    old = _rs("old", 3, 3)
    new = _rs("new", 2, 0, created=T0 + 5)
    assert d_rules.reconcile_old_replica_sets(d, [old, new], [old], new) == {}


def test_proportional_scaling() -> None:
    # Kubernetes' "proportional scaling: 10 -> 20 while rolling out" case: 5/5 at max 13 (10 + 3)
    d = _deploy(20)
    d["status"] = {"replicas": 10}
    a = _rs("a", 5, created=T0)
    b = _rs("b", 5, created=T0 + 1)
    for rs in (a, b):
        rs["metadata"]["annotations"][d_rules.MAX_REPLICAS] = "13"
        rs["metadata"]["annotations"][d_rules.DESIRED_REPLICAS] = "10"
    # 15 to add (20 + surge 5 - 10): 5/13 of 25 each, rounded, and the leftover to the first (newer) one
    assert d_rules.scale_plan(d, b, [a]) == {"b": 15, "a": 10}
    assert d_rules.is_scaling_event(d, [a, b])
    # a single active RS just takes the new size
    assert d_rules.scale_plan(_deploy(7), _rs("n", 3), [_rs("o", 0)]) == {"n": 7}


def test_deployment_status_and_completion() -> None:
    d = _deploy(3)
    new = _rs("new", 3, 3)
    st = d_rules.calculate_status(d, [new], new)
    assert st["replicas"] == 3 and st["updatedReplicas"] == 3 and st["availableReplicas"] == 3 and st["unavailableReplicas"] == 0
    cond = next(c for c in st["conditions"] if c["type"] == "Available")
    assert (cond["status"], cond["reason"]) == ("True", "MinimumReplicasAvailable")
    assert d_rules.deployment_complete(d, st)
    st2 = d_rules.calculate_status(d, [_rs("old", 2, 0), _rs("new", 1, 0)], _rs("new", 1, 0))
    cond = next(c for c in st2["conditions"] if c["type"] == "Available")
    assert cond["reason"] == "MinimumReplicasUnavailable" and not d_rules.deployment_complete(d, st2)


# --- template hash ------------------------------------------------------------------------------------------


def test_template_hash_is_stable_and_safe() -> None:
    t = {"metadata": {"labels": {"app": "x", "tier": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    reordered = {"spec": {"containers": [{"image": "nginx", "name": "c"}]}, "metadata": {"labels": {"tier": "web", "app": "x"}}}
    h = d_rules.compute_hash(t)
    assert h == d_rules.compute_hash(reordered) == d_rules.compute_hash(copy.deepcopy(t))
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(h) <= 10
    assert d_rules.compute_hash(t, 1) != h
    changed = copy.deepcopy(t)
    changed["spec"]["containers"][0]["image"] = "nginx:2"
    assert d_rules.compute_hash(changed) != h
    assert d_rules.fnv32a(b"") == 0x811C9DC5 and d_rules.fnv32a(b"a") == 0xE40C292C  # FNV-1a test vectors
    assert d_rules.safe_encode_string("0123") == "4567"  # "0" is byte 48, 48 % 27 = 21: "4"


def test_equal_ignore_hash() -> None:
    t1 = {"metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}}, "spec": {"containers": [{"name": "c"}]}}
    t2 = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c"}], "tolerations": []}}
    assert d_rules.equal_ignore_hash(t1, t2)
    t2["metadata"]["labels"]["app"] = "y"
    assert not d_rules.equal_ignore_hash(t1, t2)


# --- pod ranking --------------------------------------------------------------------------------------------


def test_least_valuable_pods_are_deleted_first() -> None:
    unscheduled = pod("unscheduled", phase="Pending", ready=False)
    pending = pod("pending", node="n1", phase="Pending", ready=False)
    not_ready = pod("not-ready", node="n1", ready=False)
    ready_new = pod("ready-new", node="n2", ready_since=T0 + 100)
    ready_old = pod("ready-old", node="n3", ready_since=T0)
    restarts = pod("restarts", node="n4", ready_since=T0, restarts=5)
    ordered = sorted([ready_old, restarts, ready_new, not_ready, pending, unscheduled], key=cu.deletion_cost_key)
    assert [p["metadata"]["name"] for p in ordered] == ["unscheduled", "pending", "not-ready", "ready-new", "restarts", "ready-old"]
    # newer first, all else equal
    a, b = pod("a", node="n", created=T0), pod("b", node="n", created=T0 + 5)
    assert [p["metadata"]["name"] for p in sorted([a, b], key=cu.deletion_cost_key)] == ["b", "a"]


def test_doubled_up_nodes_lose_pods_first() -> None:
    ps = [pod("x1", node="x"), pod("x2", node="x"), pod("y1", node="y")]
    victims = cu.pods_to_delete(ps, ps, 1)
    assert victims[0]["metadata"]["name"] in ("x1", "x2")
    assert cu.pods_to_delete(ps, ps, 5) == ps


def test_pod_availability() -> None:
    p = pod("p", ready_since=T0)
    assert cu.is_pod_available(p, 0, T0)
    assert not cu.is_pod_available(p, 10, T0 + 5)
    assert cu.is_pod_available(p, 10, T0 + 10)
    assert not cu.is_pod_active(pod("f", phase="Failed")) and not cu.is_pod_active(pod("d", deleting=True))


def test_expectations_and_slow_start() -> None:
    e = cu.Expectations()
    assert e.satisfied("k")
    e.expect_creations("k", 2)
    assert not e.satisfied("k")
    e.creation_observed("k")
    e.creation_observed("k")
    assert e.satisfied("k")
    e.expect_deletions("k", ["default/a"])
    e.deletion_observed("k", "default/other")
    assert not e.satisfied("k")
    e.deletion_observed("k", "default/a")
    assert e.satisfied("k")
    expired = cu.Expectations(timeout=0.0)
    expired.expect_creations("k", 1)
    time.sleep(0.001)
    assert expired.satisfied("k")

    batches: list[int] = []
    calls = 0

    async def ok() -> None:
        nonlocal calls
        calls += 1

    async def run() -> tuple[int, Exception | None]:
        return await cu.slow_start_batch(10, ok)

    assert asyncio.run(run()) == (10, None) and calls == 10

    async def fail_on_fourth() -> None:
        nonlocal calls
        calls += 1
        batches.append(calls)
        if calls == 4:
            raise RuntimeError("boom")

    calls = 0
    done, err = asyncio.run(cu.slow_start_batch(10, fail_on_fourth))
    # batches of 1, 2, then 4 (one of which fails): 3 + 3 successes, the rest never tried
    assert done == 6 and isinstance(err, RuntimeError) and calls == 7


# --- endpoints -------------------------------------------------------------------------------------------------


def _svc(ports: list[dict], **spec: object) -> dict:
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": {"selector": {"app": "w"}, "ports": ports, **spec}}


def test_endpoints_ready_and_not_ready_with_named_ports() -> None:
    named = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    a = pod("a", node="n1", ip="127.128.0.3", ports=named)
    b = pod("b", node="n1", ip="127.128.0.2", ports=named, ready=False)
    c = pod("c", ip=None, ports=named)  # no IP yet
    d = pod("d", ip="127.128.0.9", ports=named, deleting=True)
    e = pod("e", ip="127.128.0.10", ports=named, phase="Succeeded")
    svc = _svc([{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}])
    subsets = compute_subsets(svc, [a, b, c, d, e])
    assert len(subsets) == 1
    s = subsets[0]
    assert [x["ip"] for x in s["addresses"]] == ["127.128.0.3"]
    assert [x["ip"] for x in s["notReadyAddresses"]] == ["127.128.0.2"]
    assert s["addresses"][0]["targetRef"] == {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"}
    assert s["addresses"][0]["nodeName"] == "n1"
    assert s["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]


def test_endpoints_group_pods_by_resolved_port() -> None:
    a = pod("a", ip="127.128.0.1", ports=[{"name": "http", "containerPort": 8080}])
    b = pod("b", ip="127.128.0.2", ports=[{"name": "http", "containerPort": 9090}])
    c = pod("c", ip="127.128.0.3", ports=[])  # lacks the named port: left out
    svc = _svc([{"port": 80, "targetPort": "http", "protocol": "TCP"}])
    subsets = compute_subsets(svc, [a, b, c])
    assert [(s["addresses"][0]["ip"], s["ports"][0]["port"]) for s in subsets] == [("127.128.0.1", 8080), ("127.128.0.2", 9090)]
    assert find_port(a, {"port": 80, "targetPort": 81}) == 81
    assert find_port(a, {"port": 80}) == 80
    assert find_port(a, {"port": 80, "targetPort": "http", "protocol": "UDP"}) is None
    published = compute_subsets(_svc([{"port": 80, "targetPort": 80}], publishNotReadyAddresses=True), [pod("n", ready=False)])
    assert published[0]["addresses"] and "notReadyAddresses" not in published[0]
    assert compute_subsets(svc, []) == []


# --- daemonset ------------------------------------------------------------------------------------------------


def _node(name: str, labels: dict | None = None, taints: list | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def _ds(**template_spec: object) -> dict:
    return {"metadata": {"name": "agent", "namespace": "default", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "a"}},
                     "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c"}], **template_spec}}}}


def test_daemonset_eligibility() -> None:
    plain = _node("n")
    assert ds_rules.node_should_run_daemon_pod(plain, _ds()) == (True, True)
    assert ds_rules.node_should_run_daemon_pod(_node("n", {"disk": "ssd"}), _ds(nodeSelector={"disk": "ssd"})) == (True, True)
    assert ds_rules.node_should_run_daemon_pod(plain, _ds(nodeSelector={"disk": "ssd"})) == (False, False)
    no_sched = _node("n", taints=[{"key": "dedicated", "value": "x", "effect": "NoSchedule"}])
    assert ds_rules.node_should_run_daemon_pod(no_sched, _ds()) == (False, True)  # may keep running there
    no_exec = _node("n", taints=[{"key": "dedicated", "value": "x", "effect": "NoExecute"}])
    assert ds_rules.node_should_run_daemon_pod(no_exec, _ds()) == (False, False)
    tolerated = _ds(tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert ds_rules.node_should_run_daemon_pod(no_exec, tolerated) == (True, True)
    # the automatic daemon tolerations: unschedulable and not-ready nodes still run daemons
    cordoned = _node("n", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                                  {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}])
    assert ds_rules.node_should_run_daemon_pod(cordoned, _ds()) == (True, True)
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}
    assert ds_rules.node_should_run_daemon_pod(_node("n", {"zone": "b"}), _ds(affinity=affinity)) == (False, False)
    assert ds_rules.node_should_run_daemon_pod(_node("n", {"zone": "a"}), _ds(affinity=affinity)) == (True, True)


def test_daemon_pod_pinned_to_its_node() -> None:
    spec: dict = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}}}
    ds_rules.replace_node_affinity(spec, "n7")
    assert ds_rules.target_node({"spec": spec}) == "n7"
    assert ds_rules.target_node({"spec": {"nodeName": "n8"}}) == "n8"
    ds_rules.add_daemon_tolerations(spec)
    ds_rules.add_daemon_tolerations(spec)  # idempotent
    assert len(spec["tolerations"]) == len(ds_rules.DAEMON_TOLERATIONS)


def test_daemonset_plan_and_rolling_update() -> None:
    ds = _ds()
    h = ds_rules.template_hash(ds)
    nodes = [_node("a"), _node("b"), _node("c")]

    def dpod(name: str, node: str, hash_: str = h, ready: bool = True, **kw: object) -> dict:
        p = pod(name, node=node, ready=ready, labels={"app": "a", ds_rules.REVISION_HASH_LABEL: hash_}, **kw)  # type: ignore[arg-type]
        return p

    on = {"a": [dpod("a1", "a"), dpod("a2", "a", created=T0 + 1)], "gone": [dpod("g", "")]}
    on["gone"][0]["spec"].pop("nodeName", None)
    ds_rules.replace_node_affinity(on["gone"][0]["spec"], "gone")
    plan = ds_rules.plan_nodes(ds, nodes, on)
    assert sorted(plan.create_on) == ["b", "c"]
    assert {p["metadata"]["name"] for p in plan.delete} == {"a2", "g"}  # the younger duplicate, the orphan
    # rolling update: old pods everywhere, one at a time (maxUnavailable 1)
    old = {n: [dpod(f"{n}-old", n, hash_="old")] for n in ("a", "b", "c")}
    victims = ds_rules.rolling_update_victims(ds, nodes, old, h)
    assert len(victims) == 1
    # a node with a new pod not yet ready uses up the budget
    mid = {"a": [dpod("a-new", "a", ready=False)], "b": [dpod("b-old", "b", hash_="old")], "c": [dpod("c-old", "c", hash_="old")]}
    assert ds_rules.rolling_update_victims(ds, nodes, mid, h) == []
    st = ds_rules.calculate_status(ds, nodes, mid, h)
    assert (st["desiredNumberScheduled"], st["currentNumberScheduled"], st["numberReady"], st["updatedNumberScheduled"]) == (3, 3, 2, 1)
    assert st["numberUnavailable"] == 1


# --- job -----------------------------------------------------------------------------------------------------------


def _job(completions: int | None = 3, parallelism: int = 2, backoff: int = 6, restart: str = "Never") -> dict:
    spec: dict = {"parallelism": parallelism, "backoffLimit": backoff, "template": {"spec": {"restartPolicy": restart}}}
    if completions is not None:
        spec["completions"] = completions
    return {"metadata": {"name": "j"}, "spec": spec}


def test_job_arithmetic() -> None:
    assert job_rules.want_active(_job(3, 2), 0, 0) == 2
    assert job_rules.want_active(_job(3, 2), 2, 2) == 1
    assert job_rules.want_active(_job(3, 2), 0, 3) == 0
    assert job_rules.want_active(_job(None, 4), 0, 0) == 4
    assert job_rules.want_active(_job(None, 4), 3, 1) == 3  # a work queue: let them finish, start no more
    suspended = _job()
    suspended["spec"]["suspend"] = True
    assert job_rules.want_active(suspended, 2, 0) == 0
    counts = job_rules.count_pods([pod("a"), pod("b", phase="Succeeded"), pod("c", phase="Failed"), pod("d", deleting=True),
                                   pod("e", ready=False, phase="Pending")])
    assert (counts.active, counts.ready, counts.succeeded, counts.failed, counts.terminating) == (2, 1, 1, 1, 1)
    assert job_rules.is_complete(_job(1), counts)
    assert not job_rules.is_complete(_job(None), counts)  # still active ones
    assert job_rules.is_complete(_job(None), job_rules.PodCounts(succeeded=1))


def test_job_backoff_limit_rules() -> None:
    assert not job_rules.exceeds_backoff_limit(_job(backoff=2), job_rules.PodCounts(failed=2), [])
    assert job_rules.exceeds_backoff_limit(_job(backoff=2), job_rules.PodCounts(failed=3), [])
    on_failure = _job(backoff=3, restart="OnFailure")
    assert job_rules.exceeds_backoff_limit(on_failure, job_rules.PodCounts(), [pod("p", restarts=3)])
    assert not job_rules.exceeds_backoff_limit(on_failure, job_rules.PodCounts(), [pod("p", restarts=2)])
    failed = [pod("f1", phase="Failed", ready_since=T0), pod("f2", phase="Failed", ready_since=T0)]
    assert job_rules.backoff_remaining(failed, 10, 300, now=T0 + 5) == pytest.approx(15)  # 10 * 2^(2-1) from T0
    assert job_rules.backoff_remaining(failed, 10, 15, now=T0 + 5) == pytest.approx(10)  # capped
    assert job_rules.backoff_remaining([], 10, 300) == 0


# --- node lifecycle --------------------------------------------------------------------------------------------


def test_pod_cidr_indexes() -> None:
    net = ClusterNetwork(ipaddress.ip_network("127.100.0.0/16"), ipaddress.ip_network("127.144.0.0/12"))
    assert net.cidr_index("127.144.0.0/24") == 0 and net.pod_cidr(0) == "127.144.0.0/24"
    assert net.cidr_index("127.144.3.0/24") == 3 and net.pod_cidr(3) == "127.144.3.0/24"
    assert net.cidr_index("127.160.0.0/24") is None  # the next cluster's
    assert net.cidr_index("127.144.0.0/25") is None  # not a node's /24
    assert net.cidr_index("10.0.0.0/24") is None and net.cidr_index("junk") is None
    assert net.node_slots == 4096 and net.pod_cidr(4095) == "127.159.255.0/24"
    with pytest.raises(RuntimeError, match="exhausted"):
        net.pod_cidr(4096)
    assert nl.next_free_index({0, 1, 3}) == 2


def test_node_conditions_and_taints() -> None:
    n = {"metadata": {"name": "n", "creationTimestamp": ts(T0)},
         "spec": {"taints": [{"key": "user", "effect": "NoSchedule"}]},
         "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": ts(T0)}]}}
    assert nl.mark_unknown(n, ts(T0 + 50))
    ready = n["status"]["conditions"][0]
    assert (ready["status"], ready["reason"], ready["message"]) == ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert ready["lastHeartbeatTime"] == ts(T0)  # kept: it says when the kubelet was last heard
    assert {c["type"] for c in n["status"]["conditions"]} == set(nl.MONITORED_CONDITIONS)
    assert not nl.mark_unknown(n, ts(T0 + 60))
    taints = nl.desired_taints(n, ts(T0 + 50))
    assert {(t["key"], t["effect"]) for t in taints} == {("user", "NoSchedule"), (nl.UNREACHABLE_TAINT, "NoExecute"), (nl.UNREACHABLE_TAINT, "NoSchedule")}
    n["spec"]["taints"] = taints
    ready.update(status="False")
    keys = {(t["key"], t["effect"]) for t in nl.desired_taints(n, ts(T0))}
    assert (nl.NOT_READY_TAINT, "NoExecute") in keys and (nl.UNREACHABLE_TAINT, "NoExecute") not in keys
    ready.update(status="True")
    n["spec"]["unschedulable"] = True
    assert {(t["key"], t["effect"]) for t in nl.desired_taints(n, ts(T0))} == {("user", "NoSchedule"), (nl.UNSCHEDULABLE_TAINT, "NoSchedule")}


def test_eviction_delay() -> None:
    taint = [{"key": nl.UNREACHABLE_TAINT, "effect": "NoExecute"}]
    default = {"key": nl.UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
    p = pod("p")
    p["spec"]["tolerations"] = [default]
    # what the pod's spec says, 300 s included: the cluster's timing is the admission's business, so
    # describe pod's "for 300s" is what happens
    assert nl.eviction_delay(p, taint) == 300.0
    p["spec"]["tolerations"] = [dict(default, tolerationSeconds=6)]
    assert nl.eviction_delay(p, taint) == 6.0
    p["spec"]["tolerations"] = [{"key": nl.UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute"}]
    assert nl.eviction_delay(p, taint) == nl.FOREVER
    p["spec"]["tolerations"] = []
    assert nl.eviction_delay(p, taint) == 0.0
    assert nl.eviction_delay(p, [{"key": "x", "effect": "NoSchedule"}]) is None


# --- events ----------------------------------------------------------------------------------------------------


def test_event_aggregation() -> None:
    rec = EventRecorder.__new__(EventRecorder)
    rec.component, rec.host = "replicaset-controller", None
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "prod", "uid": "u1"}}
    corr = EventCorrelator()
    e1 = rec.make_event(rs, "Normal", "SuccessfulCreate", "Created pod: web-abcde")
    assert e1["metadata"]["namespace"] == "prod" and e1["metadata"]["name"].startswith("web.")
    assert e1["involvedObject"] == {"kind": "ReplicaSet", "name": "web", "apiVersion": "apps/v1", "namespace": "prod", "uid": "u1"}
    assert e1["source"] == {"component": "replicaset-controller"} and e1["reportingComponent"] == "replicaset-controller"
    out, repeat = corr.observe(e1)
    assert not repeat and out["count"] == 1
    e2 = rec.make_event(rs, "Normal", "SuccessfulCreate", "Created pod: web-abcde")
    out, repeat = corr.observe(e2)
    assert repeat and out["count"] == 2 and out["metadata"]["name"] == e1["metadata"]["name"]
    assert out["firstTimestamp"] == e1["firstTimestamp"]
    other, repeat = corr.observe(rec.make_event(rs, "Normal", "SuccessfulCreate", "Created pod: web-fghij"))
    assert not repeat and other["count"] == 1
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    ne = rec.make_event(node, "Normal", "NodeNotReady", "Node n1 status is now: NodeNotReady")
    assert ne["metadata"]["namespace"] == "default" and ne["involvedObject"]["uid"] == "n1"
    small = EventCorrelator(size=1)
    small.observe(e1)
    small.observe(other)
    assert not small.observe(e1)[1]  # evicted from the LRU: a fresh event


# --- garbage collector, namespace ------------------------------------------------------------------------------


def test_classify_owners() -> None:
    refs = [{"uid": "a"}, {"uid": "b"}, {"uid": "c"}]
    owners = {"a": {"metadata": {}}, "b": None,
              "c": {"metadata": {"deletionTimestamp": ts(T0), "finalizers": ["foregroundDeletion"]}}}
    solid, dangling, waiting = classify_owners(refs, owners)
    assert (solid, dangling, waiting) == ([{"uid": "a"}], [{"uid": "b"}], [{"uid": "c"}])


def test_namespace_deletion_order() -> None:
    order = deletion_order()
    assert order[-1] == "Event"
    assert order.index("Deployment") < order.index("ReplicaSet") < order.index("Pod")
    assert "Namespace" not in order and "Node" not in order
