"""Kubernetes' defaulting of each kind (and its templates), and the patches the API server applies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from control.api.defaults import apply_defaults, image_pull_policy, job_selector_defaults
from control.api.patch import apply_patch, json_patch, merge_patch
from control.errors import ApiError

DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def _pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}],
                                            "livenessProbe": {"httpGet": {"port": 80}}}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": base}


def test_pod_defaults() -> None:
    pod = _pod()
    apply_defaults(pod)
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["enableServiceLinks"] is True
    assert "priority" not in spec  # Priority admission sets it (control/api/priority.py), not defaulting
    assert spec["securityContext"] == {}
    assert spec["tolerations"] == DEFAULT_TOLERATIONS
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["resources"] == {}
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["livenessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                  "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert "namespace" not in pod["metadata"]  # the server's job


def test_defaults_are_idempotent_and_keep_user_values() -> None:
    pod = _pod(restartPolicy="Never", terminationGracePeriodSeconds=5)
    apply_defaults(pod)
    once = copy.deepcopy(pod)
    apply_defaults(pod)
    assert pod == once
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 5


@pytest.mark.parametrize(
    ("image", "policy"),
    [("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.14.2", "IfNotPresent"),
     ("registry.k8s.io/busybox:1.27.2", "IfNotPresent"), ("localhost:5000/app", "Always"),
     ("nginx@sha256:abc", "IfNotPresent")],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_default_tolerations_take_the_clusters_eviction_timing() -> None:
    # kube-apiserver's --default-unreachable-toleration-seconds: the API server passes a demo cluster's timing
    pod = _pod()
    apply_defaults(pod, toleration_seconds=6)
    assert [t["tolerationSeconds"] for t in pod["spec"]["tolerations"]] == [6, 6]
    template = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"selector": {}, "template": {"spec": {"containers": []}}}}
    apply_defaults(template, toleration_seconds=6)
    assert "tolerations" not in template["spec"]["template"]["spec"]  # pods only, as the admission plugin


def test_default_tolerations_not_duplicated() -> None:
    pod = _pod(tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 60}])
    apply_defaults(pod)
    assert pod["spec"]["tolerations"] == [
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
        DEFAULT_TOLERATIONS[0],
    ]
    tolerate_all = _pod(tolerations=[{"operator": "Exists"}])
    apply_defaults(tolerate_all)
    assert tolerate_all["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_requests_default_to_limits_on_pods() -> None:
    pod = _pod(containers=[{"name": "c", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                                                       "requests": {"cpu": "250m"}}}])
    apply_defaults(pod)
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "250m", "memory": "1Gi"}


def test_deployment_defaults_include_template_but_not_admission() -> None:
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
    apply_defaults(d)
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    tspec = spec["template"]["spec"]
    assert tspec["restartPolicy"] == "Always"
    assert tspec["containers"][0]["imagePullPolicy"] == "Always"
    assert "tolerations" not in tspec and "priority" not in tspec  # admission only touches pods


def test_recreate_strategy_gets_no_rolling_update() -> None:
    d = {"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}}}
    apply_defaults(d)
    assert d["spec"]["strategy"] == {"type": "Recreate"}


def test_replicaset_daemonset_defaults() -> None:
    rs = {"kind": "ReplicaSet", "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}
    apply_defaults(rs)
    assert rs["spec"]["replicas"] == 1
    assert rs["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    ds = {"kind": "DaemonSet", "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}
    apply_defaults(ds)
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["spec"]["revisionHistoryLimit"] == 10


def test_job_defaults_and_selector() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}}}
    apply_defaults(job)
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False
    job_selector_defaults(job, "uid-1")
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-1"}}
    assert spec["template"]["metadata"]["labels"] == {
        "controller-uid": "uid-1", "batch.kubernetes.io/controller-uid": "uid-1",
        "job-name": "pi", "batch.kubernetes.io/job-name": "pi",
    }
    manual = {"kind": "Job", "metadata": {"name": "m"}, "spec": {"manualSelector": True, "template": {}}}
    job_selector_defaults(manual, "uid-2")
    assert "selector" not in manual["spec"]


def test_job_parallelism_only() -> None:
    job = {"kind": "Job", "spec": {"parallelism": 3, "template": {"spec": {"containers": []}}}}
    apply_defaults(job)
    assert job["spec"]["parallelism"] == 3
    assert "completions" not in job["spec"]


def test_service_defaults() -> None:
    svc = {"kind": "Service", "spec": {"ports": [{"port": 80}, {"port": 443, "targetPort": "https"}]}}
    apply_defaults(svc)
    assert svc["spec"] == {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80},
                  {"port": 443, "targetPort": "https", "protocol": "TCP"}],
        "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
    }
    np = {"kind": "Service", "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    apply_defaults(np)
    assert np["spec"]["externalTrafficPolicy"] == "Cluster"


def test_namespace_and_node_defaults() -> None:
    ns = {"kind": "Namespace", "metadata": {"name": "x"}}
    apply_defaults(ns)
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    node = {"kind": "Node", "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}
    apply_defaults(node)
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}


# --- patches -------------------------------------------------------------------------------------


def test_merge_patch_rfc7386_examples() -> None:
    # The RFC's appendix A, a few of them.
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch([1, 2], {"a": "b", "c": None}) == {"a": "b"}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_merge_patch_does_not_mutate() -> None:
    target = {"spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}}}
    before = copy.deepcopy(target)
    out = apply_patch(target, {"spec": {"replicas": 3}})
    assert out == {"spec": {"replicas": 3, "selector": {"matchLabels": {"a": "b"}}}}
    assert target == before


def test_json_patch() -> None:
    doc = {"spec": {"containers": [{"name": "a", "image": "x"}]}}
    out = json_patch(doc, [
        {"op": "replace", "path": "/spec/containers/0/image", "value": "y"},
        {"op": "add", "path": "/spec/containers/-", "value": {"name": "b"}},
        {"op": "add", "path": "/metadata", "value": {"labels": {"a/b": "1"}}},
        {"op": "test", "path": "/metadata/labels/a~1b", "value": "1"},
        {"op": "remove", "path": "/spec/containers/1"},
    ])
    assert out == {"spec": {"containers": [{"name": "a", "image": "y"}]}, "metadata": {"labels": {"a/b": "1"}}}
    with pytest.raises(ApiError) as err:
        json_patch(doc, [{"op": "remove", "path": "/spec/nope"}])
    assert err.value.code == 400


def test_unsupported_patch_type() -> None:
    with pytest.raises(ApiError) as err:
        apply_patch({}, {}, type="apply")
    assert err.value.code == 415
