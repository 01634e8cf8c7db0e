"""ResourceQuota and LimitRange: quantities, LimitRanger's defaults and refusals, the quota admission's check, the
validators, and kubectl's columns and describers, with the words and numbers of the Kubernetes docs' examples."""

from __future__ import annotations

from typing import Any

import pytest

from control.api import kinds, limitrange, quantity
from control.api import resourcequota as rqs
from control.api.defaults import apply_defaults
from control.api.validation import validate
from control.controllers.deployment import replica_failure
from control.controllers.resourcequota import hard_of, needs_sync
from control.errors import ApiError
from tui.printers.describers import describe
from tui.printers.table import table

POD = kinds.by_kind("Pod")


def pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (), **md: Any) -> dict:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **md}, "spec": spec}


def ctr(name: str, requests: dict | None = None, limits: dict | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    return {"name": name, "image": "nginx", "resources": res}


def quota(hard: dict[str, str], used: dict[str, str] | None, name: str = "q", **spec: Any) -> dict:
    status = {"hard": hard, **({"used": used} if used is not None else {})}
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"hard": hard, **spec}, "status": status}


def forbidden(fn: Any, *args: Any) -> str:
    with pytest.raises(ApiError) as e:
        fn(*args)
    assert e.value.code == 403 and e.value.reason == "Forbidden"
    return e.value.message


@pytest.mark.parametrize("written, shown", [("1.5Gi", "1536Mi"), ("0.5", "500m"), (0.5, "500m"), (1, "1"),
                                            ("1000", "1k"), ("1e3", "1e3"), ("512", "512"), ("1024", "1024"),
                                            ("2048", "2048"), ("2Ki", "2Ki"), ("1G", "1G"), ("100m", "100m")])
def test_quantities_print_as_kubernetes_canonical_strings(written: Any, shown: str) -> None:
    assert quantity.canonical_of(written) == shown


def test_a_zero_sum_takes_the_format_of_what_is_added() -> None:
    zero = rqs.Q(quantity.parse("0"))
    assert str(zero + rqs.Q.of("600Mi")) == "600Mi"  # Quantity.Add: the zero takes the other's format
    assert str(rqs.Q.of("600Mi") + rqs.Q.of("100Mi")) == "700Mi"


# --- LimitRanger ---------------------------------------------------------------------------------------------

MEM_DEFAULTS = {"spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"},
                                     "defaultRequest": {"memory": "256Mi"}}]}}
MEM_CONSTRAINTS = {"kind": "LimitRange", "apiVersion": "v1", "metadata": {"name": "mem-min-max-demo-lr"},
                   "spec": {"limits": [{"type": "Container", "max": {"memory": "1Gi"}, "min": {"memory": "500Mi"}}]}}


def test_defaults_fill_in_what_containers_leave_out_and_say_so_in_the_annotation() -> None:
    p = pod(ctr("default-mem-demo-ctr"), ctr("has-limit", limits={"memory": "1Gi"}), init=(ctr("setup"),))
    limitrange.default_pod(p, [MEM_DEFAULTS])
    assert p["spec"]["containers"][0]["resources"] == {"limits": {"memory": "512Mi"}, "requests": {"memory": "256Mi"}}
    assert p["spec"]["containers"][1]["resources"] == {"limits": {"memory": "1Gi"}, "requests": {"memory": "256Mi"}}
    assert p["spec"]["initContainers"][0]["resources"]["limits"] == {"memory": "512Mi"}
    assert p["metadata"]["annotations"][limitrange.ANNOTATION] == (
        "LimitRanger plugin set: memory request for container default-mem-demo-ctr; memory limit for container "
        "default-mem-demo-ctr; memory request for container has-limit; memory request for init container setup; "
        "memory limit for init container setup")


def test_a_limit_range_is_defaulted_as_kube_apiserver_stores_it() -> None:
    lr = {**MEM_CONSTRAINTS, "spec": {"limits": [dict(MEM_CONSTRAINTS["spec"]["limits"][0])]}}
    apply_defaults(lr)
    assert lr["spec"]["limits"][0] == {"type": "Container", "max": {"memory": "1Gi"}, "min": {"memory": "500Mi"},
                                       "default": {"memory": "1Gi"}, "defaultRequest": {"memory": "1Gi"}}
    cpu = {"kind": "LimitRange", "spec": {"limits": [{"type": "Container", "default": {"cpu": 1},
                                                      "defaultRequest": {"cpu": 0.5}}]}}
    apply_defaults(cpu)
    assert cpu["spec"]["limits"][0]["defaultRequest"] == {"cpu": "500m"}


def test_min_and_max_refuse_with_kube_apiservers_messages() -> None:
    over = pod(ctr("c", {"memory": "800Mi"}, {"memory": "1.5Gi"}))
    assert forbidden(limitrange.validate_pod, over, [MEM_CONSTRAINTS], "constraints-mem-demo-2") == (
        'pods "constraints-mem-demo-2" is forbidden: maximum memory usage per Container is 1Gi, but limit is 1536Mi.')
    under = pod(ctr("c", {"memory": "100Mi"}, {"memory": "800Mi"}))
    assert forbidden(limitrange.validate_pod, under, [MEM_CONSTRAINTS], "constraints-mem-demo-3").endswith(
        "minimum memory usage per Container is 500Mi, but request is 100Mi.")
    none = pod(ctr("c"))
    both = forbidden(limitrange.validate_pod, none, [MEM_CONSTRAINTS], "x")
    assert both == ('pods "x" is forbidden: [minimum memory usage per Container is 500Mi.  No request is specified., '
                    "maximum memory usage per Container is 1Gi.  No limit is specified.]")
    limitrange.validate_pod(pod(ctr("c", {"memory": "600Mi"}, {"memory": "800Mi"})), [MEM_CONSTRAINTS], "ok")


def test_ratio_and_pod_items() -> None:
    ratio = {"spec": {"limits": [{"type": "Container", "maxLimitRequestRatio": {"memory": "2"}}]}}
    msg = forbidden(limitrange.validate_pod, pod(ctr("c", {"memory": "100Mi"}, {"memory": "250Mi"})), [ratio], "r")
    assert msg.endswith("memory max limit to request ratio per Container is 2, but provided ratio is 2.500000.")
    per_pod = {"spec": {"limits": [{"type": "Pod", "max": {"cpu": "1"}}]}}
    two = pod(ctr("a", limits={"cpu": "600m"}), ctr("b", limits={"cpu": "600m"}))
    assert forbidden(limitrange.validate_pod, two, [per_pod], "p").endswith(
        "maximum cpu usage per Pod is 1, but limit is 1200m.")


def test_a_claim_over_the_storage_max_is_refused() -> None:
    lr = {"spec": {"limits": [{"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}, "min": {"storage": "1Gi"}}]}}
    pvc = {"spec": {"resources": {"requests": {"storage": "5Gi"}}}}
    assert forbidden(limitrange.validate_claim, pvc, [lr], "pvc-limit-greater") == (
        'persistentvolumeclaims "pvc-limit-greater" is forbidden: maximum storage usage per PersistentVolumeClaim '
        "is 2Gi, but request is 5Gi.")


# --- ResourceQuota admission -----------------------------------------------------------------------------------

MEM_CPU = {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi"}
DEMO_POD = pod(ctr("quota-mem-cpu-demo-ctr", {"memory": "600Mi", "cpu": "400m"}, {"memory": "800Mi", "cpu": "800m"}))
DEMO_POD_2 = pod(ctr("quota-mem-cpu-demo-2-ctr", {"memory": "700Mi", "cpu": "400m"}, {"memory": "1Gi", "cpu": "800m"}))


def test_the_docs_quota_flow_charges_then_refuses_in_kube_apiservers_words() -> None:
    q = quota(MEM_CPU, {k: "0" for k in MEM_CPU}, "mem-cpu-demo")
    charged = rqs.check_request(POD, [q], DEMO_POD, "quota-mem-cpu-demo", 0.0)
    assert charged == {0: {"requests.cpu": "400m", "requests.memory": "600Mi", "limits.cpu": "800m",
                           "limits.memory": "800Mi"}}
    q["status"]["used"] = charged[0]
    assert forbidden(rqs.check_request, POD, [q], DEMO_POD_2, "quota-mem-cpu-demo-2", 0.0) == (
        'pods "quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, '
        "used: requests.memory=600Mi, limited: requests.memory=1Gi")


def test_a_pod_without_the_counted_requests_and_limits_is_refused() -> None:
    q = quota({"limits.cpu": "2", "requests.memory": "1Gi", "pods": "3"}, {"limits.cpu": "0", "requests.memory": "0",
                                                                            "pods": "0"}, "mem-cpu-demo")
    p = pod(ctr("nginx"), ctr("sidecar", {"memory": "10Mi"}))
    assert forbidden(rqs.check_request, POD, [q], p, "x", 0.0) == (
        'pods "x" is forbidden: failed quota: mem-cpu-demo: must specify limits.cpu for: nginx,sidecar; '
        "requests.memory for: nginx")


def test_a_quota_the_controller_has_not_counted_yet_refuses_what_it_would_count() -> None:
    q = quota({"pods": "2"}, None, "pod-demo")
    assert forbidden(rqs.check_request, POD, [q], pod(ctr("c")), "x", 0.0) == (
        'pods "x" is forbidden: status unknown for quota: pod-demo, resources: pods')
    unseen = {"metadata": {"name": "new"}, "spec": {"hard": {"pods": "2"}}}  # no status.hard yet: not in force
    assert rqs.check_request(POD, [unseen], pod(ctr("c")), "x", 0.0) == {}


def test_object_counts_and_claims() -> None:
    cm = kinds.by_kind("ConfigMap")
    q = quota({"configmaps": "1", "count/configmaps": "5"}, {"configmaps": "1", "count/configmaps": "1"}, "objects")
    assert forbidden(rqs.check_request, cm, [q], {"metadata": {"name": "c2"}}, "c2", 0.0) == (
        'configmaps "c2" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, '
        "limited: configmaps=1")
    deploy = kinds.by_kind("Deployment")
    q = quota({"count/deployments.apps": "1"}, {"count/deployments.apps": "1"}, "d")
    assert forbidden(rqs.check_request, deploy, [q], {}, "web", 0.0).startswith(
        'deployments.apps "web" is forbidden: exceeded quota: d, requested: count/deployments.apps=1')
    pvc = kinds.by_kind("PersistentVolumeClaim")
    q = quota({"requests.storage": "3Gi", "persistentvolumeclaims": "2"},
              {"requests.storage": "2Gi", "persistentvolumeclaims": "1"}, "storage")
    claim = {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    assert forbidden(rqs.check_request, pvc, [q], claim, "c", 0.0).endswith(
        "requested: requests.storage=2Gi, used: requests.storage=2Gi, limited: requests.storage=3Gi")


def test_usage_leaves_out_finished_and_long_deleted_pods_and_counts_init_containers_as_kubernetes() -> None:
    running = pod(ctr("a", {"cpu": "100m"}), ctr("b", {"cpu": "200m"}), init=(ctr("i", {"cpu": "500m"}),))
    assert str(rqs.pod_usage(running, 0.0)["requests.cpu"]) == "500m"  # max(sum, any init container)
    done = {**running, "status": {"phase": "Succeeded"}}
    assert rqs.pod_usage(done, 0.0) == {"count/pods": rqs.ONE}
    going = {**running, "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z", "deletionGracePeriodSeconds": 30}}
    from control.api.meta import parse_time
    t = parse_time("2026-01-01T00:00:00Z")
    assert "pods" in rqs.pod_usage(going, t + 10) and "pods" not in rqs.pod_usage(going, t + 31)
    q = {"spec": {"hard": {"pods": "9", "requests.cpu": "2"}}}
    used = rqs.usage_in(POD, q, [running, done, running], 0.0)
    assert rqs.to_strings(used) == {"pods": "2", "requests.cpu": "1"}


def test_scopes_pick_the_pods_a_quota_counts() -> None:
    q = quota({"pods": "1"}, {"pods": "1"}, "be", scopes=["BestEffort"])
    assert rqs.check_request(POD, [q], pod(ctr("c", {"cpu": "1"})), "x", 0.0) == {}  # Burstable: not counted
    assert forbidden(rqs.check_request, POD, [q], pod(ctr("c")), "x", 0.0).startswith('pods "x" is forbidden: exceeded')


# --- the controller's helpers, the Deployment's condition ------------------------------------------------------

def test_the_controller_syncs_a_quota_whose_status_lags_its_spec() -> None:
    q = {"spec": {"hard": {"memory": "1.5Gi", "pods": "2"}}, "status": {"hard": {"pods": "2"}, "used": {"pods": "0"}}}
    assert needs_sync(q) and hard_of(q) == {"memory": "1536Mi", "pods": "2"}
    q["status"] = {"hard": {"memory": "1536Mi", "pods": "2"}, "used": {"memory": "0", "pods": "1"}}
    assert not needs_sync(q)


def test_a_replicasets_failure_becomes_the_deployments() -> None:
    cond = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "lastTransitionTime": "t",
            "message": 'pods "x" is forbidden: exceeded quota: pod-demo'}
    rs = {"status": {"conditions": [cond]}}
    assert replica_failure([rs], rs) == {**cond, "lastUpdateTime": "t"}
    assert replica_failure([{"status": {}}], None) is None


# --- validation ------------------------------------------------------------------------------------------------

def messages(obj: dict) -> list[str]:
    return [str(e) for e in validate(obj)[0]]


def test_a_bad_quota_lists_every_bad_field() -> None:
    bad = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "default"},
           "spec": {"hard": {"pods": "1.5", "memory": "-1Gi", "foo": "1", "cpu": "lots"}, "scopes": ["Sometimes"]}}
    got = messages(bad)
    assert 'spec.hard[pods]: Invalid value: "1500m": must be an integer' in got
    assert 'spec.hard[memory]: Invalid value: "-1Gi": must be greater than or equal to 0' in got
    assert 'spec.hard[foo]: Invalid value: "foo": must be a standard resource for quota' in got
    assert any(m.startswith('spec.hard[cpu]: Invalid value: "lots": must match the regular expression') for m in got)
    assert any(m.startswith('spec.scopes[0]: Unsupported value: "Sometimes"') for m in got)


def test_a_bad_limit_range_lists_every_bad_field() -> None:
    bad = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l", "namespace": "default"},
           "spec": {"limits": [{"type": "Container", "min": {"memory": "2Gi"}, "max": {"memory": "1Gi"},
                                "maxLimitRequestRatio": {"cpu": "500m"}},
                               {"type": "Pod", "default": {"cpu": "1"}},
                               {"type": "Pod"}, {"type": "Machine"}]}}
    got = messages(bad)
    assert 'spec.limits[0].min[memory]: Invalid value: "2Gi": min value 2Gi is greater than max value 1Gi' in got
    assert 'spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1' in got
    assert "spec.limits[1].default: Forbidden: may not be specified when `type` is 'Pod'" in got
    assert 'spec.limits[2].type: Duplicate value: "Pod"' in got
    assert 'spec.limits[3].type: Invalid value: "Machine": must be a standard limit type or fully qualified' in got


# --- kubectl's columns and describers --------------------------------------------------------------------------

def test_get_and_describe_quota_and_limits_as_kubectl() -> None:
    q = {"kind": "ResourceQuota", "metadata": {"name": "mem-cpu-demo", "namespace": "quota-mem-cpu-example"},
         "status": {"hard": {"limits.cpu": "2", "limits.memory": "2Gi", "requests.cpu": "1", "requests.memory": "1Gi",
                             "pods": "2"},
                    "used": {"limits.cpu": "800m", "limits.memory": "800Mi", "requests.cpu": "400m",
                             "requests.memory": "600Mi", "pods": "1"}}}
    assert table("ResourceQuota", [q], now=0.0).splitlines()[1].split("   ")[2:] == [
        "pods: 1/2, requests.cpu: 400m/1, requests.memory: 600Mi/1Gi", "limits.cpu: 800m/2, limits.memory: 800Mi/2Gi"]
    assert describe(q, []) == (
        "Name:            mem-cpu-demo\n"
        "Namespace:       quota-mem-cpu-example\n"
        "Resource         Used   Hard\n"
        "--------         ----   ----\n"
        "limits.cpu       800m   2\n"
        "limits.memory    800Mi  2Gi\n"
        "pods             1      2\n"
        "requests.cpu     400m   1\n"
        "requests.memory  600Mi  1Gi")
    lr = {"kind": "LimitRange", "metadata": {"name": "mem-limit-range", "namespace": "default-mem-example",
                                             "creationTimestamp": "2026-01-01T00:00:00Z"},
          "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"}, "defaultRequest": {"memory": "256Mi"}}]}}
    assert table("LimitRange", [lr]) == "NAME              CREATED AT\nmem-limit-range   2026-01-01T00:00:00Z"
    assert describe(lr, []) == (
        "Name:       mem-limit-range\n"
        "Namespace:  default-mem-example\n"
        "Type        Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio\n"
        "----        --------  ---  ---  ---------------  -------------  -----------------------\n"
        "Container   memory    -    -    256Mi            512Mi          -")


def test_the_dashboard_lists_quotas_and_limit_ranges() -> None:
    from types import SimpleNamespace

    from tui.views.rows import spec_for

    model = SimpleNamespace(clock=lambda: 0.0)
    q = {"metadata": {"name": "pod-demo", "namespace": "quota-pod-example"},
         "status": {"hard": {"pods": "2"}, "used": {"pods": "2"}}}
    row = spec_for("ResourceQuota").row(q, model)
    assert [str(c) for c in row[:4]] == ["quota-pod-example", "pod-demo", "pods: 2/2", ""]
    assert row[2].style == "yellow"  # used up
    lr = {"metadata": {"name": "l", "namespace": "ns"}, "spec": {"limits": [{"type": "Container", "max": {"memory": "1Gi"},
                                                                             "min": {"cpu": "1m"}}]}}
    assert [str(c) for c in spec_for("LimitRange").row(lr, model)[:3]] == ["ns", "l", "Container: cpu,memory"]
