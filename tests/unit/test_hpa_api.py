"""HorizontalPodAutoscaler objects: defaults, validation in kube-apiserver's words, autoscaling/v1 conversion,
kubectl's columns and describe, the Flow view's summary."""

from __future__ import annotations

import copy
import json

from control import errors
from control.api import horizontalpodautoscaler as hpas
from control.api.defaults import apply_defaults
from control.api.validation import validate
from tui.flow import summarize
from tui.printers.describers import describe
from tui.printers.table import table


def hpa(**spec: object) -> dict:
    base: dict = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5}
    base.update(spec)
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": base}


def messages(obj: dict) -> list[str]:
    apply_defaults(obj)
    errs, _ = validate(obj)
    return [str(e) for e in errs]


def test_defaults_min_replicas_and_an_80_percent_cpu_target() -> None:
    obj = hpa()
    apply_defaults(obj)
    assert obj["spec"]["minReplicas"] == 1
    assert obj["spec"]["metrics"] == [hpas.cpu_metric(80)]
    assert "behavior" not in obj["spec"]  # as SetDefaults: behavior is filled in only when given


def test_a_given_behavior_gets_every_unset_field() -> None:
    obj = hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 30}})
    apply_defaults(obj)
    assert obj["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                 {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 30, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
    }


def test_max_below_min() -> None:
    assert messages(hpa(minReplicas=3, maxReplicas=2)) == [
        "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]
    assert messages(hpa(minReplicas=0)) == ["spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"]
    assert messages(hpa(maxReplicas=0)) == ["spec.maxReplicas: Invalid value: 0: must be greater than 0",
                                            "spec.maxReplicas: Invalid value: 0: must be greater than or equal to "
                                            "`minReplicas`"]


def test_missing_scale_target_ref() -> None:
    obj = hpa()
    del obj["spec"]["scaleTargetRef"]
    assert messages(obj) == ["spec.scaleTargetRef.kind: Required value", "spec.scaleTargetRef.name: Required value"]
    assert messages(hpa(scaleTargetRef={"kind": "Deployment", "name": "a/b"})) == [
        "spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'"]


def test_metric_specs() -> None:
    assert messages(hpa(metrics=[{"type": "Cpu"}])) == [
        'spec.metrics[0].type: Unsupported value: "Cpu": supported values: "ContainerResource", "External", '
        '"Object", "Pods", "Resource"']
    assert messages(hpa(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 0}}}])) == [
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"]
    assert messages(hpa(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Percent"}}}])) == [
        'spec.metrics[0].resource.target.type: Invalid value: "Percent": must be either Utilization, Value, or '
        "AverageValue",
        "spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or "
        "a target utilization"]
    assert messages(hpa(metrics=[{"type": "Pods", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}])) == [
        "spec.metrics[0].pods: Required value: must populate information for the given metric source"]
    two = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
           "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1"}}}
    assert messages(hpa(metrics=[two])) == [
        "spec.metrics[0].pods: Forbidden: must populate the given metric source only"]


def test_behavior_rules() -> None:
    assert messages(hpa(behavior={"scaleUp": {"stabilizationWindowSeconds": 4000, "selectPolicy": "Most",
                                              "policies": [{"type": "Pods", "value": 0, "periodSeconds": 2000}]}})) == [
        "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 4000: must be less than or equal to 3600",
        'spec.behavior.scaleUp.selectPolicy: Unsupported value: "Most": supported values: "Disabled", "Max", "Min"',
        "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
        "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 2000: must be less than or equal to 1800"]


def test_the_invalid_error_names_the_kind_with_its_group() -> None:
    obj = hpa(minReplicas=3, maxReplicas=2)
    errs, _ = validate(obj)
    assert errors.invalid("HorizontalPodAutoscaler", "web", errs).message.startswith(
        'HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.maxReplicas')


def test_autoscaling_v1_round_trip() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                   "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}}
    v2 = hpas.from_v1(v1)
    assert v2["apiVersion"] == "autoscaling/v2" and v2["spec"]["metrics"] == [hpas.cpu_metric(50)]
    v2["status"] = {"currentReplicas": 2, "desiredReplicas": 3, "conditions": [{"type": "AbleToScale"}],
                    "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                        "averageUtilization": 85, "averageValue": "85m"}}}]}
    back = hpas.to_v1(v2)
    assert back["spec"] == v1["spec"]
    assert back["status"] == {"currentReplicas": 2, "desiredReplicas": 3, "currentCPUUtilizationPercentage": 85}
    # what v1 cannot hold is kept in annotations, as kube-apiserver keeps it
    assert json.loads(back["metadata"]["annotations"][hpas.CONDITIONS_ANNOTATION]) == [{"type": "AbleToScale"}]


def test_a_v1_update_keeps_what_only_v2_can_say() -> None:
    """kubectl patch hpa.v1.autoscaling (or kubectl apply of a v1 manifest) on an HPA with a memory metric and a
    behavior: the v1 view keeps them in annotations and the update gives them back, as in Kubernetes."""
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    v2 = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
          "metadata": {"name": "mem", "annotations": {"team": "a"}},
          "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}, "maxReplicas": 5,
                   "metrics": [memory, hpas.cpu_metric(50)], "behavior": behavior},
          "status": {"currentReplicas": 1, "desiredReplicas": 1,
                     "currentMetrics": [{"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "80Mi"}}}]}}
    v1 = hpas.to_v1(v2)
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50 and "metrics" not in v1["spec"]
    assert v2["spec"]["metrics"] == [memory, hpas.cpu_metric(50)]  # the stored object is left as it was
    v1["spec"]["maxReplicas"] = 7  # the client's change
    again = hpas.from_v1(v1)
    assert again["spec"]["maxReplicas"] == 7
    assert again["spec"]["metrics"] == [memory, hpas.cpu_metric(50)] and again["spec"]["behavior"] == behavior
    assert again["status"]["currentMetrics"] == v2["status"]["currentMetrics"]
    assert again["metadata"]["annotations"] == {"team": "a"}  # the carried fields do not stay as annotations
    # v1's status counts are always there, 0 too (no omitempty in autoscaling/v1)
    assert hpas.to_v1({**v2, "status": {"desiredReplicas": 0}})["status"] == {"currentReplicas": 0, "desiredReplicas": 0}


def test_get_columns_in_kubectl_v132_format() -> None:
    obj = hpa(minReplicas=1, metrics=[hpas.cpu_metric(50)])
    obj["status"] = {"desiredReplicas": 0}
    assert table("hpa", [obj], now=1767225600.0 + 30).splitlines() == [
        "NAME   REFERENCE        TARGETS              MINPODS   MAXPODS   REPLICAS   AGE",
        "web    Deployment/web   cpu: <unknown>/50%   1         5         0          30s"]
    obj["status"] = {"currentReplicas": 4, "desiredReplicas": 4, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 85, "averageValue": "42m"}}}]}
    assert "cpu: 85%/50%" in table("hpa", [obj])
    many = [hpas.cpu_metric(50), {"type": "Resource", "resource": {"name": "memory", "target": {
        "type": "AverageValue", "averageValue": "64Mi"}}}, {"type": "Pods", "pods": {"metric": {"name": "qps"},
                                                                                     "target": {"averageValue": "10"}}}]
    assert hpas.format_metrics({"metrics": many}, {}) == "cpu: <unknown>/50%, memory: <unknown>/64Mi + 1 more..."


def test_describe() -> None:
    obj = hpa(minReplicas=1, metrics=[hpas.cpu_metric(50)])
    obj["status"] = {"currentReplicas": 1, "desiredReplicas": 4, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 180, "averageValue": "90m"}}}],
        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale",
                        "message": "the HPA controller was able to update the target scale to 4"}]}
    text = describe(obj, [])
    assert "resource cpu on pods  (as a percentage of request):  180% (90m) / 50%" in text
    assert "Deployment pods:" in text and "1 current / 4 desired" in text
    assert "AbleToScale  True    SucceededRescale  the HPA controller was able to update the target scale to 4" in text


def test_flow_reads_a_rescale() -> None:
    before = hpa(metrics=[hpas.cpu_metric(50)])
    before["status"] = {"currentReplicas": 1, "desiredReplicas": 1}
    after = copy.deepcopy(before)
    after["status"] = {"currentReplicas": 1, "desiredReplicas": 4, "lastScaleTime": "2026-01-01T00:01:00Z",
                       "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                           "averageUtilization": 180}}}]}
    assert summarize("HorizontalPodAutoscaler", "MODIFIED", after, before) == \
        "scaled Deployment web from 1 to 4 (cpu 180% / 50%)"
