"""The HPA's replica calculation (replica_calculator.go), with fake metrics and an injected clock."""

from __future__ import annotations

import pytest

from control.api import meta
from control.controllers.replica_calculator import MetricsError, PodMetric, ReplicaCalculator

NOW = 1_000_000.0


def pod(name: str, *, cpu: str | None = "100m", phase: str = "Running", ready: str = "True", started: float = NOW - 600,
        ready_since: float = NOW - 590, deleting: bool = False) -> dict:
    requests = {"cpu": cpu} if cpu is not None else {}
    p: dict = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "resources": {"requests": requests}}]},
               "status": {"phase": phase, "startTime": meta.to_rfc3339(started),
                          "conditions": [{"type": "Ready", "status": ready,
                                          "lastTransitionTime": meta.to_rfc3339(ready_since)}]}}
    if deleting:
        p["metadata"]["deletionTimestamp"] = meta.to_rfc3339(NOW)
    return p


def calc(**kw: float) -> ReplicaCalculator:
    return ReplicaCalculator(clock=lambda: NOW, **kw)  # type: ignore[arg-type]


def m(value: int, at: float = NOW - 5) -> PodMetric:
    return PodMetric(value, at, 10.0)


def test_scale_up_is_ceil_of_ready_pods_times_usage_over_target() -> None:
    pods = [pod("a"), pod("b")]
    replicas, utilization, raw = calc().resource_replicas(2, 50, "cpu", pods, {"a": m(180), "b": m(180)})
    assert (replicas, utilization, raw) == (8, 180, 180)  # ceil(2 * 180 / 50)


def test_within_tolerance_keeps_the_current_count() -> None:
    pods = [pod("a"), pod("b")]
    assert calc().resource_replicas(2, 50, "cpu", pods, {"a": m(54), "b": m(54)})[0] == 2  # 108% of target
    assert calc().resource_replicas(2, 50, "cpu", pods, {"a": m(56), "b": m(56)})[0] == 3  # 112%: ceil(2.24)


def test_scale_down() -> None:
    pods = [pod(n) for n in "abcd"]
    assert calc().resource_replicas(4, 50, "cpu", pods, {n: m(10) for n in "abcd"})[0] == 1


def test_missing_pods_count_as_their_request_on_a_scale_down() -> None:
    # 3 pods at 20% of request, one without a metric: counted at 100%, so (20*3+100)/4 = 40% of a 50% target:
    # ratio 0.8, ceil(0.8 * 4) = 4, no scale down (without the missing pod it would be ceil(0.4 * 3) = 2)
    pods = [pod(n) for n in "abcd"]
    replicas, utilization, _ = calc().resource_replicas(4, 50, "cpu", pods, {n: m(20) for n in "abc"})
    assert (replicas, utilization) == (4, 20)


def test_missing_pods_count_as_nothing_on_a_scale_up() -> None:
    pods = [pod(n) for n in "abcd"]
    # 3 pods at 150% of request and one missing (0): 112.5% over 4 pods of a 50% target: ceil(2.25 * 4) = 9
    assert calc().resource_replicas(4, 50, "cpu", pods, {n: m(150) for n in "abc"})[0] == 9


def test_unready_pods_count_as_nothing_on_a_scale_up_and_are_left_out_otherwise() -> None:
    pods = [pod("a"), pod("b", ready="False", started=NOW - 20, ready_since=NOW - 20)]
    metrics = {"a": m(200), "b": m(500)}
    # b is initializing and unready: left out of the ratio (a: 200%), then counted at 0 for the scale up
    replicas, utilization, _ = calc().resource_replicas(2, 50, "cpu", pods, metrics)
    assert utilization == 200 and replicas == 4  # (200 + 0) / 2 = 100% -> ceil(2.0 * 2) = 4
    # on a scale down the unready pod is simply ignored
    assert calc().resource_replicas(2, 50, "cpu", pods, {"a": m(10), "b": m(500)})[0] == 1


def test_a_sample_from_before_readiness_is_not_trusted_during_initialization() -> None:
    fresh = pod("a", started=NOW - 12, ready_since=NOW - 10)  # ready 10 s ago; the sample's window reaches back
    with pytest.raises(MetricsError, match=r"did not receive metrics for targeted pods \(pods might be unready\)"):
        calc().resource_replicas(1, 50, "cpu", [fresh], {"a": m(0)})
    later = pod("a", started=NOW - 30, ready_since=NOW - 28)
    assert calc().resource_replicas(1, 50, "cpu", [later], {"a": m(100)})[0] == 2


def test_pending_deleted_and_failed_pods() -> None:
    pods = [pod("a"), pod("p", phase="Pending"), pod("d", deleting=True), pod("f", phase="Failed")]
    # only a counts; p is unready (0 on a scale up), d and f are ignored
    replicas, utilization, _ = calc().resource_replicas(2, 50, "cpu", pods, {"a": m(100), "d": m(900), "f": m(900)})
    assert utilization == 100 and replicas == 2  # (100 + 0) / 2 = 50%: the target


def test_errors_in_the_replica_calculators_words() -> None:
    with pytest.raises(MetricsError, match="^unable to get metrics for resource cpu: no metrics returned from resource "
                                           "metrics API$"):
        calc().resource_replicas(1, 50, "cpu", [pod("a")], {})
    with pytest.raises(MetricsError, match="^missing request for cpu in container c of Pod a$"):
        calc().resource_replicas(1, 50, "cpu", [pod("a", cpu=None)], {"a": m(10)})
    with pytest.raises(MetricsError, match="^no pods returned by selector while calculating replica count$"):
        calc().resource_replicas(1, 50, "cpu", [], {"a": m(10)})


def test_memory_readiness_is_not_doubted() -> None:
    fresh = pod("a", cpu=None, started=NOW - 2, ready_since=NOW - 1)
    fresh["spec"]["containers"][0]["resources"]["requests"] = {"memory": "100Mi"}
    used = 150 * 2**20 * 1000  # milli-bytes
    replicas, utilization, _ = calc().resource_replicas(1, 100, "memory", [fresh], {"a": PodMetric(used, NOW, 10.0)})
    assert (replicas, utilization) == (2, 150)


def test_average_value_targets() -> None:
    pods = [pod("a"), pod("b")]
    assert calc().raw_resource_replicas(2, 100, "cpu", pods, {"a": m(300), "b": m(100)}) == (4, 200)
    assert calc().raw_resource_replicas(2, 100, "cpu", pods, {"a": m(105), "b": m(100)}) == (2, 102)  # tolerance


def test_a_missing_request_is_told_before_pods_without_usable_metrics() -> None:
    # GetResourceReplicas computes the requests (calculatePodRequests) before it checks that any metric is left:
    # a pod without a CPU request that is still starting is reported as the missing request, not as unready
    starting = pod("a", cpu=None, ready="False", started=NOW - 10, ready_since=NOW - 10)
    with pytest.raises(MetricsError) as e:
        calc().resource_replicas(1, 50, "cpu", [starting], {"a": m(10)})
    assert str(e.value) == "missing request for cpu in container c of Pod a"
